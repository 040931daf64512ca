"""The table of patch modes: every mode in it dispatches, and what the table says of a mode is
what the patcher does with it."""

from __future__ import annotations

import numpy as np
import pytest

from engine.errors import InputError
from engine.patching import (
    BYTE_MODES,
    ENTROPY_MODES,
    MODES,
    PATCH_MODES,
    THRESHOLD_MODES,
    PatchConfig,
    Patcher,
)
from engine.patching.mode_table import PatchMode, modes_reading
from engine.patching.patcher import decision_values, owns_first_patch

N = 3000
TEXT = (b"In the beginning, the ABC-123 patcher cut bytes; then it read entropies. " * 50)[:N]


def names(test) -> list[str]:
    return [name for name, mode in PATCH_MODES.items() if test(mode)]


@pytest.fixture(scope="module")
def H() -> np.ndarray:
    """Dyadic entropies (k / 8 nats): sums and shifts by whole nats are exact in float64."""
    return np.random.default_rng(7).integers(0, 24, N) / 8.0


@pytest.fixture(scope="module")
def smooth() -> np.ndarray:
    """Entropies as a model gives them: float32, every value distinct."""
    return np.random.default_rng(7).gamma(2.0, 0.7, N).astype(np.float32)


def patch(values, **settings):
    return Patcher(PatchConfig(**settings)).patch(values)


def test_the_old_lists_of_names_are_derived_from_the_table():
    assert MODES == tuple(PATCH_MODES)
    assert BYTE_MODES == ("static", "byte", "space")
    assert ENTROPY_MODES == ("entropy", "monotonic", "dual", "greedy", "optimal")
    assert THRESHOLD_MODES == ("entropy", "monotonic", "dual")
    # what the window and the command wrote out before the table
    assert names(lambda m: m.draws_threshold_line) == ["entropy", "dual", "optimal"]
    assert names(lambda m: m.threshold_is_amount) == ["entropy", "dual", "greedy", "optimal"]
    assert modes_reading("threshold_add") == ("dual",)
    assert modes_reading("patch_size") == ("static",)
    assert all(name == mode.name for name, mode in PATCH_MODES.items())


def test_a_mode_names_exactly_one_rule():
    with pytest.raises(ValueError, match="exactly one"):
        PatchMode("both", "", reads="length", lengths=lambda c, n: n, starts=lambda *a: a)
    with pytest.raises(ValueError, match="θ belongs"):
        PatchMode("bytes-theta", "", reads="length", theta="level", lengths=lambda c, n: n)


@pytest.mark.parametrize("name", list(PATCH_MODES))
@pytest.mark.parametrize("flags", [{}, {"add_bos": True}, {"blt_compat": True},
                                   {"include_next_token": True, "add_eos": True}],
                         ids=["plain", "bos", "blt", "next-eos"])
@pytest.mark.parametrize("limits", [{}, {"min_patch_length": 2, "max_patch_length": 7}],
                         ids=["free", "limited"])
def test_every_mode_in_the_table_dispatches(H, name, flags, limits):
    mode = PATCH_MODES[name]
    values = H if mode.needs_entropies else TEXT
    result = patch(values, mode=name, **flags, **limits)
    expected = len(values) + flags.get("include_next_token", False)
    if not mode.needs_entropies:
        expected += flags.get("add_bos", False) + flags.get("add_eos", False)
    assert result.mode == name and result.n_positions == expected
    assert (result.lengths > 0).all()
    if limits:
        assert result.max_length <= 7
    assert (result.threshold is None) == (mode.theta is None)


@pytest.mark.parametrize("name", BYTE_MODES)
def test_a_byte_mode_takes_no_threshold_and_reads_no_entropies(H, name):
    for setting in ("threshold", "target_patch_size"):
        with pytest.raises(InputError, match="applies to entropy modes"):
            PatchConfig(mode=name, **{setting: 2.0})
    mode = PATCH_MODES[name]
    if mode.reads == "length":  # any values of the same length give the same patches
        lengths = patch(H, mode=name).lengths.tolist()
        assert lengths == patch(H[::-1] + 5, mode=name).lengths.tolist()
        assert lengths == patch(bytes(N), mode=name).lengths.tolist()
    else:  # "tokens": the bytes themselves, never entropies
        assert patch(TEXT, mode=name).count > 1
        with pytest.raises(InputError, match="byte-only modes take bytes"):
            patch(H, mode=name)


@pytest.mark.parametrize("name", ENTROPY_MODES)
def test_an_entropy_mode_reads_its_entropies(H, name):
    assert PATCH_MODES[name].needs_entropies and PatchConfig(mode=name).needs_entropies
    assert patch(H, mode=name, threshold=1.0).starts.tolist() != \
        patch(H[::-1], mode=name, threshold=1.0).starts.tolist()


@pytest.mark.parametrize("name", names(lambda m: m.accepts_target_size))
@pytest.mark.parametrize("limits", [{}, {"max_patch_length": 16}], ids=["free", "max16"])
def test_a_mode_that_accepts_a_target_size_hits_it(smooth, name, limits):
    result = patch(smooth, mode=name, target_patch_size=5.0, **limits)
    assert result.mean_length == pytest.approx(5.0, abs=0.02)
    assert result.target_patch_size == 5.0


@pytest.mark.parametrize("name", names(lambda m: m.exact_search))
def test_an_exact_search_reports_one_of_the_values_compared_with_theta(smooth, name):
    config = PatchConfig(mode=name, target_patch_size=5.0)
    values = set(np.unique(decision_values(smooth, config)).tolist())
    assert Patcher(config).patch(smooth).threshold in values


@pytest.mark.parametrize("name", names(lambda m: m.draws_threshold_line))
def test_a_mode_that_draws_theta_starts_patches_only_above_the_line(H, name):
    theta = 1.5
    starts = patch(H, mode=name, threshold=theta).starts[1:]
    assert len(starts) > 10 and (H[starts - 1] > theta).all()
    # a level, not a difference: raising every H changes the patches
    assert patch(H + 2.0, mode=name, threshold=theta).count > len(starts) + 1


@pytest.mark.parametrize("name", names(lambda m: m.theta == "rise"))
def test_a_mode_whose_theta_is_a_rise_ignores_the_level_of_h(H, name):
    theta = 0.5
    result = patch(H, mode=name, threshold=theta)
    assert result.starts.tolist() == patch(H + 2.0, mode=name, threshold=theta).starts.tolist()
    # which is why a negative θ (a fall) means something here, and the line is not drawn
    assert patch(H, mode=name, threshold=-0.5).count > result.count


@pytest.mark.parametrize("name", names(lambda m: m.theta == "budget"))
def test_a_mode_whose_theta_is_a_budget_keeps_each_patch_within_it(H, name):
    theta = 3.0
    result = patch(H, mode=name, threshold=theta)
    cumulative = np.concatenate(([0.0], np.cumsum(H)))
    ends = result.starts + result.lengths
    spent = cumulative[ends - 1] - cumulative[result.starts]  # H[s : e-1] of each patch
    assert (spent <= theta).all()
    below = result.starts[1:][H[result.starts[1:] - 1] <= theta]
    assert len(below) > 0  # starts below the θ "line": a line would mislead


@pytest.mark.parametrize("name", list(PATCH_MODES))
def test_bos_is_a_patch_of_its_own_exactly_where_the_table_says(name):
    mode = PATCH_MODES[name]
    config = PatchConfig(mode=name, add_bos=True, patch_size=4)
    assert owns_first_patch(config) == mode.bos_alone
    values = np.zeros(40) if mode.needs_entropies else b"a" * 39  # + BOS: 40 positions
    first = Patcher(config).patch(values).lengths[0]
    assert (first == 1) == (mode.bos_alone or name == "byte")


@pytest.mark.parametrize("name", list(PATCH_MODES))
def test_a_mode_reads_exactly_the_settings_the_table_gives_it(name):
    mode = PATCH_MODES[name]
    if "threshold_add" in mode.settings:
        assert PatchConfig(mode=name, threshold_add=0.5).threshold_add == 0.5
    else:
        with pytest.raises(InputError, match="threshold_add applies to mode 'dual' only"):
            PatchConfig(mode=name, threshold_add=0.5)
    values = np.ones(40) * 2 if mode.needs_entropies else TEXT[:40]
    by_size = {size: patch(values, mode=name, patch_size=size).count for size in (2, 8)}
    assert (by_size[2] != by_size[8]) == ("patch_size" in mode.settings)
