"""The Attribution panel in the real window, with the bundled fast model on phage lambda: a
clicked base explained, its logo track zoomed in and out, the cache, the Explain menu, the
mutagenesis matrix linked to the tracks, Cancel, and unsubscribing on close."""

from __future__ import annotations

import itertools

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from engine.analysis.attribution import Target
from gui.model.events import connection_count
from gui.model.locus import Locus
from gui.window import MainWindow
from tests.gui.conftest import wait_ready

BASE = 1080  # 0-based: base 1,081 as the locus box numbers it
VIEW = (1000, 1100)


@pytest.fixture
def lambda_window(qtbot, window, lambda_path):
    """Lambda open with the fast model, the view on 1,001-1,100, its scores in."""
    window.model.set_model_spec("fast")
    window.open_paths([str(lambda_path)])
    qtbot.waitUntil(lambda: window.model.record is not None)
    window.set_locus(Locus(window.model.record.id, *VIEW))
    wait_ready(qtbot, window, timeout=60_000)
    return window


def settle(qtbot, window, timeout=30_000) -> None:
    qtbot.waitUntil(lambda: not window.controllers.attribution.busy(), timeout=timeout)


def track_point(window, base: float, fraction: float = 0.2) -> QPoint:
    """The tracks' viewport point over ``base`` in the entropy track, ``fraction`` up it."""
    vb = window.tracks.entropy.plot.getViewBox()
    y0, y1 = vb.viewRange()[1]
    scene = vb.mapViewToScene(pg.Point(base, y0 + fraction * (y1 - y0)))
    return window.tracks.graphics.mapFromScene(scene)


def test_a_clicked_base_explained_with_saliency_gets_letters_in_view_and_bars_zoomed_out(
        qtbot, lambda_window):
    window = lambda_window
    model = window.attribution.attribution_model
    qtbot.mouseClick(window.tracks.graphics.viewport(), Qt.MouseButton.LeftButton,
                     pos=track_point(window, BASE + 0.5))
    qtbot.waitUntil(lambda: model.settings.base == BASE)
    assert window.tracks.pick_line.isVisible()
    assert window.attribution.base_spin.value() == BASE + 1  # shown 1-based
    qtbot.mouseClick(window.attribution.explain_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: model.result is not None, timeout=30_000)
    result = model.result
    assert result.key.target == Target("surprisal", BASE) and result.key.method == "saliency"
    assert result.key.model == "fast" and not result.repeats
    assert "network alone" in window.attribution.expert.text()
    logo = window.tracks.logo
    assert logo in window.tracks.tracks()
    lo = result.start
    assert logo.drawn.mode == "letters"  # 100 bases over ~1,000 px
    assert logo.drawn.count == BASE + 1 - VIEW[0]  # the window ends at the target
    record = window.model.record
    assert bytes(logo.drawn.letters) == record.fetch(VIEW[0], BASE + 1)
    np.testing.assert_array_equal(logo.drawn.heights,
                                  result.attribution.values[VIEW[0] - lo:])
    window.tracks.graphics.grab()
    assert logo.letters.painted > 0

    window.set_locus(Locus(record.id, 0, 20_000))  # zoomed out: signed bars, one per pixel
    qtbot.waitUntil(lambda: logo.drawn.mode == "bars")
    assert 0 < logo.drawn.count <= window.tracks.view_width()
    edges, peaks = logo.drawn.edges, logo.drawn.heights
    values = result.attribution.values
    for a, b, peak in zip(edges[:-1], edges[1:], peaks, strict=True):
        chunk = values[int(a) - lo:int(b) - lo]
        assert peak == chunk[np.argmax(np.abs(chunk))]

    # asked again: the same result, at once, with no job
    assert window.attribution.explain() is None
    assert model.result is result and not window.controllers.attribution.busy()
    assert window.controllers.tasks.tasks == {} or not any(
        t.label.startswith("Explaining") for t in window.controllers.tasks.tasks.values())


def test_the_explain_menu_explains_the_entropy_at_the_base_right_clicked(qtbot, lambda_window):
    window = lambda_window
    model = window.attribution.attribution_model
    menu = window.explain_menu(1050)
    actions = {a.text(): a for a in menu.actions()}
    assert "Explain the surprisal of base 1,051 (saliency)" in actions
    actions["Explain the entropy at base 1,051 (saliency)"].trigger()
    qtbot.waitUntil(lambda: model.result is not None, timeout=30_000)
    # the entropy track draws entropy[1049] over base 1050: that is what is explained
    assert model.result.key.target == Target("entropy", 1049)
    assert window.docks["Attribution"].isVisible()
    assert "entropy at base 1,051" in window.attribution.status.text()


def test_a_shift_drag_selects_a_region_whose_log_likelihood_is_explained(qtbot, lambda_window):
    window = lambda_window
    model = window.attribution.attribution_model
    viewport = window.tracks.graphics.viewport()
    shift = Qt.KeyboardModifier.ShiftModifier
    start, end = track_point(window, 1040.5), track_point(window, 1069.5)
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, shift, start)
    for t in np.linspace(0, 1, 8)[1:]:  # QTest's moves carry no modifiers: sent by hand
        at = QPointF(start + (end - start) * float(t))
        QApplication.sendEvent(viewport, QMouseEvent(
            QEvent.Type.MouseMove, at, viewport.mapToGlobal(at), Qt.MouseButton.NoButton,
            Qt.MouseButton.LeftButton, shift))
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, shift, end)
    qtbot.waitUntil(lambda: model.settings.region is not None)
    assert model.settings.region == (1040, 1070) and model.settings.target == "region"
    assert window.tracks.master.viewRange()[0] == pytest.approx(VIEW, abs=0.5)  # no pan
    assert window.tracks.pick_region.isVisible()
    window.show_explain()
    qtbot.waitUntil(lambda: model.result is not None, timeout=30_000)
    assert model.result.key.target == Target("region", 1040, 1070)
    assert window.tracks.logo.target_band.isVisible()


def test_mutagenesis_shows_its_matrix_linked_to_the_tracks(qtbot, lambda_window):
    window = lambda_window
    panel = window.attribution
    window.explain("surprisal", base=BASE, method="ism", span=16, context=200)
    qtbot.waitUntil(lambda: panel.attribution_model.result is not None, timeout=60_000)
    assert panel.ism_data().shape == (16, 4)  # the bases mutated x ACGT
    assert panel.ism.image.image.shape == (4, 16)
    np.testing.assert_array_equal(panel.ism.image.image, panel.ism_data().T)
    low, high = panel.ism.image.levels
    assert low == -high and high == pytest.approx(float(np.abs(panel.ism_data()).max()))
    assert panel.pages.currentIndex() == 1
    # the map lies on record bases: column 5 is base BASE - 16 + 5
    qtbot.waitUntil(lambda: panel.ism.plot.getViewBox().width() > 50)
    column, base = 5, BASE - 16 + 5
    scene = panel.ism.scene_pos_of(2, column)
    point = panel.ism.graphics.mapFromScene(scene)
    assert panel.ism.cell_at(panel.ism.graphics.mapToScene(point)) == (2, column)
    nudges = itertools.cycle((QPoint(0, 0), QPoint(0, 1)))

    def hovered() -> bool:
        qtbot.mouseMove(panel.ism.graphics.viewport(), point + next(nudges))
        return window.model.cursor == base  # the tracks' cursor is on the column's base

    qtbot.waitUntil(hovered)
    letter = "ACGT"[2]
    assert f"base {base + 1:,}" in panel.hover.text() and letter in panel.hover.text()
    span = window.model.locus.span
    qtbot.mouseClick(panel.ism.graphics.viewport(), Qt.MouseButton.LeftButton, pos=point)
    qtbot.waitUntil(lambda: abs(window.model.locus.centre - (base + 0.5)) <= 1)
    assert window.model.locus.span == span


def test_cancel_stops_a_long_integrated_gradients_job(qtbot, lambda_window):
    window = lambda_window
    model = window.attribution.attribution_model
    window.explain("surprisal", base=BASE, method="ig", steps=1024, context=1000)
    key = model.request.key

    def started() -> bool:
        tasks = [t for t in window.controllers.tasks.tasks.values()
                 if t.label.startswith("Explaining")]
        return bool(tasks) and tasks[0].done > 0

    qtbot.waitUntil(started, timeout=30_000)
    task = next(t for t in window.controllers.tasks.tasks.values()
                if t.label.startswith("Explaining"))
    assert task.total == 1024 // 16 + 2  # forwards: 64 batches of quadrature points, F(x), F(x0)
    assert window.attribution.cancel_button.isEnabled()
    qtbot.mouseClick(window.attribution.cancel_button, Qt.MouseButton.LeftButton)
    settle(qtbot, window)
    # the job raised Cancelled at its next forward (a finished job would not say so)
    assert model.status == "cancelled" and model.result is None
    assert model.cached(key) is None
    qtbot.waitUntil(lambda: not window.attribution.cancel_button.isEnabled())


def test_a_dependency_map_of_the_region_is_shown_on_record_bases(qtbot, lambda_window):
    window = lambda_window
    panel = window.attribution
    panel.attribution_model.set_region((1050, 1070))
    panel.dependency()
    qtbot.waitUntil(lambda: panel.attribution_model.dependency is not None, timeout=60_000)
    assert panel.dependency_data().shape == (20, 20)
    assert panel.dependency_map.image.image.shape == (20, 20)
    assert panel.dependency_map.image.levels[0] == 0


def test_the_panel_unsubscribes_when_the_window_closes(qtbot, settings, lambda_path):
    window = MainWindow(settings=settings, persist=False)
    qtbot.addWidget(window)
    window.show()
    model = window.attribution.attribution_model
    tasks = window.controllers.tasks
    assert connection_count(model.events) > 0 and connection_count(tasks.events) > 0
    window.close()
    assert connection_count(model.events) == 0
    assert connection_count(tasks.events) == 0
    assert connection_count(window.model.events) == 0
