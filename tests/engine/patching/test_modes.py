"""Each start rule on small hand-worked inputs, and greedy against its defining property."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.patching import (
    PatchConfig,
    Patcher,
    dual_start_mask,
    entropy_start_mask,
    greedy_starts,
    monotonic_start_mask,
    space_start_mask,
    static_lengths,
)
from engine.patching.modes import blt_tokens


def starts_of(mask):
    return np.flatnonzero(mask).tolist()


def test_entropy_starts_where_the_previous_entropy_exceeds_the_threshold():
    H = np.array([0.5, 2.0, 1.0, 1.0, 3.0])
    assert starts_of(entropy_start_mask(H, 1.0, 5)) == [0, 2]


def test_entropy_tie_with_threshold_is_not_a_start():
    H = np.array([1.0, 1.0, 1.0])
    assert starts_of(entropy_start_mask(H, 1.0, 3)) == [0]


def test_entropy_next_token_position_uses_the_last_entropy():
    H = np.array([0.5, 2.0, 1.0, 1.0, 3.0])
    assert starts_of(entropy_start_mask(H, 1.0, 6)) == [0, 2, 5]


def test_entropy_position_1_uses_h0_without_blt_compat():
    H = np.array([2.0, 0.0, 0.0])
    assert starts_of(entropy_start_mask(H, 1.0, 3)) == [0, 1]


def test_monotonic_starts_where_entropy_rises_by_more_than_the_threshold():
    H = np.array([1.0, 3.0, 2.0, 2.5, 0.0])
    # rises at p = 2, 3, 4: 2.0, -1.0, 0.5
    assert starts_of(monotonic_start_mask(H, 0.4, 5)) == [0, 2, 4]


def test_monotonic_never_starts_at_position_1_without_blt_compat():
    H = np.array([9.0, 9.0, 9.0])
    assert starts_of(monotonic_start_mask(H, -100.0, 3)) == [0, 2]


def test_dual_needs_both_a_high_entropy_and_a_rise():
    H = np.array([0.0, 2.0, 3.0, 1.0, 4.0, 4.5])
    # p=2: H=2 rise 2 yes; p=3: H=3 rise 1 yes; p=4: H=1 no; p=5: H=4 rise 3 yes
    assert starts_of(dual_start_mask(H, 1.5, 0.5, 6)) == [0, 2, 3, 5]
    # raise the rise needed to 1.5: p=3 (rise 1) drops
    assert starts_of(dual_start_mask(H, 1.5, 1.5, 6)) == [0, 2, 5]


def test_rules_on_a_single_position():
    H = np.array([5.0])
    for mask in (
        entropy_start_mask(H, 0.0, 1),
        monotonic_start_mask(H, 0.0, 1),
        dual_start_mask(H, 0.0, 0.0, 1),
    ):
        assert starts_of(mask) == [0]


def test_space_rule_ends_a_patch_at_the_first_of_a_run_of_space_like_bytes():
    tokens = blt_tokens(np.frombuffer(b"ab  cd,e", np.uint8), False, False)
    # space-like: the two spaces and the comma; only the first space of the run ends a patch
    assert starts_of(space_start_mask(tokens, len(tokens), blt_compat=False)) == [0, 3, 7]


def test_space_rule_counts_utf8_continuation_bytes_as_word_bytes():
    tokens = blt_tokens(np.frombuffer("aé b".encode(), np.uint8), False, False)
    # a, 0xC3 (lead: space-like, ends), 0xA9 (continuation), space (after a word byte: ends), b
    assert starts_of(space_start_mask(tokens, len(tokens), blt_compat=False)) == [0, 2, 4]


@pytest.mark.parametrize(
    ("n", "size", "expected"),
    [(10, 4, [4, 4, 2]), (8, 4, [4, 4]), (3, 4, [3]), (5, 1, [1] * 5)],
)
def test_static_lengths(n, size, expected):
    assert static_lengths(n, size).tolist() == expected


def test_greedy_budget_example():
    H = np.ones(6)
    # patch from 0: after bytes 1, 2 the budget holds 2 <= 2.5; byte 3 would make it 3
    assert greedy_starts(H, 2.5, 6, 0).tolist() == [0, 3]


def test_greedy_single_high_entropy_starts_a_patch_like_entropy_mode():
    H = np.array([0.1, 5.0, 0.1, 0.1])
    assert greedy_starts(H, 1.0, 4, 0).tolist() == [0, 2]


def test_greedy_first_position_of_its_own():
    H = np.array([9.0, 0.1, 0.1, 0.1])
    assert greedy_starts(H, 1.0, 4, 1).tolist() == [0, 1]


def greedy_reference(H: list[float], threshold: float, n_positions: int) -> list[int]:
    """Written from the definition: a patch ends just before the budget would overflow."""
    starts = [0]
    for p in range(1, n_positions):
        spent = sum(H[starts[-1] : p])  # uncertainty about positions starts[-1]+1 .. p
        if spent > threshold:
            starts.append(p)
    return starts


dyadic = st.integers(0, 40).map(lambda k: k / 8)  # exact sums in float64


@settings(max_examples=150, deadline=None)
@given(st.lists(dyadic, min_size=1, max_size=40), dyadic, st.booleans())
def test_greedy_matches_a_plain_python_reference(H, threshold, include_next):
    n_positions = len(H) + include_next
    expected = greedy_reference(H, threshold, n_positions)
    assert greedy_starts(np.array(H), threshold, n_positions, 0).tolist() == expected


@settings(max_examples=100, deadline=None)
@given(st.lists(dyadic, min_size=1, max_size=40), dyadic)
def test_greedy_patches_hold_at_most_the_budget_and_are_maximal(H, threshold):
    result = Patcher(PatchConfig(mode="greedy", threshold=threshold)).patch(np.array(H))
    for s, n in zip(result.starts.tolist(), result.lengths.tolist(), strict=True):
        e = s + n
        assert sum(H[s : e - 1]) <= threshold
        if e < len(H):
            assert sum(H[s:e]) > threshold


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.floats(0, 8, allow_nan=False, width=32), min_size=1, max_size=60),
    st.floats(0, 10, allow_nan=False),
)
def test_greedy_compiled_equals_its_python_source(H, threshold):
    H = np.array(H, dtype=np.float32)
    compiled = greedy_starts(H, threshold, len(H), 0)
    plain = greedy_starts.py_func(H, threshold, len(H), 0)
    assert compiled.tolist() == plain.tolist()
