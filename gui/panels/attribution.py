"""The Attribution panel: why the model predicts what it does at a base or over a region.

* A form: the target (surprisal at a base, entropy at a base, a region's log-likelihood), the
  base or region (1-based, as the locus box; a click on the entropy track chooses the base, a
  shift-drag selects the region), the method (saliency, integrated gradients with its
  quadrature steps, mutagenesis of the bases before the target) and the context the model
  reads. A line says whether the repeat expert is part of what is explained.
* Explain (also the entropy track's right-click menu and Model ▸ Explain…) asks the
  controller; the job is a task in the status bar (progress, Cancel). A result computed
  before (same file, record, model, target, method and options) is shown at once.
* The contributions go to the attribution track under the entropy (wired by the window);
  here, heat maps in the Maps style: the mutagenesis matrix (letters × bases mutated, a
  diverging map on ``-m..m``) and the dependency map (bases × bases, ``0..max``). Both lie on
  record bases and follow the view's locus; hovering a column moves the tracks' cursor to
  its base, clicking centres the view on it.

The panel binds: its state is :class:`gui.model.attribution.AttributionModel`, its jobs
:class:`gui.controllers.attribution.AttributionController`'s.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, QSignalBlocker, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from engine.errors import BytescopeError
from gui.controllers.attribution import AttributionController
from gui.model.attribution import (
    MAX_SPAN,
    MAX_STEPS,
    METHOD_LABELS,
    TARGET_KINDS,
    TARGET_LABELS,
    AttributionModel,
    DependencyResult,
    ExplainSettings,
    Explanation,
    Heat,
    dependency_cell_words,
    dependency_heat,
    expert_words,
    ism_cell_words,
    ism_heat,
    ism_matrix,
)
from gui.model.events import Subscriptions
from gui.model.locus import Locus, centre_on
from gui.model.session import Workbench

COLORMAP = "viridis"  # as the Maps panel: 0..max
SIGNED_COLORMAP = "CET-D1"  # blue - white - red: the sign of an effect matters
MAX_CONTEXT = 1 << 16  # the job clamps it to the model's window
PLACEHOLDER = ("Click a base in the entropy track (or shift-drag over a region), choose a "
               "target and a method, then Explain. Mutagenesis shows its matrix here; "
               "Dependency Map the map of the region.")


class HeatPlot:
    """One heat map in the Maps style: an ``ImageItem`` on record bases with a colour bar."""

    def __init__(self, colormap: str, left_label: str) -> None:
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        self.plot = self.graphics.addPlot()
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.setMouseEnabled(x=False, y=False)  # the tracks' locus drives the x range
        self.plot.invertY(True)  # row 0 on top, as a matrix reads
        self.plot.getViewBox().setDefaultPadding(0.0)
        self.plot.setLabel("left", left_label)
        self.plot.setLabel("bottom", "base")
        self.image = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image)
        self.colormap = pg.colormap.get(colormap)
        self.bar = pg.ColorBarItem(values=(0.0, 1.0), colorMap=self.colormap, width=12,
                                   interactive=False)
        self.bar.setImageItem(self.image, insert_in=self.plot)
        self.bar.axis.enableAutoSIPrefix(False)
        self.heat: Heat | None = None

    def show(self, heat: Heat | None, title: str = "") -> None:
        self.heat = heat
        if heat is None:
            self.image.clear()
            self.plot.setTitle("")
            return
        rows, cols = heat.data.shape
        self.image.setImage(heat.data, autoLevels=False, levels=heat.levels)
        self.bar.setLevels(values=heat.levels)
        rect = QRectF(heat.x0, heat.y0, cols, rows)
        self.image.setRect(rect)
        left = self.plot.getAxis("left")
        if heat.row_labels:
            left.setTicks([[(heat.y0 + i + 0.5, label)
                            for i, label in enumerate(heat.row_labels)]])
        else:
            left.setTicks(None)
        self.plot.setTitle(title, size="9pt")
        self.plot.getViewBox().setRange(rect, padding=0)

    def follow(self, locus: Locus | None) -> None:
        """Show the part of the map the view's locus covers (all of it when none does)."""
        heat = self.heat
        if heat is None:
            return
        lo, hi = heat.x0, heat.x0 + heat.data.shape[1]
        if locus is not None and locus.start < hi and locus.end > lo:
            lo, hi = max(lo, locus.start), min(hi, locus.end)
        self.plot.setXRange(lo, hi, padding=0)

    def cell_at(self, scene_pos) -> tuple[int, int] | None:
        """``(row, column)`` of the cell under a scene position, if any."""
        heat = self.heat
        vb = self.plot.getViewBox()
        if heat is None or not vb.sceneBoundingRect().contains(scene_pos):
            return None
        point = vb.mapSceneToView(scene_pos)
        row, col = math.floor(point.y() - heat.y0), math.floor(point.x() - heat.x0)
        rows, cols = heat.data.shape
        return (row, col) if 0 <= row < rows and 0 <= col < cols else None

    def scene_pos_of(self, row: int, col: int):
        heat = self.heat
        return self.plot.getViewBox().mapViewToScene(
            pg.Point(heat.x0 + col + 0.5, heat.y0 + row + 0.5))


class AttributionPanel(QWidget):
    """The panel (module docstring). API: ``explain``, ``explain_base``, ``explain_region``,
    ``dependency``, ``cancel``, ``ism_data``, ``dependency_data``, ``hover_text``,
    ``go_to_base``; its state is ``attribution_model``, its jobs ``controller``'s."""

    def __init__(self, workbench: Workbench, controller: AttributionController,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workbench = workbench
        self.controller = controller
        self.attribution_model: AttributionModel = controller.attribution_model
        self._subs = Subscriptions()

        # -- the form ----------------------------------------------------------------------------
        self.target_box = QComboBox()
        for kind in TARGET_KINDS:
            self.target_box.addItem(TARGET_LABELS[kind], kind)
        self.base_spin = self._spin(0, 1, "base (1-based); click it in the entropy track")
        self.base_spin.setSpecialValueText("—")
        self.region_start = self._spin(0, 1, "first base of the region (1-based)")
        self.region_end = self._spin(0, 1, "last base of the region (inclusive)")
        for spin in (self.region_start, self.region_end):
            spin.setSpecialValueText("—")
        self.method_box = QComboBox()
        for method, words in METHOD_LABELS.items():
            self.method_box.addItem(words, method)
        self.steps_spin = self._spin(2, MAX_STEPS, "integrated gradients: quadrature points")
        self.span_spin = self._spin(1, MAX_SPAN, "mutagenesis: bases mutated before the "
                                                 "target; dependency map: its width")
        self.context_spin = self._spin(1, MAX_CONTEXT, "bases before the target the model "
                                                       "reads (at most its window)")
        self.explain_button = QPushButton("Explain")
        self.explain_button.setToolTip("explain the target with the Workbench's model")
        self.explain_button.clicked.connect(self.explain)
        self.dependency_button = QPushButton("Dependency Map")
        self.dependency_button.clicked.connect(self.dependency)
        self.dependency_button.setToolTip("how each base's prediction depends on each "
                                          "earlier base of the region (or the bases before "
                                          "the base chosen); the network alone")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)

        form = QHBoxLayout()
        for words, widget in (("Target", self.target_box), ("Base", self.base_spin),
                              ("Region", self.region_start), ("–", self.region_end),
                              ("Method", self.method_box), ("Steps", self.steps_spin),
                              ("Mutate", self.span_spin), ("Context", self.context_spin)):
            form.addWidget(QLabel(words))
            form.addWidget(widget)
        form.addStretch(1)
        self.expert = QLabel()
        self.expert.setStyleSheet("color: #555;")
        self.expert.setWordWrap(True)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        words = QVBoxLayout()
        words.setSpacing(0)
        words.addWidget(self.status)
        words.addWidget(self.expert)
        lines = QHBoxLayout()
        for button in (self.explain_button, self.dependency_button, self.cancel_button):
            lines.addWidget(button)
        lines.addSpacing(8)
        lines.addLayout(words, 1)

        # -- heat maps ---------------------------------------------------------------------------
        self.ism = HeatPlot(SIGNED_COLORMAP, "base substituted")
        self.dependency_map = HeatPlot(COLORMAP, "base changed")
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.ism.graphics)
        self.splitter.addWidget(self.dependency_map.graphics)
        self.hover = QLabel(" ")
        self.hover.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        heat = QWidget()
        heat_layout = QVBoxLayout(heat)
        heat_layout.setContentsMargins(0, 0, 0, 0)
        heat_layout.addWidget(self.splitter, 1)
        heat_layout.addWidget(self.hover)
        heat.setMinimumHeight(150)
        self.placeholder = QLabel(PLACEHOLDER)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.placeholder.setStyleSheet("color: #666; font-size: 11pt;")
        self.pages = QStackedWidget()
        self.pages.addWidget(self.placeholder)
        self.pages.addWidget(heat)
        for plot in (self.ism, self.dependency_map):
            scene = plot.graphics.scene()
            scene.sigMouseMoved.connect(lambda pos, p=plot: self._on_mouse_moved(p, pos))
            scene.sigMouseClicked.connect(lambda event, p=plot: self._on_mouse_clicked(p, event))

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addLayout(form)
        layout.addLayout(lines)
        layout.addWidget(self.pages, 1)

        for box in (self.target_box, self.method_box):
            box.currentIndexChanged.connect(self._on_form)
        for spin in (self.base_spin, self.region_start, self.region_end, self.steps_spin,
                     self.span_spin, self.context_spin):
            spin.valueChanged.connect(self._on_form)

        events, wb = self.attribution_model.events, workbench.events
        for signal, slot in ((events.settings, self._on_settings),
                             (events.result, self._on_result),
                             (events.dependency, self._on_dependency),
                             (events.status, self._on_status),
                             (events.running, self._on_running),
                             (wb.record, self._on_record), (wb.locus, self._on_locus),
                             (wb.repeats, self._on_repeats)):
            self._subs.connect(signal, slot)
        self._on_record(workbench.record)
        self.status.setText(self.attribution_model.status)
        self._on_result(self.attribution_model.result)
        self._on_dependency(self.attribution_model.dependency)

    @staticmethod
    def _spin(low: int, high: int, tip: str) -> QSpinBox:
        spin = QSpinBox()
        spin.setRange(low, high)
        spin.setToolTip(tip)
        spin.setGroupSeparatorShown(True)
        spin.setKeyboardTracking(False)  # typed numbers apply on Enter, not per digit
        return spin

    # -- the form <-> the settings -------------------------------------------------------------
    def _on_record(self, record) -> None:
        length = record.length if record is not None else 1
        for spin in (self.base_spin, self.region_start, self.region_end):
            with QSignalBlocker(spin):
                spin.setRange(0, length)
        self._on_settings(self.attribution_model.settings)

    def _on_settings(self, settings: ExplainSettings) -> None:
        """Show the settings in the form (without writing them back)."""
        widgets = (self.target_box, self.method_box, self.base_spin, self.region_start,
                   self.region_end, self.steps_spin, self.span_spin, self.context_spin)
        blockers = [QSignalBlocker(w) for w in widgets]
        try:
            self.target_box.setCurrentIndex(self.target_box.findData(settings.target))
            self.method_box.setCurrentIndex(self.method_box.findData(settings.method))
            self.base_spin.setValue(0 if settings.base is None else settings.base + 1)
            start, end = settings.region if settings.region is not None else (-1, 0)
            self.region_start.setValue(start + 1)
            self.region_end.setValue(end)
            self.steps_spin.setValue(settings.steps)
            self.span_spin.setValue(settings.span)
            self.context_spin.setValue(settings.context)
        finally:
            for blocker in blockers:
                blocker.unblock()
        self.steps_spin.setEnabled(settings.method == "ig")
        self.span_spin.setEnabled(True)  # mutagenesis's span, and the dependency map's width
        self._on_repeats(self.workbench.repeats)

    def _on_form(self, _value=None) -> None:
        base = self.base_spin.value() - 1
        start, end = self.region_start.value() - 1, self.region_end.value()
        region = (start, end) if start >= 0 and end > start else None
        try:
            self.attribution_model.set_settings(ExplainSettings(
                target=self.target_box.currentData(), base=base if base >= 0 else None,
                region=region, method=self.method_box.currentData(),
                steps=self.steps_spin.value(), context=self.context_spin.value(),
                span=self.span_spin.value()))
        except BytescopeError as error:
            self.attribution_model.set_status(error.message)

    def _on_status(self, text: str) -> None:
        self.status.setText(text)

    def _on_running(self, running: bool) -> None:
        self.cancel_button.setEnabled(running)

    def _on_repeats(self, on: bool) -> None:
        self.expert.setText("Repeat expert: " + expert_words(
            self.attribution_model.settings.method, bool(on)))

    # -- asking ------------------------------------------------------------------------------------
    def explain(self) -> int | None:
        """Explain the form's target now (the controller's job); returns its request id
        (None: the answer was cached and is shown, or the status says what is missing)."""
        return self.controller.explain()

    def explain_base(self, kind: str, base: int, method: str | None = None) -> int | None:
        """Explain the surprisal or entropy at ``base`` (0-based) with ``method`` (default:
        the form's)."""
        changes = {"target": kind, "base": base}
        if method is not None:
            changes["method"] = method
        self.attribution_model.change(**changes)
        return self.explain()

    def explain_region(self, region: tuple[int, int], method: str | None = None) -> int | None:
        """Explain the log-likelihood of bases ``[start, end)``."""
        changes = {"target": "region", "region": tuple(region)}
        if method is not None:
            changes["method"] = method
        self.attribution_model.change(**changes)
        return self.explain()

    def dependency(self) -> int | None:
        return self.controller.dependency()

    def cancel(self) -> None:
        self.controller.cancel_all()

    def busy(self) -> bool:
        return self.controller.busy()

    # -- the heat maps -----------------------------------------------------------------------------
    def _on_result(self, result: Explanation | None) -> None:
        heat = ism_heat(result)
        self.ism.show(heat, "mutagenesis: effect on the target (nats)" if heat else "")
        self.ism.graphics.setVisible(heat is not None)
        self._settle_pages()

    def _on_dependency(self, result: DependencyResult | None) -> None:
        heat = dependency_heat(result)
        self.dependency_map.show(heat, "dependency: column's prediction on row's base"
                                 if heat else "")
        self.dependency_map.graphics.setVisible(heat is not None)
        self._settle_pages()

    def _settle_pages(self) -> None:
        shown = self.ism.heat is not None or self.dependency_map.heat is not None
        self.pages.setCurrentIndex(1 if shown else 0)
        self.hover.setText(" ")
        self._on_locus(self.workbench.locus)

    def _on_locus(self, locus: Locus | None) -> None:
        for plot in (self.ism, self.dependency_map):
            plot.follow(locus)

    def ism_data(self) -> np.ndarray | None:
        """The mutagenesis matrix shown, ``(bases mutated, letters)``."""
        result = self.attribution_model.result
        return ism_matrix(result) if ism_heat(result) is not None else None

    def dependency_data(self) -> np.ndarray | None:
        result = self.attribution_model.dependency
        return result.matrix if result is not None else None

    def hover_text(self, plot: HeatPlot, row: int, col: int) -> str:
        heat = plot.heat
        base = round(heat.x0) + col
        if plot is self.ism:
            return ism_cell_words(self.attribution_model.result, base, row)
        return dependency_cell_words(self.attribution_model.dependency,
                                     round(heat.y0) + row, base)

    def _on_mouse_moved(self, plot: HeatPlot, pos) -> None:
        cell = plot.cell_at(pos)
        if cell is None:
            self.hover.setText(" ")
            return
        self.hover.setText(self.hover_text(plot, *cell))
        record = self.workbench.record
        base = round(plot.heat.x0) + cell[1]
        if record is not None and 0 <= base < record.length:
            self.workbench.set_cursor(base)  # the tracks' cursor line follows the column

    def _on_mouse_clicked(self, plot: HeatPlot, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        cell = plot.cell_at(event.scenePos())
        if cell is not None:
            self.go_to_base(round(plot.heat.x0) + cell[1])

    def go_to_base(self, base: int) -> None:
        """Centre the tracks on ``base``, keeping the span."""
        record, locus = self.workbench.record, self.workbench.locus
        key = self.attribution_model.result or self.attribution_model.dependency
        if record is None or locus is None or key is None or key.key.record_id != record.id:
            return
        self.workbench.set_locus(centre_on(locus, base + 0.5, record.length))

    # -- closing -----------------------------------------------------------------------------------
    def closeEvent(self, event) -> None:
        self.disconnect_model()
        super().closeEvent(event)

    def disconnect_model(self) -> None:
        self._subs.disconnect_all()
