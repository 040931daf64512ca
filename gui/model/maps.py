"""The Maps panel's state, Qt-free: which patch-level model, which window was inspected, its
maps, and which map is shown (kind, layer, head, channel, expert).

A map shown is a 2-D slice of one of :func:`engine.analysis.inspect.inspect_locus`'s maps
(named as in :mod:`engine.analysis.map_table`): the batch row 0, one head or the mean over
heads, one Hyena channel, all experts or one. Its ``[row, column]`` keeps the file's
``[query or output, key or input]`` order, so attention rows and router rows sum to 1 as they
do there. Each axis knows
where its cells lie on screen (:class:`Axis`: bytes at their record position, patches,
latents, experts and segments by number) and how to say a cell in words, which gives the
hover text (``patch 12 (1,950-1,956) ← byte 1,953: 0.42``) and where a click moves the tracks.

The jobs (:func:`load_maps_model`, :func:`inspect_window`, :func:`view_job`) are plain
functions of a request and a :class:`~gui.model.jobs.Reporter`; the maps controller
(:mod:`gui.controllers.maps`) runs them on the shared runner.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from engine.analysis.map_table import MAP_KINDS, MapKind, map_kind
from engine.errors import BytescopeError, ModelError
from engine.io.records import Record

from .events import Signal, SignalGroup, SignalGroupDescriptor, batch, evented

if TYPE_CHECKING:
    from engine.analysis.inspect import Inspection
    from engine.analysis.summaries import InspectionSummary
    from engine.models.latent import LatentLM
    from engine.patch_starts import EntropyPatches

NEEDS_LATENT = "choose a hyena-blt run (bytescope train --arch hyena-blt)"


# The kinds the panel offers: the map table's rows with a ``key``, in the table's order. A
# MapKind there holds how it is shown (label, relation, levels, colour-bar words, noun).
KINDS: tuple[MapKind, ...] = tuple(kind for kind in MAP_KINDS if kind.key is not None)
KIND_BY_KEY = {kind.key: kind for kind in KINDS}
PATCH_AXES = ("patch", "query_patch", "key_patch", "out_patch", "in_patch")
AXIS_TITLES = {"patch": "patch", "query_patch": "query patch", "key_patch": "key patch",
               "out_patch": "output patch", "in_patch": "input patch",
               "latent": "latent (start, patch)", "segment": "segment"}


def _layer_number(layer: str) -> tuple[int, str]:
    digits = re.findall(r"\d+", layer)
    return (int(digits[-1]) if digits else -1, layer)


# ---------------------------------------------------------------------------------------------
# what was inspected


@dataclass(frozen=True, eq=False)
class LoadedModel:
    """A patch-level model ready to inspect, with the facts the panel needs from its config."""

    spec: str
    model: LatentLM
    folder: Path
    limit: int  # longest window in bytes: min(MAX_WINDOW, max_len)
    segment_len: int  # patches per memory segment
    patches: EntropyPatches  # the run's patch source; remembers the last record's starts


@dataclass(frozen=True, eq=False)
class InspectedWindow:
    """An inspection with the model facts needed to read it (memory segment length)."""

    inspection: Inspection
    segment_len: int

    @property
    def record_id(self) -> str:
        return self.inspection.record

    @property
    def start(self) -> int:
        return self.inspection.start

    @property
    def end(self) -> int:
        return self.inspection.end

    def kinds(self) -> list[MapKind]:
        """The kinds this inspection holds, in :data:`KINDS` order."""
        return [kind for kind in KINDS if self.layers(kind.key)]

    def layers(self, kind: str) -> list[str]:
        """Layer names (``layer0``...) of a kind, in model order; ``[""]`` for a kind without
        layers (the decoder, memory); ``[]`` when the inspection lacks it."""
        prefix = KIND_BY_KEY[kind].name
        found = []
        for name in self.inspection.maps:
            if name == prefix:
                found.append("")
            elif name.startswith(prefix + "/"):
                found.append(name[len(prefix) + 1:])
        return sorted(found, key=_layer_number)

    def moe_layers(self) -> list[str]:
        return self.layers("router")

    def n_heads(self, kind: str, layer: str) -> int:
        """Heads of a map (0: it has none)."""
        name = map_name(kind, layer)
        axes = map_kind(name).axes
        return int(self.inspection.maps[name].shape[axes.index("head")]) if "head" in axes \
            else 0

    def n_channels(self, kind: str, layer: str) -> int:
        """Channels of a map (0: it has none)."""
        name = map_name(kind, layer)
        axes = map_kind(name).axes
        return int(self.inspection.maps[name].shape[axes.index("channel")]) \
            if "channel" in axes else 0

    def n_experts(self, kind: str, layer: str) -> int:
        """Experts (or memories) of a routing map (0: not a routing map)."""
        name = map_name(kind, layer)
        return int(self.inspection.maps[name].shape[-1]) if map_kind(name).axes[-1] == "expert" \
            else 0

    # -- coordinates in words --------------------------------------------------------------------
    def patch_words(self, i: int) -> str:
        s, e = int(self.inspection.patch_starts[i]), int(self.inspection.patch_ends[i])
        return f"patch {i} ({s:,}-{e:,})"

    def segment_patches(self, s: int) -> tuple[int, int]:
        """Patches ``[a, b)`` of memory segment ``s``."""
        n = self.inspection.n_patches
        return min(s * self.segment_len, n), min((s + 1) * self.segment_len, n)

    def segment_bytes(self, s: int) -> tuple[int, int]:
        a, b = self.segment_patches(s)
        if a >= b:
            return self.end, self.end
        return int(self.inspection.patch_starts[a]), int(self.inspection.patch_ends[b - 1])

    def item_words(self, axis: str, item: int, noun: str = "expert") -> str:
        """Cell ``item`` of an axis named as in the maps file, in words."""
        if axis == "byte":
            return f"byte {self.start + item:,}"
        if axis in PATCH_AXES:
            return self.patch_words(item)
        if axis == "latent":  # latent 0: the decoder's start state; latent c: patch c - 1
            return "start state" if item == 0 else self.patch_words(item - 1)
        if axis == "expert":
            return f"{noun} {item}"
        if axis == "segment":
            a, b = self.segment_patches(item)
            s, e = self.segment_bytes(item)
            patches = f"patch {a}" if b - a == 1 else f"patches {a}-{b - 1}"
            return f"segment {item} ({patches}, {s:,}-{e:,})"
        return f"{axis} {item}"

    def item_position(self, axis: str, item: int) -> float | None:
        """The record position a cell stands for (a byte, a patch's or segment's centre)."""
        if axis == "byte":
            return self.start + item + 0.5
        if axis == "latent":
            if item == 0:
                return float(self.start)
            axis, item = "patch", item - 1
        if axis in PATCH_AXES:
            return (float(self.inspection.patch_starts[item])
                    + float(self.inspection.patch_ends[item])) / 2
        if axis == "segment":
            s, e = self.segment_bytes(item)
            return (s + e) / 2
        return None


def map_name(kind: str, layer: str) -> str:
    """The map (table name) a selection's kind key and layer name."""
    return KIND_BY_KEY[kind].dataset(layer)


# ---------------------------------------------------------------------------------------------
# the map shown


@dataclass(frozen=True)
class MapSelection:
    """Which map: kind, layer (``""`` if the kind has none), head (None: mean over heads),
    expert (None: all experts), Hyena channel."""

    kind: str = "encoder_cross"
    layer: str = ""
    head: int | None = None
    expert: int | None = None
    channel: int = 0


@dataclass(frozen=True)
class Axis:
    """An axis of a shown map: ``count`` cells; cell ``i`` is item ``first + i`` of the
    maps-file axis ``name`` and spans ``[origin + i, origin + i + 1)`` on screen (bytes at
    their record position, latents from -1 so that latent c sits at patch c - 1)."""

    name: str
    count: int
    origin: float
    first: int = 0

    def index_at(self, x: float) -> int | None:
        i = math.floor(x - self.origin)
        return i if 0 <= i < self.count else None

    def title(self, record_id: str, noun: str) -> str:
        if self.name == "byte":
            return f"byte ({record_id})"
        if self.name == "expert":
            return noun
        return AXIS_TITLES.get(self.name, self.name)


@dataclass(frozen=True, eq=False)
class MapView:
    """A map as shown: ``data[row, column]`` (float32, C-contiguous) and its axes."""

    name: str  # maps-file dataset
    kind: MapKind
    data: np.ndarray
    rows: Axis
    cols: Axis
    levels: tuple[float, float]
    head: int | None
    expert: int | None
    channel: int | None

    @property
    def title(self) -> str:
        head = "" if self.head is None else f", head {self.head}"
        if self.head is None and "attention" in self.name:
            head = ", mean over heads"
        channel = "" if self.channel is None else f", channel {self.channel}"
        expert = "" if self.expert is None else f", {self.kind.noun} {self.expert}"
        return f"{self.name}{head}{channel}{expert}"


def _axis(name: str, count: int, window: InspectedWindow, first: int = 0) -> Axis:
    if name == "byte":
        return Axis(name, count, float(window.start))
    if name == "latent":
        return Axis(name, count, -1.0)
    return Axis(name, count, float(first), first)


def normalise(window: InspectedWindow | None, selection: MapSelection) -> MapSelection:
    """The nearest selection the inspection holds (a kind it has, a layer of that kind, a head
    and expert in range); the same selection without an inspection."""
    if window is None:
        return selection
    kinds = [kind.key for kind in window.kinds()]
    if not kinds:
        return selection
    kind = selection.kind if selection.kind in kinds else kinds[0]
    layers = window.layers(kind)
    layer = selection.layer if selection.layer in layers else layers[0]
    heads = window.n_heads(kind, layer)
    head = selection.head if selection.head is not None and selection.head < heads else None
    experts = window.n_experts(kind, layer)
    expert = selection.expert if selection.expert is not None and selection.expert < experts \
        else None
    channel = selection.channel if selection.channel < window.n_channels(kind, layer) else 0
    return MapSelection(kind, layer, head, expert, channel)


def map_view(window: InspectedWindow, selection: MapSelection) -> MapView:
    """The 2-D map a (normalised) selection shows (module docstring)."""
    kind = KIND_BY_KEY[selection.kind]
    name = map_name(selection.kind, selection.layer)
    data = window.inspection.maps[name]
    axes = kind.axes
    if axes[0] == "batch":
        data, axes = data[0], axes[1:]
    head = channel = None
    if axes[0] == "channel":
        channel = selection.channel
        data, axes = data[channel], axes[1:]  # (C, R, C') -> (R, C')
    if axes[0] == "head":
        head = selection.head
        data = data.mean(axis=0) if head is None else data[head]  # (H, R, C) -> (R, C)
        axes = axes[1:]
    first = 0
    expert = selection.expert if axes[-1] == "expert" else None
    if expert is not None:
        data, first = data[:, expert:expert + 1], expert  # that expert's column
    data = np.ascontiguousarray(data, dtype=np.float32)
    rows = _axis(axes[0], data.shape[0], window)
    cols = _axis(axes[1], data.shape[1], window, first)
    if kind.probability:
        levels = (0.0, 1.0)
    elif kind.signed:
        top = float(np.abs(data).max()) if data.size else 0.0
        top = top if top > 0 and math.isfinite(top) else 1.0
        levels = (-top, top)
    else:
        top = float(data.max()) if data.size else 0.0
        levels = (0.0, top if top > 0 and math.isfinite(top) else 1.0)
    return MapView(name, kind, data, rows, cols, levels, head, expert, channel)


def cell_at(view: MapView, x: float, y: float) -> tuple[int, int] | None:
    """``(row, column)`` of the cell at screen data coordinates ``(x, y)``, if any."""
    row, col = view.rows.index_at(y), view.cols.index_at(x)
    if row is None or col is None:
        return None
    return row, col


def describe_cell(window: InspectedWindow, view: MapView, row: int, col: int) -> str:
    """``patch 12 (1,950-1,956) ← byte 1,953: 0.42``: the pair in words, then the value."""
    noun = view.kind.noun
    left = window.item_words(view.rows.name, view.rows.first + row, noun)
    right = window.item_words(view.cols.name, view.cols.first + col, noun)
    return f"{left} {view.kind.relation} {right}: {float(view.data[row, col]):.3g}"


def cell_position(window: InspectedWindow, view: MapView, row: int, col: int) -> float:
    """Where a click on a cell moves the tracks: its byte (the column's, else the row's), else
    the patch the column names, else the row's patch or segment."""
    for axis, i in ((view.cols, col), (view.rows, row)):
        if axis.name == "byte":
            return window.item_position("byte", i)
    for axis, i in ((view.cols, col), (view.rows, row)):
        position = window.item_position(axis.name, axis.first + i)
        if position is not None:
            return position
    return (window.start + window.end) / 2


@dataclass(frozen=True, eq=False)
class RoutingView:
    """What the routing track draws: each patch's router probabilities over the experts."""

    record_id: str
    layer: str
    starts: np.ndarray  # (P,) record coordinates
    ends: np.ndarray
    probs: np.ndarray  # (P, E) float32, rows sum to 1


def routing_view(window: InspectedWindow, layer: str) -> RoutingView | None:
    if layer not in window.moe_layers():
        return None
    probs = window.inspection.maps[map_name("router", layer)][0]  # (1, P, E) -> (P, E)
    return RoutingView(window.record_id, layer, window.inspection.patch_starts,
                       window.inspection.patch_ends, np.ascontiguousarray(probs, np.float32))


# ---------------------------------------------------------------------------------------------
# the state


class MapsEvents(SignalGroup):
    """Events that are not a field of :class:`MapsModel`."""

    routing = Signal(object)  # the RoutingView of the inspection's routing layer, or None


@dataclass(eq=False)
class MapsModel:
    """The Maps panel's state (module docstring): an evented dataclass, events on change
    only. ``view`` is the map shown, computed from ``inspection`` and ``selection`` by the
    maps controller in a job (a mean over heads is O(map))."""

    events: ClassVar[SignalGroupDescriptor] = evented(
        MapsEvents, identity=("loaded", "inspection", "view"))
    model_spec: str = ""
    loaded: LoadedModel | None = None
    window: tuple[str, int, int] | None = None  # asked for (record, start, end)
    inspection: InspectedWindow | None = None
    selection: MapSelection = field(default_factory=lambda: MapSelection())
    view: MapView | None = None
    routing_layer: str = ""
    status: str = ""
    follow: bool = True
    visible: bool = False  # the panel is on screen: only then does it follow the view

    def set_model_spec(self, spec: str) -> None:
        spec = spec.strip()
        if spec != self.model_spec:
            with batch(self):
                self.model_spec = spec
                self.set_loaded(None)
                self.set_inspection(None)

    def set_loaded(self, loaded: LoadedModel | None) -> None:
        self.loaded = loaded

    @property
    def limit(self) -> int | None:
        return self.loaded.limit if self.loaded is not None else None

    def set_window(self, window: tuple[str, int, int] | None) -> None:
        self.window = window

    def set_inspection(self, inspection: InspectedWindow | None) -> None:
        if inspection is self.inspection:
            return
        with batch(self):
            self.inspection = inspection
            if inspection is not None:
                layers = inspection.moe_layers()
                if self.routing_layer not in layers:
                    self.routing_layer = layers[0] if layers else ""
            self.selection = normalise(inspection, self.selection)
            if inspection is None:
                self.view = None
        self.events.routing.emit(self.routing())

    def set_selection(self, selection: MapSelection) -> None:
        self.selection = normalise(self.inspection, selection)
        if self.selection.kind == "router" and self.selection.layer != self.routing_layer:
            self.set_routing_layer(self.selection.layer)

    def set_view(self, view: MapView | None) -> None:
        self.view = view

    def set_routing_layer(self, layer: str) -> None:
        if layer != self.routing_layer:
            self.routing_layer = layer
            self.events.routing.emit(self.routing())

    def set_status(self, text: str) -> None:
        self.status = text

    def set_follow(self, follow: bool) -> None:
        self.follow = bool(follow)

    def set_visible(self, visible: bool) -> None:
        self.visible = bool(visible)

    def routing(self) -> RoutingView | None:
        if self.inspection is None:
            return None
        return routing_view(self.inspection, self.routing_layer)

    def summary(self) -> InspectionSummary | None:
        return self.inspection.inspection.summary if self.inspection is not None else None


def is_latent_spec(spec: str) -> bool:
    """Whether ``spec`` names a patch-level (hyena-blt) model; reads its ``config.json`` only."""
    import json

    from engine.models.checkpoint import CONFIG_NAME
    from engine.models.defaults import resolve_model_path

    try:
        folder = resolve_model_path(spec)
        return json.loads((folder / CONFIG_NAME).read_text()).get("arch") == "hyena-blt"
    except (BytescopeError, OSError, ValueError):
        return False


# ---------------------------------------------------------------------------------------------
# jobs


def use_worker_threads() -> None:
    """Torch threads for this job's thread: every core but one, which the GUI thread keeps.
    Under OpenMP the count is per thread (ARCHITECTURE.md), so the GUI thread's is untouched.
    It matters: on 2 cores shared with a training run, a tiny model's forward took 1.4 s with
    two contending threads and 3 ms with one."""
    import torch

    from engine.threads import spare_threads

    torch.set_num_threads(spare_threads())


def load_maps_model(spec: str, reporter) -> LoadedModel:
    """Load a patch-level model; :class:`ModelError` (saying what to choose) for any other."""
    from engine.analysis.inspect import MAX_WINDOW, load_latent, patch_source_for

    if not spec:
        raise ModelError(f"no model: {NEEDS_LATENT}")
    use_worker_threads()
    try:
        model, folder = load_latent(spec)
    except BytescopeError as error:
        raise ModelError(f"{error.message}: {NEEDS_LATENT}", path=error.path) from None
    reporter.check()
    cfg = model.config
    return LoadedModel(spec, model, folder, min(MAX_WINDOW, cfg.max_len), cfg.segment_len,
                       patch_source_for(folder))


@dataclass(frozen=True, eq=False)
class InspectRequest:
    loaded: LoadedModel
    path: str
    record: Record
    start: int
    end: int


def latent_spec_or_none(spec: str, reporter=None) -> str | None:
    """``spec`` when it names a patch-level model, else None (reads a ``config.json``)."""
    return spec if spec and is_latent_spec(spec) else None


def view_job(window: InspectedWindow, selection: MapSelection, reporter=None
             ) -> tuple[InspectedWindow, MapSelection, MapView]:
    """The map of ``selection`` in ``window`` (a slice, or a mean over heads: O(map))."""
    return window, selection, map_view(window, selection)


def inspect_window(request: InspectRequest, reporter) -> InspectedWindow:
    """Every map of ``record[start:end]`` (:func:`engine.analysis.inspect.inspect_locus`)."""
    from engine.analysis.inspect import inspect_locus

    loaded = request.loaded
    use_worker_threads()
    inspection = inspect_locus(loaded.model, loaded.folder, request.path, request.record,
                               request.start, request.end, patches=loaded.patches,
                               cancel=reporter.cancel)
    return InspectedWindow(inspection, loaded.segment_len)


__all__ = ["KINDS", "Axis", "InspectRequest", "InspectedWindow", "LoadedModel", "MapKind",
           "MapSelection", "MapView", "MapsModel", "RoutingView", "cell_at", "cell_position",
           "describe_cell", "inspect_window", "is_latent_spec", "latent_spec_or_none",
           "load_maps_model", "map_view", "normalise", "routing_view", "view_job"]
