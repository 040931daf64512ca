"""IGV's ``record:start-end`` text, 1-based inclusive, against bytescope's 0-based half-open."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.errors import InputError
from engine.loci import format_locus, format_position, format_range, parse_locus, parse_range


def test_a_samtools_region_is_the_bed_interval_of_the_same_bases():
    # samtools faidx x.fa chrT:101-200 prints bases 101..200 counted from 1; BED: chrT 100 200
    assert parse_locus("chrT:101-200") == ("chrT", 100, 200)


def test_the_first_base_alone_is_one_to_one():
    assert parse_locus("chrT:1-1") == ("chrT", 0, 1)
    assert format_locus("chrT", 0, 1) == "chrT:1-1"


def test_commas_and_spaces_are_allowed_and_written_back_with_commas():
    assert parse_locus("chrT:1,001 - 1,400") == ("chrT", 1000, 1400)
    assert format_locus("chrT", 1000, 1400) == "chrT:1,001-1,400"


def test_a_record_id_may_hold_colons():
    assert parse_locus("HLA:A:2-3") == ("HLA:A", 1, 3)


def test_one_position_is_its_zero_based_index_and_no_end():
    assert parse_range("5,000") == (4999, None)
    assert format_position(4999) == "5,000"


@pytest.mark.parametrize("text", ["chrT:0-100", "chrT:0-0"])
def test_a_zero_start_is_refused_naming_the_convention(text):
    with pytest.raises(InputError, match=r"count from 1.*START must be at least 1"):
        parse_locus(text)


def test_an_end_before_the_start_is_refused():
    with pytest.raises(InputError, match="END is before START"):
        parse_locus("chrT:200-100")


@pytest.mark.parametrize("text", ["chrT", "chrT:", ":1-10", "chrT:a-b", "chrT:-5", "chrT:,-9"])
def test_what_is_not_rec_start_end_says_so(text):
    with pytest.raises(InputError, match="not REC:START-END"):
        parse_locus(text)


def test_one_position_is_not_a_window():
    with pytest.raises(InputError, match="one position"):
        parse_locus("chrT:500")


@given(st.text(st.characters(blacklist_categories=("Cs",)), min_size=1).filter(
           lambda r: r.strip() == r),
       st.integers(0, 10**10), st.integers(1, 10**6))
def test_parse_reads_back_what_format_writes(record_id, start, width):
    end = start + width
    assert parse_locus(format_locus(record_id, start, end)) == (record_id, start, end)


@given(st.integers(0, 10**9), st.integers(1, 10**6))
def test_the_range_text_names_as_many_bases_as_the_interval_holds(start, width):
    first, last = (int(n.replace(",", "")) for n in format_range(start, start + width).split("-"))
    assert last - first + 1 == width and first == start + 1
