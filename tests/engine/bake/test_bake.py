"""Baked layers against the equations, baked folders on disk, and `bytescope bake`."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors import safe_open
from torch import nn

from engine.bake.convert import bake, bake_folder, folder_size
from engine.cli import main
from engine.errors import ModelError
from engine.models import build_model, load_model, model_config, save_model
from engine.models.quantized import (
    Int8Linear,
    TernaryLinear,
    available,
    bakeable_linears,
)


def q2_numpy(x: np.ndarray) -> np.ndarray:
    """(Q2) written out in NumPy: per-token absmax int8, dequantized."""
    s = 127.0 / np.maximum(np.abs(x).max(axis=-1, keepdims=True), 1e-5)
    return np.clip(np.rint(x * s), -128, 127) / s


def reference(layer, x: torch.Tensor, linear: nn.Linear, to: str) -> np.ndarray:
    """The layer's output by the equations, from the fp32 layer it was baked from."""
    w = linear.weight.detach().double().numpy()
    if to == "int8":  # (Q3)
        step = np.maximum(np.abs(w).max(axis=1, keepdims=True), 1e-5) / 127
        w_deq = np.clip(np.rint(w / step), -127, 127) * step
    else:  # (Q1)
        gamma = max(np.abs(w).mean(), 1e-5)
        w_deq = np.clip(np.rint(w / gamma), -1, 1) * gamma
    return q2_numpy(x.double().numpy()) @ w_deq.T + linear.bias.detach().double().numpy()


KERNELS = [k for k in ("float", "int_mm") if available(k)]


@pytest.mark.parametrize("to", ["int8", "ternary"])
@pytest.mark.parametrize("kernel", KERNELS)
def test_a_baked_layer_computes_the_equations(to, kernel):
    torch.manual_seed(0)
    linear = nn.Linear(96, 40)
    x = torch.randn(3, 17, 96) * 2  # 51 rows: torch._int_mm's path
    cls = Int8Linear if to == "int8" else TernaryLinear
    layer = cls.from_linear(linear, kernel)
    np.testing.assert_allclose(layer(x).double().numpy(), reference(layer, x, linear, to),
                               atol=2e-4, rtol=1e-4)


@pytest.mark.skipif(not available("ao"), reason="this torch has no torch.ao quantized linear")
@pytest.mark.parametrize("to", ["int8", "ternary"])
def test_torch_ao_kernel_is_close_to_the_equations(to):
    # torch.ao quantizes activations per tensor (uint8, zero point), not per token: close, not
    # equal; the same integer weights
    torch.manual_seed(1)
    linear = nn.Linear(128, 64)
    x = torch.randn(4, 32, 128)
    cls = Int8Linear if to == "int8" else TernaryLinear
    ao, exact = cls.from_linear(linear, "ao"), cls.from_linear(linear, "float")
    y, expected = ao(x), exact(x)
    spread = (expected.max() - expected.min()).item()
    assert (y - expected).abs().max().item() < 0.03 * spread
    assert torch.equal(ao.ints(), exact.ints())


def tiny(arch: str = "hyena") -> nn.Module:
    torch.manual_seed(0)
    return build_model(model_config(arch, "tiny", d_model=32, n_layers=2, max_len=128)).eval()


def test_a_bake_replaces_projections_and_mlps_not_filters_embedding_or_norms():
    model = tiny()
    names = bakeable_linears(model)
    assert names and all(n.split(".")[-1] in {"in_proj", "out_proj", "fc1", "fc2"} for n in names)
    baked = bake(model, "ternary")
    kinds = {type(m) for n, m in baked.named_modules() if "filter" in n}
    assert TernaryLinear not in kinds and nn.Linear in kinds  # the implicit filter's MLP
    assert isinstance(baked.embed, nn.Embedding) and isinstance(baked.ln_f, nn.LayerNorm)
    assert all(isinstance(baked.get_submodule(n), TernaryLinear) for n in names)
    assert all(type(model.get_submodule(n)) is nn.Linear for n in names)  # a copy was baked


@pytest.mark.skipif("int_mm" not in KERNELS, reason="torch._int_mm does not run here")
@pytest.mark.parametrize("to", ["int8", "ternary"])
def test_integer_and_float_kernels_give_one_models_logits(to):
    model, idx = tiny(), torch.randint(0, 4, (2, 100))
    with torch.inference_mode():
        exact = bake(model, to, kernel="int_mm")(idx)
        floats = bake(model, to, kernel="float")(idx)
    # The same equations: integer products summed in int32 or float32 agree exactly, but a
    # later layer's input can differ in the last float bit and round one activation to the
    # next int8 code (seen in 0.3% of the logits on one CI run), which moves a logit by about
    # a code's step, not more.
    diff = (exact - floats).abs()
    assert (diff <= 1e-4).float().mean() > 0.98
    assert diff.max() < 0.01 * (floats.max() - floats.min())


@pytest.mark.parametrize("to, packing, per_byte", [("ternary", "2bit", 4),
                                                   ("ternary", "trits", 5), ("int8", None, 1)])
def test_a_baked_folder_loads_with_its_packed_tensors_and_the_same_logits(tmp_path, to,
                                                                         packing, per_byte):
    source = save_model(tiny(), tmp_path / "fp32")
    options = {"packing": packing} if packing else {}
    baked = bake_folder(source, tmp_path / "baked", to, **options)
    loaded = load_model(tmp_path / "baked")
    assert loaded.bake == baked.bake
    idx = torch.randint(0, 4, (1, 90))
    with torch.inference_mode():
        torch.testing.assert_close(loaded(idx), baked(idx), atol=0, rtol=0)
    name = baked.bake["layers"][0]
    key = f"{name}.codes" if to == "ternary" else f"{name}.weight_q"
    n = baked.get_submodule(name).ints().numel()
    with safe_open(str(tmp_path / "baked" / "model.safetensors"), framework="pt") as f:
        stored = f.get_slice(key)
        assert stored.get_dtype() == ("U8" if to == "ternary" else "I8")
        assert int(np.prod(stored.get_shape())) == -(-n // per_byte)
        assert f.metadata()["format"] == "bytescope-baked"
    size = folder_size(tmp_path / "baked", loaded)
    fp32 = folder_size(source)
    assert fp32.body / size.body >= (15 if per_byte == 4 else 19 if per_byte == 5 else 3.5)


def test_baking_a_baked_model_or_a_broken_bake_json_is_refused_by_name(tmp_path):
    source = save_model(tiny(), tmp_path / "fp32")
    bake_folder(source, tmp_path / "baked", "int8")
    with pytest.raises(ModelError, match="baked already"):
        bake(load_model(tmp_path / "baked"), "ternary")
    spec = tmp_path / "baked" / "bake.json"
    spec.write_text(json.dumps(json.loads(spec.read_text()) | {"to": "int4"}))
    with pytest.raises(ModelError, match=r"bake\.json: 'to' must be one of int8, ternary"):
        load_model(tmp_path / "baked")
    with pytest.raises(ModelError, match="the model folder itself"):
        bake_folder(source, source, "int8")


def test_bake_cli_reports_sizes_and_the_baked_folder_scores(tmp_path, lambda_path, capsys):
    source = save_model(tiny(), tmp_path / "fp32")
    out = tmp_path / "t"
    assert main(["bake", str(source), "--to", "ternary", "--out", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["to"] == "ternary" and report["packing"] == "2bit"
    assert report["fp32"]["body_bytes"] / report["baked"]["body_bytes"] >= 15
    assert main(["score", str(lambda_path), "--region", "0-2000", "--model", str(out),
                 "--no-cache", "--json"]) == 0
    scored = json.loads(capsys.readouterr().out)
    assert 0 < scored["bits_per_byte"] < 8
    assert main(["bake", str(source), "--to", "int8", "--out", str(source)]) == 2
    assert "the model folder itself" in capsys.readouterr().err


def test_train_init_from_a_baked_folder_starts_from_its_dequantized_weights(tmp_path):
    from engine.train.trainer import _load_initial_weights

    source = save_model(tiny(), tmp_path / "fp32")
    baked = bake_folder(source, tmp_path / "baked", "ternary")
    fresh = tiny()
    torch.manual_seed(5)
    fresh = build_model(fresh.config)
    _load_initial_weights(fresh, str(tmp_path / "baked"))
    name = baked.bake["layers"][0]
    torch.testing.assert_close(fresh.get_submodule(name).weight,
                               baked.get_submodule(name).dequantized_weight())
    torch.testing.assert_close(fresh.embed.weight, baked.embed.weight)


@pytest.mark.parametrize("to", ["int8", "ternary"])
def test_an_int8_embedding_is_stored_as_int8_rows_and_loads_to_the_same_logits(tmp_path, to):
    model = tiny()
    source = save_model(model, tmp_path / "fp32")
    plain = bake_folder(source, tmp_path / "plain", to)
    baked = bake_folder(source, tmp_path / "i8e", to, embedding="int8")
    assert baked.bake["embeddings"] == ["embed"]
    # (Q3) per row, by hand: each row's largest |w| is 127 steps of its scale
    w = model.embed.weight.detach().double().numpy()
    step = np.maximum(np.abs(w).max(axis=1, keepdims=True), 1e-5) / 127
    np.testing.assert_allclose(baked.embed.weight.detach().numpy(),
                               np.clip(np.rint(w / step), -127, 127) * step, atol=1e-6)
    with safe_open(str(tmp_path / "i8e" / "model.safetensors"), framework="pt") as f:
        assert "embed.weight" not in f.keys()
        assert f.get_slice("embed.weight_q").get_dtype() == "I8"
    loaded = load_model(tmp_path / "i8e")
    assert torch.equal(loaded.embed.weight, baked.embed.weight)  # exact round trip
    idx = torch.randint(0, 4, (2, 64))
    with torch.inference_mode():
        torch.testing.assert_close(loaded(idx), baked(idx))
        # the tied head multiplies by the int8 table too: logits move, a little
        moved = (loaded(idx) - plain(idx)).abs().max().item()
    assert 0 < moved < 0.05
    assert folder_size(tmp_path / "i8e").remainder < folder_size(tmp_path / "plain").remainder
    # saved again from the loaded model: the same tensors
    from safetensors.torch import load_file

    save_model(loaded, tmp_path / "again")
    first, again = (load_file(str(tmp_path / d / "model.safetensors")) for d in ("i8e", "again"))
    assert first.keys() == again.keys()
    assert all(torch.equal(first[k], again[k]) for k in first)
