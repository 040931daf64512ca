"""The Bake panel's state without Qt: settings, the report's rows and bars, where bakes go."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from engine.bake.convert import FolderSize
from engine.bake.report import ModelReport
from engine.errors import InputError
from gui.model.bake import (
    BAKES,
    BAR_METRICS,
    REPORT_COLUMNS,
    BakeModel,
    BakeSettings,
    bar_values,
    default_out,
    report_rows,
)


def reports() -> list[ModelReport]:
    fp32 = ModelReport("fp32", "/m", FolderSize(4000, 1000, 5200), 1.80, 1.70, 1.0, 100e3,
                       400.0)
    baked = ModelReport("int8 ptq", "/b", FolderSize(1000, 1000, 2200), 1.81, None, 0.95,
                        math.nan, math.nan)
    return [fp32, baked]


def test_each_bake_names_what_it_becomes_and_how():
    assert BakeSettings(bake="int8").to == "int8"
    assert (BakeSettings(bake="ternary, fine-tuned (QAT)").method) == "qat"
    assert {(s.to, s.method) for s in map(lambda b: BakeSettings(bake=b), BAKES)} == {
        ("int8", "ptq"), ("ternary", "qat"), ("ternary", "ptq")}


def test_report_rows_show_every_column_and_leave_unmeasured_figures_blank():
    rows = report_rows(reports())
    assert [len(r) for r in rows] == [len(REPORT_COLUMNS)] * 2
    fp32, baked = rows
    assert fp32[0] == "fp32" and fp32[5] == "100.0 kB/s" and fp32[6] == "1.00x"
    assert baked[4] == baked[5] == baked[6] == ""  # not timed
    assert baked[8] == ""  # no repeat expert
    assert baked[7] == "1.8100" and baked[9] == "0.950"


def test_bars_are_ratios_to_fp32():
    (label0, first), (label1, second) = bar_values(reports())
    assert label1 == "int8 ptq"
    assert label0 == "fp32" and first[:2] == [1.0, 1.0] and first[4] == 1.0
    assert len(second) == len(BAR_METRICS)
    assert second[0] == pytest.approx(0.25) and second[1] == pytest.approx(2200 / 5200)
    assert math.isnan(second[2])  # not timed
    assert second[3] == pytest.approx(1.81 / 1.80)


def test_a_bake_goes_into_the_workspace_named_for_model_and_bake(tmp_path):
    assert default_out(tmp_path, Path("/x/nucleotide"), "int8", "ptq") == \
        tmp_path / "bakes" / "nucleotide-int8-ptq"
    # a run's checkpoint is named for its run
    assert default_out(tmp_path, Path("/runs/r1/step_000100"), "ternary", "qat").name == \
        "r1-ternary-qat"


def test_a_new_bake_clears_the_old_report_and_curve_and_bad_steps_are_refused():
    model = BakeModel()
    model.add_rows([{"step": 1, "loss": 2.0, "group": "step"}])
    model.start("training", "going", Path("/r"))
    assert model.curve == [] and model.busy and model.run_dir == Path("/r")
    with pytest.raises(InputError):
        model.set_settings(BakeSettings(steps=0))
    model.set_using(True)
    model.set_overlay(object())
    model.set_using(False)
    assert model.overlay is None
