"""The workbench window (PySide6 + pyqtgraph) over the engine; :mod:`gui.model` is Qt-free.

PySide6 6.12.0 is excluded in ``pyproject.toml``: on CPython 3.11 it returns ``None`` from void
methods (and ``True`` from ``Signal.emit``) without taking a reference, and the interpreter
aborts after a few thousand Qt calls ("none_dealloc"). ``tests/gui/test_qt_compat.py`` keeps
a long session of Qt calls under test.
"""
