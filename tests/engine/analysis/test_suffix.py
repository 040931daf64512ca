"""Suffix runs (S1) equal full forwards: the reference, every variant's logits from the first
changed position on, and a mutagenesis and a dependency map computed both ways."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.analysis.attribution import BOS, Target, mutagenesis
from engine.analysis.dependency import dependency_map
from engine.analysis.suffix import SuffixRunner, supports
from engine.models import build_model, model_config

L = 90


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    cfg = model_config("hyena", "tiny", d_model=16, n_layers=3, max_len=128, order=3)
    return build_model(cfg).double().eval()


@pytest.fixture(scope="module")
def stream() -> torch.Tensor:
    rng = np.random.default_rng(0)
    ids = torch.from_numpy(np.frombuffer(b"ACGT", np.uint8)[rng.integers(0, 4, L)].astype(
        np.int64))
    ids[0] = BOS
    return ids


def test_the_reference_and_every_variants_suffix_equal_full_forwards(model, stream):
    runner = SuffixRunner(model, stream)
    with torch.no_grad():
        np.testing.assert_allclose(runner.logits, model(stream[None])[0], atol=1e-12)
    variants = stream.expand(6, L).clone()
    a = 37
    for b, p in enumerate((37, 38, 40, 55, 70, 89)):  # every variant changes p >= a
        variants[b, p] = int(b"ACGT"[(b"ACGT".index(int(variants[b, p])) + 1) % 4])
    variants[5, 60:] = stream[30:60]  # and a long change
    with torch.no_grad():
        full = model(variants)
    suffix = runner.suffix_logits(variants, a, L)
    np.testing.assert_allclose(suffix, full[:, a:], atol=1e-10)
    lp = runner.log_probs(variants, a, 70)
    np.testing.assert_allclose(lp, torch.log_softmax(full[:, :70], -1), atol=1e-10)
    assert runner.log_probs(variants, 70, 70).shape == (6, 70, full.shape[-1])


def test_only_hyena_models_in_eval_mode_take_the_suffix_path(model):
    assert supports(model)
    attention = build_model(model_config("attention", "tiny", d_model=16, n_layers=1,
                                         max_len=64)).eval()
    assert not supports(attention) and not supports(model.train())
    model.eval()
    with pytest.raises(ValueError, match="Hyena LM"):
        SuffixRunner(attention, torch.zeros(4, dtype=torch.long))


def test_mutagenesis_and_dependency_maps_equal_the_full_forward_path(model, stream):
    window = stream[1:].numpy().astype(np.uint8)
    target = Target("region", 60, 80)
    fast = mutagenesis(model, window, target, batch=13, positions=(20, 79))
    fast_map = dependency_map(model, window, 30, 70, batch=11)
    full = mutagenesis(model, window, target, batch=13, positions=(20, 79), suffix=False)
    full_map = dependency_map(model, window, 30, 70, batch=11, suffix=False)
    np.testing.assert_allclose(fast.matrix, full.matrix, atol=1e-10)
    assert np.abs(full.matrix).max() > 1e-3
    np.testing.assert_allclose(fast_map.matrix, full_map.matrix, atol=1e-9)
    assert full_map.matrix.max() > 1e-3
