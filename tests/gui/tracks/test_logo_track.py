"""The attribution track: signed bars of the largest contribution per pixel zoomed out, letters
scaled by contribution zoomed in (positive up, negative down), the target marked."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pyqtgraph as pg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PySide6.QtGui import QColor

from engine.analysis.attribution import Target
from gui.model.attribution import LogoView
from gui.tracks.base import BASE_COLOURS
from gui.tracks.logo import LETTER_PX, LogoTrack, signed_bins


def brute_force_peaks(heights, start, edges):
    """Per bin, the value of largest magnitude (ties: the positive one), one base at a time."""
    peaks = []
    for a, b in itertools.pairwise(edges):
        best = None
        for i in range(int(a), int(b)):
            v = heights[i - start]
            if best is None or abs(v) > abs(best) or (abs(v) == abs(best) and v > best):
                best = v
        peaks.append(best)
    return np.array(peaks)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 600), start=st.integers(0, 50), lo=st.floats(-100, 700),
       span=st.floats(1, 2000), width=st.integers(1, 900), seed=st.integers(0, 2**16))
def test_each_bin_shows_its_largest_contribution_with_its_sign(n, start, lo, span, width, seed):
    heights = np.random.default_rng(seed).normal(size=n).round(1)  # ties happen
    edges, peaks = signed_bins(heights, start, lo, lo + span, width)
    a, b = max(start, math.floor(lo)), min(start + n, math.ceil(lo + span))
    if b <= a:
        assert len(peaks) == 0
        return
    assert edges[0] == a and edges[-1] == b and np.all(np.diff(edges) >= 1)
    assert len(peaks) <= max(1, math.ceil(width * (b - a) / span))  # at most one per pixel
    np.testing.assert_array_equal(peaks, brute_force_peaks(heights, start, edges))


@pytest.fixture
def track(qtbot):
    widget = pg.GraphicsLayoutWidget()
    widget.setBackground("w")
    track = LogoTrack()
    widget.addItem(track.plot)
    widget.resize(800, 200)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    track.widget = widget
    return track


def view_of(heights, start=100, letters=None):
    letters = np.frombuffer((letters or b"ACGT" * 100)[:len(heights)], np.uint8)
    return LogoView("chrT", start, letters, np.asarray(heights, np.float64),
                    Target("surprisal", start + len(heights) - 1), "saliency")


def show(track, x0, x1):
    track.set_length(10_000)
    vb = track.plot.getViewBox()
    vb.setXRange(x0, x1, padding=0)
    track.update_view(x0, x1, int(vb.width()))
    track.widget.grab()  # paints the scene now
    return track.drawn


def colour_rows(track, colour: QColor) -> np.ndarray:
    """Pixel rows (scene y) of the track's image where ``colour`` appears."""
    image = track.widget.grab().toImage()
    rows = set()
    for y in range(image.height()):
        for x in range(0, image.width(), 2):
            c = QColor(image.pixel(x, y))
            if abs(c.red() - colour.red()) + abs(c.green() - colour.green()) + \
                    abs(c.blue() - colour.blue()) < 40:
                rows.add(y)
                break
    return np.array(sorted(rows))


def test_zoomed_in_each_base_is_its_letter_scaled_up_or_down(track):
    heights = [0.5, -0.25, 0.0, 1.0] * 5  # A up, C down, G nothing, T up, ...
    track.set_view(view_of(heights))
    drawn = show(track, 100, 120)  # 20 bases over ~750 px: letters
    vb = track.plot.getViewBox()
    assert vb.width() / 20 >= LETTER_PX
    assert drawn.mode == "letters" and drawn.count == 20
    np.testing.assert_array_equal(drawn.heights, heights)
    assert bytes(drawn.letters) == b"ACGT" * 5
    np.testing.assert_array_equal(drawn.edges, np.arange(100, 121))
    assert track.letters.painted == 15  # the 5 zero-height Gs are not painted
    zero = track.widget.mapFromScene(vb.mapViewToScene(pg.Point(110, 0))).y()
    green = colour_rows(track, BASE_COLOURS["A"])  # positive: above the zero line
    blue = colour_rows(track, BASE_COLOURS["C"])  # negative: below it
    assert len(green) and len(blue)
    assert green.max() <= zero + 1 and blue.min() >= zero - 1
    # the tallest letter (T, 1.0) reaches the top of the symmetric range; C's -0.25 a quarter
    low, high = vb.viewRange()[1]
    assert high == pytest.approx(-low) and high == pytest.approx(1.08)


def test_zoomed_out_it_draws_one_signed_bar_per_pixel(track):
    rng = np.random.default_rng(1)
    heights = rng.normal(size=4000)
    heights[1234] = 9.0  # one strong base is not averaged away
    track.set_view(view_of(heights, start=0, letters=b"ACGT" * 1000))
    drawn = show(track, 0, 4000)
    width = int(track.plot.getViewBox().width())
    assert drawn.mode == "bars" and drawn.count <= width
    np.testing.assert_array_equal(drawn.heights, brute_force_peaks(heights, 0, drawn.edges))
    assert drawn.heights.max() == 9.0
    positive, negative = track.positive.opts, track.negative.opts
    assert len(positive["x0"]) == int((drawn.heights > 0).sum())
    assert len(negative["x0"]) == int((drawn.heights < 0).sum())
    assert np.all(np.asarray(negative["y1"]) < 0)
    assert track.letters.painted == 0


def test_the_target_is_marked_and_the_track_says_the_method(track):
    track.set_view(view_of([0.1] * 10))
    assert track.target_line.isVisible() and track.target_line.value() == pytest.approx(109.5)
    assert track.title == "saliency (nats)"
    region = LogoView("chrT", 0, np.zeros(50, np.uint8), np.zeros(50),
                      Target("region", 10, 20), "ism")
    track.set_view(region)
    assert track.target_band.isVisible() and not track.target_line.isVisible()
    assert tuple(track.target_band.getRegion()) == (10, 20)
    assert track.title == "ISM (nats)"
    entropy = LogoView("chrT", 0, np.zeros(50, np.uint8), np.zeros(50),
                       Target("entropy", 29), "ig")  # the uncertainty about base 30
    track.set_view(entropy)
    assert track.target_line.value() == pytest.approx(30.5)
