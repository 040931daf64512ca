"""The Patcher as a whole: invariants of every mode, configuration checks, results, batches."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.errors import InputError
from engine.patching import MODES, PatchConfig, Patcher
from engine.patching.optimal import feasible

dyadic = st.integers(0, 40).map(lambda k: k / 8)
text_bytes = st.lists(st.sampled_from(list(b"ab Z9.,\n-\xc3\xa9\x80")), min_size=1, max_size=60)


@st.composite
def configs_and_inputs(draw):
    mode = draw(st.sampled_from(MODES))
    min_len = draw(st.integers(1, 4))
    max_len = draw(st.one_of(st.none(), st.integers(min_len, 10)))
    options = dict(
        mode=mode,
        min_patch_length=min_len,
        max_patch_length=max_len,
        include_next_token=draw(st.booleans()),
        add_bos=draw(st.booleans()),
        add_eos=draw(st.booleans()),
        blt_compat=draw(st.booleans()),
    )
    if mode == "static":
        options["patch_size"] = draw(st.integers(1, 6))
    if mode in ("entropy", "monotonic", "dual", "greedy", "optimal"):
        options["threshold"] = draw(dyadic)
        values = np.array(draw(st.lists(dyadic, min_size=3, max_size=60)))
        n_positions = len(values) + options["include_next_token"]
    else:
        values = bytes(draw(text_bytes))
        n_positions = (
            len(values) + options["add_bos"] + options["add_eos"] + options["include_next_token"]
        )
    if mode == "dual":
        options["threshold_add"] = draw(st.one_of(st.none(), dyadic))
    return PatchConfig(**options), values, n_positions


@settings(max_examples=300, deadline=None)
@given(configs_and_inputs())
def test_every_mode_gives_positive_lengths_that_cover_every_position(case):
    config, values, n_positions = case
    result = Patcher(config).patch(values)
    assert (result.lengths > 0).all()
    assert result.lengths.sum() == n_positions
    assert result.starts[0] == 0
    assert (np.diff(result.starts) == result.lengths[:-1]).all()


@settings(max_examples=300, deadline=None)
@given(configs_and_inputs())
def test_every_mode_honours_max_and_min_where_feasible(case):
    config, values, n_positions = case
    lengths = Patcher(config).patch(values).lengths
    own_first = (config.add_bos or config.blt_compat) and config.mode not in ("static", "byte")
    if own_first and n_positions > 1:
        assert lengths[0] == 1  # BOS, or BLT's forced first position, alone
        lengths, n_positions = lengths[1:], n_positions - 1
    max_len, min_len = config.max_patch_length, config.min_patch_length
    if max_len is not None:
        assert lengths.max() <= max_len
    if config.mode == "optimal":
        min_feasible = feasible(n_positions, min_len, max_len)
    else:  # merge-then-split can keep min whenever a max-sized piece can spare a remainder
        min_feasible = n_positions >= min_len and (max_len is None or max_len >= 2 * min_len - 1)
    if min_feasible:
        assert lengths.min() >= min_len


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(MODES), st.lists(st.integers(1, 40), min_size=1, max_size=6))
def test_batch_of_different_lengths_equals_one_at_a_time(mode, sizes):
    rng = np.random.default_rng(sum(sizes))
    config = PatchConfig(mode=mode, max_patch_length=5, min_patch_length=2)
    if config.needs_entropies:
        batch = [rng.gamma(2.0, 0.7, n) for n in sizes]
    else:
        batch = [bytes(rng.choice(list(b"ab c.d"), n).tolist()) for n in sizes]
    patcher = Patcher(config)
    together = patcher.patch_batch(batch)
    alone = [Patcher(config).patch(values) for values in batch]
    assert [r.lengths.tolist() for r in together] == [r.lengths.tolist() for r in alone]


def test_issue_example_interface():
    H = np.array([0.1, 2.0, 0.2, 0.3, 1.5, 0.1])
    result = Patcher(PatchConfig(mode="entropy", threshold=1.3354)).patch(H)
    assert result.starts.tolist() == [0, 2, 5]
    assert result.lengths.tolist() == [2, 3, 1]


def test_default_threshold_is_blts():
    result = Patcher(PatchConfig(mode="entropy")).patch(np.array([0.0, 1.3, 1.4, 0.0]))
    assert result.threshold == 1.335442066192627
    assert result.starts.tolist() == [0, 3]


def test_result_stats():
    H = np.array([0.0, 5.0, 0.0, 0.0, 5.0, 5.0])
    result = Patcher(PatchConfig(mode="entropy", threshold=1.0)).patch(H)
    assert result.lengths.tolist() == [2, 3, 1]
    stats = result.stats()
    assert stats["count"] == 3
    assert stats["mean_length"] == 2.0
    assert stats["median_length"] == 2.0
    assert stats["max_length"] == 3
    assert stats["min_length"] == 1
    assert stats["bytes_per_patch"] == 2.0
    assert stats["threshold"] == 1.0


def test_bytes_per_patch_leaves_out_bos_eos_and_the_next_token():
    config = PatchConfig(mode="byte", add_bos=True, add_eos=True, include_next_token=True)
    result = Patcher(config).patch(b"abcd")
    assert result.count == 7
    assert result.bytes_per_patch == pytest.approx(4 / 7)
    assert result.mean_length == 1.0


def test_to_dict_is_json_ready():
    result = Patcher(PatchConfig(mode="static", patch_size=3)).patch(b"abcdefg")
    data = json.loads(json.dumps(result.to_dict()))
    assert data["starts"] == [0, 3, 6]
    assert data["lengths"] == [3, 3, 1]
    assert data["stats"]["count"] == 3
    assert data["config"]["patch_size"] == 3


def test_config_round_trips_through_a_dict():
    config = PatchConfig(mode="dual", threshold=1.5, threshold_add=0.25, max_patch_length=9)
    assert PatchConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config


def test_config_from_dict_refuses_unknown_settings():
    with pytest.raises(InputError, match="unknown patcher settings: colour"):
        PatchConfig.from_dict({"mode": "entropy", "colour": "red"})


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"mode": "sentencepiece"}, "unknown patching mode"),
        ({"mode": "static", "patch_size": 0}, "patch_size"),
        ({"mode": "static", "patch_size": 4.5}, "patch_size"),
        ({"min_patch_length": 0}, "min_patch_length"),
        ({"min_patch_length": 4, "max_patch_length": 3}, "below"),
        ({"threshold": float("nan")}, "finite"),
        ({"mode": "entropy", "threshold_add": 0.5}, "dual"),
        ({"mode": "space", "threshold": 1.0}, "entropy modes"),
    ],
)
def test_bad_settings_raise_input_error(settings, message):
    with pytest.raises(InputError, match=message):
        PatchConfig(**settings)


def test_non_finite_entropies_are_refused():
    with pytest.raises(InputError, match="position 2"):
        Patcher(PatchConfig(mode="entropy")).patch(np.array([0.0, 1.0, np.nan]))


def test_empty_input_is_refused():
    with pytest.raises(InputError, match="empty"):
        Patcher(PatchConfig(mode="entropy")).patch(np.array([]))


def test_entropies_must_be_one_dimensional():
    with pytest.raises(InputError, match="1-D"):
        Patcher(PatchConfig(mode="entropy")).patch(np.zeros((2, 3)))


def test_space_mode_needs_bytes():
    with pytest.raises(InputError, match="bytes"):
        Patcher(PatchConfig(mode="space")).patch(np.zeros(4))


def test_bos_is_a_patch_of_its_own_even_with_a_minimum_length():
    H = np.zeros(10)  # H[0] belongs to BOS
    config = PatchConfig(mode="entropy", add_bos=True, min_patch_length=3, max_patch_length=4)
    # BOS alone, then 9 positions: one patch after merging, cut into pieces of 3..4
    assert Patcher(config).patch(H).lengths.tolist() == [1, 3, 3, 3]


def test_byte_intervals_drop_the_bos_patch_and_clip_eos():
    config = PatchConfig(mode="space", add_bos=True, add_eos=True)
    result = Patcher(config).patch(b"ab cd")
    index, begin, end = result.byte_intervals()
    # positions: < a b _ c d >  -> patches [<] [ab_] [cd>]
    assert index.tolist() == [1, 2]
    assert begin.tolist() == [0, 3]
    assert end.tolist() == [3, 5]
