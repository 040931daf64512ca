"""The Maps panel in the real window, on a tiny trained hyena-blt run: the image is the
engine's map, attention and router rows sum to 1, selectors change it, hover and click link it
to the tracks, wrong models and long views give messages, exports read back."""

from __future__ import annotations

import csv
import itertools
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import torch
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QImage

from engine.analysis.inspect import inspect_locus, load_latent
from engine.errors import InputError
from engine.io import open_sequences
from engine.models import build_model, model_config, save_model
from gui.model.locus import Locus
from gui.model.maps import use_worker_threads
from tests.gui.conftest import wait_exports

START, END = 1000, 1400  # inside the run's 512-byte window; CDS beta, then the tRNA


@pytest.fixture
def window_with_genome(qtbot, with_entropies):
    """The window with the small genome open (entropies from a file) and the Maps dock up."""
    window = with_entropies
    window.docks["Maps"].raise_()
    qtbot.waitUntil(window.maps.isVisible)
    return window


def settle(qtbot, panel) -> None:
    qtbot.waitUntil(lambda: not panel.busy(), timeout=30_000)


def settled(qtbot, panel) -> None:
    """Until the map of the selection is drawn (the controller computes it in a job)."""
    qtbot.waitUntil(lambda: not panel.controller.busy("view"), timeout=10_000)


def select(qtbot, panel, **changes) -> None:
    panel.select(**changes)
    settled(qtbot, panel)


def exported(qtbot, panel, path):
    """Export the map to ``path`` and wait until the job has written it."""
    panel.export(path)
    wait_exports(qtbot, panel.window())
    return path


@pytest.fixture
def panel(qtbot, window_with_genome, latent_run):
    """The Maps panel with the trained run chosen and [1000, 1400) (the locus box's
    chrT:1,001-1,400) inspected."""
    window = window_with_genome
    panel = window.maps
    panel.set_model_spec(str(latent_run))
    qtbot.waitUntil(lambda: panel.maps_model.loaded is not None, timeout=20_000)
    window.model.set_locus(Locus("chrT", START, END))
    panel.inspect_view()
    qtbot.waitUntil(lambda: panel.maps_model.inspection is not None, timeout=30_000)
    settle(qtbot, panel)
    return panel


@pytest.fixture(scope="module")
def engine_maps(latent_run, tmp_path_factory):
    """The engine's own inspection of the same window, computed here."""
    from tests.conftest import write_gff3

    genome = write_gff3(tmp_path_factory.mktemp("maps") / "small.gff3")
    model, folder = load_latent(latent_run)
    threads = torch.get_num_threads()
    use_worker_threads()  # as the panel's job runs
    try:
        with open_sequences(str(genome)) as sequences:
            return inspect_locus(model, folder, str(genome), sequences["chrT"], START, END)
    finally:
        torch.set_num_threads(threads)


def test_the_status_names_the_window_inspected_as_the_locus_box_does(panel):
    assert panel.status.text().startswith("chrT:1,001-1,400: ")


def test_inspecting_the_view_shows_the_engines_map(qtbot, panel, engine_maps):
    window = panel.maps_model.inspection
    assert (window.record_id, window.start, window.end) == ("chrT", START, END)
    assert np.array_equal(window.inspection.patch_starts, engine_maps.patch_starts)
    expected = engine_maps.maps["attention/encoder_cross/layer0"][0].mean(axis=0)  # (P, L)
    assert panel.view.name == "attention/encoder_cross/layer0" and panel.view.head is None
    np.testing.assert_allclose(panel.shown_data(), expected, atol=1e-5)
    assert np.array_equal(panel.image.image, panel.shown_data())
    select(qtbot, panel, kind="global", layer="layer1", head=1)
    np.testing.assert_allclose(panel.shown_data(),
                               engine_maps.maps["attention/global/layer1"][0, 1], atol=1e-5)
    # levels: attention 0..its maximum, probabilities 0..1; a 256-entry colour map
    assert panel.image.levels[0] == 0 and panel.image.levels[1] == pytest.approx(
        float(panel.shown_data().max()))
    assert len(panel.image.lut) == 256
    select(qtbot, panel, kind="router", layer="layer0")
    assert tuple(panel.image.levels) == (0.0, 1.0)
    select(qtbot, panel, kind="hyena_h", layer="layer0", channel=3)  # signed: -m..m, diverging
    h = engine_maps.maps["hyena/h/layer0"][3]
    np.testing.assert_allclose(panel.shown_data(), h, atol=1e-5)
    low, high = panel.image.levels
    assert low == -high and high == pytest.approx(float(np.abs(panel.shown_data()).max()))
    assert panel.bar.colorMap() is panel.signed_colormap


def test_the_image_lies_on_record_bytes_and_patches(panel):
    rect = panel.image.mapRectToParent(panel.image.boundingRect())
    n_patches = panel.maps_model.inspection.inspection.n_patches
    assert (rect.left(), rect.right()) == (START, END)  # columns: record bytes
    assert (rect.top(), rect.bottom()) == (0, n_patches)  # rows: the window's patches
    assert panel.plot.getAxis("bottom").labelText == "byte (chrT)"


@pytest.mark.parametrize("kind, layer", [("encoder_cross", "layer0"), ("decoder_cross", ""),
                                         ("global", "layer1")])
def test_attention_rows_shown_sum_to_one(qtbot, panel, kind, layer):
    for head in (None, 0, 1):
        select(qtbot, panel, kind=kind, layer=layer, head=head)
        np.testing.assert_allclose(panel.shown_data().sum(axis=1), 1.0, atol=1e-5)


def test_routing_track_shows_each_patchs_router_probabilities(qtbot, panel):
    tracks = panel.window().tracks
    routing = tracks.routing
    assert routing in tracks.tracks() and routing.routing.layer == "layer0"
    probs = routing.routing.probs
    assert probs.shape == (panel.maps_model.inspection.inspection.n_patches, 4)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    # one bar item per expert, x in record coordinates, stacked to 1
    assert len(routing.bars) == 4
    top = routing.bars[-1].opts
    assert np.all(np.asarray(top["x0"]) >= START) and np.all(np.asarray(top["x1"]) <= END)
    np.testing.assert_allclose(top["y1"], 1.0, atol=1e-5)
    panel.routing_box.setCurrentIndex(panel.routing_box.findData("layer1"))
    settled(qtbot, panel)
    assert routing.routing.layer == "layer1" and routing.title == "experts layer1"


def test_routing_track_is_hidden_without_an_inspection(qtbot, window_with_genome, latent_run):
    tracks = window_with_genome.tracks
    assert tracks.routing not in tracks.tracks()
    window_with_genome.maps.set_model_spec(str(latent_run))
    qtbot.waitUntil(lambda: window_with_genome.maps.maps_model.loaded is not None)
    assert tracks.routing not in tracks.tracks()


def test_changing_kind_layer_head_expert_and_channel_changes_the_image(qtbot, panel):
    shown = [panel.shown_data().copy()]
    panel.kind_box.setCurrentIndex(panel.kind_box.findData("global"))
    settled(qtbot, panel)
    assert panel.maps_model.selection.kind == "global"
    shown.append(panel.shown_data().copy())
    panel.head_box.setCurrentIndex(panel.head_box.findData(0))
    settled(qtbot, panel)
    assert panel.maps_model.selection.head == 0
    shown.append(panel.shown_data().copy())
    panel.kind_box.setCurrentIndex(panel.kind_box.findData("router"))
    settled(qtbot, panel)
    panel.layer_box.setCurrentIndex(panel.layer_box.findData("layer1"))
    settled(qtbot, panel)
    assert panel.view.name == "routing/router_probs/layer1"
    shown.append(panel.shown_data().copy())
    panel.expert_box.setCurrentIndex(panel.expert_box.findData(2))
    settled(qtbot, panel)
    shown.append(panel.shown_data().copy())
    assert shown[-1].shape == (shown[-2].shape[0], 1)
    np.testing.assert_array_equal(shown[-1][:, 0], shown[-2][:, 2])
    assert not panel.head_box.isEnabled()  # a router has no heads
    panel.kind_box.setCurrentIndex(panel.kind_box.findData("hyena_h"))
    settled(qtbot, panel)
    shown.append(panel.shown_data().copy())
    panel.channel_box.setCurrentIndex(panel.channel_box.findData(5))
    settled(qtbot, panel)
    assert panel.maps_model.selection.channel == 5 and panel.view.title.endswith("channel 5")
    shown.append(panel.shown_data().copy())
    for a, b in itertools.pairwise(shown):
        assert a.shape != b.shape or not np.array_equal(a, b)


def view_point(panel, row: int, col: int) -> QPoint:
    point = panel.graphics.mapFromScene(panel.scene_pos_of(row, col))
    assert panel.cell_at_scene(panel.graphics.mapToScene(point)) == (row, col)
    return point


def hover(qtbot, panel, row: int, col: int, check) -> None:
    """Move the mouse onto a cell until ``check(hover text)`` holds; pyqtgraph drops moves
    closer than its rate limit (10 ms), so the mouse nudges a pixel within the cell."""
    point = view_point(panel, row, col)
    nudges = itertools.cycle((QPoint(0, 0), QPoint(0, 1)))

    def moved() -> bool:
        qtbot.mouseMove(panel.graphics.viewport(), point + next(nudges))
        return check(panel.hover.text())

    qtbot.waitUntil(moved)


def test_hover_names_the_pair_and_the_value(qtbot, panel):
    window = panel.maps_model.inspection.inspection
    row = 12
    col = int(window.patch_starts[row]) - START + 1  # a byte inside patch 12
    start, end = int(window.patch_starts[row]), int(window.patch_ends[row])
    value = float(panel.shown_data()[row, col])
    expected = f"patch 12 ({start:,}-{end:,}) ← byte {START + col:,}: {value:.3g}"
    hover(qtbot, panel, row, col, lambda text: text == expected)
    select(qtbot, panel, kind="router", layer="layer0")
    value = float(panel.shown_data()[3, 1])
    s3, e3 = int(window.patch_starts[3]), int(window.patch_ends[3])
    expected = f"patch 3 ({s3:,}-{e3:,}) → expert 1: {value:.3g}"
    hover(qtbot, panel, 3, 1, lambda text: text == expected)


def test_clicking_a_cell_centres_the_tracks_on_it(qtbot, panel):
    workbench = panel.workbench
    panel.maps_model.set_follow(False)
    span = workbench.locus.span
    qtbot.mouseClick(panel.graphics.viewport(), Qt.MouseButton.LeftButton,
                     pos=view_point(panel, 40, 300))  # patch 40, byte 1,300
    qtbot.waitUntil(lambda: workbench.locus.centre != (START + END) / 2)
    assert workbench.locus.span == span and abs(workbench.locus.centre - 1300.5) <= 1
    select(qtbot, panel, kind="hyena", layer="layer0")
    patch = panel.maps_model.inspection.inspection
    qtbot.mouseClick(panel.graphics.viewport(), Qt.MouseButton.LeftButton,
                     pos=view_point(panel, 60, 5))  # output patch 60 <- input patch 5
    centre = (int(patch.patch_starts[5]) + int(patch.patch_ends[5])) / 2
    qtbot.waitUntil(lambda: abs(workbench.locus.centre - centre) <= 1)
    assert workbench.locus.span == span


def test_maps_follow_the_view_within_the_models_window(qtbot, panel):
    panel.window().model.set_locus(Locus("chrT", 1500, 1900))
    qtbot.waitUntil(lambda: panel.maps_model.inspection.start == 1500, timeout=30_000)
    assert panel.maps_model.inspection.end == 1900
    settle(qtbot, panel)


def test_a_view_longer_than_the_models_window_asks_to_zoom_in(qtbot, panel):
    workbench = panel.workbench
    workbench.set_locus(Locus("chrT", 0, 3000))
    assert panel.inspect_view() is None
    assert "3,000 bytes" in panel.status.text() and "zoom in" in panel.status.text()
    assert "512" in panel.status.text()
    settle(qtbot, panel)  # following the view starts nothing either
    assert panel.maps_model.inspection.start == START  # the last maps stay
    assert panel.window().error_dialog is None


def test_a_byte_level_model_gives_a_message_not_an_exception(qtbot, window_with_genome,
                                                             tmp_path):
    torch.manual_seed(0)
    plain = save_model(build_model(model_config("hyena", "tiny", d_model=16, n_layers=1)),
                       tmp_path / "plain")
    panel = window_with_genome.maps
    assert "bundled hyena-blt model" in panel.status.text()  # no run chosen yet
    panel.set_model_spec(str(plain))
    qtbot.waitUntil(lambda: "patch-level model" in panel.status.text())
    assert "choose a hyena-blt run (bytescope train --arch hyena-blt)" in panel.status.text()
    assert panel.placeholder.isVisible() and panel.maps_model.inspection is None
    assert panel.inspect_view() is None
    assert window_with_genome.error_dialog is None
    panel.set_model_spec(str(tmp_path / "missing"))
    qtbot.waitUntil(lambda: "no model here" in panel.status.text())


def test_the_model_menu_inspects_with_the_bundled_model_before_any_training(
        qtbot, window_with_genome, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    from engine.resources import RESOURCES

    window = window_with_genome
    asked = []
    monkeypatch.setattr(QFileDialog, "getExistingDirectory",
                        lambda *a, **k: asked.append(a) or "")
    window.model.set_locus(Locus("chrT", START, END))
    window.actions["inspect_maps"].trigger()
    bundled = RESOURCES / "models" / "hyena-blt"
    assert not asked and window.maps.maps_model.model_spec == str(bundled)
    qtbot.waitUntil(lambda: window.maps.maps_model.inspection is not None, timeout=60_000)
    inspected = window.maps.maps_model.inspection
    assert (inspected.start, inspected.end) == (START, END)
    assert Path(window.maps.maps_model.loaded.folder) == bundled
    settle(qtbot, window.maps)


def test_the_model_menu_asks_for_a_run_when_no_patch_level_model_is_bundled(
        qtbot, window_with_genome, latent_run, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    import gui.controllers.maps
    import gui.window

    for module in (gui.window, gui.controllers.maps):  # an install without resources/models
        monkeypatch.setattr(module, "bundled_latent", lambda: None)
    window = window_with_genome
    window.docks["Patch inspector"].raise_()
    window.model.set_locus(Locus("chrT", START, END))
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(latent_run))
    window.actions["inspect_maps"].trigger()
    assert window.maps.isVisible() and window.maps.maps_model.model_spec == str(latent_run)
    qtbot.waitUntil(lambda: window.maps.maps_model.inspection is not None, timeout=30_000)
    assert window.maps.maps_model.inspection.start == START
    settle(qtbot, window.maps)


def test_the_expert_summary_shows_load_and_specialisation(panel):
    summary = panel.maps_model.inspection.inspection.summary.to_json()
    assert len(panel.loads.ci.items) == 3  # layer0, layer1, memory writes
    entry = summary["moe/layer0"]
    assert f"load CV {entry['load_cv']:.2f}" in panel.routing_stats.text()
    rows = panel.specialisation_rows()
    cds = entry["specialisation"]["types"]["CDS"]
    assert rows[f"CDS ({cds['n_patches']})"][1] == \
        f"{cds['share'][1]:.2f} ({cds['ratio'][1]:.2f}×)"
    assert "k/E = 0.50" in panel.table_note.text()
    assert "top 4-mers" in rows


def exported_bar_pixels(panel, image: QImage) -> list[QColor]:
    """The colours down the middle of the colour bar in an image of the panel's scene."""
    origin = panel.graphics.viewRect().topLeft()
    rect = panel.bar.bar.sceneBoundingRect().translated(-origin)
    x = int(rect.center().x())
    return [image.pixelColor(x, int(y)) for y in np.linspace(rect.top() + 2,
                                                             rect.bottom() - 2, 20)]


def test_exports_write_png_svg_csv_npy_that_read_back(qtbot, panel, tmp_path):
    data = panel.shown_data()
    png = exported(qtbot, panel, tmp_path / "map.png")
    image = QImage(str(png))
    assert image.width() >= panel.graphics.width() - 2
    colours = exported_bar_pixels(panel, image)
    top, bottom = panel.colormap.map([1.0, 0.0], mode="qcolor")
    assert any(abs(c.red() - top.red()) + abs(c.green() - top.green()) < 30 for c in colours)
    assert any(abs(c.red() - bottom.red()) + abs(c.blue() - bottom.blue()) < 30
               for c in colours)
    svg = ET.parse(exported(qtbot, panel, tmp_path / "map.svg")).getroot()
    assert svg.tag.endswith("svg") and any(e.tag.endswith("image") for e in svg.iter())
    with open(exported(qtbot, panel, tmp_path / "map.csv"), newline="") as handle:
        table = list(csv.reader(handle))
    assert table[0][0] == "patch\\byte" and [int(v) for v in table[0][1:]] == \
        list(range(START, END))
    values = np.array([[float(v) for v in row[1:]] for row in table[1:]], dtype=np.float32)
    assert np.array_equal(values, data)
    assert [int(row[0]) for row in table[1:]] == list(range(data.shape[0]))
    assert np.array_equal(np.load(exported(qtbot, panel, tmp_path / "map.npy")), data)


def test_failed_exports_are_input_errors_shown_in_a_dialog(qtbot, panel, tmp_path,
                                                           monkeypatch):
    with pytest.raises(InputError, match="exports as"):
        exported(qtbot, panel, tmp_path / "map.jpg")
    blocked = tmp_path / "a file"
    blocked.write_text("not a folder")
    exported(qtbot, panel, blocked / "map.npy")  # written in a job: its error is a dialog
    window = panel.window()
    assert "cannot write" in window.error_dialog.text()
    window.error_dialog.close()
    window.error_dialog = None
    from PySide6.QtWidgets import QFileDialog

    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *a, **k: (str(blocked / "map.csv"), ""))
    panel.export_dialog(".csv")
    window = panel.window()
    qtbot.waitUntil(lambda: window.error_dialog is not None)
    assert "cannot write" in window.error_dialog.text()


def test_closing_the_window_leaves_no_maps_job_running(qtbot, panel):
    panel.window().model.set_locus(Locus("chrT", 1100, 1500))
    panel.inspect_view()
    assert panel.controller.busy("inspect")
    panel.window().close()
    assert panel.controller.runner.pool.activeThreadCount() == 0
