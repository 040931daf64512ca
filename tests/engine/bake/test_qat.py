"""Quantization-aware fine-tuning toward ternary: the layer, the loss, the schedule, and a run
whose baked model still sees the motifs its teacher learned."""

from __future__ import annotations

import json
from itertools import pairwise

import numpy as np
import pytest
import torch
from torch import nn

from engine.bake.convert import bake_folder
from engine.bake.qat import qat_train_config
from engine.cli import main
from engine.io import open_sequences
from engine.models import build_model, load_model, model_config, save_model
from engine.models.defaults import resolve_model_path
from engine.models.quantized import QATLinear, TernaryLinear, qat_linears
from engine.scoring import score
from engine.train import Trainer
from engine.train.config import TrainConfig
from engine.train.trainer import distillation_kl, lr_at


def test_a_qat_layer_is_the_linear_at_blend_0_and_the_ternary_layer_at_blend_1():
    torch.manual_seed(0)
    linear = nn.Linear(48, 24)
    x = torch.randn(5, 48)
    layer = QATLinear.wrap(linear)
    assert layer.weight is linear.weight  # the same parameters
    layer.blend = 0.0
    torch.testing.assert_close(layer(x), linear(x))
    layer.blend = 1.0
    torch.testing.assert_close(layer(x), TernaryLinear.from_linear(linear, "float")(x),
                               atol=1e-5, rtol=1e-5)
    layer(x).sum().backward()  # the straight-through estimator: gradients reach the latents
    assert linear.weight.grad is not None and linear.weight.grad.abs().sum() > 0


def test_qat_layers_keep_the_parameter_names_so_checkpoints_load_either_way():
    model = build_model(model_config("hyena", "tiny", d_model=16, n_layers=1, max_len=64))
    names = set(model.state_dict())
    layers = qat_linears(model)
    assert layers and set(model.state_dict()) == names


def test_distillation_is_t_squared_kl_over_kept_positions():
    torch.manual_seed(1)
    s, t = torch.randn(6, 5), torch.randn(6, 5)
    keep = torch.tensor([True, True, False, True, True, True])
    p = torch.softmax(t / 2, -1).numpy()
    q = torch.softmax(s / 2, -1).numpy()
    expected = 4 * (p * np.log(p / q)).sum(-1)[keep.numpy()].mean()
    assert distillation_kl(s, t, keep, 2.0).item() == pytest.approx(expected, rel=1e-5)
    assert distillation_kl(t, t, keep).item() == pytest.approx(0, abs=1e-6)


def test_the_qat_schedule_holds_the_peak_then_restarts_lower_and_decays():
    cfg = TrainConfig(files=["x"], steps=100, lr=1e-3, warmup_steps=10, min_lr_ratio=0.1,
                      init_from="m", qat={"stage2": 0.5, "stage2_lr": 0.6})
    lrs = [lr_at(step, cfg) for step in range(100)]
    assert lrs[9] == pytest.approx(1e-3) and lrs[10] == lrs[49] == pytest.approx(1e-3)
    assert lrs[50] == pytest.approx(6e-4) and lrs[99] == pytest.approx(1e-4, rel=0.05)
    assert all(a >= b for a, b in pairwise(lrs[50:]))


PLANT = "ACGTTGCATGCAAGTC"  # 16 bases planted every 64 or so


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """A random genome with one motif planted hundreds of times, and a tiny model that has
    learned it (the motif's later bases become near certain)."""
    folder = tmp_path_factory.mktemp("planted")
    rng = np.random.default_rng(0)
    seq = rng.choice(list("ACGT"), 40_000)
    starts = np.arange(50, 40_000 - 20, 64) + rng.integers(0, 8, len(np.arange(50, 39_980, 64)))
    for s in starts:
        seq[s:s + len(PLANT)] = list(PLANT)
    path = folder / "planted.fa"
    path.write_text(">planted\n" + "".join(seq) + "\n")
    cfg = TrainConfig(files=[str(path)], preset="tiny", steps=300, seq_len=256, batch_size=8,
                      lr=5e-3, eval_every=300, checkpoint_every=300, log_every=50, threads=2,
                      model={"d_model": 32, "n_layers": 2})
    summary = Trainer(cfg, folder / "run").run()
    return path, starts, summary["best_checkpoint"] or summary["last_checkpoint"]


def motif_gap(model_dir, path, starts) -> float:
    """Mean entropy (nats) away from the motif minus at its last 10 bases."""
    record = open_sequences(path)["planted"]
    h = score(load_model(model_dir), record, repeats=False).entropy
    inside = np.zeros(len(h), bool)
    for s in starts:
        inside[s + 6:s + len(PLANT)] = True
    outside = np.ones(len(h), bool)
    for s in starts:
        outside[max(0, s - 4):s + len(PLANT) + 4] = False
    return float(h[outside].mean() - h[inside].mean())


@pytest.mark.slow  # trains a model (13 s), then fine-tunes it
def test_a_ternary_fine_tune_still_sees_the_planted_motifs(planted, tmp_path):
    path, starts, teacher = planted
    assert motif_gap(teacher, path, starts) > 0.5  # the fp32 model learned them
    cfg = qat_train_config(teacher, [str(path)], steps=60, batch_size=8, lr=2e-3,
                           qat={"blend_steps": 20}, eval_every=60, checkpoint_every=60,
                           log_every=20, threads=2)
    summary = Trainer(cfg, tmp_path / "qat").run()
    baked = tmp_path / "baked"
    bake_folder(summary["best_checkpoint"] or summary["last_checkpoint"], baked, "ternary",
                method="qat")
    assert isinstance(load_model(baked).blocks[0].mlp.fc1, TernaryLinear)
    assert motif_gap(baked, path, starts) > 0.5


def test_bake_cli_fine_tunes_then_bakes_and_keeps_the_repeat_expert(lambda_path, tmp_path,
                                                                   capsys):
    path = lambda_path
    torch.manual_seed(0)
    folder = save_model(build_model(model_config("hyena", "tiny", d_model=16, n_layers=1,
                                                 max_len=128)), tmp_path / "model")
    (folder / "repeats.json").write_text((resolve_model_path("fast") / "repeats.json").read_text())
    out = tmp_path / "t"
    assert main(["bake", str(folder), "--to", "ternary", "--method", "qat", "--data",
                 str(path), "--steps", "6", "--batch-size", "2", "--blend-steps", "3",
                 "--out", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["method"] == "qat" and report["run"]["steps"] == 6
    assert report["run"]["run_dir"] == str(tmp_path / "t.run")
    assert (tmp_path / "t.run" / "metrics.h5").exists()
    assert (out / "repeats.json").read_text() == (folder / "repeats.json").read_text()
    assert load_model(out).repeats is not None
    assert main(["bake", str(folder), "--to", "int8", "--method", "qat", "--data", str(path),
                 "--out", str(tmp_path / "x")]) == 2
    assert "int8 needs no fine-tuning" in capsys.readouterr().err
    assert main(["bake", str(folder), "--to", "ternary", "--method", "qat",
                 "--out", str(tmp_path / "x")]) == 2
    assert "needs --data" in capsys.readouterr().err
