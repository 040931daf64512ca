"""``target_patch_size``: the search is exact for threshold modes and close for the rest."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.errors import InputError
from engine.patching import PatchConfig, Patcher

dyadic = st.integers(0, 40).map(lambda k: k / 8)


def mean_length(H, **settings) -> float:
    result = Patcher(PatchConfig(**settings)).patch(H)
    return result.n_positions / result.count


@settings(max_examples=60, deadline=None)
@given(
    st.lists(dyadic, min_size=2, max_size=40),
    st.floats(1, 8),
    st.sampled_from(["entropy", "monotonic", "dual"]),
)
def test_no_threshold_gets_closer_to_the_target_than_the_one_found(H, target, mode):
    H = np.array(H)
    found = Patcher(PatchConfig(mode=mode, target_patch_size=target)).patch(H)
    # every distinct outcome happens at one of these thresholds (strict ">": a value, or below)
    candidates = np.concatenate((H, np.diff(H), [-100.0]))
    best_gap = min(abs(mean_length(H, mode=mode, threshold=t) - target) for t in candidates)
    assert abs(found.mean_length - target) == pytest.approx(best_gap, abs=1e-12)


@settings(max_examples=30, deadline=None)
@given(st.lists(dyadic, min_size=2, max_size=40), st.floats(1, 8))
def test_the_reported_threshold_reproduces_the_patches(H, target):
    H = np.array(H)
    found = Patcher(PatchConfig(mode="entropy", target_patch_size=target)).patch(H)
    again = Patcher(PatchConfig(mode="entropy", threshold=found.threshold)).patch(H)
    assert again.lengths.tolist() == found.lengths.tolist()


@pytest.fixture(scope="module")
def realistic_entropies() -> np.ndarray:
    rng = np.random.default_rng(7)
    return rng.gamma(2.0, 0.7, 50_000).astype(np.float32)


@pytest.mark.parametrize(
    "settings",
    [
        {"mode": "entropy"},
        {"mode": "monotonic"},
        {"mode": "dual"},
        {"mode": "greedy"},
        {"mode": "optimal", "max_patch_length": 16},
        {"mode": "entropy", "max_patch_length": 8},
    ],
    ids=lambda s: "-".join(str(v) for v in s.values()),
)
def test_target_mean_length_is_met_on_realistic_entropies(realistic_entropies, settings):
    result = Patcher(PatchConfig(target_patch_size=4.5, **settings)).patch(realistic_entropies)
    assert result.mean_length == pytest.approx(4.5, abs=0.01)
    assert result.threshold is not None
    assert result.target_patch_size == 4.5


@pytest.mark.parametrize("mode", ["entropy", "monotonic", "dual", "greedy", "optimal"])
def test_patch_count_never_rises_with_the_threshold(realistic_entropies, mode):
    H = realistic_entropies[:5_000]
    max_len = 12 if mode == "optimal" else None
    counts = [
        Patcher(PatchConfig(mode=mode, threshold=t, max_patch_length=max_len)).patch(H).count
        for t in np.linspace(-1.0, 4.0, 41)
    ]
    assert all(a >= b for a, b in itertools.pairwise(counts))
    assert counts[0] > counts[-1]


def test_unreachable_target_gives_the_longest_patches_possible():
    H = np.array([3.0, 0.0, 3.0, 0.0])
    result = Patcher(PatchConfig(mode="entropy", target_patch_size=100)).patch(H)
    assert result.lengths.tolist() == [4]


def test_threshold_and_target_together_are_refused():
    with pytest.raises(InputError, match="either"):
        PatchConfig(mode="entropy", threshold=1.0, target_patch_size=4)


def test_target_below_one_is_refused():
    with pytest.raises(InputError, match="at least 1"):
        PatchConfig(mode="entropy", target_patch_size=0.5)


def test_target_for_a_byte_mode_is_refused():
    with pytest.raises(InputError, match="entropy modes"):
        PatchConfig(mode="static", target_patch_size=4)
