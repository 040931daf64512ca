"""The wheel carries every package and every bundled file (pyproject.toml lists them)."""

from __future__ import annotations

import fnmatch
import subprocess

import pytest

from tests.conftest import REPO

tomllib = pytest.importorskip("tomllib")


def pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def test_every_package_folder_is_listed():
    listed = set(pyproject()["tool"]["setuptools"]["packages"])
    found = {str(init.parent.relative_to(REPO)).replace("/", ".")
             for top in ("engine", "gui") for init in (REPO / top).rglob("__init__.py")}
    assert found <= listed, f"not in pyproject.toml's packages: {sorted(found - listed)}"


def test_every_tracked_resource_is_package_data():
    setuptools = pyproject()["tool"]["setuptools"]
    assert setuptools["package-dir"]["engine.bundled"] == "resources"
    patterns = setuptools["package-data"]["engine.bundled"]
    tracked = subprocess.run(["git", "ls-files", "resources"], cwd=REPO, capture_output=True,
                             text=True, check=True).stdout.split()
    if not tracked:
        pytest.skip("not a git checkout")
    files = [path.removeprefix("resources/") for path in tracked]
    # setuptools globs do not cross folders with *, as fnmatch would: compare part by part
    def matches(path: str, pattern: str) -> bool:
        parts, pattern_parts = path.split("/"), pattern.split("/")
        return len(parts) == len(pattern_parts) and all(
            fnmatch.fnmatchcase(p, q) for p, q in zip(parts, pattern_parts, strict=True))
    left_out = [f for f in files if not any(matches(f, p) for p in patterns)]
    assert not left_out, f"bundled files the wheel would leave out: {left_out}"


def test_resources_are_found_from_the_clone():
    from engine.resources import RESOURCES, SAMPLES, sample_path

    assert (RESOURCES / "models" / "nucleotide" / "config.json").exists()
    assert all(sample_path(name).exists() for name in SAMPLES)
