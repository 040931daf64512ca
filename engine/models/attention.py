"""A sliding-window attention transformer: the comparison baseline for the Hyena byte model.

BLT's entropy model is such a transformer (causal attention over the last ``window`` bytes).
Pre-norm blocks, rotary position embeddings, the same MLP and tied head as
:mod:`engine.models.hyena`, so that the two differ only in the mixer.

Sliding-window attention is computed blockwise: the sequence is cut into blocks of ``window``
tokens and each block attends to itself and the block before it, masked to

    key s visible from query t  iff  0 <= t - s < window,

so time and memory grow as L * window, not L^2.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .hyena import MLP, HyenaLM


@dataclass
class AttentionConfig:
    """Every hyperparameter of :class:`AttentionLM`, saved as JSON beside the weights."""

    arch: str = "attention"
    vocab_size: int = 259
    d_model: int = 128
    n_layers: int = 4
    n_heads: int = 4
    window: int = 512  # each byte sees itself and the window - 1 bytes before it
    max_len: int = 1024
    mlp_ratio: float = 4.0
    dropout: float = 0.0
    rope_base: float = 10_000.0

    @property
    def padded_vocab(self) -> int:
        return (self.vocab_size + 7) // 8 * 8


def rotary(x: torch.Tensor, base: float) -> torch.Tensor:
    """Rotate pairs of features by position-dependent angles (RoPE). x: (B, H, L, hd)."""
    length, hd = x.shape[-2], x.shape[-1]
    inv = base ** (-torch.arange(0, hd, 2, device=x.device, dtype=torch.float32) / hd)
    angles = torch.arange(length, device=x.device, dtype=torch.float32)[:, None] * inv  # (L, hd/2)
    cos, sin = angles.cos().to(x.dtype), angles.sin().to(x.dtype)
    x1, x2 = x[..., 0::2], x[..., 1::2]
    return torch.stack([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1).flatten(-2)


def sliding_window_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, window: int
) -> torch.Tensor:
    """Causal attention restricted to the last ``window`` positions, blockwise. (B, H, L, hd)."""
    b, h, length, hd = q.shape
    w = min(window, length)
    pad = (-length) % w
    if pad:
        q, k, v = (F.pad(x, (0, 0, 0, pad)) for x in (q, k, v))
    nb = q.shape[2] // w
    qb = q.view(b, h, nb, w, hd)
    kb, vb = k.view(b, h, nb, w, hd), v.view(b, h, nb, w, hd)
    # keys of block i: blocks i-1 and i (block -1 is zeros and fully masked)
    k2 = torch.cat([F.pad(kb, (0, 0, 0, 0, 1, 0))[:, :, :-1], kb], dim=3)  # (B, H, nb, 2w, hd)
    v2 = torch.cat([F.pad(vb, (0, 0, 0, 0, 1, 0))[:, :, :-1], vb], dim=3)
    qpos = torch.arange(w, device=q.device)[:, None] + w  # query offset within the 2w span
    kpos = torch.arange(2 * w, device=q.device)[None, :]
    lag = qpos - kpos
    mask = (lag >= 0) & (lag < window)  # (w, 2w)
    first = mask.clone()
    first[:, :w] = False  # block 0 has no previous block
    masks = torch.stack([first] + [mask] * (nb - 1))  # (nb, w, 2w)
    out = F.scaled_dot_product_attention(qb, k2, v2, attn_mask=masks)
    return out.reshape(b, h, nb * w, hd)[:, :, :length]


class SlidingWindowAttention(nn.Module):
    def __init__(self, cfg: AttentionConfig) -> None:
        super().__init__()
        self.n_heads, self.window, self.rope_base = cfg.n_heads, cfg.window, cfg.rope_base
        self.qkv = nn.Linear(cfg.d_model, 3 * cfg.d_model)
        self.out_proj = nn.Linear(cfg.d_model, cfg.d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, length, d = x.shape
        q, k, v = self.qkv(x).split(d, dim=-1)
        q, k, v = (t.view(b, length, self.n_heads, -1).transpose(1, 2) for t in (q, k, v))
        q, k = rotary(q, self.rope_base), rotary(k, self.rope_base)  # (B, H, L, hd)
        y = sliding_window_attention(q, k, v, self.window)
        return self.out_proj(y.transpose(1, 2).reshape(b, length, d))


class AttentionBlock(nn.Module):
    def __init__(self, cfg: AttentionConfig) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(cfg.d_model)
        self.mixer = SlidingWindowAttention(cfg)
        self.ln2 = nn.LayerNorm(cfg.d_model)
        self.mlp = MLP(cfg.d_model, cfg.mlp_ratio, cfg.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.mixer(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class AttentionLM(HyenaLM):
    """Token ids (B, L) -> next-token logits (B, L, vocab_size): HyenaLM's embedding, tied head,
    initialisation, ``forward(idx, return_aux=...)`` and ``optimizer_groups`` (no decay on
    norms, biases or the embedding) around sliding-window attention blocks."""

    Block = AttentionBlock
