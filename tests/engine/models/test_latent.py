"""The patch-level Hyena-BLT model: causality, attention masks, routing, memory, maps, training."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from engine.analysis.ablation import memory_ablated
from engine.analysis.capture import capture_maps, hook_points
from engine.analysis.hyena_maps import hyena_patch_map, hyena_patch_matrix, mixer_input
from engine.errors import ModelError
from engine.io.records import MemorySource, Record
from engine.models import build_model, load_model, model_config, save_model
from engine.models.hyena import fft_causal_conv
from engine.models.latent import (
    LatentConfig,
    LatentLM,
    patch_starts_from_entropies,
    router_z_loss,
    static_patch_starts,
    switch_load_balancing_loss,
)
from engine.patching import PatchConfig
from engine.scoring import score

SMALL = dict(d_local=16, d_global=32, n_heads=2, max_len=48, filter_order=16, mlp_ratio=2.0,
             local_window=8, max_patch_offset=8, hash_buckets=64, segment_len=3, memory_slots=2)
# every option on: hash n-grams, a hybrid attention block, MoE, memory, wider windows
FULL = dict(hash_ngrams=(2, 3), global_attention_layers=(1,), n_experts=4, top_k=2,
            n_memories=3, pool_window=2, decoder_window=2, memory_lb_alpha=0.01)


@pytest.fixture(autouse=True)
def one_thread():
    """Tensors here are tiny: on a busy CPU, intra-op threads only spin (measured: 100 s vs 5 s
    for this file with two cores taken by a training run)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny(**overrides) -> LatentLM:
    torch.manual_seed(0)
    return build_model(model_config("hyena-blt", "tiny", **(SMALL | overrides))).double().eval()


def entropy_like_starts(batch: int, length: int, seed: int = 0) -> torch.Tensor:
    """Irregular starts, as an entropy model's patcher gives them (mean patch ~3 bytes)."""
    entropies = np.random.default_rng(seed).gamma(2.0, 0.6, size=(batch, length))
    return torch.from_numpy(patch_starts_from_entropies(entropies, 1.5))


def tokens(batch: int, length: int, seed: int = 0) -> torch.Tensor:
    return torch.from_numpy(np.random.default_rng(seed).integers(0, 256, (batch, length)))


@pytest.mark.parametrize("overrides", [{}, FULL, FULL | {"local_mixer": "attention"}],
                         ids=["plain", "full", "full-attention"])
def test_changing_byte_t_never_changes_a_logit_before_t(overrides):
    model = tiny(**overrides)
    x, starts = tokens(2, 48), entropy_like_starts(2, 48)
    base = model(x, starts)
    for t in (0, 5, 22, 47):
        y = x.clone()
        y[:, t] = (y[:, t] + 17) % 256
        out = model(y, starts)
        assert torch.allclose(out[:, :t], base[:, :t], atol=1e-12, rtol=0), t
        assert not torch.allclose(out[:, t], base[:, t])  # the byte itself does matter


def test_pooling_attends_only_to_the_bytes_of_its_own_patch():
    model = tiny()
    starts = entropy_like_starts(2, 48)
    with capture_maps(model) as maps:
        model(tokens(2, 48), starts)
    weights = maps["attention/encoder_cross/layer0"]  # (B, H, P, L)
    ids, valid = maps["patches/ids"], maps["patches/valid"]
    own = np.arange(weights.shape[2])[None, :, None] == ids[:, None, :]  # (B, P, L)
    assert (weights * ~own[:, None]).max() == 0
    sums = weights.sum(-1)  # (B, H, P)
    valid = np.broadcast_to(valid[:, None], sums.shape)
    assert np.allclose(sums[valid], 1, atol=1e-6)
    assert (sums[~valid] == 0).all()  # padding patches (rows with fewer patches) see nothing


def test_a_wider_pooling_window_reaches_earlier_patches_only():
    model = tiny(pool_window=3)
    with capture_maps(model) as maps:
        model(tokens(1, 48), entropy_like_starts(1, 48))
    weights, ids = maps["attention/encoder_cross/layer0"][0], maps["patches/ids"][0]
    lag = np.arange(weights.shape[1])[:, None] - ids[None, :]  # (P, L)
    assert (weights[:, (lag < 0) | (lag >= 3)] == 0).all()
    assert weights[:, (lag == 2)].max() > 0


def test_decoder_attends_only_to_patches_before_its_own():
    model = tiny(decoder_window=3)
    with capture_maps(model) as maps:
        model(tokens(2, 48), entropy_like_starts(2, 48))
    weights, ids = maps["attention/decoder_cross"], maps["patches/ids"]  # (B, H, L, P+1)
    patch_of_key = np.arange(weights.shape[-1]) - 1  # key 0 is the start state (patch -1)
    lag = ids[:, :, None] - patch_of_key[None, None, :]  # (B, L, P+1)
    assert (weights * ((lag <= 0) | (lag > 3))[:, None]).max() == 0
    assert np.allclose(weights.sum(-1), 1, atol=1e-6)
    assert np.allclose(weights[0, :, ids[0] == 0, 0], 1)  # the first patch sees the start only


def test_router_probabilities_sum_to_one_and_top_k_are_the_most_probable():
    model = tiny(**FULL)
    with capture_maps(model) as maps:
        model(tokens(2, 48), entropy_like_starts(2, 48))
    for layer in (0, 1):
        probs = maps[f"routing/router_probs/layer{layer}"]  # (B, P, E)
        assert probs.shape[-1] == 4
        assert np.allclose(probs.sum(-1), 1, atol=1e-6)
        top = maps[f"routing/top_k/layer{layer}"]  # (B, P, 2)
        assert (top[..., 0] == probs.argmax(-1)).all()
        assert np.allclose(maps[f"routing/top_k_weights/layer{layer}"].sum(-1), 1)
    for name in ("memory/write_probs", "memory/read_weights"):
        assert np.allclose(maps[name].sum(-1), 1, atol=1e-6)


def test_balanced_routing_gives_load_balancing_loss_alpha():
    n_experts, alpha = 4, 0.01
    peaked = torch.full((n_experts, n_experts), 0.1) + 0.6 * torch.eye(n_experts)  # rows sum to 1
    balanced = peaked.repeat(5, 1)  # each expert is top-1 for a quarter of the tokens
    assert switch_load_balancing_loss(balanced, alpha).item() == pytest.approx(alpha)
    collapsed = peaked[[0] * 20]  # every token prefers expert 0
    assert switch_load_balancing_loss(collapsed, alpha).item() == pytest.approx(alpha * 4 * 0.7)


def test_router_z_loss_is_the_mean_squared_logsumexp():
    logits = torch.tensor([[0.0, 0.0], [1.0, 3.0]], dtype=torch.float64)
    expected = (np.log(2) ** 2 + np.log(np.e + np.e**3) ** 2) / 2
    assert router_z_loss(logits).item() == pytest.approx(expected)


def test_aux_loss_holds_the_router_losses_and_is_zero_without_experts():
    dense = tiny()
    logits, aux = dense(tokens(1, 48), return_aux=True)
    assert aux.item() == 0 and torch.equal(logits, dense(tokens(1, 48)))
    moe = tiny(n_experts=4, lb_alpha=0.5)
    _, aux = moe(tokens(1, 48), return_aux=True)
    assert aux.item() > 0.5 * 2  # two MoE layers, each at least alpha (plus z-loss)
    assert not hasattr(moe, "aux_loss")  # returned, never stashed on the module


def cross_entropy(model, x, starts=None) -> float:
    logits = model(x[:, :-1], None if starts is None else starts[:, :-1])
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), x[:, 1:].reshape(-1)).item()


def test_ablating_the_memory_read_changes_the_loss():
    model = tiny(n_memories=3)  # 48 bytes, static patches of 4, 3 patches a segment: 4 segments
    x = tokens(2, 49)
    with_memory = cross_entropy(model, x)
    with memory_ablated(model):
        without = cross_entropy(model, x)
    assert abs(with_memory - without) > 1e-7
    assert cross_entropy(model, x) == with_memory  # the read is back on


def test_the_memory_a_segment_reads_depends_only_on_earlier_segments():
    model = tiny(n_memories=3)
    x = tokens(1, 48)

    def states(inputs):
        with capture_maps(model) as maps:
            model(inputs)
        return maps["memory/states"][0]  # (S, k, m, d): what each segment reads

    base = states(x)
    assert base.shape[0] == 4
    y = x.clone()
    y[0, 16] += 1  # byte 16: patch 4, segment 1 (patches 3..5)
    changed = states(y)
    assert np.array_equal(changed[:2], base[:2])  # segments 0 and 1 read older memories
    assert not np.allclose(changed[2], base[2])  # segment 2 reads what segment 1 wrote


def test_hyena_patch_matrix_times_v_equals_the_fft_path():
    model = tiny()
    x, starts = tokens(2, 48), entropy_like_starts(2, 48)
    row = 1
    n = int(starts[row].sum())
    op = model.global_model.blocks[0].mixer
    u = mixer_input(model, x, starts, 0)[row : row + 1, :n]  # (1, P, d_g)
    x0, x1, v = op.projections(u)
    fft = x0 * fft_causal_conv(v * x1, op.filter(n).T, op.filter.bias)  # before out_proj
    matrices = [hyena_patch_matrix(model, x, starts, 0, c, row=row) for c in range(32)]
    for c, H in enumerate(matrices):
        assert H.shape == (n, n)
        assert torch.equal(torch.triu(H, 1), torch.zeros_like(H))  # patch i reads patches <= i
        assert torch.allclose(H @ v[0, :, c], fft[0, :, c], atol=1e-10)
    ys = torch.stack([H @ v[0, :, c] for c, H in enumerate(matrices)], dim=-1)  # (P, d_g)
    assert torch.allclose(op.out_proj(ys), op(u)[0], atol=1e-10)  # the operator as it runs
    mean_abs = torch.stack(matrices).abs().mean(0).numpy()
    assert np.allclose(hyena_patch_map(model, x, starts, 0, row=row, chunk=5), mean_abs)


def test_capture_changes_nothing_and_stops_when_the_block_ends():
    model = tiny(**FULL)
    x, starts = tokens(1, 48), entropy_like_starts(1, 48)
    plain = model(x, starts)
    with capture_maps(model) as maps:
        captured = model(x, starts)
    assert torch.allclose(plain, captured, atol=1e-12)  # fused and explicit attention agree
    attention = maps["attention/global/layer1"][0]  # (H, P, P)
    assert (np.triu(attention, 1) == 0).all()
    assert np.allclose(attention.sum(-1), 1)
    names = set(maps)
    maps.clear()
    model(x, starts)
    assert not maps and not any(point.hooked for point in hook_points(model).values())
    assert {"patches/starts", "memory/gates", "memory/slot_attention",
            "attention/encoder_cross/layer0", "attention/decoder_cross"} <= names


def test_checkpoint_round_trip_reproduces_the_logits(tmp_path):
    model = tiny(**FULL).float()
    x, starts = tokens(2, 48), entropy_like_starts(2, 48)
    save_model(model, tmp_path / "m")
    saved = json.loads((tmp_path / "m" / "config.json").read_text())
    assert saved["arch"] == "hyena-blt" and saved["hash_ngrams"] == [2, 3]
    back = load_model(tmp_path / "m")
    assert back.config == model.config
    assert torch.equal(back(x, starts), model(x, starts))


def test_a_short_training_run_lowers_the_loss_aux_included():
    torch.manual_seed(0)
    model = build_model(model_config("hyena-blt", "tiny", **(SMALL | FULL)))
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    rng = np.random.default_rng(0)
    losses = []
    for _ in range(60):
        motifs = rng.choice(np.frombuffer(b"ACGT", np.uint8), size=(8, 6))  # period-6 repeats
        x = torch.from_numpy(np.tile(motifs, 9)[:, :49].astype(np.int64))
        starts = entropy_like_starts(8, 48, seed=len(losses))
        logits, aux = model(x[:, :-1], starts, return_aux=True)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), x[:, 1:].reshape(-1))
        total = loss + aux
        assert aux.requires_grad
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
        losses.append(total.item())
    assert np.mean(losses[-5:]) < losses[0] - 2.5  # from ~ln 259 = 5.6 to well under 3


def test_without_patch_starts_patches_are_static_and_the_scorer_works():
    model = tiny(static_patch_size=5)
    x = tokens(2, 48)
    assert torch.equal(model(x), model(x, static_patch_starts(2, 48, 5)))
    data = bytes(np.random.default_rng(1).integers(0, 256, 100, dtype=np.uint8))
    scores = score(model, Record("r", len(data), MemorySource(data), alphabet="bytes"))
    assert len(scores) == 100 and np.isfinite(scores.entropy).all()


def test_patch_starts_from_entropies_follow_the_patcher():
    entropies = np.random.default_rng(2).gamma(2.0, 0.6, size=200)
    starts = patch_starts_from_entropies(entropies, 1.2)
    assert starts[0] and starts.dtype == bool and starts.shape == (200,)
    assert np.array_equal(starts[1:], entropies[:-1] > 1.2)
    capped = patch_starts_from_entropies(entropies, PatchConfig(threshold=1.2, max_patch_length=3))
    gaps = np.diff(np.flatnonzero(np.append(capped, True)))
    assert gaps.max() <= 3
    rows = patch_starts_from_entropies(np.stack([entropies, entropies[::-1]]), 1.2)
    assert rows.shape == (2, 200) and np.array_equal(rows[0], starts)


@pytest.mark.parametrize(("preset", "low", "high"), [("tiny", 0.5e6, 1e6), ("small", 3e6, 6e6),
                                                      ("base", 10e6, 16e6)])
def test_presets_have_sensible_sizes(preset, low, high):
    config = model_config("hyena-blt", preset)
    assert config.max_patches == config.max_len
    assert low < build_model(config).num_params() < high


def test_an_impossible_config_is_a_model_error():
    with pytest.raises(ModelError, match="top_k"):
        model_config("hyena-blt", "tiny", n_experts=2, top_k=3)
    with pytest.raises(ModelError, match="global blocks"):
        model_config("hyena-blt", "tiny", global_attention_layers=(5,))


def test_matrices_of_several_channels_equal_each_channels_matrix():
    from engine.analysis.hyena_maps import hyena_patch_matrices, hyena_patch_matrix

    torch.manual_seed(0)
    model = build_model(model_config("hyena-blt", "tiny", d_local=16, d_global=16,
                                     n_global_layers=1, max_len=64)).eval()
    idx = torch.randint(0, 256, (1, 64))
    many = hyena_patch_matrices(model, idx, None, 0, [0, 5, 9])
    for i, c in enumerate((0, 5, 9)):
        assert torch.equal(many[i], hyena_patch_matrix(model, idx, None, 0, c))


def test_optimizer_groups_leave_initial_states_norms_and_embeddings_undecayed():
    model = tiny(**FULL)
    decay, keep = model.optimizer_groups(0.1)
    assert (decay["weight_decay"], keep["weight_decay"]) == (0.1, 0.0)
    names = {id(p): name for name, p in model.named_parameters()}
    kept = {names[id(p)] for p in keep["params"]}
    decayed = {names[id(p)] for p in decay["params"]}
    assert {"global_model.memory.init", "decoder.start", "encoder.byte_embed.weight"} <= kept
    assert "pooling.in_proj.weight" in decayed and not kept & decayed
    assert sorted(map(id, decay["params"] + keep["params"])) == \
        sorted(map(id, model.parameters()))


def test_an_unknown_config_key_is_a_model_error_naming_it():
    with pytest.raises(ModelError, match="'n_expert' \\(did you mean 'n_experts'\\?\\)"):
        LatentConfig.from_dict({"d_local": 16, "n_expert": 4})
    assert LatentConfig.from_dict({"d_local": 16, "n_heads": 2}).d_local == 16
