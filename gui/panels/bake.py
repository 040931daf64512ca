"""The Bake panel (Model ▸ Bake…): a trained model as int8 or ternary, and what that costs.

* A form: the model (a bundled name, a model folder or a run folder), the bake (int8;
  ternary fine-tuned toward its quantized weights; ternary after training, a diagnostic), the
  data (to fine-tune on, and whose longest record's last tenth the report is measured on;
  the open file when none is given), the fine-tuning steps and blend, the baked folder.
* Bake asks the controller; Stop stops the fine-tuning run (checkpointed: Bake resumes it) or
  cancels the bake. The fine-tuning run is also the Training panel's live run, with every
  curve there; this panel draws its loss and the teacher-distillation term.
* The report: fp32 beside the bake as a table (sizes, resident memory and whole-process
  throughput of `bytescope score`, held-out bits per base with and without the repeat expert,
  entropy-patch boundary F1) and a bar chart of each figure as a ratio to fp32.
* Use Baked Model: the tracks re-score with the baked folder, the fp32 entropy drawn dashed
  over the entropy track.

The panel binds: its state is :class:`gui.model.bake.BakeModel`, its work
:class:`gui.controllers.bake.BakeController`'s.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gui.controllers.bake import BakeController
from gui.model.bake import (
    BAKES,
    BAR_METRICS,
    REPORT_COLUMNS,
    BakeModel,
    BakeResult,
    BakeSettings,
    bar_values,
    report_rows,
)
from gui.model.events import Subscriptions
from gui.model.session import Workbench

BAR_COLOURS = ((120, 120, 120), (31, 119, 180), (255, 127, 14), (44, 160, 44))
SPEED_BYTES = 200_000


class BakePanel(QWidget):
    """The panel (module docstring). API: ``bake``, ``stop``, ``use_baked``,
    ``report_texts``; its state is ``bake_model``, its work ``controller``'s."""

    def __init__(self, workbench: Workbench, controller: BakeController,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workbench = workbench
        self.controller = controller
        self.bake_model: BakeModel = controller.bake_model
        self._subs = Subscriptions()

        # -- the form ----------------------------------------------------------------------------
        self.source_box = QComboBox()
        self.source_box.setEditable(True)
        self.source_box.addItems(["default", "fast"])
        self.source_box.setToolTip("the model to bake: a bundled name (default, fast), a model "
                                   "folder or a training run's folder (its best checkpoint)")
        self.source_button = QPushButton("Browse…")
        self.source_button.clicked.connect(self._choose_source)
        self.bake_box = QComboBox()
        self.bake_box.addItems(list(BAKES))
        self.bake_box.setToolTip(
            "int8: weights with one scale per output channel, activations per token. Ternary "
            "(BitNet b1.58): weights in {-1, 0, +1} times one scale; fine-tuned toward them "
            "with the model as teacher, or quantized as trained (small models lose most of "
            "what they learned that way: a diagnostic)")
        self.data_edit = QLineEdit()
        self.data_edit.setPlaceholderText("the open file")
        self.data_edit.setToolTip("sequence files (separated by ;) to fine-tune on (their first "
                                  "90%) and to measure on (the first file's longest record, "
                                  "its last 10%)")
        self.data_button = QPushButton("Add…")
        self.data_button.clicked.connect(self._add_data)
        self.steps_spin = self._spin(1, 1_000_000, "fine-tuning steps")
        self.blend_spin = self._spin(0, 1_000_000, "steps over which the ternary forward is "
                                     "blended in")
        self.out_edit = QLineEdit()
        self.out_edit.setPlaceholderText("<runs workspace>/bakes/<model>-<bake>")
        self.out_edit.setToolTip("the baked model folder")
        self.embedding_check = QCheckBox("int8 embedding")
        self.embedding_check.setToolTip("store the byte embedding (which the output head "
                                        "shares) as int8 rows too; it computes in float32")
        self.evaluate_check = QCheckBox("report")
        self.evaluate_check.setToolTip("measure fp32 and the bake side by side on the data")
        self.speed_check = QCheckBox("time scoring")
        self.speed_check.setToolTip(f"score the first {SPEED_BYTES:,} bases with each model in "
                                    "a fresh process: throughput and peak memory")
        self.bake_button = QPushButton("Bake")
        self.bake_button.clicked.connect(self.bake)
        self.stop_button = QPushButton("Stop")
        self.stop_button.clicked.connect(self.stop)
        self.use_check = QCheckBox("Use Baked Model")
        self.use_check.setToolTip("score the tracks with the baked model; the fp32 entropy is "
                                  "drawn dashed over the entropy track")
        self.use_check.toggled.connect(self.use_baked)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.source_box.currentTextChanged.connect(self._on_form)
        self.bake_box.currentIndexChanged.connect(self._on_form)
        self.data_edit.editingFinished.connect(self._on_form)
        self.out_edit.editingFinished.connect(self._on_form)
        for spin in (self.steps_spin, self.blend_spin):
            spin.valueChanged.connect(self._on_form)
        for check in (self.evaluate_check, self.speed_check, self.embedding_check):
            check.toggled.connect(self._on_form)

        what, data, go = QHBoxLayout(), QHBoxLayout(), QHBoxLayout()
        for row, pairs in ((what, (("model", self.source_box), (None, self.source_button),
                                   ("bake", self.bake_box), ("steps", self.steps_spin),
                                   ("blend", self.blend_spin))),
                           (data, (("data", self.data_edit), (None, self.data_button),
                                   ("into", self.out_edit))),
                           (go, ((None, self.embedding_check), (None, self.evaluate_check),
                                 (None, self.speed_check),
                                 (None, self.bake_button), (None, self.stop_button),
                                 (None, self.use_check)))):
            for label, widget in pairs:
                if label:
                    row.addWidget(QLabel(label))
                row.addWidget(widget, 1 if isinstance(widget, QLineEdit) else 0)
        go.addStretch(1)

        # -- the curve, the report, the bars -----------------------------------------------------
        self.curve_plot = pg.PlotWidget(background="w")
        self.curve_plot.setMinimumSize(220, 150)
        self.curve_plot.setLabel("bottom", "step")
        self.curve_plot.setLabel("left", "loss (nats)")
        self.curve_plot.addLegend(offset=(-6, 6))
        self.loss_line = self.curve_plot.plot([], [], pen=pg.mkPen((31, 119, 180), width=1.5),
                                              name="loss")
        self.aux_line = self.curve_plot.plot([], [], pen=pg.mkPen((255, 127, 14), width=1.5),
                                             name="distillation")
        self.val_points = self.curve_plot.plot([], [], pen=None, symbol="o", symbolSize=6,
                                               symbolBrush=(44, 160, 44),
                                               name="validation (bits/byte)")
        self.table = QTableWidget(0, len(REPORT_COLUMNS))
        self.table.setHorizontalHeaderLabels(REPORT_COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setMinimumHeight(90)
        self.bars = pg.PlotWidget(background="w")
        self.bars.setMinimumSize(260, 150)
        self.bars.setLabel("left", "× fp32")
        self.bars.getAxis("bottom").setTicks([list(enumerate(BAR_METRICS))])
        self.bars.setMouseEnabled(False, False)
        self.bars.addLegend(offset=(-6, 6))
        self.bars.addItem(pg.InfiniteLine(1.0, angle=0, pen=pg.mkPen((150, 150, 150),
                                                                     style=Qt.PenStyle.DashLine)))
        self.bar_items: list[pg.BarGraphItem] = []

        charts = QSplitter(Qt.Orientation.Horizontal)
        charts.addWidget(self.curve_plot)
        charts.addWidget(self.table)
        charts.addWidget(self.bars)
        charts.setStretchFactor(0, 2)
        charts.setStretchFactor(1, 4)
        charts.setStretchFactor(2, 2)
        charts.setMinimumHeight(200)
        # the plots' size hints (480 px) would make the panel's preferred height, which a
        # scroll area gives a word-wrapping panel, taller than the dock: take the room there is
        policy = charts.sizePolicy()
        policy.setVerticalPolicy(QSizePolicy.Policy.Ignored)
        charts.setSizePolicy(policy)
        self.curve_plot.hide()  # until a fine-tuning run has rows

        layout = QVBoxLayout(self)
        layout.addLayout(what)
        layout.addLayout(data)
        layout.addLayout(go)
        layout.addWidget(self.status)
        layout.addWidget(charts, 1)

        events = self.bake_model.events
        for signal, slot in ((events.settings, self._on_settings),
                             (events.phase, self._on_phase),
                             (events.status, self._on_status),
                             (events.curve, self._on_curve),
                             (events.result, self._on_result),
                             (events.using, self._on_using)):
            self._subs.connect(signal, slot)
        self._on_settings(self.bake_model.settings)
        self._on_phase(self.bake_model.phase)
        self._on_curve(self.bake_model.curve)
        self._on_result(self.bake_model.result)
        self.status.setText(self.bake_model.status or
                            "Bake a model into int8 or ternary and see what it costs: size, "
                            "speed, bits per base and where the patches fall.")

    @staticmethod
    def _spin(low: int, high: int, tip: str) -> QSpinBox:
        spin = QSpinBox()
        spin.setRange(low, high)
        spin.setToolTip(tip)
        spin.setKeyboardTracking(False)
        spin.setGroupSeparatorShown(True)
        return spin

    # -- the form <-> the settings -------------------------------------------------------------
    def _on_form(self, *_args) -> None:
        data = tuple(p.strip() for p in self.data_edit.text().split(";") if p.strip())
        settings = dataclasses.replace(
            self.bake_model.settings, source=self.source_box.currentText().strip() or "default",
            bake=self.bake_box.currentText(), data=data, steps=self.steps_spin.value(),
            blend_steps=self.blend_spin.value(), out=self.out_edit.text().strip(),
            evaluate=self.evaluate_check.isChecked(),
            speed_bytes=SPEED_BYTES if self.speed_check.isChecked() else 0,
            embedding="int8" if self.embedding_check.isChecked() else "float32")
        self.bake_model.set_settings(settings)

    def _on_settings(self, settings: BakeSettings) -> None:
        widgets = (self.source_box, self.bake_box, self.data_edit, self.steps_spin,
                   self.blend_spin, self.out_edit, self.evaluate_check, self.speed_check,
                   self.embedding_check)
        blockers = [QSignalBlocker(w) for w in widgets]
        try:
            if self.source_box.currentText() != settings.source:
                self.source_box.setCurrentText(settings.source)
            self.bake_box.setCurrentText(settings.bake)
            self.data_edit.setText("; ".join(settings.data))
            self.steps_spin.setValue(settings.steps)
            self.blend_spin.setValue(settings.blend_steps)
            self.out_edit.setText(settings.out)
            self.evaluate_check.setChecked(settings.evaluate)
            self.speed_check.setChecked(settings.speed_bytes > 0)
            self.embedding_check.setChecked(settings.embedding == "int8")
        finally:
            for blocker in blockers:
                blocker.unblock()
        qat = settings.method == "qat"
        self.steps_spin.setEnabled(qat)
        self.blend_spin.setEnabled(qat)
        self.speed_check.setEnabled(settings.evaluate)

    def _choose_source(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Model or run folder to bake")
        if folder:
            self.source_box.setCurrentText(folder)

    def _add_data(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Sequence files")
        if paths:
            old = [p for p in self.data_edit.text().split(";") if p.strip()]
            self.data_edit.setText("; ".join([*old, *paths]))
            self._on_form()

    # -- actions -------------------------------------------------------------------------------
    def bake(self):
        self._on_form()  # a field still being edited counts
        return self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    def use_baked(self, use: bool) -> None:
        self.controller.use_baked(use)

    # -- the model -> the widgets --------------------------------------------------------------
    def _on_phase(self, phase: str) -> None:
        busy = phase in ("training", "baking")
        if phase == "training":
            self.curve_plot.show()
        self.bake_button.setEnabled(not busy)
        self.stop_button.setEnabled(busy)
        self.use_check.setEnabled(self.bake_model.result is not None and not busy)

    def _on_status(self, status: str) -> None:
        self.status.setText(status)

    def _on_using(self, using: bool) -> None:
        with QSignalBlocker(self.use_check):
            self.use_check.setChecked(using)

    def _on_curve(self, rows: list[dict]) -> None:
        steps = [r for r in rows if r.get("group") == "step"]
        evals = [r for r in rows if r.get("group") == "eval"]

        def xy(table, key):
            pairs = [(float(r["step"]), float(r[key])) for r in table
                     if key in r and not math.isnan(float(r[key]))]
            return (np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs]))

        self.curve_plot.setVisible(bool(rows) or self.bake_model.phase == "training")
        self.loss_line.setData(*xy(steps, "loss"))
        self.aux_line.setData(*xy(steps, "aux_loss"))
        self.val_points.setData(*xy(evals, "val_bits_per_byte"))

    def _on_result(self, result: BakeResult | None) -> None:
        rows = report_rows(result.reports) if result is not None else []
        self.table.setRowCount(len(rows))
        for i, row in enumerate(rows):
            for j, value in enumerate(row):
                item = QTableWidgetItem(value)
                if j:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight |
                                          Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(i, j, item)
        self.table.resizeColumnsToContents()
        for item in self.bar_items:
            self.bars.removeItem(item)
        self.bar_items = []
        values = bar_values(result.reports) if result is not None else []
        width = 0.8 / max(1, len(values))
        for k, (label, figures) in enumerate(values):
            x = np.arange(len(BAR_METRICS)) - 0.4 + width * (k + 0.5)
            heights = np.nan_to_num(np.array(figures, dtype=float), nan=0.0)
            item = pg.BarGraphItem(x=x, height=heights, width=width * 0.9,
                                   brush=pg.mkBrush(*BAR_COLOURS[k % len(BAR_COLOURS)]),
                                   name=label)
            self.bars.addItem(item)
            self.bar_items.append(item)
        if values:
            top = max([1.0, *(v for _, f in values for v in f if not math.isnan(v))])
            self.bars.setYRange(0, top * 1.3, padding=0)  # room for the legend above
            self.bars.setXRange(-0.6, len(BAR_METRICS) - 0.4, padding=0)
        self._on_phase(self.bake_model.phase)

    # -- for tests and scripts ------------------------------------------------------------------
    def report_texts(self) -> list[list[str]]:
        return [[self.table.item(i, j).text() for j in range(self.table.columnCount())]
                for i in range(self.table.rowCount())]

    def disconnect_model(self) -> None:
        self._subs.disconnect_all()
