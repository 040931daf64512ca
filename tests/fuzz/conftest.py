"""The fuzz suite counts what it tried and says so at the end of the run."""

from __future__ import annotations

TRIED = {"corpus": 0, "mutations": 0}


def pytest_terminal_summary(terminalreporter) -> None:
    if TRIED["corpus"] or TRIED["mutations"]:
        terminalreporter.write_line(
            f"fuzz: tried {TRIED['corpus']} corpus inputs and {TRIED['mutations']} mutated "
            "files (more: BYTESCOPE_FUZZ_EXAMPLES=N python -m pytest tests/fuzz)")
