"""The Sequences panel: rows in file order until a header is clicked; numbers sort largest
first on their first click, names A to Z; a third click gives file order back."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt

from gui.model.jobs import Reporter, load_document
from gui.model.session import Workbench
from gui.panels.sequences import COLUMNS, SequencesPanel
from tests.conftest import lambda_bases

FILE_ORDER = ["zeta", "alpha", "beta"]  # 500, 2,000 and 3,000 bases


@pytest.fixture
def panel(qtbot, tmp_path):
    bases = lambda_bases(5500)
    path = tmp_path / "three.fa"
    path.write_text(f">zeta\n{bases[:500]}\n>alpha\n{bases[500:2500]}\n>beta\n{bases[2500:]}\n")
    model = Workbench()
    model.add_document(load_document(str(path), Reporter()))
    widget = SequencesPanel(model)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    yield widget
    widget.disconnect_model()
    model.close_all()


def shown(panel) -> list[str]:
    table = panel.view.model()
    return [table.data(table.index(row, 0)) for row in range(table.rowCount())]


def click_header(qtbot, panel, name: str) -> None:
    header = panel.view.horizontalHeader()
    column = COLUMNS.index(name)
    x = header.sectionViewportPosition(column) + header.sectionSize(column) // 2
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton,
                     pos=QPoint(x, header.height() // 2))


def test_rows_start_in_file_order_without_a_sort_indicator(panel):
    assert shown(panel) == FILE_ORDER
    assert panel.view.horizontalHeader().sortIndicatorSection() not in range(len(COLUMNS))


def test_a_click_on_length_puts_the_longest_first(qtbot, panel):
    click_header(qtbot, panel, "length")
    assert shown(panel) == ["beta", "alpha", "zeta"]
    assert panel.view.horizontalHeader().sortIndicatorOrder() == Qt.SortOrder.DescendingOrder
    click_header(qtbot, panel, "length")
    assert shown(panel) == ["zeta", "alpha", "beta"]


def test_names_sort_a_to_z_first_and_a_third_click_restores_file_order(qtbot, panel):
    click_header(qtbot, panel, "record")
    assert shown(panel) == ["alpha", "beta", "zeta"]
    click_header(qtbot, panel, "record")
    assert shown(panel) == ["zeta", "beta", "alpha"]
    click_header(qtbot, panel, "record")
    assert shown(panel) == FILE_ORDER
