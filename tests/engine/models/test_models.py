"""The byte models: causality, the FFT convolution, the Hyena matrix, checkpoints, sizes."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from engine.errors import ModelError
from engine.models import (
    HyenaConfig,
    HyenaLM,
    build_model,
    load_model,
    model_config,
    model_hash,
    save_model,
)
from engine.models.attention import sliding_window_attention
from engine.models.hyena import fft_causal_conv, hyena_matrix, short_causal_conv

ARCHS = ["hyena", "attention"]


def tiny(arch: str, **kw):
    torch.manual_seed(0)
    cfg = model_config(arch, "tiny", d_model=32, n_layers=2, max_len=64, **kw)
    if arch == "attention":
        cfg.n_heads, cfg.window = 2, 16
    return build_model(cfg).double().eval()


@pytest.mark.parametrize("arch", ARCHS)
def test_changing_byte_t_never_changes_a_logit_before_t(arch):
    model = tiny(arch)
    x = torch.randint(0, 256, (2, 64))
    base = model(x)
    for t in (0, 5, 31, 63):
        y = x.clone()
        y[:, t] = (y[:, t] + 17) % 256
        out = model(y)
        assert torch.allclose(out[:, :t], base[:, :t], atol=1e-12, rtol=0), t
        assert not torch.allclose(out[:, t], base[:, t])  # the byte itself does matter


def test_fft_convolution_equals_direct_causal_convolution():
    g = torch.Generator().manual_seed(1)
    u = torch.randn(3, 50, 4, generator=g, dtype=torch.float64)  # (B, L, C)
    k = torch.randn(50, 4, generator=g, dtype=torch.float64)  # (L, C)
    d = torch.randn(4, generator=g, dtype=torch.float64)
    un, kn, dn = u.numpy(), k.numpy(), d.numpy()
    direct = np.zeros_like(un)
    for t in range(50):
        for s in range(t + 1):
            direct[:, t] += kn[t - s] * un[:, s]
    direct += un * dn
    assert np.allclose(fft_causal_conv(u, k, d).numpy(), direct, atol=1e-9)


def test_short_convolution_equals_a_causally_padded_conv1d():
    conv = torch.nn.Conv1d(6, 6, kernel_size=3, groups=6).double()
    z = torch.randn(2, 20, 6, dtype=torch.float64)  # (B, L, C)
    reference = conv(torch.nn.functional.pad(z.transpose(1, 2), (2, 0))).transpose(1, 2)
    assert torch.allclose(short_causal_conv(z, conv), reference, atol=1e-12)


def test_hyena_matrix_times_v_equals_the_fft_path():
    model = tiny("hyena")
    op = model.blocks[0].mixer
    u = torch.randn(1, 40, 32, dtype=torch.float64)
    x0, x1, v = op.projections(u)  # (1, L, d) each
    h = op.filter(40)  # (d, L)
    fft = x0 * fft_causal_conv(v * x1, h.T, op.filter.bias)  # (1, L, d), before out_proj
    for c in (0, 7, 31):
        H = hyena_matrix(op, u, c)
        assert torch.allclose(torch.triu(H, 1), torch.zeros_like(H))  # causal: lower-triangular
        assert torch.allclose(H @ v[0, :, c], fft[0, :, c], atol=1e-10)


def test_sliding_window_attention_equals_masked_full_attention():
    g = torch.Generator().manual_seed(2)
    q, k, v = (torch.randn(2, 3, 37, 8, generator=g, dtype=torch.float64) for _ in range(3))
    for window in (1, 5, 8, 37, 100):
        t = torch.arange(37)
        lag = t[:, None] - t[None, :]
        mask = (lag >= 0) & (lag < window)
        scores = (q @ k.transpose(-1, -2)) / 8**0.5
        expected = torch.softmax(scores.masked_fill(~mask, float("-inf")), -1) @ v
        got = sliding_window_attention(q, k, v, window)
        assert torch.allclose(got, expected, atol=1e-10), window


def test_hyenadna_tiny_parameter_count_matches_the_paper():
    # HyenaDNA tiny-1k: 2 layers, d=128, vocabulary 12 padded to 16: 436,096 parameters.
    model = HyenaLM(HyenaConfig(vocab_size=12, d_model=128, n_layers=2))
    assert model.num_params() == 436_096


@pytest.mark.parametrize(("preset", "low", "high"), [("tiny", 0.3e6, 0.8e6),
                                                      ("small", 2e6, 5e6), ("base", 8e6, 16e6)])
def test_presets_have_their_advertised_sizes(preset, low, high):
    for arch in ARCHS:
        assert low < build_model(model_config(arch, preset)).num_params() < high


@pytest.mark.parametrize("arch", ARCHS)
def test_checkpoint_round_trip_reproduces_the_logits(tmp_path, arch):
    model = tiny(arch).float()
    x = torch.randint(0, 256, (1, 64))
    save_model(model, tmp_path / "m")
    assert json.loads((tmp_path / "m" / "config.json").read_text())["arch"] == arch
    back = load_model(tmp_path / "m")
    assert torch.equal(back(x), model(x))
    assert model_hash(tmp_path / "m") == model_hash(tmp_path / "m" / "model.safetensors")


def test_inputs_longer_than_max_len_are_refused_not_truncated():
    with pytest.raises(ValueError, match="exceeds max_len"):
        tiny("hyena")(torch.zeros(1, 65, dtype=torch.long))


def test_loading_a_folder_without_weights_is_a_model_error(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ModelError, match="not a model folder"):
        load_model(tmp_path)


def test_mismatched_weights_are_a_model_error(tmp_path):
    save_model(tiny("hyena").float(), tmp_path)
    cfg = json.loads((tmp_path / "config.json").read_text())
    cfg["d_model"] = 48
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelError, match="do not fit"):
        load_model(tmp_path)
