"""The Sequences panel on a file of 10^5 records: a lazy table (no item per row), Qt asking only
for the rows it paints, a record switch repainting two rows, sorting and filtering by index
arrays, and a far row opened by double-click."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QAbstractTableModel, Qt
from PySide6.QtGui import QStandardItemModel

from engine.io import open_sequences
from engine.io.summary import summarise_records
from gui.model.jobs import Document
from gui.model.session import Workbench
from gui.panels.sequences import COLUMNS, RecordTable, SequencesPanel

N = 100_000


def length_of(i: int) -> int:
    return 1 + (i * 7919) % 13  # 1 to 13 bases, in no order


@pytest.fixture(scope="module")
def many(tmp_path_factory):
    path = tmp_path_factory.mktemp("many") / "many.fa"
    path.write_bytes(b"".join(b">r%d\n%s\n" % (i, (b"GATTACA" * 2)[: length_of(i)])
                              for i in range(N)))
    return path


class CountingTable(RecordTable):
    """The panel's table, counting how often Qt asks it for a cell."""

    calls = 0

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        CountingTable.calls += 1
        return super().data(index, role)


@pytest.fixture
def panel(qtbot, many, monkeypatch):
    monkeypatch.setattr("gui.panels.sequences.RecordTable", CountingTable)
    sequences = open_sequences(many)
    model = Workbench()
    model.add_document(Document(str(many), sequences, summarise_records(sequences)))
    CountingTable.calls = 0
    widget = SequencesPanel(model)
    qtbot.addWidget(widget)
    widget.resize(600, 400)
    widget.show()
    qtbot.waitExposed(widget)
    yield widget
    widget.disconnect_model()
    model.close_all()


def cell(panel, row: int, column: str, role=Qt.ItemDataRole.DisplayRole):
    return panel.view.model().index(row, COLUMNS.index(column)).data(role)


def test_the_table_is_lazy_and_qt_asks_only_for_the_rows_it_paints(panel):
    table = panel.view.model()
    assert isinstance(table, QAbstractTableModel) and not isinstance(table, QStandardItemModel)
    assert table.rowCount() == N
    panel.view.viewport().repaint()
    # a few screens of rows (and the 200 the column widths fit), never a pass over them all
    assert 0 < CountingTable.calls < 20_000
    assert cell(panel, N - 1, "record") == "r99999"
    assert cell(panel, N - 1, "length") == str(length_of(N - 1))
    assert cell(panel, N - 1, "file") == "many.fa"


def test_double_clicking_row_99_999_shows_that_record_in_bold(qtbot, panel):
    model = panel.workbench
    assert model.record is None
    model.set_record(str(panel.items.documents[0].path), panel.items.documents[0].sequences[0])
    index = panel.view.model().index(N - 1, 0)
    panel.view.scrollTo(index)
    centre = panel.view.visualRect(index).center()
    assert panel.view.viewport().rect().contains(centre)  # scrolled to the last screen
    qtbot.mouseClick(panel.view.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    qtbot.mouseDClick(panel.view.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    assert model.record.id == "r99999" and model.record.length == length_of(N - 1)
    assert cell(panel, N - 1, "record", Qt.ItemDataRole.FontRole).bold()
    assert cell(panel, 0, "record", Qt.ItemDataRole.FontRole) is None  # the old one: plain


def test_a_record_switch_asks_for_two_rows_not_every_row(qtbot, panel):
    document = panel.items.documents[0]
    panel.workbench.set_record(document.path, document.sequences["r50000"])
    panel.view.viewport().repaint()
    CountingTable.calls = 0
    for record_id in ("r99998", "r12345", "r3"):
        panel.workbench.set_record(document.path, document.sequences[record_id])
    panel.view.viewport().repaint()
    assert CountingTable.calls < 5_000  # the rows on screen, again; not 10^5 rows' fonts
    assert panel.items.current == 3
    assert cell(panel, 3, "record", Qt.ItemDataRole.FontRole).bold()


def test_sorting_by_length_is_stable_and_keeps_the_selection(qtbot, panel):
    view = panel.view
    view.selectRow(500)
    view.sortByColumn(COLUMNS.index("length"), Qt.SortOrder.DescendingOrder)
    lengths = np.array([length_of(i) for i in range(N)])
    expected = np.argsort(-lengths, kind="stable")
    shown = [int(cell(panel, row, "record")[1:]) for row in (0, 1, N // 2, N - 1)]
    assert shown == expected[[0, 1, N // 2, N - 1]].tolist()
    (selected,) = view.selectionModel().selectedRows()
    assert cell(panel, selected.row(), "record") == "r500"
    view.sortByColumn(-1, Qt.SortOrder.AscendingOrder)  # the header's third click
    assert cell(panel, 0, "record") == "r0" and cell(panel, N - 1, "record") == "r99999"


def test_the_filter_keeps_matching_names_after_a_pause_in_typing(qtbot, panel):
    panel.filter.setText("R9999")
    qtbot.waitUntil(lambda: panel.view.model().rowCount() == 11, timeout=3000)
    names = [cell(panel, row, "record") for row in range(11)]
    assert names == ["r9999"] + [f"r{99990 + i}" for i in range(10)]
    panel.filter.clear()
    qtbot.waitUntil(lambda: panel.view.model().rowCount() == N, timeout=3000)
