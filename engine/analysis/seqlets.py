"""Seqlets: spans of a window whose summed attribution is significant against a null.

The rule of tangermeme's recursive seqlets (Schreiber, tangermeme ``seqlet.py``), as array
code over every window, start and width at once:

* the null of one position's score is the empirical distribution of the scores given (or of
  ``background``, for example the attributions of shuffled windows), binned into ``n_bins``
  bins of width ``h`` from ``lo``; positions are taken as independent, so the null of a span
  sum of width w is the w-fold convolution of that pmf, for every w from one FFT:
  ``pmf_w = irfft(rfft(pmf) ** w)`` over bin-index sums K;
* a span sum ``s`` of width w sits at ``K = round((s - w lo) / h - w / 2)`` and its p-value is
  ``p_w(s) = P(K_null >= K)``; the span sums of every start come from one cumulative sum;
* a span of width w is significant when ``p_w < threshold`` and both of its spans of width
  ``w - 1`` are (width ``min_width`` needs only its own p-value), so a span never reaches
  more than ``min_width - 1`` insignificant bases past its core;
* seqlets are taken greedily, lowest p-value first (ties: larger |sum|, then wider), where
  they overlap no earlier seqlet of the same sign, and grown by ``flank`` bases on each side
  within the window.

Negative seqlets (``sign`` "-" or "both") follow the same rule on the negated scores. The
p-values rank spans; they depend on the other windows passed in and are not an FDR.
"""

from __future__ import annotations

import numpy as np

from engine.analysis.motif import Seqlet

SIGNS = ("+", "-", "both")


def span_sums(scores: np.ndarray, width: int) -> np.ndarray:
    """``s_w[n, i] = sum_{j < width} scores[n, i + j]``: (N, L - width + 1) from one cumsum."""
    c = np.zeros((scores.shape[0], scores.shape[1] + 1))
    np.cumsum(scores, axis=1, out=c[:, 1:])
    return c[:, width:] - c[:, :-width]


def null_survival(values: np.ndarray, max_width: int, n_bins: int = 1000
                  ) -> tuple[float, float, list[np.ndarray]]:
    """``(lo, h, S)`` with ``S[w][K] = P(K_null >= K)`` for span widths ``w = 0..max_width``,
    the null of independent positions drawn from ``values`` (module docstring)."""
    values = np.asarray(values, np.float64).ravel()
    values = values[np.isfinite(values)]
    if values.size == 0:
        raise ValueError("the null needs at least one finite score")
    lo, hi = float(values.min()), float(values.max())
    h = (hi - lo) / n_bins if hi > lo else 1e-12
    index = np.clip(((values - lo) / h).astype(np.int64), 0, n_bins - 1)
    pmf = np.bincount(index, minlength=n_bins) / values.size
    size = max_width * (n_bins - 1) + 1
    n_fft = 1 << int(np.ceil(np.log2(max(size, 2))))
    spectrum = np.fft.rfft(pmf, n_fft)
    survival = [np.ones(1)]
    for w in range(1, max_width + 1):
        pmf_w = np.clip(np.fft.irfft(spectrum ** w, n_fft)[: w * (n_bins - 1) + 1], 0, None)
        pmf_w /= pmf_w.sum()
        survival.append(np.append(np.cumsum(pmf_w[::-1])[::-1], 0.0))
    return lo, h, survival


def span_p_values(sums: np.ndarray, width: int, lo: float, h: float,
                  survival: list[np.ndarray]) -> np.ndarray:
    """``p_w(s)`` for span sums ``sums`` of ``width`` bases (module docstring)."""
    table = survival[width]
    k = np.rint((sums - width * lo) / h - width / 2)
    k = np.clip(np.nan_to_num(k, nan=0.0), 0, len(table) - 1).astype(np.int64)
    return table[k]


def _one_sign(scores: np.ndarray, null: np.ndarray, threshold: float, min_width: int,
              max_width: int, n_bins: int) -> tuple[np.ndarray, ...]:
    """Every significant span of ``scores`` (N, L): arrays (example, start, width, p, sum)."""
    lo, h, survival = null_survival(null, max_width, n_bins)
    found: list[tuple[np.ndarray, ...]] = []
    previous = None
    for w in range(min_width, min(max_width, scores.shape[1]) + 1):
        sums = span_sums(scores, w)
        p = span_p_values(sums, w, lo, h, survival)
        significant = p < threshold
        if previous is not None:
            significant &= previous[:, :-1] & previous[:, 1:]
        previous = significant
        n, i = np.nonzero(significant)
        if n.size:
            found.append((n, i, np.full(n.size, w), p[n, i], sums[n, i]))
    if not found:
        empty = np.zeros(0, np.int64)
        return empty, empty, empty, np.zeros(0), np.zeros(0)
    return tuple(np.concatenate(parts) for parts in zip(*found, strict=True))


def _greedy(n: np.ndarray, i: np.ndarray, w: np.ndarray, p: np.ndarray, s: np.ndarray,
            shape: tuple[int, int]) -> list[int]:
    """Indices of the spans kept: by p, then |sum|, then width, where nothing is taken yet."""
    order = np.lexsort((-w, -np.abs(s), p))
    taken = np.zeros(shape, bool)
    kept = []
    for k in order:
        row, a, b = n[k], i[k], i[k] + w[k]
        if not taken[row, a:b].any():
            taken[row, a:b] = True
            kept.append(int(k))
    return kept


def find_seqlets(contributions: np.ndarray, threshold: float = 0.01, min_width: int = 4,
                 max_width: int = 20, flank: int = 0, sign: str = "both",
                 background: np.ndarray | None = None, n_bins: int = 1000) -> list[Seqlet]:
    """Seqlets of per-base scores ``contributions`` (N, L), sorted by window then start.

    ``background`` (any shape): scores whose distribution is the null, for example those of
    shuffled windows; default the scores themselves. ``sign``: "+" spans that raise the
    target, "-" spans that lower it, or "both".
    """
    scores = np.atleast_2d(np.asarray(contributions, np.float64))
    if sign not in SIGNS:
        raise ValueError(f"sign must be one of {', '.join(SIGNS)}, not {sign!r}")
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be in (0, 1], not {threshold}")
    if not 1 <= min_width <= max_width:
        raise ValueError(f"widths need 1 <= min_width <= max_width, not {min_width}, "
                         f"{max_width}")
    if scores.size == 0 or scores.shape[1] < min_width:
        return []
    null = scores if background is None else np.asarray(background, np.float64)
    seqlets = []
    for factor in ([1.0] if sign == "+" else [-1.0] if sign == "-" else [1.0, -1.0]):
        n, i, w, p, s = _one_sign(factor * scores, factor * null, threshold, min_width,
                                  max_width, n_bins)
        for k in _greedy(n, i, w, p, s, scores.shape):
            start = max(0, int(i[k]) - flank)
            end = min(scores.shape[1], int(i[k] + w[k]) + flank)
            row = int(n[k])
            seqlets.append(Seqlet(row, start, end, float(scores[row, start:end].sum()),
                                  float(p[k])))
    seqlets.sort(key=lambda q: (q.example, q.start, -q.score))
    return seqlets


__all__ = ["SIGNS", "find_seqlets", "null_survival", "span_p_values", "span_sums"]
