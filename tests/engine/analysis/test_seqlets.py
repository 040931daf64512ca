"""Seqlets: the null of span sums, the recursive significance rule, planted spans found."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from engine.analysis.seqlets import find_seqlets, null_survival, span_p_values, span_sums


def test_span_sums_are_every_windowed_sum():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 17))
    for w in (1, 4, 17):
        got = span_sums(x, w)
        want = np.array([[x[n, i:i + w].sum() for i in range(17 - w + 1)] for n in range(3)])
        np.testing.assert_allclose(got, want, atol=1e-12)


def test_the_null_of_a_span_is_the_convolution_of_independent_positions():
    # scores on four values, one per bin: the span null is exactly the law of a sum of w
    # independent draws, which enumeration gives
    values = np.array([0.0] * 5 + [1.0] * 3 + [2.0] * 1 + [3.0] * 1)
    probs = {0: 0.5, 1: 0.3, 2: 0.1, 3: 0.1}
    lo, h, survival = null_survival(values, max_width=3, n_bins=4)
    for w in (1, 2, 3):
        exact: dict[int, float] = {}
        for draw in itertools.product(probs, repeat=w):
            exact[sum(draw)] = exact.get(sum(draw), 0.0) + np.prod([probs[d] for d in draw])
        for s in range(0, 3 * w + 1):
            tail = sum(p for total, p in exact.items() if total >= s)
            got = span_p_values(np.array([s * 0.75 + w * 0.375]), w, lo, h, survival)[0]
            # value s in bin units: bins are 0.75 wide from 0, centres at 0.375 + 0.75 k
            assert got == pytest.approx(tail, abs=1e-9), (w, s)


def planted(seed: int = 1, n: int = 200, length: int = 80):
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 0.05, size=(n, length))
    truth = []
    for row in range(0, n, 2):
        start = int(rng.integers(5, length - 15))
        sign = 1.0 if row % 4 == 0 else -1.0
        x[row, start:start + 8] += sign * rng.uniform(0.3, 0.6, size=8)
        truth.append((row, start, start + 8, sign))
    return x, truth


def test_planted_spans_are_found_with_their_sign_and_little_else():
    x, truth = planted()
    seqlets = find_seqlets(x, threshold=0.001, min_width=4, max_width=20)
    found = 0
    for row, a, b, sign in truth:
        hits = [s for s in seqlets if s.example == row and s.start < b and s.end > a]
        assert hits, (row, a, b)
        best = max(hits, key=lambda s: abs(s.score))
        assert np.sign(best.score) == sign
        # the recursion lets a seqlet reach at most min_width - 1 bases past its core
        assert a - 3 <= best.start <= a + 1 and b - 1 <= best.end <= b + 3
        found += 1
    inside = {(row, i) for row, a, b, _ in truth for i in range(a - 3, b + 3)}
    spurious = [s for s in seqlets if (s.example, s.start) not in inside]
    assert found == len(truth) and len(spurious) <= 3


def test_seqlets_of_one_sign_never_overlap_and_flanks_stay_in_the_window():
    x, _ = planted(seed=2)
    seqlets = find_seqlets(x, threshold=0.01, flank=5)
    for sign in (1, -1):
        rows: dict[int, list] = {}
        for s in seqlets:
            if np.sign(s.score) == sign:
                rows.setdefault(s.example, []).append(s)
        for spans in rows.values():
            spans.sort(key=lambda s: s.start)
            for a, b in itertools.pairwise(spans):  # cores never overlap; flanks may touch
                assert b.start + 5 >= a.end - 5
    assert all(0 <= s.start < s.end <= x.shape[1] for s in seqlets)
    positive = find_seqlets(x, sign="+")
    assert positive and all(s.score > 0 for s in positive)


def test_a_background_null_makes_the_same_spans_insignificant():
    x, _ = planted(seed=3)
    assert find_seqlets(x, threshold=0.001)
    loud = np.random.default_rng(4).normal(0.0, 2.0, size=20000)
    assert not find_seqlets(x, threshold=0.001, background=loud)


def test_bad_arguments_are_refused():
    x = np.zeros((2, 10))
    with pytest.raises(ValueError, match="sign"):
        find_seqlets(x, sign="up")
    with pytest.raises(ValueError, match="min_width"):
        find_seqlets(x, min_width=5, max_width=4)
    assert find_seqlets(np.zeros((2, 3))) == []
