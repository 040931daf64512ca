"""The import contracts (pyproject.toml, [tool.importlinter]) hold for the tree, and fail on a
reverse import: the check in .ci/run can fail."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or \
    shutil.which("lint-imports")


def lint_imports(cwd: Path, config: Path, *contracts: str) -> subprocess.CompletedProcess:
    """``lint-imports`` on the packages found first from ``cwd`` (no cache: a fresh graph)."""
    env = dict(os.environ, PYTHONPATH=str(cwd))
    command = [LINT_IMPORTS, "--no-cache", "--no-logo", str(config)]
    for contract in contracts:
        command += ["--contract", contract]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=60)


def importlinter_section(pyproject: str) -> str:
    """The [tool.importlinter] table and its contracts, as pyproject.toml spells them."""
    start = pyproject.index("[tool.importlinter]")
    rest = pyproject[start:].splitlines(keepends=True)
    end = next((i for i, line in enumerate(rest[1:], 1)
                if line.startswith("[") and not line.startswith("[[tool.importlinter")),
               len(rest))
    return "".join(rest[:end])


def test_the_tree_keeps_every_import_contract():
    done = lint_imports(ROOT, ROOT / "pyproject.toml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "BROKEN" not in done.stdout and ", 0 broken." in done.stdout, done.stdout


@pytest.fixture
def engine_copy(tmp_path) -> tuple[Path, Path]:
    """A copy of the engine package and a config holding the real engine contracts."""
    shutil.copytree(ROOT / "engine", tmp_path / "engine",
                    ignore=shutil.ignore_patterns("__pycache__"))
    section = importlinter_section((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    section = re.sub(r"(?m)^root_packages = .*$", 'root_packages = ["engine"]', section)
    config = tmp_path / "contracts.toml"
    config.write_text(section, encoding="utf-8")
    return tmp_path, config


def test_the_engine_copy_keeps_the_engine_contracts(engine_copy):
    root, config = engine_copy
    done = lint_imports(root, config, "engine-layers", "engine-headless")
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(("module", "line", "contract", "named"), [
    ("io/records.py", "import engine.cli", "engine layers import one way",
     "engine.io.records -> engine.cli"),
    ("models/defaults.py", "from engine.train.checkpoints import writing",
     "engine layers import one way", "engine.models.defaults -> engine.train.checkpoints"),
    ("scoring.py", "import PySide6", "the engine never imports Qt",
     "engine.scoring -> PySide6"),
])
def test_a_reverse_import_breaks_its_contract(engine_copy, module, line, contract, named):
    root, config = engine_copy
    path = root / "engine" / module
    path.write_text(path.read_text(encoding="utf-8") + f"\n{line}  # the reverse import\n",
                    encoding="utf-8")
    done = lint_imports(root, config, "engine-layers", "engine-headless")
    assert done.returncode == 1, done.stdout + done.stderr
    broken = done.stdout.split("Broken contracts")[-1]
    assert contract in broken and named in broken, done.stdout


def test_a_new_engine_module_must_be_given_a_layer(engine_copy):
    root, config = engine_copy
    (root / "engine" / "stray.py").write_text('"""A module no layer names."""\n')
    done = lint_imports(root, config, "engine-layers")
    assert done.returncode == 1
    assert "engine.stray" in done.stdout, done.stdout
