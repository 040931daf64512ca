"""The runs browser: every run folder in the workspace, CLI runs included, as a table.

Select several rows to overlay their curves; open a run's best checkpoint as the active model,
resume a stopped run, or delete one after a confirmation. The panel that owns the browser does
the acting; the browser only says what the user asked for (its signals).
"""

from __future__ import annotations

import math
import time
from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QBrush, QColor, QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.train.runs import RunInfo
from gui.model.events import Subscriptions
from gui.model.training import TrainingModel, format_duration

COLUMNS = ("Run", "Status", "Architecture", "Preset", "Steps", "Best val bits/byte", "Duration")
STATE_COLOURS = {"running": "#1f77b4", "paused": "#a05a00", "finished": "#2a7a2a",
                 "failed": "#b22222", "interrupted": "#b22222", "stopped": "#505050"}


class RunsBrowser(QWidget):
    use_model = Signal(object)  # Path of a run folder
    resume_run = Signal(object)
    delete_run = Signal(object)
    refresh = Signal()

    def __init__(self, model: TrainingModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.training_model = model
        self._subs = Subscriptions()
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setSortingEnabled(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in range(1, len(COLUMNS)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.table.itemSelectionChanged.connect(self._on_selection)
        self.table.doubleClicked.connect(lambda _index: self._emit_current(self.use_model))

        self.buttons = {
            "use": QPushButton("Use Best Checkpoint"),
            "resume": QPushButton("Resume"),
            "delete": QPushButton("Delete…"),
            "folder": QPushButton("Open Folder"),
            "refresh": QPushButton("Refresh"),
        }
        self.buttons["use"].setToolTip("Score the open record with this run's best checkpoint")
        self.buttons["resume"].setToolTip("Continue a stopped run from its latest checkpoint")
        self.buttons["use"].clicked.connect(lambda: self._emit_current(self.use_model))
        self.buttons["resume"].clicked.connect(lambda: self._emit_current(self.resume_run))
        self.buttons["delete"].clicked.connect(lambda: self._emit_current(self.delete_run))
        self.buttons["folder"].clicked.connect(self._open_folder)
        self.buttons["refresh"].clicked.connect(self.refresh)
        row = QHBoxLayout()
        for button in self.buttons.values():
            row.addWidget(button)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.table, 1)
        layout.addLayout(row)
        self._subs.connect(model.events.runs, self._on_runs)
        self._on_runs(model.runs)

    # -- reading the model ---------------------------------------------------------------------
    def _on_runs(self, runs: list[RunInfo]) -> None:
        selected = set(self.training_model.selection)
        self.table.blockSignals(True)
        self.table.setRowCount(len(runs))
        for i, run in enumerate(runs):
            best = "–" if math.isnan(run.best_val) else f"{run.best_val:.4f}"
            cells = (run.name, run.state, run.arch, run.preset, f"{run.step:,} / {run.steps:,}",
                     best, format_duration(run.seconds))
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if j == 0:
                    item.setData(Qt.ItemDataRole.UserRole, str(run.path))
                    updated = time.strftime("%Y-%m-%d %H:%M", time.localtime(run.updated)) \
                        if run.updated else "?"
                    item.setToolTip(f"{run.path}\nupdated {updated}"
                                    + (f"\n{run.message}" if run.message else ""))
                if j == 1:
                    item.setForeground(QBrush(QColor(STATE_COLOURS.get(run.state, "#303030"))))
                    if run.message:
                        item.setToolTip(run.message)
                if j >= 4:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight |
                                          Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(i, j, item)
        self.table.clearSelection()
        for i, run in enumerate(runs):
            if run.path in selected:
                self._add_row(i)
        self.table.blockSignals(False)
        self._update_buttons()

    def _add_row(self, row: int) -> None:
        for column in range(self.table.columnCount()):
            item = self.table.item(row, column)
            if item is not None:
                item.setSelected(True)

    def selected_paths(self) -> list[Path]:
        rows = sorted({index.row() for index in self.table.selectedIndexes()})
        return [Path(self.table.item(r, 0).data(Qt.ItemDataRole.UserRole)) for r in rows]

    def select_paths(self, paths: list[Path]) -> None:
        """Select these runs' rows (as a user would; tests and the panel use it)."""
        wanted = {str(Path(p)) for p in paths}
        self.table.clearSelection()
        for row in range(self.table.rowCount()):
            if self.table.item(row, 0).data(Qt.ItemDataRole.UserRole) in wanted:
                self._add_row(row)

    def _on_selection(self) -> None:
        self.training_model.select(self.selected_paths())
        self._update_buttons()

    def _update_buttons(self) -> None:
        paths = self.selected_paths()
        one = self.training_model.run_info(paths[0]) if len(paths) == 1 else None
        self.buttons["use"].setEnabled(one is not None and one.has_model)
        self.buttons["resume"].setEnabled(one is not None and one.resumable)
        self.buttons["delete"].setEnabled(one is not None and
                                          one.state not in ("running", "paused"))
        self.buttons["folder"].setEnabled(one is not None)

    def _emit_current(self, signal) -> None:
        paths = self.selected_paths()
        if len(paths) == 1:
            signal.emit(paths[0])

    def _open_folder(self) -> None:
        paths = self.selected_paths()
        if paths:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(paths[0])))

    def disconnect_model(self) -> None:
        self._subs.disconnect_all()
