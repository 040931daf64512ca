"""The table of maps: every map of a patch-level model that analysis makes, one row each.

A map's name is ``<group>/<kind>``; a kind with one map per block is stored as
``<group>/<kind>/layerI`` (I the global block; the pooling's single cross-attention is
``layer0``, the name the maps file has used since version 1). That one name is the key of a
capture (:func:`engine.analysis.capture.capture_maps`), the dataset path in the maps file
(:mod:`engine.analysis.maps_file`) and what the Maps panel selects (:mod:`gui.model.maps`).

A row (:class:`MapKind`) says what the array is (``axes``, ``dtype``, ``means``), where it
comes from (``hook``: the :class:`~engine.models.latent.LatentLM` hook point it is read from,
``{layer}`` standing for a global block's index; None for the maps analysis computes) and how
the Maps panel shows it (``key``, ``label``, ``relation``, ``levels``, ``value``, ``noun``).
Square maps are ``[row, column] = [query or output, key or input]``; attention rows and
router probabilities sum to 1 over their last axis.

Axis names the maps file checks against the window: ``byte`` (one per byte), ``*patch`` (one
per patch), ``latent`` (one more: entry 0 is the decoder's start state, entry c patch c - 1).

Adding a map: a row here (and, when it reads a tensor no hook point passes yet, a
``hook_*`` :class:`~engine.models.latent.HookPoint` in the model). With a ``key`` the Maps
panel offers it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Levels = Literal["max", "probability", "signed"]


class UnknownMap(ValueError):
    """A map name no row of the table has (a programming error, so no user-facing class)."""


@dataclass(frozen=True)
class MapKind:
    """One kind of map (module docstring)."""

    name: str  # "<group>/<kind>"; layered kinds add "/layerI"
    axes: tuple[str, ...]
    dtype: str  # what a capture holds whatever the model's dtype: float32, int64 or bool
    means: str  # one line
    hook: str | None = None  # LatentLM module path of its hook point; None: computed/derived
    layered: bool = True  # one map per block ("/layerI") or one per model
    stored: bool = True  # written to the maps file; False: the file's coords/ say it instead
    # how the Maps panel shows it; key None: not offered there
    key: str | None = None  # what a selection names (MapSelection.kind)
    label: str = ""
    relation: str = "←"  # between a row and a column in words: "←" reads from, "→" routed to
    levels: Levels = "max"  # colour levels: 0..1, -m..m (m = max |value|) or 0..the maximum
    value: str = ""  # what a cell holds (the colour bar's label)
    noun: str = "expert"  # what the expert axis counts

    @property
    def group(self) -> str:
        return self.name.split("/")[0]

    @property
    def probability(self) -> bool:
        """Colour levels 0..1 (router and memory probabilities)."""
        return self.levels == "probability"

    @property
    def signed(self) -> bool:
        """Levels -m..m on a diverging colour map (the sign matters)."""
        return self.levels == "signed"

    def dataset(self, layer: str | int = "") -> str:
        """The name of this kind's map of ``layer`` (``"layer1"`` or 1; ``""``: unlayered)."""
        if isinstance(layer, int):
            layer = layer_name(layer)
        return f"{self.name}/{layer}" if layer else self.name


def layer_name(index: int) -> str:
    return f"layer{index}"


_F, _I, _B = "float32", "int64", "bool"
ATTENTION = "attention weight"

MAP_KINDS: tuple[MapKind, ...] = (
    # the patches (kept as record coordinates in the maps file's coords/)
    MapKind("patches/starts", ("batch", "byte"), _B, "True where a patch starts",
            "hook_patch_starts", layered=False, stored=False),
    MapKind("patches/ids", ("batch", "byte"), _I, "the patch each byte belongs to",
            "hook_patch_ids", layered=False, stored=False),
    MapKind("patches/valid", ("batch", "patch"), _B,
            "False for padding patches of rows with fewer patches", "hook_patch_valid",
            layered=False, stored=False),
    # attention
    MapKind("attention/encoder_cross", ("batch", "head", "patch", "byte"), _F,
            "patch queries over their bytes (0 outside the pooling window)",
            "pooling.cross.hook_weights", key="encoder_cross",
            label="Encoder cross-attention (patch ← bytes)", value=ATTENTION),
    MapKind("attention/decoder_cross", ("batch", "head", "byte", "latent"), _F,
            "bytes over [start state, patches 0..P-1]", "decoder.cross.hook_weights",
            layered=False, key="decoder_cross",
            label="Decoder cross-attention (byte ← patches)", value=ATTENTION),
    MapKind("attention/global", ("batch", "head", "query_patch", "key_patch"), _F,
            "causal attention of an attention block over patches",
            "global_model.blocks.{layer}.mixer.hook_weights", key="global",
            label="Global attention (patch ← patches)", value=ATTENTION),
    # Hyena operators over patches, materialised by engine.analysis.hyena_maps
    MapKind("hyena/mean_abs_h", ("out_patch", "in_patch"), _F,
            "mean over channels of |H|, H = D_x0 (T_h + D) D_x1", key="hyena",
            label="Hyena mean |H| (patch ← patches)", value="mean |H| over channels"),
    MapKind("hyena/h", ("channel", "out_patch", "in_patch"), _F, "H per channel, y = H v",
            key="hyena_h", label="Hyena H of one channel (patch ← patches)",
            levels="signed", value="H (y = H v)"),
    # mixture-of-experts routing
    MapKind("routing/router_probs", ("batch", "patch", "expert"), _F, "p = softmax(z / tau)",
            "global_model.blocks.{layer}.mlp.hook_router_probs", key="router",
            label="Router probabilities (patch → experts)", relation="→",
            levels="probability", value="router probability"),
    # No hook: capture does not write logits; the row keeps such a file writable (version 1).
    MapKind("routing/router_logits", ("batch", "patch", "expert"), _F, "router logits z"),
    MapKind("routing/top_k", ("batch", "patch", "rank"), _I,
            "chosen expert ids, rank 0 = top-1", "global_model.blocks.{layer}.mlp.hook_top_k"),
    MapKind("routing/top_k_weights", ("batch", "patch", "rank"), _F,
            "the chosen experts' gates, renormalised to sum to 1",
            "global_model.blocks.{layer}.mlp.hook_top_k_weights"),
    # memory experts (one memory layer per model)
    MapKind("memory/write_probs", ("batch", "segment", "expert"), _F,
            "memory write router p per segment", "global_model.memory.hook_write_probs",
            layered=False, key="memory_write",
            label="Memory write weights (segment → memories)", relation="→",
            levels="probability", value="write probability", noun="memory"),
    MapKind("memory/read_weights", ("batch", "segment", "expert"), _F,
            "memory read weights pi per segment", "global_model.memory.hook_read_weights",
            layered=False, key="memory_read", label="Memory read weights (segment ← memories)",
            levels="probability", value="read weight", noun="memory"),
    MapKind("memory/gates", ("batch", "segment", "expert"), _F,
            "memory update gates g per segment", "global_model.memory.hook_gates",
            layered=False),
    MapKind("memory/slot_attention", ("batch", "patch", "slot"), _F,
            "each patch's read over the memory slots",
            "global_model.memory.hook_slot_attention", layered=False),
    MapKind("memory/states", ("batch", "segment", "expert", "slot", "channel"), _F,
            "the memories each segment reads", "global_model.memory.hook_states",
            layered=False),
)
KIND_BY_NAME: dict[str, MapKind] = {kind.name: kind for kind in MAP_KINDS}
STORED_GROUPS: tuple[str, ...] = tuple(dict.fromkeys(k.group for k in MAP_KINDS if k.stored))


def map_kind(name: str) -> MapKind:
    """The row of map ``name`` (``<group>/<kind>[/layerI]``); :class:`UnknownMap` if none."""
    kind = KIND_BY_NAME.get("/".join(name.strip("/").split("/")[:2]))
    if kind is None:
        raise UnknownMap(f"no map kind for {name!r} in engine.analysis.map_table "
                         f"(known: {', '.join(KIND_BY_NAME)})")
    return kind


def layer_of(name: str) -> str:
    """``"layer1"`` of ``"attention/global/layer1"``; ``""`` for an unlayered map."""
    return "/".join(name.strip("/").split("/")[2:])
