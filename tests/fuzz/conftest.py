"""The fuzz suite: marked ``fuzz`` (the README's test command leaves it out; ``python -m
pytest -m fuzz`` and CI run it), and it counts what it tried and says so at the end."""

from __future__ import annotations

from pathlib import Path

import pytest

TRIED = {"corpus": 0, "mutations": 0}
HERE = Path(__file__).parent


def pytest_collection_modifyitems(config, items) -> None:
    for item in items:
        if HERE in Path(item.fspath).parents:
            item.add_marker(pytest.mark.fuzz)


def pytest_terminal_summary(terminalreporter) -> None:
    if TRIED["corpus"] or TRIED["mutations"]:
        terminalreporter.write_line(
            f"fuzz: tried {TRIED['corpus']} corpus inputs and {TRIED['mutations']} mutated "
            "files (more: BYTESCOPE_FUZZ_EXAMPLES=N python -m pytest -m fuzz)")
