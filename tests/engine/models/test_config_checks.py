"""A model config that asks for the impossible is refused by name, before anything is built."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.cli import main
from engine.errors import ModelError
from engine.models import load_model
from engine.models.checkpoint import check_model_size, model_config
from engine.models.defaults import resolve_model_path

HOSTILE = [
    ({"n_layers": 10**7}, "n_layers must be in 1..1,024"),
    ({"d_model": 10**6}, "d_model must be in 1..65,536"),
    ({"max_len": 10**12}, "max_len must be in 1..4,194,304"),
    ({"d_model": "128"}, "d_model must be an integer, not '128'"),
    ({"d_model": -5}, "d_model must be in 1..65,536, not -5"),
    ({"d_model": [1, 2, 3]}, "d_model must be an integer"),
    ({"d_model": None}, "d_model must be an integer, not None"),
    ({"n_layers": True}, "n_layers must be an integer, not True"),
    ({"dropout": 1.5}, "dropout must be in [0, 1)"),
    ({"filter_freq": -1.0}, "filter_freq must be positive"),
]


@pytest.fixture
def hostile_folder(tmp_path):
    """A copy of the bundled fast model whose config.json the test rewrites."""
    folder = shutil.copytree(resolve_model_path("fast"), tmp_path / "model")
    return folder


@pytest.mark.parametrize("change, message", HOSTILE)
def test_a_hostile_config_json_is_refused_by_name_before_building(hostile_folder, change,
                                                                  message):
    config = hostile_folder / "config.json"
    config.write_text(json.dumps(json.loads(config.read_text()) | change))
    started = time.monotonic()
    with pytest.raises(ModelError, match=re.escape(message)) as err:
        load_model(hostile_folder)
    assert "config.json" in str(err.value)
    assert time.monotonic() - started < 5  # refused, not attempted


def test_the_cli_says_it_in_one_line_with_exit_2(hostile_folder, lambda_path, capsys):
    config = hostile_folder / "config.json"
    config.write_text(json.dumps(json.loads(config.read_text()) | {"n_layers": 10**7}))
    assert main(["score", str(lambda_path), "--region", "0-500", "--model",
                 str(hostile_folder)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "n_layers" in err and err.startswith("bytescope score:")


def test_train_model_config_is_checked_before_a_run_folder_is_made(lambda_path, tmp_path,
                                                                   capsys):
    out = tmp_path / "run"
    assert main(["train", str(lambda_path), "--out", str(out), "--steps", "2",
                 "--model-config", json.dumps({"d_model": "128"})]) == 2
    assert "d_model must be an integer" in capsys.readouterr().err
    assert not out.exists()


def test_weights_larger_than_free_memory_are_refused_without_touching_them():
    # 64 layers of width 32,768: about 3 TB of fp32 weights, counted without filling them
    config = model_config("hyena", "tiny", d_model=32_768, n_layers=64)
    with pytest.raises(ModelError, match=r"GiB for its weights|more than this machine can"):
        check_model_size(config)


def test_counting_a_models_weights_costs_no_memory_and_no_torch_dynamo():
    # 36 GiB of weights counted in a fresh process that stays small, without the 1.4 s import
    # of torch._dynamo that the meta device's kernels need
    code = ("import resource, sys\n"
            "from engine.models.checkpoint import parameter_count, model_config\n"
            "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
            "n = parameter_count(model_config('hyena', 'small', d_model=4096, n_layers=48))\n"
            "grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before\n"
            "print(n, grown, 'torch._dynamo' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).parents[3]).stdout.split()
    assert int(out[0]) * 4 > 30 * 2**30 and int(out[1]) < 200 * 1024 and out[2] == "False"


def test_a_bundled_models_size_is_its_weights_and_buffers():
    folder = resolve_model_path("fast")
    model = load_model(folder)
    expected = sum(t.numel() * t.element_size()
                   for t in (*model.parameters(), *model.buffers()))
    assert check_model_size(model.config) == expected


def test_an_unknown_key_in_a_model_folders_config_is_refused_naming_it(hostile_folder):
    config = hostile_folder / "config.json"
    config.write_text(json.dumps(json.loads(config.read_text()) | {"n_layer": 2}))
    with pytest.raises(ModelError) as err:
        load_model(hostile_folder)
    assert str(err.value) == (f"{config}: unknown hyena config key 'n_layer' "
                              "(did you mean 'n_layers'?)")


def test_notes_beside_a_model_config_are_not_fields(hostile_folder):
    config = hostile_folder / "config.json"
    config.write_text(json.dumps(json.loads(config.read_text()) | {"_trained_on": "lambda"}))
    assert load_model(hostile_folder).config.arch == "hyena"


def test_a_model_config_that_is_not_an_object_is_refused(hostile_folder):
    (hostile_folder / "config.json").write_text("[1, 2]")
    with pytest.raises(ModelError, match="config is not a JSON object"):
        load_model(hostile_folder)


def test_an_unknown_model_config_override_is_refused_naming_it():
    with pytest.raises(ModelError, match="unknown attention config key 'windw' "
                                         r"\(did you mean 'window'\?\)"):
        model_config("attention", "tiny", windw=8)
