"""The controller rule: each controller is the only code that submits work for its model,
from one place; no thread pool or runner exists outside gui/controllers and gui/workers."""

from __future__ import annotations

import re
from pathlib import Path

GUI = Path(__file__).resolve().parents[2] / "gui"


def sources() -> dict[str, str]:
    return {str(p.relative_to(GUI.parent)): p.read_text() for p in GUI.rglob("*.py")}


def test_each_controller_submits_from_exactly_one_place():
    submits = {path: len(re.findall(r"\.submit\(", text)) for path, text in sources().items()}
    outside = {p: n for p, n in submits.items()
               if n and not p.startswith("gui/controllers/") and p != "gui/workers.py"}
    assert outside == {}, f"work submitted outside the controllers: {outside}"
    controllers = {p: n for p, n in submits.items()
                   if p.startswith("gui/controllers/") and not p.endswith("__init__.py")}
    assert set(controllers) == {"gui/controllers/attribution.py", "gui/controllers/bake.py",
                                "gui/controllers/exports.py",
                                "gui/controllers/maps.py", "gui/controllers/motifs.py",
                                "gui/controllers/training.py",
                                "gui/controllers/view.py"}
    assert all(n == 1 for n in controllers.values()), controllers


def test_no_pool_thread_or_runner_is_made_outside_controllers_and_workers():
    makers = re.compile(r"QThreadPool\(|TaskRunner\(|QThread\)|threading\.Thread\(")
    found = {p for p, text in sources().items() if makers.search(text)}
    assert found <= {"gui/workers.py", "gui/controllers/__init__.py"}, found
