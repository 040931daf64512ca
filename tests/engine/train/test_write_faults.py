"""A run folder that cannot be written (disk full, read-only) stops the run with one line, leaves
no half-written ``step-N.tmp``, and keeps the last complete checkpoint loadable and resumable.

A full disk is simulated without root: with SIGXFSZ ignored, ``RLIMIT_FSIZE`` makes every write
past N bytes of a file fail with EFBIG ("File too large"), as ENOSPC does on a full disk. The
limit is set for the training only and lifted in ``finally``."""

from __future__ import annotations

import contextlib
import os
import resource
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from engine.cli import main
from engine.models import load_model
from engine.train import Trainer, checkpoint_dirs, read_metrics
from engine.train.checkpoints import RunWriteError
from engine.train.runs import read_run
from tests.conftest import LAMBDA
from tests.engine.train.test_trainer import config

# below the tiny model's model.safetensors (234 KB), above metrics.h5 (35 KB), run.log, JSON
UNDER_A_CHECKPOINT = 100_000


@contextlib.contextmanager
def file_size_limit() -> Iterator[Callable[[int], None]]:
    """Yield ``limit(n)``: from then on, writes past byte ``n`` of any file fail (EFBIG)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an error, not a killed process

    def limit(n: int) -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (n, hard))

    try:
        yield limit
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)


def partial_checkpoints(run_dir: Path) -> list[str]:
    folder = run_dir / "checkpoints"
    return sorted(p.name for p in folder.iterdir() if not p.name[-1].isdigit()) \
        if folder.is_dir() else []


def test_a_full_disk_at_the_first_checkpoint_is_one_line_and_leaves_no_tmp(tmp_path, capsys):
    run = tmp_path / "run"
    args = ["train", str(LAMBDA), "--out", str(run), "--steps", "8", "--seq-len", "64",
            "--batch-size", "4", "--checkpoint-every", "4", "--eval-every", "4",
            "--model-config", '{"d_model": 32, "n_layers": 2}']
    with file_size_limit() as limit:
        limit(UNDER_A_CHECKPOINT)
        code = main(args)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err[-1] == (f"bytescope train: error: {run}: cannot write checkpoints/step-0000004: "
                       "File too large; training stopped at step 4, no checkpoint had been "
                       "written")
    assert [line for line in err if "error" in line or "Traceback" in line] == [err[-1]]
    assert partial_checkpoints(run) == [] and checkpoint_dirs(run) == []
    assert read_run(run).state == "failed"
    assert main(["train", "--resume", str(run)]) == 0  # room again: it starts over and ends
    assert [p.name for p in checkpoint_dirs(run)] == ["step-0000004", "step-0000008"]


def test_a_full_disk_at_a_later_checkpoint_keeps_the_last_good_one_resumable(tmp_path):
    run = tmp_path / "run"
    trainer = Trainer(config(), run)
    with file_size_limit() as limit:
        trainer.subscribe(lambda e: limit(UNDER_A_CHECKPOINT) if e.kind == "checkpoint" else 0)
        with pytest.raises(RunWriteError) as failed:
            trainer.run()
    assert str(failed.value) == (
        f"{run}: cannot write checkpoints/step-0000008: File too large; training stopped at "
        "step 8, the last complete checkpoint, checkpoints/step-0000004, is kept (go on from it "
        "with --resume once the folder can be written again)")
    assert partial_checkpoints(run) == []
    good = checkpoint_dirs(run)
    assert [p.name for p in good] == ["step-0000004"]
    load_model(good[0])
    summary = Trainer(config(), run, resume=True).run()
    assert summary["step"] == 8 and checkpoint_dirs(run)[-1].name == "step-0000008"


def test_metrics_that_cannot_grow_stop_the_run_with_one_line(tmp_path):
    run = tmp_path / "run"
    trainer = Trainer(config(), run)
    with file_size_limit() as limit:
        # from step 2 on no column's chunk (past the first 4 KB of metrics.h5) can be written
        trainer.subscribe(lambda e: limit(4096) if e.kind == "step" and e.step == 2 else 0)
        with pytest.raises(RunWriteError, match=r"cannot write metrics\.h5: File too large; "
                           "training stopped at step 3, no checkpoint had been written$"):
            trainer.run()
    assert len(read_metrics(run / "metrics.h5")["step"]["step"]) == 2  # still readable
    assert Trainer(config(), run, resume=True).run()["step"] == 8


def test_a_run_log_that_cannot_grow_stops_the_run_with_one_line(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "run.log").write_text("x" * 70_000 + "\n")  # a long history, past the limit
    with file_size_limit() as limit:
        limit(50_000)
        with pytest.raises(RunWriteError, match=r"cannot write run\.log: File too large"):
            Trainer(config(), run).run()
    assert read_run(run).state == "failed"


def test_a_config_that_cannot_be_written_stops_the_run_and_leaves_no_temporary(tmp_path):
    run = tmp_path / "run"
    with file_size_limit() as limit:
        limit(300)  # config.json is 635 bytes
        with pytest.raises(RunWriteError, match=r"cannot write config\.json: File too large"):
            Trainer(config(), run).run()
    assert not (run / "config.json").exists()
    assert [p.name for p in run.iterdir() if p.name.endswith(".tmp")] == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_run_folder_made_read_only_midway_stops_the_run_with_one_line(tmp_path):
    run = tmp_path / "run"
    trainer = Trainer(config(), run)

    def lock_up(event):
        if event.kind == "checkpoint":
            for folder in (run / "checkpoints", run):
                folder.chmod(0o555)

    trainer.subscribe(lock_up)
    try:
        with pytest.raises(RunWriteError, match="Permission denied; training stopped at step"):
            trainer.run()
    finally:
        for folder in (run, run / "checkpoints"):
            folder.chmod(0o755)
    assert partial_checkpoints(run) == []
    assert [p.name for p in checkpoint_dirs(run)] == ["step-0000004"]
