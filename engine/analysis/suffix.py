"""Exact mutagenesis of a Hyena model in a fraction of the forwards' cost: recompute only the
suffix a mutant changes.

A mutant that differs from the reference window only at stream positions ``>= a`` has, in a
causal model, the reference's activations at every position ``< a``. Everything in a Hyena
block but its long convolution is pointwise in position or reads the last ``K - 1`` positions
(the short convolution), so only positions ``[a, end)`` need computing, given the
reference's block inputs just before ``a``. The long convolution is linear in its input, so
over the suffix

    y'[p] = sum_{s <= p} h[p - s] v'[s] + d v'[p]
          = y[p] + sum_{a <= s <= p} h[p - s] (v'[s] - v[s]) + d (v'[p] - v[p])     (S1)

the reference's output plus a causal convolution of the difference over the suffix alone
(only ``end - a`` taps, one FFT of twice that length). For a target at t with the 200 bases
before it mutated, the suffixes average about 100 positions against the window's 1,025, so
a batch costs about a tenth of full forwards; the numbers equal full forwards up to float
rounding (``tests/engine/analysis/test_suffix.py``). Models: :class:`~engine.models.hyena.
HyenaLM` with :class:`~engine.models.hyena.HyenaBlock` blocks (the bundled nucleotide, protein
and text models); every other model runs full forwards (:func:`supports`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from engine.models.hyena import HyenaBlock, HyenaLM, fft_causal_conv, short_causal_conv


def supports(model: nn.Module) -> bool:
    """Whether ``model`` is a Hyena LM whose blocks this module can run on a suffix."""
    return (isinstance(model, HyenaLM) and all(type(b) is HyenaBlock for b in model.blocks)
            and not model.training)


@dataclass
class _BlockCache:
    x: torch.Tensor  # (L, d) the block's input
    v: list[torch.Tensor]  # per long convolution: its input (L, d)
    y: list[torch.Tensor]  # per long convolution: its output (L, d)


def _mixer(block: HyenaBlock, x: torch.Tensor, skip_rows: int,
           cache: _BlockCache | None, a: int, record: _BlockCache | None) -> torch.Tensor:
    """The block's Hyena mixer on inputs ``x`` (B, m + S, d) at positions ``[a - m, a + S)``,
    for the ``S`` positions from ``a`` (``skip_rows`` = m rows of the reference's inputs
    only feed the short convolution). With ``cache`` the long convolutions follow (S1);
    without, they run whole (the reference: then ``record`` keeps their inputs and outputs)."""
    op = block.mixer
    z = short_causal_conv(op.in_proj(block.ln1(x)), op.short_filter)[:, skip_rows:]
    *gates, v = z.split(op.d, dim=-1)
    length = z.shape[1]
    h = op.filter(length).view(op.order - 1, op.d, -1)  # taps [0, S): the same at any length
    skip = op.filter.bias.view(op.order - 1, op.d)
    for o, gate in enumerate(reversed(gates[1:])):
        v = v * gate
        if cache is None:
            out = fft_causal_conv(v, h[o].T, skip[o])
            if record is not None:
                record.v.append(v[0])
                record.y.append(out[0])
        else:
            ref_v, ref_y = cache.v[o][a:a + length], cache.y[o][a:a + length]
            out = ref_y + fft_causal_conv(v - ref_v, h[o].T, skip[o])  # (S1)
        v = out
    return op.out_proj(v * gates[0])


def _block(block: HyenaBlock, x: torch.Tensor, skip_rows: int, cache: _BlockCache | None,
           a: int, record: _BlockCache | None = None) -> torch.Tensor:
    """x + Hyena(LN(x)), then + MLP(LN(x)), over the rows after ``skip_rows``."""
    y = x[:, skip_rows:] + _mixer(block, x, skip_rows, cache, a, record)
    return y + block.mlp(block.ln2(y))


class SuffixRunner:
    """A Hyena LM's activations on a reference stream ``ids`` (L,), and the logits of variants
    that differ from it only from a position on (module docstring)."""

    @torch.no_grad()
    def __init__(self, model: HyenaLM, ids: torch.Tensor) -> None:
        if not supports(model):
            raise ValueError("suffix runs need a Hyena LM of Hyena blocks in eval mode")
        self.model = model
        self.ids = ids.reshape(-1)
        self.margin = max(b.mixer.short_filter.kernel_size[0] for b in model.blocks) - 1
        x = model.embed(self.ids)[None]  # (1, L, d)
        self.caches: list[_BlockCache] = []
        for block in model.blocks:
            cache = _BlockCache(x[0], [], [])
            x = _block(block, x, 0, None, 0, cache)
            self.caches.append(cache)
        self.logits = self._head(x)[0]  # (L, V)

    def _head(self, x: torch.Tensor) -> torch.Tensor:
        model = self.model
        return F.linear(model.ln_f(x), model.embed.weight)[..., : model.config.vocab_size]

    @torch.no_grad()
    def suffix_logits(self, variants: torch.Tensor, a: int, end: int) -> torch.Tensor:
        """Logits (B, end - a, V) at stream positions ``[a, end)`` of ``variants`` (B, L),
        each equal to the reference before position ``a``."""
        if not 0 <= a < end <= len(self.ids):
            raise ValueError(f"suffix [{a}, {end}) outside a stream of {len(self.ids)}")
        lo = max(0, a - self.margin)  # the short convolutions read m rows back
        keep = a - lo
        x = self.model.embed(variants[:, a:end])  # (B, S, d)
        for block, cache in zip(self.model.blocks, self.caches, strict=True):
            before = cache.x[lo:a].expand(len(variants), keep, -1)
            x = _block(block, torch.cat([before, x], dim=1), keep, cache, a)
        return self._head(x)

    @torch.no_grad()
    def log_probs(self, variants: torch.Tensor, a: int, end: int) -> torch.Tensor:
        """Log-probabilities (B, end, V) over stream positions ``[0, end)``: the reference's
        before ``a``, the variants' own from it."""
        lp = torch.log_softmax(self.logits[:end], dim=-1).expand(len(variants), end, -1)
        if a >= end:  # nothing read before end changed
            return lp
        return torch.cat([lp[:, :a], torch.log_softmax(self.suffix_logits(variants, a, end),
                                                       dim=-1)], dim=1)


__all__ = ["SuffixRunner", "supports"]
