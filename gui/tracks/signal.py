"""Entropy and surprisal tracks: the raw values as steps when zoomed in, the pyramid's
min-max envelope and mean line when zoomed out, and a draggable threshold line."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor

from gui.model.pyramid import ScoreBuffer, SignalWindow

from .base import AXIS_WIDTH, THRESHOLD, MessageItem, make_plot, ui_font


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
        self.drawn_level: int | None = None  # what the last update drew (None: raw values)
        self.drawn_points = 0

    def set_length(self, length: int) -> None:
        self.message.set_length(length)

    def set_buffer(self, buffer: ScoreBuffer | None, message: str = "") -> None:
        self.buffer = buffer if buffer is not None and self.signal in buffer.signals else None
        self.message.set_text("" if self.buffer is not None else message)
        if self.buffer is None:
            self.line.setData([], [], stepMode=None)
            self.envelope.setData([], [])

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
        """Fit y to the values in view and the threshold (IGV's autoscale), unless the
        threshold line is being dragged (the axis must not move under the mouse)."""
        line = self.threshold_line
        if line is not None and line.moving:
            return
        known = window.low[~np.isnan(window.low)]
        if not len(known):
            return
        lo, hi = float(known.min()), float(np.nanmax(window.high))
        if line is not None and line.isVisible():
            lo, hi = min(lo, line.value()), max(hi, line.value())
        pad = max(0.06 * (hi - lo), 0.02)
        lo, hi = max(0.0, lo - pad), hi + pad
        current = self.plot.getViewBox().viewRange()[1]
        if abs(current[0] - lo) > 0.01 * (hi - lo) or abs(current[1] - hi) > 0.01 * (hi - lo):
            self.plot.setYRange(lo, hi, padding=0)

    def update_view(self, x0: float, x1: float, width_px: int) -> None:
        buffer = self.buffer
        if buffer is None:
            return
        window = buffer.window(self.signal, x0, x1, width_px)
        self.drawn_level = window.level
        self.drawn_points = len(window)
        self.autoscale(window)
        if window.level is None and window.bin == 1:  # raw values as steps over their bases
            if self.signal == "entropy":
                # H[p-1] is about base p: draw each value over the base it is about
                edges = window.edges + 1
            else:
                edges = window.edges
            self.line.setData(edges, window.mean.astype(np.float64), stepMode="center")
            self.envelope.setData([], [])
            return
        mids = (window.edges[:-1] + window.edges[1:]) / 2
        self.line.setData(mids, window.mean.astype(np.float64), stepMode=None)
        self.envelope.setData(*envelope_segments(window))
