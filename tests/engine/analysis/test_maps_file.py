"""The maps HDF5 file: round trip, axes, coordinates, atomic writes, format errors."""

from __future__ import annotations

import re
from datetime import datetime

import h5py
import numpy as np
import pytest

from engine import __version__
from engine.analysis.maps_file import AXES, MAPS_FORMAT, MAPS_VERSION, read_maps, write_maps
from engine.errors import FormatError, InputError

START, END = 1000, 1012  # a 12-byte window
PATCH_STARTS = np.array([1000, 1003, 1007, 1010])  # 4 patches


def window_maps(rng=None):
    rng = rng or np.random.default_rng(0)
    b, h, p, n, e = 1, 2, len(PATCH_STARTS), END - START, 3
    return {
        "attention/encoder_cross/layer0": rng.random((b, h, p, n), dtype=np.float32),
        "attention/decoder_cross": rng.random((b, h, n, p + 1), dtype=np.float32),
        "attention/global/layer1": rng.random((b, h, p, p)),
        "hyena/mean_abs_h/layer0": rng.random((p, p), dtype=np.float32),
        "routing/router_probs/layer0": rng.random((b, p, e), dtype=np.float32),
        "routing/top_k/layer0": rng.integers(0, e, (b, p, 2)).astype(np.int16),
        "memory/write_probs": rng.random((b, 2, 4), dtype=np.float32),
    }


def write(path, maps=None, **kwargs):
    arguments = dict(record="chr1", start=START, end=END, patch_starts=PATCH_STARTS,
                     model="runs/latent-1")
    arguments.update(kwargs)
    return write_maps(path, window_maps() if maps is None else maps, **arguments)


def test_maps_round_trip_with_attrs_and_axes(tmp_path):
    maps = window_maps()
    write(tmp_path / "maps.h5", maps, extra_attrs={"threshold": 1.25, "seed": 7})
    read, attrs, _ = read_maps(tmp_path / "maps.h5")
    assert list(read) == list(maps)  # written order is kept
    for name, array in maps.items():
        assert read[name].dtype == array.dtype
        np.testing.assert_array_equal(read[name], array)
    assert attrs["format"] == MAPS_FORMAT and attrs["version"] == MAPS_VERSION
    assert attrs["bytescope_version"] == __version__
    assert (attrs["record"], attrs["start"], attrs["end"]) == ("chr1", START, END)
    assert attrs["model"] == "runs/latent-1"
    assert (attrs["threshold"], attrs["seed"]) == (1.25, 7)
    assert datetime.fromisoformat(attrs["created"]).tzinfo is not None
    assert attrs["axes"]["attention/encoder_cross/layer0"] == ("batch", "head", "patch", "byte")
    assert attrs["axes"]["attention/decoder_cross"] == ("batch", "head", "byte", "latent")
    assert attrs["axes"]["hyena/mean_abs_h/layer0"] == ("out_patch", "in_patch")
    assert attrs["axes"]["routing/top_k/layer0"] == ("batch", "patch", "rank")
    assert attrs["axes"]["memory/write_probs"] == ("batch", "segment", "expert")
    assert attrs["axes"]["coords/bytes"] == ("byte",)


def test_coordinates_are_record_positions_with_ends_defaulting_to_the_next_start(tmp_path):
    write(tmp_path / "maps.h5")
    _, _, coords = read_maps(tmp_path / "maps.h5")
    assert coords["bytes"].tolist() == list(range(START, END))
    assert coords["patch_starts"].tolist() == PATCH_STARTS.tolist()
    assert coords["patch_ends"].tolist() == [1003, 1007, 1010, 1012]


def test_explicit_patch_ends_are_kept(tmp_path):
    write(tmp_path / "maps.h5", patch_ends=np.array([1002, 1006, 1009, 1012]))
    assert read_maps(tmp_path / "maps.h5")[2]["patch_ends"].tolist() == [1002, 1006, 1009, 1012]


def test_every_dataset_in_the_file_has_an_axes_attribute(tmp_path):
    write(tmp_path / "maps.h5")
    with h5py.File(tmp_path / "maps.h5") as h5:
        names = []
        h5.visititems(lambda name, obj: names.append(name) if isinstance(obj, h5py.Dataset)
                      else None)
        for name in names:
            axes = h5[name].attrs["axes"].split(",")
            assert len(axes) == h5[name].ndim, name


def test_explicit_axes_name_maps_outside_the_table_and_override_it(tmp_path):
    maps = {"hyena/filter_norm": np.ones((4, 5)), "hyena/mean_abs_h": np.ones((4, 4))}
    axes = {"hyena/filter_norm": "patch,channel", "hyena/mean_abs_h": "in_patch,out_patch"}
    write(tmp_path / "maps.h5", maps, axes=axes)
    got = read_maps(tmp_path / "maps.h5")[1]["axes"]
    assert got["hyena/filter_norm"] == ("patch", "channel")
    assert got["hyena/mean_abs_h"] == ("in_patch", "out_patch")


def test_a_map_of_unknown_kind_needs_its_axes(tmp_path):
    with pytest.raises(ValueError, match="no axes"):
        write(tmp_path / "maps.h5", {"hyena/filter_norm": np.ones((4, 5))})
    assert not (tmp_path / "maps.h5").exists()


@pytest.mark.parametrize("name", ["weights", "coords/bytes", "attention", "saliency/x"])
def test_maps_live_in_the_four_groups(tmp_path, name):
    with pytest.raises(ValueError, match="group"):
        write(tmp_path / "maps.h5", {name: np.ones((4, 4))})


def test_axis_sizes_must_fit_the_window_and_the_patches(tmp_path):
    with pytest.raises(ValueError, match="'byte' has 11"):
        write(tmp_path / "maps.h5", {"attention/encoder_cross": np.ones((1, 1, 4, 11))})
    with pytest.raises(ValueError, match="'key_patch' has 5"):
        write(tmp_path / "maps.h5", {"attention/global": np.ones((1, 1, 4, 5))})
    with pytest.raises(ValueError, match="'latent' has 4"):  # start state + 4 patches
        write(tmp_path / "maps.h5", {"attention/decoder_cross": np.ones((1, 1, 12, 4))})
    with pytest.raises(ValueError, match="shape"):
        write(tmp_path / "maps.h5", {"hyena/mean_abs_h": np.ones((1, 4, 4))})


def test_patches_must_lie_in_the_window_in_record_coordinates(tmp_path):
    with pytest.raises(ValueError, match="record coordinates"):
        write(tmp_path / "maps.h5", {}, patch_starts=np.array([0, 3, 7, 10]))  # window-relative


def test_extra_attributes_may_not_replace_the_layouts(tmp_path):
    with pytest.raises(ValueError, match="record"):
        write(tmp_path / "maps.h5", extra_attrs={"record": "other"})


def test_a_writer_failing_midway_leaves_no_file(tmp_path):
    maps = window_maps()
    maps["routing/router_logits"] = np.array([["a"] * 3] * 4, dtype=object)[None]  # (1, 4, 3)
    with pytest.raises(TypeError, match="router_logits"):  # raised after the others were written
        write(tmp_path / "maps.h5", maps)
    assert list(tmp_path.iterdir()) == []


def test_a_writer_failing_midway_keeps_the_previous_file(tmp_path):
    write(tmp_path / "maps.h5")
    before = (tmp_path / "maps.h5").read_bytes()
    maps = {"routing/router_probs": np.ones((1, 4, 3), dtype=np.complex64)}
    with pytest.raises(TypeError):
        write(tmp_path / "maps.h5", maps)
    assert (tmp_path / "maps.h5").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["maps.h5"]


def test_a_file_that_is_not_hdf5_raises_format_error_naming_it(tmp_path):
    path = tmp_path / "maps.h5"
    path.write_text(">chr1\nACGT\n")
    with pytest.raises(FormatError, match=re.escape(str(path))):
        read_maps(path)


def test_a_truncated_maps_file_raises_format_error_naming_it(tmp_path):
    path = write(tmp_path / "maps.h5")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(FormatError) as caught:
        read_maps(path)
    assert caught.value.path == str(path)


def test_an_hdf5_file_of_another_kind_raises_format_error(tmp_path):
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as h5:
        h5.create_dataset("entropy", data=np.zeros(3))
    with pytest.raises(FormatError, match="not a bytescope maps file") as caught:
        read_maps(path)
    assert caught.value.path == str(path)


def test_a_newer_layout_or_missing_coordinates_raise_format_error(tmp_path):
    path = write(tmp_path / "maps.h5")
    with h5py.File(path, "a") as h5:
        h5.attrs["version"] = MAPS_VERSION + 1
    with pytest.raises(FormatError, match="newer"):
        read_maps(path)
    path = write(tmp_path / "maps2.h5")
    with h5py.File(path, "a") as h5:
        del h5["coords/patch_ends"]
    with pytest.raises(FormatError, match="coords/patch_ends"):
        read_maps(path)


def test_a_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_maps(tmp_path / "absent.h5")


def test_every_known_kind_has_distinct_axis_names():
    for kind, axes in AXES.items():
        names = axes.split(",")
        assert len(set(names)) == len(names), kind
