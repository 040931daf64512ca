"""Patches: alternating shading and every boundary in one segment item when few enough are in
view; zoomed out, a strip coloured by boundary density (starts per base in each pixel)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QPainterPath
from PySide6.QtWidgets import QGraphicsPathItem, QGraphicsRectItem

from gui.model.patches import PatchView

from .base import BOUNDARY, PATCH_SELECTED, PATCH_SHADE, MessageItem, make_plot

MIN_PX_PER_PATCH = 2.0  # below this, individual patches give way to the density strip
DENSITY_LEVELS = (0.0, 0.5)  # colour scale: boundaries per base (0.5 = patches of 2 bases)
# light (few boundaries, long patches) to dark (many, short): white, orange, brown
DENSITY_MAP = pg.ColorMap([0.0, 0.45, 1.0], [(255, 255, 255), (253, 141, 60), (110, 35, 5)])


def rects_path(starts: np.ndarray, ends: np.ndarray, y0: float, y1: float) -> QPainterPath:
    """One path holding a rectangle ``[start, end) x [y0, y1]`` per patch, built vectorised."""
    n = len(starts)
    if n == 0:
        return QPainterPath()
    x = np.stack([starts, ends, ends, starts, starts], axis=1).astype(np.float64).ravel()
    y = np.tile(np.array([y0, y0, y1, y1, y0]), n)
    connect = np.tile(np.array([1, 1, 1, 1, 0], dtype=np.int32), n)
    return pg.arrayToQPath(x, y, connect=connect, finiteCheck=False)


class PatchTrack:
    name = "patches"
    height = 40

    def __init__(self) -> None:
        self.plot = make_plot("patches")
        self.plot.setYRange(0, 1, padding=0)
        self.patches: PatchView | None = None
        self.shade = QGraphicsPathItem()
        self.shade.setPen(pg.mkPen(None))
        self.shade.setBrush(PATCH_SHADE)
        self.plot.addItem(self.shade, ignoreBounds=True)
        # all boundaries in view: one PlotCurveItem drawing vertical segments in pairs
        self.boundaries = pg.PlotCurveItem(pen=pg.mkPen(BOUNDARY, width=1), connect="pairs",
                                           skipFiniteCheck=True)
        self.plot.addItem(self.boundaries, ignoreBounds=True)
        self.density = pg.ImageItem(axisOrder="row-major")
        self.density.setLookupTable(DENSITY_MAP.getLookupTable(nPts=256))
        self.density.setLevels(DENSITY_LEVELS)
        self.plot.addItem(self.density, ignoreBounds=True)
        self.selected = QGraphicsRectItem(0, 0, 0, 1)
        self.selected.setPen(pg.mkPen(None))
        self.selected.setBrush(PATCH_SELECTED)
        self.selected.hide()
        self.plot.addItem(self.selected, ignoreBounds=True)
        self.message = MessageItem()
        self.plot.addItem(self.message, ignoreBounds=True)
        self.mode = "empty"  # "patches" or "density": what the last update drew
        self.drawn_count = 0

    def set_length(self, length: int) -> None:
        self.message.set_length(length)

    def set_patches(self, patches: PatchView | None, message: str = "") -> None:
        self.patches = patches
        self.message.set_text("" if patches is not None else message)
        if patches is None:
            self._clear()

    def set_selection(self, i: int | None) -> None:
        patches = self.patches
        if i is None or patches is None or i >= patches.count:
            self.selected.hide()
            return
        start, end = float(patches.starts[i]), float(patches.ends[i])
        self.selected.setRect(start, 0.0, end - start, 1.0)
        self.selected.show()

    def _clear(self) -> None:
        self.shade.setPath(QPainterPath())
        self.boundaries.setData([], [])
        self.density.hide()
        self.mode = "empty"
        self.drawn_count = 0

    def update_view(self, x0: float, x1: float, width_px: int) -> None:
        patches = self.patches
        if patches is None or width_px <= 0:
            return
        lo, hi = patches.visible(x0, x1)
        if hi - lo <= width_px / MIN_PX_PER_PATCH:
            self.density.hide()
            starts, ends = patches.starts[lo:hi], patches.ends[lo:hi]
            odd = (patches.index[lo:hi] % 2) == 1
            self.shade.setPath(rects_path(starts[odd], ends[odd], 0.08, 0.92))
            x = np.repeat(starts.astype(np.float64), 2)
            y = np.tile(np.array([0.0, 1.0]), len(starts))
            self.boundaries.setData(x, y)
            self.mode, self.drawn_count = "patches", hi - lo
            return
        # one bin per pixel over the patched part of the view: boundary starts per base there
        a, b = max(x0, float(patches.span[0])), min(x1, float(patches.span[1]))
        bins = max(1, round(width_px * (b - a) / max(x1 - x0, 1e-9)))
        edges = np.linspace(a, b, bins + 1)
        per_base = patches.density(edges) / np.maximum(np.diff(edges), 1e-9)
        self.density.setImage(per_base[None, :].astype(np.float32), autoLevels=False)
        self.density.setLevels(DENSITY_LEVELS)
        self.density.setRect(float(edges[0]), 0.15, float(edges[-1] - edges[0]), 0.7)
        self.density.show()
        self.shade.setPath(QPainterPath())
        self.boundaries.setData([], [])
        self.mode, self.drawn_count = "density", hi - lo
