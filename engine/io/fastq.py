"""FASTQ reads: streamed with dnaio, or held compactly for up to 10^6 reads.

A FASTQ record is four lines: ``@id description``, the sequence, ``+`` (optionally the id
again) and the Phred+33 quality string, as long as the sequence. dnaio parses (plain, gzip,
bgzip, xz, bzip2 through xopen); this module turns its errors into :class:`FormatError` with
the file and the 1-based line, and keeps many reads without one Python object per read:

    sequences  uint8 (total bases,)   every read's bases, concatenated
    qualities  uint8 (total bases,)   every read's qualities, concatenated
    offsets    int64 (n + 1,)         read i is ``[offsets[i], offsets[i + 1])`` in both
    headers    list[str] (n,)         ``"id description"``, split only when a read is asked for

Per-read statistics (length, G+C, N, A+C+G+T/U) are array operations over these.
"""

from __future__ import annotations

import importlib
import lzma
import math
import zlib
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import dnaio
import numpy as np

from engine.errors import FormatError, InputError

from .alphabet import NUCLEIC, AlphabetGuess, detect_alphabet
from .compression import sniff_compression
from .records import Record, SequenceFile

DEFAULT_MAX_READS = 1_000_000
# Reads per block in the per-read counts: bounds the temporary arrays to a few MB.
_BLOCK_READS = 1 << 16


def _decompression_errors() -> tuple[type[BaseException], ...]:
    """What a damaged compressed stream raises inside xopen (stdlib, isal or zlib-ng)."""
    errors: list[type[BaseException]] = [EOFError, OSError, zlib.error, lzma.LZMAError]
    for module in ("isal.isal_zlib", "zlib_ng.zlib_ng"):
        try:
            errors.append(importlib.import_module(module).error)
        except (ImportError, AttributeError):
            pass
    return tuple(errors)


_DECOMPRESSION_ERRORS = _decompression_errors()


@dataclass(frozen=True, slots=True)
class FastqRead:
    """One FASTQ record; ``quality`` is Phred+33, as long as ``sequence``."""

    id: str
    description: str
    sequence: bytes
    quality: bytes


# -- streaming ----------------------------------------------------------------------------------


def _check_file(path: Path) -> None:
    if not path.exists():
        raise InputError("no such file", path=path)
    if path.is_dir():
        raise InputError("is a directory, not a file", path=path)
    if path.stat().st_size == 0:
        raise InputError("empty file (no reads)", path=path)


def _iter_dnaio(path: str | Path) -> Iterator[dnaio.SequenceRecord]:
    """dnaio's records, with every failure turned into a one-line user-facing error."""
    path = Path(path)
    _check_file(path)
    count = 0
    try:
        with dnaio.open(path, fileformat="fastq") as reader:
            for record in reader:
                count += 1
                yield record
    except dnaio.FileFormatError as error:
        raise _format_error(error, path) from None
    except PermissionError:
        raise InputError("permission denied", path=path) from None
    except _DECOMPRESSION_ERRORS as error:
        raise _compression_error(error, path) from None
    if count == 0:
        raise InputError("no reads (the file is empty after decompression)", path=path)


def _format_error(error: dnaio.FileFormatError, path: Path) -> FormatError:
    message = error.message
    if "Length of sequence and qualities differ" in message:
        message = "the quality line is not as long as the sequence line"
    elif "Non-ASCII" in message:
        message = "non-ASCII bytes in a read (not a FASTQ file?)"
    message = " ".join(message.split())  # dnaio's messages can span lines: one line here
    line = error.line + 1 if error.line is not None else None  # dnaio counts lines from 0
    return FormatError(message, path=path, line=line)


def _compression_error(error: BaseException, path: Path) -> FormatError:
    # No read count in the message: decompression runs ahead of parsing in large blocks.
    compression = sniff_compression(path) or "plain"
    if isinstance(error, EOFError):
        return FormatError(
            f"truncated {compression} file: the compressed data ends early", path=path
        )
    return FormatError(f"corrupt {compression} data ({error})", path=path)


def iter_fastq(path: str | Path) -> Iterator[FastqRead]:
    """Stream the reads of a FASTQ file (plain or compressed), one :class:`FastqRead` each."""
    for record in _iter_dnaio(path):
        yield FastqRead(
            record.id,
            record.comment or "",
            record.sequence.encode("ascii"),
            record.qualities.encode("ascii"),
        )


# -- compact storage ----------------------------------------------------------------------------


class _SliceSource:
    """One read's bases: a window on the shared sequence array (copied only when read)."""

    __slots__ = ("_data", "_start")

    def __init__(self, data: np.ndarray, start: int) -> None:
        self._data = data
        self._start = start

    def read(self, start: int, end: int) -> bytes:
        return self._data[self._start + start : self._start + end].tobytes()


def _table(symbols: bytes) -> np.ndarray:
    """A (256,) uint8 lookup: 1 for ``symbols`` in either case, else 0."""
    table = np.zeros(256, dtype=np.uint8)
    codes = np.frombuffer(symbols.upper() + symbols.lower(), dtype=np.uint8)
    table[codes] = 1
    return table


_GC = _table(b"GC")
_N = _table(b"N")
_ACGTU = _table(b"ACGTU")


class FastqReads(Sequence[Record]):
    """Reads stored as concatenated arrays; ``reads[i]`` builds a :class:`Record` on demand."""

    def __init__(
        self,
        sequences: np.ndarray,
        qualities: np.ndarray,
        offsets: np.ndarray,
        headers: list[str],
        *,
        alphabet: str | None = None,
    ) -> None:
        if len(offsets) != len(headers) + 1 or len(sequences) != len(qualities):
            raise ValueError("need len(offsets) == len(headers) + 1 and one quality per base")
        self.sequences = sequences  # uint8 (total,)
        self.qualities = qualities  # uint8 (total,)
        self.offsets = offsets  # int64 (n + 1,)
        self.headers = headers
        self.alphabet = alphabet  # set for every read; None lets each Record detect its own

    def __len__(self) -> int:
        return len(self.headers)

    def __getitem__(self, index):  # int or slice
        if isinstance(index, slice):
            return [self._record(i) for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"read {index} out of range ({len(self)} reads)")
        return self._record(index)

    def _record(self, i: int) -> Record:
        start, end = int(self.offsets[i]), int(self.offsets[i + 1])
        read_id, description = split_header(self.headers[i])
        return Record(
            read_id,
            end - start,
            _SliceSource(self.sequences, start),
            description=description,
            alphabet=self.alphabet,
            quality=self.qualities[start:end].tobytes(),
        )

    @property
    def ids(self) -> list[str]:
        return [split_header(header)[0] for header in self.headers]

    # per-read statistics, vectorised ---------------------------------------------------------
    def lengths(self) -> np.ndarray:
        """Read lengths, int64 (n,)."""
        return np.diff(self.offsets)

    def gc_counts(self) -> np.ndarray:
        """G + C per read (either case), int64 (n,)."""
        return per_read_sums(_GC, self.sequences, self.offsets)

    def n_counts(self) -> np.ndarray:
        """N per read (either case), int64 (n,)."""
        return per_read_sums(_N, self.sequences, self.offsets)

    def acgt_counts(self) -> np.ndarray:
        """A + C + G + T + U per read (either case): the GC% denominator, int64 (n,)."""
        return per_read_sums(_ACGTU, self.sequences, self.offsets)

    def byte_counts(self) -> np.ndarray:
        """Histogram of every base of every read, int64 (256,)."""
        return np.bincount(self.sequences, minlength=256).astype(np.int64)


def split_header(header: str) -> tuple[str, str]:
    """``"id description"`` -> ``("id", "description")``: the id ends at the first whitespace."""
    parts = header.split(maxsplit=1)
    if not parts:
        return "", ""
    return parts[0], parts[1] if len(parts) > 1 else ""


def per_read_sums(table: np.ndarray, data: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """``out[i] = sum(table[data[offsets[i]:offsets[i + 1]]])`` for every read, int64 (n,).

    ``np.add.reduceat`` over the non-empty reads (its index rule gives a wrong answer for
    empty segments, which stay 0), in blocks of reads so temporaries stay small.
    """
    n = len(offsets) - 1
    out = np.zeros(n, dtype=np.int64)
    nonempty = np.flatnonzero(offsets[1:] > offsets[:-1])
    for lo in range(0, len(nonempty), _BLOCK_READS):
        reads = nonempty[lo : lo + _BLOCK_READS]
        starts = offsets[reads]
        first, last = int(starts[0]), int(offsets[reads[-1] + 1])
        values = table[data[first:last]]  # (bases in block,)
        out[reads] = np.add.reduceat(values, starts - first, dtype=np.int64)
    return out


def load_fastq(path: str | Path, *, max_reads: int | None = DEFAULT_MAX_READS) -> FastqReads:
    """Read a whole FASTQ file into a :class:`FastqReads` (at most ``max_reads`` reads)."""
    sequences, qualities = bytearray(), bytearray()
    ends = array("q", [0])
    headers: list[str] = []
    for record in _iter_dnaio(path):
        if max_reads is not None and len(headers) >= max_reads:
            raise InputError(
                f"more than {max_reads:,} reads: too many to hold in memory "
                "(stream them with iter_fastq, or raise max_reads)",
                path=path,
            )
        headers.append(record.name)
        sequences += record.sequence.encode("ascii")
        qualities += record.qualities.encode("ascii")
        ends.append(len(sequences))
    _check_read_bytes(sequences, ends, headers, path)
    return FastqReads(_frozen(sequences), _frozen(qualities), _frozen(ends), headers)


def _check_read_bytes(sequences: bytearray, ends, headers: list[str], path) -> None:
    """Refuse a read holding a byte that is not sequence (a NUL, a space), with one table
    lookup over all the bases; the read's 4-line record gives its line number."""
    from .fasta import SEQUENCE_BYTES

    bad = ~SEQUENCE_BYTES[np.frombuffer(sequences, dtype=np.uint8)]
    if not bad.any():
        return
    at = int(bad.argmax())  # the first, with no index array of every bad byte
    read = int(np.searchsorted(np.frombuffer(ends, dtype=np.int64), at, side="right")) - 1
    byte = sequences[at]
    shown = repr(chr(byte)) if 32 <= byte < 127 else f"0x{byte:02x}"
    raise FormatError(f"read {headers[read]!r}: byte {shown} is not a sequence letter",
                      path=path, line=4 * read + 2)


def _frozen(buffer: bytearray | array) -> np.ndarray:
    """A read-only array on ``buffer``'s memory: no second copy of the bases."""
    out = np.frombuffer(buffer, dtype=np.int64 if isinstance(buffer, array) else np.uint8)
    out.flags.writeable = False
    return out


class FastqFile(SequenceFile):
    """A FASTQ file's reads as a :class:`SequenceFile`, with ``info`` rows computed per array."""

    def __init__(self, path: str, reads: FastqReads, *, compression: str | None = None) -> None:
        super().__init__(path, "fastq", reads, compression=compression)
        self.reads = reads
        self._guess: AlphabetGuess | None = None

    # Ids come from the headers, so lookups by id never build a Record per read.
    @property
    def ids(self) -> list[str]:
        return self.reads.ids

    def _ids(self) -> dict[str, int]:
        if self._by_id is None:
            self._by_id = {read_id: i for i, read_id in enumerate(self.reads.ids)}
        return self._by_id

    @property
    def alphabet_guess(self) -> AlphabetGuess:
        """One alphabet for all reads: set via ``reads.alphabet``, else detected from all bases."""
        if self.reads.alphabet is not None:
            return AlphabetGuess(self.reads.alphabet, 1.0)
        if self._guess is None:
            self._guess = detect_alphabet(counts=self.reads.byte_counts())
        return self._guess

    def summaries(self) -> list[dict]:
        """One ``bytescope info`` row per read (the keys of ``summary.summarise_counts``).

        GC% is ``100 * (G + C) / (A + C + G + T/U)`` per read, None for reads without any.
        """
        reads = self.reads
        guess = self.alphabet_guess
        nucleic = guess.name in NUCLEIC
        lengths = reads.lengths().tolist()
        if nucleic:
            gc, acgt = reads.gc_counts(), reads.acgt_counts()
            percent = np.divide(100.0 * gc, acgt, out=np.full(len(reads), np.nan), where=acgt > 0)
            gc_percent = [None if math.isnan(p) else round(p, 2) for p in percent.tolist()]
            n_count: list = reads.n_counts().tolist()
        else:
            gc_percent = n_count = [None] * len(reads)
        confidence = round(float(guess.confidence), 4)
        rows = []
        for header, length, gc_pc, n in zip(
            reads.headers, lengths, gc_percent, n_count, strict=True
        ):
            read_id, description = split_header(header)
            rows.append(
                {
                    "id": read_id,
                    "description": description,
                    "length": length,
                    "alphabet": guess.name,
                    "alphabet_confidence": confidence,
                    "gc_percent": gc_pc,
                    "n_count": n,
                    "feature_count": 0,
                }
            )
        return rows


def read_fastq(path: str | Path, *, max_reads: int | None = DEFAULT_MAX_READS) -> FastqFile:
    """Open a FASTQ file as a :class:`FastqFile` of lazily built read records."""
    reads = load_fastq(path, max_reads=max_reads)
    return FastqFile(str(path), reads, compression=sniff_compression(path))
