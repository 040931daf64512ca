"""Loci: the locus box's grammar and the zoom/pan arithmetic."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.errors import InputError
from gui.model.locus import MIN_SPAN, Locus, clamp, pan, parse_locus, zoom

LENGTHS = {"chr1": 10_000, "plasmid:A": 500}
CURRENT = Locus("chr1", 1_000, 2_000)


def parse(text, **kw):
    return parse_locus(text, CURRENT, LENGTHS, **kw)


def test_record_colon_range_with_commas_is_zero_based_half_open():
    assert parse("chr1:1,000-2,500") == Locus("chr1", 1000, 2500)


def test_a_bare_range_applies_to_the_current_record():
    assert parse("300-400") == Locus("chr1", 300, 400)


def test_a_record_name_alone_shows_the_whole_record():
    assert parse("chr1") == Locus("chr1", 0, 10_000)


def test_a_record_id_with_a_colon_still_parses():
    assert parse("plasmid:A:10-100") == Locus("plasmid:A", 10, 100)


def test_one_position_shows_it_plus_minus_twenty_bases():
    assert parse("chr1:5000") == Locus("chr1", 4980, 5021)


def test_a_range_past_the_end_is_cut_at_the_end():
    assert parse("chr1:9000-20000") == Locus("chr1", 9000, 10_000)


def test_feature_names_and_patch_numbers_are_looked_up():
    found = parse("dnaA", find_feature=lambda name: ("chr1", 100, 200) if name == "dnaA"
                  else None)
    assert found == Locus("chr1", 90, 210)  # 10% padding
    patch = parse("#12", patch_interval=lambda i: (500, 510) if i == 12 else None)
    assert patch.start <= 500 and patch.end >= 510 and patch.span >= MIN_SPAN


@pytest.mark.parametrize("text", ["", "nonsense", "chr1:abc", "chr1:500-100", "#x", "#99"])
def test_what_is_not_a_locus_says_so(text):
    with pytest.raises(InputError):
        parse(text)


@given(st.integers(1, 10**7), st.floats(-1e7, 2e7), st.floats(0, 1e7))
def test_clamp_stays_inside_the_record_and_at_least_min_span_wide(length, start, width):
    locus = clamp("r", start, start + width, length)
    assert 0 <= locus.start < locus.end <= length
    assert locus.span >= min(MIN_SPAN, length)


def test_zoom_keeps_the_anchor_and_zooming_back_restores_the_span():
    locus = Locus("chr1", 4000, 6000)
    closer = zoom(locus, 0.5, 10_000)
    assert closer == Locus("chr1", 4500, 5500)
    assert zoom(closer, 2.0, 10_000) == locus
    assert zoom(locus, 0.5, 10_000, anchor=4000) == Locus("chr1", 4000, 5000)


def test_pan_moves_by_a_fraction_of_the_span_and_stops_at_the_ends():
    assert pan(Locus("chr1", 4000, 6000), 0.25, 10_000) == Locus("chr1", 4500, 6500)
    assert pan(Locus("chr1", 9000, 10_000), 1.0, 10_000) == Locus("chr1", 9000, 10_000)
