"""Feature queries against brute force, and row packing."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from engine.io.records import Feature
from gui.model.features import FeatureIndex, pack_rows

intervals = st.lists(st.tuples(st.integers(0, 1000), st.integers(1, 200)), max_size=40)


def make(pairs):
    return [Feature("r", s, s + w, 1, "CDS", f"f{i}") for i, (s, w) in enumerate(pairs)]


@given(intervals, st.integers(-100, 1200), st.integers(1, 400))
def test_overlapping_finds_exactly_the_features_overlapping_the_view(pairs, x0, width):
    index = FeatureIndex("t", make(pairs))
    found = {index.features[i].name for i in index.overlapping(x0, x0 + width)}
    expected = {f.name for f in make(pairs) if f.start < x0 + width and f.end > x0}
    assert found == expected


@given(intervals)
def test_no_two_features_in_one_row_overlap(pairs):
    index = FeatureIndex("t", make(pairs))
    for row in range(index.n_rows):
        members = np.flatnonzero(index.rows == row)
        starts, ends = index.starts[members], index.ends[members]
        assert (starts[1:] >= ends[:-1]).all()


def test_packing_reuses_the_first_free_row():
    starts = np.array([0, 5, 20, 21])
    ends = np.array([10, 30, 25, 40])
    assert pack_rows(starts, ends).tolist() == [0, 1, 0, 2]


def test_next_and_previous_feature_by_start():
    index = FeatureIndex("t", make([(100, 10), (300, 10), (500, 10)]))
    assert index.next_after(100) == 1 and index.next_after(600) is None
    assert index.previous_before(300) == 0 and index.previous_before(100) is None
    assert index.previous_before(305) == 0  # centred on f1: the previous one is f0
    assert [hit.name for hit in index.at(305)] == ["f1"]
