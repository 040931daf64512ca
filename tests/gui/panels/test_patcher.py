"""The Patcher panel in the real window: each patch mode keeps the θ and target size set in it
for the session, through the Mode box."""

from __future__ import annotations

import pytest


def set_threshold(form, value: float) -> None:
    """What a user does: tick the θ box, then type a value."""
    editor = form.editors["threshold"]
    editor.enabled_box.setChecked(True)
    editor.editor.setValue(value)


def test_switching_mode_away_and_back_keeps_each_modes_threshold(qtbot, with_entropies):
    window = with_entropies
    form, model = window.patcher.form, window.model
    mode = form.editors["mode"].editor
    set_threshold(form, 1.1)
    assert (model.patch_config.threshold, model.patch_config.target_patch_size) == (1.1, None)
    mode.setCurrentText("static")
    assert model.patch_config.threshold is None
    mode.setCurrentText("dual")  # new this session: it starts from the entropy mode's θ
    assert model.patch_config.threshold == pytest.approx(1.1)
    set_threshold(form, 0.9)
    form.editors["threshold_add"].enabled_box.setChecked(True)
    form.editors["threshold_add"].editor.setValue(0.05)
    mode.setCurrentText("entropy")
    config = model.patch_config
    assert (config.mode, config.threshold, config.threshold_add) == ("entropy", 1.1, None)
    assert form.values()["threshold"] == pytest.approx(1.1)  # the panel shows it
    qtbot.waitUntil(lambda: model.patches is not None and model.patches.config == config)
    assert window.tracks.entropy.threshold_line.value() == pytest.approx(1.1)
    mode.setCurrentText("dual")
    config = model.patch_config
    assert (config.threshold, config.threshold_add) == (pytest.approx(0.9), 0.05)


def test_a_target_size_is_kept_per_mode_too(qtbot, with_entropies):
    window = with_entropies
    form, model = window.patcher.form, window.model
    form.editors["target_patch_size"].editor.setValue(9.0)
    assert model.patch_config.target_patch_size == 9.0
    form.editors["mode"].editor.setCurrentText("space")
    form.editors["mode"].editor.setCurrentText("entropy")
    assert (model.patch_config.threshold, model.patch_config.target_patch_size) == (None, 9.0)
