"""Per-record summaries (length, alphabet, GC%, N count, features) as plain dicts.

GC% is ``100 * (G + C) / (A + C + G + T/U)``, case-insensitive, ignoring N and other IUPAC
codes; it is reported for nucleic-acid records only.

A file's rows are a :class:`SummaryTable`: one array per column, each row built as a dict
only when asked for, so a FASTA of 10^6 tiny records costs a few arrays, not 10^6 dicts.
Short records are summarised in batches: one byte histogram per record of *byte classes*
(the byte values no alphabet rule tells apart), taken for thousands of records with one
``np.bincount``, and the alphabet rules of :func:`engine.io.alphabet.detect_alphabet` applied to
all of them at once (:func:`detect_alphabets`, tested to agree with it record by record).
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.atomic import atomic_path
from engine.jit import lazy_njit

from .alphabet import _FIT, _LINE_BREAKS, _PRINTABLE, _SETS, _UTF8_HIGH, NUCLEIC, gc_and_n
from .cache import cache_dir, identity_key
from .records import ALPHABET_SAMPLE, Record, SequenceFile

_CHUNK = 1 << 24
# Records up to this long are summarised in batches; longer ones one by one (their per-record
# cost is small beside their bincount). At most ALPHABET_SAMPLE: a batched record's histogram
# is also its alphabet sample.
BATCH_LENGTH = min(4096, ALPHABET_SAMPLE)
BATCH_BYTES = 1 << 21  # bytes per batch: the (bytes,) int64 key array stays at 16 MB
BATCH_RECORDS = 1 << 14  # records per batch: the (records, classes) counts stay at 2 MB
ALPHABET_CODES = ("dna", "rna", "protein", "text", "bytes")


def record_counts(record: Record) -> np.ndarray:
    """Byte histogram (256,) of a whole record: counted in place where its source can
    (an indexed FASTA's map), else read in chunks of 16 MB."""
    in_place = getattr(record._source, "histogram", None)
    if in_place is not None:
        return in_place()
    counts = np.zeros((4, 256), dtype=np.int64)
    for start in range(0, record.length, _CHUNK):
        byte_histogram(record.array(start, min(start + _CHUNK, record.length)), counts)
    return counts.sum(axis=0)


@lazy_njit(cache=True, nogil=True)
def byte_histogram(data, counts):
    """``counts[k % 4, data[k]] += 1``: four interleaved tables, so consecutive equal bytes do
    not wait on one counter (np.bincount widens every byte to 8 bytes first: 4x slower)."""
    n = len(data)
    quads = n - n % 4
    for k in range(0, quads, 4):
        counts[0, data[k]] += 1
        counts[1, data[k + 1]] += 1
        counts[2, data[k + 2]] += 1
        counts[3, data[k + 3]] += 1
    for k in range(quads, n):
        counts[0, data[k]] += 1


def summarise_counts(
    record_id: str,
    description: str,
    length: int,
    alphabet: str,
    confidence: float,
    counts: np.ndarray | None,
    features: int,
) -> dict:
    out = {
        "id": record_id,
        "description": description,
        "length": int(length),
        "alphabet": alphabet,
        "alphabet_confidence": round(float(confidence), 4),
        "gc_percent": None,
        "n_count": None,
        "feature_count": int(features),
    }
    if alphabet in NUCLEIC and counts is not None:
        gc, n, acgt = gc_and_n(counts)
        out["gc_percent"] = round(100.0 * gc / acgt, 2) if acgt else None
        out["n_count"] = n
    return out


def summarise_record(record: Record) -> dict:
    guess = record.alphabet_guess
    counts = record_counts(record) if guess.name in NUCLEIC else None
    return summarise_counts(
        record.id,
        record.description,
        record.length,
        guess.name,
        guess.confidence,
        counts,
        len(record.features),
    )


# --------------------------------------------------------------------------------------------
# the table


@dataclass(frozen=True, eq=False)
class SummaryTable(Sequence[dict]):
    """Rows of :func:`summarise_counts` as columns; ``table[i]`` builds row ``i``'s dict.

    NaN in ``gc_percent`` and -1 in ``n_count`` stand for None (not nucleic, or no A/C/G/T).
    Values are rounded as :func:`summarise_counts` rounds them when a row is built.
    """

    ids: Sequence[str]
    descriptions: Sequence[str]
    lengths: np.ndarray  # (n,) int64
    alphabets: np.ndarray  # (n,) uint8, indexes ALPHABET_CODES
    confidence: np.ndarray  # (n,) float64
    gc_percent: np.ndarray  # (n,) float64, unrounded
    n_count: np.ndarray  # (n,) int64
    feature_count: np.ndarray  # (n,) int64

    def __len__(self) -> int:
        return len(self.lengths)

    def __getitem__(self, key):  # int or slice
        if isinstance(key, slice):
            return self._rows(*key.indices(len(self)))
        i = range(len(self))[key]  # negative indexes, IndexError
        return self._rows(i, i + 1, 1)[0]

    def __iter__(self) -> Iterator[dict]:
        for start in range(0, len(self), 65_536):
            yield from self._rows(start, min(start + 65_536, len(self)), 1)

    def _rows(self, start: int, stop: int, step: int) -> list[dict]:
        part = slice(start, stop, step)
        columns = zip(
            self.ids[part], self.descriptions[part], self.lengths[part].tolist(),
            self.alphabets[part].tolist(), self.confidence[part].tolist(),
            self.gc_percent[part].tolist(), self.n_count[part].tolist(),
            self.feature_count[part].tolist(), strict=True,
        )
        return [
            {
                "id": record_id,
                "description": description,
                "length": length,
                "alphabet": ALPHABET_CODES[code],
                "alphabet_confidence": round(confidence, 4),
                "gc_percent": None if gc != gc else round(gc, 2),  # NaN: None
                "n_count": None if n < 0 else n,
                "feature_count": features,
            }
            for record_id, description, length, code, confidence, gc, n, features in columns
        ]

    def total_length(self) -> int:
        return int(self.lengths.sum())


def summary_ids(rows: Sequence[dict]) -> Sequence[str]:
    """The ``id`` column of any rows (a table's own list; built for a list of dicts)."""
    return rows.ids if isinstance(rows, SummaryTable) else [row["id"] for row in rows]


def summary_lengths(rows: Sequence[dict]) -> np.ndarray:
    """The ``length`` column of any rows (a table's own array; built for a list of dicts)."""
    if isinstance(rows, SummaryTable):
        return rows.lengths
    return np.fromiter((row["length"] for row in rows), dtype=np.int64, count=len(rows))


# --------------------------------------------------------------------------------------------
# batched summaries

# The byte sets the rules look at, as columns of a (256, M) membership table.
_FOLDED = {name: np.isin(np.arange(256), [ord(c) for c in name + name.lower()])
           for name in ("T", "U", "GC", "N", "ACGTU")}
_RULE_SETS = {
    "counted": ~_LINE_BREAKS,
    **{f"{name}_{kind}": mask for name, (allowed, core) in _SETS.items()
       for kind, mask in (("allowed", allowed), ("core", core))},
    "text_allowed": _PRINTABLE | _UTF8_HIGH,
    "printable": _PRINTABLE,
    **_FOLDED,
}
_SET_NAMES = tuple(_RULE_SETS)
# Byte values with the same membership in every set form one class: (C, M) membership,
# and the class of each byte value (256,).
# Line breaks count in no set: detect_alphabet zeroes them before it counts.
_CLASS_SETS, _BYTE_CLASS = np.unique(
    np.stack([mask & ~_LINE_BREAKS for mask in _RULE_SETS.values()], axis=1), axis=0,
    return_inverse=True)
_BYTE_CLASS = _BYTE_CLASS.reshape(256).astype(np.int64)
_CLASS_SETS = _CLASS_SETS.astype(np.int64)
_N_CLASSES = len(_CLASS_SETS)


def set_counts(class_counts: np.ndarray) -> dict[str, np.ndarray]:
    """Per row, how many bytes fall in each rule set: (k, C) class counts -> name: (k,)."""
    per_set = class_counts @ _CLASS_SETS  # (k, C) @ (C, M) -> (k, M)
    return {name: per_set[:, j] for j, name in enumerate(_SET_NAMES)}


def detect_alphabets(sets: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """:func:`engine.io.alphabet.detect_alphabet` for many samples at once, from their
    :func:`set_counts`: (k,) codes into :data:`ALPHABET_CODES` and (k,) confidences.

    The same arithmetic in the same order (integer counts, then ``count / n``; the share of
    core symbols times ``n / (n + 20)``), so each value equals the scalar rule's.
    """
    n = sets["counted"]
    k = len(n)
    safe = np.maximum(n, 1)

    def share(name: str) -> np.ndarray:
        return sets[name] / safe

    shrink = n / (n + 20)
    codes = np.full(k, ALPHABET_CODES.index("bytes"), dtype=np.uint8)
    confidence = 1.0 - share("printable") * 0.5
    decided = n == 0
    confidence[decided] = 0.0

    def take(where: np.ndarray, name: str, value: np.ndarray) -> None:
        where = where & ~decided
        codes[where] = ALPHABET_CODES.index(name)
        confidence[where] = value[where]
        decided[where] = True

    fits = {name: (share(f"{name}_allowed") >= _FIT) & (share(f"{name}_core") >= 0.9)
            for name in NUCLEIC}
    dna_first = sets["T"] >= sets["U"]
    for first, second in (("dna", "rna"), ("rna", "dna")):
        order = dna_first if first == "dna" else ~dna_first
        take(order & fits[first], first, share(f"{first}_core") * shrink)
        take(order & fits[second], second, share(f"{second}_core") * shrink)
    take(share("protein_allowed") >= _FIT, "protein", share("protein_core") * shrink)
    take(share("text_allowed") >= _FIT, "text", share("printable") * shrink)
    return codes, confidence


def class_counts_of(records: Sequence[Record]) -> np.ndarray:
    """(k, C) byte-class histogram of each record (all bytes), with one ``np.bincount``."""
    lengths = np.fromiter((r.length for r in records), dtype=np.int64, count=len(records))
    data = np.frombuffer(b"".join(r.fetch() for r in records), dtype=np.uint8)
    counts = np.zeros((len(records), _N_CLASSES), dtype=np.int64)
    _class_histograms(data, lengths, _BYTE_CLASS, counts)
    return counts


@lazy_njit(cache=True, nogil=True)
def _class_histograms(data, lengths, byte_class, counts):
    """``counts[r, byte_class[b]] += 1`` for each byte b of record r, the records' bytes
    back to back in ``data`` (one pass; a bincount of ``r * C + class`` keys needed three
    arrays of 8 bytes per byte)."""
    k = 0
    for r in range(len(lengths)):
        for _ in range(lengths[r]):
            counts[r, byte_class[data[k]]] += 1
            k += 1


def summarise_records(
    records: Sequence[Record],
    *,
    progress: Callable[[int, int], None] | None = None,
    check: Callable[[], None] | None = None,
) -> SummaryTable:
    """Summaries of ``records`` as a table: records up to :data:`BATCH_LENGTH` whose alphabet
    is still to detect in batches, the others one by one (as :func:`summarise_record`).

    ``check`` is called between batches and long records (it may raise to cancel);
    ``progress(done, total)`` after each batch.
    """
    n = len(records)
    lengths = np.fromiter((r.length for r in records), dtype=np.int64, count=n)
    codes = np.zeros(n, dtype=np.uint8)
    confidence = np.zeros(n)
    gc_percent = np.full(n, np.nan)
    n_count = np.full(n, -1, dtype=np.int64)
    # A record whose alphabet is known (set by the user or by its file) keeps it: no batch.
    batched = (lengths <= BATCH_LENGTH) & np.fromiter(
        (r._guess is None for r in records), dtype=bool, count=n)
    done = 0
    for i in np.flatnonzero(~batched).tolist():
        if check is not None:
            check()
        record = records[i]
        guess = record.alphabet_guess
        codes[i], confidence[i] = ALPHABET_CODES.index(guess.name), guess.confidence
        if guess.name in NUCLEIC:
            gc, n_count[i], acgt = gc_and_n(record_counts(record))
            gc_percent[i] = 100.0 * gc / acgt if acgt else np.nan
        done += 1
        if progress is not None and done % 1000 == 0:
            progress(done, n)

    small = np.flatnonzero(batched)
    before = np.concatenate(([0], np.cumsum(lengths[small])))  # bytes before each small record
    nucleic_codes = [ALPHABET_CODES.index(a) for a in NUCLEIC]
    start = 0
    while start < len(small):
        if check is not None:
            check()
        # about BATCH_BYTES, at least one record, at most BATCH_RECORDS
        stop = int(np.searchsorted(before, before[start] + BATCH_BYTES, side="right")) - 1
        stop = min(max(stop, start + 1), start + BATCH_RECORDS)
        index = small[start:stop]
        sets = set_counts(class_counts_of([records[i] for i in index.tolist()]))
        batch_codes, confidence[index] = detect_alphabets(sets)
        codes[index] = batch_codes
        nucleic = np.isin(batch_codes, nucleic_codes)
        acgt = sets["ACGTU"]
        percent = 100.0 * sets["GC"] / np.maximum(acgt, 1)
        gc_percent[index] = np.where(nucleic & (acgt > 0), percent, np.nan)
        n_count[index] = np.where(nucleic, sets["N"], -1)
        done += len(index)
        start = stop
        if progress is not None:
            progress(done, n)
    return SummaryTable(
        ids=[r.id for r in records],
        descriptions=[r.description for r in records],
        lengths=lengths,
        alphabets=codes,
        confidence=confidence,
        gc_percent=gc_percent,
        n_count=n_count,
        feature_count=np.fromiter((len(r.features) for r in records), dtype=np.int64, count=n),
    )


SUMMARY_VERSION = 1  # bump when a column's meaning changes: old cached summaries go unused


def _summary_path(sf: SequenceFile) -> Path | None:
    """Where the file's computed columns are cached: under its identity (path, inode, size,
    mtime, ctime: an unchanged file is not reread, and nothing is hashed), its format and any
    alphabets set by the user or the file; None for what has no single file."""
    try:
        digest = identity_key(sf.path)
    except (OSError, TypeError):
        return None
    explicit = [(i, r._guess.name) for i, r in enumerate(sf) if r._guess is not None]
    text = repr((SUMMARY_VERSION, digest, sf.format, sf.compression, explicit))
    key = hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
    return cache_dir("summaries") / f"{key}.npz"


def cached_summaries(sf: SequenceFile) -> SummaryTable:
    """:func:`summarise_records` of the file's records, its computed columns (alphabet,
    confidence, GC%, N) cached in the cache folder: a reopen reads no sequence bytes."""
    records = list(sf)
    path = _summary_path(sf)
    lengths = np.fromiter((r.length for r in records), dtype=np.int64, count=len(records))
    if path is not None and path.is_file():
        try:
            with np.load(path) as cached:
                columns = {k: cached[k] for k in _COMPUTED}
                same = np.array_equal(cached["lengths"], lengths)
        except (OSError, ValueError, KeyError, EOFError):
            same = False
        if same:
            return SummaryTable(
                ids=[r.id for r in records], descriptions=[r.description for r in records],
                lengths=lengths, feature_count=np.fromiter(
                    (len(r.features) for r in records), dtype=np.int64, count=len(records)),
                **columns)
    table = summarise_records(records)
    if path is not None:
        with contextlib.suppress(OSError):
            with atomic_path(path) as tmp, open(tmp, "wb") as handle:
                np.savez(handle, lengths=lengths,
                         **{k: getattr(table, k) for k in _COMPUTED})
    return table


_COMPUTED = ("alphabets", "confidence", "gc_percent", "n_count")


def summarise_file(sf: SequenceFile) -> dict:
    """``{"path", "format", "compression", "records": [...], "unattached_features"}``;
    ``records`` is a sequence of row dicts (a :class:`SummaryTable`, or FASTQ's list). A
    file summarised before (unchanged) is answered from the cache."""
    summaries = getattr(sf, "summaries", None)  # FASTQ computes its rows vectorised
    rows = summaries() if summaries is not None else cached_summaries(sf)
    return {
        "path": sf.path,
        "format": sf.format,
        "compression": sf.compression,
        "records": rows,
        "unattached_features": len(sf.features),
    }
