"""The sequence: letters at >= 10 pixels per base, coloured bars down to 1 pixel per 2 bases,
and a hint to zoom in beyond (igv.js fetches bases only up to 10 bases per pixel)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QImage

from engine.io.records import Record

from .base import BASE_COLOURS, MUTED_TEXT, OTHER_BASE, PixelPainter, make_plot, ui_font

LETTER_PX = 10.0  # pixels per base from which letters are drawn
MAX_BASES_PER_PX = 2.0  # beyond this, no bases are read at all

# one colour index per byte value: A C G T/U N, lower case too; anything else is "other"
_COLOUR_KEYS = ["A", "C", "G", "T", "N"]
_PALETTE = [BASE_COLOURS[k] for k in _COLOUR_KEYS] + [OTHER_BASE]
_CLASS = np.full(256, len(_COLOUR_KEYS), dtype=np.int8)
for _i, _k in enumerate(_COLOUR_KEYS):
    _CLASS[ord(_k)] = _CLASS[ord(_k.lower())] = _i
_CLASS[ord("U")] = _CLASS[ord("u")] = _COLOUR_KEYS.index("T")
_ARGB = np.array([c.rgb() for c in _PALETTE], dtype=np.uint32)  # 0xAARRGGBB per class


class SequenceItem(PixelPainter):
    def __init__(self) -> None:
        super().__init__()
        self.record: Record | None = None
        self.nucleic = True

    def set_record(self, record: Record | None) -> None:
        self.record = record
        self.nucleic = record is not None and record.alphabet in ("dna", "rna")
        self.set_length(record.length if record is not None else 0)

    def paint_pixels(self, painter, x0, x1, to_px, ys) -> None:
        record = self.record
        if record is None:
            return
        top, bottom = min(ys), max(ys)
        start, end = max(0, int(np.floor(x0))), min(record.length, int(np.ceil(x1)))
        left, right = float(to_px(x0)), float(to_px(x1))
        px_per_base = (right - left) / max(x1 - x0, 1e-9)
        if end <= start:
            return
        if px_per_base < 1 / MAX_BASES_PER_PX:
            painter.setPen(MUTED_TEXT)
            painter.setFont(ui_font(8))
            painter.drawText(QRectF(left, top, right - left, bottom - top),
                             Qt.AlignmentFlag.AlignCenter, "zoom in to see the sequence")
            return
        data = record.array(start, end)
        xs = to_px(np.arange(start, end + 1, dtype=np.float64))
        classes = _CLASS[data] if self.nucleic else np.full(len(data), 5, np.int8)
        if px_per_base >= LETTER_PX:
            self._letters(painter, data, xs, classes, top, bottom)
            return
        # coloured bars: one pixel per base in an image, stretched over the bases' extent
        argb = _ARGB[classes][None, :]  # (1, n) uint32
        image = QImage(argb.data, argb.shape[1], 1, argb.strides[0], QImage.Format.Format_RGB32)
        painter.drawImage(QRectF(float(xs[0]), top + 2, float(xs[-1] - xs[0]), bottom - top - 4),
                          image)

    def _letters(self, painter, data, xs, classes, top, bottom) -> None:
        font = ui_font(9 if (xs[1] - xs[0]) < 14 else 10, bold=True, mono=True)
        painter.setFont(font)
        height = bottom - top
        for i, byte in enumerate(data.tolist()):
            painter.setPen(_PALETTE[classes[i]])
            char = chr(byte) if 32 < byte < 127 else "·"
            painter.drawText(QRectF(xs[i], top, xs[i + 1] - xs[i], height),
                             Qt.AlignmentFlag.AlignCenter, char)


class SequenceTrack:
    name = "sequence"
    height = 24

    def __init__(self) -> None:
        self.plot = make_plot("sequence")
        self.plot.setYRange(0, 1, padding=0)
        self.item = SequenceItem()
        self.plot.addItem(self.item, ignoreBounds=True)

    def set_record(self, record: Record | None) -> None:
        self.item.set_record(record)

    def update_view(self, x0: float, x1: float, width_px: int) -> None:
        self.item.update()
