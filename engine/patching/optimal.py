"""``optimal`` mode: the best patch starts under length limits, by dynamic programming.

Objective (issue 3): choose starts ``S`` (``0 in S``) maximising

    J(S) = sum_{p in S, p >= 1} (H[p-1] - threshold)

subject to every patch length lying in ``[min_len, max_len]``. Each start earns the uncertainty
about its byte above the threshold, so with no limits the optimum takes exactly the positions
with ``H[p-1] > threshold``: ``entropy`` mode. Among equal objectives the DP prefers fewer
patches (so a tie ``H[p-1] == threshold`` is no start, as in ``entropy``), then earlier starts.
"""

from __future__ import annotations

import numpy as np

from engine.jit import lazy_njit


def optimal_objective(H: np.ndarray, starts: np.ndarray, threshold: float) -> float:
    """``J(S) = sum over starts p >= 1 of (H[p-1] - threshold)``, in float64."""
    chosen = np.asarray(starts)[1:]
    return float(np.sum(np.asarray(H, dtype=np.float64)[chosen - 1] - threshold))


def start_gains(H: np.ndarray, threshold: float, n_positions: int) -> np.ndarray:
    """``gain[p] = H[p-1] - threshold`` for ``1 <= p < N``; ``gain[0] = 0`` (0 always starts).

    Computed in float64 from ``H`` and the threshold rounded to ``H``'s dtype, so that
    ``gain[p] > 0`` exactly when ``entropy`` mode's ``H[p-1] > threshold`` holds.
    """
    gain = np.zeros(n_positions, dtype=np.float64)
    if n_positions > 1:
        gain[1:] = H[: n_positions - 1]
        gain[1:] -= float(H.dtype.type(threshold))
    return gain


def feasible(n_positions: int, min_len: int, max_len: int | None) -> bool:
    """Whether N splits into patches of lengths in ``[min_len, max_len]``.

    k patches can cover N iff ``k * min_len <= N <= k * max_len``, so some k exists iff
    ``ceil(N / max_len) <= floor(N / min_len)``.
    """
    if max_len is None:
        return n_positions >= min_len
    return -(-n_positions // max_len) <= n_positions // min_len


def largest_feasible_min(n_positions: int, min_len: int, max_len: int | None) -> int:
    """The largest ``m <= min_len`` for which N splits into lengths in ``[m, max_len]``.

    ``max_len`` is a hard limit and ``min_len`` a wish: when no split honours both (N = 5 with
    lengths in [3, 4]), the minimum is lowered as little as possible. ``m = 1`` always works.
    """
    m = min_len
    while m > 1 and not feasible(n_positions, m, max_len):
        m -= 1
    return m


@lazy_njit(cache=True)
def _better(score_a: float, count_a: int, score_b: float, count_b: int) -> bool:
    return score_a > score_b or (score_a == score_b and count_a < count_b)


@lazy_njit(depends=("_better",), cache=True)
def optimal_starts_dp(gain: np.ndarray, min_len: int, max_len: int) -> np.ndarray:
    """Starts maximising ``sum(gain[p] for p in starts if p >= 1)`` with lengths in the limits.

    ``best[e]`` is the best score of a split of ``[0, e)`` whose last patch ends at ``e``:

        best[e] = gain[e] + max over j in [e - max_len, e - min_len] of best[j]   (gain[N] = 0)

    The window maximum comes from a monotone deque of candidate ``j`` (best first), so each
    ``e`` costs O(1) amortised instead of O(max_len): O(N) time, O(N) memory. ``max_len = 0``
    means no maximum. Ties go to fewer patches, then to the earliest ``j``. Returns an empty
    array when no split satisfies the limits.
    """
    n = len(gain)
    neg_inf = -np.inf
    best = np.full(n + 1, neg_inf)
    count = np.zeros(n + 1, dtype=np.int64)  # patches in the best split (the tie-break)
    back = np.full(n + 1, -1, dtype=np.int64)  # start of the last patch in that split
    best[0] = 0.0
    window = np.empty(n + 1, dtype=np.int64)  # deque of j, best[j] non-increasing front to back
    head, tail = 0, 0
    for e in range(min_len, n + 1):
        j = e - min_len  # j enters the window as e reaches it
        if best[j] > neg_inf:
            # a later j that is no better than an earlier one can never be chosen over it
            while tail > head and _better(best[j], count[j], best[window[tail - 1]],
                                          count[window[tail - 1]]):
                tail -= 1
            window[tail] = j
            tail += 1
        if max_len > 0:
            while tail > head and window[head] < e - max_len:  # j too far back: patch too long
                head += 1
        if tail > head:
            choice = window[head]
            best[e] = best[choice] + (gain[e] if e < n else 0.0)
            count[e] = count[choice] + 1
            back[e] = choice
    if back[n] < 0 and n > 0:
        return np.empty(0, dtype=np.int64)
    total = count[n]
    starts = np.empty(total, dtype=np.int64)
    e = n
    for i in range(total - 1, -1, -1):
        e = back[e]
        starts[i] = e
    return starts


def optimal_starts(
    H: np.ndarray,
    threshold: float,
    n_positions: int,
    min_len: int = 1,
    max_len: int | None = None,
    own_first: bool = False,
) -> np.ndarray:
    """Exact maximiser of J(S) under the length limits (see the module docstring).

    ``own_first`` fixes BOS (position 0) as a patch of its own and optimises the rest, whose
    first start (position 1) is then fixed too. ``min_len`` is lowered only if no split of the
    rest can honour it (:func:`largest_feasible_min`).
    """
    gain = start_gains(H, threshold, n_positions)
    offset = 1 if own_first and n_positions > 1 else 0
    rest = gain[offset:]  # its gain[0] belongs to a fixed start, which the DP never scores
    min_len = largest_feasible_min(len(rest), min_len, max_len)
    starts = optimal_starts_dp(rest, min_len, max_len or 0) + offset
    return np.concatenate((np.zeros(offset, dtype=np.int64), starts))
