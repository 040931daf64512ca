"""Alphabets (DNA, RNA, protein, text, bytes) and their detection from byte counts.

Detection looks at a sample's byte histogram (one ``np.bincount``): the guess is the most
specific alphabet that explains at least 99% of the bytes, and the confidence is the share of
bytes in that alphabet's core symbols, shrunk for short samples (``c * n / (n + 20)``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ALPHABETS = ("dna", "rna", "protein", "text", "bytes")
NUCLEIC = ("dna", "rna")

# IUPAC nucleotide codes beyond ACGT/U; gaps as in alignments.
_IUPAC_EXTRA = b"NRYSWKMBDHV"
_GAPS = b"-."
_AMINO = b"ACDEFGHIKLMNPQRSTVWY"
_AMINO_EXTRA = b"BZXJUO*"


def _mask(symbols: bytes, *, fold_case: bool = True) -> np.ndarray:
    mask = np.zeros(256, dtype=bool)
    for byte in symbols:
        mask[byte] = True
        if fold_case and 65 <= byte <= 90:
            mask[byte + 32] = True
    return mask


# (all symbols allowed, core symbols) per alphabet; a sample "fits" when >= 99% is allowed.
_SETS = {
    "dna": (_mask(b"ACGT" + _IUPAC_EXTRA + _GAPS), _mask(b"ACGTN")),
    "rna": (_mask(b"ACGU" + _IUPAC_EXTRA + _GAPS), _mask(b"ACGUN")),
    "protein": (_mask(_AMINO + _AMINO_EXTRA + _GAPS), _mask(_AMINO)),
}
_PRINTABLE = np.zeros(256, dtype=bool)
_PRINTABLE[32:127] = True
_PRINTABLE[[9, 10, 13]] = True
_UTF8_HIGH = np.zeros(256, dtype=bool)
_UTF8_HIGH[0x80:0xF5] = True  # bytes that can appear inside valid UTF-8
_LINE_BREAKS = _mask(b"\n\r", fold_case=False)
_FIT = 0.99


@dataclass(frozen=True)
class AlphabetGuess:
    name: str
    confidence: float


def byte_counts(data: bytes | np.ndarray) -> np.ndarray:
    """Histogram of byte values, shape (256,)."""
    array = np.frombuffer(data, dtype=np.uint8) if isinstance(data, bytes | bytearray) else data
    return np.bincount(array, minlength=256)


def detect_alphabet(data: bytes | np.ndarray | None = None, *, counts=None) -> AlphabetGuess:
    """Guess the alphabet of a sample (bytes, or a precomputed 256-bin histogram).

    Order of preference: DNA, RNA (U present, T absent), protein, text (printable or UTF-8),
    bytes. Line breaks are ignored so that raw file slices can be passed in.
    """
    if counts is None:
        counts = byte_counts(data if data is not None else b"")
    counts = np.asarray(counts, dtype=np.int64).copy()
    counts[_LINE_BREAKS] = 0
    n = int(counts.sum())
    if n == 0:
        return AlphabetGuess("bytes", 0.0)
    shrink = n / (n + 20)

    def share(mask: np.ndarray) -> float:
        return float(counts[mask].sum()) / n

    t = counts[ord("T")] + counts[ord("t")]
    u = counts[ord("U")] + counts[ord("u")]
    for name in ("dna", "rna") if t >= u else ("rna", "dna"):
        allowed, core = _SETS[name]
        if share(allowed) >= _FIT and share(core) >= 0.9:
            return AlphabetGuess(name, share(core) * shrink)
    allowed, core = _SETS["protein"]
    if share(allowed) >= _FIT:
        return AlphabetGuess("protein", share(core) * shrink)
    if share(_PRINTABLE | _UTF8_HIGH) >= _FIT:
        return AlphabetGuess("text", share(_PRINTABLE) * shrink)
    return AlphabetGuess("bytes", 1.0 - share(_PRINTABLE) * 0.5)


def gc_and_n(counts: np.ndarray) -> tuple[int, int, int]:
    """(G+C count, N count, A+C+G+T/U count) from a byte histogram, case-insensitive."""

    def c(symbols: bytes) -> int:
        return int(sum(counts[b] + counts[b + 32] for b in symbols))

    return c(b"GC"), c(b"N"), c(b"ACGTU")
