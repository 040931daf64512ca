"""Annotation readers: GFF3, BED, GenBank and EMBL, all returning :class:`Feature`.

Every reader converts to the one convention of :mod:`engine.io.records`: 0-based half-open
``[start, end)``, strand +1 / -1 / 0. GFF3, GenBank and EMBL count 1-based inclusive, so
``start - 1`` and ``end`` stay; BED is 0-based half-open already.

Paths may be plain, gzip, bgzip, xz or bzip2; the compression is sniffed from the magic bytes
(:mod:`engine.io.compression`), never from the extension. Bad input raises
:class:`FormatError` with the path and 1-based line.
"""

from __future__ import annotations

import io
import lzma
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from urllib.parse import unquote

from Bio import SeqIO
from Bio.Seq import UndefinedSequenceError
from Bio.SeqFeature import SeqFeature
from Bio.SeqIO.InsdcIO import _insdc_location_string

from engine.errors import FormatError, InputError
from engine.io.compression import open_decompressed, sniff_compression
from engine.io.records import Feature, MemorySource, Record

# What a damaged compressed stream raises mid-read (EOFError: the stream ends early).
# OSError covers gzip.BadGzipFile and bz2's "Invalid data stream".
_DECOMPRESSION_ERRORS = (EOFError, OSError, zlib.error, lzma.LZMAError)

Source = str | Path | IO[str] | IO[bytes]


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


def _iter_lines(handle: IO[str] | IO[bytes], path: str) -> Iterator[_Line]:
    """Lines of a text or binary stream with their numbers and byte offsets.

    Offsets are exact for binary streams (and text streams opened with ``newline=""``); a
    text stream that translated ``\\r\\n`` counts one byte per line ending.
    """
    offset = 0
    number = 0
    lines = iter(handle)
    while True:
        try:
            raw = next(lines)
        except StopIteration:
            return
        except _DECOMPRESSION_ERRORS as error:
            raise _describe_decompression_error(path, error) from None
        except UnicodeDecodeError:  # a strict text stream; it decodes ahead, so no exact line
            raise FormatError(
                f"not UTF-8 text (at or after line {number + 1})", path=path
            ) from None
        number += 1
        if isinstance(raw, bytes):
            size = len(raw)
            # Latin-1 names in free-text attributes are common; they must not block a genome.
            text = raw.decode("utf-8", errors="replace")
        else:
            text = raw
            size = len(raw) if raw.isascii() else len(raw.encode("utf-8"))
        yield _Line(number, offset, offset + size, text.rstrip("\r\n"))
        offset += size


def _source_name(handle: object, path: str | Path | None) -> str:
    if path is not None:
        return str(path)
    return str(getattr(handle, "name", "<stream>"))


# -- GFF3 ---------------------------------------------------------------------------------------

_GFF3_STRANDS = {"+": 1, "-": -1, ".": 0, "?": 0}
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


def read_gff3(source: Source, *, path: str | Path | None = None) -> Gff3Result:
    """Features of a GFF3 file, stopping where its ``##FASTA`` section starts.

    GFF3 (https://github.com/The-Sequence-Ontology/Specifications/blob/master/gff3.md) counts
    1-based inclusive; features come back 0-based half-open. ``source`` is a path or an open
    text/binary stream (``path`` then names it in errors); a stream is left just after the
    ``##FASTA`` line so the caller can read the sequences from it (a FASTA section that
    starts with ``>`` and no directive has had that ``>`` line consumed).
    """
    if isinstance(source, (str, Path)):
        name = str(source)
        with _open_binary(source) as handle:
            return _parse_gff3(_iter_lines(handle, name), name)
    return _parse_gff3(_iter_lines(source, _source_name(source, path)), _source_name(source, path))


def _parse_gff3(lines: Iterator[_Line], path: str) -> Gff3Result:
    features: list[Feature] = []
    regions: dict[str, tuple[int, int]] = {}
    for line in lines:
        text = line.text
        if text.startswith("#"):
            if text.startswith("##FASTA"):
                # Not reading ahead: a stream stays positioned at the first FASTA line.
                return Gff3Result(features, line.number + 1, line.end, regions)
            if text.startswith("##sequence-region"):
                _add_sequence_region(regions, text, path, line.number)
            continue
        if text.startswith(">"):  # a FASTA section without the ##FASTA directive
            return Gff3Result(features, line.number, line.offset, regions)
        if not text.strip():
            continue
        features.append(_gff3_feature(text, path, line.number))
    return Gff3Result(features, None, None, regions)


def _add_sequence_region(
    regions: dict[str, tuple[int, int]], text: str, path: str, number: int
) -> None:
    parts = text.split()
    if len(parts) != 4 or not (parts[2].isdigit() and parts[3].isdigit()):
        raise FormatError(
            "##sequence-region needs a seqid, a start and an end", path=path, line=number
        )
    regions[_unescape(parts[1])] = (int(parts[2]) - 1, int(parts[3]))


def _gff3_feature(text: str, path: str, number: int) -> Feature:
    """One GFF3 data line: seqid source type start end score strand phase attributes."""
    cols = text.split("\t")
    if len(cols) != 9:
        raise FormatError(
            f"expected 9 tab-separated columns, found {len(cols)}", path=path, line=number
        )
    seqid, _source, type_, start_text, end_text, _score, strand_text, _phase, attr_text = cols
    start, end = _gff3_coordinates(start_text, end_text, path, number)
    strand = _GFF3_STRANDS.get(strand_text)
    if strand is None:
        raise FormatError(
            f"strand must be one of + - . ?, found {strand_text!r}", path=path, line=number
        )
    attributes = _gff3_attributes(attr_text, path, number)
    name = next((attributes[key] for key in _NAME_KEYS if key in attributes), "")
    return Feature(_unescape(seqid), start, end, strand, _unescape(type_), name, attributes)


def _gff3_coordinates(start_text: str, end_text: str, path: str, number: int) -> tuple[int, int]:
    """1-based inclusive ``start..end`` -> 0-based half-open ``[start - 1, end)``."""
    try:
        start, end = int(start_text), int(end_text)
    except ValueError:
        raise FormatError(
            f"start and end must be integers, found {start_text!r} and {end_text!r}",
            path=path,
            line=number,
        ) from None
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


def read_bed(source: Source, *, path: str | Path | None = None) -> list[Feature]:
    """Features of a BED3..BED12 file (UCSC; already 0-based half-open).

    ``track``, ``browser``, ``#`` and blank lines are skipped. Fields are tab-separated (a
    line without tabs is split on whitespace). Name is column 4 (``.`` means none), strand
    column 6; type is ``"region"``; columns 5 and 7-12 become attributes by their UCSC names,
    further columns (BED6+4 and similar) ``column13``, ``column14``, ...
    """
    if isinstance(source, (str, Path)):
        name = str(source)
        with _open_binary(source) as handle:
            return _parse_bed(_iter_lines(handle, name), name)
    return _parse_bed(_iter_lines(source, _source_name(source, path)), _source_name(source, path))


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
    try:
        start, end = int(cols[1]), int(cols[2])
    except ValueError:
        raise FormatError(
            f"start and end must be integers, found {cols[1]!r} and {cols[2]!r}",
            path=path,
            line=number,
        ) from None
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
            f"strand must be one of + - ., found {strand_text!r}", path=path, line=number
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


class _CountingReader:
    """A text stream that watches what Biopython reads: the line count (to say where parsing
    stopped), the last non-blank line and each record's declared length (to catch truncation,
    which Biopython only warns about).
    """

    def __init__(self, handle: IO[str], header: re.Pattern[str]) -> None:
        self._handle = handle
        self._header = header
        self.lines_read = 0
        self.last_line = ""
        self.declared_lengths: list[int | None] = []

    def readline(self) -> str:
        line = self._handle.readline()
        if line:
            self.lines_read += 1
            if line.strip():
                self.last_line = line.strip()
            if line.startswith(("LOCUS", "ID ")):
                match = self._header.match(line)
                self.declared_lengths.append(int(match.group(1)) if match else None)
        return line

    def __iter__(self) -> Iterator[str]:
        return iter(self.readline, "")

    def read(self, size: int = -1) -> str:
        return self._handle.read(size)


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


def read_genbank(path: str | Path) -> list[Record]:
    """Records of a GenBank flat file, with their sequences and features (Biopython)."""
    return _read_insdc(path, _GENBANK)


def read_embl(path: str | Path) -> list[Record]:
    """Records of an EMBL flat file, with their sequences and features (Biopython)."""
    return _read_insdc(path, _EMBL)


def read_genbank_or_embl(path: str | Path, format: str) -> list[Record]:
    """:func:`read_genbank` or :func:`read_embl` by name (``"genbank"`` / ``"embl"``)."""
    flavours = {"genbank": _GENBANK, "embl": _EMBL}
    if format not in flavours:
        raise ValueError(f"format must be 'genbank' or 'embl', not {format!r}")
    return _read_insdc(path, flavours[format])


def _read_insdc(path: str | Path, flavour: _Flavour) -> list[Record]:
    """GenBank/EMBL via ``Bio.SeqIO.parse``; locations are 1-based inclusive in the file,
    0-based half-open in Biopython and here.

    The ``source`` feature is kept: it is in the file and carries organism, mol_type and
    db_xref (so feature counts include it).
    """
    name = str(path)
    with _open_binary(path) as binary, io.TextIOWrapper(binary, encoding="utf-8") as text:
        reader = _CountingReader(text, flavour.header)
        try:  # only Biopython's parsing: errors in our own conversion are bugs, not input
            parsed = list(SeqIO.parse(reader, flavour.biopython_format))
        except _DECOMPRESSION_ERRORS as error:
            raise _describe_decompression_error(name, error) from None
        except UnicodeDecodeError:
            raise FormatError(
                f"not UTF-8 text (not a {flavour.label} file?)",
                path=name,
                line=reader.lines_read + 1,
            ) from None
        except ValueError as error:  # Biopython's parse errors
            raise FormatError(
                f"not a valid {flavour.label} file: {error} (parser stopped at this line)",
                path=name,
                line=reader.lines_read or None,
            ) from None
    records = [_insdc_record(rec, name) for rec in parsed]
    if not records:
        if reader.lines_read == 0:
            raise InputError("empty file", path=name)
        raise FormatError(
            f"no {flavour.label} record found (no line starts with {flavour.first_key})",
            path=name,
        )
    _check_complete(records, reader, name)
    return records


def _check_complete(records: list[Record], reader: _CountingReader, path: str) -> None:
    """Raise where Biopython would only warn: a cut-off file or a sequence of the wrong length."""
    if reader.last_line != "//":
        raise FormatError(
            "truncated: the last record does not end with '//'", path=path, line=reader.lines_read
        )
    if len(reader.declared_lengths) != len(records):
        return  # a header we could not pair with its record; Biopython has checked it
    for record, declared in zip(records, reader.declared_lengths, strict=True):
        if declared is not None and declared != record.length:
            raise FormatError(
                f"record {record.id!r} declares {declared} residues but its sequence has "
                f"{record.length}",
                path=path,
            )


def _insdc_record(rec: SeqIO.SeqRecord, path: str) -> Record:
    length = len(rec.seq)
    try:
        data = bytes(rec.seq)
        source: MemorySource | _MissingSequence = MemorySource(data)
    except UndefinedSequenceError:
        data = b""
        source = _MissingSequence(rec.id, path)
    features = [f for f in (_insdc_feature(rec.id, sf, length) for sf in rec.features) if f]
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


def _insdc_feature(record_id: str, feature: SeqFeature, length: int) -> Feature | None:
    """A Biopython feature as a Feature; compound locations keep their outer bounds.

    A feature wrapping the origin of a circular record (``join(4000..4500,1..100)``) thus
    spans ``[0, 4500)``; the exact location string is kept in ``attributes["location"]``.
    """
    location = feature.location
    if location is None:
        return None
    try:
        start, end = int(location.start), int(location.end)
    except (TypeError, ValueError):  # UnknownPosition: no coordinates to show
        return None
    attributes = {key: ",".join(map(str, values)) for key, values in feature.qualifiers.items()}
    attributes["location"] = _insdc_location_string(location, length)
    name = next((attributes[key] for key in _INSDC_NAME_KEYS if key in attributes), "")
    strand = location.strand if location.strand in (1, -1) else 0
    return Feature(record_id, start, end, strand, feature.type, name, attributes)


# -- dispatch -----------------------------------------------------------------------------------

_SNIFF_BYTES = 1 << 16


def sniff_annotation_format(path: str | Path) -> str | None:
    """``"gff3"``, ``"genbank"``, ``"embl"``, ``"bed"`` or None, from the (decompressed) content.

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
        return "gff3"
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
        return "gff3"
    return None


def _is_int(text: str) -> bool:
    return text.strip().lstrip("-").isdigit()


def read_annotations(path: str | Path) -> list[Feature]:
    """The features of an annotation file of any supported format, sniffed from its content."""
    kind = sniff_annotation_format(path)
    if kind == "gff3":
        return read_gff3(path).features
    if kind == "bed":
        return read_bed(path)
    if kind in ("genbank", "embl"):
        reader = read_genbank if kind == "genbank" else read_embl
        return [feature for record in reader(path) for feature in record.features]
    if Path(path).stat().st_size == 0:
        raise InputError("empty file", path=path)
    raise FormatError(
        "not an annotation file: expected GFF3 (##gff-version), GenBank (LOCUS), EMBL (ID) "
        "or BED (chrom, integer start, integer end)",
        path=path,
    )
