"""Task heads through the Trainer and `bytescope train --task`: labels from annotations and
from Hyena-GLT records, metrics per evaluation, checkpoints that load, resume."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from engine.cli import main
from engine.models import build_model, model_config, save_model
from engine.models.heads import load_task_model
from engine.train import TrainConfig, Trainer, read_metrics
from tests.conftest import lambda_bases, write_gff3

TINY = {"d_model": 16, "n_layers": 1}


def test_a_per_base_run_on_annotations_logs_task_metrics_and_resumes(tmp_path):
    genome = write_gff3(tmp_path / "small.gff3")
    cfg = TrainConfig(files=[str(genome)], steps=12, seq_len=128, batch_size=4, eval_every=6,
                      checkpoint_every=6, log_every=3, model=TINY, task={"task": "per-base"})
    summary = Trainer(cfg, tmp_path / "run").run()
    assert summary["metric"] == "val_loss" and summary["step"] == 12
    evals = read_metrics(tmp_path / "run" / "metrics.h5")["eval"]
    assert list(evals["step"]) == [6, 12]
    for column in ("accuracy", "macro_f1", "mcc", "auroc", "f1_intergenic", "f1_CDS"):
        assert column in evals, column
    assert 0 <= evals["accuracy"][-1] <= 1
    confusion = json.loads((tmp_path / "run" / "confusion.json").read_text())
    assert confusion["classes"] == ["intergenic", "CDS", "tRNA", "rRNA"]
    # the validation bases are the last 10% of the record: 300 of 3,000
    assert np.sum(confusion["rows_true_columns_predicted"]) == 300
    model = load_task_model(summary["best_checkpoint"])
    assert model.config.classes == ("intergenic", "CDS", "tRNA", "rRNA")
    resumed = Trainer(TrainConfig(**{**json.loads((tmp_path / "run" / "config.json")
                                                  .read_text()), "steps": 18}),
                      tmp_path / "run", resume=True).run()
    assert resumed["step"] == 18
    assert list(read_metrics(tmp_path / "run" / "metrics.h5")["eval"]["step"]) == [6, 12, 18]


def test_a_frozen_backbone_stays_as_it_was_and_the_head_learns(tmp_path):
    genome = write_gff3(tmp_path / "small.gff3")
    torch.manual_seed(0)
    lm = build_model(model_config("hyena", "tiny", max_len=128, **TINY))
    init = save_model(lm, tmp_path / "lm")
    cfg = TrainConfig(files=[str(genome)], steps=5, seq_len=128, batch_size=4, eval_every=5,
                      checkpoint_every=5, model=TINY, init_from=str(init),
                      task={"task": "per-base", "freeze_backbone": True})
    summary = Trainer(cfg, tmp_path / "run").run()
    tuned = load_task_model(summary["last_checkpoint"])
    for name, p in lm.state_dict().items():
        assert torch.equal(p, tuned.backbone.state_dict()[name]), name


def test_train_task_sequence_from_jsonl_records_on_the_command_line(tmp_path, capsys):
    rng = np.random.default_rng(0)
    bases = lambda_bases(20_000)
    rows = []
    for i in range(60):  # class 1: a GC-rich stretch; class 0: lambda as it is
        start = int(rng.integers(0, 19_000))
        seq = bases[start:start + 96]
        label = i % 2
        if label:
            seq = "".join("G" if c in "AT" and rng.random() < 0.5 else c for c in seq)
        rows.append({"sequence": seq, "labels": label})
    records = tmp_path / "gc.jsonl"
    records.write_text("".join(json.dumps(r) + "\n" for r in rows))
    code = main(["train", "--task", "sequence", "--labels", str(records), "--out",
                 str(tmp_path / "run"), "--steps", "30", "--seq-len", "96", "--batch-size", "8",
                 "--eval-every", "15", "--model-config", json.dumps(TINY), "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    summary = json.loads(out.out)
    assert summary["metric"] == "val_loss"
    assert "macro F1" in out.err  # the progress lines name the task's figures
    model = load_task_model(summary["last_checkpoint"])
    assert model.config.task == "sequence" and model.config.classes == ("0", "1")


@pytest.mark.parametrize("argv, words", [
    (["--task", "sequence"], "labelled records"),
    (["--labels", "x.bed"], "go with --task"),
])
def test_task_options_that_do_not_fit_are_refused(tmp_path, capsys, argv, words):
    genome = write_gff3(tmp_path / "small.gff3")
    code = main(["train", str(genome), "--out", str(tmp_path / "run"), "--steps", "2",
                 "--model-config", json.dumps(TINY), *argv])
    assert code == 2
    assert words in capsys.readouterr().err
