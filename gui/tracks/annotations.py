"""Annotation tracks (GFF3, BED, GenBank): boxes pointed on their strand, labelled where the
name fits; collapsed (one row) or expanded (overlaps stacked in rows), as IGV draws them."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPen, QPolygonF

from gui.model.features import FeatureIndex

from .base import FEATURE_COLOURS, OTHER_FEATURE, PixelPainter, make_plot, text_width, ui_font

ROW_PX = 20  # height of one row in expanded mode
MAX_ROWS = 8  # rows drawn expanded; deeper overlaps share the last row
MAX_DRAWN = 5000  # features drawn per frame; beyond, a density of boxes is what one sees
ARROW_PX = 5


class FeatureItem(PixelPainter):
    def __init__(self, index: FeatureIndex) -> None:
        super().__init__()
        self.index = index
        self.expanded = False
        self.drawn = 0

    def paint_pixels(self, painter, x0, x1, to_px, ys) -> None:
        index = self.index
        top, bottom = min(ys), max(ys)
        found = index.overlapping(x0, x1)
        if len(found) > MAX_DRAWN:
            found = found[:: len(found) // MAX_DRAWN + 1]
        self.drawn = len(found)
        if not len(found):
            return
        rows = np.minimum(index.rows[found], MAX_ROWS - 1) if self.expanded else \
            np.zeros(len(found), dtype=np.int32)
        n_rows = min(index.n_rows, MAX_ROWS) if self.expanded else 1
        row_h = (bottom - top) / n_rows
        left = to_px(index.starts[found].astype(np.float64))
        right = to_px(index.ends[found].astype(np.float64))
        font = ui_font(8)
        painter.setFont(font)
        box_h = min(12.0, row_h * 0.55)
        view_left, view_right = float(to_px(x0)), float(to_px(x1))
        label_end: dict[int, float] = {}  # right end of the last label drawn in each row
        for k, i in enumerate(found.tolist()):
            colour = FEATURE_COLOURS.get(index.types[i], OTHER_FEATURE)
            lx, rx = max(float(left[k]), view_left - 10), min(float(right[k]), view_right + 10)
            cy = top + row_h * (rows[k] + 0.62)
            y0, y1 = cy - box_h / 2, cy + box_h / 2
            strand = int(index.strands[i])
            width = rx - lx
            painter.setPen(QPen(colour.darker(130), 0.8))
            painter.setBrush(colour)
            if width < 2:
                painter.drawLine(QPointF(lx, y0), QPointF(lx, y1))
                continue
            parts = index.parts[i]
            if parts and width >= 6:  # exons (or CDS pieces) as boxes on an intron line
                painter.drawLine(QPointF(lx, cy), QPointF(rx, cy))
                edges = to_px(np.asarray(parts, dtype=np.float64))
                for a, b in edges.tolist():
                    a, b = max(a, view_left - 10), min(b, view_right + 10)
                    if b > a:
                        painter.drawRect(QRectF(a, y0, max(b - a, 1.0), y1 - y0))
                self._label(painter, font, index.labels[i], lx, rx, view_left, view_right,
                            y0, int(rows[k]), label_end)
                continue
            tip = min(ARROW_PX, width / 2)
            if strand == 1 and right[k] <= view_right + 10:
                shape = [QPointF(lx, y0), QPointF(rx - tip, y0), QPointF(rx, cy),
                         QPointF(rx - tip, y1), QPointF(lx, y1)]
            elif strand == -1 and left[k] >= view_left - 10:
                shape = [QPointF(lx + tip, y0), QPointF(rx, y0), QPointF(rx, y1),
                         QPointF(lx + tip, y1), QPointF(lx, cy)]
            else:
                shape = [QPointF(lx, y0), QPointF(rx, y0), QPointF(rx, y1), QPointF(lx, y1)]
            painter.drawPolygon(QPolygonF(shape))
            self._label(painter, font, index.labels[i], lx, rx, view_left, view_right, y0,
                        int(rows[k]), label_end)

    @staticmethod
    def _label(painter, font, label: str, lx: float, rx: float, view_left: float,
               view_right: float, y0: float, row: int, label_end: dict[int, float]) -> None:
        """The label above the box, centred on its visible part, unless it would run into the
        previous label of its row."""
        w = text_width(font, label)
        centre = (max(lx, view_left) + min(rx, view_right)) / 2
        if rx - lx > 8 and centre - w / 2 > label_end.get(row, -1e9) + 6:
            pen, brush = painter.pen(), painter.brush()
            painter.setPen(QColor(40, 40, 40))
            painter.drawText(QRectF(centre - w / 2 - 2, y0 - 14, w + 4, 14),
                             Qt.AlignmentFlag.AlignCenter, label)
            painter.setPen(pen)
            painter.setBrush(brush)
            label_end[row] = centre + w / 2


class FeatureTrack:
    """One feature source on the current record."""

    def __init__(self, index: FeatureIndex, expanded: bool = False) -> None:
        self.index = index
        self.name = index.name
        self.plot = make_plot(f"features:{index.name}")
        self.plot.setYRange(0, 1, padding=0)
        self.item = FeatureItem(index)
        self.plot.addItem(self.item, ignoreBounds=True)
        self.set_expanded(expanded)

    @property
    def height(self) -> int:
        rows = min(self.index.n_rows, MAX_ROWS) if self.item.expanded else 1
        return max(34, ROW_PX * rows + 14)

    def set_expanded(self, expanded: bool) -> None:
        self.item.expanded = expanded
        self.item.update()

    def set_length(self, length: int) -> None:
        self.item.set_length(length)

    def update_view(self, x0: float, x1: float, width_px: int) -> None:
        self.item.update()
