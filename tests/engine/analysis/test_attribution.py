"""Attribution truths on a real tiny Hyena model: completeness, causality, mean correction,
and mutagenesis equal to the scorer's own numbers on mutated sequences."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.analysis.attribution import (
    Target,
    attribute,
    integrated_gradients,
    mutagenesis,
    repeat_continuation,
    saliency,
)
from engine.errors import InputError
from engine.io.records import MemorySource, Record
from engine.models import build_model, model_config
from engine.models.repeats import N_STATES, RepeatConfig
from engine.scoring import score

N = 48


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    net = build_model(model_config("hyena", "tiny", d_model=16, n_layers=2, max_len=128))
    return net.double().eval()


@pytest.fixture(scope="module")
def window() -> np.ndarray:
    return np.frombuffer(np.random.default_rng(1).choice(list(b"ACGT"), N).astype(np.uint8)
                         .tobytes(), np.uint8).copy()


def scored_surprisal(model, window: np.ndarray) -> np.ndarray:
    record = Record("w", len(window), MemorySource(window.tobytes()), alphabet="dna")
    return score(model, record, batch_size=1).surprisal.astype(np.float64)


SCORED = 1e-5  # the scorer keeps float32 values


@pytest.mark.parametrize("target", [Target("surprisal", 30), Target("region", 10, 40),
                                    Target("entropy", 25)])
def test_integrated_gradients_are_complete(model, window, target):
    result = integrated_gradients(model, window, target, steps=32)
    spread = abs(result.output) + abs(result.values).sum()
    assert abs(result.delta) <= 1e-4 * spread + 1e-7, (result.delta, spread)
    assert not result.repeats  # gradients cannot include the repeat expert


@pytest.mark.parametrize("method", ["saliency", "ig"])
def test_a_causal_target_gets_nothing_from_bases_at_or_after_it(model, window, method):
    t = 30
    result = attribute(model, window, Target("surprisal", t), method=method)
    assert np.abs(result.values[t:]).max() < 1e-9 * max(1.0, np.abs(result.values[:t]).max())
    assert np.abs(result.values[:t]).max() > 0
    entropy = attribute(model, window, Target("entropy", t), method=method)  # about t + 1
    assert np.abs(entropy.values[t + 1:]).max() < 1e-9 * np.abs(entropy.values).max()


def test_saliency_is_mean_corrected_over_the_alphabet(model, window):
    result = saliency(model, window, Target("surprisal", 20))
    np.testing.assert_allclose(result.matrix.sum(axis=1), 0, atol=1e-12)
    assert result.alphabet == b"ACGT" and result.matrix.shape == (N, 4)


def test_the_target_is_the_scorers_log_probability(model, window):
    surprisal = scored_surprisal(model, window)
    for t in (0, 17, N - 1):
        value = saliency(model, window, Target("surprisal", t)).output
        assert value == pytest.approx(-surprisal[t], abs=SCORED)


def test_mutagenesis_equals_rescoring_each_mutant(model, window):
    t = 24
    result = mutagenesis(model, window, Target("surprisal", t), batch=7)
    reference = -scored_surprisal(model, window)[t]
    assert result.output == pytest.approx(reference, abs=SCORED)
    rng = np.random.default_rng(2)
    for i in rng.choice(t, 5, replace=False):
        for k, base in enumerate(b"ACGT"):
            mutant = window.copy()
            mutant[i] = base
            expected = 0.0 if base == window[i] else -scored_surprisal(model, mutant)[t] - \
                reference
            assert result.matrix[i, k] == pytest.approx(expected, abs=2 * SCORED)
    assert not result.matrix[t:].any()  # bases at or after t cannot change it


def test_mutagenesis_with_the_repeat_expert_equals_rescoring_each_mutant_with_it():
    # 30 bases, 12 others, the 30 again, 10 others: at t = 60 the expert copies base 18 of the
    # first instance; a mutant changes that source or breaks the copy (42 <= i < 60)
    torch.manual_seed(0)
    net = build_model(model_config("hyena", "tiny", d_model=16, n_layers=2, max_len=128))
    net = net.double().eval()
    net.repeats = RepeatConfig(k=8, weights=[0.8] * N_STATES)
    rng = np.random.default_rng(3)
    x = np.frombuffer(b"ACGT", np.uint8)[rng.integers(0, 4, 30)]
    other = np.frombuffer(b"ACGT", np.uint8)[rng.integers(0, 4, 22)]
    window = np.concatenate([x, other[:12], x, other[12:]])

    def rescored(seq: np.ndarray) -> np.ndarray:
        record = Record("w", len(seq), MemorySource(seq.tobytes()), alphabet="dna")
        return score(net, record, batch_size=1, repeats=True).surprisal.astype(np.float64)

    t = 60
    expert = repeat_continuation(net, window, 0, len(window))
    result = mutagenesis(net, window, Target("surprisal", t), batch=11, repeats=expert)
    alone = mutagenesis(net, window, Target("surprisal", t))
    assert result.repeats and not alone.repeats
    assert result.output == pytest.approx(-rescored(window)[t], abs=SCORED)
    assert result.output > alone.output + 0.5  # the expert guessed base 60
    for i in (3, 18, 29, 44, 55, 59):
        for k, base in enumerate(b"ACGT"):
            mutant = window.copy()
            mutant[i] = base
            expected = 0.0 if base == window[i] else -rescored(mutant)[t] - result.output
            assert result.matrix[i, k] == pytest.approx(expected, abs=2 * SCORED)
    assert np.abs(result.matrix[18]).max() > 0.5 > 10 * np.abs(alone.matrix[18]).max()
    net.repeats = None  # a model without an expert has nothing to resume
    assert repeat_continuation(net, window, 0, len(window)) is None


def test_bad_targets_and_methods_are_input_errors(model, window):
    with pytest.raises(InputError, match="outside the window"):
        saliency(model, window, Target("surprisal", N))
    with pytest.raises(InputError, match="needs an end"):
        Target("region", 5, 5)
    with pytest.raises(InputError, match="longer than the model's context: at most 127"):
        saliency(model, np.frombuffer(b"A" * 128, np.uint8), Target("surprisal", 3))
    with pytest.raises(InputError, match="method must be"):
        attribute(model, window, Target("surprisal", 3), method="deeplift")


def test_batched_saliency_equals_one_window_at_a_time(model):
    from engine.analysis.attribution import saliency_batch

    rng = np.random.default_rng(3)
    windows = np.frombuffer(b"ACGT", np.uint8)[rng.integers(0, 4, (5, N))]
    target = Target("region", 10, 40)
    seen = []
    values, grads = saliency_batch(model, windows, target, batch=2,
                                   progress=lambda d, t: seen.append((d, t)))
    for row, window in enumerate(windows):
        one = saliency(model, window, target)
        np.testing.assert_allclose(values[row], one.values, atol=1e-5)
        np.testing.assert_allclose(grads[row], one.matrix, atol=1e-5)
    assert seen == [(2, 5), (4, 5), (5, 5)]
    assert np.abs(values[:, 40:]).max() < 1e-6  # causal: bases after the region add nothing
    with pytest.raises(InputError, match="region"):
        saliency_batch(model, windows, Target("surprisal", 5))
