"""The Bake panel in a real window: a real int8 bake of a tiny model with its report, "Use
Baked Model" re-scoring the tracks with the fp32 entropy drawn over them, a ternary
fine-tune through the Trainer, and a bad model named in a dialog."""

from __future__ import annotations

import numpy as np

from engine.io import open_sequences
from engine.models import load_model
from engine.scoring import score
from tests.gui.conftest import wait_ready


def open_genome(qtbot, window, genome, model) -> None:
    window.model.set_model_spec(str(model))
    window.open_paths([str(genome)])
    qtbot.waitUntil(lambda: window.model.record is not None)
    wait_ready(qtbot, window)


def test_an_int8_bake_reports_fp32_beside_it_and_its_model_scores_the_tracks(
        qtbot, window, genome, tiny_model, tmp_path):
    open_genome(qtbot, window, genome, tiny_model)
    panel = window.bake
    panel.source_box.setCurrentText(str(tiny_model))
    panel.speed_check.setChecked(False)  # no subprocesses: the CLI test times them
    panel.out_edit.setText(str(tmp_path / "i8"))
    assert not panel.steps_spin.isEnabled()  # int8 has no fine-tuning
    assert panel.bake() is not None
    qtbot.waitUntil(lambda: panel.bake_model.phase in ("done", "failed"), timeout=60_000)
    assert panel.bake_model.phase == "done", panel.status.text()
    rows = panel.report_texts()
    assert [r[0] for r in rows] == ["fp32", "int8 ptq"]
    assert "smaller" in panel.status.text() and "bits/base" in panel.status.text()
    assert len(panel.bar_items) == 2
    # the report's fp32 bits per base are the engine's over the held-out tenth
    record = open_sequences(genome)[window.model.record.id]
    start = round(len(record) * 0.9)
    expected = score(load_model(tiny_model), record, start, len(record),
                     repeats=False).bits_per_byte
    assert float(rows[0][7]) == np.round(expected, 4)

    assert panel.use_check.isEnabled()
    panel.use_check.setChecked(True)
    assert window.model.model_spec == str(tmp_path / "i8")
    wait_ready(qtbot, window)
    qtbot.waitUntil(lambda: not window.controllers.runner.busy("bake:overlay"), timeout=30_000)
    overlay = window.tracks.entropy.overlay
    assert overlay is not None and overlay is panel.bake_model.overlay
    n = len(record)
    fp32 = score(load_model(tiny_model), record, 0, n)
    np.testing.assert_allclose(overlay.values("entropy")[: n - 1], fp32.entropy[: n - 1],
                               atol=1e-5)
    baked = window.model.scores.values("entropy")
    assert np.abs(baked - overlay.values("entropy")).max() > 1e-6  # two models
    assert window.tracks.entropy.legend is not None and window.tracks.entropy.legend.isVisible()
    x, _y = window.tracks.entropy.overlay_line.getData()
    assert x is not None and len(x) > 0

    panel.use_check.setChecked(False)
    assert window.model.model_spec == str(tiny_model)
    assert window.tracks.entropy.overlay is None
    wait_ready(qtbot, window)
    assert window.error_dialog is None


def test_a_ternary_fine_tune_runs_in_the_trainer_then_bakes_its_checkpoint(
        qtbot, window, genome, tiny_model, tmp_path):
    open_genome(qtbot, window, genome, tiny_model)
    window.start_bake(str(tiny_model), "ternary, fine-tuned (QAT)", steps=6, blend_steps=3,
                      out=str(tmp_path / "t"), speed_bytes=0)
    panel = window.bake
    assert panel.bake_model.phase == "training"
    live = window.controllers.training.training_model.live
    assert live is not None and live.path == tmp_path / "t.run"  # the Training panel's run
    qtbot.waitUntil(lambda: panel.bake_model.phase in ("done", "failed", "idle"),
                    timeout=120_000)
    assert panel.bake_model.phase == "done", panel.status.text()
    steps = [r for r in panel.bake_model.curve if r["group"] == "step"]
    assert steps and all("aux_loss" in r for r in steps)  # the distillation term
    x, _ = panel.loss_line.getData()
    assert x is not None and len(x) == len(steps)
    result = panel.bake_model.result
    assert result.bake["to"] == "ternary" and result.bake["method"] == "qat"
    assert [r[0] for r in panel.report_texts()] == ["fp32", "ternary qat"]
    assert (tmp_path / "t" / "bake.json").exists()


def test_a_model_that_is_not_there_is_named_in_a_dialog(qtbot, window, genome, tiny_model,
                                                         tmp_path):
    open_genome(qtbot, window, genome, tiny_model)
    assert window.start_bake(str(tmp_path / "nope")) is None
    assert window.bake.bake_model.phase == "failed"
    assert "nope" in window.bake.status.text()
    qtbot.waitUntil(lambda: window.error_dialog is not None)
    assert "nope" in window.error_dialog.text()
