"""Look inside a patch-level model at one locus: every map (named and shaped as
:mod:`.map_table` says), with the routing and specialisation summaries (:mod:`.summaries`).
``bytescope inspect`` and the window's Maps panel both call :func:`inspect_locus`.

The window's patches are those the model trains on: the entropy model named in the run's
``config.json`` (``patch_model``, ``patching``), or given, scores the whole record once (cached)
and the patcher cuts it; the window keeps the patches inside it, its first byte starting one.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from engine.errors import InputError, ModelError
from engine.io.records import Record
from engine.loci import format_locus
from engine.models import load_model
from engine.models.defaults import resolve_model_path
from engine.models.latent import LatentLM
from engine.patch_starts import EntropyPatches

from .capture import capture_maps
from .hyena_maps import hyena_layers, hyena_patch_map, hyena_patch_matrices
from .map_table import KIND_BY_NAME, map_kind
from .specialisation import expert_share_by_type, patch_feature_types, top_kmers_per_expert
from .summaries import (
    ExpertLayerSummary,
    InspectionSummary,
    MemorySummary,
    RoutingSummary,
    Specialisation,
)

MAX_WINDOW = 8192  # bytes: maps grow as bytes x patches; a few thousand is what they are for
DEFAULT_PATCHING = {"mode": "entropy", "target_patch_size": 6.0}


@dataclass
class Inspection:
    """The maps of one window (the table's names, batch axis kept), its patches and summary
    (None until :func:`summarise` has run)."""

    record: str
    start: int
    end: int
    model: str
    patch_starts: np.ndarray  # record coordinates
    patch_ends: np.ndarray
    maps: dict[str, np.ndarray] = field(default_factory=dict)
    summary: InspectionSummary | None = None

    @property
    def n_patches(self) -> int:
        return len(self.patch_starts)


def patch_source(model_dir: Path, patch_model: str | None, patching: dict | None
                 ) -> tuple[str, dict]:
    """The entropy model and patcher: given, else the run's (``config.json`` above the
    checkpoint), else ``fast`` and a mean patch length of 6."""
    for folder in (model_dir, *model_dir.parents[:3]):
        config = folder / "config.json"
        if folder != model_dir and config.exists():
            try:
                values = json.loads(config.read_text())
            except ValueError:
                break
            if "patch_model" in values:
                return (patch_model or values["patch_model"],
                        patching or values.get("patching") or DEFAULT_PATCHING)
    return patch_model or "fast", patching or DEFAULT_PATCHING


def patch_source_for(model_dir: str | Path, patch_model: str | None = None,
                     patching: dict | None = None) -> EntropyPatches:
    """The patch starts a model's windows get (see :func:`patch_source`)."""
    return EntropyPatches(*patch_source(Path(model_dir), patch_model, patching))


def load_latent(spec: str | Path) -> tuple[LatentLM, Path]:
    folder = resolve_model_path(spec)
    model = load_model(folder).eval()
    if not isinstance(model, LatentLM):
        raise ModelError(f"inspect needs a patch-level model (--arch hyena-blt); this is "
                         f"{model.config.arch!r}", path=folder)
    return model, folder


def inspect_locus(
    model: LatentLM,
    model_dir: Path,
    path: str | Path,
    record: Record,
    start: int,
    end: int,
    *,
    patch_model: str | None = None,
    patching: dict | None = None,
    hyena: bool = True,
    hyena_channels: int = 8,
    patches: EntropyPatches | None = None,
    cancel: threading.Event | None = None,
) -> Inspection:
    """Run the model once over ``record[start:end]`` with every map captured; for each Hyena
    block also mean |H| over its channels and H itself for its first ``hyena_channels``.
    ``patches`` (from :func:`patch_source_for`) may be kept between calls: it remembers the
    last record's patch starts."""
    if not 0 <= start < end <= record.length:
        raise InputError(f"locus {format_locus(record.id, start, end)} is outside the record "
                         f"({format_locus(record.id, 0, record.length)})")
    limit = min(MAX_WINDOW, model.config.max_len)
    if end - start > limit:
        raise InputError(f"window of {end - start:,} bytes; inspect looks at up to {limit:,} "
                         "at a time (maps grow as bytes x patches)")
    if patches is None:
        patches = patch_source_for(model_dir, patch_model, patching)
    flags = patches(path, record)[start:end].copy()
    flags[0] = True  # the window's first byte starts a patch
    window = record.array(start, end)
    tokens = torch.from_numpy(window.astype(np.int64))[None]
    starts = torch.from_numpy(flags)[None]
    with torch.no_grad(), capture_maps(model) as captured:
        model(tokens, starts)
    if cancel is not None and cancel.is_set():
        from engine.scoring import Cancelled

        raise Cancelled()
    patch_starts = start + np.flatnonzero(flags)
    patch_ends = np.append(patch_starts[1:], end)
    out = Inspection(record.id, start, end, str(model_dir), patch_starts, patch_ends)
    out.maps = stored_maps(captured)
    if hyena:
        mean_abs_h, per_channel = KIND_BY_NAME["hyena/mean_abs_h"], KIND_BY_NAME["hyena/h"]
        for i in hyena_layers(model):
            if cancel is not None and cancel.is_set():
                from engine.scoring import Cancelled

                raise Cancelled()
            out.maps[mean_abs_h.dataset(i)] = hyena_patch_map(model, tokens, starts, i)
            channels = range(min(hyena_channels, model.config.d_global))
            if channels:  # (C, P, P)
                out.maps[per_channel.dataset(i)] = hyena_patch_matrices(
                    model, tokens, starts, i, channels).float().numpy()
    out.summary = summarise(out, record, window, model)
    return out


def stored_maps(captured: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The captured maps the maps file holds: all but the patches, which its coords say."""
    return {name: value for name, value in captured.items() if map_kind(name).stored}


def summarise(inspection: Inspection, record: Record, window: np.ndarray, model: LatentLM
              ) -> InspectionSummary:
    """Routing statistics per MoE layer and memory, and expert specialisation by feature type
    (when the record has CDS/tRNA/rRNA features) with the top 4-mers per expert."""
    cfg = model.config
    maps = inspection.maps
    router_probs, top_k_kind = KIND_BY_NAME["routing/router_probs"], KIND_BY_NAME["routing/top_k"]
    write_probs, gates = KIND_BY_NAME["memory/write_probs"], KIND_BY_NAME["memory/gates"]
    prefix = router_probs.name + "/"
    layers = sorted(name.removeprefix(prefix) for name in maps if name.startswith(prefix))
    features = [f for f in record.features if f.end > inspection.start and
                f.start < inspection.end]
    types = patch_feature_types(inspection.patch_starts, inspection.patch_ends, features)
    experts = {}
    for layer in layers:
        probs = maps[router_probs.dataset(layer)][0]
        top_k = maps[top_k_kind.dataset(layer)][0]
        kmers = top_kmers_per_expert(window, inspection.patch_starts, inspection.patch_ends,
                                     top_k[:, 0], cfg.n_experts, k=4, top=5,
                                     offset=inspection.start)
        experts[layer] = ExpertLayerSummary(
            RoutingSummary.of(probs, top_k, alpha=cfg.lb_alpha),
            Specialisation.of(expert_share_by_type(top_k, types, cfg.n_experts)),
            [[(kmer, count) for kmer, count, _ in rows] for rows in kmers])
    memory = None
    if write_probs.dataset() in maps:
        write = maps[write_probs.dataset()][0]
        memory = MemorySummary(int(write.shape[0]),
                               RoutingSummary.of(write, np.argsort(-write, axis=1)[:, :1]),
                               float(maps[gates.dataset()][0].mean()))
    return InspectionSummary(
        record=record.id, start=inspection.start, end=inspection.end,
        patches=inspection.n_patches,
        mean_patch_length=(inspection.end - inspection.start) / max(inspection.n_patches, 1),
        patch_types={str(t): int((types == t).sum()) for t in np.unique(types)},
        moe=experts, memory=memory)
