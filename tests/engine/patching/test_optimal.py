"""``optimal``: the DP against brute force, against ``entropy``, and against every other mode."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.patching import PatchConfig, Patcher, entropy_start_mask, optimal_starts_dp
from engine.patching.optimal import feasible, largest_feasible_min

dyadic = st.integers(0, 40).map(lambda k: k / 8)  # sums of these are exact in float64


def objective(H, starts, threshold) -> float:
    """J(S) = sum over starts p >= 1 of (H[p-1] - threshold), written out independently."""
    return sum(H[p - 1] - threshold for p in starts if p >= 1)


def within(lengths, min_len, max_len) -> bool:
    return all(n >= min_len and (max_len is None or n <= max_len) for n in lengths)


def brute_force_best(H, threshold, n_positions, min_len, max_len, own_first):
    """max J(S) over every start set whose patches respect the limits (None if none does)."""
    fixed = [0, 1] if own_first and n_positions > 1 else [0]
    free = range(len(fixed), n_positions)
    best = None
    for k in range(len(free) + 1):
        for chosen in itertools.combinations(free, k):
            starts = fixed + list(chosen)
            bounds = [*starts, n_positions]
            lengths = [b - a for a, b in itertools.pairwise(bounds)]
            body = lengths[len(fixed) - 1 :] if own_first and n_positions > 1 else lengths
            if not within(body, min_len, max_len):
                continue
            value = objective(H, starts, threshold)
            best = value if best is None else max(best, value)
    return best


@st.composite
def small_cases(draw):
    H = draw(st.lists(dyadic, min_size=1, max_size=11))
    include_next = draw(st.booleans())
    min_len = draw(st.integers(1, 4))
    max_len = draw(st.one_of(st.none(), st.integers(min_len, 6)))
    return H, draw(dyadic), include_next, min_len, max_len, draw(st.booleans())


@settings(max_examples=120, deadline=None)
@given(small_cases())
def test_optimal_equals_brute_force(case):
    H, threshold, include_next, min_len, max_len, own_first = case
    n_positions = len(H) + include_next
    config = PatchConfig(
        mode="optimal", threshold=threshold, min_patch_length=min_len,
        max_patch_length=max_len, include_next_token=include_next, add_bos=own_first,
    )
    result = Patcher(config).patch(np.array(H))
    expected = brute_force_best(H, threshold, n_positions, min_len, max_len, own_first)
    body = result.lengths[1:] if own_first and n_positions > 1 else result.lengths
    if expected is not None:  # the limits can be met: the DP finds the optimum under them
        assert within(body.tolist(), min_len, max_len)
        assert objective(H, result.starts.tolist(), threshold) == expected
    elif max_len is not None:  # they cannot: max still holds
        assert body.max() <= max_len


@settings(max_examples=120, deadline=None)
@given(st.lists(dyadic, min_size=1, max_size=60), dyadic, st.booleans())
def test_optimal_without_limits_equals_entropy(H, threshold, include_next):
    H = np.array(H)
    n_positions = len(H) + include_next
    gain = np.concatenate(([0.0], H[: n_positions - 1] - threshold))
    dp = optimal_starts_dp(gain, 1, 0)  # the DP itself, not the shortcut the Patcher takes
    assert dp.tolist() == np.flatnonzero(entropy_start_mask(H, threshold, n_positions)).tolist()
    via_patcher = Patcher(
        PatchConfig(mode="optimal", threshold=threshold, include_next_token=include_next)
    ).patch(H)
    assert via_patcher.starts.tolist() == dp.tolist()


OTHER_MODES = ("entropy", "monotonic", "dual", "greedy", "static", "byte")


@settings(max_examples=80, deadline=None)
@given(
    st.lists(dyadic, min_size=2, max_size=50),
    dyadic,
    st.integers(1, 4),
    st.one_of(st.none(), st.integers(4, 9)),
    st.booleans(),
)
def test_optimal_objective_is_at_least_every_other_modes(H, threshold, min_len, max_len, bos):
    limits = dict(min_patch_length=min_len, max_patch_length=max_len, add_bos=bos)
    H = np.array(H)
    best = Patcher(PatchConfig(mode="optimal", threshold=threshold, **limits)).patch(H)
    best_value = objective(H, best.starts.tolist(), threshold)
    for mode in OTHER_MODES:
        settings_ = dict(limits)
        if mode in ("entropy", "monotonic", "dual", "greedy"):
            settings_["threshold"] = threshold
        other = Patcher(PatchConfig(mode=mode, **settings_)).patch(H)
        body = other.lengths[1:] if bos and mode not in ("static", "byte") else other.lengths
        if not within(body.tolist(), min_len, max_len):
            continue  # not a candidate under the same limits
        if bos and (other.lengths[0] != 1 or mode in ("static", "byte")):
            continue  # optimal keeps BOS alone; static/byte do not
        assert best_value >= objective(H, other.starts.tolist(), threshold), mode


def test_optimal_hand_example_packs_high_entropy_into_minimum_length_patches():
    H = np.full(8, 5.0)
    config = PatchConfig(mode="optimal", threshold=1.0, min_patch_length=2, max_patch_length=3)
    assert Patcher(config).patch(H).starts.tolist() == [0, 2, 4, 6]


def test_optimal_low_entropy_uses_maximum_length_patches():
    H = np.zeros(9)
    config = PatchConfig(mode="optimal", threshold=1.0, max_patch_length=4)
    assert sorted(Patcher(config).patch(H).lengths.tolist()) == [1, 4, 4]


def test_optimal_picks_the_best_starts_not_the_first_ones():
    # max 3 forces a start within every 3 positions; the DP picks the high entropies
    H = np.array([0.0, 0.0, 2.0, 0.0, 0.0, 2.0, 0.0])
    config = PatchConfig(mode="optimal", threshold=1.0, max_patch_length=3)
    assert Patcher(config).patch(H).starts.tolist() == [0, 3, 6]


def test_feasibility_of_length_limits():
    assert feasible(5, 2, 4)
    assert not feasible(5, 3, 4)
    assert feasible(6, 3, 4)
    assert not feasible(2, 3, None)


def test_infeasible_minimum_is_lowered_as_little_as_possible():
    assert largest_feasible_min(5, 3, 4) == 2
    H = np.full(5, 5.0)
    config = PatchConfig(mode="optimal", threshold=1.0, min_patch_length=3, max_patch_length=4)
    lengths = Patcher(config).patch(H).lengths.tolist()
    assert sum(lengths) == 5
    assert max(lengths) <= 4
    assert min(lengths) >= 2


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(0, 8, allow_nan=False), min_size=1, max_size=80),
    st.floats(0, 8, allow_nan=False),
    st.integers(1, 3),
    st.integers(0, 8),
)
def test_optimal_compiled_equals_its_python_source(H, threshold, min_len, extra):
    gain = np.concatenate(([0.0], np.array(H[:-1]) - threshold))
    max_len = min_len + extra if extra else 0
    compiled = optimal_starts_dp(gain, min_len, max_len)
    plain = optimal_starts_dp.py_func(gain, min_len, max_len)
    assert compiled.tolist() == plain.tolist()


def dp_reference(gain: list[float], min_len: int, max_len: int | None) -> list[int]:
    """Plain O(N * max_len) DP over (score, -patches), earliest predecessor on ties."""
    n = len(gain)
    best: list[tuple[float, int] | None] = [None] * (n + 1)
    back = [-1] * (n + 1)
    best[0] = (0.0, 0)
    for e in range(1, n + 1):
        low = 0 if max_len is None else max(0, e - max_len)
        reachable = [j for j in range(low, e - min_len + 1) if best[j] is not None]
        if not reachable:
            continue
        # max() keeps the first of equals: the earliest j
        j = max(reachable, key=lambda j: (best[j][0], -best[j][1]))
        best[e] = (best[j][0] + (gain[e] if e < n else 0.0), best[j][1] + 1)
        back[e] = j
    starts, e = [], n
    while e > 0:
        e = back[e]
        starts.append(e)
    return starts[::-1]


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.one_of(dyadic, st.floats(0, 8, allow_nan=False)), min_size=1, max_size=80),
    dyadic,
    st.integers(1, 3),
    st.one_of(st.none(), st.integers(0, 8)),
)
def test_optimal_dp_equals_a_plain_reference_dp(H, threshold, min_len, extra):
    max_len = None if extra is None else min_len + extra
    if not feasible(len(H), min_len, max_len):
        return
    gain = [0.0] + [h - threshold for h in H[:-1]]
    got = optimal_starts_dp(np.array(gain), min_len, max_len or 0).tolist()
    assert got == dp_reference(gain, min_len, max_len)
