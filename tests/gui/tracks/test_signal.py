"""The entropy track's y range: it fits what is in view, but one spike does not stretch it; a
clipped spike is marked at the top edge. The last scores of a job are drawn."""

from __future__ import annotations

import numpy as np
import pytest

from gui.tracks.signal import robust_top
from tests.conftest import LENGTH
from tests.gui.conftest import wait_ready

SPIKE = 1500


def test_robust_top_leaves_out_a_lone_spike_but_not_an_ordinary_maximum():
    flat = np.full(1000, 1.0)
    flat[:500] = 0.5
    spiked = flat.copy()
    spiked[SPIKE % 1000] = 2.99
    assert robust_top(spiked, 0.5) == 1.0
    ramp = np.linspace(0.5, 1.4, 1000)  # the top 0.5% lie just under the maximum: kept
    assert robust_top(ramp, 0.5) == pytest.approx(1.4)
    zoomed_in = np.linspace(0.7, 1.38, 40)  # forty bases in view: their maximum is no spike
    assert robust_top(zoomed_in, 0.7) == pytest.approx(1.38)
    zoomed_in[7] = 2.99
    assert robust_top(zoomed_in, 0.7) == pytest.approx(1.38)


@pytest.fixture
def spiked_npy(tmp_path):
    """The fixture's smooth entropies (1.05-1.35 nats, dips to 0.7) with one 2.99-nat spike."""
    x = np.arange(LENGTH)
    values = (1.2 + 0.15 * np.sin(x / 37.0) - 0.5 * (x % 97 == 0)).astype(np.float32)
    values[SPIKE] = 2.99
    path = tmp_path / "chrT.npy"
    np.save(path, values)
    return path


def y_top(track) -> float:
    return track.plot.getViewBox().viewRange()[1][1]


def test_one_spike_does_not_stretch_the_entropy_range_and_is_marked(qtbot, window, genome,
                                                                    spiked_npy):
    window.open_paths([str(genome)])
    qtbot.waitUntil(lambda: window.model.record is not None)
    window.open_paths([str(spiked_npy)])
    qtbot.waitUntil(lambda: window.model.score_status.state == "file")
    wait_ready(qtbot, window)
    window.actions["zoom_fit"].trigger()
    window.set_patcher(mode="static")  # no θ line to widen the range
    track = window.tracks.entropy
    qtbot.waitUntil(lambda: len(track.clipped_x) > 0)
    assert 1.35 <= y_top(track) < 1.5  # the ordinary values fill it, the spike does not
    assert len(track.clipped_x) == 1 and abs(track.clipped_x[0] - SPIKE) <= 3
    assert track.clip_marks.isVisible() and len(track.clip_marks.data) == 1
    window.set_locus(f"chrT:{SPIKE - 19}-{SPIKE + 20}")  # zoomed in: the raw values
    qtbot.waitUntil(lambda: track.drawn_level is None)
    assert y_top(track) < 1.5 and len(track.clipped_x) == 1
    assert SPIKE <= track.clipped_x[0] <= SPIKE + 2  # over the base the value is about


def test_without_spikes_everything_in_view_fits(qtbot, with_entropies, entropies_npy):
    window = with_entropies
    window.set_patcher(mode="static")
    window.actions["zoom_fit"].trigger()
    track = window.tracks.entropy
    qtbot.waitUntil(lambda: y_top(track) >= float(np.load(entropies_npy).max()))
    assert len(track.clipped_x) == 0


def test_the_last_scores_a_model_writes_are_drawn(qtbot, window, genome, tiny_model):
    """Scores arrive in place into one buffer; when the job ends, the tracks draw what came
    after the last timed redraw (a tiny model scores faster than one redraw tick)."""
    window.model.set_model_spec(str(tiny_model))
    window.open_paths([str(genome)])
    qtbot.waitUntil(lambda: window.model.record is not None)
    wait_ready(qtbot, window)
    qtbot.waitUntil(lambda: window.model.score_status.state == "scored")
    assert not np.isnan(window.model.scores.values("entropy")).any()
    for track in [t for t in (window.tracks.entropy, window.tracks.surprisal)
                  if t in window.tracks.tracks()]:  # the surprisal track may be hidden
        _x, y = track.line.getData()
        assert y is not None and len(y) and not np.isnan(y).any(), track.name
