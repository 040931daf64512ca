"""Typed inspection summaries: the JSON keeps its keys, reads back, and a typo is an error."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from engine.analysis.capture import capture_maps
from engine.analysis.inspect import Inspection, stored_maps, summarise
from engine.analysis.routing import routing_summary
from engine.analysis.specialisation import expert_share_by_type, patch_feature_types
from engine.analysis.summaries import InspectionSummary, RoutingSummary
from engine.errors import FormatError
from engine.io.records import Feature, MemorySource, Record
from engine.models import build_model, model_config

START, END = 100, 196  # the window: 96 bytes
SMALL = dict(d_local=16, d_global=32, n_heads=2, max_len=128, filter_order=16, mlp_ratio=2.0,
             hash_buckets=64, segment_len=4, memory_slots=2, n_experts=4, top_k=2,
             n_memories=2, global_attention_layers=(1,))


@pytest.fixture(scope="module")
def inspected():
    """A tiny MoE + memory model's maps over a window with a CDS and a tRNA, summarised."""
    torch.manual_seed(0)
    model = build_model(model_config("hyena-blt", "tiny", **SMALL)).eval()
    data = bytes(np.random.default_rng(0).choice(np.frombuffer(b"ACGT", np.uint8), 300))
    features = [Feature("r", 90, 140, 1, "CDS"), Feature("r", 160, 180, -1, "tRNA")]
    record = Record("r", len(data), MemorySource(data), alphabet="dna", features=features)
    window = record.array(START, END)
    flags = np.arange(END - START) % 5 == 0
    with torch.no_grad(), capture_maps(model) as maps:
        model(torch.from_numpy(window.astype(np.int64))[None], torch.from_numpy(flags)[None])
    starts = START + np.flatnonzero(flags)
    inspection = Inspection("r", START, END, "m", starts, np.append(starts[1:], END),
                            stored_maps(maps))
    return summarise(inspection, record, window, model), inspection, record, model


def test_the_json_keeps_the_keys_and_values_the_measures_give(inspected):
    summary, inspection, record, model = inspected
    data = summary.to_json()
    json.dumps(data, allow_nan=False)
    assert list(data) == ["record", "start", "end", "patches", "mean_patch_length",
                          "patch_types", "moe/layer0", "moe/layer1", "memory"]
    assert (data["record"], data["start"], data["end"]) == ("r", START, END)
    assert data["patches"] == inspection.n_patches == 20
    probs = inspection.maps["routing/router_probs/layer1"][0]
    top_k = inspection.maps["routing/top_k/layer1"][0]
    types = patch_feature_types(inspection.patch_starts, inspection.patch_ends,
                                record.features)
    entry = data["moe/layer1"]
    assert list(entry) == [*routing_summary(probs, top_k), "specialisation", "top_kmers"]
    assert {k: entry[k] for k in routing_summary(probs, top_k)} == \
        routing_summary(probs, top_k, alpha=model.config.lb_alpha)
    assert entry["specialisation"] == expert_share_by_type(top_k, types, 4).to_dict()
    assert len(entry["top_kmers"]) == 4
    assert list(data["memory"]) == ["segments", "write", "mean_gate"]
    assert data["memory"]["segments"] == 5  # 20 patches in segments of 4
    assert sum(data["patch_types"].values()) == 20 and data["patch_types"]["CDS"] > 0


def test_fields_are_named_so_a_typo_is_an_attribute_error(inspected):
    summary = inspected[0]
    assert summary.moe["layer0"].routing.load_cv == summary.to_json()["moe/layer0"]["load_cv"]
    assert summary.memory.write.n_experts == 2
    with pytest.raises(AttributeError):
        summary.moe["layer0"].routing.load_vc  # noqa: B018
    with pytest.raises(AttributeError):
        summary.mean_patch_lenght  # noqa: B018


def test_the_summary_reads_back_from_its_json(inspected):
    summary = inspected[0]
    text = json.dumps(summary.to_json())
    back = InspectionSummary.from_json(json.loads(text))
    assert back == summary
    assert json.dumps(back.to_json()) == text


def test_a_summary_without_experts_or_memory_has_none():
    data = {"record": "r", "start": 0, "end": 10, "patches": 2, "mean_patch_length": 5.0,
            "patch_types": {"intergenic": 2}}
    summary = InspectionSummary.from_json(data)
    assert summary.moe == {} and summary.memory is None
    assert summary.to_json() == data


def test_an_unknown_key_in_a_summary_is_named():
    data = routing_summary(np.full((3, 2), 0.5), np.zeros((3, 1), dtype=int))
    with pytest.raises(FormatError, match="'load_kv'"):
        RoutingSummary.from_json({**data, "load_kv": 0})
