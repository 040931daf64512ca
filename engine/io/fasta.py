"""FASTA: a vectorised scanner, samtools-compatible ``.fai`` indexes, and random access.

The scanner finds every line of a memory-mapped file with one ``np.flatnonzero`` and checks
the whole file's bytes with one table lookup, so a 5.7 Mbp genome indexes in tens of
milliseconds. A record is *regular* when all its sequence lines but the last have the same
width (what a ``.fai`` can describe: samtools' ``LINEBASES``/``LINEWIDTH``); files with any
irregular record are rewritten once as one line per record into the cache and indexed there.

``.fai`` columns (samtools faidx): NAME, LENGTH, OFFSET (of the first base), LINEBASES,
LINEWIDTH (bytes per line including the line break). Byte offset of base ``i`` is
``OFFSET + (i // LINEBASES) * LINEWIDTH + i % LINEBASES``.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from engine.atomic import atomic_open, atomic_path
from engine.errors import FormatError
from engine.jit import lazy_njit

from .cache import cache_dir, content_hash, identity_key, remembered_hash, stat_key

NL, CR, GT = 10, 13, ord(">")

# Bytes allowed in sequence lines: letters (IUPAC, soft-masked lowercase, any protein code),
# stop '*', gaps '-' and '.', and the line breaks themselves.
SEQUENCE_BYTES = np.zeros(256, dtype=bool)
SEQUENCE_BYTES[ord("A") : ord("Z") + 1] = True
SEQUENCE_BYTES[ord("a") : ord("z") + 1] = True
SEQUENCE_BYTES[[ord("*"), ord("-"), ord("."), NL, CR]] = True


class FaiEntry(NamedTuple):
    """One line of a ``.fai`` index (a named tuple: 10^5 of them are built per open of a
    many-record file, three times faster than a frozen dataclass's)."""

    name: str
    length: int
    offset: int
    linebases: int
    linewidth: int

    def byte_offset(self, i: int) -> int:
        """File offset of base ``i`` (the samtools formula above)."""
        if self.linebases == 0:
            return self.offset
        return self.offset + (i // self.linebases) * self.linewidth + i % self.linebases


@dataclass
class FastaScan:
    """What one pass over a FASTA byte range found."""

    entries: list[FaiEntry]  # offsets absolute in the scanned file
    descriptions: list[str]
    regular: bool  # every record can be described by a .fai
    seq_spans: list[tuple[int, int]]  # absolute [first, end) byte span of each record's lines


# --------------------------------------------------------------------------------------------
# scanning


def scan_fasta(
    buf: np.ndarray, path: str | Path, *, start: int = 0, first_line: int = 1,
    letters_checked: bool = False,
) -> FastaScan:
    """Scan ``buf[start:]`` as FASTA; raise :class:`FormatError` with line and offset if bad.

    ``first_line`` is the 1-based line number of ``buf[start]`` in the file (GFF3's
    ``##FASTA`` section starts mid-file). ``letters_checked``: :func:`check_bytes_streaming`
    has refused every non-sequence byte already, so only stray carriage returns are looked for.
    """
    data = buf[start:]
    n = len(data)
    breaks = np.flatnonzero(data == NL)
    line_start = np.concatenate(([0], breaks + 1))
    line_end = np.concatenate((breaks, [n]))
    if line_start[-1] == n:  # file ends with a newline: no trailing empty line
        line_start, line_end = line_start[:-1], line_end[:-1]
    nonempty = line_end > line_start
    has_cr = np.zeros(len(line_start), dtype=bool)
    has_cr[nonempty] = data[line_end[nonempty] - 1] == CR
    content_len = line_end - line_start - has_cr
    # width on disk including the line break (the last line may lack one)
    raw_width = np.minimum(line_end + 1, n) - line_start
    first_byte = np.where(content_len > 0, data[np.minimum(line_start, n - 1)], 0)
    is_header = first_byte == GT
    is_blank = content_len == 0

    headers = np.flatnonzero(is_header)
    nonblank = np.flatnonzero(~is_blank)
    _check_starts_with_header(data, path, start, first_line, headers, nonblank, line_start)
    _check_sequence_bytes(data, path, start, first_line, line_start, is_header,
                          letters=not letters_checked)

    # Lines belong to the record whose header precedes them.
    n_rec = len(headers)
    rec_of_line = np.searchsorted(headers, np.arange(len(line_start)), side="right") - 1
    seq_line = ~is_header & (rec_of_line >= 0)
    lengths = np.bincount(
        rec_of_line[seq_line], weights=content_len[seq_line], minlength=n_rec
    ).astype(np.int64)

    # Per record: first sequence line (right after the header) and last non-blank line.
    first = headers + 1
    next_header = np.append(headers[1:], len(line_start))
    seq_nonblank = np.flatnonzero(seq_line & ~is_blank)
    last_pos = np.searchsorted(seq_nonblank, next_header, side="left") - 1
    has_seq = lengths > 0
    last = np.where(has_seq, seq_nonblank[np.maximum(last_pos, 0)] if len(seq_nonblank) else 0, 0)

    # Regular iff for every non-empty record: lines first..last-1 are non-blank with the width
    # of line ``first`` (bases and bytes), and line ``last`` is no wider.
    regular = True
    if has_seq.any():
        safe_first = np.minimum(first, len(line_start) - 1)
        width_bases = content_len[safe_first]
        width_bytes = raw_width[safe_first]
        inner = seq_line & (np.arange(len(line_start)) < last[np.maximum(rec_of_line, 0)])
        r = rec_of_line[inner]
        ok_inner = (content_len[inner] == width_bases[r]) & (raw_width[inner] == width_bytes[r])
        ok_first = ~has_seq | ~is_blank[safe_first]
        ok_last = ~has_seq | (content_len[last] <= width_bases)
        regular = bool(ok_inner.all() and ok_first.all() and ok_last.all())
    else:
        width_bases = np.zeros(n_rec, dtype=np.int64)
        width_bytes = np.zeros(n_rec, dtype=np.int64)

    entries: list[FaiEntry] = []
    descriptions: list[str] = []
    spans: list[tuple[int, int]] = []
    seen: dict[str, int] = {}
    # per record as Python ints, read once: numpy scalar indexing in the loop cost ~1 µs each
    n_lines = len(line_start)
    head_from = line_start[headers] + 1
    head_to = line_start[headers] + content_len[headers]
    safe = np.minimum(first, n_lines - 1) if n_lines else first
    seq_begins = np.where(first < n_lines, line_start[safe] if n_lines else 0, n) + start
    seq_ends = np.where(has_seq, line_end[last] + start if n_lines else 0, seq_begins)
    one_line = (lengths > 0) & (first == last)
    bases_col = np.where(one_line, lengths, width_bases)
    width_col = np.where(one_line, raw_width[safe] if n_lines else 0, width_bytes)
    bases_col = np.where(lengths > 0, bases_col, 0)
    width_col = np.where(lengths > 0, width_col, 0)
    view = memoryview(data)
    for h, a, b, begin, end, length, bases, width in zip(
            headers.tolist(), head_from.tolist(), head_to.tolist(), seq_begins.tolist(),
            seq_ends.tolist(), lengths.tolist(), bases_col.tolist(), width_col.tolist(),
            strict=True):
        text = view[a:b].tobytes().decode("utf-8", errors="replace")
        name, _, description = text.strip().partition(" ")
        name, _, rest = name.partition("\t")  # ids end at any whitespace
        description = (rest + " " + description).strip() if rest else description.strip()
        line_no = first_line + h
        if not name:
            raise FormatError("header line has no record id after '>'", path=path, line=line_no)
        if name in seen:
            raise FormatError(
                f"duplicate record id {name!r} (first seen at line {seen[name]})",
                path=path,
                line=line_no,
            )
        seen[name] = line_no
        spans.append((begin, max(begin, end)))
        entries.append(FaiEntry(name, length, begin, bases, width))
        descriptions.append(description)
    return FastaScan(entries, descriptions, regular, spans)


def _check_starts_with_header(data, path, start, first_line, headers, nonblank, line_start):
    if len(nonblank) == 0:
        raise FormatError("no FASTA records: the file holds only blank lines", path=path)
    first = int(nonblank[0])
    if len(headers) and headers[0] == first:
        return
    line = data[line_start[first] : line_start[first] + 4096]
    line = line[: int(np.argmax(line == NL))] if (line == NL).any() else line
    bad = np.flatnonzero(~SEQUENCE_BYTES[line])
    if len(bad):
        offset = start + int(line_start[first] + bad[0])
        raise FormatError(
            f"not FASTA: byte 0x{int(data[offset - start]):02x} at offset {offset} is not "
            "sequence text and there is no '>' header line first",
            path=path,
            line=first_line + first,
        )
    raise FormatError(
        "sequence before the first '>' header line", path=path, line=first_line + first
    )


_CHECK_CHUNK = 1 << 22  # bytes per pass of the byte check: its arrays stay a few MB


def _check_sequence_bytes(data, path, start, first_line, line_start, is_header,
                          letters: bool = True):
    """Refuse the first byte of a sequence line that is not a letter, '*', '-' or '.' (unless
    ``letters`` is False: checked before), and a carriage return that does not end its line (it
    would count as a base but never be read).

    Runs over ``_CHECK_CHUNK``-byte pieces, so a file of bad bytes (a sparse file of NULs)
    costs a few MB, not eight bytes per bad byte; header lines may hold any byte."""
    n = len(data)
    for a in range(0, n, _CHECK_CHUNK):
        block = data[a : min(n, a + _CHECK_CHUNK + 1)]  # one byte more: what follows a CR
        inner = min(_CHECK_CHUNK, n - a)
        bad = (np.flatnonzero(~SEQUENCE_BYTES[block[:inner]]) if letters
               else np.zeros(0, dtype=np.int64))
        crs = np.flatnonzero(block[:inner] == CR)
        if len(crs):
            after = crs + 1
            stray = crs[(after < len(block)) & (block[np.minimum(after, len(block) - 1)] != NL)]
            bad = np.union1d(bad, stray)
        if not len(bad):
            continue
        pos = bad + a
        line_of = np.searchsorted(line_start, pos, side="right") - 1
        in_sequence = ~is_header[line_of]
        if not in_sequence.any():
            continue
        k = int(np.argmax(in_sequence))
        at, line = int(pos[k]), int(line_of[k])
        byte = int(data[at])
        shown = repr(chr(byte)) if 32 <= byte < 127 else f"0x{byte:02x}"
        what = ("a carriage return inside the line (lines end in LF or CRLF)" if byte == CR
                else "not a sequence letter")
        raise FormatError(
            f"byte {shown} at offset {start + at} (column {at - int(line_start[line]) + 1}) "
            f"is {what}",
            path=path,
            line=first_line + line,
        )


def check_bytes_streaming(mm, path, *, start: int = 0, first_line: int = 1) -> None:
    """The byte check of :func:`scan_fasta` over a map, before the file is read into memory:
    the first byte of a sequence line that cannot be sequence is refused with its line and
    offset. One compiled pass over the mapped pages that stops at the first bad byte (a 3 GB
    sparse file of NULs fails in milliseconds, allocating nothing)."""
    head = mm[start : start + (1 << 20)]
    if not head.lstrip().startswith(b">"):  # no header first: scan_fasta's message, from 1 MiB
        cut = head.rfind(b"\n") + 1 or len(head)
        scan_fasta(np.frombuffer(head[:cut], dtype=np.uint8), path, first_line=first_line)
    if len(mm) <= start:
        return
    data = np.frombuffer(mm, dtype=np.uint8)
    try:
        at, line, begin = _first_bad_byte(data, SEQUENCE_BYTES, start)
        byte = int(data[at]) if at >= 0 else 0
    finally:
        del data  # the map's exported buffer must go before the map closes
    if at < 0:
        return
    shown = repr(chr(byte)) if 32 <= byte < 127 else f"0x{byte:02x}"
    raise FormatError(f"byte {shown} at offset {at} (column {at - begin + 1}) is not a sequence "
                      "letter", path=path, line=first_line + line)


@lazy_njit(cache=True, nogil=True)
def _first_bad_byte(data, ok, start):
    """``(offset, line, line start)`` of the first byte from ``start`` that ``ok`` refuses
    outside a header line (one starting with '>'), lines counted from 0 at ``start``; offset
    -1 if there is none."""
    n = len(data)
    line = 0
    begin = start
    header = data[start] == 62  # '>'
    for i in range(start, n):
        b = data[i]
        if b == 10:  # '\n'
            line += 1
            begin = i + 1
            header = begin < n and data[begin] == 62
        elif not header and not ok[b]:
            return i, line, begin
    return -1, line, begin


# --------------------------------------------------------------------------------------------
# .fai files


def write_fai(entries: list[FaiEntry], path: str | Path) -> None:
    """Write a samtools-compatible ``.fai`` atomically."""
    with atomic_open(path, "w", encoding="utf-8", newline="\n") as out:
        for e in entries:
            out.write(f"{e.name}\t{e.length}\t{e.offset}\t{e.linebases}\t{e.linewidth}\n")


def read_fai(path: str | Path) -> list[FaiEntry]:
    """Read a ``.fai``; raise :class:`FormatError` naming the line if it is malformed.

    The four number columns are parsed by NumPy's compiled ``loadtxt`` in one call (10^5
    records: 0.1 s instead of 0.3 s of ``int()`` calls); only when that fails is each line
    looked at, to name the bad one."""
    import io

    with open(path, encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    while lines and not lines[-1]:
        lines.pop()
    if not lines:
        return []
    names, rest = [], []
    for line in lines:
        name, _, numbers = line.partition("\t")
        names.append(name)
        rest.append(numbers)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # an empty line is a malformed one, not a skip
            numbers = np.loadtxt(io.StringIO("\n".join(rest)), dtype=np.int64, delimiter="\t",
                                 usecols=(0, 1, 2, 3), ndmin=2, comments=None)
        if len(numbers) != len(lines):
            raise ValueError
    except (ValueError, UserWarning):
        for line_no, line in enumerate(lines, 1):
            fields = line.split("\t")
            try:
                if len(fields) < 5:
                    raise ValueError
                [int(v) for v in fields[1:5]]
            except ValueError:
                raise FormatError("malformed .fai line", path=path, line=line_no) from None
        raise FormatError("malformed .fai", path=path) from None
    return list(map(FaiEntry._make, zip(names, *numbers.T.tolist(), strict=True)))


def fai_descriptions(mm, entries: list[FaiEntry], start: int = 0) -> list[str] | None:
    """Each entry checked against the bytes it claims; the records' descriptions, or None
    when the index does not describe this file (it is then ignored and the file rescanned).

    Per entry: its header line ``>NAME`` ends right before its first base; its last base lies
    inside the file and is followed by a line break or the end; a record longer than a line
    has a line break where LINEBASES says; and between records there is only blank space, so
    a record left out (samtools leaves out empty ones) or a length too short is noticed. No
    ``>`` may follow the last entry. A per-entry Python loop: about 2 s per 10^6 records."""
    if not entries:
        return None
    size = len(mm)
    out = []
    prev_end = start
    for e in entries:
        if (e.length < 0 or e.offset <= prev_end or e.offset > size or e.linewidth < e.linebases
                or e.linebases < 0 or (e.length and e.linebases == 0)):
            return None
        end = e.byte_offset(e.length - 1) + 1 if e.length else e.offset
        if end > size or mm[e.offset - 1 : e.offset] != b"\n":
            return None
        if e.length and mm[end : end + 1] not in (b"", b"\n", b"\r"):
            return None
        if e.length > e.linebases and mm[e.offset + e.linebases : e.offset + e.linebases + 1] \
                not in (b"\n", b"\r"):
            return None
        begin = mm.rfind(b"\n", prev_end, e.offset - 1) + 1
        if begin == 0:
            begin = prev_end
        header = mm[begin : e.offset - 1].rstrip(b"\r").decode("utf-8", errors="replace")
        parts = header[1:].strip().split(None, 1) if header.startswith(">") else []
        if not parts or parts[0] != e.name or mm[prev_end:begin].strip():
            return None
        out.append(parts[1] if len(parts) > 1 else "")
        prev_end = end
    if mm.find(b">", prev_end) != -1:
        return None
    return out


# --------------------------------------------------------------------------------------------
# random access


class FastaSource:
    """Reads one record's bases from a shared memory map using its ``.fai`` entry."""

    __slots__ = ("entry", "mm")

    def __init__(self, mm: mmap.mmap, entry: FaiEntry) -> None:
        self.mm = mm
        self.entry = entry

    def read(self, start: int, end: int) -> bytes:
        if end <= start:
            return b""
        e = self.entry
        raw = self.mm[e.byte_offset(start) : e.byte_offset(end - 1) + 1]
        if e.linewidth != e.linebases and (end - 1) // e.linebases != start // e.linebases:
            raw = raw.translate(None, b"\r\n")  # C-speed removal of line breaks
        return raw

    def histogram(self) -> np.ndarray:
        """Byte counts (256,) of the whole record, counted in the map: line breaks are the
        only other bytes in its span (the scan refused the rest), so their counts are
        dropped instead of the breaks being cut out of a copy."""
        from .summary import byte_histogram

        e = self.entry
        counts = np.zeros((4, 256), dtype=np.int64)
        if e.length:
            data = np.frombuffer(self.mm, dtype=np.uint8)
            byte_histogram(data[e.byte_offset(0) : e.byte_offset(e.length - 1) + 1], counts)
            del data  # before the map may close
        out = counts.sum(axis=0)
        out[[NL, CR]] = 0
        return out


def map_file(path: str | Path) -> mmap.mmap:
    with open(path, "rb") as handle:
        return mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)


def descriptions_from_headers(mm: mmap.mmap, entries: list[FaiEntry]) -> list[str]:
    """Recover each record's description from its header line (a ``.fai`` keeps only ids)."""
    out = []
    for e in entries:
        end = mm.rfind(b"\n", 0, e.offset)  # the header's own line break
        begin = mm.rfind(b"\n", 0, max(end, 0)) + 1
        header = mm[begin:end].rstrip(b"\r").decode("utf-8", errors="replace")
        parts = header[1:].strip().split(None, 1) if header.startswith(">") else []
        out.append(parts[1] if len(parts) > 1 else "")
    return out


# --------------------------------------------------------------------------------------------
# indexing a file, with the fallbacks


@dataclass
class IndexedFasta:
    """A FASTA ready for random access: the file to map, its entries and descriptions."""

    data_path: Path  # the file the entries point into (original, or a cache copy)
    index_path: Path
    entries: list[FaiEntry]
    descriptions: list[str]


def normalise(
    mm: bytes | mmap.mmap, scan: FastaScan, target: Path
) -> tuple[list[FaiEntry], list[str]]:
    """Rewrite records as ``>id description`` + one sequence line each (always regular)."""
    entries = []
    with atomic_path(target) as tmp, open(tmp, "wb") as out:
        pos = 0
        for e, desc, (a, b) in zip(scan.entries, scan.descriptions, scan.seq_spans, strict=True):
            header = f">{e.name} {desc}\n" if desc else f">{e.name}\n"
            out.write(header.encode("utf-8"))
            pos += len(header.encode("utf-8"))
            seq = mm[a:b].translate(None, b"\r\n")
            out.write(seq + b"\n")
            entries.append(FaiEntry(e.name, len(seq), pos, len(seq), len(seq) + 1))
            pos += len(seq) + 1
    return entries, list(scan.descriptions)


def _checked_path(data_path: Path, fai: Path, start: int) -> Path:
    """Where the descriptions of a ``.fai`` checked against its data file are kept: keyed by
    both files' identities (:func:`~engine.io.cache.identity_key`), so a reopen of unchanged
    files skips the per-entry check (about 3 us a record) and the header reads."""
    key = f"{identity_key(data_path)}-{identity_key(fai)}-{start}"
    return cache_dir("fai-checked") / f"{key}.txt"


def _read_checked(path: Path, count: int) -> list[str] | None:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    lines = text.split("\n")
    if len(lines) != count + 1 or lines[-1] != "":  # one line per record, newline-terminated
        return None
    return lines[:-1]


def _write_checked(path: Path, descriptions: list[str]) -> None:
    if any("\n" in d or "\r" in d for d in descriptions):
        return  # a description is one header line: never the case, but do not guess
    with contextlib.suppress(OSError):
        with atomic_open(path, "w", encoding="utf-8", newline="\n") as out:
            out.write("".join(d + "\n" for d in descriptions))


def index_fasta(
    path: Path,
    *,
    data_path: Path | None = None,
    start: int = 0,
    first_line: int = 1,
    beside: bool = True,
) -> IndexedFasta:
    """Index ``data_path`` (default ``path``) from byte ``start``, reusing a valid index.

    The ``.fai`` goes beside the data file when ``beside`` and the folder is writable,
    otherwise into the cache. Errors name ``path``, the file the user gave.
    """
    data_path = data_path or path
    size = os.path.getsize(data_path)
    candidates = []
    if beside and start == 0:
        candidates.append(Path(str(data_path) + ".fai"))
    candidates.append(cache_dir("fai") / f"{stat_key(data_path)}-{start}.fai")

    for fai in candidates:
        if fai.exists() and fai.stat().st_mtime_ns >= os.stat(data_path).st_mtime_ns:
            try:
                entries = read_fai(fai)
            except (FormatError, OSError, UnicodeDecodeError):
                continue
            checked = _checked_path(data_path, fai, start)
            descriptions = _read_checked(checked, len(entries))
            if descriptions is None:
                with _mapped(data_path) as mm:
                    descriptions = fai_descriptions(mm, entries, start)
                if descriptions is not None:
                    _write_checked(checked, descriptions)
            if descriptions is not None:
                return IndexedFasta(data_path, fai, entries, descriptions)

    streamed = False
    if size > start:
        with _mapped(data_path) as mm:
            head = mm[start : start + (1 << 20)]
            if b"\n" in head or b"\r" not in head:  # CR-only files are checked once translated
                check_bytes_streaming(mm, path, start=start, first_line=first_line)
                streamed = True

    # Irregular files were normalised under their content hash; look there before scanning
    # when the hash is known (remembered from an earlier open: no bytes read). A first open
    # hashes only when the scan finds the file irregular.
    known = remembered_hash(data_path)
    suffix = f"-{start}" if start else ""
    normalised = cache_dir("normalised") / f"{known}{suffix}.fa"
    normalised_fai = Path(str(normalised) + ".fai")
    if known is not None and normalised.is_file() and normalised_fai.is_file():
        # a cache entry is checked like any index (truncated, emptied or swapped: rebuilt)
        try:
            entries = read_fai(normalised_fai)
            with _mapped(normalised) as mm:
                descriptions = fai_descriptions(mm, entries)
        except (FormatError, OSError, UnicodeDecodeError, ValueError):
            descriptions = None
        if descriptions is not None:
            return IndexedFasta(normalised, normalised_fai, entries, descriptions)

    # The scan reads the file into memory once (a map's exported buffer cannot be closed while
    # an exception's traceback still holds an array view of it).
    raw = Path(data_path).read_bytes()
    # Classic Mac OS line ends (CR alone): read them as line breaks. Same length, so every
    # offset the scan reports holds; the copy is normalised so readers see plain LF lines.
    cr_only = b"\n" not in raw[start:] and b"\r" in raw[start:]
    if cr_only:
        raw = raw.replace(b"\r", b"\n")
    scan = scan_fasta(np.frombuffer(raw, dtype=np.uint8), path, start=start,
                      first_line=first_line, letters_checked=streamed and not cr_only)
    if cr_only or not scan.regular:
        normalised = cache_dir("normalised") / f"{content_hash(data_path)}{suffix}.fa"
        entries, descriptions = normalise(raw, scan, normalised)
        fai = Path(str(normalised) + ".fai")
        write_fai(entries, fai)
        return IndexedFasta(normalised, fai, entries, descriptions)
    del raw
    # samtools leaves empty records out of a .fai (an entry with LINEBASES 0 makes
    # `samtools faidx` divide by zero), so the .fai beside the file does too; the full index,
    # empty records included, then lives in the cache, which is where it is looked up first.
    empty = any(e.length == 0 for e in scan.entries)
    for fai in candidates:
        if empty and fai.parent != candidates[-1].parent:
            with contextlib.suppress(OSError):
                write_fai([e for e in scan.entries if e.length], fai)
            continue
        try:
            write_fai(scan.entries, fai)
            break
        except OSError:  # read-only folder: fall through to the cache
            continue
    return IndexedFasta(data_path, fai, scan.entries, scan.descriptions)


class _mapped:
    """``with _mapped(path) as mm``: a read-only map closed on exit."""

    def __init__(self, path: Path) -> None:
        self.mm = map_file(path)

    def __enter__(self) -> mmap.mmap:
        return self.mm

    def __exit__(self, *exc) -> None:
        self.mm.close()
