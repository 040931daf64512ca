"""One writer per run folder: a second Trainer on a folder in use is refused, the first unharmed."""

from __future__ import annotations

import os
import socket
import threading

import pytest

from engine.train import Trainer
from engine.train.runs import RunInUse, read_run
from tests.engine.train.test_trainer import config


def test_a_second_run_on_a_folder_in_use_is_refused_with_the_holder(tmp_path):
    run_dir = tmp_path / "run"
    first = Trainer(config(steps=10_000, checkpoint_every=10_000, eval_every=10_000), run_dir)
    started = threading.Event()
    first.subscribe(lambda event: event.kind == "step" and started.set())
    thread = threading.Thread(target=first.run)
    thread.start()
    try:
        assert started.wait(120), "the first run never reached a step"
        second = Trainer(config(steps=5, seed=2), run_dir)
        with pytest.raises(RunInUse) as refused:
            second.run()
        assert f"pid {os.getpid()} on {socket.gethostname()}" in str(refused.value)
        assert read_run(run_dir).state == "running"  # the refusal wrote nothing into it
    finally:
        first.request_stop()
        thread.join(120)
    assert read_run(run_dir).state == "stopped"


def test_a_finished_run_is_not_overwritten_by_a_new_one(tmp_path):
    run_dir = tmp_path / "run"
    Trainer(config(steps=2, checkpoint_every=2, eval_every=2), run_dir).run()
    with pytest.raises(RunInUse, match="already holds a run"):
        Trainer(config(steps=2, seed=2), run_dir).run()
    assert read_run(run_dir).state == "finished"


def test_a_killed_runs_lock_does_not_block_its_resume(tmp_path):
    # the kernel drops a flock with its process; the file left behind is harmless
    run_dir = tmp_path / "run"
    Trainer(config(steps=2, checkpoint_every=2, eval_every=2), run_dir).run()
    (run_dir / ".lock").write_text("pid 1 on elsewhere\n")
    summary = Trainer(config(steps=4, checkpoint_every=2, eval_every=2), run_dir,
                      resume=True).run()
    assert summary["step"] == 4
