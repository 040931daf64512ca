"""The attribution track, under the entropy track: what each base read adds to the target the
Attribution panel explained (:func:`gui.model.attribution.contribution`).

Zoomed in (at least ``LETTER_PX`` pixels per base) each base is its letter, as tall as its
contribution: above the zero line when it raises the target, below (upside down, as
logomaker draws them) when it lowers it; A green, C blue, G orange, T red (the sequence
track's colours). Zoomed out it is a signed bar per pixel: each bin of bases shows the value
of largest magnitude, with its sign (:func:`signed_bins`, vectorised with ``reduceat``), so
a strong base is never averaged away. The target is marked (a line at its base, a band over
a region). Both modes draw O(pixels): at most one bin per pixel, at most the letters in view.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPainterPath, QTransform

from gui.model.attribution import LogoView

from .base import AXIS_WIDTH, BASE_COLOURS, OTHER_BASE, PixelPainter, make_plot, ui_font

LETTER_PX = 8.0  # pixels per base from which letters are drawn
MIN_LETTER_PX = 0.75  # a letter shorter than this is not painted
POSITIVE = QColor(40, 110, 180)
NEGATIVE = QColor(205, 75, 45)
TARGET = QColor(214, 39, 40, 170)
SHORT_METHOD = {"saliency": "saliency", "ig": "IG", "ism": "ISM"}  # the label column is narrow


def signed_bins(heights: np.ndarray, start: int, x0: float, x1: float,
                width_px: int) -> tuple[np.ndarray, np.ndarray]:
    """``(edges, peaks)`` for the bases ``[start, start + n)`` in the view ``[x0, x1)``:
    ``k`` bins (one per pixel, at most one per base), bin ``b`` over the bases
    ``[e_b, e_{b+1})`` with ``e_b = a + floor(b m / k)``, and
    ``peak_b = h_j, j = argmax_{i in bin b} |h_i|`` (a tie goes to the positive value)."""
    n = len(heights)
    a, b = max(start, math.floor(x0)), min(start + n, math.ceil(x1))
    if b <= a or x1 <= x0:
        return np.empty(0), np.empty(0)
    m = b - a
    pixels = width_px * m / (x1 - x0)  # the pixels the bases in view cover
    k = max(1, min(m, math.ceil(pixels)))
    firsts = (np.arange(k, dtype=np.int64) * m) // k  # strictly increasing as m >= k
    values = heights[a - start:b - start]
    high = np.maximum.reduceat(values, firsts)
    low = np.minimum.reduceat(values, firsts)
    peaks = np.where(high >= -low, high, low)
    edges = np.append(a + firsts, b).astype(np.float64)
    return edges, peaks.astype(np.float64)


@dataclass(frozen=True, eq=False)
class Drawn:
    """What the last update handed to the painters: ``letters`` mode (one letter per base,
    ``edges`` the bases' left edges and the last right edge) or ``bars`` (one bar per bin)."""

    mode: str
    edges: np.ndarray
    heights: np.ndarray
    letters: np.ndarray | None = None

    @property
    def count(self) -> int:
        return len(self.heights)


class LetterItem(PixelPainter):
    """Letters scaled to their heights, painted as glyph outlines in device pixels."""

    def __init__(self) -> None:
        super().__init__()
        self.edges = np.empty(0)
        self.heights = np.empty(0)
        self.letters = np.empty(0, np.uint8)
        self.painted = 0  # letters painted by the last paint (tests)
        self._glyphs: dict[int, QPainterPath] = {}

    def set_letters(self, edges: np.ndarray, heights: np.ndarray, letters: np.ndarray) -> None:
        self.edges, self.heights, self.letters = edges, heights, letters
        self.update()

    def clear(self) -> None:
        self.set_letters(np.empty(0), np.empty(0), np.empty(0, np.uint8))

    def _glyph(self, code: int) -> QPainterPath:
        glyph = self._glyphs.get(code)
        if glyph is None:
            path = QPainterPath()
            char = chr(code) if 32 < code < 127 else "·"
            path.addText(QPointF(0, 0), ui_font(40, bold=True, mono=True), char)
            rect = path.boundingRect()
            # scaled to the unit square, y down: [0, 1] x [0, 1] from its top left
            scale = QTransform.fromScale(1 / max(rect.width(), 1e-6), 1 / max(rect.height(), 1e-6))
            glyph = scale.map(path.translated(-rect.left(), -rect.top()))
            self._glyphs[code] = glyph
        return glyph

    def paint_pixels(self, painter, x0, x1, to_px, ys) -> None:
        self.painted = 0
        if not len(self.heights):
            return
        zero, one = ys  # pixel y of data 0 and 1: y(h) = zero + h (one - zero)
        xs = to_px(self.edges)
        tops = zero + self.heights * (one - zero)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(Qt.PenStyle.NoPen)
        pad = 0.06 * (xs[1] - xs[0]) if len(xs) > 1 else 0.0
        for i, code in enumerate(self.letters.tolist()):
            top = float(tops[i])
            if abs(top - zero) < MIN_LETTER_PX:
                continue
            left, right = float(xs[i]) + pad, float(xs[i + 1]) - pad
            # the glyph's top edge at y(h), its bottom at the zero line: a negative height
            # maps it upside down below the line
            transform = QTransform(right - left, 0, 0, zero - top, left, top)
            colour = BASE_COLOURS.get(chr(code).upper(), OTHER_BASE) if code < 128 \
                else OTHER_BASE
            painter.fillPath(transform.map(self._glyph(code)), QBrush(colour))
            self.painted += 1


class LogoTrack:
    """The attribution track (module docstring); listed while it has a :class:`LogoView`."""

    name = "attribution"
    height = 96

    def __init__(self) -> None:
        self.plot = make_plot("attribution")
        axis = self.plot.getAxis("left")
        axis.setStyle(showValues=True, tickLength=-4, tickFont=ui_font(7))
        axis.setPen(pg.mkPen(120, 120, 120))
        axis.setTextPen(pg.mkPen(60, 60, 60))
        axis.setWidth(AXIS_WIDTH)
        self.view: LogoView | None = None
        self.zero = pg.InfiniteLine(0.0, angle=0, pen=pg.mkPen(150, 150, 150))
        self.plot.addItem(self.zero, ignoreBounds=True)
        self.positive = pg.BarGraphItem(x0=[], x1=[], y0=[], y1=[], pen=pg.mkPen(None),
                                        brush=POSITIVE)
        self.negative = pg.BarGraphItem(x0=[], x1=[], y0=[], y1=[], pen=pg.mkPen(None),
                                        brush=NEGATIVE)
        for bars in (self.positive, self.negative):
            self.plot.addItem(bars, ignoreBounds=True)
        self.letters = LetterItem()
        self.plot.addItem(self.letters, ignoreBounds=True)
        self.target_line = pg.InfiniteLine(angle=90, movable=False,
                                           pen=pg.mkPen(TARGET, width=1.5,
                                                        style=Qt.PenStyle.DashLine))
        self.target_band = pg.LinearRegionItem(movable=False, brush=pg.mkBrush(214, 39, 40, 30),
                                               pen=pg.mkPen(None))
        for item in (self.target_line, self.target_band):
            item.setZValue(-5)
            item.hide()
            self.plot.addItem(item, ignoreBounds=True)
        self.drawn: Drawn | None = None

    @property
    def title(self) -> str:
        if self.view is None:
            return "attribution"
        return f"{SHORT_METHOD.get(self.view.method, self.view.method)} (nats)"

    def set_length(self, length: int) -> None:
        self.letters.set_length(length)

    def set_view(self, view: LogoView | None) -> None:
        self.view = view
        self.drawn = None
        if view is None:
            self._clear()
            self.target_line.hide()
            self.target_band.hide()
            return
        target = view.target
        if target.kind == "region":
            self.target_band.setRegion((target.position, target.end))
            self.target_band.show()
            self.target_line.hide()
        else:  # the base the target is about (entropy at t: base t + 1)
            base = target.position + (1 if target.kind == "entropy" else 0)
            self.target_line.setValue(base + 0.5)
            self.target_line.show()
            self.target_band.hide()

    def _clear(self) -> None:
        self.letters.clear()
        for bars in (self.positive, self.negative):
            bars.setOpts(x0=[], x1=[], y0=[], y1=[])

    def update_view(self, x0: float, x1: float, width_px: int) -> None:
        view = self.view
        if view is None:
            return
        px_per_base = width_px / max(x1 - x0, 1e-9)
        if px_per_base >= LETTER_PX:
            a, b = max(view.start, math.floor(x0)), min(view.end, math.ceil(x1))
            a, b = (a, b) if b > a else (a, a)
            heights = view.heights[a - view.start:b - view.start]
            letters = view.letters[a - view.start:b - view.start]
            edges = np.arange(a, b + 1, dtype=np.float64) if b > a else np.empty(0)
            self.drawn = Drawn("letters", edges, heights, letters)
            for bars in (self.positive, self.negative):
                bars.setOpts(x0=[], x1=[], y0=[], y1=[])
            self.letters.set_letters(edges, heights, letters)
        else:
            edges, peaks = signed_bins(view.heights, view.start, x0, x1, width_px)
            self.drawn = Drawn("bars", edges, peaks)
            self.letters.clear()
            up, down = peaks > 0, peaks < 0
            for bars, mask in ((self.positive, up), (self.negative, down)):
                bars.setOpts(x0=edges[:-1][mask], x1=edges[1:][mask],
                             y0=np.zeros(int(mask.sum())), y1=peaks[mask])
        shown = self.drawn.heights
        top = float(np.abs(shown).max()) if len(shown) else 0.0
        top = top if top > 0 and math.isfinite(top) else 1.0
        self.plot.setYRange(-1.08 * top, 1.08 * top, padding=0)
