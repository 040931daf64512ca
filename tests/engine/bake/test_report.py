"""The bake report: boundary F1, the held-out span, and `bytescope bake --evaluate`."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from engine.bake.report import boundary_f1, held_out_span
from engine.cli import main
from engine.models import build_model, model_config, save_model


def test_boundary_f1_counts_starts_within_one_base():
    a = np.array([0, 10, 20, 30])
    assert boundary_f1(a, a) == 1.0
    # 11 is within 1 of 10, 22 is not within 1 of anything: precision 3/4, recall 3/4
    b = np.array([0, 11, 22, 30])
    assert boundary_f1(a, b) == pytest.approx(0.75)
    # b finds two of a's four starts (recall 1/2) and both its starts hit (precision 1)
    assert boundary_f1(a, np.array([0, 30])) == pytest.approx(2 * 1 * 0.5 / 1.5)
    assert boundary_f1(a, np.array([], np.int64)) == 0.0
    assert boundary_f1(np.array([5]), np.array([6])) == 1.0


@pytest.mark.parametrize("length", [10, 11, 999, 5_333_942])
def test_the_held_out_span_is_what_the_trainer_leaves_out(length):
    start, end = held_out_span(length)
    assert end == length
    assert start == round(length * 0.9)  # engine.train.data's cut


def test_bake_evaluate_reports_fp32_beside_the_bake(tmp_path, lambda_path, capsys):
    torch.manual_seed(0)
    model = build_model(model_config("hyena", "tiny", d_model=32, n_layers=2, max_len=128))
    source = save_model(model.eval(), tmp_path / "fp32")
    out = tmp_path / "i8"
    assert main(["bake", str(source), "--to", "int8", "--out", str(out), "--evaluate",
                 str(lambda_path), "--speed-bytes", "3000", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    fp32, baked = report["report"]
    assert (fp32["label"], baked["label"]) == ("fp32", "int8 ptq")
    assert fp32["f1"] == 1.0 and 0 <= baked["f1"] <= 1
    # an untrained byte model is near log2(256) = 8 bits a base; int8 moves it little
    assert 6 < fp32["bits_per_base"] < 9
    assert abs(baked["bits_per_base"] - fp32["bits_per_base"]) < 0.05
    assert fp32["bits_per_base_expert"] is None  # this model has no repeat expert
    assert baked["bytes_per_s"] > 0 and baked["rss_mb"] > 10
    assert baked["size"]["body_bytes"] < fp32["size"]["body_bytes"] / 3
    assert report["ratios"][0]["bits_delta"] == pytest.approx(
        baked["bits_per_base"] - fp32["bits_per_base"])
    assert not math.isnan(report["ratios"][0]["speed"])


def test_bake_evaluate_names_a_missing_file_before_baking(tmp_path, capsys):
    torch.manual_seed(0)
    model = build_model(model_config("hyena", "tiny", d_model=32, n_layers=2, max_len=128))
    source = save_model(model.eval(), tmp_path / "fp32")
    out = tmp_path / "i8"
    assert main(["bake", str(source), "--to", "int8", "--out", str(out), "--evaluate",
                 str(tmp_path / "nope.fa")]) == 2
    assert "nope.fa" in capsys.readouterr().err
    assert not out.exists()
