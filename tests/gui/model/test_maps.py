"""The Maps panel's Qt-free state: slicing a map, its cells in words and in record positions,
selections kept valid, routing for the track, events only on change."""

from __future__ import annotations

import numpy as np
import pytest

from engine.analysis.inspect import Inspection
from engine.models import build_model, model_config, save_model
from gui.model.maps import (
    InspectedWindow,
    MapSelection,
    MapsModel,
    cell_at,
    cell_position,
    describe_cell,
    is_latent_spec,
    map_view,
    normalise,
)

START, END = 100, 112  # 12 bytes in patches [100, 103), [103, 108), [108, 112)
STARTS = np.array([100, 103, 108])
ENDS = np.array([103, 108, 112])


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)


@pytest.fixture
def window() -> InspectedWindow:
    """A hand-made inspection: 2 heads, 3 patches, 12 bytes, 4 experts, 2 memory segments."""
    rng = np.random.default_rng(0)
    maps = {
        "attention/encoder_cross/layer0": softmax(rng.normal(size=(1, 2, 3, 12))),
        "attention/decoder_cross": softmax(rng.normal(size=(1, 2, 12, 4))),
        "attention/global/layer1": softmax(rng.normal(size=(1, 2, 3, 3))),
        "hyena/mean_abs_h/layer0": np.abs(rng.normal(size=(3, 3))).astype(np.float32),
        "hyena/h/layer0": rng.normal(size=(2, 3, 3)).astype(np.float32),
        "routing/router_probs/layer0": softmax(rng.normal(size=(1, 3, 4))),
        "routing/router_probs/layer1": softmax(rng.normal(size=(1, 3, 4))),
        "memory/write_probs": softmax(rng.normal(size=(1, 2, 2))),
    }
    inspection = Inspection("chrT", START, END, "run", STARTS, ENDS, maps)
    return InspectedWindow(inspection, segment_len=2)


def test_a_map_is_the_engines_slice_in_its_own_row_column_order(window):
    maps = window.inspection.maps
    view = map_view(window, MapSelection("encoder_cross", "layer0", head=None))
    np.testing.assert_array_equal(view.data, maps["attention/encoder_cross/layer0"][0].mean(0))
    assert view.data.flags.c_contiguous and view.data.dtype == np.float32
    assert (view.rows.name, view.cols.name) == ("patch", "byte")
    assert view.cols.origin == START and view.levels == (0.0, float(view.data.max()))
    view = map_view(window, MapSelection("global", "layer1", head=1))
    np.testing.assert_array_equal(view.data, maps["attention/global/layer1"][0, 1])
    view = map_view(window, MapSelection("hyena_h", "layer0", channel=1))
    np.testing.assert_array_equal(view.data, maps["hyena/h/layer0"][1])
    assert view.levels[0] == -view.levels[1]
    view = map_view(window, MapSelection("router", "layer1", expert=2))
    np.testing.assert_array_equal(view.data[:, 0], maps["routing/router_probs/layer1"][0, :, 2])
    assert view.levels == (0.0, 1.0) and view.cols.first == 2


def test_cells_are_said_in_words(window):
    view = map_view(window, MapSelection("encoder_cross", "layer0"))
    assert cell_at(view, 104.5, 1.5) == (1, 4)
    assert cell_at(view, 99.5, 1.5) is None
    value = view.data[1, 4]
    assert describe_cell(window, view, 1, 4) == f"patch 1 (103-108) ← byte 104: {value:.3g}"
    decoder = map_view(window, MapSelection("decoder_cross"))
    assert decoder.cols.origin == -1  # latent c sits at patch c - 1
    assert describe_cell(window, decoder, 0, 0).startswith("byte 100 ← start state: ")
    assert describe_cell(window, decoder, 5, 2).startswith("byte 105 ← patch 1 (103-108): ")
    router = map_view(window, MapSelection("router", "layer0", expert=3))
    assert describe_cell(window, router, 2, 0).startswith("patch 2 (108-112) → expert 3: ")
    memory = map_view(window, MapSelection("memory_write"))
    assert describe_cell(window, memory, 1, 0).startswith(
        "segment 1 (patch 2, 108-112) → memory 0: ")


def test_a_cell_stands_for_its_byte_else_its_patch(window):
    encoder = map_view(window, MapSelection("encoder_cross", "layer0"))
    assert cell_position(window, encoder, 2, 7) == 107.5  # the byte, whichever the patch
    hyena = map_view(window, MapSelection("hyena", "layer0"))
    assert cell_position(window, hyena, 2, 1) == (103 + 108) / 2  # the key (input) patch
    router = map_view(window, MapSelection("router", "layer0"))
    assert cell_position(window, router, 2, 3) == (108 + 112) / 2
    memory = map_view(window, MapSelection("memory_write"))
    assert cell_position(window, memory, 0, 1) == (100 + 108) / 2  # patches 0-1


def test_selections_are_kept_to_what_the_inspection_holds(window):
    assert normalise(window, MapSelection("global", "layer7", head=5)) == \
        MapSelection("global", "layer1", None, None)
    assert normalise(window, MapSelection("decoder_cross", "layer0", head=1, expert=2)) == \
        MapSelection("decoder_cross", "", 1, None)
    bare = InspectedWindow(Inspection("chrT", 0, 4, "run", np.array([0]), np.array([4]),
                                      {"memory/write_probs": np.ones((1, 1, 1))}), 16)
    assert normalise(bare, MapSelection("router", "layer0")).kind == "memory_write"


def test_the_state_emits_on_change_and_routes_the_selected_layer(window):
    state = MapsModel()
    seen = []
    state.events.routing.connect(seen.append)
    state.set_model_spec("run")
    state.set_inspection(window)
    assert seen[-1].layer == "layer0"
    np.testing.assert_allclose(seen[-1].probs.sum(axis=1), 1.0, atol=1e-6)
    state.set_selection(MapSelection("router", "layer1"))
    assert state.routing_layer == "layer1" and seen[-1].layer == "layer1"
    count = len(seen)
    state.set_routing_layer("layer1")
    assert len(seen) == count
    state.set_model_spec("another")  # another model: the maps go
    assert state.inspection is None and seen[-1] is None


def test_only_patch_level_models_are_taken_from_the_workbench(tmp_path):
    latent = save_model(build_model(model_config("hyena-blt", "tiny", d_local=16,
                                                 d_global=32, max_len=64)), tmp_path / "blt")
    assert is_latent_spec(str(latent))
    assert not is_latent_spec("default") and not is_latent_spec(str(tmp_path / "none"))
