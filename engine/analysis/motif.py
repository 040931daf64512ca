"""What motif discovery, motif files and motif databases share: a seqlet, a motif, a match.

A *seqlet* is a span of one window whose attribution is significant; a *motif* is a group of
aligned seqlets summarised by two (w, A) matrices over its alphabet:

* the position probability matrix ``PPM[p, k] = (1/N) sum_n [s_n(p) = k]`` over its N aligned
  instances (rows sum to 1), and
* the contribution-weighted matrix ``CWM[p, k] = (1/N) sum_n c_n(p, k)``, the mean per-letter
  attribution (projected on the observed letter, or hypothetical scores when given).

DNA motifs may be found on either strand (``strand`` "-" means the instance reads as the
reverse complement of the window); RNA, protein and text motifs have one strand. Motifs read
from a file or a database carry a PPM only (``cwm`` is then None).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

DNA = b"ACGT"
STRANDS = ("+", "-")


@dataclass(frozen=True)
class Seqlet:
    """A significant span ``[start, end)`` of window ``example`` (window coordinates)."""

    example: int
    start: int
    end: int
    score: float  # summed attribution over the span, with its sign
    p_value: float = 1.0
    strand: str = "+"  # "-": the motif reads as the reverse complement of this span

    @property
    def width(self) -> int:
        return self.end - self.start


@dataclass
class Motif:
    """A motif over ``alphabet``: its PPM (w, A), its CWM (w, A) or None, and its instances."""

    name: str
    alphabet: bytes
    ppm: np.ndarray
    cwm: np.ndarray | None = None
    instances: list[Seqlet] = field(default_factory=list)
    sign: int = 1  # +1: the motif raises the target; -1: it lowers it
    source: str = "discovered"  # or a database ("JASPAR2026") or a file name
    identifier: str = ""  # the database's ID (e.g. MA0035.5)

    def __post_init__(self) -> None:
        self.ppm = np.asarray(self.ppm, dtype=np.float64)
        if self.ppm.ndim != 2 or self.ppm.shape[1] != len(self.alphabet):
            raise ValueError(f"motif {self.name!r}: PPM must be (width, {len(self.alphabet)})")

    @property
    def width(self) -> int:
        return int(self.ppm.shape[0])

    @property
    def n_instances(self) -> int:
        return len(self.instances)

    def consensus(self) -> str:
        """The most probable letter at each position."""
        letters = np.frombuffer(self.alphabet, np.uint8)
        return letters[self.ppm.argmax(axis=1)].tobytes().decode("latin-1")

    def information(self) -> np.ndarray:
        """Information content per position, ``log2 A - H(PPM[p])`` in bits (for logos)."""
        p = np.clip(self.ppm, 1e-12, 1.0)
        return np.log2(len(self.alphabet)) + (p * np.log2(p)).sum(axis=1)


@dataclass(frozen=True)
class Match:
    """The similarity of a query motif to a database motif, at the best shift and strand."""

    name: str
    identifier: str
    source: str
    score: float  # mean Pearson correlation of the aligned PPM columns
    p_value: float  # from a shuffled-motif null
    offset: int  # target position aligned to the query's first column
    strand: str  # "-": the target's reverse complement matched
    overlap: int  # aligned columns


def reverse_complement(matrix: np.ndarray) -> np.ndarray:
    """The (w, 4) ACGT matrix of the other strand: positions reversed, A<->T and C<->G."""
    return np.asarray(matrix)[::-1, ::-1]
