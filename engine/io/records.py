"""The one record model every reader returns.

A :class:`Record` is an id, a description, an alphabet, a length, its features, and lazy access
to its bytes by 0-based half-open range (``record.fetch(start, end)``); where the bytes come from
(an indexed file, memory, an HDF5 store) is a :class:`ByteSource`'s business. A
:class:`SequenceFile` is what opening a path gives: its records in file order, by id too.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from engine.errors import InputError

from .alphabet import ALPHABETS, AlphabetGuess, detect_alphabet

# Alphabet detection reads at most this many bytes from the start of a record.
ALPHABET_SAMPLE = 1 << 16


@dataclass(frozen=True, slots=True)
class Feature:
    """An annotation on a record, 0-based half-open: ``[start, end)``.

    ``strand`` is +1, -1 or 0 (unknown / not stranded), as BED's ``+``/``-``/``.``.
    ``parts``: the pieces of a feature in several pieces, 0-based half-open and sorted: a CDS
    over several exons, a transcript's exons (engine/io/hierarchy.py); empty for one piece.
    """

    record_id: str
    start: int
    end: int
    strand: int
    type: str
    name: str = ""
    attributes: Mapping[str, str] = field(default_factory=dict)
    parts: tuple[tuple[int, int], ...] = ()

    @property
    def length(self) -> int:
        return self.end - self.start


class ByteSource(Protocol):
    """Where a record's bytes live. ``read`` takes a clipped, valid 0-based half-open range."""

    def read(self, start: int, end: int) -> bytes: ...


class MemorySource:
    """Bytes held in memory (parsed GenBank/EMBL sequences, FASTQ reads, small inputs)."""

    __slots__ = ("data",)

    def __init__(self, data: bytes | bytearray | memoryview | np.ndarray) -> None:
        self.data = bytes(data) if not isinstance(data, bytes) else data

    def read(self, start: int, end: int) -> bytes:
        return self.data[start:end]


def check_range(record_id: str, length: int, start: int, end: int | None) -> tuple[int, int]:
    """Validate a 0-based half-open range against a record of ``length`` and return it."""
    if end is None:
        end = length
    if start < 0 or end < start or end > length:
        raise InputError(
            f"region {start}-{end} is outside record {record_id!r} (length {length}; "
            "regions are 0-based half-open START-END)"
        )
    return start, end


class Record:
    """One sequence: DNA contig, protein, read, or a whole file seen as bytes."""

    __slots__ = ("_guess", "_source", "description", "features", "id", "length", "quality")

    def __init__(
        self,
        id: str,
        length: int,
        source: ByteSource,
        *,
        description: str = "",
        alphabet: str | None = None,
        features: list[Feature] | None = None,
        quality: bytes | None = None,
    ) -> None:
        self.id = id
        self.length = int(length)
        self.description = description
        self._guess: AlphabetGuess | None = None
        if alphabet is not None:
            self.alphabet = alphabet
        self.features: list[Feature] = features if features is not None else []
        self.quality = quality  # FASTQ's Phred+33 string, same length as the sequence
        self._source = source

    @property
    def alphabet_guess(self) -> AlphabetGuess:
        """The detected (or user-set, confidence 1) alphabet; detected lazily on first use."""
        if self._guess is None:
            sample = self._source.read(0, min(self.length, ALPHABET_SAMPLE))
            self._guess = detect_alphabet(sample)
        return self._guess

    @property
    def alphabet(self) -> str:
        """``dna``, ``rna``, ``protein``, ``text`` or ``bytes``."""
        return self.alphabet_guess.name

    @alphabet.setter
    def alphabet(self, name: str) -> None:
        if name not in ALPHABETS:
            raise InputError(f"unknown alphabet {name!r} (choose from {', '.join(ALPHABETS)})")
        self._guess = AlphabetGuess(name, 1.0)

    def fetch(self, start: int = 0, end: int | None = None, *, upper: bool = False) -> bytes:
        """The bytes of ``[start, end)`` (0-based half-open); ``upper`` drops soft-masking."""
        start, end = check_range(self.id, self.length, start, end)
        data = self._source.read(start, end)
        return data.upper() if upper else data

    def array(self, start: int = 0, end: int | None = None, *, upper: bool = False) -> np.ndarray:
        """``fetch`` as a read-only ``uint8`` array (no copy beyond the fetch itself)."""
        return np.frombuffer(self.fetch(start, end, upper=upper), dtype=np.uint8)

    def __len__(self) -> int:
        return self.length

    def __repr__(self) -> str:
        return f"Record({self.id!r}, length={self.length}, alphabet={self.alphabet!r})"


class SequenceFile(Sequence[Record]):
    """The records of one opened file, in file order and by id.

    ``format`` names what was read (``fasta``, ``fastq``, ``gff3``, ``genbank``, ``embl``,
    ``bed``, ``hdf5``, ``bytes``); ``features`` holds annotations whose record is not in the file
    (a BED or GFF3 without sequences).
    """

    def __init__(
        self,
        path: str,
        format: str,
        records: Sequence[Record],
        *,
        features: list[Feature] | None = None,
        compression: str | None = None,
        index_path: str | None = None,
        closers: Sequence[object] = (),
    ) -> None:
        self.path = path
        self.format = format
        self.compression = compression
        self.index_path = index_path  # the .fai used for random access, if any
        self._records = records
        self._by_id: dict[str, int] | None = None
        self.features: list[Feature] = features if features is not None else []
        self._closers = list(closers)  # objects with .close() (mmaps, HDF5 files)

    # Sequence protocol -------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._records)

    def __getitem__(self, key):  # int, slice, or record id
        if isinstance(key, str):
            return self._records[self._index_of(key)]
        return self._records[key]

    def __iter__(self) -> Iterator[Record]:
        return iter(self._records)

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            return key in self._ids()
        return super().__contains__(key)

    # lookups ---------------------------------------------------------------------------------
    def _ids(self) -> dict[str, int]:
        if self._by_id is None:
            self._by_id = {record.id: i for i, record in enumerate(self._records)}
        return self._by_id

    def _index_of(self, record_id: str) -> int:
        try:
            return self._ids()[record_id]
        except KeyError:
            known = ", ".join(list(self._ids())[:5])
            more = ", ..." if len(self._records) > 5 else ""
            raise InputError(
                f"no record {record_id!r} (records: {known}{more})", path=self.path
            ) from None

    @property
    def ids(self) -> list[str]:
        return [record.id for record in self._records]

    def fetch(
        self, record_id: str, start: int = 0, end: int | None = None, *, upper: bool = False
    ) -> bytes:
        """Bytes ``[start, end)`` of one record, read from disk without loading the file."""
        return self[record_id].fetch(start, end, upper=upper)

    def all_features(self) -> list[Feature]:
        """Features of every record, then the file's unattached features."""
        out: list[Feature] = []
        for record in self._records:
            out.extend(record.features)
        out.extend(self.features)
        return out

    def close(self) -> None:
        """Release the file handles (mmaps, HDF5 files) the records read from."""
        for closer in self._closers:
            closer.close()
        self._closers.clear()

    def __enter__(self) -> SequenceFile:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SequenceFile({self.path!r}, format={self.format!r}, records={len(self)})"
