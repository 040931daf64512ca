"""One annotation track's features on one record, indexed for view queries.

Features are sorted by start, so the ones overlapping a view ``[x0, x1)`` are found with two
binary searches: every feature starting in ``[x0 - L_max, x1)`` (``L_max`` the longest
feature), then those whose end is past ``x0``. The expanded display mode stacks overlapping
features in rows (first fit, as IGV's packing), computed once per record.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from engine.io.hierarchy import folded_exons
from engine.io.records import Feature
from engine.loci import format_range

# The feature types compared with patch boundaries, and drawn in colour.
GENE_TYPES = ("CDS", "tRNA", "rRNA")
ROW_GAP = 1  # bases kept free between two features packed in one row


@dataclass(frozen=True)
class FeatureHit:
    """A feature under the cursor: what the hover line says (its range 1-based, as IGV)."""

    name: str
    type: str
    start: int
    end: int
    strand: int

    def describe(self) -> str:
        strand = {1: "+", -1: "-"}.get(self.strand, ".")
        label = f"{self.name} " if self.name else ""
        return f"{label}{self.type} {format_range(self.start, self.end)} ({strand})"


class FeatureIndex:
    """Features of one source on one record, sorted by (start, end)."""

    def __init__(self, name: str, features: Sequence[Feature]) -> None:
        self.name = name  # the track's title: "annotations" or the file's name
        # a transcript drawn with its exons as parts: its exon lines would draw them twice
        folded = folded_exons(features)
        kept = [f for i, f in enumerate(features) if i not in folded] if folded else features
        features = kept
        order = sorted(range(len(features)), key=lambda i: (features[i].start, features[i].end))
        self.features = [features[i] for i in order]
        self.starts = np.array([f.start for f in self.features], dtype=np.int64)
        self.ends = np.array([f.end for f in self.features], dtype=np.int64)
        self.strands = np.array([f.strand for f in self.features], dtype=np.int8)
        self.types = [f.type for f in self.features]
        self.labels = [f.name or f.type for f in self.features]
        self.parts = [f.parts for f in self.features]  # exons of a transcript, pieces of a CDS
        self.max_length = int((self.ends - self.starts).max()) if len(self.features) else 0
        self.rows = pack_rows(self.starts, self.ends)
        self.n_rows = int(self.rows.max()) + 1 if len(self.rows) else 1

    def __len__(self) -> int:
        return len(self.features)

    def overlapping(self, x0: float, x1: float) -> np.ndarray:
        """Indices of the features overlapping ``[x0, x1)``, in start order."""
        lo = int(np.searchsorted(self.starts, x0 - self.max_length, side="left"))
        hi = int(np.searchsorted(self.starts, x1, side="left"))
        candidates = np.arange(lo, hi)
        return candidates[self.ends[lo:hi] > x0]

    def at(self, position: int) -> list[FeatureHit]:
        found = self.overlapping(position, position + 1)
        return [self.hit(int(i)) for i in found]

    def hit(self, i: int) -> FeatureHit:
        f = self.features[i]
        return FeatureHit(f.name, f.type, f.start, f.end, f.strand)

    def next_after(self, position: float) -> int | None:
        """The first feature starting after ``position`` (IGV's F key)."""
        i = int(np.searchsorted(self.starts, position, side="right"))
        return i if i < len(self.features) else None

    def previous_before(self, position: float) -> int | None:
        """The last-starting feature that ends at or before ``position`` (IGV's B key), so a
        feature the view is centred on is not its own "previous"."""
        hi = int(np.searchsorted(self.starts, position, side="left"))
        done = np.flatnonzero(self.ends[:hi] <= position)
        return int(done[-1]) if len(done) else None


def pack_rows(starts: np.ndarray, ends: np.ndarray, gap: int = ROW_GAP) -> np.ndarray:
    """Row of each feature (sorted by start): the first row whose last feature has ended.

    A loop over features, run once per record in a worker; the rows it opens are few.
    """
    rows = np.zeros(len(starts), dtype=np.int32)
    row_ends: list[int] = []
    for i, (s, e) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
        for r, last in enumerate(row_ends):
            if last + gap <= s:
                row_ends[r] = e
                rows[i] = r
                break
        else:
            rows[i] = len(row_ends)
            row_ends.append(e)
    return rows
