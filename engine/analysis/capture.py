"""Reading a patch-level model's maps at its hook points.

``with capture_maps(model) as maps: model(idx, starts)`` fills ``maps`` with every map whose
row in :mod:`.map_table` names a hook point: a forward hook on each
:class:`~engine.models.latent.HookPoint` stores the tensor passing through under the map's
name, as a CPU NumPy array (float32 whatever the model's dtype; ids int64; flags bool), in the
order the forward reaches them. The last forward inside the block wins. The hooks are removed
when the block ends, so outside it a hook point is an identity call and nothing is copied.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from functools import partial

import numpy as np
import torch
from torch import nn

from engine.models.latent import HookPoint, LatentLM

from .map_table import MAP_KINDS, MapKind, UnknownMap, layer_name

# (path pattern, row): "{layer}" in a row's hook stands for a global block's index
_HOOKS: tuple[tuple[re.Pattern, MapKind], ...] = tuple(
    (re.compile(re.escape(kind.hook).replace(r"\{layer\}", r"(?P<layer>\d+)")), kind)
    for kind in MAP_KINDS if kind.hook is not None
)


def to_numpy(x: torch.Tensor) -> np.ndarray:
    """A captured map: detached, CPU, float32 (integers and booleans keep their type)."""
    x = x.detach()
    return (x.float() if x.is_floating_point() else x).cpu().numpy()


def map_for_hook(path: str) -> str:
    """The map a hook point at module path ``path`` gives (``global_model.blocks.1.mixer.
    hook_weights`` -> ``attention/global/layer1``); :class:`UnknownMap` if no row names it."""
    for pattern, kind in _HOOKS:
        match = pattern.fullmatch(path)
        if match is not None:
            if "layer" in pattern.groupindex:
                return kind.dataset(layer_name(int(match["layer"])))
            return kind.dataset(layer_name(0) if kind.layered else "")
    raise UnknownMap(f"hook point {path!r} has no row in engine.analysis.map_table")


def hook_points(model: nn.Module) -> dict[str, HookPoint]:
    """Map name -> the hook point it is read from, for every hook point of ``model``."""
    return {map_for_hook(path): module for path, module in model.named_modules()
            if isinstance(module, HookPoint)}


def _keep(maps: dict[str, np.ndarray], name: str, _module: nn.Module, _args: tuple,
          output: torch.Tensor) -> None:
    maps[name] = to_numpy(output)


@contextlib.contextmanager
def capture_maps(model: LatentLM) -> Iterator[dict[str, np.ndarray]]:
    """Fill a dict with the maps of every forward inside the block (module docstring).

    B rows, H heads, L bytes, P patches, E experts, k memories (or experts per patch for
    ``top_k``), S segments, m slots; each map's axes are its row's in :mod:`.map_table`:
    ``patches/{starts,ids,valid}``, ``attention/encoder_cross/layer0`` (B, H, P, L),
    ``attention/global/layerI`` (B, H, P, P), ``attention/decoder_cross`` (B, H, L, P + 1),
    ``routing/{router_probs,top_k,top_k_weights}/layerI`` (B, P, E or k),
    ``memory/{write_probs,gates,read_weights}`` (B, S, k), ``memory/slot_attention``
    (B, P, m), ``memory/states`` (B, S, k, m, d_global).
    """
    maps: dict[str, np.ndarray] = {}
    handles = []
    try:
        for name, point in hook_points(model).items():
            handles.append(point.register_forward_hook(partial(_keep, maps, name)))
        yield maps
    finally:
        for handle in handles:
            handle.remove()
