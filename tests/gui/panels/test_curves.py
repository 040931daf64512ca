"""The training-curves view: series per run, smoothing, log y, step/time x, hover, exports."""

from __future__ import annotations

import csv
import importlib
import math

import numpy as np
import pytest
from PySide6.QtCore import QPointF
from PySide6.QtGui import QColor, QImage

from engine.errors import InputError
from gui.exports import svg_close_as_line
from gui.panels.curves import (
    CURVES,
    PALETTE,
    ColumnBuffer,
    CurvesView,
    log_ticks,
    smooth,
)

SMOOTHED = [key for key, spec in CURVES.items() if spec.smoothed]


def fake_metrics(seed: int, n: int = 300, every: int = 1, eval_every: int = 50) -> dict:
    """A run logged every ``every`` steps: a noisy decreasing loss, a warm-up then cosine
    learning rate, a noisy throughput, and an evaluation every ``eval_every`` steps."""
    rng = np.random.default_rng(seed)
    step = np.arange(every, n + 1, every, dtype=np.float64)
    k = len(step)
    loss = 1.0 + 4.0 * np.exp(-step / 80) + rng.normal(0, 0.1, k)
    lr = np.minimum(step / 30, 1) * 3e-4 * (0.55 + 0.45 * np.cos(np.pi * step / n))
    tokens = 12_000 + rng.normal(0, 500, k)
    time = np.cumsum(4096 / tokens) + 2.0
    at = np.arange(eval_every, n + 1, eval_every, dtype=np.float64)
    rows = np.searchsorted(step, at)
    val_loss = loss[rows] + 0.05
    return {
        "step": {"step": step, "time": time, "loss": loss, "lr": lr,
                 "grad_norm": rng.uniform(0.5, 2.0, k), "tokens_per_s": tokens,
                 "seq_len": np.full(k, 512.0)},
        "eval": {"step": at, "time": time[rows], "val_loss": val_loss,
                 "val_bits_per_byte": val_loss / math.log(2)},
    }


def _points(item) -> int:
    return 0 if item.xData is None else len(item.xData)


def reference_smooth(values, weight: float) -> list[float]:
    """TensorBoard's debiased EMA, one value at a time; NaNs pass through, uncounted."""
    out, last, t = [], 0.0, 0
    for x in values:
        if math.isnan(x):
            out.append(x)
            continue
        last = weight * last + (1 - weight) * x
        out.append(last / (1 - weight ** (t + 1)))
        t += 1
    return out


@pytest.fixture
def view(qtbot):
    widget = CurvesView()
    qtbot.addWidget(widget)
    widget.resize(900, 600)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


@pytest.fixture
def runs() -> list[tuple[str, dict]]:
    return [("run-a", fake_metrics(0)), ("run-b", fake_metrics(1, every=2))]


# -- smoothing -------------------------------------------------------------------------------
@pytest.mark.parametrize("weight", [0.0, 0.3, 0.6, 0.99])
def test_smooth_matches_the_reference_loop(weight):
    values = np.random.default_rng(3).normal(2.0, 1.0, 500)
    np.testing.assert_allclose(smooth(values, weight), reference_smooth(values, weight),
                               rtol=1e-12)


def test_smooth_skips_nans_without_breaking_the_average():
    values = np.array([np.nan, 4.0, 2.0, np.nan, np.nan, 8.0, 1.0, np.nan])
    result = smooth(values, 0.5)
    expected = reference_smooth(values, 0.5)
    assert np.array_equal(np.isnan(result), np.isnan(values))
    np.testing.assert_allclose(result[~np.isnan(values)],
                               np.array(expected)[~np.isnan(values)], rtol=1e-12)


def test_smooth_with_weight_zero_returns_the_values():
    values = np.array([3.0, np.nan, 1.5, 7.25])
    np.testing.assert_array_equal(smooth(values, 0.0), values)


@pytest.mark.parametrize("weight", [1.0, -0.1])
def test_smooth_rejects_a_weight_outside_0_1(weight):
    with pytest.raises(ValueError):
        smooth(np.ones(3), weight)


# -- buffers and ticks -----------------------------------------------------------------------
def test_column_buffer_keeps_every_row_across_growth():
    buffer = ColumnBuffer(("step", "loss"), capacity=2)
    rng = np.random.default_rng(5)
    chunks = [rng.normal(size=size) for size in (1, 3, 0, 7, 20, 2)]
    for i, chunk in enumerate(chunks):
        if i % 2:
            buffer.extend({"loss": chunk})  # "step" missing: NaN
        else:
            buffer.extend_rows([{"step": 1.0, "loss": v} for v in chunk])
    np.testing.assert_array_equal(buffer.column("loss"), np.concatenate(chunks))
    steps = np.concatenate([np.full(len(c), np.nan if i % 2 else 1.0)
                            for i, c in enumerate(chunks)])
    np.testing.assert_array_equal(buffer.column("step"), steps)


def test_column_buffer_cuts_ragged_columns_to_the_shortest():
    buffer = ColumnBuffer(("step", "loss"))
    buffer.extend({"step": np.arange(5.0), "loss": np.arange(4.0)})
    assert buffer.size == 4


@pytest.mark.parametrize(("lo", "hi", "most"), [(0.5, 6.0, 7), (9_500, 15_000, 7),
                                                (1e-10, 3e-4, 6), (1e-9, 1e4, 5)])
def test_log_ticks_lie_in_range_and_are_not_crowded(lo, hi, most):
    ticks = log_ticks(math.log10(lo), math.log10(hi), most)
    values = [10 ** t for t in ticks]
    assert 2 <= len(ticks) <= most
    assert all(lo * (1 - 1e-9) <= v <= hi * (1 + 1e-9) for v in values)
    assert ticks == sorted(ticks)


# -- series ----------------------------------------------------------------------------------
def test_set_runs_draws_one_curve_per_run_in_every_plot(view, runs):
    view.set_runs(runs)
    assert view.labels() == ["run-a", "run-b"]
    for key, spec in CURVES.items():
        per_run = 2 if spec.smoothed else 1  # the raw curve faded behind the smoothed one
        assert len(view.plots[key].listDataItems()) == per_run * len(runs)
        for label, metrics in runs:
            curves = view.curves(key, label)
            columns = metrics[spec.group]
            np.testing.assert_array_equal(curves.top.xData, columns["step"])
            drawn = curves.raw if spec.smoothed else curves.top
            np.testing.assert_array_equal(drawn.yData, columns[spec.column])
    colours = {view.curves("loss", label).top.opts["pen"].color().name() for label, _ in runs}
    assert colours == {QColor(PALETTE[0]).name(), QColor(PALETTE[1]).name()}


def test_raw_curves_are_the_run_colour_faded(view, runs):
    view.set_runs(runs)
    curves = view.curves("loss", "run-a")
    top, raw = curves.top.opts["pen"].color(), curves.raw.opts["pen"].color()
    assert top.rgb() == raw.rgb()
    assert top.alpha() == 255 and 40 <= raw.alpha() <= 80


def test_set_runs_replaces_the_previous_runs(view, runs):
    view.set_runs(runs)
    view.set_runs([("run-c", fake_metrics(2))])
    assert view.labels() == ["run-c"]
    assert len(view.plots["lr"].listDataItems()) == 1


def test_set_runs_refuses_a_repeated_label(view, runs):
    view.set_runs(runs)
    with pytest.raises(ValueError, match="unique"):
        view.set_runs([runs[0], runs[0]])
    assert view.labels() == ["run-a", "run-b"]  # left as it was


def test_clear_removes_the_curves_but_keeps_the_cursor_lines(view, runs):
    view.set_runs(runs)
    view.clear()
    assert view.labels() == []
    for key, plot in view.plots.items():
        assert plot.listDataItems() == []
        assert view.cursors[key] in plot.items


def test_default_smoothing_is_tensorboards_ema(view, runs):
    view.set_runs(runs)
    assert view.weight == pytest.approx(0.6)
    for key in SMOOTHED:
        spec = CURVES[key]
        y = runs[0][1][spec.group][spec.column]
        np.testing.assert_allclose(view.curves(key, "run-a").top.yData,
                                   reference_smooth(y, 0.6), rtol=1e-12)


def test_slider_changes_the_smoothed_curve(view, runs):
    view.set_runs(runs)
    loss = runs[0][1]["step"]["loss"]
    view.smoothing_slider.setValue(90)
    assert "0.90" in view.smoothing_label.text()
    curves = view.curves("loss", "run-a")
    np.testing.assert_allclose(curves.top.yData, reference_smooth(loss, 0.9), rtol=1e-12)
    assert curves.raw.isVisible()
    view.smoothing_slider.setValue(0)
    np.testing.assert_array_equal(curves.top.yData, loss)
    assert not curves.raw.isVisible()  # nothing to show behind an unsmoothed curve


def test_learning_rate_is_never_smoothed(view, runs):
    view.set_runs(runs)
    view.smoothing_slider.setValue(95)
    curves = view.curves("lr", "run-a")
    assert curves.raw is None
    np.testing.assert_array_equal(curves.top.yData, runs[0][1]["step"]["lr"])


def test_log_checkbox_sets_log_y_on_every_plot(view, runs):
    view.set_runs(runs)
    view.log_box.setChecked(True)
    for key, plot in view.plots.items():
        assert plot.getAxis("left").logMode
        assert view.curves(key, "run-a").top.opts["logMode"] == [False, True]
    view.log_box.setChecked(False)
    assert not any(plot.getAxis("left").logMode for plot in view.plots.values())


def test_time_axis_is_in_minutes(view, runs):
    view.set_runs(runs)
    view.x_box.setCurrentText("time")
    for key, spec in CURVES.items():
        for label, metrics in runs:
            np.testing.assert_allclose(view.curves(key, label).top.xData,
                                       metrics[spec.group]["time"] / 60)
    assert "min" in view.plots["lr"].getAxis("bottom").labelText
    view.x_box.setCurrentText("step")
    np.testing.assert_array_equal(view.curves("loss", "run-a").top.xData,
                                  runs[0][1]["step"]["step"])


def test_plots_share_the_x_range(view, runs):
    view.set_runs(runs)
    view.plots["loss"].setXRange(40, 90, padding=0)
    for plot in view.plots.values():
        assert plot.viewRange()[0] == pytest.approx([40, 90])


# -- live updates ----------------------------------------------------------------------------
def test_append_grows_the_curve(view, runs):
    view.set_runs(runs)
    before = len(runs[0][1]["step"]["step"])
    rows = [{"step": 301.0 + i, "time": 100.0 + i, "loss": 1.5 + i, "lr": 1e-4,
             "tokens_per_s": 11_000.0} for i in range(3)]
    view.append("run-a", "step", rows)
    curves = view.curves("loss", "run-a")
    assert len(curves.top.xData) == before + 3
    np.testing.assert_array_equal(curves.raw.yData[-3:], [1.5, 2.5, 3.5])
    np.testing.assert_array_equal(curves.top.xData[-3:], [301.0, 302.0, 303.0])
    expected = reference_smooth(np.append(runs[0][1]["step"]["loss"], [1.5, 2.5, 3.5]), 0.6)
    np.testing.assert_allclose(curves.top.yData, expected, rtol=1e-12)
    # the other run and the evaluation curve are untouched
    assert len(view.curves("loss", "run-b").top.xData) == len(runs[1][1]["step"]["step"])
    assert len(view.curves("val", "run-a").top.xData) == len(runs[0][1]["eval"]["step"])


def test_append_fills_missing_keys_with_nan(view, runs):
    view.set_runs(runs)
    view.append("run-a", "step", [{"step": 301.0, "loss": 2.0}])
    assert math.isnan(view.curves("lr", "run-a").top.yData[-1])
    assert math.isnan(view.curves("tokens", "run-a").raw.yData[-1])


def test_append_creates_a_new_run_in_the_next_colour(view, runs):
    view.set_runs(runs)
    view.append("run-new", "eval", [{"step": 10.0, "time": 5.0, "val_loss": 3.0,
                                     "val_bits_per_byte": 3.0 / math.log(2)}])
    assert view.labels() == ["run-a", "run-b", "run-new"]
    val = view.curves("val", "run-new")
    np.testing.assert_array_equal(val.top.yData, [3.0 / math.log(2)])
    assert val.top.opts["pen"].color().name() == QColor(PALETTE[2]).name()
    assert _points(view.curves("loss", "run-new").top) == 0
    assert "run-new" in view.legend.text


def test_many_small_appends_keep_every_row(view):
    rows = [{"step": float(i), "time": i / 2, "loss": math.sin(i), "lr": 1e-3,
             "tokens_per_s": 9000.0 + i} for i in range(1, 1001)]
    for start in range(0, 1000, 25):
        view.append("live", "step", rows[start:start + 25])
    curves = view.curves("loss", "live")
    np.testing.assert_array_equal(curves.raw.yData, [row["loss"] for row in rows])
    np.testing.assert_array_equal(curves.top.xData, [row["step"] for row in rows])


def test_append_tolerates_an_empty_evaluation_row(view, runs):
    view.set_runs(runs)
    view.append("run-a", "eval", [{}])  # no finite point: nothing more to draw
    assert _points(view.curves("val", "run-a").top) == len(runs[0][1]["eval"]["step"])


def test_append_rejects_an_unknown_group(view):
    with pytest.raises(ValueError):
        view.append("run-a", "train", [{"step": 1.0}])


# -- hover -----------------------------------------------------------------------------------
def test_hover_text_shows_every_runs_nearest_value(view, runs):
    view.set_runs(runs)
    view.smoothing_slider.setValue(0)  # the drawn values are the logged ones
    x = 123.4
    text = view.hover_text("loss", x)
    assert "step 123" in text
    for label, metrics in runs:
        steps, loss = metrics["step"]["step"], metrics["step"]["loss"]
        nearest = loss[int(np.argmin(np.abs(steps - x)))]  # run-b logs even steps only
        assert f"{label}: {nearest:.4g}" in text


def test_hover_text_reads_the_smoothed_curve_in_minutes(view, runs):
    view.set_runs(runs)
    view.x_box.setCurrentText("time")
    metrics = runs[0][1]["step"]
    minutes = metrics["time"] / 60
    x = float(minutes[2]) + 0.001
    expected = reference_smooth(metrics["loss"], 0.6)[2]
    text = view.hover_text("loss", x)
    assert "min" in text
    assert f"run-a: {expected:.4g}" in text


def test_mouse_over_a_plot_moves_the_cursor_in_every_plot(view, runs):
    view.set_runs(runs)
    view.smoothing_slider.setValue(0)
    vb = view.plots["tokens"].vb
    (x0, x1), (y0, y1) = vb.viewRange()
    x = x0 + 0.4 * (x1 - x0)
    view._on_mouse_moved((vb.mapViewToScene(QPointF(x, (y0 + y1) / 2)),))
    for cursor in view.cursors.values():
        assert cursor.isVisible()
        assert cursor.value() == pytest.approx(x, rel=1e-6)
    assert view.hover_label.text() == view.hover_text("tokens", view.cursors["tokens"].value())
    view._on_mouse_moved((QPointF(-50, -50),))
    assert not any(cursor.isVisible() for cursor in view.cursors.values())


# -- exports ---------------------------------------------------------------------------------
def test_export_csv_round_trips(view, runs, tmp_path):
    runs[0][1]["step"]["loss"][5] = np.nan  # a missing value: no row
    view.set_runs(runs)
    path = view.export_csv(tmp_path / "curves.csv")
    assert path == tmp_path / "curves.csv"
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == ["run", "group", "step", "time", "metric", "value"]
        read: dict[tuple[str, str, str], list[tuple[float, float, float]]] = {}
        for row in reader:
            read.setdefault((row["run"], row["group"], row["metric"]), []).append(
                (float(row["step"]), float(row["time"]), float(row["value"])))
    expected_keys = set()
    for label, metrics in runs:
        for group, columns in metrics.items():
            for metric, values in columns.items():
                if metric in ("step", "time"):
                    continue
                expected_keys.add((label, group, metric))
                keep = ~np.isnan(values)
                steps, times, got = np.array(read[label, group, metric]).T
                np.testing.assert_array_equal(steps, columns["step"][keep])
                np.testing.assert_array_equal(times, columns["time"][keep])
                np.testing.assert_array_equal(got, values[keep])
    assert set(read) == expected_keys
    assert len(read["run-a", "step", "loss"]) == len(runs[0][1]["step"]["loss"]) - 1


def _as_array(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    w, h = image.width(), image.height()
    data = np.frombuffer(image.constBits(), np.uint8, count=image.sizeInBytes())
    return data.reshape(h, image.bytesPerLine())[:, :w * 3].reshape(h, w, 3)


def test_export_png_holds_all_four_plots(view, runs, tmp_path):
    view.set_runs(runs)
    path = view.export_png(tmp_path / "curves.png")
    assert path.stat().st_size > 0
    image = QImage(str(path))
    assert not image.isNull()
    scene_rect = view.graphics.viewRect()
    assert image.width() == pytest.approx(scene_rect.width(), abs=2)
    assert image.height() == pytest.approx(scene_rect.height(), abs=2)
    pixels = _as_array(image).astype(int)
    for key, plot in view.plots.items():
        box = plot.vb.sceneBoundingRect().translated(-scene_rect.left(), -scene_rect.top())
        region = pixels[int(box.top()):int(box.bottom()), int(box.left()):int(box.right())]
        assert region.size, key
        # only the curves are in colour: the background, grid, axes and text are greys
        coloured = (region.max(axis=2) - region.min(axis=2)) > 60
        assert coloured.sum() >= 100, f"the curves are missing from the {key} plot"


def test_export_svg_writes_svg(view, runs, tmp_path):
    view.set_runs(runs)
    path = view.export_svg(tmp_path / "curves.svg")
    text = path.read_text(encoding="utf-8")
    assert "<svg" in text
    assert "validation bits/byte" in text
    assert text.count("<clipPath") >= 4  # each plot clips its curves


def test_svg_export_leaves_pyqtgraph_unpatched(view, runs, tmp_path):
    module = importlib.import_module("pyqtgraph.exporters.SVGExporter")
    before = module.correctCoordinates
    view.set_runs(runs)
    view.export_svg(tmp_path / "curves.svg")
    assert module.correctCoordinates is before


def test_svg_close_commands_become_lines_to_the_subpath_start():
    d = "M0,0 L4,0 L4,3 Z M10,10 L12,10 Z"
    assert svg_close_as_line(d) == "M0,0 L4,0 L4,3 L0,0 M10,10 L12,10 L10,10"
    assert svg_close_as_line("M1,2 L3,4 ") == "M1,2 L3,4"


@pytest.mark.parametrize("kind", ["png", "svg", "csv"])
@pytest.mark.parametrize("where", ["under_a_file", "onto_a_folder"])
def test_export_to_an_unwritable_path_raises_input_error(view, runs, tmp_path, kind, where):
    view.set_runs(runs)
    if where == "under_a_file":
        (tmp_path / "plain").write_text("not a folder")
        target = tmp_path / "plain" / f"curves.{kind}"
    else:
        target = tmp_path / f"curves.{kind}"
        target.mkdir()
    before = sorted(p.name for p in tmp_path.iterdir())
    export = {"png": view.export_png, "svg": view.export_svg, "csv": view.export_csv}[kind]
    with pytest.raises(InputError, match="cannot write") as caught:
        export(target)
    assert caught.value.path == str(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no file, no temporary
    assert not target.is_file()


def test_export_buttons_ask_for_a_path_and_write_it(view, runs, tmp_path, monkeypatch):
    view.set_runs(runs)
    target = tmp_path / "from-button"  # the suffix is added
    monkeypatch.setattr("gui.panels.curves.QFileDialog.getSaveFileName",
                        lambda *args, **kwargs: (str(target), ""))
    view.buttons["csv"].click()
    assert (tmp_path / "from-button.csv").read_text().startswith("run,group,step")


def test_export_button_failure_is_reported(qtbot, view, runs, tmp_path, monkeypatch):
    view.set_runs(runs)
    (tmp_path / "plain").write_text("")
    monkeypatch.setattr("gui.panels.curves.QFileDialog.getSaveFileName",
                        lambda *args, **kwargs: (str(tmp_path / "plain" / "x.png"), ""))
    with qtbot.waitSignal(view.failed, timeout=1000) as blocker:
        view.buttons["png"].click()
    assert isinstance(blocker.args[0], InputError)


def test_the_columns_are_the_metrics_files_columns():
    from engine.train.metrics import EVAL_COLUMNS, STEP_COLUMNS
    from gui.panels.curves import GROUP_COLUMNS

    assert GROUP_COLUMNS == {"step": STEP_COLUMNS, "eval": EVAL_COLUMNS}
