"""The global model's Hyena operators over patches, as matrices.

For order 2 the operator of channel c over a row's P patches is ``y_c = H_c v_c`` with

    H_c = D_{x_0,c} (T_{h_c} + D_c) D_{x_1,c}        (P, P), lower-triangular

(:func:`engine.models.hyena.hyena_matrix`): ``T_h`` the causal Toeplitz matrix of the implicit
filter, ``D`` its bias, ``x_0, x_1, v`` the operator's projections of what its block's mixer
reads (:func:`mixer_input`). The maps file holds mean_c |H_c| (``hyena/mean_abs_h``) and H of a
few channels (``hyena/h``).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from engine.models.hyena import HyenaOperator, hyena_matrix
from engine.models.latent import LatentLM

from .capture import to_numpy


def hyena_layers(model: LatentLM) -> list[int]:
    """The global blocks whose mixer is a Hyena operator (the others are attention)."""
    return [i for i, block in enumerate(model.global_model.blocks)
            if isinstance(block.mixer, HyenaOperator)]


def _hyena_operator(model: LatentLM, layer: int) -> HyenaOperator:
    mixer = model.global_model.blocks[layer].mixer
    if not isinstance(mixer, HyenaOperator):
        raise ValueError(f"global block {layer} is an attention block, not Hyena")
    return mixer


@torch.no_grad()
def mixer_input(
    model: LatentLM, idx: torch.Tensor, patch_starts: torch.Tensor | None, layer: int
) -> torch.Tensor:
    """u (B, P, d_global): what the mixer of global block ``layer`` reads in this forward."""
    seen: dict[str, torch.Tensor] = {}

    def keep_input(_module: nn.Module, args: tuple) -> None:
        seen["u"] = args[0]

    hook = model.global_model.blocks[layer].mixer.register_forward_pre_hook(keep_input)
    try:
        model(idx, patch_starts)
    finally:
        hook.remove()
    return seen["u"]


def _row_input(model: LatentLM, idx: torch.Tensor, patch_starts: torch.Tensor | None,
               layer: int, row: int) -> torch.Tensor:
    u = mixer_input(model, idx, patch_starts, layer)
    starts = model.starts_for(idx, patch_starts)
    n = int(starts[row].sum())  # the row's own patches; padding patches come after them
    return u[row : row + 1, :n]  # (1, P_row, d_g)


@torch.no_grad()
def hyena_patch_matrix(
    model: LatentLM, idx: torch.Tensor, patch_starts: torch.Tensor | None,
    layer: int, channel: int, row: int = 0,
) -> torch.Tensor:
    """(P, P) H = D_{x_0} (T_h + D) D_{x_1} of one channel of global block ``layer``.

    ``y_c = H v_c`` over the row's patches, v the operator's value projection after its short
    convolution; lower-triangular (patch i reads patches <= i). See
    :func:`engine.models.hyena.hyena_matrix`.
    """
    op = _hyena_operator(model, layer)
    return hyena_matrix(op, _row_input(model, idx, patch_starts, layer, row), channel)


@torch.no_grad()
def hyena_patch_matrices(
    model: LatentLM, idx: torch.Tensor, patch_starts: torch.Tensor | None,
    layer: int, channels: range | list[int], row: int = 0,
) -> torch.Tensor:
    """(C, P, P): :func:`hyena_patch_matrix` for several channels, from one forward."""
    op = _hyena_operator(model, layer)
    u = _row_input(model, idx, patch_starts, layer, row)
    return torch.stack([hyena_matrix(op, u, c) for c in channels])


@torch.no_grad()
def hyena_patch_map(
    model: LatentLM, idx: torch.Tensor, patch_starts: torch.Tensor | None,
    layer: int, row: int = 0, chunk: int = 16,
) -> np.ndarray:
    """(P, P) float32 mean_c |H_c| over the channels of global block ``layer``.

    Built ``chunk`` channels at a time, so memory stays at chunk * P^2.
    """
    op = _hyena_operator(model, layer)
    u = _row_input(model, idx, patch_starts, layer, row)
    n = u.shape[1]
    x0, x1, _ = (t[0] for t in op.projections(u))  # (P, d) each
    h = op.filter(n)[: op.d]  # (d, P): order 2 has one long filter per channel
    position = torch.arange(n, device=u.device)
    lag = position[:, None] - position[None, :]  # (P, P)
    causal = lag >= 0
    eye = torch.eye(n, dtype=h.dtype, device=u.device)
    total = torch.zeros(n, n, dtype=h.dtype, device=u.device)
    for c in range(0, op.d, chunk):
        cs = slice(c, c + chunk)
        toeplitz = torch.where(causal, h[cs][:, lag.clamp(min=0)], 0.0)  # (C, P, P)
        toeplitz = toeplitz + op.filter.bias[cs, None, None] * eye
        H = x0[:, cs].T[:, :, None] * toeplitz * x1[:, cs].T[:, None, :]
        total += H.abs().sum(0)
    return to_numpy(total / op.d)
