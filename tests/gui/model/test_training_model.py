"""The training panel's Qt-free state: batches of Trainer events fold into one update."""

from __future__ import annotations

import math
from pathlib import Path

from engine.train import TrainConfig, TrainEvent
from gui.model.training import TrainingModel, format_duration


def step(n: int, loss: float = 2.0) -> TrainEvent:
    return TrainEvent("step", n, {"step": n, "time": n * 0.1, "loss": loss, "lr": 1e-3,
                                  "grad_norm": 1.0, "tokens_per_s": 1000.0, "seq_len": 64})


def test_a_batch_of_events_is_one_live_update_and_one_rows_update_per_group():
    model = TrainingModel("/tmp/ws")
    model.start_live(Path("/tmp/ws/run"), TrainConfig(files=["x"], steps=1000))
    lives, rows, logs = [], [], []
    model.events.live.connect(lives.append)
    model.events.rows.connect(lambda label, group, r: rows.append((label, group, len(r))))
    model.events.log.connect(lambda level, text: logs.append((level, text)))
    batch = [step(i, loss=3.0 - i / 100) for i in range(1, 101)]
    batch.append(TrainEvent("eval", 100, {"step": 100, "time": 10.0, "val_loss": 1.0,
                                          "val_bits_per_byte": 1.0 / math.log(2)}))
    batch.append(TrainEvent("log", 100, {"level": "warning"}, "odd data"))
    model.apply_events(batch)
    assert len(lives) == 1 and rows == [("run", "step", 100), ("run", "eval", 1)]
    assert logs == [("warning", "odd data")]
    live = model.live
    assert live.step == 100 and live.loss == 2.0 and live.state == "running"
    assert live.val == live.best_val == 1.0 / math.log(2)
    assert live.steps_per_s > 0 and live.eta_s == (1000 - 100) / live.steps_per_s


def test_pause_and_resume_set_the_state_and_an_empty_batch_emits_nothing():
    model = TrainingModel()
    model.start_live(Path("run"), TrainConfig(files=["x"], steps=10))
    lives = []
    model.events.live.connect(lives.append)
    model.apply_events([])
    assert lives == []
    model.apply_events([step(1), TrainEvent("paused", 1)])
    assert model.live.state == "paused"
    model.apply_events([TrainEvent("resumed", 1), step(2)])
    assert model.live.state == "running" and model.live.first_step == 1
    model.set_live_state("stopping")
    model.apply_events([step(3)])
    assert model.live.state == "stopping"  # a step does not undo a stop request


def test_durations_read_as_clock_times():
    assert format_duration(59.6) == "1:00"
    assert format_duration(3725) == "1:02:05"
    assert format_duration(math.nan) == "–"


def test_a_run_stopped_between_metric_rows_shows_the_step_it_stopped_at(tmp_path):
    from engine.train import Trainer
    from tests.conftest import LAMBDA

    cfg = TrainConfig(files=[str(LAMBDA)], steps=30, seq_len=64, batch_size=2, log_every=10,
                      eval_every=11, eval_batches=1, checkpoint_every=30, threads=1,
                      model={"d_model": 16, "n_layers": 1})
    trainer = Trainer(cfg, tmp_path / "run")
    events: list[TrainEvent] = []
    trainer.subscribe(events.append)
    # a Stop pressed while step 11 runs; metric rows come at steps 10, 20, 30 only
    trainer.subscribe(lambda e: trainer.request_stop() if e.kind == "eval" else None)
    trainer.run()
    assert [e.step for e in events if e.kind == "step"] == [10]
    model = TrainingModel(tmp_path)
    model.start_live(trainer.run_dir, trainer.config)
    for event in events:  # one event per drain, the slowest the timer could see them
        model.apply_events([event])
    assert model.live.step == 11
    whole = TrainingModel(tmp_path)
    whole.start_live(trainer.run_dir, trainer.config)
    whole.apply_events(events)  # all in one batch
    row = next(e for e in events if e.kind == "step")
    assert whole.live.step == 11 and whole.live.loss == row.metrics["loss"]


def test_a_task_heads_evaluations_show_its_loss_not_bits_per_byte():
    """A task run (bytescope train --task, resumed from the Runs tab) logs a loss and its
    classification figures, no bits per byte: the live run reads its loss, named as one."""
    model = TrainingModel("/tmp/ws")
    model.start_live(Path("/tmp/ws/cds"), TrainConfig(files=["x"], steps=100,
                                                      task={"task": "per-base"}))
    model.apply_events([step(10), TrainEvent("eval", 10, {
        "step": 10, "time": 1.0, "val_loss": 0.5, "accuracy": 0.8, "macro_f1": 0.7,
        "mcc": 0.4, "auroc": 0.9})])
    model.apply_events([TrainEvent("eval", 20, {"step": 20, "time": 2.0, "val_loss": 0.7,
                                                "macro_f1": 0.6})])
    live = model.live
    assert live.unit == "loss" and live.val == 0.7 and live.best_val == 0.5
