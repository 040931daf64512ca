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
        """Recompute the bins over ``values[start:end]`` (``values`` spans all ``n``)."""
        if end <= start:
            return
        b = self.base_bin
        lo, hi = start // b, -(-end // b)
        raw = _pad(values[lo * b : min(hi * b, self.n)], (hi - lo) * b, np.nan)
        rows = raw.reshape(hi - lo, b)  # (bins, b)
        finite = ~np.isnan(rows)
        with np.errstate(invalid="ignore"):
            mins, maxs = np.fmin.reduce(rows, axis=1), np.fmax.reduce(rows, axis=1)
        self.set_bins(lo, mins, maxs, np.where(finite, rows, 0.0).sum(axis=1, dtype=np.float64),
                      finite.sum(axis=1))

    def set_bins(self, lo: int, mins: np.ndarray, maxs: np.ndarray, sums: np.ndarray,
                 counts: np.ndarray) -> None:
        """Set level-0 bins ``lo ..`` from summaries made elsewhere (a block's top bin, for
        the coarse levels over blocks) and recompute the levels above them."""
        hi = lo + len(mins)
        self.mins[0][lo:hi], self.maxs[0][lo:hi] = mins, maxs
        self.sums[0][lo:hi], self.counts[0][lo:hi] = sums, counts
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

    def top(self) -> tuple[float, float, float, int]:
        """min, max, sum and count over all ``n`` values (the one bin of the last level)."""
        return (self.mins[-1][0], self.maxs[-1][0], self.sums[-1][0], self.counts[-1][0])


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

    def remove(self, start: int, end: int) -> None:
        """Take ``[start, end)`` out (an interval over it is cut, or split in two)."""
        if end <= start:
            return
        starts, ends = [], []
        for s, e in zip(self.starts, self.ends, strict=True):
            for a, b in ((s, min(e, start)), (max(s, end), e)):
                if a < b:
                    starts.append(a)
                    ends.append(b)
        self.starts, self.ends = starts, ends

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


BLOCK = 1 << 16  # values per block: what a buffer allocates at a time
FINE_LEVELS = (BLOCK // BASE_BIN).bit_length() - 1  # levels with bins narrower than a block


class _Block:
    """One signal over ``BLOCK`` values of a record, with the pyramid within it."""

    __slots__ = ("pyramid", "values")

    def __init__(self) -> None:
        self.values = np.full(BLOCK, np.nan, np.float32)
        self.pyramid = Pyramid(BLOCK)

    @property
    def nbytes(self) -> int:
        p = self.pyramid
        return self.values.nbytes + sum(a.nbytes for a in (*p.mins, *p.maxs, *p.sums, *p.counts))


class ScoreBuffer:
    """A record's entropy and surprisal (nats, float32; NaN = not known yet) and pyramids.

    The values live in blocks of ``BLOCK`` bases, made when a value of theirs is first written,
    so a buffer costs what has been scored, not the record's length (a 250 Mbp chromosome with
    5 kb scored holds one block). Each block keeps the levels of the pyramid narrower than a
    block (``FINE_LEVELS`` of them); the coarser levels are one small pyramid over the blocks'
    summaries, kept for every block written, also after :meth:`drop_far_from` let its values
    go. Level ``L`` of the whole record has bins of ``BASE_BIN * 2**L`` values in both cases.

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
        self.n_blocks = max(1, -(-length // BLOCK))
        self._blocks: dict[str, dict[int, _Block]] = {name: {} for name in signals}
        self._coarse = {name: Pyramid(self.n_blocks, base_bin=1) for name in signals}
        self.known = IntervalSet()
        self._lock = threading.Lock()

    @property
    def levels(self) -> int:
        return FINE_LEVELS + self._coarse[self.signals[0]].levels

    def write(self, start: int, **pieces: np.ndarray) -> None:
        """Store values for ``[start, start + len)`` of the named signals and update pyramids."""
        with self._lock:
            end = start
            for name, piece in pieces.items():
                end = start + len(piece)
                blocks, first = self._blocks[name], start // BLOCK
                tops = []
                for i in range(first, (end - 1) // BLOCK + 1):
                    block = blocks.get(i)
                    if block is None:
                        block = blocks[i] = _Block()
                    a, b = max(start, i * BLOCK), min(end, (i + 1) * BLOCK)
                    block.values[a - i * BLOCK : b - i * BLOCK] = piece[a - start : b - start]
                    block.pyramid.update(block.values, a - i * BLOCK, b - i * BLOCK)
                    tops.append(block.pyramid.top())
                if tops:
                    mins, maxs, sums, counts = (np.array(c) for c in zip(*tops, strict=True))
                    self._coarse[name].set_bins(first, mins, maxs, sums, counts)
            self.known.add(start, end)

    def drop_far_from(self, position: int, keep_blocks: int) -> int:
        """Let go of the values of all but the ``keep_blocks`` blocks nearest ``position``
        (their coarse summaries stay, so a zoomed-out view still draws them); returns how many
        blocks went. Bounds a buffer over a record too long to hold whole."""
        with self._lock:
            held = sorted(self._blocks[self.signals[0]])
            if len(held) <= keep_blocks:
                return 0
            centre = position // BLOCK
            far = sorted(held, key=lambda i: abs(i - centre))[keep_blocks:]
            for i in far:
                for blocks in self._blocks.values():
                    blocks.pop(i, None)
                self.known.remove(i * BLOCK, min(self.length, (i + 1) * BLOCK))
            return len(far)

    def nbytes(self) -> int:
        """The memory the buffer's values and pyramids take."""
        with self._lock:
            coarse = sum(a.nbytes for p in self._coarse.values()
                         for a in (*p.mins, *p.maxs, *p.sums, *p.counts))
            return coarse + sum(b.nbytes for blocks in self._blocks.values()
                                for b in blocks.values())

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

    def _gather(self, name: str, start: int, end: int) -> np.ndarray:
        """The values of ``[start, end)`` in a new array (NaN where no block holds them)."""
        out = np.full(max(0, end - start), np.nan, np.float32)
        blocks = self._blocks[name]
        for i in range(start // BLOCK, (end - 1) // BLOCK + 1 if end > start else 0):
            block = blocks.get(i)
            if block is not None:
                a, b = max(start, i * BLOCK), min(end, (i + 1) * BLOCK)
                out[a - start : b - start] = block.values[a - i * BLOCK : b - i * BLOCK]
        return out

    def values(self, name: str, start: int = 0, end: int | None = None) -> np.ndarray:
        """The values of ``[start, end)``, copied (read-only; NaN where not known)."""
        end = self.length if end is None else min(end, self.length)
        with self._lock:
            out = self._gather(name, start, end)
        out.flags.writeable = False
        return out

    def window(self, name: str, x0: float, x1: float, width_px: int) -> SignalWindow:
        """The bins to draw for the view ``[x0, x1)`` over ``width_px`` pixels."""
        start = max(0, int(np.floor(x0)))
        end = min(self.length, int(np.ceil(x1)))
        if end <= start or width_px <= 0:
            empty = np.zeros(0, np.float32)
            return SignalWindow(np.zeros(1), empty, empty, empty, None)
        per_px = (end - start) / width_px
        level = None if per_px < BASE_BIN else \
            min(int(np.log2(per_px / BASE_BIN)), self.levels - 1)
        with self._lock:
            if level is None:
                return self._raw_window(name, start, end, per_px)
            b = BASE_BIN << level
            lo, hi = start // b, -(-end // b)
            if level >= FINE_LEVELS:
                k, coarse = level - FINE_LEVELS, self._coarse[name]
                low, high = coarse.mins[k][lo:hi].copy(), coarse.maxs[k][lo:hi].copy()
                sums, counts = coarse.sums[k][lo:hi].copy(), coarse.counts[k][lo:hi].copy()
            else:
                low, high, sums, counts = self._fine_bins(name, level, lo, hi)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
        edges = np.minimum(np.arange(lo, hi + 1, dtype=np.float64) * b, self.length)
        return SignalWindow(edges, low, mean.astype(np.float32), high, level)

    def _fine_bins(self, name: str, level: int, lo: int, hi: int):
        """Bins ``lo:hi`` of a level narrower than a block, from the blocks that hold them."""
        low, high = np.full(hi - lo, np.nan, np.float32), np.full(hi - lo, np.nan, np.float32)
        sums, counts = np.zeros(hi - lo), np.zeros(hi - lo, np.int32)
        per_block = BLOCK // (BASE_BIN << level)
        blocks = self._blocks[name]
        for i in range(lo // per_block, (hi - 1) // per_block + 1):
            block = blocks.get(i)
            if block is None:
                continue
            a, b = max(lo, i * per_block), min(hi, (i + 1) * per_block)
            p, o = block.pyramid, i * per_block
            low[a - lo : b - lo] = p.mins[level][a - o : b - o]
            high[a - lo : b - lo] = p.maxs[level][a - o : b - o]
            sums[a - lo : b - lo] = p.sums[level][a - o : b - o]
            counts[a - lo : b - lo] = p.counts[level][a - o : b - o]
        return low, high, sums, counts

    def _raw_window(self, name: str, start: int, end: int, per_px: float) -> SignalWindow:
        """Under ``BASE_BIN`` values per pixel: the raw values, or bins of ``floor(per_px)``
        of them (at most ``BASE_BIN * pixels`` values read, so still O(pixels))."""
        b = max(1, int(per_px))
        if b == 1:
            raw = self._gather(name, start, end)
            return SignalWindow(np.arange(start, end + 1, dtype=np.float64), raw, raw, raw, None)
        lo, hi = start // b * b, min(-(-end // b) * b, self.length)
        bins = -(-(hi - lo) // b)
        rows = _pad(self._gather(name, lo, hi), bins * b, np.nan).reshape(bins, b)
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
        """The largest value known so far (the coarse pyramid's top bin): the y scale."""
        with self._lock:
            return float(self._coarse[name].maxs[-1].max())

    def value_at(self, name: str, position: int) -> float:
        if name not in self._blocks or not 0 <= position < self.length:
            return float("nan")
        block = self._blocks[name].get(position // BLOCK)
        return float("nan") if block is None else float(block.values[position % BLOCK])
