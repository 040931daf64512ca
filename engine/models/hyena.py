"""A causal byte-level language model built from order-2 Hyena blocks (HyenaDNA-style).

Read top to bottom: config, the implicit long filter (positional features -> sine MLP ->
exponential decay window), the FFT convolution, the Hyena operator, the residual block, the LM.

The Hyena operator of order N (Poli et al. 2023, Eq. 3; HyenaDNA Eq. 3.1 for N = 2):

    x_0, ..., x_{N-1}, v = ShortConv(W_in u)                     projections, causal kernel 3
    v <- h_n * (x_n . v) + D_n . (x_n . v)     for n = N-1, ..., 1   long causal convolutions
    y = W_out (x_0 . v)

so for N = 2, ``y = D_{x_0} (T_h + D) D_{x_1} v`` with ``T_h`` the causal Toeplitz matrix of
the implicit filter ``h`` (see :func:`hyena_matrix`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .adamw import byte_model_no_decay, parameter_groups


@dataclass
class HyenaConfig:
    """Every hyperparameter of :class:`HyenaLM`, saved as JSON beside the weights."""

    arch: str = "hyena"
    vocab_size: int = 259  # 256 bytes + PAD, BOS, EOS (engine.tokenizers.ByteTokenizer)
    d_model: int = 128
    n_layers: int = 4
    max_len: int = 1024  # longest input of one forward pass; scoring chunks longer inputs
    order: int = 2
    filter_order: int = 64  # width of the implicit filter's MLP
    pos_emb_dim: int = 5  # positional features: t plus (pos_emb_dim - 1) / 2 cos/sin bands
    filter_freq: float = 10.0  # initial frequency of the sine activations
    short_filter_size: int = 3
    mlp_ratio: float = 4.0
    dropout: float = 0.0
    decay_fast: float = 0.3  # the fastest-decaying channel reaches decay_target at t = 0.3
    decay_slow: float = 1.5
    decay_target: float = 1e-2
    decay_shift: float = 0.0  # HyenaDNA's training code uses 0 (its standalone file 0.05)

    @property
    def padded_vocab(self) -> int:
        """Embedding rows, rounded up to a multiple of 8 as HyenaDNA does."""
        return (self.vocab_size + 7) // 8 * 8


# --------------------------------------------------------------------------------------------
# the implicit long filter


class Sin(nn.Module):
    """sin(w . x) with a learnable frequency per feature."""

    def __init__(self, width: int, freq: float) -> None:
        super().__init__()
        self.freq = nn.Parameter(freq * torch.ones(1, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sin(self.freq * x)


class HyenaFilter(nn.Module):
    """h(t) = MLP(z(t)) . (exp(-|delta_c| t) + shift): one long causal filter per channel.

    z(t) = [t, cos(2 pi f_k n / L_max), -sin(2 pi f_k n / L_max)] with t = n / (L_max - 1);
    the decay rates delta_c span log(target)/slow .. log(target)/fast across channels, so some
    channels look far back and others only locally.
    """

    def __init__(self, cfg: HyenaConfig, channels: int) -> None:
        super().__init__()
        bands = (cfg.pos_emb_dim - 1) // 2
        t = torch.linspace(0, 1, cfg.max_len)[:, None]  # (L_max, 1)
        f = torch.linspace(1e-4, bands - 1, bands)[None, :]  # (1, bands)
        w = 2 * math.pi * torch.arange(cfg.max_len)[:, None] / cfg.max_len
        self.register_buffer("z", torch.cat([t, torch.cos(f * w), -torch.sin(f * w)], dim=-1))
        self.register_buffer("t", t)
        deltas = torch.linspace(
            math.log(cfg.decay_target) / cfg.decay_slow,
            math.log(cfg.decay_target) / cfg.decay_fast,
            channels,
        )
        self.register_buffer("deltas", deltas.abs()[None, :])  # (1, channels)
        self.shift = cfg.decay_shift
        width = cfg.filter_order
        self.act = Sin(width, cfg.filter_freq)  # one frequency vector, shared by all 3 layers
        self.fc_in = nn.Linear(1 + 2 * bands, width)
        self.fc_hidden = nn.ModuleList(nn.Linear(width, width) for _ in range(2))
        self.fc_out = nn.Linear(width, channels, bias=False)
        self.bias = nn.Parameter(torch.randn(channels))  # the skip term D

    def forward(self, length: int) -> torch.Tensor:
        h = self.act(self.fc_in(self.z[:length]))  # (L, width)
        for fc in self.fc_hidden:
            h = self.act(fc(h))
        h = self.fc_out(h)  # (L, channels)
        h = h * (torch.exp(-self.t[:length] * self.deltas) + self.shift)
        return h.transpose(0, 1)  # (channels, L)


def fft_causal_conv(u: torch.Tensor, k: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
    """y[t] = sum_{s <= t} k[t - s] u[s] + d u[t], per channel, via FFT of size 2L.

    Zero-padding to 2L turns the FFT's circular convolution into a linear one, so no output
    sees the future. ``u`` (B, L, C), ``k`` (L, C), ``d`` (C,): time on dim 1, channels last,
    the layout the projections produce. Computed in at least float32 (half-precision FFTs are
    inaccurate and limited to powers of two).
    """
    length = u.shape[1]
    n = 2 * length
    dtype = torch.promote_types(u.dtype, torch.float32)
    u_f = torch.fft.rfft(u.to(dtype), n=n, dim=1)  # (B, n/2 + 1, C)
    k_f = torch.fft.rfft(k.to(dtype), n=n, dim=0)  # (n/2 + 1, C)
    y = torch.fft.irfft(u_f * k_f, n=n, dim=1)[:, :length]
    return (y + u * d).to(u.dtype)


def short_causal_conv(z: torch.Tensor, conv: nn.Conv1d) -> torch.Tensor:
    """Depthwise causal convolution along time: y[t] = b + sum_j w[j] z[t - K + 1 + j].

    The same maths as ``conv`` with K - 1 zeros of left padding (Conv1d is a
    cross-correlation), as K shifted multiply-adds on (B, L, C) written into one output: no
    padded copy, no transposes around a grouped Conv1d (profiled as the scorer's hot spots).
    """
    taps = conv.weight.shape[-1]
    w = conv.weight[:, 0, :]  # (C, K)
    y = torch.addcmul(conv.bias, z, w[:, -1])  # the current step's tap, plus the bias
    for lag in range(1, min(taps, z.shape[1])):  # earlier steps; the zero padding is implicit
        y[:, lag:] += z[:, :-lag] * w[:, -1 - lag]
    return y


# --------------------------------------------------------------------------------------------
# the operator and the block


class HyenaOperator(nn.Module):
    """Order-N Hyena mixer: projections, short causal conv, N-1 gated long convolutions."""

    def __init__(self, cfg: HyenaConfig) -> None:
        super().__init__()
        d, n = cfg.d_model, cfg.order
        self.d, self.order = d, n
        self.in_proj = nn.Linear(d, (n + 1) * d)
        # Holds the depthwise kernel's parameters; applied by short_causal_conv.
        self.short_filter = nn.Conv1d(
            (n + 1) * d, (n + 1) * d, kernel_size=cfg.short_filter_size, groups=(n + 1) * d
        )
        self.filter = HyenaFilter(cfg, (n - 1) * d)
        self.out_proj = nn.Linear(d, d)
        self.dropout = nn.Dropout(cfg.dropout)

    def projections(self, u: torch.Tensor) -> list[torch.Tensor]:
        """[x_0, ..., x_{N-1}, v], each (B, L, d), after the short causal convolution."""
        z = short_causal_conv(self.in_proj(u), self.short_filter)  # (B, L, (N+1)d)
        return list(z.split(self.d, dim=-1))

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        *x, v = self.projections(u)  # x[0] is the outer gate
        h = self.filter(u.shape[1]).view(self.order - 1, self.d, -1)  # (N-1, d, L)
        skip = self.filter.bias.view(self.order - 1, self.d)
        for o, gate in enumerate(reversed(x[1:])):
            v = self.dropout(v * gate)
            v = fft_causal_conv(v, h[o].T, skip[o])  # (B, L, d)
        return self.out_proj(v * x[0])


class MLP(nn.Module):
    def __init__(self, d: int, ratio: float, dropout: float) -> None:
        super().__init__()
        self.fc1 = nn.Linear(d, int(ratio * d))
        self.fc2 = nn.Linear(int(ratio * d), d)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.fc2(F.gelu(self.fc1(x), approximate="tanh")))


class HyenaBlock(nn.Module):
    """Pre-norm residual block: x + Hyena(LN(x)), then x + MLP(LN(x))."""

    def __init__(self, cfg: HyenaConfig) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(cfg.d_model)
        self.mixer = HyenaOperator(cfg)
        self.ln2 = nn.LayerNorm(cfg.d_model)
        self.mlp = MLP(cfg.d_model, cfg.mlp_ratio, cfg.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.mixer(self.ln1(x))
        return x + self.mlp(self.ln2(x))


# --------------------------------------------------------------------------------------------
# the language model


class HyenaLM(nn.Module):
    """Token ids (B, L) -> next-token logits (B, L, vocab_size); logits[:, t] predict t + 1.

    ``Block`` is the only thing the attention baseline changes (``AttentionLM.Block``).
    """

    Block: type[nn.Module] = HyenaBlock

    def __init__(self, cfg) -> None:
        super().__init__()
        self.config = cfg
        self.embed = nn.Embedding(cfg.padded_vocab, cfg.d_model)
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(self.Block(cfg) for _ in range(cfg.n_layers))
        self.ln_f = nn.LayerNorm(cfg.d_model)
        self.apply(self._init_weights)
        for name, p in self.named_parameters():  # GPT-2 scaling of residual projections
            if name.endswith(("out_proj.weight", "fc2.weight")):
                nn.init.normal_(p, std=0.02 / math.sqrt(2 * cfg.n_layers))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, std=0.02)

    @property
    def max_len(self) -> int:
        return self.config.max_len

    def forward(self, idx: torch.Tensor, *, return_aux: bool = False,
                ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Logits (B, L, vocab_size); with ``return_aux``, ``(logits, aux_loss)`` as every model
        gives the Trainer (the loss to add to the cross-entropy: zero, a byte model has none)."""
        length = idx.shape[1]
        if length > self.config.max_len:
            raise ValueError(
                f"input of {length} tokens exceeds max_len {self.config.max_len}; "
                "score long inputs with engine.scoring, which chunks them with overlap"
            )
        logits = F.linear(self.hidden(idx), self.embed.weight)  # tied head: (B, L, vocab)
        logits = logits[..., : self.config.vocab_size]
        return (logits, logits.new_zeros((), dtype=torch.float32)) if return_aux else logits

    def hidden(self, idx: torch.Tensor) -> torch.Tensor:
        """The last block's states after the final norm, (B, L, d_model): what the tied head
        reads, and what a task head (engine/models/heads.py) reads instead."""
        x = self.drop(self.embed(idx))  # (B, L, d)
        for block in self.blocks:
            x = block(x)
        return self.ln_f(x)

    def optimizer_groups(self, weight_decay: float) -> list[dict]:
        """AdamW groups: no decay on norms, biases, the embedding or the Hyena filter MLP."""
        return parameter_groups(self, weight_decay, byte_model_no_decay)

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())


def hyena_matrix(op: HyenaOperator, u: torch.Tensor, channel: int) -> torch.Tensor:
    """The order-2 operator of one channel as an (L, L) matrix: y_c = H v_c.

    H = D_{x_0} (T_h + D) D_{x_1}, with T_h[t, s] = h[t - s] for t >= s (causal Toeplitz).
    ``u`` (1, L, d) is the operator's input; ``v`` is the value projection after the short
    convolution (``op.projections(u)[-1][0, :, channel]``).
    """
    if op.order != 2:
        raise ValueError("hyena_matrix materialises order-2 operators")
    length = u.shape[1]
    x0, x1, _ = op.projections(u)
    h = op.filter(length)[channel]  # (L,)
    lag = torch.arange(length)[:, None] - torch.arange(length)[None, :]
    toeplitz = torch.where(lag >= 0, h[lag.clamp(min=0)], torch.zeros((), dtype=h.dtype))
    toeplitz = toeplitz + op.filter.bias[channel] * torch.eye(length, dtype=h.dtype)
    return x0[0, :, channel][:, None] * toeplitz * x1[0, :, channel][None, :]
