"""Boundaries vs annotations: observed fraction, random draws, exact expectation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.errors import InputError
from engine.io.records import Feature
from engine.patching.compare import (
    boundary_agreement,
    choose_features,
    expected_fraction,
    feature_anchors,
    nearest_distance,
    random_fractions,
)


def feature(start, end, strand=1, type_="CDS"):
    return Feature("r", start, end, strand, type_, f"{type_}{start}")


@given(st.lists(st.integers(0, 500), min_size=1, max_size=40, unique=True),
       st.lists(st.integers(0, 500), max_size=40))
def test_nearest_distance_equals_brute_force(boundaries, positions):
    b = np.sort(np.array(boundaries, dtype=np.int64))
    f = np.array(positions, dtype=np.int64)
    expected = [min(abs(x - y) for y in boundaries) for x in positions]
    assert nearest_distance(f, b).tolist() == expected


def test_observed_fraction_counts_anchors_within_k_of_a_start():
    features = [feature(100, 200), feature(300, 400), feature(500, 600, type_="tRNA"),
                feature(700, 800, type_="gene")]  # genes are not compared by default
    starts = np.array([0, 98, 250, 505])
    result = boundary_agreement(starts, features, 1000, k=2, trials=3)
    assert result.n_features == 3 and result.n_boundaries == 4
    assert result.observed == pytest.approx(1 / 3)  # only 100 (98 is 2 away); 500 is 5 away
    assert result.by_type == {"CDS": (2, 0.5), "tRNA": (1, 0.0)}
    wider = boundary_agreement(starts, features, 1000, k=5, trials=3)
    assert wider.observed == pytest.approx(2 / 3)


def test_five_prime_anchors_are_the_end_on_the_minus_strand():
    features = [feature(100, 200, 1), feature(300, 400, -1)]
    starts, _ = feature_anchors(features, anchor="five_prime")
    assert starts.tolist() == [100, 400]
    with pytest.raises(InputError):
        feature_anchors(features, anchor="middle")


def test_the_exact_expectation_is_the_hypergeometric_window_probability():
    # an interior anchor, window of 2k + 1 = 5 positions, m = 10 boundaries among L = 100
    p = 1 - math.comb(95, 10) / math.comb(100, 10)
    assert expected_fraction(np.array([50]), 100, 10, 2) == pytest.approx(p)
    # at the record's start the window is cut to k + 1 = 3 positions
    p_edge = 1 - math.comb(97, 10) / math.comb(100, 10)
    assert expected_fraction(np.array([0, 50]), 100, 10, 2) == pytest.approx((p + p_edge) / 2)


@settings(max_examples=10, deadline=None)
@given(st.integers(200, 2000), st.floats(0.02, 0.5), st.integers(0, 6))
def test_random_draws_average_to_the_exact_expectation(length, density, k):
    rng = np.random.default_rng(1)
    positions = rng.integers(0, length, 300)
    m = max(1, int(density * length))
    draws = random_fractions(positions, length, m, k, trials=60, seed=3)
    expected = expected_fraction(positions, length, m, k)
    assert draws.mean() == pytest.approx(expected, abs=4 * draws.std() / math.sqrt(60) + 0.01)


def test_draws_are_seeded():
    positions = np.arange(0, 1000, 37)
    a = random_fractions(positions, 1000, 100, 2, trials=5, seed=7)
    b = random_fractions(positions, 1000, 100, 2, trials=5, seed=7)
    c = random_fractions(positions, 1000, 100, 2, trials=5, seed=8)
    assert a.tolist() == b.tolist() and a.tolist() != c.tolist()


def test_bad_arguments_are_input_errors():
    with pytest.raises(InputError):
        boundary_agreement(np.array([0]), [feature(1, 2)], 10, k=-1)
    with pytest.raises(InputError):
        boundary_agreement(np.array([0, 10]), [feature(1, 2)], 10)


def test_the_default_types_are_chosen_when_the_record_has_them():
    features = [feature(100, 200), feature(300, 400, type_="gene"), feature(0, 1000, 0, "region")]
    choice = choose_features(features, 1000)
    assert choice.features == (features[0],) and not choice.all_features
    assert choice.types == ("CDS", "tRNA", "rRNA")


def test_without_the_default_types_every_feature_but_a_whole_record_one_is_chosen():
    bed = [feature(100, 200, 1, "region"), feature(300, 400, -1, "region"),
           feature(500, 600, 0, "misc"), feature(0, 1000, 0, "region")]
    choice = choose_features(bed, 1000)
    assert choice.all_features and choice.features == tuple(bed[:3])
    assert choice.types == ("region", "misc")
    assert boundary_agreement(np.array([0, 300]), choice.features, 1000, k=0,
                              types=choice.types, trials=2).n_features == 3


def test_named_types_no_feature_has_are_refused_naming_those_there_are():
    with pytest.raises(InputError, match=r"no CDS features on record 'r' \(it has region 2\)"):
        choose_features([feature(1, 5, type_="region"), feature(7, 9, type_="region")], 10,
                        ["CDS"])


def test_no_features_at_all_give_an_empty_choice():
    assert choose_features([], 10).features == ()
