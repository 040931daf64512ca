"""Nucleotide dependency maps (Tomaz da Silva et al. 2025): how much the model's prediction
of base j changes when base i is mutated.

For a window ``x`` and a region ``[lo, hi)`` of it, with ``p_j(c | x)`` the model's
probability of letter c at base j (renormalised over the alphabet) and ``x^(i->k)`` the
window with base i changed to letter k:

    e_ij = max_{k != x_i} max_c | logit p_j(c | x^(i->k)) - logit p_j(c | x) |,
    logit p = log p - log(1 - p)

the largest absolute change in log-odds. The models are causal, so ``e_ij = 0`` for
``j <= i`` and only the bases before ``hi`` are read. Every mutant is one forward pass,
batched (for a Hyena LM only over the positions it changes, :mod:`engine.analysis.suffix`);
the repeat expert is left out (the network alone).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from engine.analysis.attribution import (
    BOS,
    alphabet_for,
    log_probs,
    one_hot,
    stream_ids,
    stream_starts,
)
from engine.analysis.suffix import SuffixRunner, supports
from engine.errors import InputError


@dataclass(frozen=True)
class DependencyMap:
    """``matrix[i, j] = e_{lo+i, lo+j}`` (module docstring) over window bases ``[lo, hi)``."""

    start: int
    end: int
    alphabet: bytes
    matrix: np.ndarray  # (m, m), row i: the base mutated; column j: the prediction changed
    repeats: bool = False


def _logits_odds(lp: torch.Tensor, columns: torch.Tensor) -> torch.Tensor:
    """log-odds of the alphabet's letters, renormalised: (B, m, A)."""
    sub = lp[..., columns]
    sub = sub - torch.logsumexp(sub, dim=-1, keepdim=True)
    return sub - torch.log1p(-sub.exp().clamp(max=1 - 1e-6))


@torch.no_grad()
def dependency_map(model: nn.Module, window: np.ndarray, lo: int, hi: int,
                   alphabet: bytes | None = None, batch: int = 64,
                   check: Callable[[], None] | None = None,
                   progress: Callable[[int, int], None] | None = None,
                   patch_starts: np.ndarray | None = None, suffix: bool = True
                   ) -> DependencyMap:
    """The dependency map of window bases ``[lo, hi)`` (module docstring); a patch-level
    model reads the window's ``patch_starts``, held at the reference's for every mutant;
    ``suffix=False`` runs full forwards for a Hyena LM too (the same numbers)."""
    window = np.asarray(window, np.uint8)
    if not 0 <= lo < hi <= len(window):
        raise InputError(f"region {lo}-{hi} is not inside the window of {len(window):,} bases")
    limit = getattr(model, "max_len", None)
    if limit is not None and hi + 1 > limit:
        raise InputError(f"a window of {hi:,} bases is longer than the model's context: at "
                         f"most {limit - 1:,}")
    window = window[:hi]  # a causal model's predictions before hi read nothing after it
    starts = None if patch_starts is None else stream_starts(
        np.asarray(patch_starts, bool)[:hi], hi)
    alphabet = alphabet or alphabet_for(window)
    x = one_hot(window, alphabet)
    size, m = len(alphabet), hi - lo
    columns = torch.tensor(list(alphabet))
    model.eval()
    reference = _logits_odds(log_probs(model, x[None], alphabet, starts)[:, lo:hi], columns)[0]
    runner = None  # a Hyena LM: recompute only the suffix each batch changes
    if suffix and starts is None and supports(model):
        ids = np.concatenate([[BOS], window.astype(np.int64)])
        runner = SuffixRunner(model, torch.from_numpy(ids))
    codes = x.argmax(dim=-1)
    mutants = [(i, k) for i in range(lo, hi) for k in range(size) if k != int(codes[i])]
    matrix = torch.zeros(m, m, dtype=torch.float64)
    total = len(mutants)
    for start in range(0, total, batch):
        if check is not None:
            check()
        chunk = mutants[start:start + batch]
        rows = torch.arange(len(chunk))
        where = torch.tensor([i for i, _ in chunk])
        xs = x.expand(len(chunk), *x.shape).clone()
        xs[rows, where] = 0
        xs[rows, where, torch.tensor([k for _, k in chunk])] = 1
        if runner is None:
            lp = log_probs(model, xs, alphabet, starts)
        else:  # stream positions from the first base this batch changes (chunks in base order)
            lp = runner.log_probs(stream_ids(xs, alphabet), chunk[0][0] + 1, hi)
        odds = _logits_odds(lp[:, lo:hi], columns)
        change = (odds - reference).abs().amax(dim=-1).to(torch.float64)  # (B, m)
        for b, (i, _k) in enumerate(chunk):
            row = i - lo
            matrix[row] = torch.maximum(matrix[row], change[b])
        if progress is not None:
            progress(min(start + batch, total), total)
    out = matrix.numpy()
    out[np.tril_indices(m)] = 0.0  # causal: exactly 0, not float noise
    return DependencyMap(lo, hi, alphabet, out)


__all__ = ["DependencyMap", "dependency_map"]
