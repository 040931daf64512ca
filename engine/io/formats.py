"""Open any supported file as a :class:`SequenceFile`: sniff the container and format, dispatch.

Formats are recognised by content, not by name: ``>`` starts FASTA, ``@`` FASTQ,
``##gff-version`` GFF3, ``LOCUS`` GenBank, ``ID`` EMBL, the HDF5 signature a bytescope store.
A file *named* like a sequence format (``.fa``, ``.fastq``, ``.gff3``...) whose content is not
gets a :class:`FormatError`; any other file opens as one byte record (BLT's byte view).
"""

from __future__ import annotations

import gzip
import lzma
import os
import stat
import zlib
from pathlib import Path

from engine.errors import FormatError, InputError

from .compression import (
    decompressed_copy,
    decompression_error,
    open_decompressed,
    read_head,
    sniff_compression,
    too_large,
)
from .fasta import FastaSource, index_fasta, map_file
from .records import Feature, Record, SequenceFile

# Files opened as raw bytes larger than this need an explicit ``max_bytes``.
DEFAULT_MAX_BYTES = 1 << 30

FORMATS = ("fasta", "fastq", "gff3", "bed", "genbank", "embl", "hdf5", "bytes")
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_COMPRESSION_SUFFIXES = {".gz", ".bgz", ".xz", ".bz2"}
_SUFFIX_FORMAT = {
    **dict.fromkeys([".fa", ".fasta", ".fna", ".ffn", ".faa", ".frn", ".fas", ".mfa"], "fasta"),
    **dict.fromkeys([".fq", ".fastq"], "fastq"),
    **dict.fromkeys([".gff", ".gff3"], "gff3"),
    ".bed": "bed",
    **dict.fromkeys([".gb", ".gbk", ".genbank", ".gbff"], "genbank"),
    **dict.fromkeys([".embl", ".ebl"], "embl"),
    **dict.fromkeys([".h5", ".hdf5"], "hdf5"),
}


def claimed_format(path: str | Path) -> str | None:
    """The format a file's name claims (``x.fa.gz`` -> ``fasta``), or None."""
    suffixes = [s.lower() for s in Path(path).suffixes]
    while suffixes and suffixes[-1] in _COMPRESSION_SUFFIXES:
        suffixes.pop()
    return _SUFFIX_FORMAT.get(suffixes[-1]) if suffixes else None


def sniff_format(head: bytes) -> str | None:
    """The format the first bytes show, or None if they show none we know."""
    if head.startswith(_HDF5_MAGIC):
        return "hdf5"
    text = head.lstrip(b" \t\r\n")
    if text.startswith(b">"):
        return "fasta"
    if text.startswith(b"##gff-version"):
        return "gff3"
    if text.startswith(b"LOCUS "):
        return "genbank"
    if text.startswith(b"ID   "):
        return "embl"
    if text.startswith(b"@"):
        lines = text.split(b"\n", 3)
        if len(lines) >= 3 and lines[2].startswith(b"+"):
            return "fastq"
    if _looks_like_bed(text):
        return "bed"
    return None


def _looks_like_bed(text: bytes) -> bool:
    for line in text.split(b"\n")[:20]:
        if not line.strip() or line.startswith((b"#", b"track", b"browser")):
            continue
        fields = line.rstrip(b"\r").split(b"\t")
        return len(fields) >= 3 and fields[1].isdigit() and fields[2].isdigit()
    return False


def _check_path(path: Path) -> None:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise InputError("no such file", path=path) from None
    except OSError as error:  # a symlink loop (ELOOP), a name too long, ...
        raise InputError(f"cannot open: {error.strerror.lower()}", path=path) from None
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise InputError("not a regular file (a FIFO, socket or device): give a file",
                         path=path)
    if path.is_dir():
        raise InputError("is a folder, not a file", path=path)
    if not os.access(path, os.R_OK):
        raise InputError("permission denied", path=path)
    if path.stat().st_size == 0:
        raise InputError("file is empty", path=path)


def open_sequences(
    path: str | Path,
    *,
    format: str | None = None,
    alphabet: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> SequenceFile:
    """Open a sequence, annotation or byte file; records read their bytes lazily.

    ``format`` overrides sniffing (one of :data:`FORMATS`); ``alphabet`` overrides detection
    for every record. Compressed input (gzip, bgzip, xz, bzip2) is handled transparently.
    """
    path = Path(path)
    _check_path(path)
    compression = sniff_compression(path)
    head = read_head(path, compression)
    if not head:
        raise InputError(f"file is empty after {compression} decompression", path=path)
    if format is not None and format not in FORMATS:
        raise InputError(f"unknown format {format!r} (choose from {', '.join(FORMATS)})")
    fmt = format or sniff_format(head)
    claimed = claimed_format(path)
    if fmt is None:
        if claimed == "hdf5":
            raise FormatError(_not_the_claimed_format(head, claimed), path=path, offset=0)
        # A file named like a format goes to that format's reader, which says what is wrong
        # and where; anything else is BLT's byte view of a file.
        fmt = claimed or "bytes"

    if fmt == "fasta":
        sf = _open_fasta(path, compression, max_bytes)
    elif fmt == "gff3":
        sf = _open_gff3(path, compression, max_bytes)
    elif fmt == "fastq":
        from .fastq import read_fastq

        sf = read_fastq(path)
    elif fmt in ("genbank", "embl"):
        from .annotations import read_genbank_or_embl

        sf = SequenceFile(
            str(path), fmt, read_genbank_or_embl(path, fmt), compression=compression
        )
    elif fmt == "bed":
        from .annotations import read_bed

        sf = SequenceFile(str(path), "bed", [], features=read_bed(path), compression=compression)
    elif fmt == "hdf5":
        from .store import open_store

        sf = open_store(path)
    else:
        sf = _open_bytes(path, compression, max_bytes)

    if alphabet is not None:
        reads = getattr(sf, "reads", None)
        if reads is not None:  # FASTQ: one alphabet for all reads, no Record per read
            reads.alphabet = alphabet
        else:
            for record in sf:
                record.alphabet = alphabet
    return sf


def _not_the_claimed_format(head: bytes, claimed: str) -> str:
    first = head.lstrip(b" \t\r\n")[:1]
    shown = repr(first.decode("latin-1")) if first and 32 <= first[0] < 127 else (
        f"byte 0x{first[0]:02x}" if first else "nothing"
    )
    expected = {
        "fasta": "a '>' header line",
        "fastq": "an '@' read header followed by sequence, '+' and quality lines",
        "gff3": "a '##gff-version 3' line",
        "genbank": "a 'LOCUS' line",
        "embl": "an 'ID' line",
        "hdf5": "the HDF5 signature",
    }[claimed]
    return f"named like {claimed.upper()} but does not start with {expected} (found {shown})"


def _fasta_records(indexed, path: Path) -> tuple[list[Record], list]:
    mm = map_file(indexed.data_path)
    records = [
        Record(e.name, e.length, FastaSource(mm, e), description=d)
        for e, d in zip(indexed.entries, indexed.descriptions, strict=True)
    ]
    return records, [mm]


def _inflated(path: Path, compression: str | None, max_bytes: int) -> Path:
    """The decompressed copy of a compressed sequence file, capped at ``max_bytes``."""
    return decompressed_copy(path, compression, limit=max_bytes, raw=False)


def _open_fasta(path: Path, compression: str | None, max_bytes: int) -> SequenceFile:
    data_path = _inflated(path, compression, max_bytes) if compression else path
    indexed = index_fasta(path, data_path=data_path)
    records, closers = _fasta_records(indexed, path)
    return SequenceFile(
        str(path),
        "fasta",
        records,
        compression=compression,
        index_path=str(indexed.index_path),
        closers=closers,
    )


def _open_gff3(path: Path, compression: str | None, max_bytes: int) -> SequenceFile:
    from .annotations import read_gff3

    # Features are parsed from the stream, which stops at ##FASTA (a bomb of one long line
    # stops at its line cap, leaving nothing in the cache); only a file with sequences is
    # then decompressed into the cache, where they are indexed. Binary, so the ##FASTA
    # offset counts bytes exactly (CRLF, non-UTF-8 bytes), the same in the stream and copy.
    data_path = path
    try:
        with open_decompressed(path, compression) as raw:
            parsed = read_gff3(raw, path=path)
    except (EOFError, gzip.BadGzipFile, lzma.LZMAError, zlib.error) as error:
        raise decompression_error(path, compression, error, 0) from None
    if compression and parsed.fasta_offset is not None:
        data_path = _inflated(path, compression, max_bytes)
    records: list[Record] = []
    closers: list = []
    index_path = None
    if parsed.fasta_offset is not None:
        # The sequences after ``##FASTA`` are indexed in place.
        if parsed.fasta_offset < os.path.getsize(data_path):
            indexed = index_fasta(
                path,
                data_path=data_path,
                start=parsed.fasta_offset,
                first_line=parsed.fasta_line,
            )
            records, closers = _fasta_records(indexed, path)
            index_path = str(indexed.index_path)
    unattached = attach_features(records, parsed.features)
    _check_features_fit(records, path)
    return SequenceFile(
        str(path),
        "gff3",
        records,
        features=unattached,
        compression=compression,
        index_path=index_path,
        closers=closers,
    )


def attach_features(records: list[Record], features: list[Feature]) -> list[Feature]:
    """Give each record its features; return those whose record is not among ``records``."""
    by_id = {r.id: r for r in records}
    unattached = []
    for feature in features:
        record = by_id.get(feature.record_id)
        (record.features if record is not None else unattached).append(feature)
    return unattached


def _check_features_fit(records: list[Record], path: Path) -> None:
    """A feature past the end of its record's sequence (the ##FASTA section cut short, or
    the wrong sequence attached) is refused, naming both, rather than drawn off the end."""
    for record in records:
        for feature in record.features:
            if feature.end > record.length:
                name = f" {feature.name!r}" if feature.name else ""
                raise FormatError(
                    f"{feature.type} feature{name} ends at {feature.end:,}, past the end of "
                    f"record {record.id!r} ({record.length:,} bases in ##FASTA)", path=path)


class _MappedBytes:
    __slots__ = ("mm",)

    def __init__(self, mm) -> None:
        self.mm = mm

    def read(self, start: int, end: int) -> bytes:
        return self.mm[start:end]


def _open_bytes(path: Path, compression: str | None, max_bytes: int) -> SequenceFile:
    data_path = decompressed_copy(path, compression, limit=max_bytes) if compression else path
    size = os.path.getsize(data_path)
    if size > max_bytes:
        raise too_large(path, size, max_bytes)
    mm = map_file(data_path)
    record = Record(path.name, size, _MappedBytes(mm), description=f"{size:,} bytes")
    return SequenceFile(str(path), "bytes", [record], compression=compression, closers=[mm])


def open_annotations(path: str | Path) -> list[Feature]:
    """Every feature in a GFF3, GTF, BED, GenBank or EMBL file (sequences, if any, are
    ignored)."""
    from .annotations import read_gtf, sniff_annotation_format

    if sniff_annotation_format(path) == "gtf":
        return read_gtf(path)
    with open_sequences(path) as sf:
        if sf.format not in ("gff3", "bed", "genbank", "embl", "hdf5"):
            raise FormatError(
                f"not an annotation file (read as {sf.format}); expected GFF3, BED, GenBank "
                "or EMBL",
                path=path,
            )
        return sf.all_features()
