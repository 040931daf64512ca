"""The Training panel in the real window: a tiny run started, paused, resumed, stopped,
resumed again and finished through the panel's buttons; its model re-scores the tracks; a
failing data loader gives a dialog; closing during a run asks and checkpoints; runs made
elsewhere appear, overlay and delete."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest
import torch
from PySide6.QtWidgets import QMessageBox

from engine.models import ARCHITECTURES, build_model, model_config
from engine.train import TrainConfig, Trainer, TrainingFailed, checkpoint_dirs, read_metrics
from engine.train.runs import read_log, read_run
from gui.panels.training import MODEL_EXCLUDE, TRAIN_EXCLUDE
from tests.gui.conftest import wait_ready

TINY = {"steps": 20, "seq_len": 64, "batch_size": 4, "warmup_steps": 2, "eval_every": 5,
        "eval_batches": 1, "checkpoint_every": 5, "log_every": 1, "threads": 1, "seed": 3}


@pytest.fixture
def panel(qtbot, window, tmp_path, genome, tiny_model):
    """The window with the small genome open (scored by the tiny model) and an empty workspace;
    the panel is set up for a 20-step run of a one-layer, 16-wide Hyena model."""
    window.model.set_model_spec(str(tiny_model))
    window.open_paths([str(genome)])
    wait_ready(qtbot, window)
    training = window.training
    training.set_workspace(tmp_path / "runs")
    window.show_training()
    for name, value in TINY.items():
        training.train_form.editors[name].set_value(value)
    training.model_form.editors["d_model"].set_value(16)
    training.model_form.editors["n_layers"].set_value(1)
    qtbot.waitUntil(lambda: training.dataset.entries() == [(str(genome), 1.0)])
    return training


def live_state(panel) -> str | None:
    return panel.training_model.live.state if panel.training_model.live is not None else None


def loss_steps(panel, label: str) -> np.ndarray:
    return panel.curves.curves("loss", label).top.xData


def test_a_run_started_paused_resumed_stopped_resumed_and_finished(qtbot, window, panel):
    buttons = panel.buttons
    assert buttons["Start"].isEnabled() and not buttons["Stop"].isEnabled()
    buttons["Start"].click()
    buttons["Pause"].click()
    qtbot.waitUntil(lambda: live_state(panel) == "paused", timeout=20_000)
    trainer = panel.controller.trainer
    # a user pausing at steps 5 and 10: the Trainer's own flag, set between those steps
    trainer.subscribe(lambda e: trainer.pause() if e.kind == "step" and e.step in (5, 10)
                      else None)
    assert buttons["Resume"].isEnabled() and not buttons["Start"].isEnabled()
    buttons["Resume"].click()
    qtbot.waitUntil(lambda: live_state(panel) == "paused" and panel.training_model.live.step == 5,
                    timeout=30_000)
    label = panel.training_model.live.label
    assert list(loss_steps(panel, label)) == [1, 2, 3, 4, 5]  # the curve updated live
    assert "step 5 / 20" in panel.progress.format() and panel.progress.value() == 5
    assert panel.curves.curves("val", label).top.xData[-1] == 5
    buttons["Resume"].click()
    qtbot.waitUntil(lambda: live_state(panel) == "paused" and panel.training_model.live.step == 10,
                    timeout=30_000)
    buttons["Stop"].click()
    qtbot.waitUntil(lambda: not panel.controller.active, timeout=30_000)
    run = panel.training_model.live.path
    assert live_state(panel) == "stopped"
    assert [p.name for p in checkpoint_dirs(run)][-1] == "step-0000010"
    qtbot.waitUntil(lambda: [r.state for r in panel.training_model.runs] == ["stopped"])
    assert panel.runs.table.item(0, 4).text() == "10 / 20"

    assert buttons["Resume"].isEnabled()  # continues the stopped run
    buttons["Resume"].click()
    qtbot.waitUntil(lambda: not panel.controller.active, timeout=60_000)
    assert live_state(panel) == "finished" and panel.training_model.live.step == 20
    qtbot.waitUntil(lambda: len(loss_steps(panel, label)) == 20)
    assert list(loss_steps(panel, label)) == list(range(1, 21))  # earlier legs + this one
    assert list(read_metrics(run / "metrics.h5")["step"]["step"]) == list(range(1, 21))
    texts = [text for _, text in read_log(run)]
    for words in ("paused at step 5", "resumed at step 5", "stopped at step 10",
                  "resumed at step 10", "finished at step 20/20"):
        assert any(words in t for t in texts), words
    assert "finished at step 20/20" in panel.log.toPlainText()

    # the new model becomes selectable, and the tracks re-score with it
    qtbot.waitUntil(lambda: [r.state for r in panel.training_model.runs] == ["finished"])
    panel.runs.select_paths([run])
    assert panel.runs.buttons["use"].isEnabled()
    before = window.model.scores.source
    panel.runs.buttons["use"].click()
    best = read_run(run)
    assert window.model.model_spec.startswith(str(run / "checkpoints"))
    qtbot.waitUntil(lambda: window.model.score_status.state == "scored", timeout=20_000)
    wait_ready(qtbot, window)
    assert window.model.scores.source != before
    assert "step-" in window.model.score_status.text
    assert best.state == "finished" and best.step == 20


def test_a_data_loader_that_raises_shows_a_dialog_and_the_window_stays_usable(
        qtbot, window, panel, monkeypatch):
    def broken(self, rng, batch, length):
        raise OSError("the disk went away")

    monkeypatch.setattr("engine.train.data.ByteMixture.sample", broken)
    panel.buttons["Start"].click()
    qtbot.waitUntil(lambda: not panel.controller.active, timeout=20_000)
    assert live_state(panel) == "failed"
    qtbot.waitUntil(lambda: window.error_dialog is not None and window.error_dialog.isVisible())
    assert "the disk went away" in window.error_dialog.text()
    run = panel.training_model.live.path
    info = read_run(run)
    assert info.state == "failed" and "the disk went away" in info.message
    assert "Traceback" in panel.log.toPlainText()  # the details are in the run's log pane
    assert read_log(run)[-1][0] == "error"
    window.error_dialog.close()
    # still usable: navigate, and start again once the data is back
    window.tracks.zoom_in()
    wait_ready(qtbot, window)
    monkeypatch.undo()
    assert panel.buttons["Start"].isEnabled()
    panel.train_form.editors["steps"].set_value(2)
    panel.buttons["Start"].click()
    qtbot.waitUntil(lambda: live_state(panel) == "finished", timeout=30_000)


def test_closing_the_window_during_a_run_asks_then_stops_and_checkpoints(
        qtbot, window, panel, monkeypatch):
    panel.train_form.editors["steps"].set_value(100_000)
    panel.buttons["Start"].click()
    panel.buttons["Pause"].click()
    qtbot.waitUntil(lambda: live_state(panel) == "paused", timeout=20_000)
    trainer = panel.controller.trainer
    trainer.subscribe(lambda e: trainer.pause() if e.kind == "step" and e.step == 3 else None)
    panel.buttons["Resume"].click()
    qtbot.waitUntil(lambda: live_state(panel) == "paused" and panel.training_model.live.step == 3,
                    timeout=30_000)
    run = panel.training_model.live.path
    asked = []
    monkeypatch.setattr(window, "confirm_stop_training", lambda: asked.append(1) or False)
    window.close()
    assert asked and window.isVisible() and panel.controller.active  # "Cancel" keeps it going
    monkeypatch.setattr(window, "confirm_stop_training", lambda: asked.append(2) or True)
    window.close()
    assert asked == [1, 2] and not window.isVisible()
    assert [p.name for p in checkpoint_dirs(run)] == ["step-0000003"]
    assert read_run(run).state == "stopped"


def test_runs_from_the_cli_appear_overlay_and_delete_after_a_confirmation(
        qtbot, panel, genome, monkeypatch):
    workspace = panel.training_model.workspace
    config = TrainConfig(files=[str(genome)], model={"d_model": 16, "n_layers": 1}, **TINY)
    for name, steps in (("cli-a", 6), ("cli-b", 4)):
        Trainer(dataclasses.replace(config, steps=steps), workspace / name).run()
    panel.runs.buttons["refresh"].click()
    qtbot.waitUntil(lambda: len(panel.training_model.runs) == 2)
    names = {panel.runs.table.item(i, 0).text() for i in range(2)}
    assert names == {"cli-a", "cli-b"}
    panel.runs.select_paths([workspace / "cli-a", workspace / "cli-b"])
    assert panel.training_model.selection == [workspace / "cli-a", workspace / "cli-b"] or \
        set(panel.training_model.selection) == {workspace / "cli-a", workspace / "cli-b"}
    qtbot.waitUntil(lambda: set(panel.curves.labels()) == {"cli-a", "cli-b"})
    panel.runs.select_paths([workspace / "cli-a"])  # its log is read in a job
    qtbot.waitUntil(lambda: "finished at step 6/6" in panel.log.toPlainText())  # a CLI run's
    panel.runs.select_paths([workspace / "cli-a", workspace / "cli-b"])  # read again in a job
    qtbot.waitUntil(lambda: set(panel.curves.labels()) == {"cli-a", "cli-b"})
    assert len(loss_steps(panel, "cli-a")) == 6 and len(loss_steps(panel, "cli-b")) == 4

    panel.runs.select_paths([workspace / "cli-b"])
    answers = iter([QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Yes])
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: next(answers))
    panel.runs.buttons["delete"].click()
    assert (workspace / "cli-b").exists()  # cancelled
    panel.runs.buttons["delete"].click()  # deleted in a job
    qtbot.waitUntil(lambda: not (workspace / "cli-b").exists())
    qtbot.waitUntil(lambda: [r.name for r in panel.training_model.runs] == ["cli-a"])


def test_the_forms_hold_every_hyperparameter_and_count_parameters(qtbot, panel):
    editable = {f.name for f in dataclasses.fields(TrainConfig)} - set(TRAIN_EXCLUDE)
    assert set(panel.train_form.editors) == editable
    for arch, (config_cls, _) in ARCHITECTURES.items():
        panel.arch.setCurrentText(arch)
        fields = {f.name for f in dataclasses.fields(config_cls)} - set(MODEL_EXCLUDE)
        assert set(panel.model_form.editors) == fields
        for preset in ("small", "tiny"):  # the panel starts at tiny: change it first
            panel.preset.setCurrentText(preset)
            expected = model_config(arch, preset)
            assert panel.model_form.values() == {
                name: getattr(expected, name) for name in fields}
            count = sum(p.numel() for p in build_model(expected).parameters())
            assert panel.params.text() == f"{count:,}"
    panel.arch.setCurrentText("hyena")
    panel.preset.setCurrentText("tiny")
    panel.model_form.editors["n_layers"].set_value(3)
    panel.train_form.editors["lr"].set_value(0.004)
    config = panel.config()
    assert config.model == {"n_layers": 3} and config.lr == pytest.approx(0.004)
    assert config.arch == "hyena" and config.files == [str(panel.dataset.entries()[0][0])]
    panel.dataset._rows[0]["box"].setChecked(False)  # no files: Start is off
    assert not panel.buttons["Start"].isEnabled()


def test_warnings_reach_the_log_and_a_stopped_run_resumes_from_the_browser(qtbot, panel):
    panel.train_form.editors["steps"].set_value(6)
    panel.buttons["Start"].click()
    panel.buttons["Pause"].click()
    qtbot.waitUntil(lambda: live_state(panel) == "paused", timeout=20_000)
    trainer = panel.controller.trainer

    def hook(event):  # runs in the training thread, as the Trainer's own code would
        if event.kind == "step" and event.step == 2:
            warnings.warn("the data looks odd", UserWarning, stacklevel=1)
        if event.kind == "step" and event.step == 3:
            trainer.request_stop()

    trainer.subscribe(hook)
    panel.buttons["Resume"].click()
    qtbot.waitUntil(lambda: not panel.controller.active, timeout=30_000)
    run = panel.training_model.live.path
    assert live_state(panel) == "stopped" and panel.training_model.live.step == 3
    assert "UserWarning: the data looks odd" in panel.log.toPlainText()
    assert any(level == "warning" and "the data looks odd" in text
               for level, text in read_log(run))

    qtbot.waitUntil(lambda: [r.state for r in panel.training_model.runs] == ["stopped"])
    panel.runs.select_paths([run])
    assert panel.runs.buttons["resume"].isEnabled()
    panel.runs.buttons["resume"].click()
    qtbot.waitUntil(lambda: not panel.controller.active, timeout=30_000)
    assert live_state(panel) == "finished" and panel.training_model.live.step == 6
    qtbot.waitUntil(lambda: [r.state for r in panel.training_model.runs] == ["finished"])
    panel.runs.select_paths([run])  # a past run selected: its whole log in the pane
    text = panel.log.toPlainText()
    assert "stopped at step 3/6" in text and "finished at step 6/6" in text


def test_sequence_and_dict_fields_are_edited_as_text(qtbot, panel):
    from engine.errors import InputError

    panel.arch.setCurrentText("hyena-blt")
    ngrams = panel.model_form.editors["hash_ngrams"]
    ngrams.editor.setText("3, 4, 5")
    assert ngrams.value() == (3, 4, 5)
    patching = panel.train_form.editors["patching"]
    assert patching.value() == TrainConfig().patching  # shown as JSON, read back
    patching.editor.setText('{"mode": "entropy", "threshold": 1.2}')
    assert panel.config().patching == {"mode": "entropy", "threshold": 1.2}
    patching.editor.setText("{mode: entropy")
    with pytest.raises(InputError, match="not a valid dict"):
        panel.config()


def test_a_run_that_diverged_before_its_first_checkpoint_resumes_from_step_0(
        qtbot, panel, genome):
    workspace = panel.training_model.workspace
    config = TrainConfig(files=[str(genome)], model={"d_model": 16, "n_layers": 1},
                         **dict(TINY, steps=6))
    run = workspace / "diverged"
    trainer = Trainer(config, run)

    def poison(event):  # NaN weights at step 2, before the first checkpoint (step 5)
        if event.kind == "step" and event.step == 2:
            with torch.no_grad():
                next(iter(trainer.model.parameters())).fill_(float("nan"))

    trainer.subscribe(poison)
    with pytest.raises(TrainingFailed):
        trainer.run()
    panel.runs.buttons["refresh"].click()
    qtbot.waitUntil(lambda: [r.state for r in panel.training_model.runs] == ["failed"])
    panel.runs.select_paths([run])
    assert panel.runs.buttons["resume"].isEnabled()  # not a dead end
    panel.runs.buttons["resume"].click()
    qtbot.waitUntil(lambda: not panel.controller.active, timeout=30_000)
    assert live_state(panel) == "finished" and panel.training_model.live.step == 6
    assert [p.name for p in checkpoint_dirs(run)] == ["step-0000005", "step-0000006"]
    assert any(level == "warning" and "starting it again from step 0" in text
               for level, text in read_log(run))


def test_the_parameter_count_waits_until_the_panel_is_shown(qtbot, window):
    training = window.training
    assert training.params.text() == ""  # a tab behind the Patch inspector
    window.show_training()
    count = sum(p.numel() for p in build_model(model_config("hyena", "tiny")).parameters())
    qtbot.waitUntil(lambda: training.params.text() == f"{count:,}")
