"""Annotation readers: GFF3, BED, GenBank and EMBL, all returning :class:`Feature`.

Every reader converts to the one convention of :mod:`engine.io.records`: 0-based half-open
``[start, end)``, strand +1 / -1 / 0. GFF3, GenBank and EMBL count 1-based inclusive, so
``start - 1`` and ``end`` stay; BED is 0-based half-open already.

Paths may be plain, gzip, bgzip, xz or bzip2; the compression is sniffed from the magic bytes
(:mod:`engine.io.compression`), never from the extension. Bad input raises
:class:`FormatError` with the path and 1-based line; nothing is skipped silently: a GFF3 or BED
line that cannot be read, or a GenBank/EMBL feature whose location cannot be, refuses the file.

Annotation files are parsed into memory, so every reader streams its input in bounded lines and
stops at :data:`MAX_LINE_BYTES` per line and :data:`MAX_ANNOTATION_BYTES` per file (decompressed)
before allocating more; coordinates above :data:`MAX_COORDINATE` are refused.
"""

from __future__ import annotations

import io
import lzma
import re
import threading
import warnings
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from urllib.parse import unquote

from Bio import BiopythonWarning, SeqIO
from Bio.Seq import UndefinedSequenceError
from Bio.SeqFeature import Location, SeqFeature
from Bio.SeqIO.InsdcIO import _insdc_location_string

from engine.errors import BytescopeError, FormatError, InputError
from engine.io.compression import open_decompressed, sniff_compression
from engine.io.records import Feature, MemorySource, Record

from .hierarchy import assemble

# What a damaged compressed stream raises mid-read (EOFError: the stream ends early).
# OSError covers gzip.BadGzipFile and bz2's "Invalid data stream".
_DECOMPRESSION_ERRORS = (EOFError, OSError, zlib.error, lzma.LZMAError)

Source = str | Path | IO[str] | IO[bytes]

# A line longer than this is no annotation: the longest real GFF3 lines (alignment Gap
# attributes, long Dbxref lists) and GenBank/EMBL lines are kilobytes. Lines are read at most
# this long, so a 2 GiB line (a gzip bomb of one comment) costs 1 MiB, not 2 GiB.
MAX_LINE_BYTES = 1 << 20
# Decompressed bytes read from one annotation file. The largest public annotations (GENCODE
# and RefSeq human GFF3, about 1.5-2 GB) fit; beyond it the features in memory would need
# tens of GB. Readers take ``max_bytes`` to lower it.
MAX_ANNOTATION_BYTES = 4 << 30
# The largest coordinate taken (2^53): exact as a float64, as the views draw, and far from
# int64 overflow in the arrays features go into; no sequence comes near it.
MAX_COORDINATE = 1 << 53


# -- opening ------------------------------------------------------------------------------------


def _existing(path: str | Path) -> Path:
    path = Path(path)
    if not path.exists():
        raise InputError("no such file", path=path)
    if path.is_dir():
        raise InputError("is a directory, not a file", path=path)
    return path


def _open_binary(path: str | Path) -> IO[bytes]:
    """The decompressed bytes of ``path`` as a binary stream."""
    try:
        return open_decompressed(path, sniff_compression(_existing(path)))
    except PermissionError:
        raise InputError("permission denied", path=path) from None


def _describe_decompression_error(path: str, error: BaseException) -> FormatError:
    try:
        compression = sniff_compression(path)
    except OSError:  # a stream with no file behind its name
        compression = None
    if compression is None:  # a plain file: an I/O error, not corruption
        return FormatError(f"could not read the file ({error})", path=path)
    if isinstance(error, EOFError):
        return FormatError(f"truncated {compression} file (the data ends early)", path=path)
    return FormatError(f"corrupt {compression} data ({error})", path=path)


@dataclass(slots=True)
class _Line:
    """One text line: 1-based number, byte offsets of its first byte and past its ending."""

    number: int
    offset: int
    end: int
    text: str  # without the line ending


def _iter_lines(
    handle: IO[str] | IO[bytes], path: str, max_bytes: int = MAX_ANNOTATION_BYTES
) -> Iterator[_Line]:
    """Lines of a text or binary stream with their numbers and byte offsets.

    Offsets are exact for binary streams (and text streams opened with ``newline=""``); a
    text stream that translated ``\\r\\n`` counts one byte per line ending. Each line is read
    at most :data:`MAX_LINE_BYTES` long and the stream at most ``max_bytes``: past either, a
    FormatError / InputError before anything larger is read. The stream is left just after the
    last line yielded.
    """
    offset = 0
    number = 0
    while True:
        try:
            raw = handle.readline(MAX_LINE_BYTES + 1)
        except _DECOMPRESSION_ERRORS as error:
            raise _describe_decompression_error(path, error) from None
        except UnicodeDecodeError:  # a strict text stream; it decodes ahead, so no exact line
            raise FormatError(
                f"not UTF-8 text (at or after line {number + 1})", path=path
            ) from None
        if not raw:
            return
        number += 1
        if isinstance(raw, bytes):
            size = len(raw)
            ended = raw.endswith(b"\n")
            # Latin-1 names in free-text attributes are common; they must not block a genome.
            text = raw.decode("utf-8", errors="replace")
        else:
            text = raw
            size = len(raw) if raw.isascii() else len(raw.encode("utf-8"))
            ended = raw.endswith("\n")
        if len(raw) > MAX_LINE_BYTES and not ended:
            raise FormatError(
                f"line longer than {MAX_LINE_BYTES:,} bytes: not an annotation file",
                path=path,
                line=number,
            )
        if offset + size > max_bytes:
            raise _too_large(path, max_bytes, number)
        text = text.rstrip("\r\n")
        if "\r" in text:  # GFF3 and BED escape a CR; a bare one is a Mac OS line end
            raise FormatError(
                "carriage return (CR) inside the line: lines must end in LF or CR LF",
                path=path,
                line=number,
            )
        if "\0" in text:
            raise FormatError("NUL byte in the line (UTF-16 or binary data?)", path=path,
                              line=number)
        yield _Line(number, offset, offset + size, text)
        offset += size


def _too_large(path: str, max_bytes: int, line: int | None = None) -> InputError:
    return InputError(
        f"more than {max_bytes:,} bytes (decompressed): annotation files are read into memory "
        "and stop there",
        path=path,
        line=line,
    )


def _one_line(text: str, limit: int = 240) -> str:
    """A third-party message as one line of at most ``limit`` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _shown(text: str, limit: int = 24) -> str:
    """``text`` quoted for a message, a long one cut (a 10^6-digit number is not echoed)."""
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text):,} characters)"


# Optional minus, ASCII digits only: int() would also take "+5", " 5", "5_000" and "٥".
_INTEGER = re.compile(r"-?[0-9]+")


def _integer(text: str) -> int | None:
    """``text`` as an int, or None when it is not a plain decimal integer."""
    if not _INTEGER.fullmatch(text):
        return None
    digits = len(text.lstrip("-"))
    # Beyond 17 digits it is over MAX_COORDINATE anyway; int() of 10^6 digits is slow/refused.
    return int(text) if digits <= 17 else (MAX_COORDINATE + 1) * (-1 if text[0] == "-" else 1)


def _check_coordinate(value: int, name: str, text: str, path: str, number: int) -> None:
    if value > MAX_COORDINATE:
        raise FormatError(
            f"{name} {_shown(text)} is above {MAX_COORDINATE:,}, the largest coordinate taken",
            path=path,
            line=number,
        )


def _source_name(handle: object, path: str | Path | None) -> str:
    if path is not None:
        return str(path)
    return str(getattr(handle, "name", "<stream>"))


# -- GFF3 ---------------------------------------------------------------------------------------

_GFF3_STRANDS = {"+": 1, "-": -1, ".": 0, "?": 0}
# Column 8: bases to drop from a CDS to reach the next codon (GFF3 spec); "." for none.
_GFF3_PHASES = frozenset(("0", "1", "2", "."))
# GFF3 column 9: the name shown for a feature, in order of preference.
_NAME_KEYS = ("Name", "ID", "locus_tag", "gene")


@dataclass(frozen=True)
class Gff3Result:
    """What :func:`read_gff3` found.

    ``fasta_line`` / ``fasta_offset``: the 1-based line number and byte offset (in the
    decompressed stream) of the first line *after* ``##FASTA`` (or of the first ``>`` line
    when the FASTA section starts without the directive); None when there is no FASTA section.
    ``##FASTA`` as the last line gives the offset of the end of the file.
    ``sequence_regions``: ``##sequence-region`` directives as 0-based half-open ranges.
    """

    features: list[Feature]
    fasta_line: int | None = None
    fasta_offset: int | None = None
    sequence_regions: dict[str, tuple[int, int]] = field(default_factory=dict)


def read_gff3(
    source: Source, *, path: str | Path | None = None, max_bytes: int = MAX_ANNOTATION_BYTES
) -> Gff3Result:
    """Features of a GFF3 file, stopping where its ``##FASTA`` section starts.

    GFF3 (https://github.com/The-Sequence-Ontology/Specifications/blob/master/gff3.md) counts
    1-based inclusive; features come back 0-based half-open. ``source`` is a path or an open
    text/binary stream (``path`` then names it in errors); a stream is left just after the
    ``##FASTA`` line so the caller can read the sequences from it (a FASTA section that
    starts with ``>`` and no directive has had that ``>`` line consumed). ``max_bytes`` caps
    the bytes read (:data:`MAX_ANNOTATION_BYTES`).
    """
    if isinstance(source, (str, Path)):
        name = str(source)
        with _open_binary(source) as handle:
            return _parse_gff3(_iter_lines(handle, name, max_bytes), name)
    name = _source_name(source, path)
    return _parse_gff3(_iter_lines(source, name, max_bytes), name)


def _parse_gff3(lines: Iterator[_Line], path: str) -> Gff3Result:
    features: list[Feature] = []
    regions: dict[str, tuple[int, int]] = {}
    for line in lines:
        text = line.text
        if text.startswith("#"):
            if text.startswith("##FASTA"):
                # Not reading ahead: a stream stays positioned at the first FASTA line.
                return Gff3Result(assemble(features), line.number + 1, line.end, regions)
            if text.startswith("##sequence-region"):
                _add_sequence_region(regions, text, path, line.number)
            continue
        if text.startswith(">"):  # a FASTA section without the ##FASTA directive
            return Gff3Result(assemble(features), line.number, line.offset, regions)
        if not text.strip():
            continue
        features.append(_gff3_feature(text, path, line.number))
    return Gff3Result(assemble(features), None, None, regions)


def _add_sequence_region(
    regions: dict[str, tuple[int, int]], text: str, path: str, number: int
) -> None:
    parts = text.split()
    if len(parts) != 4:
        raise FormatError(
            "##sequence-region needs a seqid, a start and an end", path=path, line=number
        )
    regions[_unescape(parts[1])] = _gff3_coordinates(parts[2], parts[3], path, number)


def _gff3_feature(text: str, path: str, number: int, gtf: dict | None = None) -> Feature:
    """One GFF3 data line: seqid source type start end score strand phase attributes (GTF:
    the same columns, attributes as ``key "value";``; ``gtf`` shares repeated strings)."""
    cols = text.split("\t")
    if len(cols) != 9:
        raise FormatError(
            f"expected 9 tab-separated columns, found {len(cols)}", path=path, line=number
        )
    seqid, _source, type_, start_text, end_text, _score, strand_text, phase, attr_text = cols
    if not seqid or not type_:
        raise FormatError(
            f"column {1 if not seqid else 3} ({'seqid' if not seqid else 'type'}) is empty",
            path=path,
            line=number,
        )
    start, end = _gff3_coordinates(start_text, end_text, path, number)
    strand = _GFF3_STRANDS.get(strand_text)
    if strand is None:
        raise FormatError(
            f"strand must be one of + - . ?, found {_shown(strand_text)}", path=path, line=number
        )
    if phase not in _GFF3_PHASES:
        raise FormatError(
            f"phase must be 0, 1, 2 or ., found {_shown(phase)}", path=path, line=number
        )
    if gtf is not None:
        attributes = _gtf_attributes(attr_text, path, number, gtf)
        keys = _GTF_NAME_KEYS.get(type_, _GTF_NAME_KEYS[""])
        name = next((attributes[key] for key in keys if key in attributes), "")
        return Feature(gtf.setdefault(seqid, seqid), start, end, strand,
                       gtf.setdefault(type_, type_), name, attributes)
    attributes = _gff3_attributes(attr_text, path, number)
    name = next((attributes[key] for key in _NAME_KEYS if key in attributes), "")
    return Feature(_unescape(seqid), start, end, strand, _unescape(type_), name, attributes)


def _gff3_coordinates(start_text: str, end_text: str, path: str, number: int) -> tuple[int, int]:
    """1-based inclusive ``start..end`` -> 0-based half-open ``[start - 1, end)``."""
    start, end = _integer(start_text), _integer(end_text)
    if start is None or end is None:
        raise FormatError(
            f"start and end must be integers, found {_shown(start_text)} and "
            f"{_shown(end_text)}",
            path=path,
            line=number,
        )
    _check_coordinate(end, "end", end_text, path, number)
    if start < 1:
        raise FormatError(f"start {start} is below 1 (GFF3 is 1-based)", path=path, line=number)
    if start > end:
        raise FormatError(f"start {start} is after end {end}", path=path, line=number)
    return start - 1, end


def _gff3_attributes(text: str, path: str, number: int) -> dict[str, str]:
    """``key=value;key=v1,v2`` with URL escapes (``%3B`` is ``;``) decoded.

    Multi-valued attributes stay one comma-joined string; an escaped comma (``%2C``) inside a
    value decodes to a comma too, so such a value cannot be split back unambiguously.
    """
    attributes: dict[str, str] = {}
    if text in ("", "."):
        return attributes
    for part in text.split(";"):
        if not part.strip():
            continue  # a trailing ";" is common and harmless
        key, sep, value = part.partition("=")
        if not sep:
            raise FormatError(
                f"attribute {part.strip()!r} is not key=value", path=path, line=number
            )
        key, value = _unescape(key.strip()), _unescape(value)
        # A repeated key is not legal GFF3 but occurs; keep every value.
        attributes[key] = f"{attributes[key]},{value}" if key in attributes else value
    return attributes


def _unescape(text: str) -> str:
    return unquote(text) if "%" in text else text


# -- GTF (GFF2 with gene_id/transcript_id: Ensembl, GENCODE) ------------------------------------

# the name shown, by feature type ("" for any other type)
_GTF_NAME_KEYS = {"gene": ("gene_name", "gene_id"),
                  "": ("transcript_name", "gene_name", "transcript_id", "gene_id")}


def read_gtf(path: str | Path, *, max_bytes: int = MAX_ANNOTATION_BYTES) -> list[Feature]:
    """Features of a GTF file (1-based inclusive, as GFF3; attributes ``key "value";``),
    assembled into genes, transcripts with their exons, one CDS per transcript
    (engine/io/hierarchy.py)."""
    name = str(path)
    features = []
    shared: dict[str, str] = {}  # one object per distinct value: gene names repeat per line
    with _open_binary(path) as handle:
        for line in _iter_lines(handle, name, max_bytes):
            text = line.text
            if text.startswith("#") or not text.strip():
                continue
            features.append(_gff3_feature(text, name, line.number, gtf=shared))
    return assemble(features)


def _gtf_attributes(text: str, path: str, number: int,
                    shared: dict[str, str]) -> dict[str, str]:
    """``gene_id "G1"; transcript_id "T1"; tag "basic"; tag "CCDS";``: a repeated key keeps
    every value, comma-joined; unquoted values (``exon_number 3``) are taken as they are."""
    attributes: dict[str, str] = {}
    for part in text.split(";"):
        part = part.strip()
        if not part:
            continue
        key, _, value = part.partition(" ")
        value = value.strip()
        if not key or not value:
            raise FormatError(f"attribute {_shown(part)} is not key \"value\" (GTF)",
                              path=path, line=number)
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        key = shared.setdefault(key, key)
        value = f"{attributes[key]},{value}" if key in attributes else value
        attributes[key] = shared.setdefault(value, value) if len(value) < 64 else value
    return attributes


# -- BED ----------------------------------------------------------------------------------------

_BED_STRANDS = {"+": 1, "-": -1, ".": 0}
# BED columns 5 and 7-12, kept as attributes under their UCSC names (None: 6 is the strand).
_BED_EXTRA = (
    "score",
    None,
    "thickStart",
    "thickEnd",
    "itemRgb",
    "blockCount",
    "blockSizes",
    "blockStarts",
)


def read_bed(
    source: Source, *, path: str | Path | None = None, max_bytes: int = MAX_ANNOTATION_BYTES
) -> list[Feature]:
    """Features of a BED3..BED12 file (UCSC; already 0-based half-open).

    ``track``, ``browser``, ``#`` and blank lines are skipped. Fields are tab-separated (a
    line without tabs is split on whitespace). Name is column 4 (``.`` means none), strand
    column 6; type is ``"region"``; columns 5 and 7-12 become attributes by their UCSC names,
    further columns (BED6+4 and similar) ``column13``, ``column14``, ...
    """
    if isinstance(source, (str, Path)):
        name = str(source)
        with _open_binary(source) as handle:
            return _parse_bed(_iter_lines(handle, name, max_bytes), name)
    name = _source_name(source, path)
    return _parse_bed(_iter_lines(source, name, max_bytes), name)


def _parse_bed(lines: Iterator[_Line], path: str) -> list[Feature]:
    features = []
    for line in lines:
        if _is_bed_header(line.text):
            continue
        features.append(_bed_feature(line.text, path, line.number))
    return features


def _is_bed_header(text: str) -> bool:
    return not text.strip() or text.startswith(("#", "track", "browser"))


def _bed_fields(text: str) -> list[str]:
    return text.split("\t") if "\t" in text else text.split()


def _bed_feature(text: str, path: str, number: int) -> Feature:
    cols = _bed_fields(text)
    if len(cols) < 3:
        raise FormatError(
            f"expected at least 3 columns (chrom, start, end), found {len(cols)}",
            path=path,
            line=number,
        )
    start, end = _integer(cols[1]), _integer(cols[2])
    if start is None or end is None:
        raise FormatError(
            f"start and end must be integers, found {_shown(cols[1])} and {_shown(cols[2])}",
            path=path,
            line=number,
        )
    _check_coordinate(end, "end", cols[2], path, number)
    if start < 0 or start > end:
        raise FormatError(
            f"need 0 <= start <= end (BED is 0-based half-open), found {start} and {end}",
            path=path,
            line=number,
        )
    strand_text = cols[5] if len(cols) > 5 else "."
    strand = _BED_STRANDS.get(strand_text)
    if strand is None:
        raise FormatError(
            f"strand must be one of + - ., found {_shown(strand_text)}", path=path, line=number
        )
    name = cols[3] if len(cols) > 3 and cols[3] != "." else ""
    return Feature(cols[0], start, end, strand, "region", name, _bed_attributes(cols))


def _bed_attributes(cols: list[str]) -> dict[str, str]:
    attributes = {}
    for i, value in enumerate(cols[4:], start=4):
        key = _BED_EXTRA[i - 4] if i - 4 < len(_BED_EXTRA) else f"column{i + 1}"
        if key is not None:
            attributes[key] = value
    return attributes


# -- GenBank and EMBL (Biopython) -------------------------------------------------------------

# Qualifiers naming a feature, in order of preference.
_INSDC_NAME_KEYS = ("gene", "locus_tag", "product", "label")
# The INSDC feature table (section 3.3) puts the key at column 6, the location at column 22.
_LOCATION_COLUMN = 21
# Biopython's text when it drops a feature's location (it only warns).
_LOCATION_DROPPED = "setting feature location to None"
# Biopython's text when it skips a feature-table line (it only warns).
_LINE_SKIPPED = "line too short to contain a feature"
# Biopython's error for a feature whose lines it cannot split into location and qualifiers.
_PROBLEM_FEATURE = re.compile(r"Problem with '(.+?)' feature")


@dataclass(slots=True)
class _FeatureStart:
    """A feature-table line that starts a feature: its number, key and location as written."""

    number: int
    key: str
    location: str
    qualified: bool = False  # a ``/qualifier`` line seen: the location is complete


class _CountingReader:
    """A text stream that watches what Biopython reads, to say where things are.

    It counts lines (where parsing stopped), keeps the last non-blank line and each record's
    declared length (truncation, which Biopython only warns about) and each record's feature
    starts, in the order Biopython makes its features (to name a bad feature's line). It reads
    lines at most :data:`MAX_LINE_BYTES` long and at most ``max_bytes`` in all.
    """

    def __init__(self, handle: IO[str], flavour: _Flavour, path: str, max_bytes: int) -> None:
        self._handle = handle
        self._flavour = flavour
        self._path = path
        self._max_bytes = max_bytes
        self._in_table = False
        self.lines_read = 0
        self.chars_read = 0
        self.last_line = ""
        self.declared_lengths: list[int | None] = []
        self.circular: list[bool] = []
        self.features: list[list[_FeatureStart]] = []  # one list per record

    def readline(self) -> str:
        line = self._handle.readline(MAX_LINE_BYTES + 1)
        if not line:
            return line
        self.lines_read += 1
        self.chars_read += len(line)
        if len(line) > MAX_LINE_BYTES and not line.endswith("\n"):
            raise FormatError(
                f"line longer than {MAX_LINE_BYTES:,} bytes: not a {self._flavour.label} file",
                path=self._path,
                line=self.lines_read,
            )
        if self.chars_read > self._max_bytes:
            raise _too_large(self._path, self._max_bytes, self.lines_read)
        if line.strip():
            self.last_line = line.strip()
        if line.startswith(("LOCUS", "ID ")):
            match = self._flavour.header.match(line)
            self.declared_lengths.append(int(match.group(1)) if match else None)
            self.circular.append("circular" in line.lower())
            self.features.append([])
        self._watch_features(line)
        return line

    def _watch_features(self, line: str) -> None:
        """Note feature starts as Biopython's scanner finds them (``parse_features``)."""
        if self._flavour is _EMBL:
            self._in_table = line.startswith("FT")
        elif line.startswith("FEATURES"):
            self._in_table = True
            return
        elif line[:1] not in (" ", "\n", "\r", ""):  # ORIGIN, CONTIG, BASE COUNT, //
            self._in_table = False
        if not self._in_table or not self.features:
            return
        text = line.rstrip()
        if text[:2] in ("  ", "FT") and not text[2:_LOCATION_COLUMN].strip():
            if self.features[-1] and text[_LOCATION_COLUMN:].strip():  # a continuation
                feature = self.features[-1][-1]
                more = text[_LOCATION_COLUMN:].strip()
                feature.qualified = feature.qualified or more.startswith("/")
                if not feature.qualified:
                    feature.location += more
        elif len(text) >= _LOCATION_COLUMN:  # a key: a new feature; split as Biopython does
            if text[_LOCATION_COLUMN] != " " and " " in text[_LOCATION_COLUMN:]:
                key, location = text[2:].split(None, 1)  # a key over-indenting its location
            else:
                key, location = text[2:_LOCATION_COLUMN].strip(), text[_LOCATION_COLUMN:]
            self.features[-1].append(_FeatureStart(self.lines_read, key, location.strip()))

    def __iter__(self) -> Iterator[str]:
        return iter(self.readline, "")

    def read(self, size: int = -1) -> str:
        return self._handle.read(size)  # Biopython only calls read(0), to check the mode

    def feature_named(self, key: str | None) -> _FeatureStart | None:
        """The feature Biopython is splitting into location and qualifiers: the last one of
        the last record with this key (any key: None), but not the line it read ahead."""
        starts = self.features[-1] if self.features else []
        return next(
            (s for s in reversed(starts) if key in (None, s.key) and s.number != self.lines_read),
            None,
        )

    def unreadable_location(self) -> _FeatureStart | None:
        """The first feature of the last record whose location Biopython cannot parse.

        Parsed as Biopython's ``_FeatureConsumer.location`` does: whitespace removed, the
        declared length and topology given.
        """
        if not self.features:
            return None
        length, circular = self.declared_lengths[-1], self.circular[-1]
        for feature in self.features[-1]:
            location = "".join(feature.location.split())
            if "replace" in location:  # replace(266,"c"): Biopython keeps the position only
                location = location[8 : location.find(",")]
            try:
                Location.fromstring(location, length, circular)
            except Exception:  # whatever Biopython raises on it (it asserts, too)
                return feature
        return None


class _MissingSequence:
    """Stands in for a CONTIG-only GenBank/EMBL record whose bases the file does not hold."""

    __slots__ = ("path", "record_id")

    def __init__(self, record_id: str, path: str) -> None:
        self.record_id = record_id
        self.path = path

    def read(self, start: int, end: int) -> bytes:
        raise InputError(
            f"record {self.record_id!r} has no sequence in the file (features only)",
            path=self.path,
        )


@dataclass(frozen=True)
class _Flavour:
    """What differs between GenBank and EMBL for reading."""

    biopython_format: str
    label: str
    first_key: str
    header: re.Pattern[str]  # captures the length a record declares


_GENBANK = _Flavour("genbank", "GenBank", "LOCUS", re.compile(r"LOCUS\s.*?\b(\d+) (?:bp|aa)\b"))
_EMBL = _Flavour("embl", "EMBL", "ID", re.compile(r"ID\s.*?\b(\d+) (?:BP|AA)\b"))


def read_genbank(path: str | Path, *, max_bytes: int = MAX_ANNOTATION_BYTES) -> list[Record]:
    """Records of a GenBank flat file, with their sequences and features (Biopython)."""
    return _read_insdc(path, _GENBANK, max_bytes)


def read_embl(path: str | Path, *, max_bytes: int = MAX_ANNOTATION_BYTES) -> list[Record]:
    """Records of an EMBL flat file, with their sequences and features (Biopython)."""
    return _read_insdc(path, _EMBL, max_bytes)


def read_genbank_or_embl(
    path: str | Path, format: str, *, max_bytes: int = MAX_ANNOTATION_BYTES
) -> list[Record]:
    """:func:`read_genbank` or :func:`read_embl` by name (``"genbank"`` / ``"embl"``)."""
    flavours = {"genbank": _GENBANK, "embl": _EMBL}
    if format not in flavours:
        raise ValueError(f"format must be 'genbank' or 'embl', not {format!r}")
    return _read_insdc(path, flavours[format], max_bytes)


def _read_insdc(path: str | Path, flavour: _Flavour, max_bytes: int) -> list[Record]:
    """GenBank/EMBL via ``Bio.SeqIO.parse``; locations are 1-based inclusive in the file,
    0-based half-open in Biopython and here.

    The ``source`` feature is kept: it is in the file and carries organism, mol_type and
    db_xref (so feature counts include it). Biopython's warnings are caught, never printed:
    those that mean something was dropped (a feature line skipped, a location unreadable)
    refuse the file with its line; the rest (a LOCUS line laid out loosely, a qualifier quoted
    oddly) describe what Biopython tidied, and the result stands.
    """
    name = str(path)
    with _open_binary(path) as binary, io.TextIOWrapper(binary, encoding="utf-8") as text:
        reader = _CountingReader(text, flavour, name, max_bytes)
        parsed, caught = _parse_insdc(reader, flavour, name)
    if not parsed:
        if reader.lines_read == 0:
            raise InputError("empty file", path=name)
        raise FormatError(
            f"no {flavour.label} record found (no line starts with {flavour.first_key})",
            path=name,
        )
    _check_complete(parsed, reader, name)
    for message, line in caught:
        if message.startswith(_LINE_SKIPPED):
            raise FormatError(_one_line(message), path=name, line=line)
    dropped = iter([message for message, _ in caught if _LOCATION_DROPPED in message])
    return [
        _insdc_record(rec, starts, dropped, name)
        for rec, starts in zip(parsed, _pad(reader.features, len(parsed)), strict=True)
    ]


def _pad(lists: list[list[_FeatureStart]], n: int) -> list[list[_FeatureStart]]:
    """``lists`` cut or padded with empty lists to ``n`` (a header Biopython read otherwise)."""
    return (lists + [[] for _ in range(n)])[:n]


# catch_warnings swaps process-wide state; one parse at a time, so two files opened together
# (the window opens each in its own worker) cannot restore each other's hook.
_BIOPYTHON_LOCK = threading.Lock()


def _parse_insdc(
    reader: _CountingReader, flavour: _Flavour, path: str
) -> tuple[list[SeqIO.SeqRecord], list[tuple[str, int]]]:
    """``Bio.SeqIO.parse`` over ``reader``; its warnings come back as (message, line read)."""
    caught: list[tuple[str, int]] = []
    with _BIOPYTHON_LOCK, warnings.catch_warnings():
        shown = warnings.showwarning

        def catch(message, category, filename, lineno, file=None, line=None) -> None:
            if issubclass(category, BiopythonWarning):
                caught.append((str(message), reader.lines_read))
            else:  # another thread's warning: shown as it would have been
                shown(message, category, filename, lineno, file, line)

        # Every file reports its own, not only the first file with a given warning.
        warnings.simplefilter("always", BiopythonWarning)
        warnings.showwarning = catch
        try:  # only Biopython's parsing: errors in our own conversion are bugs, not input
            return list(SeqIO.parse(reader, flavour.biopython_format)), caught
        except BytescopeError:  # the reader's limits
            raise
        except _DECOMPRESSION_ERRORS as error:
            raise _describe_decompression_error(path, error) from None
        except UnicodeDecodeError:
            raise FormatError(
                f"not UTF-8 text (not a {flavour.label} file?)",
                path=path,
                line=reader.lines_read + 1,
            ) from None
        except MemoryError:
            raise
        except Exception as error:  # ValueError, and its scanner's AssertionError, IndexError...
            raise _parse_failure(error, reader, flavour, path) from None


def _parse_failure(
    error: Exception, reader: _CountingReader, flavour: _Flavour, path: str
) -> FormatError:
    """Biopython's exception on malformed text as one line, at the bad feature if one is."""
    message = _one_line(str(error))
    if isinstance(error, ValueError):  # Biopython's parse errors; one may name the feature
        named = _PROBLEM_FEATURE.match(message)
        bad = reader.feature_named(named.group(1)) if named else None
        if bad is not None:
            return FormatError(message, path=path, line=bad.number)
        return FormatError(
            f"not a valid {flavour.label} file: {message} (parser stopped at this line)",
            path=path,
            line=reader.lines_read or None,
        )
    # Biopython's own checks failing (an assert on a location, an index past a short line).
    message = f"{type(error).__name__}: {message}" if message else type(error).__name__
    module, function = _raised_at(error)
    if module == "Bio.SeqFeature":  # parsing a location: the table is read by then; find it
        bad = reader.unreadable_location()
        if bad is not None:
            return FormatError(
                f"{_shown(bad.key)} feature: location {_shown(bad.location, 60)} cannot be "
                f"read ({message})",
                path=path,
                line=bad.number,
            )
    if function == "parse_feature":  # splitting a feature's lines, just read
        bad = reader.feature_named(None)
        if bad is not None:
            return FormatError(
                f"{_shown(bad.key)} feature: its lines cannot be read ({message})",
                path=path,
                line=bad.number,
            )
    return FormatError(
        f"{flavour.label} parser failed: {message} (parser stopped at this line)",
        path=path,
        line=reader.lines_read or None,
    )


def _raised_at(error: BaseException) -> tuple[str, str]:
    """The module and function that raised ``error``."""
    tb = error.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None:
        return "", ""
    return tb.tb_frame.f_globals.get("__name__", ""), tb.tb_frame.f_code.co_name


def _check_complete(parsed: list[SeqIO.SeqRecord], reader: _CountingReader, path: str) -> None:
    """Raise where Biopython would only warn: a cut-off file or a sequence of the wrong length."""
    if reader.last_line != "//":
        raise FormatError(
            "truncated: the last record does not end with '//'", path=path, line=reader.lines_read
        )
    if len(reader.declared_lengths) != len(parsed):
        return  # a header we could not pair with its record; Biopython has checked it
    for rec, declared in zip(parsed, reader.declared_lengths, strict=True):
        if declared is not None and declared != len(rec.seq):
            raise FormatError(
                f"record {rec.id!r} declares {declared} residues but its sequence has "
                f"{len(rec.seq)}",
                path=path,
            )


def _insdc_record(
    rec: SeqIO.SeqRecord, starts: list[_FeatureStart], dropped: Iterator[str], path: str
) -> Record:
    length = len(rec.seq)
    try:
        data = bytes(rec.seq)
        source: MemorySource | _MissingSequence = MemorySource(data)
    except UndefinedSequenceError:
        data = b""
        source = _MissingSequence(rec.id, path)
    # Biopython makes one feature per feature start, in order; the key confirms the pairing.
    lines = [
        s.number if s.key == f.type else None
        for s, f in zip(starts, rec.features, strict=False)
    ]
    lines += [None] * (len(rec.features) - len(lines))
    features = [
        _insdc_feature(rec.id, sf, length, path, line, dropped)
        for sf, line in zip(rec.features, lines, strict=True)
    ]
    return Record(
        rec.id,
        length,
        source,
        description=rec.description,
        alphabet=_insdc_alphabet(rec.annotations.get("molecule_type", ""), data),
        features=features,
    )


def _insdc_alphabet(molecule_type: str, data: bytes) -> str | None:
    """Alphabet from the declared molecule type (``DNA``, ``mRNA``, ``protein``, ...).

    GenBank writes RNA molecules in DNA letters (t, not u), so an RNA record is ``"rna"`` only
    when its sequence has no T; anything undeclared is None, left to detection.
    """
    kind = molecule_type.lower()
    if "protein" in kind:
        return "protein"
    if "rna" in kind:
        return "dna" if b"T" in data.upper() else "rna"
    if "dna" in kind:
        return "dna"
    return None


def _insdc_feature(
    record_id: str,
    feature: SeqFeature,
    length: int,
    path: str,
    line: int | None,
    dropped: Iterator[str],
) -> Feature:
    """A Biopython feature as a Feature; compound locations keep their outer bounds.

    A feature wrapping the origin of a circular record (``join(4000..4500,1..100)``) thus
    spans ``[0, 4500)``; the exact location string is kept in ``attributes["location"]``.
    A location Biopython dropped, one without coordinates or one past the record's end
    (unless it points into another entry, ``J00194.1:100..202``) is a FormatError.
    """
    where = "" if line is not None else f" (record {record_id!r})"
    location = feature.location
    if location is None:  # Biopython warned, in order, for each one it dropped
        reason = _one_line(next(dropped, "its location cannot be parsed"))
        reason = reason.removesuffix(".").removesuffix(f"; {_LOCATION_DROPPED}")
        raise FormatError(f"{_shown(feature.type)} feature{where}: {reason}", path=path, line=line)
    try:
        start, end = int(location.start), int(location.end)
    except (TypeError, ValueError):  # UnknownPosition
        raise FormatError(
            f"{_shown(feature.type)} feature{where}: location {location} has no known position",
            path=path,
            line=line,
        ) from None
    remote = any(part.ref for part in location.parts)
    if end > MAX_COORDINATE or (end > length and not remote):
        raise FormatError(
            f"{_shown(feature.type)} feature{where}: location ends at {_shown(str(end))}, past the "
            f"end of record {record_id!r} ({length:,} residues)",
            path=path,
            line=line,
        )
    attributes = {key: ",".join(map(str, values)) for key, values in feature.qualifiers.items()}
    attributes["location"] = _insdc_location_string(location, length)
    name = next((attributes[key] for key in _INSDC_NAME_KEYS if key in attributes), "")
    strand = location.strand if location.strand in (1, -1) else 0
    return Feature(record_id, start, end, strand, feature.type, name, attributes)


# -- dispatch -----------------------------------------------------------------------------------

_SNIFF_BYTES = 1 << 16


def sniff_annotation_format(path: str | Path) -> str | None:
    """``"gff3"``, ``"gtf"``, ``"genbank"``, ``"embl"``, ``"bed"`` or None, from the
    (decompressed) content.

    GFF3 starts ``##gff-version``, GenBank ``LOCUS``, EMBL ``ID   ``; otherwise the first data
    line decides: BED has integer columns 2 and 3, headerless GFF3 nine columns with integer
    columns 4 and 5.
    """
    try:
        with _open_binary(path) as handle:
            head = handle.read(_SNIFF_BYTES)
    except _DECOMPRESSION_ERRORS as error:
        raise _describe_decompression_error(str(path), error) from None
    text = head.decode("utf-8", errors="replace")
    lines = text.splitlines()
    if len(head) == _SNIFF_BYTES and lines:
        lines.pop()  # possibly cut mid-line
    first = next((line for line in lines if line.strip()), "")
    if first.startswith("##gff-version"):
        return "gtf" if first.split()[1:2] == ["2"] else "gff3"
    if first.startswith("LOCUS"):
        return "genbank"
    if first.startswith("ID   "):
        return "embl"
    data = next((line for line in lines if not _is_bed_header(line)), "")
    return _sniff_tabular(data)


def _sniff_tabular(line: str) -> str | None:
    cols = _bed_fields(line)
    if len(cols) >= 3 and _is_int(cols[1]) and _is_int(cols[2]):
        return "bed"
    if len(cols) == 9 and _is_int(cols[3]) and _is_int(cols[4]):
        return "gtf" if re.search(r'(^|;)\s*\w+ "', cols[8]) else "gff3"
    return None


def _is_int(text: str) -> bool:
    return text.strip().lstrip("-").isdigit()


def read_annotations(path: str | Path) -> list[Feature]:
    """The features of an annotation file of any supported format, sniffed from its content."""
    kind = sniff_annotation_format(path)
    if kind == "gff3":
        return read_gff3(path).features
    if kind == "gtf":
        return read_gtf(path)
    if kind == "bed":
        return read_bed(path)
    if kind in ("genbank", "embl"):
        reader = read_genbank if kind == "genbank" else read_embl
        return [feature for record in reader(path) for feature in record.features]
    if Path(path).stat().st_size == 0:
        raise InputError("empty file", path=path)
    raise FormatError(
        "not an annotation file: expected GFF3 (##gff-version), GTF (key \"value\"; "
        "attributes), GenBank (LOCUS), EMBL (ID) or BED (chrom, integer start, integer end)",
        path=path,
    )
