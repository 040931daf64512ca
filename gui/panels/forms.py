"""A form built from a config dataclass's fields (STYLE.md: the GUI builds its forms from them).

Each field gets a widget by its type: ``bool`` a check box, ``int`` a spin box, ``float`` a
double spin box, ``str`` with choices a combo box (else a line edit); ``X | None`` adds a check
box in front (unchecked: ``None``). :class:`FieldHint` gives the label, range, step and choices;
:func:`hints_for` makes one for every field, so a new config field shows up in the form.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from engine.errors import InputError


@dataclass(frozen=True)
class FieldHint:
    label: str
    minimum: float = 0
    maximum: float = 1_000_000
    step: float = 1
    decimals: int = 4
    choices: tuple[str, ...] = ()
    tip: str = ""


def hints_for(cls: type, known: dict[str, FieldHint], exclude: tuple[str, ...] = ()
              ) -> dict[str, FieldHint]:
    """A hint per field of ``cls`` but ``exclude``: those of ``known`` that ``cls`` has, in
    their order, then the rest with a label made from the name and a wide range."""
    names = {f.name for f in dataclasses.fields(cls)}
    hints = {name: hint for name, hint in known.items() if name in names and name not in exclude}
    types = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if f.name in hints or f.name in exclude:
            continue
        kind, _ = _base_type(types[f.name])
        if kind not in (bool, int, float, str, tuple, list, dict):
            continue
        label = f.name.replace("_", " ").capitalize()
        if kind is float:
            hints[f.name] = FieldHint(label, 0.0, 1e9, 0.1, 6)
        else:
            hints[f.name] = FieldHint(label, 0, 1_000_000_000)
    return hints


def _base_type(annotation: Any) -> tuple[type, bool]:
    """(the field's type, whether it may be None), from a resolved annotation; ``tuple[int,
    ...]`` and ``list[str]`` come back as ``tuple`` and ``list``."""
    args = typing.get_args(annotation)
    if args and type(None) in args:
        (inner,) = [a for a in args if a is not type(None)]
        return _base_type(inner)[0], True
    origin = typing.get_origin(annotation)
    return (origin if origin in (tuple, list, dict) else annotation), False


def _format(kind: type, value: Any) -> str:
    if kind is dict:
        return json.dumps(value)
    if kind in (tuple, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _parse(kind: type, text: str) -> Any:
    """The field's value from its line edit; a malformed entry raises InputError."""
    if kind is str:
        return text
    try:
        if kind is dict:
            value = json.loads(text or "{}")
            if not isinstance(value, dict):
                raise ValueError("not an object")
            return value
        items = [json.loads(t) for t in text.replace(";", ",").split(",") if t.strip()]
        return kind(items)
    except ValueError as error:
        raise InputError(f"{text!r} is not a valid {kind.__name__} ({error})") from None


class FieldEditor(QWidget):
    """One field's widget(s); ``value()`` / ``set_value()`` in the field's Python type."""

    changed = Signal()

    def __init__(self, kind: type, optional: bool, hint: FieldHint) -> None:
        super().__init__()
        self.kind, self.optional = kind, optional
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.enabled_box: QCheckBox | None = None
        if optional:
            self.enabled_box = QCheckBox()
            self.enabled_box.toggled.connect(self._on_toggled)
            layout.addWidget(self.enabled_box)
        if kind is bool:
            self.editor = QCheckBox()
            self.editor.toggled.connect(self.changed)
        elif hint.choices:
            self.editor = QComboBox()
            self.editor.addItems(list(hint.choices))
            self.editor.currentTextChanged.connect(self.changed)
        elif kind in (str, tuple, list, dict):  # sequences: "3, 4, 5"; dicts: JSON
            self.editor = QLineEdit()
            self.editor.editingFinished.connect(self.changed)
        elif kind is int:
            self.editor = QSpinBox()
            self.editor.setRange(int(hint.minimum), int(hint.maximum))
            self.editor.setSingleStep(int(hint.step))
            self.editor.setKeyboardTracking(False)
            self.editor.valueChanged.connect(self.changed)
        else:
            self.editor = QDoubleSpinBox()
            self.editor.setRange(hint.minimum, hint.maximum)
            self.editor.setSingleStep(hint.step)
            self.editor.setDecimals(hint.decimals)
            self.editor.setKeyboardTracking(False)
            self.editor.valueChanged.connect(self.changed)
        if hint.tip:
            self.setToolTip(hint.tip)
        layout.addWidget(self.editor, 1)

    def _on_toggled(self, on: bool) -> None:
        self.editor.setEnabled(on)
        self.changed.emit()

    def value(self) -> Any:
        if self.enabled_box is not None and not self.enabled_box.isChecked():
            return None
        if isinstance(self.editor, QCheckBox):
            return self.editor.isChecked()
        if isinstance(self.editor, QComboBox):
            return self.editor.currentText()
        if isinstance(self.editor, QLineEdit):
            return _parse(self.kind, self.editor.text())
        return self.kind(self.editor.value())

    def set_value(self, value: Any) -> None:
        self.blockSignals(True)
        try:
            if self.enabled_box is not None:
                self.enabled_box.setChecked(value is not None)
                self.editor.setEnabled(value is not None)
            if value is None:
                return
            if isinstance(self.editor, QCheckBox):
                self.editor.setChecked(bool(value))
            elif isinstance(self.editor, QComboBox):
                self.editor.setCurrentText(str(value))
            elif isinstance(self.editor, QLineEdit):
                self.editor.setText(_format(self.kind, value))
            else:
                self.editor.blockSignals(True)
                self.editor.setValue(value)
                self.editor.blockSignals(False)
        finally:
            self.blockSignals(False)


class DataclassForm(QWidget):
    """Editors for the hinted fields of a dataclass, in the hints' order; ``changed(name)``."""

    changed = Signal(str)

    def __init__(self, cls: type, hints: dict[str, FieldHint]) -> None:
        super().__init__()
        self.cls = cls
        types = typing.get_type_hints(cls)
        self.layout_ = QFormLayout(self)
        self.layout_.setContentsMargins(0, 0, 0, 0)
        self.editors: dict[str, FieldEditor] = {}
        fields = {f.name for f in dataclasses.fields(cls)}
        for name, hint in hints.items():  # in the hints' order: the form reads top down
            if name not in fields:
                raise ValueError(f"{cls.__name__} has no field {name!r}")
            kind, optional = _base_type(types[name])
            editor = FieldEditor(kind, optional, hint)
            editor.changed.connect(lambda name=name: self.changed.emit(name))
            self.layout_.addRow(hint.label, editor)
            self.editors[name] = editor

    def values(self) -> dict[str, Any]:
        return {name: editor.value() for name, editor in self.editors.items()}

    def set_values(self, instance: Any) -> None:
        for name, editor in self.editors.items():
            editor.set_value(getattr(instance, name))

    def set_row_visible(self, name: str, visible: bool) -> None:
        self.layout_.setRowVisible(self.editors[name], visible)
