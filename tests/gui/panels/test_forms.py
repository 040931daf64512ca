"""Forms built from config dataclasses: an optional field is a check box and an editor."""

from __future__ import annotations

import pytest

from engine.cli import build_parser
from engine.cli.train import build_config
from engine.train import TrainConfig, lr_at
from gui.panels.forms import DataclassForm, hints_for
from gui.panels.training import TRAIN_EXCLUDE, TRAIN_HINTS
from tests.conftest import LAMBDA


@pytest.fixture
def train_form(qtbot):
    """The Training panel's run form, built as the panel builds it, holding the defaults."""
    form = DataclassForm(TrainConfig, hints_for(TrainConfig, TRAIN_HINTS, exclude=TRAIN_EXCLUDE))
    qtbot.addWidget(form)
    form.set_values(TrainConfig(threads=1))
    return form


def window_config(form: DataclassForm) -> TrainConfig:
    return TrainConfig(files=[str(LAMBDA)], **form.values())  # as TrainingPanel.config()


def test_an_unticked_warmup_follows_the_engine_rule_as_the_cli_does(train_form, tmp_path):
    editor = train_form.editors["warmup_steps"]
    assert editor.enabled_box is not None and not editor.enabled_box.isChecked()
    train_form.editors["steps"].set_value(30)
    train_form.editors["lr"].set_value(0.01)
    window = window_config(train_form)
    assert window.warmup_steps is None
    cli = build_config(build_parser().parse_args(
        ["train", str(LAMBDA), "--out", str(tmp_path / "run"), "--steps", "30", "--lr",
         "0.01"]))[0]
    assert [lr_at(s, window) for s in range(31)] == [lr_at(s, cli) for s in range(31)]
    assert lr_at(0, window) == pytest.approx(0.01 / 3)  # 3 warm-up steps, not 100


def test_a_ticked_warmup_is_the_users_and_is_kept(train_form, qtbot):
    editor = train_form.editors["warmup_steps"]
    editor.enabled_box.setChecked(True)
    editor.editor.setValue(50)
    train_form.editors["steps"].set_value(100)
    cfg = window_config(train_form)
    assert cfg.warmup_steps == 50 and cfg.resolved_warmup_steps() == 50
    train_form.set_values(cfg)  # a run's config back in the form ("start another like it")
    assert editor.enabled_box.isChecked() and editor.value() == 50
