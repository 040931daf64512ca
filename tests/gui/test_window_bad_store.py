"""A damaged HDF5 store or entropy file opened in the window: one dialog naming the file and
the dataset, nothing left "opening", the window usable at once (issue 13)."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from engine.io import Record, write_store
from engine.io.records import MemorySource
from tests.gui.conftest import wait_ready


@pytest.fixture
def no_bundled_models(tmp_path, monkeypatch):
    monkeypatch.setattr("engine.models.defaults.MODELS", tmp_path / "no_models")


def float_sequence(h5):
    del h5["sequence"]
    h5["sequence"] = np.random.default_rng(0).random(200)


def decreasing_offsets(h5):
    del h5["records/offsets"]
    h5["records/offsets"] = np.array([0, 300, 200], np.int64)


def offsets_a_group(h5):
    del h5["records/offsets"]
    h5.create_group("records/offsets")


@pytest.mark.parametrize(("damage", "dataset"), [
    (float_sequence, "/sequence"),
    (decreasing_offsets, "/records/offsets"),
    (offsets_a_group, "/records/offsets"),
])
def test_a_damaged_store_shows_one_dialog_and_the_window_stays_usable(
        qtbot, window, tmp_path, genome, no_bundled_models, damage, dataset):
    path = write_store(tmp_path / "bad.h5", [
        Record(f"r{i}", 100, MemorySource(b"ACGT" * 25), alphabet="dna") for i in range(2)])
    with h5py.File(path, "a") as h5:
        damage(h5)
    window.open_paths([str(path)])
    qtbot.waitUntil(lambda: window.error_dialog is not None)
    text = window.error_dialog.text()
    assert str(path) in text and dataset in text and "\n" not in text
    assert not window.controllers.view.opening()
    assert window.controllers.view.failed_paths == [str(path)]
    window.error_dialog.close()
    window.open_paths([str(genome)])
    wait_ready(qtbot, window)
    assert window.model.record.id == "chrT"


def test_entropies_declaring_billions_of_values_show_a_dialog(qtbot, window, genome,
                                                              tmp_path, no_bundled_models):
    window.open_paths([str(genome)])
    qtbot.waitUntil(lambda: window.model.record is not None)
    path = tmp_path / "huge.npy"
    with open(path, "wb") as handle:
        np.lib.format.write_array_header_1_0(
            handle, {"descr": "<f4", "fortran_order": False, "shape": (5_000_000_000,)})
    window.open_paths([str(path)])
    qtbot.waitUntil(lambda: window.error_dialog is not None)
    assert "huge.npy" in window.error_dialog.text()
    assert "truncated" in window.error_dialog.text()
