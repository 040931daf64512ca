"""The Sequences panel: every record of the open files with its length, alphabet and GC%, a
filter box, and double-click to show a record."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSortFilterProxyModel, Qt
from PySide6.QtGui import QFont, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLineEdit,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from engine.io.records import Record
from gui.model.events import Subscriptions
from gui.model.session import Workbench

COLUMNS = ("record", "length", "alphabet", "GC%", "features", "file")
# numbers sort largest first on their first click (names A to Z): what one looks for first
DESCENDING_FIRST = ("length", "GC%", "features")
PATH_ROLE = Qt.ItemDataRole.UserRole + 1
SORT_ROLE = Qt.ItemDataRole.UserRole + 2


class SequencesPanel(QWidget):
    def __init__(self, model: Workbench, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self._subs = Subscriptions()
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("filter records")
        self.filter.setClearButtonEnabled(True)
        self.items = QStandardItemModel(0, len(COLUMNS))
        self.items.setHorizontalHeaderLabels(list(COLUMNS))
        for column, name in enumerate(COLUMNS):
            if name in DESCENDING_FIRST:
                self.items.setHeaderData(column, Qt.Orientation.Horizontal,
                                         Qt.SortOrder.DescendingOrder,
                                         Qt.ItemDataRole.InitialSortOrderRole)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.items)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.proxy.setFilterKeyColumn(-1)
        self.proxy.setSortRole(SORT_ROLE)
        self.filter.textChanged.connect(self.proxy.setFilterFixedString)
        self.view = QTreeView()
        self.view.setModel(self.proxy)
        self.view.setRootIsDecorated(False)
        self.view.setUniformRowHeights(True)
        # Rows start in file order: Qt's header would otherwise sort by the first column,
        # descending. A third click on a header goes back to file order.
        self.view.header().setSortIndicatorClearable(True)
        self.view.header().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.view.setSortingEnabled(True)
        self.view.setAlternatingRowColors(True)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.doubleClicked.connect(self._on_double_click)
        header = self.view.header()
        for column in range(len(COLUMNS) - 1):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.filter)
        layout.addWidget(self.view)
        self._subs.connect(model.events.documents, self._on_documents)
        self._subs.connect(model.events.record, self._on_record)
        self._on_documents(model.documents)

    def _on_documents(self, documents) -> None:
        self.items.removeRows(0, self.items.rowCount())
        for document in documents:
            for summary in document.summaries:
                self._add_row(document.path, summary)
        self._on_record(self.model.record)

    def _add_row(self, path: str, summary: dict) -> None:
        gc = summary["gc_percent"]
        values = (
            (summary["id"], summary["id"]),
            (f"{summary['length']:,}", summary["length"]),
            (summary["alphabet"], summary["alphabet"]),
            ("" if gc is None else f"{gc:.2f}", -1.0 if gc is None else gc),
            (f"{summary['feature_count']:,}", summary["feature_count"]),
            (Path(path).name, path),
        )
        row = []
        for text, key in values:
            item = QStandardItem(text)
            item.setData(key, SORT_ROLE)
            item.setData(path, PATH_ROLE)
            if isinstance(key, int | float) and not isinstance(key, bool):
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            row.append(item)
        row[0].setToolTip(summary.get("description") or summary["id"])
        self.items.appendRow(row)

    def _on_record(self, record: Record | None) -> None:
        path = self.model.record_path
        for r in range(self.items.rowCount()):
            first = self.items.item(r, 0)
            current = record is not None and first.text() == record.id and \
                first.data(PATH_ROLE) == path
            font = QFont(first.font())
            font.setBold(current)
            for c in range(len(COLUMNS)):
                self.items.item(r, c).setFont(font)

    def _on_double_click(self, index) -> None:
        source = self.proxy.mapToSource(index)
        first = self.items.item(source.row(), 0)
        self.open_row(first.data(PATH_ROLE), first.text())

    def open_row(self, path: str, record_id: str) -> None:
        document = self.model.document(path)
        if document is not None:
            self.model.set_record(path, document.sequences[record_id])

    def closeEvent(self, event) -> None:
        self.disconnect_model()
        super().closeEvent(event)

    def disconnect_model(self) -> None:
        self._subs.disconnect_all()
