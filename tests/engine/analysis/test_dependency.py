"""Dependency maps: each entry is the largest log-odds change a mutation makes, checked
against plain forwards of the mutated sequences; causal; progress and cancel."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.analysis.dependency import dependency_map
from engine.errors import InputError
from engine.models.checkpoint import build_model, model_config
from engine.tokenizers import ByteTokenizer

ACGT = np.frombuffer(b"ACGT", np.uint8)


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return build_model(model_config("hyena", "tiny", d_model=16, n_layers=2, max_len=64)).eval()


def odds_of(model, window: np.ndarray) -> np.ndarray:
    """log-odds of ACGT at every base, from the model's own byte embedding (no one-hot)."""
    ids = torch.tensor([[ByteTokenizer.BOS, *window.tolist()]])
    with torch.no_grad():
        lp = torch.log_softmax(model(ids)[0], dim=-1)[:-1, list(b"ACGT")].double()
    lp = lp - torch.logsumexp(lp, dim=-1, keepdim=True)
    return (lp - torch.log1p(-lp.exp())).numpy()


def test_entries_are_the_largest_log_odds_change_of_any_mutation(model):
    rng = np.random.default_rng(1)
    window = ACGT[rng.integers(0, 4, 30)]
    lo, hi = 10, 25
    result = dependency_map(model, window, lo, hi)
    base = odds_of(model, window)
    want = np.zeros((hi - lo, hi - lo))
    for i in range(lo, hi):
        for k in ACGT:
            if k == window[i]:
                continue
            mutant = window.copy()
            mutant[i] = k
            change = np.abs(odds_of(model, mutant) - base)[lo:hi].max(axis=1)
            want[i - lo] = np.maximum(want[i - lo], change)
            # the model is causal: bases at or before i do not move
            assert change[: i - lo + 1].max() < 1e-4
    np.testing.assert_allclose(np.triu(result.matrix, 1), np.triu(want, 1), rtol=1e-4,
                               atol=1e-5)
    assert (np.tril(result.matrix) == 0).all() and result.matrix[0, 1:].max() > 0
    assert result.alphabet == b"ACGT" and not result.repeats


def test_progress_is_reported_and_cancel_stops_it(model):
    window = ACGT[np.arange(40) % 4]
    seen = []
    dependency_map(model, window, 0, 20, batch=16, progress=lambda d, t: seen.append((d, t)))
    assert seen[-1] == (60, 60) and len(seen) == 4

    class Stop(Exception):
        pass

    def check():
        raise Stop

    with pytest.raises(Stop):
        dependency_map(model, window, 0, 20, check=check)


def test_a_region_outside_the_window_or_the_context_is_refused(model):
    window = ACGT[np.arange(100) % 4]
    with pytest.raises(InputError, match="inside the window"):
        dependency_map(model, window[:10], 5, 20)
    with pytest.raises(InputError, match="context"):
        dependency_map(model, window, 0, 80)
