"""``bytescope train``: the warm-up rule it shares with the window and the API, the warm-up a
run saves, and the progress line at the step a stopped run ended on."""

from __future__ import annotations

import json
import math

import pytest

from engine.cli import build_parser, main
from engine.cli.train import ProgressLine, build_config
from engine.train import TrainConfig, Trainer, lr_at
from engine.train.runs import read_log
from tests.conftest import LAMBDA

TINY = ["--seq-len", "64", "--batch-size", "2", "--eval-every", "1000", "--threads", "1",
        "--model-config", '{"d_model": 16, "n_layers": 1}']


def cli_config(tmp_path, *flags: str) -> TrainConfig:
    args = build_parser().parse_args(["train", str(LAMBDA), "--out", str(tmp_path / "run"),
                                      *flags])
    return build_config(args)[0]


def test_the_cli_and_the_api_give_the_same_lr_schedule(tmp_path):
    cli = cli_config(tmp_path, "--steps", "30", "--lr", "0.01")
    api = TrainConfig(files=[str(LAMBDA)], steps=30, lr=0.01)
    assert [lr_at(s, cli) for s in range(31)] == [lr_at(s, api) for s in range(31)]
    # warm-up 30 // 10 = 3 steps: lr/3, 2lr/3, lr, then the cosine from lr down
    assert [lr_at(s, cli) for s in range(4)] == pytest.approx([0.01 / 3, 0.02 / 3, 0.01, 0.01])
    assert lr_at(30, cli) == pytest.approx(0.01 * 0.1)


def test_an_explicit_warmup_is_kept_by_the_cli(tmp_path):
    cfg = cli_config(tmp_path, "--steps", "100", "--warmup-steps", "50", "--lr", "1")
    assert cfg.warmup_steps == 50
    assert lr_at(0, cfg) == pytest.approx(1 / 50)
    assert lr_at(48, cfg) == pytest.approx(49 / 50)
    assert lr_at(49, cfg) == pytest.approx(1.0)


def test_a_run_saves_its_warmup_and_keeps_it_when_resumed_with_more_steps(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", str(LAMBDA), "--out", str(run), "--steps", "20", *TINY]) == 0
    assert json.loads((run / "config.json").read_text())["warmup_steps"] == 2
    assert any("warm-up 2" in text for _, text in read_log(run))
    assert main(["train", "--resume", str(run), "--steps", "40"]) == 0
    saved = json.loads((run / "config.json").read_text())
    assert saved["steps"] == 40 and saved["warmup_steps"] == 2  # not the 4 of a 40-step run


def test_the_progress_line_ends_at_the_step_a_stopped_run_ended_on(tmp_path, capsys):
    cfg = TrainConfig(files=[str(LAMBDA)], steps=30, seq_len=64, batch_size=2, log_every=10,
                      eval_every=11, eval_batches=1, checkpoint_every=30, threads=1,
                      model={"d_model": 16, "n_layers": 1})
    trainer = Trainer(cfg, tmp_path / "run")
    line = ProgressLine(cfg.steps)
    line.tty = True  # draw the bar as on a terminal
    trainer.subscribe(line)
    # a Stop pressed while step 11 runs: rows come every 10 steps, the last one at step 10
    trainer.subscribe(lambda e: trainer.request_stop() if e.kind == "eval" else None)
    assert trainer.run()["step"] == 11
    err = capsys.readouterr().err
    last = err.rstrip("\n").split("\r")[-1]
    assert "] 11/30 " in last and "ETA" not in last
    assert "] 10/30 " in err  # the row at step 10 was drawn before
    assert not math.isnan(float(last.split("loss ")[1].split()[0]))
