"""Patching too long to hold per-patch arrays, and patch lines written at C speed.

The length-only modes (``static``, ``byte``) read nothing but the sequence's length, and
their patches do not depend on each other except at the end: a stretch of a whole number of
``patch_size`` patches is cut the same wherever it lies. So a record of any length is cut in
chunks of :data:`CHUNK_PATCHES` patches, each by the :class:`~engine.patching.Patcher` itself,
and written as it is cut: memory stays a few chunks, whatever the record's length. Configs for
which chunking could change a patch (BOS/EOS positions, the next token, a minimum length above
the patch size) are not streamed (:func:`streamable`).

Lines are formatted by a compiled loop (:func:`format_rows`), since Python's f-strings cost
about a microsecond a line: a 250 Mbp record cut every 4 bytes is 62.5 million lines.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from engine.jit import lazy_njit

from .mode_table import PATCH_MODES
from .patcher import PatchConfig, Patcher

CHUNK_PATCHES = 1 << 20  # patches per chunk: its arrays are a few tens of MB


def streamable(config: PatchConfig) -> bool:
    """Whether :func:`stream_patches` cuts exactly as one :meth:`Patcher.patch` call."""
    if PATCH_MODES[config.mode].reads != "length":
        return False
    if config.add_bos or config.add_eos or config.include_next_token:
        return False
    unit = config.patch_size if config.mode == "static" else 1
    return config.min_patch_length <= unit


@dataclass
class StreamStats:
    """Counts over every chunk: patches, bytes and each length's frequency."""

    count: int = 0
    n_bytes: int = 0
    lengths: dict[int, int] = field(default_factory=dict)

    def add(self, lengths: np.ndarray) -> None:
        self.count += len(lengths)
        self.n_bytes += int(lengths.sum())
        values, counts = np.unique(lengths, return_counts=True)
        for v, c in zip(values.tolist(), counts.tolist(), strict=True):
            self.lengths[v] = self.lengths.get(v, 0) + c

    @property
    def mean_length(self) -> float:
        return self.n_bytes / self.count if self.count else 0.0

    @property
    def median_length(self) -> float:
        """As ``np.median`` of all lengths (the mean of the two middle ones for an even count)."""
        if not self.count:
            return 0.0
        values = sorted(self.lengths)
        cum = np.cumsum([self.lengths[v] for v in values])
        lo = values[int(np.searchsorted(cum, (self.count - 1) // 2 + 1))]
        hi = values[int(np.searchsorted(cum, self.count // 2 + 1))]
        return (lo + hi) / 2

    @property
    def max_length(self) -> int:
        return max(self.lengths) if self.lengths else 0


def stream_patches(config: PatchConfig, n_bytes: int
                   ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """``(index, start, end)`` of the patches of ``n_bytes`` bytes, chunk by chunk (0-based,
    half-open, byte coordinates), equal to :meth:`Patcher.patch`'s ``byte_intervals``."""
    if not streamable(config):
        raise ValueError(f"a {config.mode!r} config with these settings is not streamed")
    unit = config.patch_size if config.mode == "static" else 1
    step = unit * CHUNK_PATCHES
    patcher = Patcher(config)
    first_index = 0
    for lo in range(0, n_bytes, step):
        m = min(step, n_bytes - lo)
        result = patcher.patch(np.empty(m, dtype=np.uint8))  # only the length is read
        index, begin, end = result.byte_intervals()
        yield index + first_index, begin + lo, end + lo
        first_index += result.count


def format_rows(prefix: bytes, columns: np.ndarray, suffix: bytes) -> memoryview | bytes:
    """One line per column of ``columns`` (k, n) int64: ``prefix``, the k numbers in decimal
    joined by tabs, ``suffix``, a newline. Bytes-like (a view of the formatted buffer)."""
    columns = np.ascontiguousarray(columns, dtype=np.int64)
    if columns.ndim != 2:
        raise ValueError("columns must be (fields, rows)")
    if columns.shape[1] == 0:
        return b""
    out = _format(np.frombuffer(prefix, np.uint8), columns, np.frombuffer(suffix, np.uint8))
    return out.data


_PAIRS = np.frombuffer("".join(f"{i:02d}" for i in range(100)).encode(), np.uint8).copy()


@lazy_njit(cache=True, nogil=True)
def _format(prefix, columns, suffix):
    """The lines, two digits per division (a 100-entry table of digit pairs), unsigned."""
    k, n = columns.shape
    pairs = _PAIRS
    line_max = len(prefix) + len(suffix) + k * 21  # 20 characters at most per int64, a tab
    out = np.empty(n * line_max, dtype=np.uint8)
    digits = np.empty(20, dtype=np.uint8)
    hundred = np.uint64(100)
    p = 0
    for j in range(n):
        for c in range(len(prefix)):
            out[p + c] = prefix[c]
        p += len(prefix)
        for f in range(k):
            v = columns[f, j]
            if v < 0:
                out[p] = 45  # '-'
                p += 1
                x = np.uint64(-v)
            else:
                x = np.uint64(v)
            d = 20  # digits[d:] holds the number, filled from the right
            while x >= hundred:
                r = np.int64(x % hundred) * 2
                x //= hundred
                d -= 2
                digits[d] = pairs[r]
                digits[d + 1] = pairs[r + 1]
            if x >= np.uint64(10):
                r = np.int64(x) * 2
                d -= 2
                digits[d] = pairs[r]
                digits[d + 1] = pairs[r + 1]
            else:
                d -= 1
                digits[d] = 48 + np.uint8(x)
            for i in range(d, 20):
                out[p] = digits[i]
                p += 1
            if f < k - 1:
                out[p] = 9  # tab
                p += 1
        for c in range(len(suffix)):
            out[p + c] = suffix[c]
        p += len(suffix)
        out[p] = 10
        p += 1
    return out[:p]


__all__ = ["CHUNK_PATCHES", "StreamStats", "format_rows", "stream_patches", "streamable"]
