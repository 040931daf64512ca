"""TrainConfig: the warm-up rule (one for the CLI, the window and the Python API), JSON."""

from __future__ import annotations

import json

import pytest

from engine.errors import FormatError, InputError
from engine.train import TrainConfig, lr_at
from engine.train import config as config_module
from engine.train.config import default_warmup_steps


@pytest.mark.parametrize(("steps", "warmup"), [(5, 1), (9, 1), (30, 3), (999, 99), (1000, 100),
                                               (50_000, 100)])
def test_the_default_warmup_is_a_tenth_of_the_steps_from_1_to_100(steps, warmup):
    assert default_warmup_steps(steps) == warmup
    assert TrainConfig(files=["x"], steps=steps).resolved_warmup_steps() == warmup


def test_a_warmup_that_was_set_is_kept_even_above_the_default():
    assert TrainConfig(files=["x"], steps=100, warmup_steps=50).resolved_warmup_steps() == 50
    assert TrainConfig(files=["x"], steps=100, warmup_steps=0).resolved_warmup_steps() == 0


def test_no_warmup_starts_at_the_full_learning_rate():
    cfg = TrainConfig(files=["x"], steps=100, lr=1.0, warmup_steps=0)
    assert lr_at(0, cfg) == pytest.approx(1.0)


def test_a_negative_warmup_is_refused():
    with pytest.raises(InputError, match="warmup-steps"):
        TrainConfig(files=["x"], warmup_steps=-1).validate()


def test_an_older_runs_config_with_warmup_100_loads_and_keeps_it(tmp_path):
    # what a run saved before the rule holds: an explicit 100, even for a 30-step run
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"files": ["x"], "steps": 30, "lr": 1.0, "warmup_steps": 100,
                                "threads": 0}))
    cfg = TrainConfig.from_json(path)
    assert cfg.warmup_steps == 100
    assert lr_at(0, cfg) == pytest.approx(1 / 100)
    assert lr_at(29, cfg) == pytest.approx(30 / 100)


def test_an_unset_warmup_round_trips_through_json(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(TrainConfig(files=["x"], steps=30).to_json())
    assert TrainConfig.from_json(path).warmup_steps is None


def test_an_unknown_key_in_a_runs_config_is_refused_naming_it_and_the_file(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"files": ["x"], "stpes": 30, "colour": "red"}))
    with pytest.raises(FormatError) as error:
        TrainConfig.from_json(path)
    assert str(error.value) == (f"{path}: unknown training config keys 'colour', 'stpes' "
                                "(did you mean 'steps'?)")


def test_a_key_older_versions_wrote_is_ignored(tmp_path, monkeypatch):
    monkeypatch.setattr(config_module, "OBSOLETE_KEYS", frozenset({"old_knob"}))
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"files": ["x"], "steps": 30, "old_knob": 3}))
    assert TrainConfig.from_json(path).steps == 30


def test_every_key_a_run_writes_reads_back(tmp_path):
    cfg = TrainConfig(files=["x"], arch="hyena-blt", model={"d_local": 16}, init_from="m",
                      warmup_steps=4, patching={"mode": "entropy", "threshold": 1.0})
    path = tmp_path / "config.json"
    path.write_text(cfg.to_json())
    assert TrainConfig.from_json(path) == cfg
