"""The real window, driven as a user would: open, navigate, patch, export, save, close."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QImage

from engine.patching import PatchConfig
from gui.model import jobs
from gui.model.events import connection_count
from gui.model.locus import Locus
from gui.window import MainWindow
from tests.gui.conftest import wait_exports, wait_ready


@pytest.fixture
def no_bundled_models(tmp_path, monkeypatch):
    monkeypatch.setattr("engine.models.defaults.MODELS", tmp_path / "no_models")


def non_blank(image: QImage) -> int:
    """How many distinct colours a sample of the image holds."""
    colours = {image.pixel(x, y) for x in range(0, image.width(), 7)
               for y in range(0, image.height(), 7)}
    return len(colours)


def test_opening_a_file_shows_its_record_in_every_panel(qtbot, window, genome, tiny_model):
    window.model.set_model_spec(str(tiny_model))
    window.open_paths([str(genome)])
    wait_ready(qtbot, window)
    model = window.model
    assert model.record.id == "chrT" and model.locus == Locus("chrT", 0, 3000)
    assert window.sequences.items.rowCount() == 1
    assert window.sequences.items.item(0, 1).text() == "3,000"
    assert [t.name for t in window.tracks.feature_tracks] == ["annotations"]
    assert window.tracks.feature_tracks[0].item.drawn >= 4  # painted in the last frame
    assert window.tracks.entropy.drawn_points > 0
    assert window.tracks.patch_track.mode in ("patches", "density")
    assert window.status.locus.text() == "chrT:1-3,000"  # IGV's numbers: bases 1 to 3,000
    assert "chrT" in window.windowTitle()
    model.set_cursor(1501)  # what the mouse over the tracks does
    assert "chrT:1,502" in window.status.hover.text() and "gamma CDS" in window.status.hover.text()
    assert all(track.cursor.isVisible() for track in window.tracks.tracks()[1:])


def test_the_locus_box_moves_the_tracks(qtbot, with_entropies):
    window = with_entropies
    box = window.tracks.locus_box
    box.clear()
    qtbot.keyClicks(box, "chrT:1,001-1,060")  # 1-based inclusive, as pasted from IGV
    qtbot.keyClick(box, Qt.Key.Key_Return)
    assert window.model.locus == Locus("chrT", 1000, 1060)
    assert box.text() == "chrT:1,001-1,060"
    x0, x1 = window.tracks.master.viewRange()[0]
    assert (x0, x1) == pytest.approx((1000, 1060), abs=0.5)
    box.clear()
    qtbot.keyClicks(box, "no such thing")
    qtbot.keyClick(box, Qt.Key.Key_Return)
    assert "neither a record" in window.tracks.locus_error.text()
    assert window.model.locus == Locus("chrT", 1000, 1060)


def test_zooming_keeps_the_model_and_the_view_in_step(qtbot, with_entropies):
    window = with_entropies
    window.model.set_locus(Locus("chrT", 1000, 2000))
    window.actions["zoom_in"].trigger()
    assert window.model.locus == Locus("chrT", 1250, 1750)
    window.tracks.master.setXRange(100, 300, padding=0)  # as a wheel or drag would
    assert window.model.locus == Locus("chrT", 100, 300)
    window.actions["zoom_fit"].trigger()
    assert window.model.locus == Locus("chrT", 0, 3000)


def test_moving_the_threshold_line_repatches_and_the_inspector_follows(qtbot, with_entropies):
    window = with_entropies
    model = window.model
    model.set_patch_config(PatchConfig(mode="entropy", threshold=1.0))
    qtbot.waitUntil(lambda: model.patches is not None and model.patches.config.threshold == 1.0)
    before = model.patches.count
    line = window.tracks.entropy.threshold_line
    assert line.isVisible() and line.value() == pytest.approx(1.0)
    line.setValue(1.3)
    line.sigPositionChangeFinished.emit(line)  # the end of a drag
    qtbot.waitUntil(lambda: model.patches.config.threshold == pytest.approx(1.3))
    assert model.patches.count < before
    model.set_locus(Locus("chrT", 500, 700))
    window.inspector.refresh()
    lo, hi = model.patches.visible(500, 700)
    table = window.inspector.table_model
    assert table.rowCount() == hi - lo > 0
    first = table.data(table.index(0, 1))
    assert first == f"{int(model.patches.starts[lo]):,}"


def test_a_dragged_slider_sends_one_request_not_one_per_step(qtbot, with_entropies):
    window = with_entropies
    model = window.model
    configs = []
    model.events.patch_config.connect(configs.append)
    for value in range(200, 900, 7):  # a fast drag: a hundred steps
        window.patcher.slider.setValue(value)
    qtbot.waitUntil(lambda: len(configs) == 1)
    qtbot.waitUntil(lambda: model.patches.config == configs[0])
    assert configs[0].threshold == pytest.approx(893 / 1000 * window.patcher.slider_max,
                                                 abs=1e-3)


def test_each_settled_theta_is_one_patch_job_one_panel_refresh_one_patch_track_redraw(
        qtbot, with_entropies, monkeypatch):
    window = with_entropies
    model, runner, tracks = window.model, window.controllers.runner, window.tracks
    wait_ready(qtbot, window)
    counts = {"patch jobs": 0, "panel refreshes": 0, "patch track": 0, "entropy track": 0}

    def counting(key, fn):
        def counted(*args, **kwargs):
            counts[key] += 1
            return fn(*args, **kwargs)
        return counted

    submit = runner.submit
    monkeypatch.setattr(runner, "submit", lambda kind, *a, **k: (
        counts.__setitem__("patch jobs", counts["patch jobs"] + (kind == "view:patches")),
        submit(kind, *a, **k))[1])
    monkeypatch.setattr(window.patcher.form, "set_values",
                        counting("panel refreshes", window.patcher.form.set_values))
    monkeypatch.setattr(tracks.patch_track, "update_view",
                        counting("patch track", tracks.patch_track.update_view))
    monkeypatch.setattr(tracks.entropy, "update_view",
                        counting("entropy track", tracks.entropy.update_view))
    settled = (300, 450, 620)
    for n, end in enumerate(settled, start=1):
        for value in range(end - 60, end + 1, 3):  # a drag that comes to rest at ``end``
            window.patcher.slider.setValue(value)
        theta = round(end / 1000 * window.patcher.slider_max, 4)
        qtbot.waitUntil(lambda theta=theta: model.patches is not None
                        and model.patches.config.threshold == theta)
        qtbot.waitUntil(lambda: not window.controllers.view.busy())
        assert counts == {"patch jobs": n, "panel refreshes": n, "patch track": n,
                          "entropy track": 0}, f"after settling on θ #{n}"


def test_clicking_an_inspector_row_selects_and_centres_the_patch(qtbot, with_entropies):
    window = with_entropies
    model = window.model
    model.set_locus(Locus("chrT", 1000, 1400))
    window.inspector.refresh()
    row = 3
    index = window.inspector.table.model().index(row, 0)
    rect = window.inspector.table.visualRect(index)
    qtbot.mouseClick(window.inspector.table.viewport(), Qt.MouseButton.LeftButton,
                     pos=rect.center())
    i = window.inspector.table_model.patch_at(row)
    assert model.selection == i
    centre = (model.patches.starts[i] + model.patches.ends[i]) / 2
    assert abs(model.locus.centre - centre) <= 1 and model.locus.span == 400
    assert window.tracks.patch_track.selected.isVisible()


def test_f_and_b_jump_to_the_next_and_previous_feature(qtbot, with_entropies):
    window = with_entropies
    window.model.set_locus(Locus("chrT", 0, 100))
    window.tracks.graphics.setFocus()
    qtbot.keyClick(window.tracks.graphics, Qt.Key.Key_F)
    assert 100 <= window.model.locus.centre <= 700  # alpha, 100-700
    qtbot.keyClick(window.tracks.graphics, Qt.Key.Key_F)
    assert 650 <= window.model.locus.centre <= 1200  # beta
    qtbot.keyClick(window.tracks.graphics, Qt.Key.Key_B)
    assert window.model.locus.centre < 700


def test_a_bad_file_shows_a_dialog_and_the_window_stays_usable(qtbot, window, tmp_path,
                                                               genome, no_bundled_models):
    bad = tmp_path / "broken.gff3"
    bad.write_text("this is not GFF3\n")
    window.open_paths([str(bad)])
    qtbot.waitUntil(lambda: window.error_dialog is not None)
    assert "broken.gff3" in window.error_dialog.text()
    assert "broken.gff3" in window.log_panel.plain_text()
    window.error_dialog.close()
    window.open_paths([str(genome)])
    wait_ready(qtbot, window)
    assert window.model.record.id == "chrT"


def test_without_a_model_the_window_says_so_and_byte_modes_still_patch(
        qtbot, window, genome, no_bundled_models):
    window.open_paths([str(genome)])
    wait_ready(qtbot, window)
    model = window.model
    assert model.score_status.state == "no-model" and model.patches is None
    assert "no bundled model" in window.status.scores.text()
    assert "needs entropies" in window.tracks.patch_track.message.text
    model.set_patch_config(PatchConfig(mode="static", patch_size=10))
    qtbot.waitUntil(lambda: model.patches is not None)
    assert model.patches.count == 300


def test_exports_write_valid_files(qtbot, with_entropies, tmp_path, entropies_npy):
    window = with_entropies
    model = window.model
    model.set_patch_config(PatchConfig(mode="entropy", threshold=1.25))
    qtbot.waitUntil(lambda: model.patches.config.threshold == 1.25)

    png = tmp_path / "view.png"
    window.export_view(str(png), scale=2.0)
    svg = tmp_path / "view.svg"
    window.export_view(str(svg))
    wait_exports(qtbot, window)
    image = QImage(str(png))
    graphics = window.tracks.graphics
    assert (image.width(), image.height()) == (2 * graphics.width(), 2 * graphics.height())
    assert non_blank(image) > 8

    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg") and len(list(root.iter())) > 20

    bed = tmp_path / "p.bed"  # data exports run as jobs; the file appears whole (atomic)
    window.export_patches(str(bed))
    qtbot.waitUntil(bed.exists)
    lines = bed.read_text().splitlines()
    assert lines[0].startswith("track") and len(lines) - 1 == model.patches.count
    chrom, start, _end, _name, score, strand = lines[1].split("\t")
    assert (chrom, int(start), strand) == ("chrT", 0, ".") and 0 <= int(score) <= 1000

    graph = tmp_path / "e.bedgraph"
    window.export_entropies(str(graph))
    qtbot.waitUntil(graph.exists)
    values = np.full(3000, np.nan)
    for line in graph.read_text().splitlines()[1:]:
        _, s, e, v = line.split("\t")
        values[int(s):int(e)] = float(v)
    np.testing.assert_allclose(values, np.load(entropies_npy), atol=5e-5)

    csv = tmp_path / "e.csv"
    window.export_entropies(str(csv))
    qtbot.waitUntil(csv.exists)
    rows = csv.read_text().splitlines()
    assert rows[0] == "record,position,entropy,surprisal" and len(rows) == 3001
    record, position, entropy, surprisal = rows[11].split(",")
    assert (record, position, surprisal) == ("chrT", "10", "")
    assert float(entropy) == pytest.approx(float(np.load(entropies_npy)[10]), abs=1e-5)


def test_a_saved_session_reopens_files_locus_and_patcher(qtbot, with_entropies, settings,
                                                         tmp_path):
    window = with_entropies
    config = PatchConfig(mode="dual", threshold=1.1, threshold_add=0.05, min_patch_length=2)
    window.model.set_patch_config(config)
    window.model.set_locus(Locus("chrT", 1200, 1800))
    path = window.save_session(str(tmp_path / "s.json"))
    other = MainWindow(settings=settings, persist=False)
    qtbot.addWidget(other)
    try:
        assert other.load_session(str(path))
        wait_ready(qtbot, other)
        assert other.model.locus == Locus("chrT", 1200, 1800)
        assert other.model.patch_config == config
        assert other.model.score_status.state == "file"
        assert other.model.patches is not None and other.model.patches.config == config
    finally:
        other.close()


def test_dropped_files_open(qtbot, window, genome, entropies_npy):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(genome))])
    event = QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    qtbot.waitUntil(lambda: window.model.record is not None)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(entropies_npy))])
    window.dropEvent(QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime,
                                Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier))
    qtbot.waitUntil(lambda: window.model.score_status.state == "file")


def test_whole_record_scoring_fills_the_view_first_then_caches_and_compares(
        qtbot, window, genome, tiny_model, monkeypatch):
    monkeypatch.setattr(jobs, "SCORE_BLOCK", 512)
    model = window.model
    model.set_model_spec(str(tiny_model))
    window.open_paths([str(genome)], locus="chrT:2201-2400")
    qtbot.waitUntil(lambda: model.scores is not None)
    wait_ready(qtbot, window)  # the view's stretch is scored, maybe not the rest
    assert model.scores.span_around(2300)[0] <= 2200
    wait_ready(qtbot, window, whole=True)
    assert model.score_status.state == "scored" and model.scores.complete
    assert model.patches.complete and model.comparison is not None
    assert model.comparison.n_features == 5  # 3 CDS, a tRNA, an rRNA; not the gene
    assert {t: n for t, (n, _) in model.comparison.by_type.items()} == \
        {"CDS": 3, "tRNA": 1, "rRNA": 1}
    assert "chance" in window.patcher.comparison.text()
    assert window.controllers.tasks.tasks == {}


def test_cancel_in_the_status_bar_stops_scoring_and_keeps_what_was_scored(
        qtbot, window, tmp_path, tiny_model, monkeypatch):
    from tests.conftest import write_gff3

    monkeypatch.setattr(jobs, "SCORE_BLOCK", 256)
    big = write_gff3(tmp_path / "big.gff3", length=40_000, features=())
    model = window.model
    model.set_model_spec(str(tiny_model))
    window.open_paths([str(big)], locus="chrT:1-200")
    qtbot.waitUntil(lambda: model.scores is not None and model.scores.known_bases() > 0)
    qtbot.waitUntil(lambda: window.status.task.isVisible())
    qtbot.mouseClick(window.status.cancel, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.controllers.view.busy("scores"))
    assert model.score_status.state == "cancelled"
    assert 0 < model.scores.known_bases() < 40_000


def test_switching_records_drops_the_old_records_scores(qtbot, window, two_records,
                                                        tiny_model):
    model = window.model
    model.set_model_spec(str(tiny_model))
    window.open_paths([str(two_records)])
    qtbot.waitUntil(lambda: model.record is not None)
    window.sequences.open_row(str(two_records), "second")
    wait_ready(qtbot, window)
    assert model.record.id == "second" and model.scores.record_id == "second"
    assert model.patches.record_id == "second"


def test_closing_unsubscribes_every_widget(qtbot, settings, genome, entropies_npy):
    window = MainWindow(settings=settings, persist=False)
    qtbot.addWidget(window)
    window.show()
    window.open_paths([str(genome)])
    qtbot.waitUntil(lambda: window.model.record is not None)
    model = window.model
    assert connection_count(model.events) > 10
    window.close()
    assert connection_count(model.events) == 0
    assert not window.controllers.runner.busy()


def test_layout_and_recent_files_persist(qtbot, settings, genome):
    first = MainWindow(settings=settings)
    qtbot.addWidget(first)
    first.show()
    first.open_paths([str(genome)])
    first.docks["Log"].hide()
    first.actions["surprisal"].setChecked(True)
    qtbot.waitUntil(lambda: first.model.record is not None)
    first.close()
    second = MainWindow(settings=settings)
    qtbot.addWidget(second)
    second.show()
    try:
        assert not second.docks["Log"].isVisible()
        assert second.actions["surprisal"].isChecked() and second.tracks.show_surprisal
        assert str(genome.resolve()) in second.recent_files()
        assert [a.text() for a in second.recent_menu.actions()] == [genome.name]
    finally:
        second.close()


def test_dataclass_form_edits_the_patch_config(qtbot, with_entropies):
    window = with_entropies
    form = window.patcher.form
    form.editors["mode"].editor.setCurrentText("static")
    assert window.model.patch_config.mode == "static"
    assert window.model.patch_config.threshold is None
    assert not form.layout_.isRowVisible(form.editors["threshold"])
    form.editors["patch_size"].editor.setValue(9)
    qtbot.waitUntil(lambda: window.model.patches is not None and
                    window.model.patches.config.patch_size == 9)
    assert dataclasses.replace(window.model.patch_config) == window.model.patches.config


def test_an_annotation_only_gff3_becomes_a_track(qtbot, with_entropies, tmp_path):
    window = with_entropies
    extra = tmp_path / "extra.gff3"
    extra.write_text("##gff-version 3\nchrT\tx\tCDS\t201\t500\t.\t+\t0\tID=delta\n")
    window.open_paths([str(extra)])
    qtbot.waitUntil(lambda: len(window.tracks.feature_tracks) == 2)
    assert [t.name for t in window.tracks.feature_tracks] == ["annotations", "extra.gff3"]
    assert len(window.model.documents) == 1


def test_the_repeat_expert_menu_item_rescores_without_it_and_back(qtbot, window, tmp_path,
                                                                  tiny_model):
    import shutil

    from engine.models.repeats import N_STATES, RepeatConfig, save_repeats
    from tests.conftest import lambda_bases

    folder = shutil.copytree(tiny_model, tmp_path / "with-repeats")
    save_repeats(RepeatConfig(k=12, weights=[0.9] * N_STATES), folder)
    x = lambda_bases(1200)
    path = tmp_path / "repeats.fa"
    path.write_text(f">rep\n{x}{x}\n")
    model = window.model
    model.set_model_spec(str(folder))
    window.open_paths([str(path)])
    wait_ready(qtbot, window, whole=True)
    action = window.actions["repeats"]
    assert action.isChecked() and model.repeats

    def second_copy_surprisal() -> float:
        return float(model.scores.values("surprisal")[1220:].mean())

    with_expert = second_copy_surprisal()
    action.trigger()  # what the menu item does
    assert not model.repeats
    qtbot.waitUntil(lambda: model.scores is not None and model.scores.complete
                    and second_copy_surprisal() > 1.0)
    assert with_expert < 0.2
    action.trigger()
    qtbot.waitUntil(lambda: model.scores is not None and model.scores.complete
                    and second_copy_surprisal() < 0.2)


# -- the first window's layout -------------------------------------------------------------------
@pytest.fixture
def fresh_window(qtbot, settings):
    """A window as on a first start (no saved layout), not yet shown."""
    win = MainWindow(settings=settings)
    qtbot.addWidget(win)
    yield win
    win.close()


@pytest.mark.parametrize("size", [(1600, 1000), (1127, 666)])
def test_the_tracks_get_most_of_the_height_and_no_dock_clips(qtbot, fresh_window, genome,
                                                             size):
    from PySide6.QtWidgets import QScrollArea

    window = fresh_window
    window.resize(*size)
    window.show()
    qtbot.waitExposed(window)
    window.open_paths([str(genome)])  # its statistics and comparison texts fill the Patcher
    qtbot.waitUntil(lambda: window.model.record is not None)
    qtbot.waitUntil(lambda: window.tracks.graphics.height() >= 0.6 * size[1])
    assert window.tracks.width() >= 0.6 * size[0]
    for title, dock in window.docks.items():
        if not dock.isVisible():  # the tabs behind the Patch inspector
            continue
        content = dock.widget()
        hint = content.minimumSizeHint()
        assert isinstance(content, QScrollArea) or (
            hint.width() <= content.width() and hint.height() <= content.height()), title


def test_at_1600x1000_the_whole_patcher_shows_without_scrolling(qtbot, fresh_window, genome,
                                                                entropies_npy):
    window = fresh_window
    window.resize(1600, 1000)
    window.show()
    qtbot.waitExposed(window)
    window.open_paths([str(genome)])
    qtbot.waitUntil(lambda: window.model.record is not None)
    window.open_paths([str(entropies_npy)])
    wait_ready(qtbot, window, whole=True)
    qtbot.waitUntil(lambda: window.model.comparison is not None)  # its longest text
    scroll = window.docks["Patcher"].widget()
    compare = window.patcher.comparison.parentWidget()  # the "Boundaries vs annotations" box
    qtbot.waitUntil(lambda: compare.mapTo(scroll.viewport(), compare.rect().bottomLeft()).y()
                    <= scroll.viewport().height())
    assert scroll.verticalScrollBar().maximum() == 0
    assert window.patcher.width() <= scroll.viewport().width()  # nothing cut on the right


def test_a_first_start_takes_most_of_the_screen_and_a_saved_geometry_wins(qtbot, settings):
    window = MainWindow(settings=settings)
    qtbot.addWidget(window)
    area = window.screen().availableGeometry()
    frame = window.geometry()
    assert 0.75 * area.width() <= frame.width() <= area.width()
    assert 0.75 * area.height() <= frame.height() <= area.height()
    assert area.contains(frame)
    window.resize(700, 500)
    window.close()  # saves the geometry
    again = MainWindow(settings=settings)
    qtbot.addWidget(again)
    try:
        assert (again.width(), again.height()) == (700, 500)
    finally:
        again.close()


# -- which record opens first --------------------------------------------------------------------
def test_the_first_file_given_is_shown_and_listed_first_when_it_finishes_loading_last(
        qtbot, window, no_bundled_models, monkeypatch):
    import threading

    from engine.resources import sample_path
    from gui.controllers import view as controller

    annotated, phage = (str(sample_path(n)) for n in ("prokka_BAC_00001.gff3.gz",
                                                       "lambda_phage.fa"))
    phage_in = threading.Event()
    load = controller.load_document

    def annotated_last(path, reporter):  # the real load, held until the phage is open
        if path == annotated:
            phage_in.wait(20)
        return load(path, reporter)

    monkeypatch.setattr(controller, "load_document", annotated_last)
    opened, shown = [], []

    def on_documents(documents) -> None:
        opened.extend(d.path for d in documents if d.path not in opened)
        if phage in opened:
            phage_in.set()

    window.model.events.documents.connect(on_documents)
    window.model.events.record.connect(lambda r: shown.append(r.id if r else None))
    window.open_paths([annotated, phage])
    qtbot.waitUntil(lambda: len(window.model.documents) == 2, timeout=20_000)
    assert opened == [phage, annotated]  # the loads did finish in reverse order
    assert shown == ["BAC_00001"] and window.model.record_path == annotated
    # ... and the files are listed in the order given, in the model and the Sequences panel
    assert [d.path for d in window.model.documents] == [annotated, phage]
    items = window.sequences.items
    assert items.item(0, 0).text() == "BAC_00001" and items.item(1, 5).text() == "lambda_phage.fa"


def test_a_first_file_without_records_passes_the_turn_to_the_next(qtbot, window, tmp_path,
                                                                  two_records,
                                                                  no_bundled_models):
    broken = tmp_path / "broken.gff3"
    broken.write_text("this is not GFF3\n")
    only_features = tmp_path / "features.gff3"
    only_features.write_text("##gff-version 3\nfirst\tx\tCDS\t201\t500\t.\t+\t0\tID=d\n")
    window.open_paths([str(broken), str(only_features), str(two_records)])
    qtbot.waitUntil(lambda: window.model.record is not None)
    assert window.model.record.id == "first"
    qtbot.waitUntil(lambda: len(window.model.annotations) == 1)


# -- scripting the window ------------------------------------------------------------------------
def test_set_locus_takes_text_or_a_locus_and_switches_record(qtbot, window, two_records,
                                                             no_bundled_models):
    from engine.errors import InputError

    window.open_paths([str(two_records)])
    qtbot.waitUntil(lambda: window.model.record is not None)
    window.set_locus("first:101-200")
    assert window.model.locus == Locus("first", 100, 200)  # 1-based inclusive, as IGV
    assert window.tracks.locus_box.text() == "first:101-200"
    window.set_locus(Locus("second", 100, 400))
    assert window.model.record.id == "second" and window.model.locus == Locus("second", 100, 400)
    assert window.tracks.master.viewRange()[0] == pytest.approx([100, 400], abs=0.5)
    with pytest.raises(InputError):
        window.set_locus(Locus("third", 0, 10))
    with pytest.raises(InputError):
        window.set_locus("no such thing")
    assert window.model.locus == Locus("second", 100, 400)


def test_set_patcher_takes_a_config_or_changes_and_the_panel_follows(qtbot, with_entropies):
    from engine.errors import InputError

    window = with_entropies
    model = window.model
    set_ = window.set_patcher(threshold=1.2)  # clears the default target size
    assert set_ == model.patch_config and (set_.threshold, set_.target_patch_size) == (1.2, None)
    qtbot.waitUntil(lambda: model.patches is not None and model.patches.config == set_)
    assert window.patcher.form.values()["threshold"] == pytest.approx(1.2)
    assert window.tracks.entropy.threshold_line.value() == pytest.approx(1.2)
    window.set_patcher(mode="static", patch_size=7)
    assert (model.patch_config.mode, model.patch_config.patch_size) == ("static", 7)
    assert window.set_patcher(mode="entropy").threshold == 1.2  # the mode's own θ, back
    config = PatchConfig(mode="dual", threshold=1.0, threshold_add=0.1)
    assert window.set_patcher(config) == config
    with pytest.raises(InputError):
        window.set_patcher(min_patch_length=0)
    assert model.patch_config == config


def test_training_starts_pauses_resumes_and_stops_from_a_script(qtbot, window, tmp_path,
                                                                genome, no_bundled_models):
    from engine.train import TrainConfig, checkpoint_dirs

    window.open_paths([str(genome)])
    qtbot.waitUntil(lambda: window.model.record is not None)
    config = TrainConfig(files=[str(genome)], arch="hyena", model={"d_model": 16,
                                                                   "n_layers": 1},
                         steps=100_000, seq_len=64, batch_size=2, warmup_steps=1,
                         eval_every=100_000, eval_batches=1, checkpoint_every=100_000,
                         log_every=1, threads=1)  # stopped long before its end
    live = window.training.training_model
    run = window.start_training(config, tmp_path / "run")
    assert run == tmp_path / "run" and window.training.controller.active
    assert window.docks["Training"].isVisible()
    window.pause_training()
    qtbot.waitUntil(lambda: live.live.state == "paused", timeout=30_000)
    step = live.live.step
    window.resume_training()
    qtbot.waitUntil(lambda: live.live.state == "running" and live.live.step > step,
                    timeout=30_000)
    window.stop_training()
    qtbot.waitUntil(lambda: not window.training.controller.active, timeout=60_000)
    assert live.live.state == "stopped" and checkpoint_dirs(run)  # stopped with a checkpoint


def test_open_maps_inspects_the_view_of_a_run_without_a_dialog(qtbot, with_entropies,
                                                               latent_run, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    window = with_entropies
    asked = []
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a: asked.append(a) or "")
    window.set_locus(Locus("chrT", 1000, 1400))
    window.open_maps(latent_run)
    assert window.docks["Maps"].isVisible() and not asked
    panel = window.maps
    qtbot.waitUntil(lambda: panel.maps_model.inspection is not None, timeout=30_000)
    qtbot.waitUntil(lambda: not panel.busy(), timeout=30_000)
    inspected = panel.maps_model.inspection
    assert (inspected.record_id, inspected.start, inspected.end) == ("chrT", 1000, 1400)
    assert panel.maps_model.model_spec == str(latent_run)


def test_a_bed_file_of_intervals_is_compared_as_the_cli_compares_it(qtbot, window,
                                                                    two_records, tmp_path):
    from tests.gui.conftest import wait_ready

    # BED intervals are of type "region": with no CDS/tRNA/rRNA in that source, every interval
    # counts, except one spanning the whole record (as bytescope compare-annotations does)
    bed = tmp_path / "sites.bed"
    bed.write_text("first\t100\t400\tsiteA\t0\t+\nfirst\t900\t1200\tsiteB\t0\t-\n"
                   "first\t0\t2500\tall\t0\t+\nsecond\t10\t50\tother\t0\t+\n")
    window.model.set_patch_config(PatchConfig(mode="static", patch_size=8))
    window.open_paths([str(two_records), str(bed)])
    qtbot.waitUntil(lambda: window.model.comparison is not None, timeout=20_000)
    wait_ready(qtbot, window, whole=True)
    comparison = window.model.comparison
    assert window.model.record.id == "first"
    assert comparison.n_features == 2


def test_an_empty_record_is_listed_but_the_first_non_empty_one_is_shown(qtbot, window,
                                                                        tmp_path):
    from tests.conftest import lambda_bases
    from tests.gui.conftest import wait_ready

    fasta = tmp_path / "e.fa"
    fasta.write_text(">empty1\n>real\n" + lambda_bases(600) + "\n>empty2\n")
    errors = []
    window.model.events.error.connect(errors.append)
    window.open_paths([str(fasta)])
    wait_ready(qtbot, window)
    assert window.model.record.id == "real" and not errors
    assert window.sequences.view.model().rowCount() == 3  # the empty ones are listed
    document = window.model.documents[0]
    window.model.set_record(document.path, document.sequences["empty2"])
    assert window.model.record.id == "real"  # refused, with a dialog saying why
    assert len(errors) == 1 and "'empty2' is empty" in str(errors[0])
    window.model.events.error.disconnect(errors.append)


def test_a_file_of_empty_records_says_so(qtbot, window, tmp_path):
    fasta = tmp_path / "e.fa"
    fasta.write_text(">a\n>b\n")
    errors = []
    window.model.events.error.connect(errors.append)
    window.open_paths([str(fasta)])
    qtbot.waitUntil(lambda: bool(errors), timeout=20_000)
    assert "every record in this file is empty" in str(errors[0])
    assert window.model.record is None
    window.model.events.error.disconnect(errors.append)


def test_a_gtf_transcript_is_drawn_as_exons_on_an_intron_line(qtbot, with_entropies, tmp_path):
    window = with_entropies
    extra = tmp_path / "genes.gtf"
    attrs = 'gene_id "G1"; transcript_id "T1"; transcript_name "ABC-1";'
    lines = [f"chrT\tt\ttranscript\t101\t1000\t.\t+\t.\t{attrs}"] + [
        f"chrT\tt\texon\t{a}\t{b}\t.\t+\t.\t{attrs}" for a, b in ((101, 200), (401, 500),
                                                              (901, 1000))]
    extra.write_text("\n".join(lines) + "\n")
    window.open_paths([str(extra)])
    qtbot.waitUntil(lambda: len(window.tracks.feature_tracks) == 2)
    track = window.tracks.feature_tracks[1]
    assert track.name == "genes.gtf"
    assert track.index.types == ["transcript"]  # its exons are drawn as its parts
    assert track.index.parts == [((100, 200), (400, 500), (900, 1000))]
    window.set_locus(Locus("chrT", 0, 1200))
    image = window.tracks.graphics.grab().toImage()
    assert track.item.drawn == 1 and not image.isNull()
