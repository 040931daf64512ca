"""Starts <-> lengths, merging short patches, splitting long ones, BLT's padded layout."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.patching import (
    blt_padded_lengths,
    enforce_length_limits,
    lengths_from_starts,
    merge_short_patches,
    split_long_patches,
    starts_from_lengths,
)

patch_lengths = st.lists(st.integers(1, 20), min_size=1, max_size=30)


def test_lengths_from_starts():
    assert lengths_from_starts(np.array([0, 2, 3]), 7).tolist() == [2, 1, 4]


def test_starts_from_lengths():
    assert starts_from_lengths(np.array([2, 1, 4])).tolist() == [0, 2, 3]


def split(lengths, max_len, min_len=1):
    return split_long_patches(np.array(lengths, dtype=np.int64), max_len, min_len).tolist()


def test_split_is_blts_remainder_last():
    assert split([9], 4) == [4, 4, 1]


def test_split_leaves_short_patches_alone():
    assert split([3, 4, 1], 4) == [3, 4, 1]


def test_split_exact_multiple_has_no_remainder():
    assert split([8, 2], 4) == [4, 4, 2]


def test_split_remainder_below_min_borrows_from_the_piece_before():
    assert split([9], 4, min_len=2) == [4, 3, 2]


def test_split_remainder_borrows_from_several_pieces_when_needed():
    assert split([9], 4, min_len=3) == [3, 3, 3]


def test_split_remainder_borrows_only_what_pieces_can_spare():
    # max 4, min 3: 5 cannot be two pieces of at least 3; the 4 gives down to 3
    assert split([5], 4, min_len=3) == [3, 2]


def split_reference(length: int, max_len: int) -> list[int]:
    """BLT's split_large_numbers, as blt.md describes it."""
    pieces = []
    while length > max_len:
        pieces.append(max_len)
        length -= max_len
    return [*pieces, length]


@settings(max_examples=100, deadline=None)
@given(patch_lengths, st.integers(1, 7))
def test_split_without_minimum_is_blts(lengths, max_len):
    expected = [piece for n in lengths for piece in split_reference(n, max_len)]
    assert split(lengths, max_len) == expected


def test_merge_short_final_patch_joins_its_predecessor():
    assert merge_short_patches(np.array([0, 4, 6]), 7, 2).tolist() == [0, 4]


def test_merge_run_of_single_patches_pairs_up():
    assert merge_short_patches(np.arange(6), 6, 2).tolist() == [0, 2, 4]


def test_merge_short_first_patch_absorbs_its_successor():
    assert merge_short_patches(np.array([0, 1, 3, 5]), 7, 2).tolist() == [0, 3, 5]


def test_merge_sequence_shorter_than_min_is_one_patch():
    assert merge_short_patches(np.array([0, 1, 2]), 3, 5).tolist() == [0]


def merge_reference(lengths: list[int], min_len: int) -> list[int]:
    """From the rule's wording: the rightmost short patch (not the first) joins its
    predecessor, again and again; then a short first patch joins its successor."""
    lengths = list(lengths)
    while True:
        short = [i for i in range(1, len(lengths)) if lengths[i] < min_len]
        if not short:
            break
        i = short[-1]
        lengths[i - 1] += lengths.pop(i)
    if len(lengths) > 1 and lengths[0] < min_len:
        first = lengths.pop(0)
        lengths[0] += first
    return lengths


@settings(max_examples=200, deadline=None)
@given(patch_lengths, st.integers(1, 6))
def test_merge_matches_the_reference(lengths, min_len):
    starts = starts_from_lengths(np.array(lengths))
    merged = merge_short_patches(starts, sum(lengths), min_len)
    assert lengths_from_starts(merged, sum(lengths)).tolist() == merge_reference(lengths, min_len)


@settings(max_examples=100, deadline=None)
@given(patch_lengths, st.integers(1, 6))
def test_merge_compiled_equals_its_python_source(lengths, min_len):
    starts = starts_from_lengths(np.array(lengths))
    n = sum(lengths)
    assert (
        merge_short_patches(starts, n, min_len).tolist()
        == merge_short_patches.py_func(starts, n, min_len).tolist()
    )


@settings(max_examples=200, deadline=None)
@given(patch_lengths, st.integers(1, 5), st.integers(0, 8), st.booleans())
def test_limits_keep_the_total_honour_max_and_min_where_feasible(lengths, min_len, extra, own):
    max_len = min_len + extra if extra else None
    n = sum(lengths)
    out = enforce_length_limits(starts_from_lengths(np.array(lengths)), n, min_len, max_len, own)
    assert out.sum() == n
    assert (out > 0).all()
    body = out[1:] if own and n > 1 else out
    if own and n > 1:
        assert out[0] == 1
    if max_len is not None:
        assert body.max() <= max_len
    rest = n - 1 if own and n > 1 else n
    if rest >= min_len and (max_len is None or max_len >= 2 * min_len - 1):
        assert body.min() >= min_len


def test_padded_lengths_right_pad_with_zeros():
    rows = [np.array([1, 1, 2, 1]), np.array([1, 4])]
    assert blt_padded_lengths(rows).tolist() == [[1, 1, 2, 1], [1, 4, 0, 0]]


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 60), st.integers(1, 5), st.integers(0, 6))
def test_split_pieces_stay_within_limits_whenever_the_patch_allows(length, min_len, extra):
    max_len = min_len + extra
    pieces = split([length], max_len, min_len)
    assert sum(pieces) == length
    assert max(pieces) <= max_len
    if -(-length // max_len) * min_len <= length:  # ceil(l / max) pieces of >= min fit
        assert min(pieces) >= min_len
