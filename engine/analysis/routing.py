"""How a mixture of experts routes tokens: load, balance, entropy, co-activation.

Inputs are what a router capture gives, flattened over batch and position to ``N`` tokens
(patches, for the latent model): router probabilities ``p`` of shape ``(N, E)`` with
``p_n = softmax(z_n / tau)``, and the chosen experts ``S_n`` as ``top_k`` of shape ``(N, k)``.
Arrays with more leading axes (``(B, P, E)``, ``(B, P, k)``) are flattened first.

Convention: the columns of ``top_k`` are ordered by descending probability, as ``torch.topk``
(``sorted=True``) and :func:`top_k_from_probs` give them, so column 0 is the top-1 choice
``argmax_e p_n(e)``; a row names ``k`` distinct experts.

    f_i  = (1/N)  sum_n 1[S_n[0] = i]                  expert load (Switch: top-1 only)
    a_i  = (1/Nk) sum_n sum_j 1[S_n[j] = i]             assignment share (all k choices)
    P_i  = (1/N)  sum_n p_n(i)                          mean router probability
    CV   = std(f) / mean(f)                             load coefficient of variation
    L    = alpha * E * sum_i f_i P_i                    Switch balance loss (alpha if balanced)
    H_n  = -sum_e p_n(e) log p_n(e)                     per-token entropy, nats
    H(p_bar), p_bar = (1/N) sum_n p_n                   marginal entropy, nats
    I    = H(p_bar) - mean_n H_n                        mutual information token;expert
    C_ij = sum_n 1[i in S_n] 1[j in S_n]                co-activation counts

With no tokens (``N = 0``) every fraction and mean is NaN and every count is 0, silently.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

DEFAULT_ALPHA = 0.01  # Switch Transformer's load-balancing coefficient


def _tokens(array: np.ndarray, last: int | None = None) -> np.ndarray:
    """``(..., X)`` -> ``(N, X)``: tokens over all leading axes."""
    array = np.asarray(array)
    if array.ndim < 2:
        raise ValueError(f"expected an array of shape (..., {last or 'X'}), got {array.shape}")
    if last is not None and array.shape[-1] != last:
        raise ValueError(f"last axis has {array.shape[-1]} entries, expected {last}")
    return array.reshape(-1, array.shape[-1])


def validate_top_k(top_k: np.ndarray, n_experts: int) -> np.ndarray:
    """Validated ``(N, k)`` int64 expert ids; a 1-D array is top-1 only, ``(N, 1)``."""
    top_k = np.asarray(top_k)
    choices = (top_k[:, None] if top_k.ndim == 1 else _tokens(top_k)).astype(np.int64)
    if choices.shape[1] == 0:
        raise ValueError("top_k has no choices (k = 0)")
    if choices.size and (choices.min() < 0 or choices.max() >= n_experts):
        raise ValueError(f"expert ids must lie in [0, {n_experts})")
    if choices.shape[1] > 1 and choices.size:
        ordered = np.sort(choices, axis=1)
        if (np.diff(ordered, axis=1) == 0).any():
            raise ValueError("a token names the same expert twice in its top-k")
    return choices


def _nan(shape: tuple[int, ...] | int = ()) -> np.ndarray:
    return np.full(shape, np.nan)


def top_k_from_probs(probs: np.ndarray, k: int) -> np.ndarray:
    """``(N, k)`` expert ids by descending probability (ties: lower expert id first)."""
    p = _tokens(probs)
    if not 1 <= k <= p.shape[1]:
        raise ValueError(f"k must lie in [1, {p.shape[1]}], not {k}")
    return np.argsort(-p, axis=1, kind="stable")[:, :k]


def expert_counts(top_k: np.ndarray, n_experts: int, *, top1: bool = False) -> np.ndarray:
    """``(E,)`` int64: how many tokens chose each expert (among all k, or top-1 only)."""
    choices = validate_top_k(top_k, n_experts)
    picked = choices[:, 0] if top1 else choices.ravel()
    return np.bincount(picked, minlength=n_experts).astype(np.int64)


def expert_load(top_k: np.ndarray, n_experts: int) -> np.ndarray:
    """Switch load ``f_i = (1/N) sum_n 1[S_n[0] = i]``: the fraction routed top-1 to ``i``.

    Only the top-1 choice counts (the Switch Transformer's definition, also used by the
    balance loss); :func:`assignment_share` counts all ``k`` choices. Sums to 1.
    """
    choices = validate_top_k(top_k, n_experts)
    if choices.shape[0] == 0:
        return _nan(n_experts)
    return expert_counts(choices, n_experts, top1=True) / choices.shape[0]


def assignment_share(top_k: np.ndarray, n_experts: int) -> np.ndarray:
    """``a_i = (1/(N k)) sum_n sum_j 1[S_n[j] = i]``: expert ``i``'s share of all N*k choices.

    Sums to 1; uniform routing gives ``1/E`` each.
    """
    choices = validate_top_k(top_k, n_experts)
    if choices.size == 0:
        return _nan(n_experts)
    return expert_counts(choices, n_experts) / choices.size


def load_cv(load: np.ndarray) -> float:
    """Coefficient of variation ``std(f) / mean(f)`` (population std, ddof=0).

    0 for perfectly balanced load; NaN when the mean is 0 or undefined.
    """
    f = np.asarray(load, dtype=np.float64)
    if f.size == 0 or not np.isfinite(f).all():
        return math.nan
    mean = f.mean()
    return float(f.std() / mean) if mean > 0 else math.nan


def mean_router_prob(probs: np.ndarray) -> np.ndarray:
    """``P_i = (1/N) sum_n p_n(i)``, shape ``(E,)``: the router's mean probability per expert."""
    p = _tokens(probs).astype(np.float64, copy=False)
    if p.shape[0] == 0:
        return _nan(p.shape[1])
    return p.mean(axis=0)


def switch_balance_loss(load: np.ndarray, mean_prob: np.ndarray,
                        alpha: float = DEFAULT_ALPHA) -> float:
    """Switch load-balancing loss ``alpha * E * sum_i f_i P_i``.

    With ``f_i = P_i = 1/E`` it is exactly ``alpha`` (its minimum over balanced ``f``).
    """
    f = np.asarray(load, dtype=np.float64)
    p = np.asarray(mean_prob, dtype=np.float64)
    if f.shape != p.shape or f.ndim != 1:
        raise ValueError(f"f and P must both be (E,), got {f.shape} and {p.shape}")
    return float(alpha * f.size * np.dot(f, p))


def _entropy(p: np.ndarray) -> np.ndarray:
    """``-sum p log p`` over the last axis, with ``0 log 0 = 0``."""
    safe = np.where(p > 0, p, 1.0)
    return -(p * np.log(safe)).sum(axis=-1)


def token_entropy(probs: np.ndarray) -> np.ndarray:
    """``H_n = -sum_e p_n(e) log p_n(e)`` in nats, shape ``(N,)``; 0 for one-hot routing."""
    return _entropy(_tokens(probs).astype(np.float64, copy=False))


def mean_token_entropy(probs: np.ndarray) -> float:
    """``mean_n H_n`` in nats (low: each token is routed confidently); NaN for N = 0."""
    h = token_entropy(probs)
    return float(h.mean()) if h.size else math.nan


def marginal_entropy(probs: np.ndarray) -> float:
    """``H(p_bar)`` with ``p_bar = mean_n p_n``, in nats (``log E`` when use is balanced)."""
    p_bar = mean_router_prob(probs)
    return float(_entropy(p_bar)) if np.isfinite(p_bar).all() else math.nan


def coactivation(top_k: np.ndarray, n_experts: int) -> np.ndarray:
    """``C_ij = sum_n 1[i in S_n] 1[j in S_n]``, int64 ``(E, E)``, symmetric.

    ``C_ii`` is how many tokens chose ``i`` (among all k); all pairs of a token's choices
    count, not only adjacent ranks.
    """
    choices = validate_top_k(top_k, n_experts)
    pairs = (choices[:, :, None] * n_experts + choices[:, None, :]).reshape(-1)  # (N*k*k,)
    counts = np.bincount(pairs, minlength=n_experts * n_experts)
    return counts.reshape(n_experts, n_experts).astype(np.int64)


def coactivation_rate(top_k: np.ndarray, n_experts: int) -> np.ndarray:
    """``C_ij / N``: the fraction of tokens that chose both ``i`` and ``j`` (NaN for N = 0)."""
    choices = validate_top_k(top_k, n_experts)
    if choices.shape[0] == 0:
        return _nan((n_experts, n_experts))
    return coactivation(choices, n_experts) / choices.shape[0]


def conditional_coactivation(counts: np.ndarray) -> np.ndarray:
    """``P(j | i) = C_ij / C_ii``: of the tokens that chose ``i``, the fraction also choosing ``j``.

    Row ``i`` is NaN when ``i`` was never chosen; the diagonal is 1 otherwise.
    """
    c = np.asarray(counts, dtype=np.float64)
    diag = np.diag(c)[:, None]
    out = np.full_like(c, np.nan)
    np.divide(c, diag, out=out, where=diag > 0)
    return out


def _plain(value: Any) -> Any:
    """Numbers and arrays as JSON-ready Python values; NaN becomes None."""
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()] if value.ndim else _plain(value.item())
    if isinstance(value, dict):
        return {key: _plain(v) for key, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


def routing_summary(probs: np.ndarray, top_k: np.ndarray, *,
                    alpha: float = DEFAULT_ALPHA) -> dict[str, Any]:
    """Every measure above for one router, as JSON-ready values (lists, floats, None for NaN).

    Keys: ``n_tokens``, ``n_experts``, ``k``, ``load`` (f), ``load_cv``,
    ``assignment_share`` (a), ``mean_router_prob`` (P), ``balance_loss`` (its balanced value
    is ``alpha``), ``alpha``, ``token_entropy_mean``, ``marginal_entropy``, ``max_entropy``
    (``log E``), ``mutual_information``, ``coactivation`` (counts), ``coactivation_rate``.
    """
    p = _tokens(probs)
    n_experts = p.shape[1]
    choices = validate_top_k(top_k, n_experts)
    if choices.shape[0] != p.shape[0]:
        raise ValueError(f"probs has {p.shape[0]} tokens but top_k has {choices.shape[0]}")
    f = expert_load(choices, n_experts)
    mean_p = mean_router_prob(p)
    h_tokens = mean_token_entropy(p)
    h_marginal = marginal_entropy(p)
    return _plain({
        "n_tokens": int(p.shape[0]),
        "n_experts": int(n_experts),
        "k": int(choices.shape[1]),
        "load": f,
        "load_cv": load_cv(f),
        "assignment_share": assignment_share(choices, n_experts),
        "mean_router_prob": mean_p,
        "balance_loss": switch_balance_loss(f, mean_p, alpha),
        "alpha": float(alpha),
        "token_entropy_mean": h_tokens,
        "marginal_entropy": h_marginal,
        "max_entropy": math.log(n_experts),
        "mutual_information": h_marginal - h_tokens,
        "coactivation": coactivation(choices, n_experts),
        "coactivation_rate": coactivation_rate(choices, n_experts),
    })
