"""Loci: the locus box's grammar and the zoom/pan arithmetic."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.errors import InputError
from gui.model.locus import MIN_SPAN, POINT_HALF_WIDTH, Locus, clamp, pan, parse_locus, zoom

LENGTHS = {"chr1": 10_000, "plasmid:A": 500}
CURRENT = Locus("chr1", 1_000, 2_000)


def parse(text, **kw):
    return parse_locus(text, CURRENT, LENGTHS, **kw)


def test_record_colon_range_with_commas_is_one_based_inclusive_as_igv():
    assert parse("chr1:1,001-2,500") == Locus("chr1", 1000, 2500)


def test_a_locus_pasted_from_samtools_or_igv_shows_the_same_bases_as_bed():
    # samtools faidx genome.fa chr1:101-200 prints 100 bases: BED's "chr1 100 200"
    locus = parse("chr1:101-200")
    assert (locus.start, locus.end, locus.span) == (100, 200, 100)


def test_the_box_shows_back_the_text_typed():
    assert parse("chr1:101-200").format() == "chr1:101-200"
    assert parse("chr1:1,001-2,500").format() == "chr1:1,001-2,500"


def test_the_whole_record_shows_from_base_one():
    assert Locus("chr1", 0, 10_000).format() == "chr1:1-10,000"


def test_a_bare_range_applies_to_the_current_record():
    assert parse("301-400") == Locus("chr1", 300, 400)


def test_a_record_name_alone_shows_the_whole_record():
    assert parse("chr1") == Locus("chr1", 0, 10_000)


def test_a_record_id_with_a_colon_still_parses():
    assert parse("plasmid:A:11-100") == Locus("plasmid:A", 10, 100)


def test_one_position_shows_it_plus_minus_twenty_bases():
    # base 5,000 counted from 1 is index 4,999; the view shows 4,980..5,020 counted from 1
    assert parse("chr1:5000") == Locus("chr1", 4979, 5020)
    assert parse("chr1:5000").format() == "chr1:4,980-5,020"
    assert POINT_HALF_WIDTH == 20


def test_one_base_is_widened_to_the_closest_zoom_about_it():
    first = parse("chr1:1-1")  # [0, 1): at the record's start, so it slides right
    assert first == Locus("chr1", 0, MIN_SPAN)
    middle = parse("chr1:5001-5001")  # [5000, 5001)
    assert middle.span == MIN_SPAN and middle.start <= 5000 < middle.end


def test_a_range_past_the_end_is_cut_at_the_end():
    assert parse("chr1:9001-20000") == Locus("chr1", 9000, 10_000)


def test_a_range_starting_past_the_end_is_refused_in_the_box_numbers():
    with pytest.raises(InputError, match="10,001-10,100 is beyond the end"):
        parse("chr1:10,001-10,100")


@pytest.mark.parametrize("text", ["chr1:0-100", "0-100", "chr1:0"])
def test_a_zero_start_is_refused_saying_positions_count_from_one(text):
    with pytest.raises(InputError, match="count from 1"):
        parse(text)


def test_an_end_before_the_start_is_refused():
    with pytest.raises(InputError, match="END is before START"):
        parse("chr1:500-100")


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


@st.composite
def shown_loci(draw) -> tuple[int, Locus]:
    """A record length and a locus the view can show on it (inside, at least MIN_SPAN)."""
    length = draw(st.integers(MIN_SPAN, 10**7))
    start = draw(st.integers(0, length - MIN_SPAN))
    return length, Locus("chr1", start, draw(st.integers(start + MIN_SPAN, length)))


@given(shown_loci())
def test_the_box_reads_back_every_locus_it_shows(case):
    length, locus = case
    assert parse_locus(locus.format(), None, {"chr1": length}) == locus


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
