"""Training curves, TensorBoard-like: loss, validation bits/byte, learning rate and tokens/s of
one or more runs, overlaid one colour per run, updated live while a run trains.

A run's metrics are the columns ``engine.train.read_metrics`` returns (``step`` and ``eval``
groups of float64 arrays; ``time`` in seconds since the run started, losses in nats). They are
held in growable buffers so a live ``append`` costs the new rows, one smoothing pass over the
run appended to and one ``setData`` per curve; pyqtgraph downsamples (peak) and clips to the
view when it paints.
"""

from __future__ import annotations

import csv
import html
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from numba import njit
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from engine.atomic import atomic_open
from engine.errors import BytescopeError, InputError
from engine.train.metrics import EVAL_COLUMNS, STEP_COLUMNS
from gui.exports import export_scene
from gui.tracks.base import nice_step

GROUP_COLUMNS = {"step": STEP_COLUMNS, "eval": EVAL_COLUMNS}  # the metrics file's columns
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",  # matplotlib's tab10
           "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
RAW_ALPHA = 60  # the unsmoothed curve behind the smoothed one
DEFAULT_SMOOTHING = 60  # slider value: weight 0.6, TensorBoard's default
X_MODES = ("step", "time")
X_LABELS = {"step": "step", "time": "time (min)"}
HOVER_RATE = 30  # mouse moves handled per second
TEXT = QColor(30, 30, 30)
AXIS = QColor(110, 110, 110)
CURSOR = QColor(90, 90, 90, 150)
LEGEND_HEIGHT = 22
LEFT_AXIS_WIDTH = 56  # the same for every plot, so the plots of a column line up


@dataclass(frozen=True)
class CurveSpec:
    """One plot: which group's column it draws, and how."""

    key: str
    title: str
    group: str
    column: str
    smoothed: bool
    symbols: bool = False


CURVES = {spec.key: spec for spec in (
    CurveSpec("loss", "train loss (nats)", "step", "loss", smoothed=True),
    CurveSpec("val", "validation bits/byte", "eval", "val_bits_per_byte", smoothed=False,
              symbols=True),  # a point per evaluation of a fixed held-out set: not noisy,
    # and too sparse for an EMA (its first value would dominate for many evaluations)
    CurveSpec("lr", "learning rate", "step", "lr", smoothed=False),
    CurveSpec("tokens", "tokens/s", "step", "tokens_per_s", smoothed=True),
)}
GRID = {"loss": (0, 0), "val": (0, 1), "lr": (1, 0), "tokens": (1, 1)}  # (row, col)


@njit(cache=True)
def _debiased_ema(values: np.ndarray, weight: float) -> np.ndarray:
    out = np.empty_like(values)
    last = 0.0
    power = 1.0  # w^(t+1), by products: pow() in the loop costs 10x more
    for i in range(values.shape[0]):
        x = values[i]
        if not np.isfinite(x):
            out[i] = x
            continue
        last = weight * last + (1.0 - weight) * x
        power *= weight
        out[i] = last / (1.0 - power)
    return out


def smooth(values: np.ndarray, weight: float) -> np.ndarray:
    """TensorBoard's debiased exponential moving average (``resmoothDataset`` in
    ``vz_line_chart2/line-chart.ts``).

    Over the finite values ``x_0, x_1, ...``: ``s_t = w * s_{t-1} + (1 - w) * x_t`` with
    ``s_{-1} = 0``, reported as ``s_t / (1 - w^(t+1))`` so the start is not pulled towards 0.
    A NaN (or inf) is skipped: kept as it is in the output, not counted in ``t``, not breaking
    the average. ``w = 0`` returns the values unchanged. Sequential, hence compiled.
    """
    if not 0.0 <= weight < 1.0:
        raise ValueError(f"smoothing weight {weight} is outside [0, 1)")
    values = np.ascontiguousarray(values, dtype=np.float64)
    if values.ndim != 1:
        raise ValueError(f"smooth takes a 1-D array, not shape {values.shape}")
    return _debiased_ema(values, float(weight))


def nearest_value(xs: np.ndarray, ys: np.ndarray, x: float) -> float | None:
    """``ys`` at the ``xs`` nearest to ``x`` among the finite points (the first if tied)."""
    keep = np.isfinite(xs) & np.isfinite(ys)
    if not keep.any():
        return None
    xs, ys = xs[keep], ys[keep]
    return float(ys[int(np.argmin(np.abs(xs - x)))])


def format_value(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:,.0f}" if abs(value) >= 1e4 else f"{value:.4g}"


def log_ticks(lo: float, hi: float, most: int) -> list[float]:
    """Tick positions (log10 units) for a log axis showing ``10^lo .. 10^hi``: the densest of
    1 / 1-2-5 / 1-2-3-5 / 1..9 x 10^k with at most ``most`` ticks (every n-th decade if even
    decades are too many); a span too narrow for 3 such ticks gets linear 1-2-5 ticks."""
    lo, hi = min(lo, hi), max(lo, hi)
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi - lo <= 0:
        return []
    decades = range(math.floor(lo), math.ceil(hi) + 1)
    chosen: list[float] = []
    for mantissas in ((1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 2, 3, 5), (1, 2, 5), (1,)):
        ticks = [d + math.log10(m) for d in decades for m in mantissas]
        chosen = [t for t in ticks if lo <= t <= hi]
        if len(chosen) <= most:
            break
    else:
        every = math.ceil(len(chosen) / most)
        chosen = [t for t in chosen if round(t) % every == 0]
    if len(chosen) < 3:
        a, b = 10.0 ** lo, 10.0 ** hi
        step = nice_step(b - a, most, minimum=0.0)
        linear = np.arange(math.ceil(a / step) * step, b + step * 1e-9, step)
        linear = [math.log10(v) for v in linear if v > 0]
        if len(linear) > len(chosen):
            chosen = linear
    return chosen


class CurveAxis(pg.AxisItem):
    """A left axis whose log mode labels 1-2-5 x 10^k (or linear steps within a decade) in
    plain numbers; pyqtgraph's own labels the decades and crowds their minor ticks."""

    MIN_TICK_SPACING = 28  # pixels between labelled ticks

    def logTickValues(self, minVal, maxVal, size, stdTicks):
        return [(None, log_ticks(minVal, maxVal, max(2, int(size // self.MIN_TICK_SPACING))))]

    def logTickStrings(self, values, scale, spacing):
        return [f"{10.0 ** v * scale:g}" for v in values]


def _as_float(value) -> float:
    return math.nan if value is None else float(value)


class ColumnBuffer:
    """One group's columns as growable float64 arrays; ``column`` is a view of the rows so far.

    The capacity doubles when full, so appending ``k`` rows costs amortised ``O(k)``.
    """

    def __init__(self, names: Sequence[str], capacity: int = 256) -> None:
        self.names = tuple(names)
        self.size = 0
        self._data = np.empty((len(self.names), capacity))  # (columns, capacity)

    def column(self, name: str) -> np.ndarray:
        return self._data[self.names.index(name), :self.size]

    def columns(self) -> dict[str, np.ndarray]:
        return {name: self.column(name) for name in self.names}

    def extend(self, columns: Mapping[str, np.ndarray]) -> None:
        """Append equally long columns; a missing column gets NaN, an unknown one is ignored.
        Ragged columns (a live read of a file being written) are cut to the shortest."""
        given = {name: np.asarray(columns[name], dtype=np.float64).ravel()
                 for name in self.names if name in columns}
        k = min((len(c) for c in given.values()), default=0)
        if k == 0:
            return
        end = self.size + k
        if end > self._data.shape[1]:
            grown = np.empty((len(self.names), max(2 * self._data.shape[1], end)))
            grown[:, :self.size] = self._data[:, :self.size]
            self._data = grown
        for i, name in enumerate(self.names):
            self._data[i, self.size:end] = given[name][:k] if name in given else math.nan
        self.size = end

    def extend_rows(self, rows: Iterable[Mapping[str, float]]) -> None:
        rows = list(rows)
        self.extend({name: np.array([_as_float(row.get(name)) for row in rows])
                     for name in self.names})


@dataclass
class Curves:
    """A run's items in one plot: ``top`` in full colour (smoothed where the plot smooths),
    ``raw`` faded behind it (None where the plot does not smooth)."""

    top: pg.PlotDataItem
    raw: pg.PlotDataItem | None


class Run:
    """A run's buffered metrics and its curves."""

    def __init__(self, label: str, colour: QColor) -> None:
        self.label = label
        self.colour = colour
        self.groups = {group: ColumnBuffer(names) for group, names in GROUP_COLUMNS.items()}
        self.curves: dict[str, Curves] = {}

    def add_group(self, group: str, names: Iterable[str]) -> ColumnBuffer:
        """The group's buffer, created with ``names`` added to the known columns if new."""
        if group not in self.groups:
            known = GROUP_COLUMNS.get(group, ())
            self.groups[group] = ColumnBuffer([*known, *(n for n in names if n not in known)])
        return self.groups[group]


def _plot(spec: CurveSpec) -> pg.PlotItem:
    plot = pg.PlotItem(axisItems={"left": CurveAxis("left")})
    plot.setTitle(spec.title, size="9pt", color=TEXT)
    plot.showGrid(x=True, y=True, alpha=0.15)
    for name in ("left", "bottom"):
        axis = plot.getAxis(name)
        axis.setPen(pg.mkPen(AXIS))
        axis.setTextPen(pg.mkPen(TEXT))
    plot.getAxis("left").setWidth(LEFT_AXIS_WIDTH)
    # PlotItem.addItem imposes the plot's own downsampling and clipping on each curve added
    # (off by default), so they are set here rather than on the curves
    plot.setDownsampling(auto=True, mode="peak")
    plot.setClipToView(True)
    return plot


def _curve(colour: QColor, symbols: bool, faded: bool) -> pg.PlotDataItem:
    colour = QColor(colour)
    if faded:
        colour.setAlpha(RAW_ALPHA)
    options = {}
    if symbols:
        options = {"symbol": "o", "symbolSize": 4 if faded else 5, "symbolPen": None,
                   "symbolBrush": colour}
    # width 1: Qt strokes a wider pen over a dense zigzag ~100x slower
    return pg.PlotDataItem(pen=pg.mkPen(colour, width=1), antialias=not faded, **options)


class CurvesView(QWidget):
    """Four x-linked plots of the runs' metrics, with smoothing, log y, step/time x, a hover
    read-out and PNG/SVG/CSV exports. ``failed(error)`` follows an export error's dialog."""

    failed = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._runs: dict[str, Run] = {}
        self._colours_used = 0

        self.x_box = QComboBox()
        self.x_box.addItems(list(X_MODES))
        self.x_box.setToolTip("x axis: optimiser steps, or minutes since the run started")
        self.log_box = QCheckBox("log y")
        self.smoothing_slider = QSlider(Qt.Orientation.Horizontal)
        self.smoothing_slider.setRange(0, 99)
        self.smoothing_slider.setValue(DEFAULT_SMOOTHING)
        self.smoothing_slider.setFixedWidth(140)
        self.smoothing_slider.setToolTip("TensorBoard's exponential moving average; "
                                         "the raw curve stays faded behind")
        self.smoothing_label = QLabel()
        self.smoothing_label.setMinimumWidth(self.smoothing_label.fontMetrics()
                                             .horizontalAdvance("smoothing 0.00") + 4)
        self.buttons = {kind: QPushButton(f"{kind.upper()}…") for kind in ("png", "svg", "csv")}
        bar = QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 2)
        bar.addWidget(QLabel("x"))
        bar.addWidget(self.x_box)
        bar.addSpacing(8)
        bar.addWidget(self.log_box)
        bar.addSpacing(8)
        bar.addWidget(self.smoothing_label)
        bar.addWidget(self.smoothing_slider)
        bar.addStretch(1)
        for kind, button in self.buttons.items():
            button.setToolTip(f"export the curves as {kind.upper()}")
            button.clicked.connect(lambda _=False, kind=kind: self._export_dialog(kind))
            bar.addWidget(button)

        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        self.graphics.ci.layout.setContentsMargins(4, 4, 4, 4)
        self.graphics.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        # the legend is a line of its own above the plots: it never hides a curve, and it
        # is part of the scene, so the PNG and SVG exports carry it
        self.legend = pg.LabelItem("", size="8pt", color=TEXT, justify="left")
        self.graphics.ci.addItem(self.legend, row=0, col=0, colspan=2)
        self.graphics.ci.layout.setRowFixedHeight(0, LEGEND_HEIGHT)
        self.plots: dict[str, pg.PlotItem] = {}
        self.cursors: dict[str, pg.InfiniteLine] = {}
        for key, spec in CURVES.items():
            plot = _plot(spec)
            row, col = GRID[key]
            self.graphics.ci.addItem(plot, row=row + 1, col=col)
            cursor = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(CURSOR))
            cursor.setVisible(False)
            plot.addItem(cursor, ignoreBounds=True)
            self.plots[key], self.cursors[key] = plot, cursor
        for key, plot in self.plots.items():
            if key != "loss":
                plot.setXLink(self.plots["loss"])
        self._set_x_labels()

        self.hover_label = QLabel(" ")
        self.hover_label.setTextFormat(Qt.TextFormat.PlainText)
        self.hover_label.setFont(QFont("DejaVu Sans Mono", 9))
        self.hover_label.setMinimumWidth(1)  # long read-outs are clipped, never widen the panel
        self.hover_label.setContentsMargins(6, 2, 6, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.hover_label)

        self._show_weight()
        self.smoothing_slider.valueChanged.connect(self._on_smoothing)
        self.log_box.toggled.connect(self._on_log)
        self.x_box.currentTextChanged.connect(self._on_x_mode)
        self._hover = pg.SignalProxy(self.graphics.scene().sigMouseMoved, rateLimit=HOVER_RATE,
                                     slot=self._on_mouse_moved)

    # -- state ---------------------------------------------------------------------------------
    @property
    def weight(self) -> float:
        """The smoothing weight, ``slider / 100``."""
        return self.smoothing_slider.value() / 100

    @property
    def x_mode(self) -> str:
        return self.x_box.currentText()

    def labels(self) -> list[str]:
        return list(self._runs)

    def curves(self, plot_key: str, label: str) -> Curves:
        """Run ``label``'s items in plot ``plot_key``."""
        return self._runs[label].curves[plot_key]

    # -- data ----------------------------------------------------------------------------------
    def set_runs(self, runs: list[tuple[str, dict]]) -> None:
        """Replace every series with these runs' metrics (``read_metrics``'s dict each)."""
        labels = [label for label, _ in runs]
        if len(set(labels)) != len(labels):
            raise ValueError(f"run labels must be unique: {labels}")
        self.clear()
        for label, metrics in runs:
            run = self._add_run(label)
            for group, columns in metrics.items():
                run.add_group(group, columns).extend(columns)
            self._refresh(run, CURVES)
        self._autorange()

    def append(self, label: str, group: str, rows: list[dict]) -> None:
        """Append live rows (a missing key is NaN) to run ``label``, created if new."""
        if group not in GROUP_COLUMNS:
            raise ValueError(f"unknown metrics group {group!r}")
        new = label not in self._runs
        run = self._add_run(label) if new else self._runs[label]
        run.groups[group].extend_rows(rows)
        self._refresh(run, CURVES if new else
                      [key for key, spec in CURVES.items() if spec.group == group])

    def clear(self) -> None:
        """Remove every run."""
        for run in self._runs.values():
            for key, curves in run.curves.items():
                for item in (curves.top, curves.raw):
                    if item is not None:
                        self.plots[key].removeItem(item)
        self._runs.clear()
        self._colours_used = 0
        self._update_legend()
        self._hide_cursor()

    def _add_run(self, label: str) -> Run:
        run = Run(label, QColor(PALETTE[self._colours_used % len(PALETTE)]))
        self._colours_used += 1
        for key, spec in CURVES.items():
            raw = _curve(run.colour, spec.symbols, faded=True) if spec.smoothed else None
            top = _curve(run.colour, spec.symbols, faded=False)
            for item in (raw, top):  # the raw curve first: behind
                if item is not None:
                    self.plots[key].addItem(item)
            run.curves[key] = Curves(top, raw)
        self._runs[label] = run
        self._update_legend()
        return run

    def _update_legend(self) -> None:
        entries = [f'<span style="color:{run.colour.name()}">━━</span>&nbsp;{html.escape(label)}'
                   for label, run in self._runs.items()]
        self.legend.setText("&nbsp;&nbsp;&nbsp;".join(entries))

    def _x_values(self, columns: ColumnBuffer) -> np.ndarray:
        if self.x_mode == "time":
            return columns.column("time") / 60.0
        return columns.column("step")

    def _refresh(self, run: Run, keys: Iterable[str]) -> None:
        """Set the data of ``run``'s curves in the plots ``keys``."""
        weight = self.weight
        for key in keys:
            spec, curves = CURVES[key], run.curves[key]
            columns = run.groups[spec.group]
            x, y = self._x_values(columns), columns.column(spec.column)
            if spec.symbols:  # few points; pyqtgraph's scatter warns on NaN-only data
                keep = np.isfinite(x) & np.isfinite(y)
                x, y = x[keep], y[keep]
            if curves.raw is None:
                curves.top.setData(x, y)
                continue
            curves.raw.setVisible(weight > 0)
            curves.raw.setData(x, y)
            curves.top.setData(x, smooth(y, weight) if weight > 0 else y)

    def _refresh_all(self) -> None:
        for run in self._runs.values():
            self._refresh(run, CURVES)

    def _autorange(self) -> None:
        for plot in self.plots.values():
            plot.enableAutoRange()

    # -- controls ------------------------------------------------------------------------------
    def _show_weight(self) -> None:
        self.smoothing_label.setText(f"smoothing {self.weight:.2f}")

    def _on_smoothing(self, _value: int) -> None:
        self._show_weight()
        self._refresh_all()

    def _on_log(self, on: bool) -> None:
        for plot in self.plots.values():
            plot.setLogMode(y=on)
        self._autorange()

    def _on_x_mode(self, _mode: str) -> None:
        self._set_x_labels()
        self._hide_cursor()
        self._refresh_all()
        self._autorange()

    def _set_x_labels(self) -> None:
        for key, plot in self.plots.items():
            # the bottom row only: the top row's ticks say the same
            label = X_LABELS[self.x_mode] if GRID[key][0] == 1 else None
            plot.setLabel("bottom", label, color=TEXT.name(), size="8pt")
            plot.getAxis("bottom").showLabel(label is not None)

    # -- hover ---------------------------------------------------------------------------------
    def hover_text(self, plot_key: str, x: float) -> str:
        """Each run's drawn (smoothed) value in plot ``plot_key`` at the point nearest ``x``."""
        spec = CURVES[plot_key]
        where = f"step {x:,.0f}" if self.x_mode == "step" else f"{x:,.1f} min"
        parts = [f"{spec.title}  {where}"]
        for label, run in self._runs.items():
            item = run.curves[plot_key].top
            if item.xData is None or not len(item.xData):
                continue
            parts.append(f"{label}: {format_value(nearest_value(item.xData, item.yData, x))}")
        return "  ".join(parts)

    def show_cursor(self, x: float) -> None:
        for cursor in self.cursors.values():
            cursor.setPos(x)
            cursor.setVisible(True)

    def _hide_cursor(self) -> None:
        for cursor in self.cursors.values():
            cursor.setVisible(False)
        self.hover_label.setText(" ")

    def _on_mouse_moved(self, event) -> None:
        pos = event[0]
        for key, plot in self.plots.items():
            if plot.vb.sceneBoundingRect().contains(pos):
                x = plot.vb.mapSceneToView(pos).x()
                self.show_cursor(x)
                self.hover_label.setText(self.hover_text(key, x))
                return
        self._hide_cursor()

    def leaveEvent(self, event) -> None:
        self._hide_cursor()
        super().leaveEvent(event)

    # -- exports -------------------------------------------------------------------------------
    def export_png(self, path: str | Path) -> Path:
        """The four plots with their legend, as on screen."""
        return export_scene(self.graphics.scene(), path)

    def export_svg(self, path: str | Path) -> Path:
        """The four plots with their legend, as vectors."""
        return export_scene(self.graphics.scene(), path)

    def export_csv(self, path: str | Path) -> Path:
        """Every metric of every run in long format: ``run,group,step,time,metric,value``
        (time in seconds, losses in nats), one row per run, group, metric and step, in that
        nesting; missing (NaN) values have no row. Floats are written exactly (``repr``)."""
        path = Path(path)
        try:
            with atomic_open(path, "w", encoding="utf-8", newline="") as out:
                writer = csv.writer(out, lineterminator="\n")
                writer.writerow(("run", "group", "step", "time", "metric", "value"))
                for label, run in self._runs.items():
                    for group, columns in run.groups.items():
                        steps = [_number(s) for s in columns.column("step").tolist()]
                        times = [_number(t) for t in columns.column("time").tolist()]
                        for metric in columns.names:
                            if metric in ("step", "time"):
                                continue
                            values = columns.column(metric).tolist()
                            writer.writerows((label, group, s, t, metric, repr(v))
                                             for s, t, v in zip(steps, times, values,
                                                                strict=True)
                                             if not math.isnan(v))
        except OSError as error:
            raise InputError(f"cannot write: {error.strerror or error}", path=path) from error
        return path

    def _export_dialog(self, kind: str) -> None:
        filters = {"png": "PNG image (*.png)", "svg": "SVG image (*.svg)",
                   "csv": "CSV table (*.csv)"}
        path, _ = QFileDialog.getSaveFileName(self, f"Export the curves as {kind.upper()}",
                                              f"curves.{kind}", filters[kind])
        if not path:
            return
        if not path.lower().endswith(f".{kind}"):
            path += f".{kind}"
        export = {"png": self.export_png, "svg": self.export_svg, "csv": self.export_csv}[kind]
        try:
            export(path)
        except BytescopeError as error:
            box = QMessageBox(QMessageBox.Icon.Warning, "bytescope", str(error),
                              QMessageBox.StandardButton.Ok, self)
            box.setWindowModality(Qt.WindowModality.WindowModal)
            box.open()
            self.failed.emit(error)


def _number(value: float) -> str:
    """A step or time for the CSV: integers without ``.0``, others exactly; NaN empty."""
    if math.isnan(value):
        return ""
    return str(int(value)) if value.is_integer() else repr(value)
