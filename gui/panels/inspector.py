"""The Patch inspector: the patches in view (index, start, end, length, mean entropy, bases);
clicking a row selects the patch and centres the tracks on it.

The table is virtual: rows are read from the patch arrays when Qt draws them, so a view of a
whole genome (a million patches) costs nothing until scrolled. It follows the locus at most
every ``REFRESH_MS``.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, QTimer
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from engine.io.records import Record
from gui.model.events import Subscriptions
from gui.model.locus import centre_on
from gui.model.patches import PatchView
from gui.model.session import Workbench

COLUMNS = ("patch", "start (0-based)", "end", "length", "mean H", "bases")  # as BED writes them
MAX_BASES_SHOWN = 48
REFRESH_MS = 120


class PatchTableModel(QAbstractTableModel):
    def __init__(self) -> None:
        super().__init__()
        self.patches: PatchView | None = None
        self.record: Record | None = None
        self.lo = self.hi = 0

    def set_rows(self, patches: PatchView | None, record: Record | None, lo: int, hi: int) -> None:
        self.beginResetModel()
        self.patches, self.record, self.lo, self.hi = patches, record, lo, hi
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        return 0 if parent.isValid() else self.hi - self.lo

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def patch_at(self, row: int) -> int:
        return self.lo + row

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        patches = self.patches
        if patches is None or not index.isValid():
            return None
        i = self.lo + index.row()
        column = index.column()
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter) \
                if column < 5 else None
        if role == Qt.ItemDataRole.FontRole and column == 5:
            return QFont("DejaVu Sans Mono", 8)
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        start, end = int(patches.starts[i]), int(patches.ends[i])
        if column == 0:
            return f"{int(patches.index[i]):,}"
        if column == 1:
            return f"{start:,}"
        if column == 2:
            return f"{end:,}"
        if column == 3:
            return f"{end - start:,}"
        if column == 4:
            mean = patches.mean_entropy(i, i + 1)
            return "" if mean is None or math.isnan(mean[0]) else f"{mean[0]:.3f}"
        if self.record is None:
            return ""
        data = self.record.fetch(start, min(end, start + MAX_BASES_SHOWN))
        text = "".join(chr(b) if 32 <= b < 127 else "·" for b in data)
        return text + ("…" if end - start > MAX_BASES_SHOWN else "")


class InspectorPanel(QWidget):
    def __init__(self, model: Workbench, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workbench = model
        self._subs = Subscriptions()
        self.table_model = PatchTableModel()
        self.summary = QLabel("no patches")
        self.table = QTableView()
        self.table.setModel(self.table_model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(20)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        for column, width in enumerate((70, 90, 90, 60, 60)):
            self.table.setColumnWidth(column, width)
        self.table.clicked.connect(self._on_clicked)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.summary)
        layout.addWidget(self.table)
        self._timer = QTimer(self, singleShot=True, interval=REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        events = model.events
        self._subs.connect(events.patches, lambda _patches: self.refresh())
        self._subs.connect(events.locus, self._schedule)  # panning: at most every REFRESH_MS
        self._subs.connect(events.selection, self._on_selection)
        self.refresh()

    def _schedule(self, *_args) -> None:
        if not self._timer.isActive():
            self._timer.start()

    def refresh(self) -> None:
        """Show the patches overlapping the locus (now, not at the next tick)."""
        self._timer.stop()
        model = self.workbench
        patches, locus = model.patches, model.locus
        if patches is None or locus is None:
            self.table_model.set_rows(None, None, 0, 0)
            self.summary.setText("no patches")
            return
        lo, hi = patches.visible(locus.start, locus.end)
        self.table_model.set_rows(patches, model.record, lo, hi)
        self.summary.setText(f"{hi - lo:,} patches in view (of {patches.count:,})")
        self._on_selection(model.selection)

    def _on_selection(self, i: int | None) -> None:
        lo, hi = self.table_model.lo, self.table_model.hi
        if i is None or not lo <= i < hi:
            self.table.clearSelection()
            return
        self.table.selectRow(i - lo)

    def _on_clicked(self, index) -> None:
        self.select_row(index.row())

    def select_row(self, row: int) -> None:
        """Select the row's patch and centre the tracks on it (keeping the zoom)."""
        model = self.workbench
        i = self.table_model.patch_at(row)
        patches, locus, record = model.patches, model.locus, model.record
        if patches is None or locus is None or record is None:
            return
        model.select_patch(i)
        centre = (int(patches.starts[i]) + int(patches.ends[i])) / 2
        model.set_locus(centre_on(locus, centre, record.length))

    def closeEvent(self, event) -> None:
        self.disconnect_model()
        super().closeEvent(event)

    def disconnect_model(self) -> None:
        self._subs.disconnect_all()
        self._timer.stop()
        self.table_model.set_rows(None, None, 0, 0)  # its record's file is about to close
