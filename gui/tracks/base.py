"""What every track shares: a plot row, colours, and items painted in screen pixels.

A track is one ``pg.PlotItem`` in the :class:`~gui.tracks.stack.TrackStack`, x-linked to the
others; its x axis is the record's 0-based base coordinate. Text and boxes that must keep their
pixel size (letters, feature labels, ruler ticks) are drawn by a :class:`PixelPainter` item,
which maps data to device coordinates itself and paints only what is in view.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QTransform

# IGV's base colours, and the workbench palette.
BASE_COLOURS = {
    "A": QColor(0, 150, 0), "C": QColor(0, 0, 230), "G": QColor(209, 113, 5),
    "T": QColor(230, 0, 0), "U": QColor(230, 0, 0), "N": QColor(140, 140, 140),
}
OTHER_BASE = QColor(120, 120, 120)
ENTROPY = QColor(31, 119, 180)
ENTROPY_FILL = QColor(174, 199, 232)  # the min-max band, opaque: segments overlap
SURPRISAL = QColor(148, 103, 189)
SURPRISAL_FILL = QColor(206, 190, 226)
THRESHOLD = QColor(214, 39, 40)
OVERLAY = QColor(230, 120, 0)  # another model's values over a signal (the Bake panel's fp32)
BOUNDARY = QColor(50, 50, 50, 190)
PATCH_SHADE = QColor(255, 187, 120, 150)
PATCH_SELECTED = QColor(255, 215, 0, 120)
CURSOR = QColor(90, 90, 90, 150)
FEATURE_COLOURS = {
    "CDS": QColor(42, 97, 160), "tRNA": QColor(34, 139, 34), "rRNA": QColor(178, 34, 34),
    "gene": QColor(110, 110, 110), "ncRNA": QColor(140, 86, 75), "tmRNA": QColor(140, 86, 75),
}
OTHER_FEATURE = QColor(128, 128, 128)
TEXT = QColor(30, 30, 30)
MUTED_TEXT = QColor(110, 110, 110)
BACKGROUND = QColor(255, 255, 255)

LABEL_WIDTH = 116  # the column of track names on the left
AXIS_WIDTH = 44  # the numeric axis beside signal tracks (blank for the others)


def ui_font(size: float = 9, bold: bool = False, mono: bool = False) -> QFont:
    font = QFont("DejaVu Sans Mono" if mono else "DejaVu Sans")
    font.setPointSizeF(size)
    font.setBold(bold)
    return font


def make_plot(name: str) -> pg.PlotItem:
    """A track's plot: x-only mouse, no menu or buttons, a blank left axis for alignment."""
    plot = pg.PlotItem(name=name)
    plot.setMenuEnabled(False)
    plot.hideButtons()
    plot.hideAxis("bottom")
    plot.showAxis("left")
    axis = plot.getAxis("left")
    axis.setWidth(AXIS_WIDTH)
    axis.setStyle(showValues=False, tickLength=0)
    axis.setPen(pg.mkPen(None))
    plot.setContentsMargins(0, 1, 4, 1)
    vb = plot.getViewBox()
    vb.setMouseEnabled(x=True, y=False)
    vb.setDefaultPadding(0.0)
    vb.enableAutoRange(x=False, y=False)
    return plot


class PixelPainter(pg.GraphicsObject):
    """An item in a track's data coordinates that paints in device pixels.

    Subclasses implement :meth:`paint_pixels` with ``to_px(x)`` mapping base coordinates to
    pixel x and ``ys`` the pixel y of data y = 0 and y = 1 (the track's full height).
    """

    def __init__(self) -> None:
        super().__init__()
        self.length = 0

    def set_length(self, length: int) -> None:
        self.prepareGeometryChange()
        self.length = length
        self.update()

    def boundingRect(self) -> QRectF:
        return QRectF(0.0, 0.0, float(max(self.length, 1)), 1.0)

    def paint(self, painter: QPainter, option, widget=None) -> None:
        transform: QTransform = painter.transform()
        sx, dx = transform.m11(), transform.m31()
        y0 = transform.map(QPointF(0.0, 0.0)).y()
        y1 = transform.map(QPointF(0.0, 1.0)).y()
        view = self.getViewBox()
        if view is None or sx == 0:
            return
        x0, x1 = view.viewRange()[0]
        painter.save()
        painter.resetTransform()
        try:
            self.paint_pixels(painter, x0, x1, lambda x: np.asarray(x) * sx + dx, (y0, y1))
        finally:
            painter.restore()

    def paint_pixels(self, painter: QPainter, x0: float, x1: float, to_px, ys) -> None:
        raise NotImplementedError


class MessageItem(PixelPainter):
    """A line of grey text centred in the track, for "no entropies" and the like."""

    def __init__(self) -> None:
        super().__init__()
        self.text = ""

    def set_text(self, text: str) -> None:
        if text != self.text:
            self.text = text
            self.update()

    def paint_pixels(self, painter, x0, x1, to_px, ys) -> None:
        if not self.text:
            return
        left, right = float(to_px(x0)), float(to_px(x1))
        top, bottom = min(ys), max(ys)
        painter.setFont(ui_font(9))
        painter.setPen(MUTED_TEXT)
        painter.drawText(QRectF(left + 20, top, right - left - 40, bottom - top),
                         Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.text)


def text_width(font: QFont, text: str) -> float:
    return QFontMetricsF(font).horizontalAdvance(text)


def nice_step(span: float, max_ticks: float, minimum: float = 1.0) -> float:
    """The 1-2-5 step that gives at most ``max_ticks`` ticks over ``span``, at least
    ``minimum`` (a base: 1; a loss axis: 0)."""
    if span <= 0 or max_ticks <= 0:
        return max(1.0, minimum)
    raw = span / max_ticks
    magnitude = 10 ** np.floor(np.log10(raw))
    for m in (1, 2, 5, 10):
        if m * magnitude >= raw:
            return float(max(minimum, m * magnitude))
    return float(max(minimum, 10 * magnitude))


def format_bases(value: float, step: float) -> str:
    """A ruler label: bases with separators, or kb / Mb when the step allows."""
    if step >= 1_000_000 and value % 1_000_000 == 0:
        return f"{value / 1e6:,.0f} Mb"
    if step >= 100_000:
        return f"{value / 1e6:,.1f} Mb"
    if step >= 1000 and value % 1000 == 0:
        return f"{value / 1e3:,.0f} kb"
    return f"{int(value):,}"


def format_span(span: float) -> str:
    if span >= 1e6:
        return f"{span / 1e6:.2f} Mb"
    if span >= 1e4:
        return f"{span / 1e3:.1f} kb"
    return f"{round(span):,} bp"
