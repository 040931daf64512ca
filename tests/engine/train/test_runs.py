"""Run folders as a list: status, log, best value, interrupted runs, deletion."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
import torch

from engine.errors import InputError
from engine.train import Trainer, TrainingFailed, checkpoint_dirs, read_metrics
from engine.train.runs import (
    delete_run,
    list_runs,
    new_run_name,
    read_log,
    read_run,
    write_status,
)
from tests.engine.train.test_trainer import config


def test_a_finished_run_reads_back_with_its_best_validation_and_log(tmp_path):
    run = tmp_path / "done"
    summary = Trainer(config(steps=8, eval_every=2, checkpoint_every=4), run).run()
    info = read_run(run)
    assert (info.state, info.step, info.steps) == ("finished", 8, 8)
    assert (info.arch, info.preset) == ("hyena", "tiny")
    # best: the lowest validation value among the evaluations of checkpointed steps
    evals = read_metrics(run / "metrics.h5")["eval"]
    saved = np.isin(evals["step"], [4, 8])
    assert info.best_val == pytest.approx(float(evals["val_bits_per_byte"][saved].min()))
    assert info.best_val == pytest.approx(summary["best_val_bits_per_byte"])
    assert info.seconds > 0
    assert info.has_model and not info.resumable
    texts = [text for _, text in read_log(run)]
    assert "started" in texts[0] and "finished at step 8/8" in texts[-1]
    assert sum(": validation" in t for t in texts) == 4  # steps 2, 4, 6, 8


def test_a_stopped_run_is_resumable_and_lists_among_others(tmp_path):
    trainer = Trainer(config(), tmp_path / "stopped")
    trainer.subscribe(lambda e: trainer.request_stop() if e.kind == "step" and e.step == 3 else 0)
    trainer.run()
    (tmp_path / "not-a-run").mkdir()
    (tmp_path / "stray.txt").write_text("x")
    runs = list_runs(tmp_path)
    assert [r.name for r in runs] == ["stopped"]
    assert runs[0].state == "stopped" and runs[0].step == 3 and runs[0].resumable


def test_a_folder_whose_config_is_unreadable_is_left_out_of_the_list(tmp_path):
    Trainer(config(steps=2), tmp_path / "good").run()
    for name, text in (("typo", '{"files": ["x"], "stpes": 3}'), ("garbled", "{not json")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "config.json").write_text(text)
    assert [r.name for r in list_runs(tmp_path)] == ["good"]


def test_a_killed_run_reads_as_interrupted(tmp_path):
    run = tmp_path / "killed"
    Trainer(config(steps=4, checkpoint_every=4), run).run()
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    write_status(run, "running", 2, 4)
    status = json.loads((run / "status.json").read_text())
    status["pid"] = gone.pid  # a process that has exited
    (run / "status.json").write_text(json.dumps(status))
    assert read_run(run).state == "interrupted"
    write_status(run, "running", 2, 4)  # this process: alive
    assert read_run(run).state == "running"


def test_a_failed_run_keeps_its_message_and_error_in_the_log(tmp_path):
    run = tmp_path / "nan"
    trainer = Trainer(config(checkpoint_every=2), run)

    def poison(e):
        if e.kind == "checkpoint" and trainer.step == 4:
            with torch.no_grad():
                next(iter(trainer.model.parameters())).fill_(float("nan"))

    trainer.subscribe(poison)
    with pytest.raises(TrainingFailed):
        trainer.run()
    info = read_run(run)
    assert info.state == "failed" and "loss became nan" in info.message
    assert info.resumable and info.step == 4
    levels = [level for level, _ in read_log(run)]
    assert levels[-1] == "error"
    assert not math.isnan(info.best_val)


def test_delete_refuses_what_is_not_a_run_and_removes_a_run(tmp_path):
    other = tmp_path / "photos"
    other.mkdir()
    (other / "config.json").write_text("{}")
    with pytest.raises(InputError, match="not a run folder"):
        delete_run(other)
    assert other.exists()
    run = tmp_path / "run"
    Trainer(config(steps=2, checkpoint_every=2, eval_every=2), run).run()
    assert checkpoint_dirs(run)
    delete_run(run)
    assert not run.exists() and list(tmp_path.iterdir()) == [other]


def test_delete_refuses_a_run_that_is_going(tmp_path):
    run = tmp_path / "live"
    Trainer(config(steps=2, checkpoint_every=2, eval_every=2), run).run()
    write_status(run, "running", 1, 2)  # this process, alive
    with pytest.raises(InputError, match="still going"):
        delete_run(run)
    assert run.exists()


def test_new_run_names_never_collide(tmp_path):
    first = new_run_name(tmp_path, "hyena", "tiny")
    first.mkdir()
    second = new_run_name(tmp_path, "hyena", "tiny")
    assert first.name.startswith("hyena-tiny-") and second != first
