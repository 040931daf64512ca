"""The ruler: the locus and its width, and ticks labelled in bases (IGV's ruler track)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QLineF, QRectF, Qt

from .base import (
    BOUNDARY,
    TEXT,
    PixelPainter,
    format_bases,
    format_span,
    make_plot,
    nice_step,
    text_width,
    ui_font,
)

MIN_TICK_GAP_PX = 90


class RulerItem(PixelPainter):
    def __init__(self) -> None:
        super().__init__()
        self.record_id = ""

    def paint_pixels(self, painter, x0, x1, to_px, ys) -> None:
        top, bottom = min(ys), max(ys)
        left, right = float(to_px(x0)), float(to_px(x1))
        width = right - left
        if width <= 0:
            return
        font = ui_font(8)
        painter.setFont(font)
        painter.setPen(BOUNDARY)
        step = nice_step(x1 - x0, width / MIN_TICK_GAP_PX)
        ticks = np.arange(np.ceil(x0 / step) * step, x1, step)
        tick_top = bottom - 7
        painter.drawLine(QLineF(left, bottom - 0.5, right, bottom - 0.5))
        lines = [QLineF(float(p), tick_top, float(p), bottom) for p in to_px(ticks)]
        painter.drawLines(lines)
        painter.setPen(TEXT)
        for value, px in zip(ticks.tolist(), to_px(ticks).tolist(), strict=True):
            label = format_bases(value, step)
            w = text_width(font, label)
            if px - w / 2 < left or px + w / 2 > right:
                continue
            painter.drawText(QRectF(px - w / 2, tick_top - 14, w + 2, 13),
                             Qt.AlignmentFlag.AlignCenter, label)
        # the record and the width in view, top centre, as IGV writes it
        title_font = ui_font(9, bold=True)
        painter.setFont(title_font)
        title = f"{self.record_id}   {format_span(x1 - x0)}" if self.record_id else ""
        painter.drawText(QRectF(left, top + 1, width, 15), Qt.AlignmentFlag.AlignCenter, title)


class RulerTrack:
    name = "ruler"
    height = 44

    def __init__(self) -> None:
        self.plot = make_plot("ruler")
        self.plot.setYRange(0, 1, padding=0)
        self.item = RulerItem()
        self.plot.addItem(self.item, ignoreBounds=True)

    def set_record(self, record_id: str, length: int) -> None:
        self.item.record_id = record_id
        self.item.set_length(length)

    def update_view(self, x0: float, x1: float, width_px: int) -> None:
        self.item.update()
