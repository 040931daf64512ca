"""A run that ended before its first checkpoint (killed during it, or diverged) is no dead end:
``--resume`` starts it again from step 0, a new run in its folder says to add ``--restart``, and
``--restart`` replaces a previous run only under the folder's lock. The ``step-N.tmp`` and
``step-N.del`` folders a killed run leaves are removed when the folder is next opened."""

from __future__ import annotations

import shutil
import threading

import pytest
import torch

from engine.cli import main
from engine.train import Trainer, TrainingFailed, checkpoint_dirs, read_metrics
from engine.train.runs import RunInUse, read_log, read_run
from tests.conftest import LAMBDA
from tests.engine.train.test_trainer import config, weights

TINY_CLI = ["--steps", "8", "--seq-len", "64", "--batch-size", "4", "--checkpoint-every", "4",
            "--eval-every", "4", "--model-config", '{"d_model": 32, "n_layers": 2}']


def diverged_before_its_first_checkpoint(run) -> None:
    """A real run whose weights turn NaN at step 2, before its first checkpoint (step 4)."""
    trainer = Trainer(config(), run)

    def poison(event):
        if event.kind == "step" and event.step == 2:
            with torch.no_grad():
                next(iter(trainer.model.parameters())).fill_(float("nan"))

    trainer.subscribe(poison)
    with pytest.raises(TrainingFailed, match=r"Last good checkpoint: none yet .*--restart"):
        trainer.run()


def killed_during_its_first_checkpoint(run) -> None:
    """What a kill -9 in the middle of the first checkpoint leaves: a ``step-N.tmp`` holding
    part of its files."""
    diverged_before_its_first_checkpoint(run)
    partial = run / "checkpoints" / "step-0000004.tmp"
    partial.mkdir(parents=True)
    (partial / "model.safetensors").write_bytes(b"\0" * 100)  # cut short


def test_resume_of_a_run_with_no_complete_checkpoint_starts_it_again_from_step_0(tmp_path):
    Trainer(config(), tmp_path / "straight").run()
    run = tmp_path / "run"
    killed_during_its_first_checkpoint(run)
    assert read_run(run).resumable
    summary = Trainer(config(), run, resume=True).run()
    assert summary["step"] == 8 and not summary["stopped"]
    a, b = weights(tmp_path / "straight"), weights(run)
    assert all(torch.equal(a[k], b[k]) for k in a)  # the same run as one never broken
    assert list((run / "checkpoints").glob("*.tmp")) == []
    assert read_metrics(run / "metrics.h5")["step"]["step"].tolist() == list(range(1, 9))
    notes = [text for level, text in read_log(run) if level == "warning"]
    assert len(notes) == 1 and "no complete checkpoint to resume from" in notes[0] \
        and "starting it again from step 0" in notes[0]
    assert any("loss became nan" in text for _, text in read_log(run))  # history kept


def test_the_cli_resume_says_it_starts_again_and_a_new_run_is_told_to_add_restart(
        tmp_path, capsys):
    run = tmp_path / "run"
    diverged_before_its_first_checkpoint(run)
    code = main(["train", str(LAMBDA), "--out", str(run), *TINY_CLI])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert err[0] == (f"bytescope train: error: {run}: this folder already holds a run with no "
                      "complete checkpoint (it ended before its first); start it again here "
                      "with --restart (or --resume, from its saved config), or give another "
                      "--out")
    assert read_run(run).state == "failed"  # the refusal touched nothing
    assert main(["train", "--resume", str(run)]) == 0
    err = capsys.readouterr().err
    assert "note: no complete checkpoint to resume from (the run ended before its first); " \
           "starting it again from step 0" in err
    assert read_run(run).state == "finished"


def test_restart_replaces_the_previous_run_and_keeps_its_log(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", str(LAMBDA), "--out", str(run), *TINY_CLI]) == 0
    capsys.readouterr()
    code = main(["train", str(LAMBDA), "--out", str(run), *TINY_CLI, "--steps", "4"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "holds a run (2 complete checkpoints, the latest at step 8); go on with --resume, " \
           "give another --out, or add --restart to delete it and start again" in err[0]
    assert main(["train", str(LAMBDA), "--out", str(run), *TINY_CLI, "--steps", "4",
                 "--restart"]) == 0
    assert [p.name for p in checkpoint_dirs(run)] == ["step-0000004"]
    assert read_run(run).steps == 4
    texts = [text for _, text in read_log(run)]
    assert "finished at step 8/8" in " ".join(texts) and "restarted" in " ".join(texts)


def test_restart_and_resume_together_are_refused_with_one_line(tmp_path, capsys):
    run = tmp_path / "run"
    Trainer(config(steps=4), run).run()
    assert main(["train", "--resume", str(run), "--restart"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--restart goes with FILE... --out RUN_DIR" in err[0]
    assert len(checkpoint_dirs(run)) == 1


def test_restart_never_clears_a_folder_another_run_is_writing(tmp_path):
    run = tmp_path / "run"
    first = Trainer(config(steps=10_000, checkpoint_every=2, eval_every=10_000), run)
    checkpointed = threading.Event()
    first.subscribe(lambda event: event.kind == "checkpoint" and checkpointed.set())
    thread = threading.Thread(target=first.run)
    thread.start()
    try:
        assert checkpointed.wait(120), "the first run never checkpointed"
        with pytest.raises(RunInUse, match="in use by pid"):
            Trainer(config(steps=4, seed=2), run, restart=True).run()
        assert checkpoint_dirs(run) and read_run(run).state == "running"
    finally:
        first.request_stop()
        thread.join(120)
    assert read_run(run).state == "stopped" and checkpoint_dirs(run)


def test_a_killed_runs_partial_checkpoints_are_removed_when_the_folder_is_next_opened(
        tmp_path):
    run = tmp_path / "run"
    trainer = Trainer(config(), run)
    trainer.subscribe(lambda e: trainer.request_stop() if e.kind == "step" and e.step == 3
                      else 0)
    trainer.run()
    complete = checkpoint_dirs(run)[0]
    # kills while writing step 6, while deleting an old checkpoint, and during a --restart
    for name in ("checkpoints/step-0000006.tmp", "checkpoints/step-0000002.del",
                 "checkpoints.del/step-0000001"):
        shutil.copytree(complete, run / name)
    Trainer(config(steps=4), run, resume=True).run()  # steps 4: no checkpoint of step 6
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == [
        "step-0000003", "step-0000004"]
    assert not (run / "checkpoints.del").exists()
