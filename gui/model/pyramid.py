"""Per-record signals (entropy, surprisal) as they arrive, with a min/mean/max pyramid.

Zoomed out, a track reads one pyramid level instead of the raw values, so a frame costs
O(pixels) whatever the record's length (as bigWig zoom levels in IGV). Level ``k`` holds bins
of ``b_k = BASE_BIN * 2**k`` values; for bin ``i`` of level ``k``:

    min_k[i] = min(x[i*b_k : (i+1)*b_k])          max_k[i] likewise
    sum_k[i] = sum of the finite values there     count_k[i] = how many are finite
    mean_k[i] = sum_k[i] / count_k[i]             (NaN while count_k[i] == 0)

NaN marks values not computed yet; ``np.fmin``/``np.fmax`` skip it, so a partly scored bin
shows what is known. Level 0 reduces the raw values, level ``k + 1`` pairs of level ``k``
bins, and an update of ``[start, end)`` recomputes only the bins that range touches.
"""

from __future__ import annotations

import bisect
import threading
from dataclasses import dataclass

import numpy as np

BASE_BIN = 8  # finest level; narrower views (< 8 values per pixel) read the raw values


def _pad(a: np.ndarray, size: int, fill: float) -> np.ndarray:
    if len(a) == size:
        return a
    out = np.full(size, fill, dtype=a.dtype)
    out[: len(a)] = a
    return out


class Pyramid:
    """min/sum/count/max per bin at every level over ``n`` values (see the module docstring)."""

    def __init__(self, n: int, base_bin: int = BASE_BIN) -> None:
        self.n = n
        self.base_bin = base_bin
        self.mins: list[np.ndarray] = []
        self.maxs: list[np.ndarray] = []
        self.sums: list[np.ndarray] = []
        self.counts: list[np.ndarray] = []
        bins = -(-n // base_bin)
        while True:
            self.mins.append(np.full(bins, np.nan, np.float32))
            self.maxs.append(np.full(bins, np.nan, np.float32))
            self.sums.append(np.zeros(bins, np.float64))
            self.counts.append(np.zeros(bins, np.int32))
            if bins <= 1:
                break
            bins = -(-bins // 2)

    @property
    def levels(self) -> int:
        return len(self.mins)

    def bin_size(self, level: int) -> int:
        return self.base_bin << level

    def update(self, values: np.ndarray, start: int, end: int) -> None:
        """Recompute the bins over ``values[start:end]`` (``values`` is the whole record)."""
        if end <= start:
            return
        b = self.base_bin
        lo, hi = start // b, -(-end // b)
        raw = _pad(values[lo * b : min(hi * b, self.n)], (hi - lo) * b, np.nan)
        rows = raw.reshape(hi - lo, b)  # (bins, b)
        finite = ~np.isnan(rows)
        with np.errstate(invalid="ignore"):
            self.mins[0][lo:hi] = np.fmin.reduce(rows, axis=1)
            self.maxs[0][lo:hi] = np.fmax.reduce(rows, axis=1)
        self.sums[0][lo:hi] = np.where(finite, rows, 0.0).sum(axis=1, dtype=np.float64)
        self.counts[0][lo:hi] = finite.sum(axis=1)
        for k in range(1, self.levels):
            lo, hi = lo // 2, -(-hi // 2)
            hi = min(hi, len(self.mins[k]))
            size = 2 * (hi - lo)
            # children 2*lo .. 2*hi of level k-1 (the last may not exist: pad)
            for out, child, fill, op in (
                (self.mins[k], self.mins[k - 1], np.nan, np.fmin),
                (self.maxs[k], self.maxs[k - 1], np.nan, np.fmax),
                (self.sums[k], self.sums[k - 1], 0.0, np.add),
                (self.counts[k], self.counts[k - 1], 0, np.add),
            ):
                pair = _pad(child[2 * lo : 2 * hi], size, fill)
                out[lo:hi] = op(pair[0::2], pair[1::2])

    def level_for(self, values_per_pixel: float) -> int | None:
        """The coarsest level whose bins are no wider than a pixel; None: read raw values."""
        if values_per_pixel < self.base_bin:
            return None
        level = int(np.log2(values_per_pixel / self.base_bin))
        return min(level, self.levels - 1)


@dataclass(frozen=True)
class SignalWindow:
    """What a signal track draws for a view: bins ``[edges[i], edges[i+1])`` with their
    min / mean / max (NaN where unknown). ``level``: the pyramid level read, or None for bins
    made from the raw values in view, ``bin`` values wide (1: the raw values themselves)."""

    edges: np.ndarray  # float64 (m + 1,)
    low: np.ndarray  # float32 (m,)
    mean: np.ndarray
    high: np.ndarray
    level: int | None
    bin: int = 1

    def __len__(self) -> int:
        return len(self.mean)


class IntervalSet:
    """Sorted, merged half-open intervals: which bases have values."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []

    def add(self, start: int, end: int) -> None:
        if end <= start:
            return
        i = bisect.bisect_left(self.ends, start)  # first interval that could touch
        j = bisect.bisect_right(self.starts, end)  # past the last that could touch
        if i < j:
            start = min(start, self.starts[i])
            end = max(end, self.ends[j - 1])
        self.starts[i:j] = [start]
        self.ends[i:j] = [end]

    def total(self) -> int:
        return sum(e - s for s, e in zip(self.starts, self.ends, strict=True))

    def containing(self, position: int) -> tuple[int, int] | None:
        i = bisect.bisect_right(self.starts, position) - 1
        if i >= 0 and self.starts[i] <= position < self.ends[i]:
            return self.starts[i], self.ends[i]
        return None

    def nearest(self, position: int) -> tuple[int, int] | None:
        """The interval holding ``position``, else the closest one."""
        if not self.starts:
            return None
        found = self.containing(position)
        if found is not None:
            return found
        i = bisect.bisect_right(self.starts, position)
        candidates = [k for k in (i - 1, i) if 0 <= k < len(self.starts)]
        k = min(candidates, key=lambda k: min(abs(self.starts[k] - position),
                                             abs(self.ends[k] - 1 - position)))
        return self.starts[k], self.ends[k]

    def as_list(self) -> list[tuple[int, int]]:
        return list(zip(self.starts, self.ends, strict=True))

    def __len__(self) -> int:
        return len(self.starts)


SIGNALS = ("entropy", "surprisal")


class ScoreBuffer:
    """A record's entropy and surprisal (nats, float32; NaN = not known yet) and pyramids.

    One writer (a scoring or loading worker) calls :meth:`write`; the GUI thread reads windows
    with :meth:`window`. Both take the lock, so a frame never sees half an update; a write
    holds it for O(piece) work, a read for O(pixels).
    """

    def __init__(self, record_id: str, length: int, signals: tuple[str, ...] = SIGNALS,
                 source: str = "") -> None:
        self.record_id = record_id
        self.length = length
        self.source = source  # the model folder or the entropy file, for the status line
        self.signals = signals
        self._values = {name: np.full(length, np.nan, np.float32) for name in signals}
        self._pyramids = {name: Pyramid(length) for name in signals}
        self.known = IntervalSet()
        self._lock = threading.Lock()

    def write(self, start: int, **pieces: np.ndarray) -> None:
        """Store values for ``[start, start + len)`` of the named signals and update pyramids."""
        with self._lock:
            end = start
            for name, piece in pieces.items():
                end = start + len(piece)
                self._values[name][start:end] = piece
                self._pyramids[name].update(self._values[name], start, end)
            self.known.add(start, end)

    @property
    def complete(self) -> bool:
        with self._lock:
            return len(self.known) == 1 and self.known.as_list() == [(0, self.length)]

    def known_bases(self) -> int:
        with self._lock:
            return self.known.total()

    def span_around(self, position: int) -> tuple[int, int] | None:
        """The contiguous known stretch holding ``position``, else the nearest one."""
        with self._lock:
            return self.known.nearest(position)

    def values(self, name: str, start: int = 0, end: int | None = None) -> np.ndarray:
        """A read-only view of ``[start, end)``. Known values never change, so a view of a
        known stretch stays valid while the writer fills the rest."""
        view = self._values[name][start:end]
        view = view.view()
        view.flags.writeable = False
        return view

    def window(self, name: str, x0: float, x1: float, width_px: int) -> SignalWindow:
        """The bins to draw for the view ``[x0, x1)`` over ``width_px`` pixels."""
        start = max(0, int(np.floor(x0)))
        end = min(self.length, int(np.ceil(x1)))
        if end <= start or width_px <= 0:
            empty = np.zeros(0, np.float32)
            return SignalWindow(np.zeros(1), empty, empty, empty, None)
        pyramid = self._pyramids[name]
        level = pyramid.level_for((end - start) / width_px)
        with self._lock:
            if level is None:
                return self._raw_window(name, start, end, (end - start) / width_px)
            b = pyramid.bin_size(level)
            lo, hi = start // b, -(-end // b)
            low = pyramid.mins[level][lo:hi].copy()
            high = pyramid.maxs[level][lo:hi].copy()
            sums = pyramid.sums[level][lo:hi]
            counts = pyramid.counts[level][lo:hi]
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
        edges = np.minimum(np.arange(lo, hi + 1, dtype=np.float64) * b, self.length)
        return SignalWindow(edges, low, mean.astype(np.float32), high, level)

    def _raw_window(self, name: str, start: int, end: int, per_px: float) -> SignalWindow:
        """Under ``BASE_BIN`` values per pixel: the raw values, or bins of ``floor(per_px)``
        of them (at most ``BASE_BIN * pixels`` values read, so still O(pixels))."""
        values = self._values[name]
        b = max(1, int(per_px))
        if b == 1:
            raw = values[start:end].copy()
            return SignalWindow(np.arange(start, end + 1, dtype=np.float64), raw, raw, raw, None)
        lo, hi = start // b * b, min(-(-end // b) * b, self.length)
        bins = -(-(hi - lo) // b)
        rows = _pad(values[lo:hi], bins * b, np.nan).reshape(bins, b)
        finite = ~np.isnan(rows)
        counts = finite.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            low = np.fmin.reduce(rows, axis=1)
            high = np.fmax.reduce(rows, axis=1)
            mean = np.where(counts > 0, np.where(finite, rows, 0).sum(axis=1) /
                            np.maximum(counts, 1), np.nan).astype(np.float32)
        edges = np.minimum(np.arange(lo, lo + (bins + 1) * b, b, dtype=np.float64), self.length)
        return SignalWindow(edges, low, mean, high, None, b)

    def global_max(self, name: str) -> float:
        """The largest value known so far (the pyramid's top bin): the track's y scale."""
        with self._lock:
            return float(self._pyramids[name].maxs[-1].max())

    def value_at(self, name: str, position: int) -> float:
        if name not in self._values or not 0 <= position < self.length:
            return float("nan")
        return float(self._values[name][position])
