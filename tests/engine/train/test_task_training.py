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


def test_predict_writes_probabilities_segments_and_a_bedgraph(tmp_path, capsys):
    import h5py

    from engine.analysis.predict import call_segments, tiles

    genome = write_gff3(tmp_path / "small.gff3")
    cfg = TrainConfig(files=[str(genome)], steps=4, seq_len=128, batch_size=4, eval_every=4,
                      checkpoint_every=4, model=TINY, task={"task": "per-base"})
    Trainer(cfg, tmp_path / "run").run()
    run = str(tmp_path / "run")
    h5 = tmp_path / "p.h5"
    assert main(["predict", str(genome), "--model", run, "--out", str(h5), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    record = summary["records"][0]
    assert record["end"] - record["start"] == 3000
    with h5py.File(h5) as f:
        probs = f[f"records/{record['id']}/probabilities"][:]
        assert list(f.attrs["classes"]) == ["intergenic", "CDS", "tRNA", "rRNA"]
    assert probs.shape == (3000, 4)
    np.testing.assert_allclose(probs.sum(1), 1, atol=1e-5)
    assert sum(record["bases_per_class"].values()) == 3000
    # the same stretch alone: each base answered by a window with context on both sides
    assert main(["predict", str(genome), "--model", run, "--record", record["id"],
                 "--region", "1000-1500", "--out", str(tmp_path / "part.h5")]) == 0
    with h5py.File(tmp_path / "part.h5") as f:
        part = f[f"records/{record['id']}/probabilities"][:]
    assert part.shape == (500, 4)
    bed = tmp_path / "calls.bed"
    assert main(["predict", str(genome), "--model", run, "--out", str(bed)]) == 0
    lines = [line.split("\t") for line in bed.read_text().splitlines()]
    expected = call_segments(probs)
    assert len(lines) == len(expected)
    assert all(int(a[1]) == s.start and int(a[2]) == s.end
               for a, s in zip(lines, expected, strict=True))
    # segments by hand: the run of class 1 over bases 1-2, its mean probability 0.75
    hand = np.array([[0.9, 0.1], [0.2, 0.8], [0.3, 0.7], [0.6, 0.4]])
    (only,) = call_segments(hand, offset=100)
    assert (only.start, only.end, only.label) == (101, 103, 1)
    assert only.score == pytest.approx(0.75)
    graph = tmp_path / "cds.bedgraph"
    assert main(["predict", str(genome), "--model", run, "--class", "CDS", "--out",
                 str(graph)]) == 0
    rows = graph.read_text().splitlines()[1:]
    assert int(rows[-1].split("\t")[2]) == 3000
    assert main(["predict", str(genome), "--model", run, "--class", "exon"]) == 2
    assert "exon" in capsys.readouterr().err
    # windows tile every base exactly once
    starts, a, b = tiles(1000, 128, 32)
    assert a[0] == 0 and b[-1] == 1000 and np.all(a[1:] == b[:-1])
    assert np.all(a - starts >= 0) and np.all(b - starts <= 128)
