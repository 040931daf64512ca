"""The CLI starts without torch: it loads when a command runs a model."""

from __future__ import annotations

import subprocess
import sys

from engine.cli import build_parser
from tests.conftest import REPO


def test_starting_the_cli_and_info_load_no_torch(lambda_path):
    code = ("import sys, engine.cli; engine.cli.main(['info', sys.argv[1]]); "
            "assert 'torch' not in sys.modules, 'torch was imported'")
    subprocess.run([sys.executable, "-c", code, str(lambda_path)], check=True, cwd=REPO,
                   capture_output=True, timeout=120)


def test_train_help_lists_the_engines_architectures_and_presets():
    from engine.models import ARCHITECTURES, PRESETS

    command = next(a for a in build_parser()._actions if a.dest == "command")
    options = {a.dest: a.metavar for a in command.choices["train"]._actions}
    assert set(options["arch"].strip("{}").split(",")) == set(ARCHITECTURES)
    assert options["preset"].strip("{}").split(",") == list(PRESETS)
