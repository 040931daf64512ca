"""Motif files: MEME's minimal motif format (read and write) and seqlets as BED6.

MEME minimal motif format (meme-suite.org/meme/doc/meme-format.html), as read here::

    MEME version 4
    ALPHABET= ACGT                      (or ACGU, a protein alphabet, or an ALPHABET block)
    strands: + -
    Background letter frequencies
    A 0.25 C 0.25 G 0.25 T 0.25
    MOTIF MA0035.5 GATA1                (identifier, then an optional alternate name)
    letter-probability matrix: alength= 4 w= 11 nsites= 20 E= 0
    0.25 0.25 0.25 0.25                 (w rows of alength probabilities)

Quirks kept on purpose (each one tested):

* ``MOTIF id name`` gives ``identifier=id, name=name``; ``MOTIF name`` alone gives
  ``name=name, identifier=""``, so :func:`write_meme` output reads back to the same fields.
* Without an ALPHABET line the alphabet follows ``alength``: 4 is ACGT, 20 is protein.
  ``ALPHABET= acgt`` is DNA (upper case); other letter alphabets keep their case.
* An ALPHABET block (MEME 5 custom alphabets) contributes its core symbols sorted
  alphabetically, which is MEME's column order for its DNA, RNA and protein alphabets; its
  ambiguity lines (``N = ACGT``) are ignored.
* Rows must sum to 1 within ``ROW_TOLERANCE`` (files written with 3 decimals are common) and
  are renormalised; ``nsites`` is not kept (a :class:`Motif` counts its real instances only).
* ``log-odds matrix`` sections, ``URL`` lines and anything unknown are skipped.

Every writer is atomic (:mod:`engine.atomic`). This module reads and writes plain
:class:`~engine.analysis.motif.Motif` values and does no maths on them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from engine.analysis.motif import Motif
from engine.atomic import atomic_open
from engine.errors import FormatError, InputError

PROTEIN = b"ACDEFGHIKLMNPQRSTVWY"
DEFAULT_ALPHABETS = {4: b"ACGT", 20: PROTEIN}
ROW_TOLERANCE = 0.02  # |row sum - 1| accepted before renormalising
DIGITS = 6  # decimals written per probability
_KEY_VALUE = re.compile(r"(\w+)\s*=\s*(\S+)")


def _fields(text: str) -> dict[str, str]:
    """``alength= 4 w= 11 nsites= 20`` -> {"alength": "4", "w": "11", "nsites": "20"}."""
    return {key.lower(): value for key, value in _KEY_VALUE.findall(text)}


def _alphabet_block(lines: list[str], start: int, path: Path) -> tuple[bytes, int]:
    """Core symbols of an ``ALPHABET ... END ALPHABET`` block from line index ``start``;
    returns (symbols, index of the END line)."""
    symbols: set[str] = set()
    for i in range(start + 1, len(lines)):
        text = lines[i].split("#", 1)[0].strip()
        if text.upper().startswith("END ALPHABET"):
            if not symbols:
                raise FormatError("the ALPHABET block defines no symbols", path=path,
                                  line=start + 1)
            return "".join(sorted(symbols)).encode("ascii"), i
        if not text or "=" in text:  # ambiguity (alias) definitions
            continue
        tokens = text.split()
        pair = len(tokens) >= 3 and tokens[1] == "~"
        for sym in (tokens[0], tokens[2]) if pair else (tokens[0],):
            if len(sym) != 1 or not sym.isascii() or not sym.isprintable():
                raise FormatError(f"alphabet symbol {sym!r} is not one ASCII character",
                                  path=path, line=i + 1)
            symbols.add(sym)
    raise FormatError("ALPHABET block without END ALPHABET", path=path, line=start + 1)


def _number(token: str, path: Path, line: int) -> float:
    try:
        value = float(token)
    except ValueError:
        raise FormatError(f"{token!r} is not a number", path=path, line=line) from None
    if not math.isfinite(value) or value < 0:
        raise FormatError(f"probability {token} is not a finite number >= 0", path=path,
                          line=line)
    return value


def _is_numeric_row(text: str) -> bool:
    """Whether a line is meant as a matrix row: it starts with a number (a bad value later
    in it is then reported as such)."""
    tokens = text.split()
    try:
        float(tokens[0]) if tokens else None
    except ValueError:
        return False
    return bool(tokens)


def _matrix(lines: list[str], header: int, alphabet: bytes | None, path: Path,
            ) -> tuple[np.ndarray, bytes, int]:
    """The probability rows after the ``letter-probability matrix`` line at index ``header``;
    returns (ppm, alphabet, index of the last row)."""
    fields = _fields(lines[header].split(":", 1)[1] if ":" in lines[header] else "")
    where = header + 1
    try:
        alength = int(fields["alength"]) if "alength" in fields else None
        width = int(fields["w"]) if "w" in fields else None
    except ValueError:
        raise FormatError("alength= and w= must be whole numbers", path=path,
                          line=where) from None
    if alphabet is None:
        if alength not in DEFAULT_ALPHABETS:
            raise FormatError("no ALPHABET line and no alength= of 4 (DNA) or 20 (protein)",
                              path=path, line=where)
        alphabet = DEFAULT_ALPHABETS[alength]
    if alength is not None and alength != len(alphabet):
        raise FormatError(f"alength= {alength} but the alphabet {alphabet.decode()} has "
                          f"{len(alphabet)} letters", path=path, line=where)
    if width is not None and width < 1:
        raise FormatError(f"w= {width}: a motif needs at least one position", path=path,
                          line=where)
    rows: list[list[float]] = []
    i = header + 1
    while i < len(lines) and (width is None or len(rows) < width):
        text = lines[i].split("#", 1)[0].strip()
        if not text or not _is_numeric_row(text):
            if width is None and rows:
                break  # without w=, the first blank or other line ends the matrix
            if text:
                of = f" (row {len(rows) + 1} of {width})" if width else ""
                raise FormatError(f"expected a row of {len(alphabet)} probabilities{of}, "
                                  f"found {text[:40]!r}", path=path, line=i + 1)
            i += 1
            continue
        row = [_number(t, path, i + 1) for t in text.split()]
        if len(row) != len(alphabet):
            raise FormatError(f"row has {len(row)} values, the alphabet "
                              f"{alphabet.decode()} has {len(alphabet)}", path=path,
                              line=i + 1)
        total = sum(row)
        if abs(total - 1.0) > ROW_TOLERANCE:
            raise FormatError(f"probabilities sum to {total:.4g}, not 1", path=path,
                              line=i + 1)
        rows.append([v / total for v in row])
        i += 1
    if not rows or (width is not None and len(rows) < width):
        raise FormatError(f"the file ends after {len(rows)} of {width or 'the'} matrix rows",
                          path=path, line=len(lines))
    return np.array(rows, np.float64), alphabet, i - 1


def _skip_matrix(lines: list[str], header: int) -> int:
    """Index of the last numeric row of a section (``log-odds matrix``) to be skipped."""
    i = header
    while i + 1 < len(lines) and _is_numeric_row(lines[i + 1].split("#", 1)[0]):
        i += 1
    return i


def _read_text(path: Path) -> str:
    if not path.is_file():
        raise InputError("no such file" if not path.exists() else "not a file", path=path)
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise FormatError(f"not a text file (byte {error.start} is not UTF-8)",
                          path=path) from None


def read_meme(path: str | Path) -> list[Motif]:
    """The motifs of a MEME minimal-format file (module docstring), in file order, with
    ``source`` the file's name. Bad input is a FormatError naming the file and the line."""
    path = Path(path)
    lines = _read_text(path).splitlines()
    if not any(line.startswith("MEME version") for line in lines):
        raise FormatError("not a MEME motif file: no 'MEME version' line", path=path)
    alphabet: bytes | None = None
    motifs: list[Motif] = []
    current: tuple[str, str, int] | None = None  # (name, identifier, line) awaiting a matrix

    def finish() -> None:
        if current is not None:
            raise FormatError(f"motif {current[0]!r} has no letter-probability matrix",
                              path=path, line=current[2])

    i = 0
    while i < len(lines):
        text = lines[i].strip()
        upper = text.upper()
        if upper.startswith("ALPHABET="):
            letters = text.split("=", 1)[1].strip()
            if not letters or not letters.isascii() or not letters.isalpha() or len(
                    set(letters)) != len(letters):
                raise FormatError(f"ALPHABET= {letters!r} is not a list of distinct letters",
                                  path=path, line=i + 1)
            if motifs or current:
                raise FormatError("ALPHABET must come before the first MOTIF", path=path,
                                  line=i + 1)
            standard = letters.upper() in ("ACGT", "ACGU", PROTEIN.decode())
            alphabet = (letters.upper() if standard else letters).encode("ascii")
        elif upper.startswith("ALPHABET") and not upper.startswith("ALPHABET="):
            if motifs or current:
                raise FormatError("ALPHABET must come before the first MOTIF", path=path,
                                  line=i + 1)
            alphabet, i = _alphabet_block(lines, i, path)
        elif text.startswith("MOTIF"):
            finish()
            tokens = text.split()
            if len(tokens) < 2:
                raise FormatError("MOTIF line without a name", path=path, line=i + 1)
            if len(tokens) >= 3:
                current = (tokens[2], tokens[1], i + 1)
            else:
                current = (tokens[1], "", i + 1)
        elif text.startswith("letter-probability matrix"):
            if current is None:
                raise FormatError("letter-probability matrix outside a MOTIF", path=path,
                                  line=i + 1)
            ppm, alphabet_used, i = _matrix(lines, i, alphabet, path)
            name, identifier, _ = current
            motifs.append(Motif(name, alphabet_used, ppm, source=path.name,
                                identifier=identifier))
            current = None
        elif text.startswith("log-odds matrix"):
            i = _skip_matrix(lines, i)
        i += 1
    finish()
    return motifs


def _header_alphabet(motifs: Sequence[Motif], path: Path) -> bytes:
    alphabets = {m.alphabet for m in motifs}
    if len(alphabets) > 1:
        raise InputError("a MEME file holds one alphabet; these motifs have "
                         + ", ".join(sorted(a.decode("latin-1") for a in alphabets)), path=path)
    alphabet = alphabets.pop() if alphabets else b"ACGT"
    text = alphabet.decode("latin-1")
    if not (text.isascii() and text.isalpha()):
        raise InputError(f"MEME alphabets hold letters only, not {text!r}", path=path)
    return alphabet


def _motif_line(motif: Motif) -> str:
    name = "_".join(motif.name.split()) or "motif"
    identifier = "_".join(motif.identifier.split())
    return f"MOTIF {identifier} {name}" if identifier else f"MOTIF {name}"


def write_meme(path: str | Path, motifs: Sequence[Motif],
               background: np.ndarray | None = None) -> None:
    """Write ``motifs`` (one alphabet) as a MEME minimal-format file, atomically: DNA gets
    ``strands: + -``, other alphabets ``strands: +``; ``nsites`` is the motif's number of
    instances (left out when it has none); ``background`` defaults to uniform. Names with
    spaces get underscores (MEME splits MOTIF lines on whitespace)."""
    path = Path(path)
    alphabet = _header_alphabet(motifs, path)
    k = len(alphabet)
    bg = np.full(k, 1.0 / k) if background is None else np.asarray(background, np.float64)
    if bg.shape != (k,) or not np.all(np.isfinite(bg)) or np.any(bg < 0) or bg.sum() <= 0:
        raise ValueError(f"background must be {k} non-negative frequencies")
    bg = bg / bg.sum()
    letters = alphabet.decode("ascii")
    out = ["MEME version 4", "", f"ALPHABET= {letters}", "",
           f"strands: {'+ -' if alphabet == b'ACGT' else '+'}", "",
           "Background letter frequencies",
           " ".join(f"{c} {p:.{DIGITS}f}" for c, p in zip(letters, bg, strict=True)), ""]
    for motif in motifs:
        ppm = np.asarray(motif.ppm, np.float64)
        if not np.all(np.isfinite(ppm)) or np.any(ppm < 0):
            raise ValueError(f"motif {motif.name!r}: PPM holds negative or non-finite values")
        sites = f" nsites= {motif.n_instances}" if motif.n_instances else ""
        out += [_motif_line(motif), "",
                f"letter-probability matrix: alength= {k} w= {motif.width}{sites} E= 0"]
        out += [" ".join(f"{p:.{DIGITS}f}" for p in row) for row in ppm.tolist()]
        out.append("")
    with atomic_open(path, "w", encoding="ascii", newline="\n") as handle:
        handle.write("\n".join(out) + "\n")


def write_seqlets_bed(path: str | Path,
                      rows: Iterable[tuple[str, int, int, str, float, str]]) -> None:
    """BED6 ``record start end name score strand`` (0-based half-open), sorted by record, then
    start, then end; written atomically. Scores keep their sign and 6 significant digits
    (BED's 0-1000 integer convention does not fit attributions; browsers accept floats)."""
    checked = []
    for record, start, end, name, score, strand in rows:
        start, end = int(start), int(end)
        if not 0 <= start < end:
            raise ValueError(f"seqlet {record}:{start}-{end} is not a non-empty span")
        if strand not in ("+", "-", "."):
            raise ValueError(f"strand {strand!r} is not +, - or .")
        for field in (record, name):
            if not field or any(c in field for c in "\t\n\r"):
                raise ValueError(f"BED field {field!r} is empty or holds a tab or newline")
        checked.append((record, start, end, name, float(score), strand))
    checked.sort(key=lambda r: (r[0], r[1], r[2]))
    with atomic_open(path, "w", encoding="utf-8", newline="\n") as handle:
        handle.writelines(f"{r}\t{s}\t{e}\t{n}\t{v:.6g}\t{d}\n"
                          for r, s, e, n, v, d in checked)
