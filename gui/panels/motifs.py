"""The Motifs panel: which motifs the model has learned, on the record shown.

* A form: where the windows go (before each feature of a type of the open annotations, for
  example 60 bases before every CDS start codon, or over the view cut into windows), the
  attribution method (saliency, or exact mutagenesis), the context the model reads before each
  window, and whether to match against JASPAR (offline, the motifs extra).
* Find Motifs asks the controller; the job is a task in the status bar (progress, Cancel).
* The motifs as a table: logo (letter heights ``p * IC`` in bits), consensus, sign (raises or
  lowers the windows' likelihood), instances, windows, median offset from the anchor codon,
  best database match. Choosing a motif lists its instances; choosing an instance shows it in
  the view, with 20 bases either side.

The panel binds: its state is :class:`gui.model.motifs.MotifsModel`, its job
:class:`gui.controllers.motifs.MotifsController`'s.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import math

from PySide6.QtCore import QByteArray, QRectF, QSignalBlocker, QSize, Qt
from PySide6.QtGui import QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.analysis.logos import logo_svg, ppm_logo_heights
from engine.loci import format_locus
from gui.controllers.motifs import MotifsController
from gui.model.events import Subscriptions
from gui.model.locus import Locus
from gui.model.motifs import (
    METHODS,
    TARGETS,
    MotifResult,
    MotifSettings,
    MotifsModel,
    feature_types,
    instance_rows,
    jump_locus,
    motif_row,
)
from gui.model.session import Workbench

COLUMNS = ("logo", "motif", "consensus", "sign", "instances", "windows", "median offset",
           "best match")
LOGO_SIZE = QSize(180, 44)


def logo_pixmap(ppm, alphabet: bytes, size: QSize = LOGO_SIZE) -> QPixmap:
    """The motif's logo (engine SVG) painted into a pixmap of ``size``."""
    svg = logo_svg(ppm_logo_heights(ppm), alphabet, width_per_col=14, height=size.height())
    renderer = QSvgRenderer(QByteArray(svg.encode()))
    pixmap = QPixmap(size)
    pixmap.fill(Qt.GlobalColor.white)
    painter = QPainter(pixmap)
    view = renderer.defaultSize()
    scale = min(size.width() / max(1, view.width()), size.height() / max(1, view.height()))
    renderer.render(painter, QRectF(0, 0, view.width() * scale, view.height() * scale))
    painter.end()
    return pixmap


class MotifsPanel(QWidget):
    """The panel (module docstring). API: ``discover``, ``cancel``, ``choose_motif``,
    ``choose_instance``, ``motif_count``, ``instance_texts``; its state is ``motifs_model``,
    its job ``controller``'s."""

    def __init__(self, workbench: Workbench, controller: MotifsController,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workbench = workbench
        self.controller = controller
        self.motifs_model: MotifsModel = controller.motifs_model
        self._subs = Subscriptions()

        # -- the form ----------------------------------------------------------------------------
        self.source_box = QComboBox()
        self.source_box.addItem("before each feature", "features")
        self.source_box.addItem("over the view", "view")
        self.type_box = QComboBox()
        self.type_box.setToolTip("feature type of the open annotations")
        self.anchor_box = QComboBox()
        self.anchor_box.addItem("start codon", "start")
        self.anchor_box.addItem("end codon", "end")
        self.upstream_spin = self._spin(4, 1000, "bases before the codon")
        self.width_spin = self._spin(8, 1000, "width of each window over the view")
        self.method_box = QComboBox()
        for method, words in METHODS.items():
            self.method_box.addItem(words, method)
        self.target_box = QComboBox()
        for target, words in TARGETS.items():
            self.target_box.addItem(words, target)
        self.target_box.setToolTip("what is explained: each window's log-likelihood, or the "
                                   "codon's alone (which bases before it make the model "
                                   "expect it)")
        self.context_spin = self._spin(0, 4096, "bases the model reads before each window")
        self.jaspar_check = QCheckBox("match JASPAR")
        if importlib.util.find_spec("pyjaspar") is None:
            self.jaspar_check.setEnabled(False)
            self.jaspar_check.setToolTip('needs the motifs extra: pip install "bytescope[motifs]"')
        else:
            self.jaspar_check.setToolTip("best JASPAR CORE matches (offline)")
        self.run_button = QPushButton("Find Motifs")
        self.run_button.clicked.connect(self.discover)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.status = QLabel()
        self.status.setWordWrap(True)

        for box in (self.source_box, self.type_box, self.anchor_box, self.method_box,
                    self.target_box):
            box.currentIndexChanged.connect(self._on_form)
        for spin in (self.upstream_spin, self.width_spin, self.context_spin):
            spin.valueChanged.connect(self._on_form)
        self.jaspar_check.toggled.connect(self._on_form)

        where, how = QHBoxLayout(), QHBoxLayout()
        for row, pairs in ((where, (("windows", self.source_box), ("type", self.type_box),
                                    ("at", self.anchor_box), ("upstream", self.upstream_spin),
                                    ("width", self.width_spin))),
                           (how, (("method", self.method_box),
                                  ("explain", self.target_box),
                                  ("context", self.context_spin)))):
            for label, widget in pairs:
                row.addWidget(QLabel(label))
                row.addWidget(widget)
            row.addStretch(1)
        how.insertWidget(how.count() - 1, self.jaspar_check)
        how.addWidget(self.run_button)
        how.addWidget(self.cancel_button)

        # -- the results -------------------------------------------------------------------------
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setIconSize(LOGO_SIZE)
        self.table.currentCellChanged.connect(lambda row, *_: self.choose_motif(row))
        self.instances = QListWidget()
        self.instances.setToolTip("instances of the motif chosen; click one to show it")
        self.instances.currentRowChanged.connect(self.choose_instance)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.table)
        splitter.addWidget(self.instances)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)

        layout = QVBoxLayout(self)
        layout.addLayout(where)
        layout.addLayout(how)
        layout.addWidget(self.status)
        layout.addWidget(splitter, 1)

        events, wb = self.motifs_model.events, workbench.events
        for signal, slot in ((events.settings, self._on_settings),
                             (events.result, self._on_result),
                             (events.selected, self._on_selected),
                             (events.status, self._on_status),
                             (events.running, self._on_running),
                             (wb.features, self._on_features)):
            self._subs.connect(signal, slot)
        self._on_features(workbench.features)
        self._on_settings(self.motifs_model.settings)
        self._on_result(self.motifs_model.result)
        self.status.setText(self.motifs_model.status or
                            "Find the motifs the model has learned: its attributions, "
                            "clustered.")

    @staticmethod
    def _spin(low: int, high: int, tip: str) -> QSpinBox:
        spin = QSpinBox()
        spin.setRange(low, high)
        spin.setToolTip(tip)
        spin.setKeyboardTracking(False)
        return spin

    # -- the form <-> the settings -------------------------------------------------------------
    def _on_form(self, *_args) -> None:
        settings = dataclasses.replace(
            self.motifs_model.settings, source=self.source_box.currentData(),
            feature_type=self.type_box.currentText() or self.motifs_model.settings.feature_type,
            anchor=self.anchor_box.currentData(), upstream=self.upstream_spin.value(),
            width=self.width_spin.value(), method=self.method_box.currentData(),
            target=self.target_box.currentData(), context=self.context_spin.value(),
            jaspar=self.jaspar_check.isChecked() and self.jaspar_check.isEnabled())
        self.motifs_model.set_settings(settings)

    def _on_settings(self, settings: MotifSettings) -> None:
        widgets = (self.source_box, self.type_box, self.anchor_box, self.method_box,
                   self.target_box, self.upstream_spin, self.width_spin, self.context_spin,
                   self.jaspar_check)
        blockers = [QSignalBlocker(w) for w in widgets]
        try:
            self.source_box.setCurrentIndex(self.source_box.findData(settings.source))
            index = self.type_box.findText(settings.feature_type)
            if index >= 0:
                self.type_box.setCurrentIndex(index)
            self.anchor_box.setCurrentIndex(self.anchor_box.findData(settings.anchor))
            self.method_box.setCurrentIndex(self.method_box.findData(settings.method))
            self.target_box.setCurrentIndex(self.target_box.findData(settings.target))
            self.upstream_spin.setValue(settings.upstream)
            self.width_spin.setValue(settings.width)
            self.context_spin.setValue(settings.context)
            self.jaspar_check.setChecked(settings.jaspar)
        finally:
            for blocker in blockers:
                blocker.unblock()
        features = settings.source == "features"
        for widget in (self.type_box, self.anchor_box, self.upstream_spin, self.target_box):
            widget.setEnabled(features)
        self.width_spin.setEnabled(not features)

    def _on_features(self, indexes) -> None:
        types = feature_types(f for index in indexes for f in index.features)
        with QSignalBlocker(self.type_box):
            self.type_box.clear()
            self.type_box.addItems(types)
        self._on_settings(self.motifs_model.settings)

    # -- actions -------------------------------------------------------------------------------
    def discover(self) -> int | None:
        return self.controller.discover()

    def cancel(self) -> None:
        self.controller.cancel()

    def choose_motif(self, row: int) -> None:
        self.motifs_model.select(row if row >= 0 else None)

    def choose_instance(self, row: int) -> None:
        rows = instance_rows(self.motifs_model.result, self.motifs_model.selected)
        if not 0 <= row < len(rows):
            return
        record, start, end = jump_locus(rows[row])
        if self.workbench.record is not None and record == self.workbench.record.id:
            self.workbench.set_locus(Locus(record, start, min(end, self.workbench.record.length)))

    # -- the model -> the widgets --------------------------------------------------------------
    def _on_status(self, status: str) -> None:
        self.status.setText(status)

    def _on_running(self, running: bool) -> None:
        self.run_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)

    def _on_result(self, result: MotifResult | None) -> None:
        self.table.setRowCount(0)
        if result is not None:
            motifs = result.discovery.motifs
            self.table.setRowCount(len(motifs))
            for i, motif in enumerate(motifs):
                row = motif_row(result, i)
                logo = QTableWidgetItem()
                logo.setData(Qt.ItemDataRole.DecorationRole,
                             logo_pixmap(motif.ppm, motif.alphabet))
                self.table.setItem(i, 0, logo)
                offset = "" if math.isnan(row["offset"]) else f"{row['offset']:+.0f}"
                for j, value in enumerate((row["name"], row["consensus"], row["sign"],
                                           f"{row['instances']:,}", f"{row['windows']:,}",
                                           offset, row["match"]), start=1):
                    self.table.setItem(i, j, QTableWidgetItem(value))
                self.table.setRowHeight(i, LOGO_SIZE.height() + 4)
            self.table.setColumnWidth(0, LOGO_SIZE.width() + 8)
        self._on_selected(self.motifs_model.selected)

    def _on_selected(self, index: int | None) -> None:
        with QSignalBlocker(self.table):
            self.table.setCurrentCell(index if index is not None else -1, 0)
        with QSignalBlocker(self.instances):
            self.instances.clear()
            for record, start, end, strand, score in instance_rows(self.motifs_model.result,
                                                                   index):
                self.instances.addItem(f"{format_locus(record, start, end)} ({strand}) "
                                       f"{score:+.3g}")

    # -- for tests and scripts ------------------------------------------------------------------
    def motif_count(self) -> int:
        return self.table.rowCount()

    def instance_texts(self) -> list[str]:
        return [self.instances.item(i).text() for i in range(self.instances.count())]

    def disconnect_model(self) -> None:
        self._subs.disconnect_all()
