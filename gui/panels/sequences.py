"""The Sequences panel: every record of the open files with its length, alphabet and GC%, a
filter box, and double-click to show a record.

The table is lazy: :class:`RecordTable` answers ``rowCount`` and ``data`` from the documents'
summary rows (one row is built only when Qt paints it), so a file of 10^6 records opens
with no per-row work on the GUI thread. Sorting and filtering permute an index array with
numpy instead of going through a ``QSortFilterProxyModel`` (which would call ``data`` from
C++ for every comparison: minutes at 10^6 rows).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, QTimer
from PySide6.QtGui import QFont, QStandardItem
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLineEdit,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from engine.io.records import Record
from engine.io.summary import ALPHABET_CODES, SummaryTable, summary_lengths
from gui.model.events import Subscriptions
from gui.model.jobs import Document
from gui.model.session import Workbench

COLUMNS = ("record", "length", "alphabet", "GC%", "features", "file")
# numbers sort largest first on their first click (names A to Z): what one looks for first
DESCENDING_FIRST = ("length", "GC%", "features")
NUMERIC = DESCENDING_FIRST
PATH_ROLE = Qt.ItemDataRole.UserRole + 1
SORT_ROLE = Qt.ItemDataRole.UserRole + 2
FIRST_ROWS = 1000  # a record switch looks here before it builds a file's id -> row map
WIDTH_ROWS = 200  # column widths fit this many rows
FILTER_DELAY_MS = 150  # typing in the filter box refilters once the keys pause
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_Index = QModelIndex | QPersistentModelIndex


def _column(rows: Sequence[dict], key: str) -> np.ndarray | Sequence:
    """One column of summary rows (ids, alphabets, numbers; None as NaN or -1): a table's own
    array or list, else collected from the dicts once."""
    if isinstance(rows, SummaryTable):
        if key == "id":
            return rows.ids
        if key == "alphabet":
            return np.asarray(ALPHABET_CODES, dtype=object)[rows.alphabets]
        if key == "length":
            return rows.lengths
        if key == "gc_percent":
            return np.round(rows.gc_percent, 2)  # as shown, so equal values keep file order
        return rows.feature_count
    if key == "gc_percent":
        return np.array([np.nan if row[key] is None else row[key] for row in rows], dtype=float)
    return [row[key] for row in rows]


def _first_index(rows: Sequence[dict], record_id: str, limit: int) -> int:
    """The index of ``record_id`` among the first ``limit`` rows; -1 if not there."""
    ids = rows.ids[:limit] if isinstance(rows, SummaryTable) else \
        [row["id"] for row in rows[:limit]]
    try:
        return ids.index(record_id)
    except ValueError:
        return -1


class RecordTable(QAbstractTableModel):
    """The rows of every open document, in file order until sorted, optionally filtered.

    ``order[r]`` is the flat row (documents one after the other, each in file order) shown at
    view row ``r``; ``offsets[d]`` the first flat row of document ``d``.
    """

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.documents: list[Document] = []
        self.offsets = np.zeros(1, dtype=np.int64)
        self.order: np.ndarray | None = None  # None: every row, in file order
        self._where = np.zeros(0, dtype=np.int64)  # inverse of order: flat row -> view row
        self.sort_column, self.sort_order = -1, Qt.SortOrder.AscendingOrder
        self.filter_text = ""
        self.current = -1  # flat row of the record shown (bold)
        self.measuring = False  # every row bold: column widths fit the row shown, whichever
        self._row_ids: dict[int, dict[str, int]] = {}  # per document, built on first lookup
        self._cached: tuple[int, dict] = (-1, {})
        self._bold = QFont()
        self._bold.setBold(True)

    # -- contents ------------------------------------------------------------------------------
    def set_documents(self, documents: Sequence[Document]) -> None:
        self.beginResetModel()
        self.documents = list(documents)
        counts = [len(d.summaries) for d in self.documents]
        self.offsets = np.concatenate(([0], np.cumsum(counts, dtype=np.int64)))
        self._row_ids = {}
        self._cached = (-1, {})
        self.current = -1
        self._set_order(self._ordered())
        self.endResetModel()

    def flat_count(self) -> int:
        return int(self.offsets[-1])

    def locate(self, flat: int) -> tuple[Document, int]:
        """The document holding flat row ``flat`` and the row's index in it: O(log files)."""
        d = int(np.searchsorted(self.offsets, flat, side="right")) - 1
        return self.documents[d], flat - int(self.offsets[d])

    def flat_row(self, view_row: int) -> int:
        return view_row if self.order is None else int(self.order[view_row])

    def summary(self, flat: int) -> dict:
        if self._cached[0] != flat:  # Qt asks for every column and role of a row in a row
            document, i = self.locate(flat)
            self._cached = (flat, document.summaries[i])
        return self._cached[1]

    def find(self, path: str | None, record_id: str, hint: int = -1) -> int:
        """The flat row of record ``record_id`` of the file at ``path``; -1 if none. ``hint``
        (a flat row) and a file's first rows (where the record shown on opening is) are looked
        at before the id -> row map, which is built once per file, on the first miss."""
        if 0 <= hint < self.flat_count():
            if self.locate(hint)[0].path == path and self.summary(hint)["id"] == record_id:
                return hint
        for d, document in enumerate(self.documents):
            if document.path != path:
                continue
            ids = self._row_ids.get(d)
            if ids is None:
                i = _first_index(document.summaries, record_id, FIRST_ROWS)
                if i >= 0:
                    return int(self.offsets[d]) + i
                names = _column(document.summaries, "id")
                ids = self._row_ids[d] = dict(zip(names, range(len(names)), strict=True))
            i = ids.get(record_id, -1)
            return -1 if i < 0 else int(self.offsets[d]) + i
        return -1

    def set_current(self, flat: int) -> None:
        """Make flat row ``flat`` the bold one: two rows repainted, whatever the row count."""
        old, self.current = self.current, flat
        for row in (old, flat):
            view_row = self.view_row(row)
            if view_row >= 0:
                self.dataChanged.emit(self.index(view_row, 0),
                                      self.index(view_row, len(COLUMNS) - 1),
                                      [Qt.ItemDataRole.FontRole])

    def view_row(self, flat: int) -> int:
        """Where flat row ``flat`` is shown; -1 if filtered out (or no such row)."""
        if not 0 <= flat < self.flat_count():
            return -1
        return flat if self.order is None else int(self._where[flat])

    # -- Qt's model interface ------------------------------------------------------------------
    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        if parent.isValid():
            return 0
        return self.flat_count() if self.order is None else len(self.order)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole):
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(COLUMNS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        if role == Qt.ItemDataRole.InitialSortOrderRole and COLUMNS[section] in DESCENDING_FIRST:
            return Qt.SortOrder.DescendingOrder
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        flat = self.flat_row(index.row())
        column = COLUMNS[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(flat, column)
        if role == Qt.ItemDataRole.FontRole:
            return self._bold if flat == self.current or self.measuring else None
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _RIGHT if column in NUMERIC else None
        if role == Qt.ItemDataRole.ToolTipRole and column == "record":
            summary = self.summary(flat)
            return summary.get("description") or summary["id"]
        if role == PATH_ROLE:
            return self.locate(flat)[0].path
        if role == SORT_ROLE:
            return self._key(flat, column)
        return None

    def _text(self, flat: int, column: str) -> str:
        if column == "file":
            return Path(self.locate(flat)[0].path).name
        summary = self.summary(flat)
        if column == "record":
            return summary["id"]
        if column == "length":
            return f"{summary['length']:,}"
        if column == "alphabet":
            return summary["alphabet"]
        if column == "GC%":
            gc = summary["gc_percent"]
            return "" if gc is None else f"{gc:.2f}"
        return f"{summary['feature_count']:,}"

    def _key(self, flat: int, column: str):
        if column == "file":
            return self.locate(flat)[0].path
        summary = self.summary(flat)
        key = {"record": "id", "length": "length", "alphabet": "alphabet", "GC%": "gc_percent",
               "features": "feature_count"}[column]
        value = summary[key]
        return -1.0 if value is None else value

    def item(self, row: int, column: int) -> QStandardItem:
        """A detached copy of one cell, as ``QStandardItemModel.item`` gives (for scripts)."""
        index = self.index(row, column)
        item = QStandardItem(self.data(index) or "")
        font = self.data(index, Qt.ItemDataRole.FontRole)
        if font is not None:
            item.setFont(font)
        item.setData(self.data(index, PATH_ROLE), PATH_ROLE)
        return item

    # -- sorting and filtering -----------------------------------------------------------------
    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort by ``column`` (-1: file order), stable: ties keep file order either way."""
        self.sort_column, self.sort_order = column, order
        self._relayout()

    def set_filter(self, text: str) -> None:
        """Keep the rows whose record name, alphabet or file name holds ``text`` (any case)."""
        self.filter_text = text
        self._relayout()

    def _relayout(self) -> None:
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()  # the selection and the current cell
        flats = [self.flat_row(i.row()) for i in persistent]
        self._set_order(self._ordered())
        self._cached = (-1, {})
        self.changePersistentIndexList(persistent, [
            self.index(self.view_row(f), i.column()) if self.view_row(f) >= 0 else QModelIndex()
            for f, i in zip(flats, persistent, strict=True)])
        self.layoutChanged.emit()

    def _set_order(self, order: np.ndarray | None) -> None:
        self.order = order
        if order is not None:  # and its inverse: a record switch finds its row in O(1)
            self._where = np.full(self.flat_count(), -1, dtype=np.int64)
            self._where[order] = np.arange(len(order))

    def _ordered(self) -> np.ndarray | None:
        """The flat rows to show, in order; None for all of them in file order."""
        order = None if self.sort_column < 0 else self._sorted(COLUMNS[self.sort_column])
        if self.filter_text:
            keep = self._matches(self.filter_text.lower())
            order = np.flatnonzero(keep) if order is None else order[keep[order]]
        return order

    def _keys(self, document: Document, column: str) -> np.ndarray:
        """Sort keys of one document's rows for ``column`` (GC% None as -1, first up)."""
        rows = document.summaries
        if column == "file":
            return np.full(len(rows), document.path, dtype=object)
        if column == "length":
            return np.asarray(summary_lengths(rows), dtype=np.int64)
        key = {"record": "id", "alphabet": "alphabet", "GC%": "gc_percent",
               "features": "feature_count"}[column]
        values = _column(rows, key)
        if column == "GC%":
            return np.nan_to_num(values, nan=-1.0)
        return np.asarray(values, dtype=object if column in ("record", "alphabet") else np.int64)

    def _sorted(self, column: str) -> np.ndarray:
        parts = [self._keys(document, column) for document in self.documents]
        keys = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        descending = self.sort_order == Qt.SortOrder.DescendingOrder
        if keys.dtype == object:  # names: Python's sort is stable in reverse too
            return np.array(sorted(range(len(keys)), key=keys.__getitem__, reverse=descending),
                            dtype=np.int64)
        return np.argsort(-keys if descending else keys, kind="stable")

    def _matches(self, needle: str) -> np.ndarray:
        keep = []
        for document in self.documents:
            rows = document.summaries
            if needle in Path(document.path).name.lower():
                keep.append(np.ones(len(rows), dtype=bool))
                continue
            ids, alphabets = _column(rows, "id"), _column(rows, "alphabet")
            keep.append(np.fromiter(
                (needle in i.lower() or needle in a for i, a in zip(ids, alphabets, strict=True)),
                dtype=bool, count=len(rows)))
        return np.concatenate(keep) if keep else np.zeros(0, dtype=bool)


class SequencesPanel(QWidget):
    def __init__(self, model: Workbench, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workbench = model
        self._subs = Subscriptions()
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("filter records")
        self.filter.setClearButtonEnabled(True)
        self.items = RecordTable(self)
        self._opened = -1  # the flat row last double-clicked: where its record event looks first
        self._filter_timer = QTimer(self, singleShot=True, interval=FILTER_DELAY_MS)
        self._filter_timer.timeout.connect(lambda: self.items.set_filter(self.filter.text()))
        self.filter.textChanged.connect(self._filter_timer.start)
        # A table view, not a tree: QTreeView lays out every row (a Python call each) before
        # it paints one; a QTableView of fixed-height rows asks only for the rows it shows.
        self.view = QTableView()
        self.view.setModel(self.items)
        self.view.setShowGrid(False)
        self.view.setWordWrap(False)
        self.view.verticalHeader().hide()
        rows = self.view.verticalHeader()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(self.fontMetrics().height() + 2)  # a tree view's rows
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        header = self.view.horizontalHeader()
        header.setHighlightSections(False)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setStretchLastSection(True)
        # Rows start in file order: Qt's header would otherwise sort by the first column,
        # descending. A third click on a header goes back to file order.
        header.setSortIndicatorClearable(True)
        header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.view.setSortingEnabled(True)
        self.view.setAlternatingRowColors(True)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.doubleClicked.connect(self._on_double_click)
        # Widths fit the first rows once per file list: kept resizing to contents, the header
        # would read a few thousand cells on every change of a row (each record switch).
        header.setResizeContentsPrecision(WIDTH_ROWS)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.filter)
        layout.addWidget(self.view)
        self._subs.connect(model.events.documents, self._on_documents)
        self._subs.connect(model.events.record, self._on_record)
        self._on_documents(model.documents)

    def _on_documents(self, documents) -> None:
        self.items.set_documents(documents)
        header = self.view.horizontalHeader()
        self.items.measuring = True
        try:
            for column in range(len(COLUMNS) - 1):
                header.resizeSection(column, max(self.view.sizeHintForColumn(column),
                                                 header.sectionSizeHint(column)))
        finally:
            self.items.measuring = False
        self._on_record(self.workbench.record)

    def _on_record(self, record: Record | None) -> None:
        flat = -1 if record is None else self.items.find(self.workbench.record_path, record.id,
                                                          self._opened)
        self.items.set_current(flat)

    def _on_double_click(self, index) -> None:
        flat = self._opened = self.items.flat_row(index.row())
        document, i = self.items.locate(flat)
        record_id = self.items.summary(flat)["id"]
        record = document.sequences[i]  # rows are the records in file order: no id lookup
        if record.id == record_id:
            self.workbench.set_record(document.path, record)
        else:
            self.open_row(document.path, record_id)

    def open_row(self, path: str, record_id: str) -> None:
        document = self.workbench.document(path)
        if document is not None:
            self.workbench.set_record(path, document.sequences[record_id])

    def closeEvent(self, event) -> None:
        self.disconnect_model()
        super().closeEvent(event)

    def disconnect_model(self) -> None:
        self._subs.disconnect_all()
