"""Patch starts and lengths: conversions, length limits, and BLT's padded batch layout.

A patching of N positions is either its ``starts`` (increasing, ``starts[0] == 0``) or its
``lengths`` (positive, summing to N); ``lengths[i] = starts[i+1] - starts[i]``, the last one
ending at N.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from engine.jit import lazy_njit


def lengths_from_starts(starts: np.ndarray, n_positions: int) -> np.ndarray:
    """``lengths[i] = starts[i+1] - starts[i]``, with ``starts[len] = N``."""
    return np.diff(starts, append=np.int64(n_positions)).astype(np.int64, copy=False)


def starts_from_lengths(lengths: np.ndarray) -> np.ndarray:
    """``starts[i] = sum(lengths[:i])``."""
    starts = np.empty(len(lengths), dtype=np.int64)
    if len(lengths):
        starts[0] = 0
        np.cumsum(lengths[:-1], out=starts[1:])
    return starts


@lazy_njit(cache=True)
def merge_short_patches(starts: np.ndarray, n_positions: int, min_len: int) -> np.ndarray:
    """Merge every patch shorter than ``min_len`` into its predecessor.

    Scanning from the right, a start is dropped (its patch joins the one before) when fewer than
    ``min_len`` positions separate it from the next start kept, so a run of short patches pairs
    up instead of all joining one predecessor. The first patch has no predecessor: if it is
    still short it absorbs its successor. Every patch is then at least ``min_len`` long unless
    the whole sequence is shorter. Sequential, hence compiled.
    """
    keep = np.zeros(len(starts), dtype=np.bool_)
    if len(starts) == 0:
        return starts
    keep[0] = True
    next_start = n_positions
    for i in range(len(starts) - 1, 0, -1):
        if next_start - starts[i] >= min_len:
            keep[i] = True
            next_start = starts[i]
    if next_start < min_len:  # the first patch [0, next_start) is short: it takes its successor
        for i in range(1, len(starts)):
            if keep[i]:
                keep[i] = False
                break
    return starts[keep]


@lazy_njit(cache=True)
def split_long_patches(lengths: np.ndarray, max_len: int, min_len: int) -> np.ndarray:
    """Split each patch longer than ``max_len`` into ``max_len`` pieces, the remainder last.

    BLT's ``split_large_numbers`` (9 with max 4 gives 4, 4, 1). Where that remainder is shorter
    than ``min_len``, it takes what the pieces before it can spare down to ``min_len`` (9 with
    max 4 and min 3 gives 3, 3, 3); with ``min_len == 1`` nothing moves, so the output is
    exactly BLT's.
    """
    total = 0
    for length in lengths:
        total += (length + max_len - 1) // max_len
    out = np.empty(total, dtype=np.int64)
    k = 0
    for length in lengths:
        pieces = (length + max_len - 1) // max_len
        first = k
        for _ in range(pieces - 1):
            out[k] = max_len
            k += 1
        out[k] = length - (pieces - 1) * max_len
        need = min_len - out[k]
        j = k - 1
        while need > 0 and j >= first:
            give = min(need, out[j] - min_len)
            if give > 0:
                out[j] -= give
                out[k] += give
                need -= give
            j -= 1
        k += 1
    return out


def enforce_length_limits(
    starts: np.ndarray,
    n_positions: int,
    min_len: int,
    max_len: int | None,
    own_first: bool = False,
) -> np.ndarray:
    """Lengths after merging short patches (``min_len``) then splitting long ones (``max_len``).

    ``own_first`` keeps position 0 (BOS) a patch of its own, outside both limits: the rest is
    treated as a sequence of ``N - 1`` positions. ``max_len`` is always honoured. ``min_len`` is
    wherever each merged patch of length ``l`` can be cut into ``ceil(l / max_len)`` pieces of at
    least ``min_len``, which always holds when ``max_len >= 2 * min_len - 1`` and the sequence is
    at least ``min_len`` long.
    """
    if own_first and n_positions > 1:
        rest_starts = np.concatenate(([0], starts[starts > 1] - 1))  # position 1 starts the rest
        rest = enforce_length_limits(rest_starts, n_positions - 1, min_len, max_len)
        return np.concatenate((np.ones(1, dtype=np.int64), rest))
    if min_len > 1:
        starts = merge_short_patches(starts, n_positions, min_len)
    lengths = lengths_from_starts(starts, n_positions)
    if max_len is not None:
        lengths = split_long_patches(lengths, max_len, min_len)
    return lengths


def blt_padded_lengths(rows: Sequence[np.ndarray]) -> np.ndarray:
    """Per-sequence lengths in BLT's batch layout: ``[bs, max_count]``, right-padded with zeros.

    This is what BLT's ``Patcher.patch`` returns for a batch (blt.md 1.8): its padded start ids
    become zero-length patches and all-zero trailing columns are dropped. (BLT's space mode
    fails its own sum check for bs > 1 without ``include_next_token``; this helper does not.)
    """
    width = max((len(row) for row in rows), default=0)
    out = np.zeros((len(rows), width), dtype=np.int64)
    for i, row in enumerate(rows):
        out[i, : len(row)] = row
    return out
