"""Routing measures against their equations and brute-force loops."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.analysis.routing import (
    assignment_share,
    coactivation,
    coactivation_rate,
    conditional_coactivation,
    expert_counts,
    expert_load,
    load_cv,
    marginal_entropy,
    mean_router_prob,
    mean_token_entropy,
    routing_summary,
    switch_balance_loss,
    token_entropy,
    top_k_from_probs,
)


def random_probs(rng, n, e):
    z = rng.normal(size=(n, e))
    p = np.exp(z - z.max(axis=1, keepdims=True))
    return p / p.sum(axis=1, keepdims=True)


@st.composite
def routings(draw, max_tokens=40):
    """(top_k (N, k), E): random distinct top-k choices per token."""
    e = draw(st.integers(1, 8))
    k = draw(st.integers(1, e))
    n = draw(st.integers(0, max_tokens))
    rows = [draw(st.permutations(range(e)))[:k] for _ in range(n)]
    return np.array(rows, dtype=np.int64).reshape(n, k), e


def balanced_top_k(n_experts, k, repeats):
    """Every token's top-1 cycles through the experts; each expert appears equally often."""
    rows = [[(i + j) % n_experts for j in range(k)] for i in range(n_experts)] * repeats
    return np.array(rows)


@given(routings())
def test_expert_load_is_the_top1_fraction(routing):
    top_k, e = routing
    f = expert_load(top_k, e)
    if len(top_k) == 0:
        assert np.isnan(f).all()
        return
    expected = [sum(row[0] == i for row in top_k.tolist()) / len(top_k) for i in range(e)]
    np.testing.assert_allclose(f, expected)
    assert f.sum() == pytest.approx(1.0)


@given(routings())
def test_assignment_share_counts_all_k_choices_and_sums_to_one(routing):
    top_k, e = routing
    if len(top_k) == 0:
        return
    expected = [sum(i in row for row in top_k.tolist()) / top_k.size for i in range(e)]
    np.testing.assert_allclose(assignment_share(top_k, e), expected)
    assert assignment_share(top_k, e).sum() == pytest.approx(1.0)


def test_expert_counts_separate_top1_from_all_choices():
    top_k = np.array([[0, 1], [0, 2], [1, 0]])
    assert expert_counts(top_k, 3).tolist() == [3, 2, 1]
    assert expert_counts(top_k, 3, top1=True).tolist() == [2, 1, 0]


def test_batched_arrays_are_flattened_to_tokens():
    rng = np.random.default_rng(0)
    probs = random_probs(rng, 12, 4).reshape(2, 6, 4)  # (B, P, E)
    top_k = top_k_from_probs(probs, 2).reshape(2, 6, 2)
    np.testing.assert_array_equal(expert_load(top_k, 4), expert_load(top_k.reshape(12, 2), 4))
    np.testing.assert_allclose(mean_router_prob(probs), probs.reshape(12, 4).mean(axis=0))


def test_top_k_from_probs_orders_by_descending_probability_ties_to_lower_id():
    probs = np.array([[0.1, 0.5, 0.2, 0.2], [0.25, 0.25, 0.25, 0.25]])
    assert top_k_from_probs(probs, 3).tolist() == [[1, 2, 3], [0, 1, 2]]


def test_load_cv_is_zero_when_balanced():
    f = expert_load(balanced_top_k(4, 2, 3), 4)
    np.testing.assert_allclose(f, 0.25)
    assert load_cv(f) == 0.0


def test_load_cv_is_std_over_mean():
    f = np.array([0.5, 0.25, 0.25, 0.0])
    assert load_cv(f) == pytest.approx(np.std(f) / np.mean(f))
    assert math.isnan(load_cv(np.zeros(3)))


def test_mean_router_prob_is_the_column_mean():
    p = random_probs(np.random.default_rng(1), 7, 3)
    expected = [sum(row[i] for row in p.tolist()) / 7 for i in range(3)]
    np.testing.assert_allclose(mean_router_prob(p), expected)


@pytest.mark.parametrize("n_experts, k", [(2, 1), (4, 1), (8, 2), (16, 4)])
def test_balanced_routing_gives_balance_loss_alpha(n_experts, k):
    top_k = balanced_top_k(n_experts, k, 5)
    probs = np.full((len(top_k), n_experts), 1 / n_experts)
    f, p = expert_load(top_k, n_experts), mean_router_prob(probs)
    assert switch_balance_loss(f, p, alpha=0.01) == pytest.approx(0.01)
    assert switch_balance_loss(f, p, alpha=0.3) == pytest.approx(0.3)


def test_balance_loss_is_alpha_e_sum_f_p():
    f = np.array([0.7, 0.2, 0.1])
    p = np.array([0.6, 0.3, 0.1])
    assert switch_balance_loss(f, p, 0.01) == pytest.approx(0.01 * 3 * (0.42 + 0.06 + 0.01))
    # collapsed routing costs E times the balanced value
    assert switch_balance_loss(np.eye(3)[0], np.eye(3)[0], 0.01) == pytest.approx(0.03)


@settings(max_examples=30)
@given(st.integers(0, 20), st.integers(1, 6), st.integers(0, 2**31))
def test_token_entropy_matches_a_loop(n, e, seed):
    p = random_probs(np.random.default_rng(seed), n, e)
    p[p < 0.05] = 0.0  # some exact zeros: 0 log 0 = 0
    expected = [-sum(x * math.log(x) for x in row if x > 0) for row in p.tolist()]
    np.testing.assert_allclose(token_entropy(p), expected, atol=1e-12)
    if n:
        assert mean_token_entropy(p) == pytest.approx(np.mean(expected))


def test_entropies_of_one_hot_and_uniform_routing():
    one_hot = np.eye(4)[[0, 1, 2, 3]]
    assert mean_token_entropy(one_hot) == 0.0
    assert marginal_entropy(one_hot) == pytest.approx(math.log(4))  # balanced over tokens
    collapsed = np.eye(4)[[2, 2, 2]]
    assert marginal_entropy(collapsed) == 0.0
    uniform = np.full((5, 4), 0.25)
    assert mean_token_entropy(uniform) == pytest.approx(math.log(4))


def test_marginal_entropy_is_the_entropy_of_the_mean():
    p = random_probs(np.random.default_rng(2), 9, 5)
    p_bar = p.mean(axis=0)
    assert marginal_entropy(p) == pytest.approx(-(p_bar * np.log(p_bar)).sum())


@given(routings())
def test_coactivation_matches_a_double_loop(routing):
    top_k, e = routing
    expected = np.zeros((e, e), dtype=np.int64)
    for row in top_k.tolist():
        for i in range(e):
            for j in range(e):
                expected[i, j] += (i in row) and (j in row)
    c = coactivation(top_k, e)
    np.testing.assert_array_equal(c, expected)
    np.testing.assert_array_equal(c, c.T)
    np.testing.assert_array_equal(np.diag(c), expert_counts(top_k, e))


def test_coactivation_rate_divides_by_the_number_of_tokens():
    top_k = np.array([[0, 1], [0, 2], [1, 0], [2, 1]])
    rate = coactivation_rate(top_k, 3)
    assert rate[0, 1] == pytest.approx(2 / 4) and rate[0, 0] == pytest.approx(3 / 4)


def test_conditional_coactivation_is_c_ij_over_c_ii():
    top_k = np.array([[0, 1], [0, 2], [1, 0]])
    cond = conditional_coactivation(coactivation(top_k, 4))
    assert cond[0, 1] == pytest.approx(2 / 3) and cond[1, 0] == pytest.approx(1.0)
    assert cond[0, 0] == 1.0
    assert np.isnan(cond[3]).all()  # expert 3 was never chosen


def test_no_tokens_give_nan_and_zero_counts_without_warnings():
    probs, top_k = np.zeros((0, 4)), np.zeros((0, 2), dtype=np.int64)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(expert_load(top_k, 4)).all()
        assert np.isnan(assignment_share(top_k, 4)).all()
        assert np.isnan(mean_router_prob(probs)).all()
        assert math.isnan(load_cv(expert_load(top_k, 4)))
        assert token_entropy(probs).shape == (0,)
        assert math.isnan(mean_token_entropy(probs))
        assert math.isnan(marginal_entropy(probs))
        assert coactivation(top_k, 4).tolist() == [[0] * 4] * 4
        assert np.isnan(coactivation_rate(top_k, 4)).all()
        summary = routing_summary(probs, top_k)
    assert summary["n_tokens"] == 0 and summary["load_cv"] is None


def test_invalid_choices_are_rejected():
    with pytest.raises(ValueError, match="twice"):
        coactivation(np.array([[1, 1]]), 3)
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        expert_load(np.array([[3]]), 3)


def test_routing_summary_holds_every_measure_as_json():
    rng = np.random.default_rng(3)
    probs = random_probs(rng, 50, 4)
    top_k = top_k_from_probs(probs, 2)
    summary = routing_summary(probs, top_k, alpha=0.02)
    json.dumps(summary, allow_nan=False)
    f = expert_load(top_k, 4)
    assert summary["load"] == pytest.approx(f.tolist())
    assert summary["balance_loss"] == pytest.approx(
        switch_balance_loss(f, mean_router_prob(probs), 0.02))
    assert summary["mutual_information"] == pytest.approx(
        marginal_entropy(probs) - mean_token_entropy(probs))
    assert summary["coactivation"] == coactivation(top_k, 4).tolist()
    assert summary["max_entropy"] == pytest.approx(math.log(4))
    assert (summary["k"], summary["n_experts"], summary["n_tokens"]) == (2, 4, 50)


def test_routing_summary_rejects_mismatched_token_counts():
    with pytest.raises(ValueError, match="tokens"):
        routing_summary(np.full((3, 2), 0.5), np.zeros((4, 1), dtype=int))
