"""Quantizers and packings for baked models: small pure functions over tensors.

Equations (BitNet b1.58, Ma et al. 2024, Eq. 1-3; BitNet, Wang et al. 2023, Eq. 4-5; the
official reference code's ``quant_input``):

    (Q1) ternary weights, absmean, one scale per tensor:
         gamma = max(mean |W|, eps),  W_q = RoundClip(W / gamma, -1, 1),  W ~ W_q * gamma
    (Q2) int8 activations, absmax per token (the last dimension):
         s = 127 / max(max_j |x_j|, eps),  x_q = clamp(round(x * s), -128, 127),  x ~ x_q / s
    (Q3) int8 weights, absmax per output channel (row):
         s_r = max(max_j |W_rj|, eps) / 127,  W_q = clamp(round(W / s_r), -127, 127)
    (Q4) straight-through estimator: forward q(x), backward the identity,
         ste(x, q) = x + (q - x).detach()

Packings (``../shared/reference/bitnet.md`` §5): a ternary code ``c`` in {-1, 0, 1} is stored
as ``c + 1`` in {0, 1, 2}; ``pack_2bit`` puts four per byte (value ``i`` of a byte in bits
``2i .. 2i+1``, as bitnet.cpp's I2_S does per block), ``pack_trits`` five per byte in base 3
(3^5 = 243 <= 256: 1.6 bits a weight, 99% of the log2(3) bound).
"""

from __future__ import annotations

import torch

EPS = 1e-5


def ste(x: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """(Q4): ``q`` forward, the gradient of ``x`` backward."""
    return x + (q - x).detach()


def ternary_codes(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(Q1): int8 codes in {-1, 0, 1} and the per-tensor scale gamma (a 0-d float32 tensor)."""
    gamma = w.detach().abs().mean().clamp(min=EPS).float()
    codes = (w.detach() / gamma).round().clamp(-1, 1).to(torch.int8)
    return codes, gamma


def ternary_weight(w: torch.Tensor) -> torch.Tensor:
    """(Q1) dequantized, ``W_q * gamma``, with the STE (Q4): what a W1.58 layer multiplies by
    while it trains (the latent ``w`` keeps full precision)."""
    gamma = w.abs().mean().clamp(min=EPS)
    q = (w / gamma).round().clamp(-1, 1) * gamma
    return ste(w, q)


def int8_activations(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(Q2): int8 values and the per-token scale ``s`` (shape ``x.shape[:-1] + (1,)``)."""
    s = 127.0 / x.detach().abs().amax(dim=-1, keepdim=True).clamp(min=EPS)
    return (x.detach() * s).round().clamp(-128, 127).to(torch.int8), s


def fake_int8_activations(x: torch.Tensor) -> torch.Tensor:
    """(Q2) dequantized, ``x_q / s``, with the STE (Q4)."""
    s = 127.0 / x.abs().amax(dim=-1, keepdim=True).clamp(min=EPS)
    return ste(x, (x * s).round().clamp(-128, 127) / s)


def int8_rows(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(Q3): int8 weights and one float32 scale per row (shape ``(rows,)``)."""
    scale = (w.detach().abs().amax(dim=1).clamp(min=EPS) / 127.0).float()
    q = (w.detach() / scale[:, None]).round().clamp(-127, 127).to(torch.int8)
    return q, scale


def pack_2bit(codes: torch.Tensor) -> torch.Tensor:
    """Ternary codes (any shape) -> uint8, four per byte; the last byte padded with zeros."""
    flat = (codes.reshape(-1).to(torch.int16) + 1).to(torch.uint8)
    pad = (-len(flat)) % 4
    if pad:
        flat = torch.cat([flat, torch.ones(pad, dtype=torch.uint8)])  # code 0 stored as 1
    four = flat.view(-1, 4)
    return four[:, 0] | (four[:, 1] << 2) | (four[:, 2] << 4) | (four[:, 3] << 6)


def unpack_2bit(packed: torch.Tensor, n: int) -> torch.Tensor:
    """The first ``n`` ternary codes (int8) of :func:`pack_2bit`'s bytes."""
    shifts = torch.tensor([0, 2, 4, 6], dtype=torch.uint8)
    values = (packed[:, None] >> shifts) & 3  # (bytes, 4)
    return values.reshape(-1)[:n].to(torch.int8) - 1


_POWERS = torch.tensor([81, 27, 9, 3, 1], dtype=torch.int16)  # 3^4 .. 3^0


def pack_trits(codes: torch.Tensor) -> torch.Tensor:
    """Ternary codes (any shape) -> uint8, five per byte in base 3 (values 0 .. 242)."""
    flat = codes.reshape(-1).to(torch.int16) + 1
    pad = (-len(flat)) % 5
    if pad:
        flat = torch.cat([flat, torch.ones(pad, dtype=torch.int16)])
    return (flat.view(-1, 5) * _POWERS).sum(dim=1).to(torch.uint8)


def unpack_trits(packed: torch.Tensor, n: int) -> torch.Tensor:
    """The first ``n`` ternary codes (int8) of :func:`pack_trits`'s bytes."""
    values = (packed.to(torch.int16)[:, None] // _POWERS) % 3  # (bytes, 5)
    return values.reshape(-1)[:n].to(torch.int8) - 1
