"""What a run ended with, in words: never "best validation inf" or "best checkpoint None"."""

from __future__ import annotations

import json

import pytest

from engine.cli import main
from engine.train import Trainer
from engine.train.runs import read_log
from engine.train.trainer import describe_outcome
from tests.conftest import LAMBDA
from tests.engine.train.test_trainer import config


def last_log_line(run) -> str:
    return read_log(run)[-1][1]


def test_a_run_stopped_before_its_first_step_says_nothing_was_validated_or_written(tmp_path):
    run = tmp_path / "run"
    trainer = Trainer(config(), run)
    trainer.subscribe(lambda e: trainer.request_stop() if e.kind == "log" else 0)
    summary = trainer.run()
    assert summary["step"] == 0
    assert summary["best_val_bits_per_byte"] is None and summary["best_checkpoint"] is None
    json.loads(json.dumps(summary), parse_constant=pytest.fail)  # no Infinity in the JSON
    assert last_log_line(run).endswith(
        "stopped at step 0/8, no validation ran; no checkpoint was written")


def test_a_run_stopped_between_validations_names_its_latest_checkpoint(tmp_path):
    run = tmp_path / "run"
    trainer = Trainer(config(eval_every=1000, checkpoint_every=1000), run)
    trainer.subscribe(lambda e: trainer.request_stop() if e.kind == "step" and e.step == 3
                      else 0)
    summary = trainer.run()
    assert describe_outcome(summary, run) == (
        "no validation ran; latest checkpoint checkpoints/step-0000003")
    assert last_log_line(run).endswith(
        "stopped at step 3/8, no validation ran; latest checkpoint checkpoints/step-0000003")


def test_a_validation_never_checkpointed_is_reported_as_such(tmp_path):
    run = tmp_path / "run"
    trainer = Trainer(config(eval_every=2, checkpoint_every=1000), run)
    trainer.subscribe(lambda e: trainer.request_stop() if e.kind == "step" and e.step == 3
                      else 0)
    summary = trainer.run()
    text = describe_outcome(summary, run)
    assert text.startswith("validation ") and text.endswith(
        " bits/byte at step 2, not checkpointed; latest checkpoint checkpoints/step-0000003")


def test_the_cli_names_the_best_checkpoint_and_its_value(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", str(LAMBDA), "--out", str(run), "--steps", "4", "--seq-len", "64",
                 "--batch-size", "4", "--checkpoint-every", "4", "--eval-every", "4",
                 "--model-config", '{"d_model": 32, "n_layers": 2}']) == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith("finished at step 4/4 in ")
    assert " bits/byte at checkpoints/step-0000004 (in " in out and "best validation " in out
    assert "inf" not in out and "None" not in out
