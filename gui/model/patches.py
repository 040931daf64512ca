"""The current patches in record coordinates, ready for tracks, the inspector and exports.

A :class:`PatchView` is computed in a worker from a :class:`~engine.patching.PatchResult` and
never changes; queries against a view are binary searches over its sorted starts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.patching import PatchConfig, PatchResult

HISTOGRAM_CAP = 64  # the length histogram's last bin counts patches of this length or longer


@dataclass(frozen=True, eq=False)
class PatchView:
    """Patches ``[starts[i], ends[i])`` over the bases ``span`` of one record."""

    record_id: str
    record_length: int
    span: tuple[int, int]
    starts: np.ndarray  # int64, sorted, record coordinates
    ends: np.ndarray
    index: np.ndarray  # each patch's number in the result (PatchResult.byte_intervals)
    entropies: np.ndarray | None  # the span's entropies (read-only view), None without
    result: PatchResult
    config: PatchConfig
    histogram: np.ndarray  # counts of lengths 0..HISTOGRAM_CAP (the last bin: >= CAP)
    stats: dict  # PatchResult.stats(), computed in the worker (the median is O(n))

    @property
    def count(self) -> int:
        return len(self.starts)

    @property
    def complete(self) -> bool:
        """Whether the patches cover the whole record (not just the scored part of it)."""
        return self.span == (0, self.record_length)

    def lengths(self) -> np.ndarray:
        return self.ends - self.starts

    def visible(self, x0: float, x1: float) -> tuple[int, int]:
        """Indices ``[lo, hi)`` of the patches overlapping ``[x0, x1)``."""
        lo = int(np.searchsorted(self.ends, x0, side="right"))  # first ending after x0
        hi = int(np.searchsorted(self.starts, x1, side="left"))  # first starting at/after x1
        return lo, max(hi, lo)

    def at(self, position: float) -> int | None:
        """The patch holding base ``position``."""
        if not self.count or position < self.starts[0] or position >= self.ends[-1]:
            return None
        return int(np.searchsorted(self.starts, position, side="right")) - 1

    def mean_entropy(self, lo: int, hi: int) -> np.ndarray | None:
        """Mean entropy of patches ``[lo, hi)``, over each patch's bases (as the BED score).

        Computed when asked, for the rows shown or the patches exported, not for every patch
        at each re-patch: O(bases of those patches)."""
        if self.entropies is None or hi <= lo:
            return None
        a = int(self.starts[lo]) - self.span[0]
        b = int(self.ends[hi - 1]) - self.span[0]
        sums = np.add.reduceat(self.entropies[a:b], self.starts[lo:hi] - self.span[0] - a,
                               dtype=np.float64)
        return sums / (self.ends[lo:hi] - self.starts[lo:hi])

    def density(self, edges: np.ndarray) -> np.ndarray:
        """Patch starts in each bin ``[edges[i], edges[i+1])``: O(bins log n)."""
        return np.diff(np.searchsorted(self.starts, edges, side="left"))


def make_patch_view(
    record_id: str,
    record_length: int,
    span: tuple[int, int],
    result: PatchResult,
    entropies: np.ndarray | None,
) -> PatchView:
    """Record coordinates, the length histogram and the statistics of a result.

    ``entropies`` (optional) are the span's, one per base; kept (not copied) for
    :meth:`PatchView.mean_entropy`. This runs after every threshold change on up to millions
    of patches, so it avoids passes it can: without BOS/EOS positions a result's positions
    are its bytes, and the median comes from the histogram when it falls below its cap.
    """
    if result.bos or result.n_positions != result.n_bytes:  # BOS/EOS: the engine's way
        index, begin, end = result.byte_intervals()
        histogram = np.bincount(np.minimum(end - begin, HISTOGRAM_CAP),
                                minlength=HISTOGRAM_CAP + 1)
        return PatchView(record_id, record_length, span, begin + span[0], end + span[0], index,
                         entropies, result, result.config, histogram, result.stats())
    begin, lengths = result.starts, result.lengths
    end = begin + lengths
    index = np.arange(result.count)
    histogram = np.bincount(np.minimum(lengths, HISTOGRAM_CAP), minlength=HISTOGRAM_CAP + 1)
    count = result.count
    median = histogram_median(histogram, count)
    stats = {
        "mode": result.mode,
        "count": count,
        "threshold": result.threshold,
        "mean_length": result.n_positions / count if count else 0.0,
        "median_length": median if median is not None else float(np.median(lengths)),
        "max_length": int(lengths.max()) if count else 0,
        "bytes_per_patch": result.bytes_per_patch,
    }
    return PatchView(record_id, record_length, span, begin + span[0], end + span[0], index,
                     entropies, result, result.config, histogram, stats)


def histogram_median(histogram: np.ndarray, count: int) -> float | None:
    """The median length read off the histogram, exact when both middle values lie below the
    last (open-ended) bin; None otherwise (or with no patches)."""
    if count == 0:
        return None
    cumulative = np.cumsum(histogram[:-1])
    lo = int(np.searchsorted(cumulative, (count - 1) // 2 + 1))  # value of the lower middle
    hi = int(np.searchsorted(cumulative, count // 2 + 1))  # and of the upper middle
    if hi >= len(cumulative):
        return None
    return (lo + hi) / 2


def histogram_extent(histogram: np.ndarray, quantile: float = 0.995, least: int = 8) -> int:
    """How many length bins (from 1) to show: up to the ``quantile`` of the lengths."""
    counts = histogram[1:]
    total = counts.sum()
    if not total:
        return least
    reach = int(np.searchsorted(np.cumsum(counts), quantile * total)) + 1
    return max(least, min(reach, len(counts)))
