"""Attribution of the patch-level model (hyena-blt) through its byte decoder: the target is
the model's own log-probability under the given patch starts, mutagenesis equals plain
forwards of every mutant, integrated gradients are complete, a causal target gets nothing
from later bases, and the patch starts are the ones given."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.analysis.attribution import (
    BOS,
    Target,
    integrated_gradients,
    mutagenesis,
    saliency,
    saliency_batch,
)
from engine.errors import InputError
from engine.models import build_model, model_config

N = 40
# every option that reads the bytes besides the embedding: hash n-grams, MoE, memory
CONFIG = dict(d_local=16, d_global=32, n_heads=2, max_len=64, filter_order=16, mlp_ratio=2.0,
              local_window=8, max_patch_offset=8, hash_buckets=64, segment_len=3,
              memory_slots=2, hash_ngrams=(2, 3), n_experts=4, top_k=2, n_memories=2,
              global_attention_layers=(1,))


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return build_model(model_config("hyena-blt", "tiny", **CONFIG)).double().eval()


@pytest.fixture(scope="module")
def window() -> np.ndarray:
    return np.frombuffer(b"ACGT", np.uint8)[np.random.default_rng(1).integers(0, 4, N)].copy()


@pytest.fixture(scope="module")
def starts() -> np.ndarray:
    flags = np.zeros(N, bool)
    flags[[0, 3, 9, 10, 17, 25, 26, 33]] = True  # uneven patches, as an entropy patcher cuts
    return flags


@torch.no_grad()
def plain_log_p(model, window: np.ndarray, starts: np.ndarray, t: int) -> float:
    """log p(b_t | b_<t): one ordinary forward of [BOS, window] with the stream's starts."""
    ids = torch.tensor([[BOS, *window.tolist()]])
    flags = torch.from_numpy(np.concatenate([[True], starts]))[None]
    lp = torch.log_softmax(model(ids, flags), dim=-1)
    return float(lp[0, t, int(window[t])])


def test_the_target_is_the_models_own_log_probability_under_the_given_patches(model, window,
                                                                              starts):
    for t in (0, 12, 30):
        value = saliency(model, window, Target("surprisal", t), patch_starts=starts).output
        assert value == pytest.approx(plain_log_p(model, window, starts, t), abs=1e-9)
    static = saliency(model, window, Target("surprisal", 30)).output  # no starts: static
    assert static != pytest.approx(plain_log_p(model, window, starts, 30), abs=1e-6)


def test_mutagenesis_equals_a_plain_forward_of_every_mutant(model, window, starts):
    t = 28
    result = mutagenesis(model, window, Target("surprisal", t), batch=9, patch_starts=starts)
    reference = plain_log_p(model, window, starts, t)
    for i in (0, 4, 9, 16, 27):
        for k, base in enumerate(b"ACGT"):
            mutant = window.copy()
            mutant[i] = base
            expected = plain_log_p(model, mutant, starts, t) - reference
            assert result.matrix[i, k] == pytest.approx(expected, abs=1e-9)
    assert np.abs(result.matrix[:t]).max() > 0 and not result.matrix[t:].any()


@pytest.mark.parametrize("target", [Target("surprisal", 30), Target("region", 5, 35)])
def test_integrated_gradients_through_the_decoder_are_complete(model, window, starts, target):
    result = integrated_gradients(model, window, target, steps=48, patch_starts=starts)
    spread = abs(result.output) + abs(result.values).sum()
    assert abs(result.delta) <= 1e-3 * spread, (result.delta, spread)


def test_a_causal_target_gets_nothing_from_bases_at_or_after_it(model, window, starts):
    t = 26  # inside the patch [26, 33): its later bytes are pooled, yet cannot reach t
    result = saliency(model, window, Target("surprisal", t), patch_starts=starts)
    assert np.abs(result.values[t:]).max() < 1e-12 * np.abs(result.values[:t]).max()
    assert np.abs(result.values[:t]).max() > 0


def test_patch_starts_are_checked_and_only_for_the_patch_level_model(model, window, starts):
    with pytest.raises(InputError, match="patch-start flags"):
        saliency(model, window, Target("surprisal", 5), patch_starts=starts[:-1])
    byte_model = build_model(model_config("hyena", "tiny", d_model=8, n_layers=1, max_len=64))
    with pytest.raises(InputError, match="patch-level model"):
        saliency(byte_model, window, Target("surprisal", 5), patch_starts=starts)
    with pytest.raises(InputError, match="batched saliency"):
        saliency_batch(model, window[None], Target("region", 2, 8))


def test_a_dependency_map_reads_the_given_patches(model, window, starts):
    from engine.analysis.dependency import dependency_map

    given = dependency_map(model, window, 20, 32, patch_starts=starts)
    static = dependency_map(model, window, 20, 32)
    assert np.abs(given.matrix).max() > 0 and not np.allclose(given.matrix, static.matrix)
    # one entry by hand: base 22 -> 'A'..'T', the largest log-odds change at base 30
    flags = torch.from_numpy(np.concatenate([[True], starts[:32]]))[None]

    @torch.no_grad()
    def odds(seq):
        lp = torch.log_softmax(model(torch.tensor([[BOS, *seq[:32].tolist()]]), flags), -1)
        sub = lp[0, 30, list(b"ACGT")]
        sub = sub - torch.logsumexp(sub, -1)
        return sub - torch.log1p(-sub.exp())

    base = odds(window)
    changes = []
    for letter in b"ACGT":
        if letter != window[22]:
            mutant = window.copy()
            mutant[22] = letter
            changes.append(float((odds(mutant) - base).abs().max()))
    assert given.matrix[2, 10] == pytest.approx(max(changes), rel=1e-6, abs=1e-9)
