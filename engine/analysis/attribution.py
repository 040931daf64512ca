"""Why the model predicts what it does: targets, saliency, integrated gradients, mutagenesis.

A *window* of bytes ``b_0 .. b_{n-1}`` is the model's whole context: it reads
``[BOS, b_0, .., b_{n-1}]`` and the logits at stream position ``p`` predict ``b_p`` (the
scorer's alignment, :mod:`engine.scoring`). The input is a one-hot matrix ``X`` (n, A) over an
alphabet of byte values (ACGT for DNA, every byte otherwise), embedded as ``X @ W[alphabet]``
in place of the model's embedding lookup, so gradients reach every base and every letter.

Targets, plain functions of the log-probabilities ``lp`` (n + 1, V) and the window:

* ``surprisal`` at t: ``log p(b_t | b_<t) = lp[t, b_t]`` (minus the surprisal, in nats);
* ``region`` [a, b): ``sum_{t in [a, b)} lp[t, b_t]``, the region's log-likelihood;
* ``entropy`` at t: ``H(p(. | b_0..b_t)) = -sum_v p_v log p_v`` over ``lp[t + 1]``, the
  uncertainty about ``b_{t+1}`` (the scorer's ``entropy[t]``).

Methods (each returns an :class:`Attribution`, per base and per letter):

* saliency: input x gradient with the mean-over-alphabet correction of Majdandzic et al. 2023,
  ``G'_{i,k} = G_{i,k} - (1/A) sum_k G_{i,k}``, attribution ``a_i = G'_{i, b_i}``;
* integrated gradients (Sundararajan et al. 2017) from the uniform baseline ``X0 = 1/A``:
  ``a = (X - X0) * int_0^1 dF/dX(X0 + s (X - X0)) ds`` by Gauss-Legendre quadrature, with its
  completeness delta ``sum a - (F(X) - F(X0))`` reported;
* in-silico mutagenesis: ``F(x with b_i = k) - F(x)`` for every position and letter, exact,
  in batched forwards; for a causal target only positions before it can matter, so only those
  are computed (the rest are 0 by causality).

The repeat expert mixes in guesses from the whole record (R1), which are not a differentiable
function of the window: gradients (saliency, IG) explain the network alone. Mutagenesis can
include it: given a :class:`~engine.models.repeats.RepeatContinuation` (the expert having read
the record up to the window), every variant's target is computed from the mixture
``p' = (1 - w_s) p + w_s [v = v̂]`` with the expert's guesses for that variant
(``repeats=True`` in the result).

Models: the byte-level models (``model.embed``) and the patch-level model (hyena-blt), whose
targets come from its byte decoder: its byte embedding (``encoder.byte_embed``) is replaced
the same way, and its patch starts are given (``patch_starts``, window coordinates, from the
entropy model it was trained with) and held at the reference's: a mutant that would move a
boundary is read with the boundaries where they were, and gradients pass through the pooling,
the global model and the decoder's cross-attention but not through the (discrete) patcher.
Hash n-gram embeddings, when the model has them, are a lookup of the bytes read (along IG's
path, the reference's bytes throughout, so completeness holds).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from engine.analysis.suffix import SuffixRunner
from engine.analysis.suffix import supports as suffix_supports
from engine.errors import InputError
from engine.models.repeats import RepeatContinuation, mix_log_probs
from engine.tokenizers import ByteTokenizer

BOS = ByteTokenizer.BOS
DNA = b"ACGT"
TARGETS = ("surprisal", "region", "entropy")
METHODS = ("saliency", "ig", "ism")


@dataclass(frozen=True)
class Target:
    """What is explained: ``kind`` in TARGETS at ``position`` (a region: [position, end))."""

    kind: str
    position: int
    end: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in TARGETS:
            raise InputError(f"target must be one of {', '.join(TARGETS)}, not {self.kind!r}")
        if self.kind == "region" and (self.end is None or self.end <= self.position):
            raise InputError("a region target needs an end after its start")

    def last_input(self, n: int) -> int:
        """One past the last base the target can depend on (causality)."""
        if self.kind == "surprisal":
            return self.position
        if self.kind == "region":
            return min(n, self.end - 1)
        return min(n, self.position + 1)

    def rows(self) -> int:
        """One past the last row of the log-probabilities (n + 1, V) the target reads."""
        if self.kind == "surprisal":
            return self.position + 1
        if self.kind == "region":
            return self.end
        return self.position + 2

    def check(self, n: int) -> None:
        last = self.end if self.kind == "region" else self.position + 1
        if self.position < 0 or last > n:
            raise InputError(f"the target lies outside the window of {n:,} bytes")
        if self.kind == "entropy" and self.position >= n:
            raise InputError("an entropy target must lie inside the window")


@dataclass(frozen=True)
class Attribution:
    """Per-base scores ``values`` (n,), per-letter scores ``matrix`` (n, A) over
    ``alphabet``, the target's value ``F(x)`` and, for IG, the completeness delta."""

    method: str
    target: Target
    alphabet: bytes
    values: np.ndarray
    matrix: np.ndarray
    output: float
    delta: float | None = None
    repeats: bool = False  # whether the repeat expert is part of what is explained


def alphabet_for(window: np.ndarray) -> bytes:
    """ACGT when the window holds only those bases, else every byte value."""
    return DNA if np.isin(window, np.frombuffer(DNA, np.uint8)).all() else bytes(range(256))


def one_hot(window: np.ndarray, alphabet: bytes, dtype=torch.float32) -> torch.Tensor:
    """(n, A) one-hot of ``window`` over ``alphabet``; a byte outside it is refused."""
    index = np.full(256, -1, np.int64)
    index[np.frombuffer(alphabet, np.uint8)] = np.arange(len(alphabet))
    codes = index[window]
    if (codes < 0).any():
        bad = int(np.flatnonzero(codes < 0)[0])
        raise InputError(f"byte 0x{int(window[bad]):02x} at offset {bad} is not in the alphabet")
    out = torch.zeros(len(window), len(alphabet), dtype=dtype)
    out[torch.arange(len(window)), torch.from_numpy(codes)] = 1
    return out


def _embedding(model: nn.Module) -> nn.Embedding:
    """The byte embedding the one-hot input replaces: ``embed`` (hyena, attention) or the
    patch-level model's ``encoder.byte_embed``."""
    embed = getattr(model, "embed", None)
    if embed is None and hasattr(model, "encoder"):
        embed = getattr(model.encoder, "byte_embed", None)
    if not isinstance(embed, nn.Embedding):
        raise InputError("attribution explains the byte-level models (hyena, attention) and "
                         "the patch-level model (hyena-blt); this model has no byte embedding "
                         "to replace")
    return embed


def is_patch_level(model: nn.Module) -> bool:
    """Whether ``model`` reads patch starts (the hyena-blt model)."""
    return hasattr(model, "encoder") and hasattr(model, "starts_for")


def stream_starts(patch_starts: np.ndarray | None, n: int) -> torch.Tensor | None:
    """Patch starts (1, n + 1) of the stream ``[BOS, b_0 .. b_{n-1}]``: BOS starts a patch,
    then the window's ``patch_starts`` (n,) as given; None stays None."""
    if patch_starts is None:
        return None
    flags = np.asarray(patch_starts, dtype=bool)
    if flags.shape != (n,):
        raise InputError(f"{len(flags):,} patch-start flags for a window of {n:,} bytes")
    return torch.from_numpy(np.concatenate([[True], flags]))[None]


def stream_ids(x: torch.Tensor, alphabet: bytes) -> torch.Tensor:
    """Token ids (B, n + 1) of the stream ``[BOS, b_0 .. b_{n-1}]`` for one-hot windows ``x``
    (B, n, A): each base is the alphabet's letter its row puts most weight on."""
    letters = torch.tensor(list(alphabet))
    body = letters[x.detach().argmax(dim=-1)]
    return torch.cat([torch.full((len(x), 1), BOS, dtype=torch.long), body], dim=1)


def log_probs(model: nn.Module, x: torch.Tensor, alphabet: bytes,
              starts: torch.Tensor | None = None,
              read: np.ndarray | None = None) -> torch.Tensor:
    """Log-probabilities (B, n + 1, V) for one-hot windows ``x`` (B, n, A): the model's
    embedding lookup is replaced by ``[W[BOS], x @ W[alphabet]]`` (a forward hook); a
    patch-level model also gets the stream's patch ``starts`` (1, n + 1) from
    :func:`stream_starts` (None: its static patches). The token ids the model sees besides
    (hash n-grams read them) are the letters of ``x``, or the bytes ``read`` (n,)."""
    embed = _embedding(model)
    weight = embed.weight
    letters = torch.tensor(list(alphabet))
    rows = weight[letters]  # (A, d)
    b = x.shape[0]
    embedded = torch.cat([weight[BOS].expand(b, 1, -1), x.to(weight.dtype) @ rows], dim=1)
    ids = stream_ids(x, alphabet)
    if read is not None:
        ids[:, 1:] = torch.from_numpy(np.asarray(read, dtype=np.int64))
    handle = embed.register_forward_hook(lambda _m, _i, _o: embedded)
    try:
        if is_patch_level(model):
            logits = model(ids, None if starts is None else starts.expand(b, -1))
        else:
            logits = model(ids)
    finally:
        handle.remove()
    return torch.log_softmax(logits, dim=-1)


def target_value(lp: torch.Tensor, ids: torch.Tensor, target: Target) -> torch.Tensor:
    """The target (B,) from log-probabilities ``lp`` (B, n + 1, V) and byte ids (n,)."""
    if target.kind == "surprisal":
        return lp[:, target.position, ids[target.position]]
    if target.kind == "region":
        t = torch.arange(target.position, target.end)
        return lp[:, t, ids[t]].sum(dim=1)
    row = lp[:, target.position + 1]
    return -(row.exp() * row).sum(dim=-1)


def _objective(model: nn.Module, window: np.ndarray, alphabet: bytes, target: Target,
               repeats: RepeatContinuation | None = None,
               starts: torch.Tensor | None = None, read: np.ndarray | None = None
               ) -> Callable[[torch.Tensor], torch.Tensor]:
    """``F(x)`` for one-hot windows ``x`` (B, n, A); with ``repeats``, of the mixture (R1)
    with the expert's guesses for each window (``x`` must then be exactly one-hot)."""
    ids = torch.from_numpy(window.astype(np.int64))
    if repeats is None:
        return lambda x: target_value(log_probs(model, x, alphabet, starts, read), ids, target)
    letters = np.frombuffer(alphabet, np.uint8)
    return lambda x: target_value(
        _mixed(log_probs(model, x, alphabet, starts), letters[x.argmax(dim=-1).numpy()],
               repeats), ids, target)


def _mixed(lp: torch.Tensor, windows: np.ndarray, repeats: RepeatContinuation) -> torch.Tensor:
    """(R1) over log-probabilities ``lp`` (B, r, V), rows 0..r-1, with the expert's guesses
    for the byte ``windows`` (B, n)."""
    pred, state = repeats.guesses(windows)
    rows = lp.shape[1]
    pred = torch.from_numpy(pred[:, :rows].astype(np.int64))
    weights = torch.from_numpy(repeats.weights)
    weight = torch.where(pred >= 0, weights[torch.from_numpy(state[:, :rows].astype(np.int64))],
                         0.0)
    return mix_log_probs(lp, pred, weight)


def _suffix_objective(runner: SuffixRunner, window: np.ndarray, alphabet: bytes,
                      target: Target, repeats: RepeatContinuation | None
                      ) -> Callable[[torch.Tensor, int], torch.Tensor]:
    """``F`` of one-hot variants ``x`` (B, n, A) that equal the window before base ``i``,
    recomputing only stream positions ``[i + 1, rows)`` (:mod:`engine.analysis.suffix`)."""
    ids = torch.from_numpy(window.astype(np.int64))

    def f(x: torch.Tensor, i: int) -> torch.Tensor:
        stream = stream_ids(x, alphabet)
        lp = runner.log_probs(stream, i + 1, target.rows())
        if repeats is not None:
            lp = _mixed(lp, stream[:, 1:].numpy().astype(np.uint8), repeats)
        return target_value(lp, ids, target)

    return f


def _prepare(model: nn.Module, window: np.ndarray, target: Target, alphabet: bytes | None,
             patch_starts: np.ndarray | None = None
             ) -> tuple[np.ndarray, bytes, torch.Tensor, torch.Tensor | None]:
    window = np.asarray(window, dtype=np.uint8)
    limit = getattr(model, "max_len", None)
    if limit is not None and len(window) + 1 > limit:  # the window and its BOS
        raise InputError(f"a window of {len(window):,} bytes is longer than the model's "
                         f"context: at most {limit - 1:,}")
    target.check(len(window))
    alphabet = alphabet or alphabet_for(window)
    dtype = _embedding(model).weight.dtype
    if patch_starts is not None and not is_patch_level(model):
        raise InputError("patch starts are for the patch-level model (hyena-blt) only")
    return (window, alphabet, one_hot(window, alphabet, dtype),
            stream_starts(patch_starts, len(window)))


@torch.no_grad()
def _value(f, x: torch.Tensor) -> float:
    return float(f(x[None])[0])


def saliency(model: nn.Module, window: np.ndarray, target: Target,
             alphabet: bytes | None = None,
             patch_starts: np.ndarray | None = None) -> Attribution:
    """Input x gradient, mean-corrected over the alphabet (module docstring)."""
    window, alphabet, x, starts = _prepare(model, window, target, alphabet, patch_starts)
    f = _objective(model, window, alphabet, target, starts=starts)
    x = x[None].clone().requires_grad_(True)
    value = f(x)[0]
    (grad,) = torch.autograd.grad(value, x)
    g = grad[0] - grad[0].mean(dim=-1, keepdim=True)  # (n, A)
    values = (g * x[0].detach()).sum(dim=-1)
    return Attribution("saliency", target, alphabet, values.numpy().astype(np.float64),
                       g.numpy().astype(np.float64), float(value.detach()))


def saliency_batch(model: nn.Module, windows: np.ndarray, target: Target,
                   alphabet: bytes = DNA, batch: int = 16,
                   check: Callable[[], None] | None = None,
                   progress: Callable[[int, int], None] | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Saliency of one region ``target`` in each of many equal-length windows (B, n):
    ``(values (B, n), mean-corrected gradients (B, n, A))``, as :func:`saliency` gives each
    one. Windows in a batch are independent (the model normalises nothing across rows), so
    one backward of the summed targets gives every window's own gradient."""
    if target.kind != "region":
        raise InputError("batched saliency explains region targets")
    windows = np.atleast_2d(np.asarray(windows, dtype=np.uint8))
    n_windows, n = windows.shape
    _prepare(model, windows[0], target, alphabet)  # length and target checks
    if is_patch_level(model):
        raise InputError("batched saliency explains the byte-level models; the patch-level "
                         "model's windows each have their own patch starts")
    values = np.zeros((n_windows, n))
    grads = np.zeros((n_windows, n, len(alphabet)))
    t = torch.arange(target.position, target.end)
    for lo in range(0, n_windows, batch):
        if check is not None:
            check()
        rows = windows[lo:lo + batch]
        x = torch.stack([one_hot(row, alphabet) for row in rows]).requires_grad_(True)
        ids = torch.from_numpy(rows.astype(np.int64))
        lp = log_probs(model, x, alphabet)
        value = lp[:, t][torch.arange(len(rows))[:, None], torch.arange(len(t))[None, :],
                         ids[:, t]].sum()
        (grad,) = torch.autograd.grad(value, x)
        g = grad - grad.mean(dim=-1, keepdim=True)
        grads[lo:lo + len(rows)] = g.numpy()
        values[lo:lo + len(rows)] = (g * x.detach()).sum(dim=-1).numpy()
        if progress is not None:
            progress(min(lo + batch, n_windows), n_windows)
    return values, grads


def integrated_gradients(model: nn.Module, window: np.ndarray, target: Target,
                         steps: int = 32, batch: int = 16,
                         alphabet: bytes | None = None,
                         patch_starts: np.ndarray | None = None) -> Attribution:
    """IG from the uniform baseline by ``steps``-point Gauss-Legendre quadrature; ``delta``
    is the completeness error ``sum a - (F(x) - F(x0))``."""
    window, alphabet, x, starts = _prepare(model, window, target, alphabet, patch_starts)
    f = _objective(model, window, alphabet, target, starts=starts, read=window)
    x0 = torch.full_like(x, 1.0 / len(alphabet))
    nodes, weights = np.polynomial.legendre.leggauss(steps)
    alphas, weights = (nodes + 1) / 2, weights / 2  # on [0, 1]
    total = torch.zeros_like(x)
    for i in range(0, steps, batch):
        a = torch.tensor(alphas[i:i + batch], dtype=x.dtype)[:, None, None]
        w = torch.tensor(weights[i:i + batch], dtype=x.dtype)[:, None, None]
        path = (x0 + a * (x - x0)).requires_grad_(True)  # (s, n, A)
        (grad,) = torch.autograd.grad(f(path).sum(), path)
        total += (w * grad).sum(dim=0)
    matrix = (x - x0) * total
    values = matrix.sum(dim=-1)
    fx, fx0 = _value(f, x), _value(f, x0)
    delta = float(values.sum()) - (fx - fx0)
    return Attribution("ig", target, alphabet, values.numpy().astype(np.float64),
                       matrix.numpy().astype(np.float64), fx, delta)


@torch.no_grad()
def mutagenesis(model: nn.Module, window: np.ndarray, target: Target, batch: int = 64,
                positions: tuple[int, int] | None = None,
                alphabet: bytes | None = None,
                repeats: RepeatContinuation | None = None,
                patch_starts: np.ndarray | None = None, suffix: bool = True,
                check: Callable[[], None] | None = None,
                progress: Callable[[int, int], None] | None = None) -> Attribution:
    """Exact ISM: ``matrix[i, k] = F(x, b_i = k) - F(x)`` over ``positions`` (default: every
    base the target can depend on); ``values[i]`` is the mean effect of changing base i.
    ``check()`` runs before each batch (it may raise to cancel), ``progress(done, total)``
    after it, counting mutants.
    With ``repeats`` (the expert resumed at the window's first byte, see
    :func:`repeat_continuation`) F is the mixture's, the expert re-run on every variant.
    A Hyena LM recomputes only what each batch changes (:mod:`engine.analysis.suffix`)
    unless ``suffix=False`` (full forwards, the same numbers: for comparison)."""
    window, alphabet, x, starts = _prepare(model, window, target, alphabet, patch_starts)
    if repeats is not None and repeats.length != len(window):
        raise InputError(f"the repeat expert was resumed for a window of {repeats.length:,} "
                         f"bytes, not {len(window):,}")
    f = _objective(model, window, alphabet, target, repeats, starts)
    on_suffix = None  # a Hyena LM: recompute only what each batch of mutants changes
    if suffix and starts is None and suffix_supports(model):
        stream = torch.from_numpy(np.concatenate([[BOS], window.astype(np.int64)]))
        on_suffix = _suffix_objective(SuffixRunner(model, stream), window, alphabet, target,
                                   repeats)
    n, size = x.shape
    lo, hi = positions if positions is not None else (0, target.last_input(n))
    hi = min(hi, target.last_input(n))  # later bases cannot change a causal target
    reference = _value(f, x)
    codes = x.argmax(dim=-1)
    variants = [(i, k) for i in range(lo, hi) for k in range(size) if k != int(codes[i])]
    matrix = torch.zeros(n, size, dtype=torch.float64)
    for start in range(0, len(variants), batch):
        if check is not None:
            check()
        chunk = variants[start:start + batch]  # in base order: chunk[0] is the first changed
        xs = x.expand(len(chunk), n, size).clone()
        rows = torch.arange(len(chunk))
        where = torch.tensor([i for i, _ in chunk])
        xs[rows, where] = 0
        xs[rows, where, torch.tensor([k for _, k in chunk])] = 1
        out = f(xs) if on_suffix is None else on_suffix(xs, chunk[0][0])
        out = out.to(torch.float64) - reference
        for (i, k), v in zip(chunk, out.tolist(), strict=True):
            matrix[i, k] = v
        if progress is not None:
            progress(start + len(chunk), len(variants))
    values = matrix.sum(dim=-1) / max(1, size - 1)
    return Attribution("ism", target, alphabet, values.numpy(), matrix.numpy(), reference,
                       repeats=repeats is not None)


def repeat_continuation(model: nn.Module, prefix: np.ndarray, start: int,
                        record_length: int) -> RepeatContinuation | None:
    """The model's repeat expert (None if it has none) having read ``prefix[:start]``, the
    record's first bytes up to the window ``prefix[start:]``, for :func:`mutagenesis`."""
    config = getattr(model, "repeats", None)
    if config is None:
        return None
    return RepeatContinuation(prefix, start, config, record_length)


def attribute(model: nn.Module, window: np.ndarray, target: Target, method: str = "saliency",
              **options) -> Attribution:
    """One of METHODS on ``window`` for ``target``."""
    if method not in METHODS:
        raise InputError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    run = {"saliency": saliency, "ig": integrated_gradients, "ism": mutagenesis}[method]
    model.eval()
    return run(model, window, target, **options)
