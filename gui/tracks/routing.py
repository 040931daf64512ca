"""The routing track: for the window the Maps panel inspected, each patch's router
probabilities over the experts of one MoE layer, stacked bottom-up in expert order and coloured
by expert; x in record coordinates, so it pans and zooms with the other tracks.

One ``BarGraphItem`` per expert holds the bars of the patches in view (a binary search in the
patch starts); a range change that keeps the same patches in view costs nothing. The window
holds at most a few thousand patches (the model's window), so a frame stays small.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor

from gui.model.maps import RoutingView

from .base import make_plot

# Expert colours (Tableau 10), shared with the Maps panel's load bars.
EXPERT_COLOURS = tuple(QColor(c) for c in (
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#bab0ac"))


def expert_colour(i: int) -> QColor:
    colour = QColor(EXPERT_COLOURS[i % len(EXPERT_COLOURS)])
    if i >= len(EXPERT_COLOURS):  # more experts than colours: a darker round
        colour = colour.darker(100 + 40 * (i // len(EXPERT_COLOURS)))
    return colour


def stacked(probs: np.ndarray) -> np.ndarray:
    """``(P, E + 1)`` bar edges: column e is ``sum_{j<e} p_j``, so expert e spans
    ``[edges[:, e], edges[:, e + 1])`` and the last column is the row sum (1)."""
    edges = np.zeros((probs.shape[0], probs.shape[1] + 1), dtype=np.float64)
    np.cumsum(probs, axis=1, out=edges[:, 1:])
    return edges


class RoutingTrack:
    name = "experts"
    height = 48

    def __init__(self) -> None:
        self.plot = make_plot("experts")
        self.plot.setYRange(0, 1, padding=0)
        self.routing: RoutingView | None = None
        self.bars: list[pg.BarGraphItem] = []
        self._edges = np.zeros((0, 1))
        self._drawn: tuple[int, int] | None = None  # the patch range the bars hold

    @property
    def title(self) -> str:
        return f"experts {self.routing.layer}" if self.routing is not None else "experts"

    def set_length(self, length: int) -> None:  # the stack calls this on every track
        pass

    def set_routing(self, routing: RoutingView | None) -> None:
        for bar in self.bars:
            self.plot.removeItem(bar)
        self.bars = []
        self.routing = routing
        self._drawn = None
        if routing is None:
            self._edges = np.zeros((0, 1))
            return
        self._edges = stacked(routing.probs)
        for e in range(routing.probs.shape[1]):
            bar = pg.BarGraphItem(x0=[], x1=[], y0=[], y1=[], pen=pg.mkPen(None),
                                  brush=expert_colour(e))
            self.plot.addItem(bar, ignoreBounds=True)
            self.bars.append(bar)

    def update_view(self, x0: float, x1: float, width_px: int) -> None:
        routing = self.routing
        if routing is None:
            return
        lo = int(np.searchsorted(routing.ends, x0, side="right"))
        hi = int(np.searchsorted(routing.starts, x1, side="left"))
        if (lo, hi) == self._drawn:
            return
        self._drawn = (lo, hi)
        starts = routing.starts[lo:hi].astype(np.float64)
        ends = routing.ends[lo:hi].astype(np.float64)
        for e, bar in enumerate(self.bars):
            bar.setOpts(x0=starts, x1=ends, y0=self._edges[lo:hi, e],
                        y1=self._edges[lo:hi, e + 1])
