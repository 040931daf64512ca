"""The Trainer: determinism, exact resume, stop/pause, NaN handling, kill -9, metrics."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from engine.models import load_model
from engine.train import (
    ByteMixture,
    TrainConfig,
    Trainer,
    TrainingFailed,
    checkpoint_dirs,
    lr_at,
    read_metrics,
    seq_len_at,
)
from tests.conftest import LAMBDA, REPO


def config(**kw) -> TrainConfig:
    values = dict(files=[str(LAMBDA)], steps=8, seq_len=64, batch_size=4, lr=3e-3,
                  warmup_steps=2, eval_every=4, eval_batches=2, checkpoint_every=4,
                  log_every=1, model={"d_model": 32, "n_layers": 2}, seed=1)
    values.update(kw)
    return TrainConfig(**values)


def weights(run_dir) -> dict:
    return load_file(str(checkpoint_dirs(run_dir)[-1] / "model.safetensors"))


def test_same_seed_gives_identical_weights(tmp_path):
    Trainer(config(), tmp_path / "a").run()
    Trainer(config(), tmp_path / "b").run()
    wa, wb = weights(tmp_path / "a"), weights(tmp_path / "b")
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    Trainer(config(seed=2), tmp_path / "c").run()
    wc = weights(tmp_path / "c")
    assert not all(torch.equal(wa[k], wc[k]) for k in wa)


def test_stop_then_resume_continues_exactly(tmp_path):
    Trainer(config(), tmp_path / "straight").run()

    trainer = Trainer(config(), tmp_path / "split")
    trainer.subscribe(lambda e: trainer.request_stop() if e.kind == "step" and e.step == 3 else 0)
    summary = trainer.run()
    assert summary["stopped"] and summary["step"] == 3
    assert checkpoint_dirs(tmp_path / "split")[-1].name == "step-0000003"

    resumed = Trainer(config(), tmp_path / "split", resume=True).run()
    assert resumed["step"] == 8 and not resumed["stopped"]
    a, b = weights(tmp_path / "straight"), weights(tmp_path / "split")
    assert all(torch.equal(a[k], b[k]) for k in a)
    m1 = read_metrics(tmp_path / "straight" / "metrics.h5")
    m2 = read_metrics(tmp_path / "split" / "metrics.h5")
    assert np.array_equal(m1["step"]["step"], m2["step"]["step"])
    assert np.allclose(m1["step"]["loss"], m2["step"]["loss"])


def test_pause_and_resume_from_events(tmp_path):
    trainer = Trainer(config(steps=4), tmp_path / "p")
    kinds = []

    def on_event(e):
        kinds.append(e.kind)
        if e.kind == "step" and e.step == 2:
            trainer.pause()
        elif e.kind == "paused":
            trainer.resume_run()

    trainer.subscribe(on_event)
    assert trainer.run()["step"] == 4
    assert kinds.index("paused") < kinds.index("resumed") < kinds.index("finished")


def test_nan_loss_stops_with_a_message_and_keeps_the_last_good_checkpoint(tmp_path):
    trainer = Trainer(config(checkpoint_every=2), tmp_path / "nan")
    events = []

    def poison(e):
        events.append(e)
        if e.kind == "checkpoint" and trainer.step == 4:
            with torch.no_grad():
                next(iter(trainer.model.parameters())).fill_(float("nan"))

    trainer.subscribe(poison)
    with pytest.raises(TrainingFailed, match="loss became nan at step 5") as info:
        trainer.run()
    assert "step-0000004" in str(info.value)
    assert events[-1].kind == "failed"
    good = checkpoint_dirs(tmp_path / "nan")[-1]
    assert good.name == "step-0000004"
    model = load_model(good)
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_metrics_are_readable_while_the_run_writes_them(tmp_path):
    run = tmp_path / "live"
    seen = []

    def read_from_another_process(e):
        if e.kind == "eval" and e.step == 4:
            code = ("import json, sys; from engine.train import read_metrics; "
                    "m = read_metrics(sys.argv[1]); "
                    "print(json.dumps(m['eval']['step'].tolist()))")
            out = subprocess.run([sys.executable, "-c", code, str(run / "metrics.h5")],
                                 capture_output=True, text=True, cwd=REPO, check=True)
            seen.append(json.loads(out.stdout))

    trainer = Trainer(config(), run)
    trainer.subscribe(read_from_another_process)
    trainer.run()
    assert seen == [[4.0]]


@pytest.mark.slow  # seconds, not milliseconds: after the README's command
def test_sigkill_leaves_only_loadable_checkpoints_and_resume_goes_on(tmp_path):
    run = tmp_path / "killed"
    cmd = [sys.executable, "-m", "engine", "train", str(LAMBDA), "--out", str(run),
           "--steps", "100000", "--seq-len", "64", "--batch-size", "2",
           "--checkpoint-every", "1", "--eval-every", "1000",
           "--model-config", '{"d_model": 16, "n_layers": 1}']
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    try:
        while len(checkpoint_dirs(run)) < 2 and time.monotonic() < deadline:
            assert proc.poll() is None, proc.stderr.read().decode()
            time.sleep(0.05)  # polling for a file, not a timing assertion
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    done = checkpoint_dirs(run)
    assert done, "no checkpoint was written before the kill"
    for folder in done:
        load_model(folder)
        json.loads((folder / "state.json").read_text())
    latest = int(done[-1].name.split("-")[1])
    cfg = TrainConfig.from_json(run / "config.json")
    cfg.steps = latest + 2
    summary = Trainer(cfg, run, resume=True).run()
    assert summary["step"] == latest + 2


def test_lr_schedule_is_warmup_then_cosine():
    cfg = config(steps=110, lr=1.0, warmup_steps=10, min_lr_ratio=0.1)
    assert lr_at(0, cfg) == pytest.approx(0.1)
    assert lr_at(9, cfg) == pytest.approx(1.0)
    assert lr_at(10, cfg) == pytest.approx(1.0)
    assert lr_at(60, cfg) == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi / 2)))
    assert lr_at(110, cfg) == pytest.approx(0.1)


def test_seqlen_warmup_doubles_from_64():
    cfg = config(steps=400, seq_len=512, seqlen_warmup=True, seqlen_warmup_steps=200)
    lengths = [seq_len_at(s, cfg) for s in range(400)]
    assert lengths[0] == 64 and lengths[-1] == 512
    assert sorted(set(lengths)) == [64, 128, 256, 512]
    assert lengths == sorted(lengths)
    assert lengths.index(512) <= 200  # the warm-up ends within its 200 steps
    assert lengths.index(128) > 0 and lengths.index(256) > lengths.index(128)


def test_held_out_split_is_the_last_tenth_of_every_record(tmp_path):
    path = tmp_path / "two.fa"
    a, b = "ACGT" * 250, "GGCA" * 100
    path.write_text(f">a\n{a}\n>b\n{b}\n")
    mix = ByteMixture([str(path)], [])
    train = {p.record_id: p.data.tobytes().decode() for p in mix.train[0]}
    val = {p.record_id: p.data.tobytes().decode() for p in mix.val}
    assert train["a"] == a[:900] and val["a"] == a[900:]
    assert train["b"] == b[:360] and val["b"] == b[360:]


def test_mixture_weights_choose_the_files(tmp_path):
    (tmp_path / "a.fa").write_text(">a\n" + "A" * 2000 + "\n")
    (tmp_path / "c.fa").write_text(">c\n" + "C" * 2000 + "\n")
    mix = ByteMixture([str(tmp_path / "a.fa"), str(tmp_path / "c.fa")], [1.0, 0.0])
    batch = mix.sample(np.random.default_rng(0), 64, 32)
    assert set(np.unique(batch).tolist()) <= {ord("A"), 257}
    mix = ByteMixture([str(tmp_path / "a.fa"), str(tmp_path / "c.fa")], [1.0, 3.0])
    batch = mix.sample(np.random.default_rng(0), 400, 8)
    share_c = (batch[:, -1] == ord("C")).mean()
    assert 0.65 < share_c < 0.85


def test_best_names_a_saved_checkpoint_when_evaluations_outnumber_checkpoints(tmp_path):
    run = tmp_path / "best"
    summary = Trainer(config(steps=12, eval_every=2, checkpoint_every=4, keep_last=1), run).run()
    best = run / json.loads((run / "best.json").read_text())["checkpoint"]
    assert best.is_dir()
    evals = read_metrics(run / "metrics.h5")["eval"]
    at_checkpoints = {int(s): v for s, v in zip(evals["step"], evals["val_bits_per_byte"],
                                               strict=True) if int(s) % 4 == 0}
    assert summary["best_val_bits_per_byte"] == pytest.approx(min(at_checkpoints.values()))
    assert int(best.name.split("-")[1]) == min(at_checkpoints, key=at_checkpoints.get)


def test_a_run_resumed_from_another_folder_keeps_its_best_checkpoint(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    trainer = Trainer(config(steps=12, checkpoint_every=2, eval_every=2, keep_last=1),
                      "relative-run")
    trainer.subscribe(lambda e: trainer.request_stop() if e.kind == "step" and e.step == 5 else 0)
    trainer.run()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    run = tmp_path / "relative-run"
    Trainer(config(steps=12, checkpoint_every=2, eval_every=2, keep_last=1), run,
            resume=True).run()
    best = run / json.loads((run / "best.json").read_text())["checkpoint"]
    assert best.is_dir()
    load_model(best)


def test_a_non_finite_gradient_stops_before_the_weights_are_touched(tmp_path):
    trainer = Trainer(config(checkpoint_every=2), tmp_path / "grad")

    def poison(event):
        if event.kind == "checkpoint" and trainer.step == 2:
            p = next(iter(trainer.model.parameters()))
            p.register_hook(lambda grad: grad * float("inf"))

    trainer.subscribe(poison)
    with pytest.raises(TrainingFailed, match=r"gradient norm became (nan|inf) at step 3"):
        trainer.run()
    assert all(torch.isfinite(p).all() for p in trainer.model.parameters())


def test_a_best_checkpoint_named_by_an_older_version_is_found_on_resume(tmp_path):
    from engine.train.trainer import _saved_best

    run = tmp_path / "run"
    (run / "checkpoints" / "step-0000004").mkdir(parents=True)
    found = run / "checkpoints" / "step-0000004"
    assert _saved_best(run, "checkpoints/step-0000004") == found  # as written now
    assert _saved_best(run, "runs/run/checkpoints/step-0000004") == found  # cwd-relative
    assert _saved_best(run, "/elsewhere/run/checkpoints/step-0000004") == found
    assert _saved_best(run, "checkpoints/step-0000002") is None  # pruned
    assert _saved_best(run, "") is None


def test_init_from_starts_a_new_run_from_trained_weights(tmp_path):
    Trainer(config(steps=4, checkpoint_every=4, eval_every=4), tmp_path / "base").run()
    base = checkpoint_dirs(tmp_path / "base")[-1]
    trainer = Trainer(config(steps=1, lr=1e-9, warmup_steps=1, checkpoint_every=1,
                             eval_every=1, init_from=str(tmp_path / "base")), tmp_path / "tuned")
    seen = {}
    trainer.subscribe(lambda e: seen.setdefault("weights", {
        k: v.detach().clone() for k, v in trainer.model.state_dict().items()})
        if e.kind == "log" and "started" in e.message else None)
    trainer.run()
    start = load_file(str(base / "model.safetensors"))
    assert all(torch.equal(seen["weights"][k], start[k]) for k in start)


def test_init_from_weights_of_another_shape_is_refused(tmp_path):
    from engine.errors import InputError

    Trainer(config(steps=2, checkpoint_every=2, eval_every=2), tmp_path / "base").run()
    other = config(steps=2, model={"d_model": 16, "n_layers": 1}, init_from=str(tmp_path / "base"))
    with pytest.raises(InputError, match="do not fit"):
        Trainer(other, tmp_path / "tuned").run()


def test_the_optimizer_groups_are_the_models_own(tmp_path):
    trainer = Trainer(config(steps=2, checkpoint_every=2, eval_every=2), tmp_path / "g")
    trainer.run()
    state = json.loads((checkpoint_dirs(tmp_path / "g")[-1] / "state.json").read_text())
    saved = [(g["weight_decay"], len(g["params"])) for g in state["optimizer"]["param_groups"]]
    given = trainer.model.optimizer_groups(trainer.config.weight_decay)
    assert saved == [(g["weight_decay"], len(g["params"])) for g in given]
    assert saved[0][0] == 0.1 and saved[1][0] == 0.0


def test_a_byte_model_logs_a_zero_aux_loss_and_its_cross_entropy_as_the_loss(tmp_path):
    Trainer(config(steps=2), tmp_path / "a").run()
    steps = read_metrics(tmp_path / "a" / "metrics.h5")["step"]
    assert (steps["aux_loss"] == 0).all() and np.isfinite(steps["loss"]).all()


def test_metrics_also_reach_tensorboard_once_per_step_across_a_resume(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = tmp_path / "tb"
    trainer = Trainer(config(), run)
    trainer.subscribe(lambda e: trainer.request_stop() if e.kind == "step" and e.step == 6
                      else 0)
    trainer.run()  # checkpoints at 4, stopped (and checkpointed) at 6
    Trainer(config(steps=8), run, resume=True).run()
    events = EventAccumulator(str(run))
    events.Reload()
    logged = read_metrics(run / "metrics.h5")
    loss = events.Scalars("step/loss")
    assert [e.step for e in loss] == logged["step"]["step"].astype(int).tolist()
    np.testing.assert_allclose([e.value for e in loss], logged["step"]["loss"], rtol=1e-6)
    assert [e.step for e in events.Scalars("eval/val_bits_per_byte")] == [4, 8]
