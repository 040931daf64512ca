"""Entropy and surprisal tracks: the raw values as steps when zoomed in, the pyramid's
min-max envelope and mean line when zoomed out, and a draggable threshold line.

The y range follows the view (IGV's autoscale) but robustly: its top is the 99.5th percentile
of the bins' maxima in view (:func:`robust_top`), so one spike (a 2.99-nat N, a record's first
base) does not flatten everything else; bins above the top are drawn clipped at the edge with
a triangle over each, so the spike is still seen. A data-driven range rather than a fixed
0..ln 4: the interesting differences of a DNA model lie within a fraction of a nat.

The entropy track also picks what the Attribution panel explains (:class:`PickOverlay`): a
click chooses a base, a shift-drag selects a region, a right click asks for the Explain menu.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QRectF, Qt, Signal
from PySide6.QtGui import QColor

from gui.model.pyramid import ScoreBuffer, SignalWindow

from .base import AXIS_WIDTH, OVERLAY, THRESHOLD, MessageItem, make_plot, ui_font

TOP_QUANTILE = 0.995  # of the bins' maxima in view: the top of the y range...
SPIKE_ROOM = 0.25  # ...unless the maximum lies within this fraction of the range above it


def robust_top(high: np.ndarray, low: float) -> float:
    """The top of the y range for bins whose maxima are ``high`` (no NaN) over ``low``.

    The ``TOP_QUANTILE`` quantile of ``high`` (the value at or below it, so a lone spike
    among a few hundred bins is left out), or ``max(high)`` when that is within
    ``SPIKE_ROOM * (quantile - low)`` of it: only a value that would stretch the range by
    more than a quarter is clipped."""
    top = float(np.quantile(high, TOP_QUANTILE, method="lower"))
    peak = float(high.max())
    return peak if peak - top <= SPIKE_ROOM * max(top - low, 0.0) else top


def envelope_segments(window: SignalWindow) -> tuple[np.ndarray, np.ndarray]:
    """One vertical segment per known bin, from its min to its max: with a bin or two per
    pixel they fill the band, and thin segments draw far faster than a filled polygon."""
    known = ~np.isnan(window.low)
    mids = ((window.edges[:-1] + window.edges[1:]) / 2)[known]
    x = np.repeat(mids, 2)
    y = np.empty(2 * len(mids), dtype=np.float64)
    y[0::2] = window.low[known]
    y[1::2] = window.high[known]
    return x, y


class _LineEvents(QObject):
    dragged = Signal(float)  # while dragging
    released = Signal(float)


class _PickEvents(QObject):
    clicked = Signal(float)  # a left click at data x
    region = Signal(float, float, bool)  # a shift-drag from x to x; True when released
    menu = Signal(float, object)  # a right click at data x, with its screen position


class PickOverlay(pg.GraphicsObject):
    """An invisible item over a track that turns clicks and shift-drags into picks
    (``events``); a plain drag is left to the view box, which pans."""

    def __init__(self) -> None:
        super().__init__()
        self.length = 1
        self.events = _PickEvents()
        # over the view box (which would pan first), under the threshold line and the
        # region selected, which keep their own drags
        self.setZValue(1)

    def set_length(self, length: int) -> None:
        self.prepareGeometryChange()
        self.length = max(1, length)

    def boundingRect(self) -> QRectF:
        return QRectF(0.0, -1e6, float(self.length), 2e6)  # every y the track may show

    def paint(self, painter, option, widget=None) -> None:
        pass

    def mouseClickEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            event.accept()
            self.events.clicked.emit(float(event.pos().x()))
        elif event.button() == Qt.MouseButton.RightButton:
            event.accept()
            self.events.menu.emit(float(event.pos().x()), event.screenPos())
        else:
            event.ignore()

    def mouseDragEvent(self, event) -> None:
        shift = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        if event.button() != Qt.MouseButton.LeftButton or (event.isStart() and not shift):
            event.ignore()
            return
        event.accept()
        self.events.region.emit(float(event.buttonDownPos().x()), float(event.pos().x()),
                                bool(event.isFinish()))


class SignalTrack:
    """One signal of a :class:`ScoreBuffer` (``entropy`` or ``surprisal``)."""

    def __init__(self, signal: str, colour: QColor, fill: QColor, height: int,
                 threshold: bool = False) -> None:
        self.name = signal
        self.signal = signal
        self.height = height
        self.plot = make_plot(signal)
        axis = self.plot.getAxis("left")
        axis.setStyle(showValues=True, tickLength=-4, tickFont=ui_font(7))
        axis.setPen(pg.mkPen(120, 120, 120))
        axis.setTextPen(pg.mkPen(60, 60, 60))
        axis.setWidth(AXIS_WIDTH)
        self.plot.showGrid(y=True, alpha=0.15)
        self.buffer: ScoreBuffer | None = None
        self.envelope = pg.PlotCurveItem(pen=pg.mkPen(fill, width=1), connect="pairs",
                                         skipFiniteCheck=True)
        self.plot.addItem(self.envelope, ignoreBounds=True)
        self.line = pg.PlotCurveItem(pen=pg.mkPen(colour, width=1), skipFiniteCheck=False,
                                     connect="finite")
        self.plot.addItem(self.line, ignoreBounds=True)
        # a triangle at the top edge over each bin clipped by the robust range
        self.clip_marks = pg.ScatterPlotItem(symbol="t1", size=7, pen=pg.mkPen(None),
                                             brush=pg.mkBrush(colour))
        self.plot.addItem(self.clip_marks, ignoreBounds=True)
        self.clipped_x = np.empty(0)  # where the last update drew them (base coordinates)
        self.message = MessageItem()
        self.plot.addItem(self.message, ignoreBounds=True)
        self.events = _LineEvents()
        self.threshold_line: pg.InfiniteLine | None = None
        if threshold:
            line = pg.InfiniteLine(angle=0, movable=True,
                                   pen=pg.mkPen(THRESHOLD, width=1.5,
                                                style=Qt.PenStyle.DashLine),
                                   hoverPen=pg.mkPen(THRESHOLD, width=3),
                                   label="θ {value:.3f}",
                                   labelOpts={"position": 0.99, "color": THRESHOLD,
                                              "fill": (255, 255, 255, 200),
                                              "anchors": [(1, 1), (1, 1)]})
            line.setZValue(10)
            line.sigDragged.connect(lambda ln: self.events.dragged.emit(float(ln.value())))
            line.sigPositionChangeFinished.connect(
                lambda ln: self.events.released.emit(float(ln.value())))
            self.plot.addItem(line, ignoreBounds=True)
            line.hide()
            self.threshold_line = line
        self.picks: PickOverlay | None = None
        if threshold:  # the entropy track: clicks and shift-drags pick what to explain
            self.picks = PickOverlay()
            self.plot.addItem(self.picks, ignoreBounds=True)
        self.drawn_level: int | None = None  # what the last update drew (None: raw values)
        self.drawn_points = 0
        # another model's values of the same signal, dashed over this one (the Bake panel's
        # fp32 entropy while the baked model scores the tracks), with a legend naming both
        self.overlay: ScoreBuffer | None = None
        self.overlay_line = pg.PlotCurveItem(
            pen=pg.mkPen(OVERLAY, width=1.2, style=Qt.PenStyle.DashLine), connect="finite")
        self.overlay_line.setZValue(1)
        self.plot.addItem(self.overlay_line, ignoreBounds=True)
        self.legend: pg.LegendItem | None = None

    def set_length(self, length: int) -> None:
        self.message.set_length(length)
        if self.picks is not None:
            self.picks.set_length(length)

    def set_buffer(self, buffer: ScoreBuffer | None, message: str = "") -> None:
        self.buffer = buffer if buffer is not None and self.signal in buffer.signals else None
        self.message.set_text("" if self.buffer is not None else message)
        if self.buffer is None:
            self.line.setData([], [], stepMode=None)
            self.envelope.setData([], [])
            self._mark_clipped(np.empty(0), 0.0)

    def set_overlay(self, buffer: ScoreBuffer | None, names: tuple[str, str] = ("", "")
                    ) -> None:
        """Draw ``buffer``'s values of this signal dashed over the track (None: stop);
        ``names``: the legend's words for this track's line and for the overlay's."""
        if buffer is not None and self.signal not in buffer.signals:
            buffer = None
        self.overlay = buffer
        if buffer is None:
            self.overlay_line.setData([], [])
            if self.legend is not None:
                self.legend.hide()
            return
        if self.legend is None:
            self.legend = pg.LegendItem(offset=(4, 2), labelTextSize="7pt",
                                        brush=pg.mkBrush(255, 255, 255, 140))
            self.legend.setParentItem(self.plot.getViewBox())
        self.legend.clear()
        self.legend.addItem(self.line, names[0])
        self.legend.addItem(self.overlay_line, names[1])
        self.legend.show()

    def _draw_overlay(self, x0: float, x1: float, width_px: int) -> None:
        overlay = self.overlay
        if overlay is None:
            return
        window = overlay.window(self.signal, x0, x1, width_px)
        raw = window.level is None and window.bin == 1
        shift = 1 if raw and self.signal == "entropy" else 0
        if raw:
            self.overlay_line.setData(window.edges + shift, window.mean.astype(np.float64),
                                      stepMode="center")
        else:
            mids = (window.edges[:-1] + window.edges[1:]) / 2
            self.overlay_line.setData(mids, window.mean.astype(np.float64), stepMode=None)

    def set_threshold(self, value: float | None, label: str = "θ") -> None:
        line = self.threshold_line
        if line is None:
            return
        if value is None:
            line.hide()
            return
        line.label.format = f"{label} {{value:.3f}}"
        line.show()
        if not line.moving:
            line.setValue(value)
        line.label.valueChanged()  # a hidden label skips updates: refresh its text now

    def autoscale(self, window: SignalWindow) -> None:
        """Fit y to the values in view (robustly: :func:`robust_top`) and the threshold,
        unless the threshold line is being dragged (the axis must not move under the
        mouse)."""
        line = self.threshold_line
        if line is not None and line.moving:
            return
        known = ~np.isnan(window.low)
        if not known.any():
            return
        lo = float(window.low[known].min())
        hi = robust_top(window.high[known], lo)
        if line is not None and line.isVisible():
            lo, hi = min(lo, line.value()), max(hi, line.value())
        pad = max(0.06 * (hi - lo), 0.02)
        lo, hi = max(0.0, lo - pad), hi + pad
        current = self.plot.getViewBox().viewRange()[1]
        if abs(current[0] - lo) > 0.01 * (hi - lo) or abs(current[1] - hi) > 0.01 * (hi - lo):
            self.plot.setYRange(lo, hi, padding=0)

    def _mark_clipped(self, x: np.ndarray, top: float) -> None:
        self.clipped_x = x
        if len(x):
            self.clip_marks.setData(x, np.full(len(x), top))
        else:
            self.clip_marks.setData([], [])

    def update_view(self, x0: float, x1: float, width_px: int) -> None:
        self._draw_overlay(x0, x1, width_px)
        buffer = self.buffer
        if buffer is None:
            return
        window = buffer.window(self.signal, x0, x1, width_px)
        self.drawn_level = window.level
        self.drawn_points = len(window)
        self.autoscale(window)
        y0, y1 = self.plot.getViewBox().viewRange()[1]
        mids = (window.edges[:-1] + window.edges[1:]) / 2
        raw = window.level is None and window.bin == 1
        # H[p-1] is about base p: draw each raw value over the base it is about
        shift = 1 if raw and self.signal == "entropy" else 0
        over = np.nan_to_num(window.high, nan=-np.inf) > y1
        # the mark sits just inside the edge, where a whole triangle shows
        self._mark_clipped(mids[over] + shift, y1 - 0.03 * (y1 - y0))
        if raw:  # raw values as steps over their bases
            self.line.setData(window.edges + shift, window.mean.astype(np.float64),
                              stepMode="center")
            self.envelope.setData([], [])
            return
        self.line.setData(mids, window.mean.astype(np.float64), stepMode=None)
        self.envelope.setData(*envelope_segments(window))
