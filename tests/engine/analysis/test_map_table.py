"""The table of maps: every captured map is a row with its axes and dtype, names outside it
are refused, and the maps file round-trips every kind it stores."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import torch

from engine.analysis.capture import capture_maps, hook_points, map_for_hook
from engine.analysis.map_table import KIND_BY_NAME, MAP_KINDS, UnknownMap, layer_of, map_kind
from engine.analysis.maps_file import read_maps, write_maps
from engine.models import build_model, model_config
from engine.models.latent import HookPoint, patch_starts_from_entropies

# every option on: an attention block, MoE in both blocks, memory, hash n-grams
FULL = dict(d_local=16, d_global=32, n_heads=2, max_len=48, filter_order=16, mlp_ratio=2.0,
            local_window=8, max_patch_offset=8, hash_buckets=64, segment_len=3,
            memory_slots=2, hash_ngrams=(2, 3), global_attention_layers=(1,), n_experts=4,
            top_k=2, n_memories=3, pool_window=2, decoder_window=2)


def full_model(dtype=torch.float64):
    torch.manual_seed(0)
    return build_model(model_config("hyena-blt", "tiny", **FULL)).to(dtype).eval()


def captured(model, batch=2, length=48):
    x = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (batch, length)))
    entropies = np.random.default_rng(1).gamma(2.0, 0.6, size=(batch, length))
    starts = torch.from_numpy(patch_starts_from_entropies(entropies, 1.5))
    with torch.no_grad(), capture_maps(model) as maps:
        model(x, starts)
    return maps


def axis_sizes(maps) -> dict[str, int]:
    """What each axis name must count in a capture of ``full_model``."""
    batch, length = maps["patches/ids"].shape
    patches = maps["patches/valid"].shape[1]
    return {"batch": batch, "byte": length, "patch": patches, "query_patch": patches,
            "key_patch": patches, "latent": patches + 1, "head": FULL["n_heads"],
            "rank": FULL["top_k"], "segment": -(-patches // FULL["segment_len"]),
            "slot": FULL["memory_slots"], "channel": FULL["d_global"]}


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_every_captured_map_is_a_row_with_its_axes_and_dtype(dtype):
    maps = captured(full_model(dtype))
    sizes = axis_sizes(maps)
    for name, array in maps.items():
        kind = map_kind(name)
        assert array.dtype == np.dtype(kind.dtype), name
        assert len(kind.axes) == array.ndim, name
        experts = FULL["n_memories"] if kind.group == "memory" else FULL["n_experts"]
        for axis, size in zip(kind.axes, array.shape, strict=True):
            assert size == {**sizes, "expert": experts}[axis], (name, axis)
        assert bool(layer_of(name)) == kind.layered, name


def test_every_hooked_row_is_captured_from_a_model_with_every_option():
    names = set(captured(full_model()))
    hooked = {kind.name for kind in MAP_KINDS if kind.hook is not None}
    assert {map_kind(name).name for name in names} == hooked
    assert {"attention/global/layer1", "routing/router_probs/layer0",
            "routing/top_k/layer1", "attention/encoder_cross/layer0",
            "attention/decoder_cross", "memory/states"} <= names


def test_every_hook_point_of_the_model_names_one_map():
    model = full_model()
    paths = [path for path, module in model.named_modules() if isinstance(module, HookPoint)]
    points = hook_points(model)
    assert len(points) == len(paths)  # no two hook points give the same map
    assert map_for_hook("global_model.blocks.1.mixer.hook_weights") == "attention/global/layer1"
    assert map_for_hook("pooling.cross.hook_weights") == "attention/encoder_cross/layer0"
    assert map_for_hook("decoder.cross.hook_weights") == "attention/decoder_cross"


@pytest.mark.parametrize("name", ["attention/encoder", "routing/router_prob/layer0", "saliency",
                                  "hyena/mean_abs_H"])
def test_a_name_not_in_the_table_raises(name):
    with pytest.raises(UnknownMap, match="no map kind"):
        map_kind(name)


def test_a_hook_point_without_a_row_raises():
    with pytest.raises(UnknownMap, match="no row"):
        map_for_hook("global_model.blocks.0.mixer.hook_values")


def test_gui_rows_say_how_they_are_shown():
    keys = [kind.key for kind in MAP_KINDS if kind.key is not None]
    assert len(set(keys)) == len(keys)
    assert len(KIND_BY_NAME) == len(MAP_KINDS)  # one row per name
    for kind in MAP_KINDS:
        assert kind.means
        assert len(set(kind.axes)) == len(kind.axes), kind.name
        if kind.key is not None:
            assert kind.label and kind.value and kind.relation in "←→" and kind.stored
            assert kind.levels in ("max", "probability", "signed")


def test_the_file_round_trips_every_stored_kind(tmp_path):
    start, end = 500, 512  # 12 bytes in 4 patches
    patch_starts = np.array([500, 503, 507, 510])
    sizes = {"batch": 1, "byte": end - start, "patch": 4, "query_patch": 4, "key_patch": 4,
             "out_patch": 4, "in_patch": 4, "latent": 5, "head": 2, "rank": 2, "segment": 2,
             "slot": 3, "channel": 5, "expert": 3}
    rng = np.random.default_rng(0)
    maps = {}
    for kind in MAP_KINDS:
        if not kind.stored:
            continue
        shape = tuple(sizes[a] for a in kind.axes)
        if kind.dtype == "int64":
            data = rng.integers(0, 3, shape).astype(np.int64)
        else:
            data = rng.random(shape).astype(kind.dtype)
        maps[kind.dataset(1 if kind.layered else "")] = data
    path = write_maps(tmp_path / "maps.h5", maps, record="chrT", start=start, end=end,
                      patch_starts=patch_starts, model="run")
    read, attrs, _ = read_maps(path)
    assert list(read) == list(maps)
    for name, data in maps.items():
        assert read[name].dtype == data.dtype and np.array_equal(read[name], data), name
        assert attrs["axes"][name] == map_kind(name).axes


def test_the_patches_stay_out_of_the_file(tmp_path):
    with pytest.raises(ValueError, match="group"):
        write_maps(tmp_path / "maps.h5", {"patches/starts": np.ones((1, 12), dtype=bool)},
                   record="r", start=0, end=12, patch_starts=np.array([0]), model="m")


def test_a_file_written_before_the_table_still_reads(tmp_path):
    """Version 1 as ``bytescope inspect`` wrote it (datasets by hand, as its writer did)."""
    path = tmp_path / "old.h5"
    with h5py.File(path, "w", track_order=True) as h5:
        h5.attrs.update({"format": "bytescope-maps", "version": 1, "bytescope_version": "0.1",
                         "record": "chrT", "start": 0, "end": 4, "model": "run",
                         "created": "2024-01-01T00:00:00+00:00", "summary": "{}"})
        for name, data, axes in (("coords/bytes", np.arange(4), "byte"),
                                 ("coords/patch_starts", np.array([0, 2]), "patch"),
                                 ("coords/patch_ends", np.array([2, 4]), "patch"),
                                 ("attention/decoder_cross", np.ones((1, 2, 4, 3), np.float32),
                                  "batch,head,byte,latent"),
                                 ("routing/top_k/layer0", np.zeros((1, 2, 2), np.int64),
                                  "batch,patch,rank")):
            h5.create_dataset(name, data=data).attrs["axes"] = axes
    maps, attrs, coords = read_maps(path)
    assert set(maps) == {"attention/decoder_cross", "routing/top_k/layer0"}
    for name in maps:
        assert attrs["axes"][name] == map_kind(name).axes
    assert coords["patch_ends"].tolist() == [2, 4]
