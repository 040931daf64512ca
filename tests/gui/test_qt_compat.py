"""A long session of Qt calls survives (PySide6 6.12.0 on CPython 3.11 aborted: see pyproject)."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO

MANY_CALLS = """
import sys
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QApplication, QWidget
app = QApplication([])
widget = QWidget()
class Emitter(QObject):
    ping = Signal(int)
emitter = Emitter()
emitter.ping.connect(lambda value: None)
for _ in range(30_000):  # each drops a reference to None / True on the affected PySide6
    widget.setEnabled(True)
    emitter.ping.emit(1)
print("survived")
"""


def test_a_long_session_of_qt_calls_does_not_free_none_or_true():
    run = subprocess.run([sys.executable, "-c", MANY_CALLS], cwd=REPO, capture_output=True,
                         text=True, env={"QT_QPA_PLATFORM": "offscreen", "PATH": ""},
                         timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "survived" in run.stdout
