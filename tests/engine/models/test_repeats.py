"""The repeat (copy) expert: its guesses, the mixture (R1) and the fitted weights."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from engine.errors import ModelError
from engine.models import build_model, load_model, model_config, model_hash, save_model
from engine.models.repeats import (
    MISS_BUCKETS,
    N_STATES,
    RUN_BUCKETS,
    RepeatConfig,
    RepeatContinuation,
    copy_predictions,
    fit_weights,
    load_repeats,
    mix_log_probs,
    save_repeats,
)

COMP = {ord("A"): ord("T"), ord("C"): ord("G"), ord("G"): ord("C"), ord("T"): ord("A")}


def random_dna(n: int, seed: int = 0) -> np.ndarray:
    return np.frombuffer(b"ACGT", np.uint8)[np.random.default_rng(seed).integers(0, 4, n)]


def revcomp(seq: np.ndarray) -> np.ndarray:
    return np.array([COMP[b] for b in seq[::-1]], dtype=np.uint8)


def test_a_forward_copy_is_guessed_once_k_bytes_of_it_are_seen():
    x = random_dna(2000)
    data = np.concatenate([x, x])
    pred, _ = copy_predictions(data, RepeatConfig(k=20))
    assert len(pred) == len(data) + 1
    assert (pred[: 2000 + 20] == -1).all()  # random 20-mers never recur by chance
    assert (pred[2020:4000] == data[2020:]).all()
    assert pred[4000] == x[0]  # past the end: what followed the copy's source


def test_a_reverse_complement_copy_is_guessed_only_when_enabled():
    x = random_dna(2000, seed=1)
    data = np.concatenate([x, revcomp(x)])
    pred, _ = copy_predictions(data, RepeatConfig(k=20))
    assert (pred[2020:4000] == data[2020:]).all()
    off, _ = copy_predictions(data, RepeatConfig(k=20, reverse_complement=False))
    assert (off == -1).all()


def test_guesses_only_use_earlier_bytes():
    x = random_dna(1500, seed=2)
    data = np.concatenate([x, x[200:900], random_dna(300, seed=3), x[:600]])
    pred, state = copy_predictions(data, RepeatConfig(k=12))
    for t in (1500, 1800, 2300, 2500, 2900):
        changed = data.copy()
        changed[t:] = random_dna(len(data) - t, seed=t)
        p2, s2 = copy_predictions(changed, RepeatConfig(k=12))
        assert (p2[: t + 1] == pred[: t + 1]).all()
        assert (s2[: t + 1] == state[: t + 1]).all()


def test_an_alignment_survives_a_substitution_and_is_dropped_when_the_copy_ends():
    x = random_dna(3000, seed=4)
    copy = x[:1000].copy()
    copy[500] = COMP[copy[500]]  # one substitution
    data = np.concatenate([x, copy, random_dna(500, seed=5)])
    pred, state = copy_predictions(data, RepeatConfig(k=20, max_misses=8))
    t = 3000 + 500
    assert pred[t] == x[500] != data[t]  # the miss
    assert (pred[t + 1 : 4000] == data[t + 1 : 4000]).all()  # and on it goes
    runs = (state[t + 1 : 4000] // MISS_BUCKETS) % RUN_BUCKETS
    assert runs[0] == 0 and runs[-1] == RUN_BUCKETS - 1  # the run restarts, then saturates
    assert (state[t + 1 : t + 17] % MISS_BUCKETS == 1).all()  # one miss among the last 16
    assert (pred[4000 + 40 :] == -1).all()  # random bytes after the copy: the expert falls silent


def test_the_strand_is_part_of_the_state():
    x = random_dna(1000, seed=6)
    _, s_fwd = copy_predictions(np.concatenate([x, x]), RepeatConfig(k=16))
    _, s_rev = copy_predictions(np.concatenate([x, revcomp(x)]), RepeatConfig(k=16))
    half = N_STATES // 2
    assert (s_fwd[1100:2000] < half).all()
    assert (s_rev[1100:2000] >= half).all()


def test_mixture_is_r1_and_normalised():
    torch.manual_seed(0)
    logp = torch.log_softmax(torch.randn(3, 5, 7, dtype=torch.float64), -1)
    pred = torch.tensor([[2, -1, 0, 6, 6], [1, 1, 1, -1, 3], [-1, -1, -1, -1, -1]])
    weight = torch.where(pred >= 0, torch.rand(3, 5, dtype=torch.float64), 0.0)
    mixed = mix_log_probs(logp, pred, weight)
    p = logp.exp().numpy()
    expected = p * (1 - weight.numpy())[..., None]
    for i, j in np.argwhere(pred.numpy() >= 0):
        expected[i, j, pred[i, j]] += weight[i, j].item()
    assert np.allclose(mixed.exp().numpy(), expected, atol=1e-12)
    assert torch.allclose(mixed.logsumexp(-1), torch.zeros(3, 5, dtype=torch.float64))
    assert torch.allclose(mixed[2], logp[2])  # no guess: the model unchanged


def test_fitted_weight_matches_the_closed_form_optimum():
    # With the model at p = 1/4 on the true byte and the expert right with rate q, the
    # likelihood q log((1-w)/4 + w) + (1-q) log((1-w)/4) peaks at w = (q - 1/4) / (3/4).
    rng = np.random.default_rng(0)
    n = 200_000
    state = rng.integers(0, 2, n)  # two states with different accuracies
    q = np.where(state == 0, 0.9, 0.5)
    hit = rng.random(n) < q
    w = fit_weights(np.full(n, 0.25), hit, state)
    for s in (0, 1):
        q_seen = hit[state == s].mean()
        assert w[s] == pytest.approx((q_seen - 0.25) / 0.75, abs=1e-6)
    assert (w[2:] == 0).all()  # states never seen: no weight


def test_a_useless_expert_gets_no_weight():
    rng = np.random.default_rng(1)
    p = rng.uniform(0.2, 0.9, 10_000)
    w = fit_weights(p, np.zeros(10_000, bool), np.zeros(10_000, np.int64))
    assert w[0] == pytest.approx(0.0, abs=1e-9)


def test_saved_expert_loads_with_the_model_and_changes_its_hash(tmp_path):
    model = build_model(model_config("hyena", "tiny", d_model=16, n_layers=1, max_len=32))
    save_model(model, tmp_path)
    assert load_model(tmp_path).repeats is None
    before = model_hash(tmp_path)
    weights = list(np.linspace(0, 0.9, N_STATES))
    save_repeats(RepeatConfig(k=12, weights=weights), tmp_path)
    loaded = load_model(tmp_path)
    assert loaded.repeats.k == 12
    assert loaded.repeats.weights == pytest.approx(weights)
    assert model_hash(tmp_path) != before


@pytest.mark.parametrize("text, message", [
    ("{not json", "not JSON"),
    ('{"k": 20, "colour": 3}', "not a repeat expert config"),
    ('{"k": 20, "weights": [0.5, 0.5]}', "expected 256"),
])
def test_a_broken_repeats_file_is_a_clear_model_error(tmp_path, text, message):
    (tmp_path / "repeats.json").write_text(text)
    with pytest.raises(ModelError, match=message) as info:
        load_repeats(tmp_path)
    assert "repeats.json" in str(info.value)


def test_config_round_trips_through_json(tmp_path):
    config = RepeatConfig(k=24, reverse_complement=False, max_misses=5,
                          weights=[0.25] * N_STATES)
    path = save_repeats(config, tmp_path)
    assert json.loads(path.read_text())["k"] == 24
    assert load_repeats(tmp_path) == config


def test_guesses_over_a_prefix_equal_the_whole_records_when_told_its_length():
    x = random_dna(3000, seed=7)
    data = np.concatenate([x[:800], x[:900], random_dna(20_000, seed=8), x])
    whole, whole_state = copy_predictions(data, RepeatConfig(k=12))
    part, part_state = copy_predictions(data[:2000], RepeatConfig(k=12), len(data))
    assert (part == whole[:2001]).all() and (part_state == whole_state[:2001]).all()
    assert (part[812:1600] >= 0).all()  # the copy inside the prefix is followed


def test_mixing_keeps_very_small_probabilities_exact():
    logp = torch.log_softmax(torch.tensor([[0.0, -120.0, -5.0, 3.0]], dtype=torch.float32), -1)
    mixed = mix_log_probs(logp, torch.tensor([3]), torch.tensor([0.75]))
    expected = logp[0, 1].item() + np.log(0.25)  # about -123: below float32's exp range
    assert mixed[0, 1].item() == pytest.approx(expected, rel=1e-6)


def test_a_continuation_guesses_each_variant_as_a_pass_over_the_changed_record():
    # a window [3000, 3400) inside a forward copy and a reverse-complement copy of earlier
    # bytes; each variant changes one base (or, the last one, many); the expert resumed at the
    # window must guess as a fresh pass over the record with that variant in place
    x = random_dna(1500, seed=11)
    data = np.concatenate([x, random_dna(1000, seed=12), x[:700], revcomp(x[800:1400]),
                           random_dna(2000, seed=13)])
    start, n, config = 3000, 400, RepeatConfig(k=12)
    window = data[start:start + n]
    rng = np.random.default_rng(14)
    variants = np.repeat(window[None], 9, axis=0)
    for row, i in enumerate(rng.choice(n, 8, replace=False)):
        variants[row, i] = np.frombuffer(b"ACGT", np.uint8)[(b"ACGT".index(window[i]) + 1) % 4]
    variants[8] = random_dna(n, seed=15)
    continuation = RepeatContinuation(data[:start + n], start, config, len(data))
    pred, state = continuation.guesses(variants)
    for row in range(len(variants)):
        changed = data.copy()
        changed[start:start + n] = variants[row]
        want, want_state = copy_predictions(changed[:start + n], config, len(data))
        assert (pred[row] == want[start:]).all() and (state[row] == want_state[start:]).all()
    assert (pred[:8] >= 0).mean() > 0.5  # the copies were followed through the window
    again, _ = continuation.guesses(window)  # the table and registers were put back
    reference, _ = copy_predictions(data[:start + n], config, len(data))
    assert (again[0] == reference[start:]).all()
