"""The Maps panel: inside a patch-level (hyena-blt) model at the locus in view.

* A model chooser (a run folder, checkpoint or model folder). A byte-level model or none gives
  a message in the panel, never an exception.
* Heat maps of every map ``engine.analysis.inspect_locus`` captures (cross-attention, global
  attention, Hyena mean |H| and H per channel, router probabilities, memory write/read
  weights) in an ``ImageItem`` with a ``ColorBarItem`` (256-entry colour maps, explicit levels:
  0..1 for routing probabilities, -m..m on a diverging map for the signed H, 0..the map's
  maximum otherwise), with kind / layer / head / channel / expert selectors. Axes are record
  bytes and the window's patches (numbered from 0 in the window); hovering names the cell's
  pair and its value; clicking a cell centres the tracks on its byte or patch, keeping the
  span.
* An expert summary: load per MoE layer (bars coloured by expert, the uniform 1/E dashed),
  load CV and routing entropy, and the specialisation table of one layer (each feature type's
  share of patches per expert against the uniform k/E).
* Linked selection: "Inspect View" asks the maps controller to inspect the locus in view;
  with "Follow view" on, the maps follow the view after it stops moving whenever its span
  fits the model's window; a longer view asks to zoom in.
* Exports of the map shown: PNG or SVG with its axes and colour bar, and its data as CSV
  (row and column coordinates with it) or NPY, written by the export controller in a job.
  Failures are ``InputError``s (a dialog).

The panel binds: the state lives in :class:`gui.model.maps.MapsModel`, every job is
:class:`gui.controllers.maps.MapsController`'s (the map shown, ``MapsModel.view``, is computed
there too); the routing track (:mod:`gui.tracks.routing`) draws ``MapsModel.routing()``,
wired by the window.
"""

from __future__ import annotations

import dataclasses
import math
from functools import partial
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, QSignalBlocker, Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine.analysis.summaries import ExpertLayerSummary, MemorySummary
from engine.errors import BytescopeError, InputError
from gui.controllers.exports import ExportController
from gui.controllers.maps import MapsController
from gui.model.events import Subscriptions
from gui.model.locus import centre_on
from gui.model.maps import (
    KIND_BY_KEY,
    KINDS,
    Axis,
    InspectedWindow,
    MapSelection,
    MapsModel,
    MapView,
    cell_at,
    cell_position,
    describe_cell,
)
from gui.model.session import Workbench
from gui.tracks.base import nice_step
from gui.tracks.routing import expert_colour

COLORMAP = "viridis"
SIGNED_COLORMAP = "CET-D1"  # blue - white - red: H's sign matters
EXPORT_FORMATS = (".png", ".svg", ".csv", ".npy")
EXPORT_FILTERS = {".png": "PNG image (*.png)", ".svg": "SVG image (*.svg)",
                  ".csv": "CSV table (*.csv)", ".npy": "NumPy array (*.npy)"}
FEATURE_ROWS = ("CDS", "tRNA", "rRNA", "intergenic")


class MapAxis(pg.AxisItem):
    """An axis of a shown map: record bytes with separators, or cell numbers at cell centres
    (latent -1 is the decoder's start state)."""

    def __init__(self, orientation: str) -> None:
        super().__init__(orientation)
        self.map_axis: Axis | None = None

    def tickValues(self, minVal, maxVal, size):
        axis = self.map_axis
        if axis is None or axis.name == "byte":
            return super().tickValues(minVal, maxVal, size)
        # numbered cells: whole 1-2-5 steps, each label in the middle of its cell
        lo, hi = sorted((minVal, maxVal))  # an inverted axis gives them high first
        first, last = math.ceil(lo - 0.5), math.floor(hi - 0.5)
        if last < first:
            return []
        room = 60 if self.orientation in ("bottom", "top") else 22  # pixels per label
        step = int(nice_step(last - first + 1, max(1.0, size / room)))
        start = math.ceil(first / step) * step
        return [(step, [c + 0.5 for c in range(start, last + 1, step)])]

    def tickStrings(self, values, scale, spacing):
        axis = self.map_axis
        if axis is None:
            return super().tickStrings(values, scale, spacing)
        if axis.name == "byte":
            return [f"{round(v):,}" for v in values]
        out = []
        for v in values:
            cell = math.floor(v)
            out.append("start" if axis.name == "latent" and cell == -1 else str(cell))
        return out


class MapsPanel(QWidget):
    """The panel (module docstring). API: ``set_model_spec``, ``inspect_view``, ``select``,
    ``shown_data``, ``hover_text``, ``go_to_cell``, ``export``; its state is
    ``maps_model`` (a :class:`~gui.model.maps.MapsModel`), its jobs ``controller``'s."""

    def __init__(self, workbench: Workbench, controller: MapsController,
                 exports: ExportController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workbench = workbench
        self.controller = controller
        self.maps_model: MapsModel = controller.maps_model
        self.exports = exports
        self._subs = Subscriptions()
        self.view: MapView | None = None  # the map shown

        # -- model row ---------------------------------------------------------------------------
        self.model_edit = QLineEdit()
        self.model_edit.setPlaceholderText("a hyena-blt run folder, checkpoint or model folder")
        self.model_edit.editingFinished.connect(
            lambda: self.maps_model.set_model_spec(self.model_edit.text()))
        self.choose_button = QPushButton("Choose…")
        self.choose_button.clicked.connect(self.choose_model_dialog)
        self.inspect_button = QPushButton("Inspect View")
        self.inspect_button.setToolTip("compute the maps for the locus in view")
        self.inspect_button.clicked.connect(self.inspect_view)
        self.follow_box = QCheckBox("Follow view")
        self.follow_box.setToolTip("recompute the maps when the view stops moving (if it is "
                                   "within the model's window)")
        self.follow_box.setChecked(self.maps_model.follow)
        self.follow_box.toggled.connect(self.maps_model.set_follow)
        top = QHBoxLayout()
        top.addWidget(QLabel("Model"))
        top.addWidget(self.model_edit, 3)
        top.addWidget(self.choose_button)
        top.addSpacing(8)
        top.addWidget(self.inspect_button)
        top.addWidget(self.follow_box)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        top.addWidget(self.status, 4)

        # -- selectors ---------------------------------------------------------------------------
        self.kind_box = QComboBox()
        for kind in KINDS:
            self.kind_box.addItem(kind.label, kind.key)
        self.layer_box = QComboBox()
        self.head_box = QComboBox()
        self.channel_box = QComboBox()
        self.expert_box = QComboBox()
        for box in (self.kind_box, self.layer_box, self.head_box, self.channel_box,
                    self.expert_box):
            box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
            box.currentIndexChanged.connect(self._on_selector)
        self.export_button = QToolButton()
        self.export_button.setText("Export")
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.export_button)
        for suffix, words in ((".png", "Map as PNG…"), (".svg", "Map as SVG…"),
                              (".csv", "Data as CSV…"), (".npy", "Data as NPY…")):
            menu.addAction(words, partial(self.export_dialog, suffix))
        self.export_button.setMenu(menu)
        selectors = QHBoxLayout()
        for words, box in (("Map", self.kind_box), ("Layer", self.layer_box),
                           ("Head", self.head_box), ("Channel", self.channel_box),
                           ("Expert", self.expert_box)):
            selectors.addWidget(QLabel(words))
            selectors.addWidget(box)
        selectors.addStretch(1)
        selectors.addWidget(self.export_button)

        # -- heat map ----------------------------------------------------------------------------
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        self.row_axis, self.col_axis = MapAxis("left"), MapAxis("bottom")
        self.plot = self.graphics.addPlot(axisItems={"left": self.row_axis,
                                                     "bottom": self.col_axis})
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.invertY(True)  # row 0 at the top, as a matrix reads
        self.plot.getViewBox().setDefaultPadding(0.0)
        self.image = pg.ImageItem(axisOrder="row-major", autoDownsample=True)
        self.plot.addItem(self.image)
        self.colormap = pg.colormap.get(COLORMAP)
        self.signed_colormap = pg.colormap.get(SIGNED_COLORMAP)
        self.bar = pg.ColorBarItem(values=(0.0, 1.0), colorMap=self.colormap, width=14,
                                   interactive=False)
        self.bar.setImageItem(self.image, insert_in=self.plot)
        self.bar.axis.enableAutoSIPrefix(False)  # the values as they are, not "(x0.001)"
        self.hover = QLabel(" ")
        self.hover.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        scene = self.graphics.scene()
        scene.sigMouseMoved.connect(self._on_mouse_moved)
        scene.sigMouseClicked.connect(self._on_mouse_clicked)
        heat = QWidget()
        heat_layout = QVBoxLayout(heat)
        heat_layout.setContentsMargins(0, 0, 0, 0)
        heat_layout.addWidget(self.graphics, 1)
        heat_layout.addWidget(self.hover)

        # -- expert summary ----------------------------------------------------------------------
        self.routing_box = QComboBox()
        self.routing_box.currentIndexChanged.connect(
            lambda _i: self.maps_model.set_routing_layer(self.routing_box.currentData() or ""))
        self.routing_stats = QLabel()
        self.routing_stats.setWordWrap(True)
        self.loads = pg.GraphicsLayoutWidget()
        self.loads.setBackground("w")
        self.loads.setMinimumHeight(110)
        self.loads.setMaximumHeight(150)
        self.table = QTableWidget()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table_note = QLabel()
        self.table_note.setWordWrap(True)
        summary = QWidget()
        summary_layout = QVBoxLayout(summary)
        summary_layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(QLabel("Experts of"))
        row.addWidget(self.routing_box)
        row.addStretch(1)
        summary_layout.addLayout(row)
        summary_layout.addWidget(self.loads)
        summary_layout.addWidget(self.routing_stats)
        summary_layout.addWidget(self.table_note)
        summary_layout.addWidget(self.table, 1)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(heat)
        self.splitter.addWidget(summary)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.placeholder = QLabel()
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.placeholder.setStyleSheet("color: #666; font-size: 11pt;")
        self.pages = QStackedWidget()
        self.pages.addWidget(self.placeholder)
        self.pages.addWidget(self.splitter)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addLayout(top)
        layout.addLayout(selectors)
        layout.addWidget(self.pages, 1)

        events = self.maps_model.events
        for signal, slot in ((events.model_spec, lambda spec: self.model_edit.setText(spec)),
                             (events.inspection, self._on_inspection),
                             (events.selection, self._on_selection),
                             (events.view, self._show_map),
                             (events.routing, self._on_routing),
                             (events.status, self._on_status),
                             (events.follow, lambda on: self.follow_box.setChecked(on))):
            self._subs.connect(signal, slot)
        self.model_edit.setText(self.maps_model.model_spec)
        self._on_status(self.maps_model.status)
        self._refresh_selectors()

    # -- the model ---------------------------------------------------------------------------------
    def set_model_spec(self, spec: str) -> None:
        self.maps_model.set_model_spec(str(spec))

    def choose_model_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "A hyena-blt run, checkpoint or model",
                                                  self.model_edit.text() or str(Path.home()))
        if folder:
            self.set_model_spec(folder)

    # -- inspecting --------------------------------------------------------------------------------
    def inspect_view(self) -> int | None:
        """Inspect the locus in view now (the controller's job); returns its request id
        (None: nothing to do, the status says why, or it follows the model's loading)."""
        return self.controller.inspect_view()

    def busy(self) -> bool:
        return self.controller.busy()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.maps_model.set_visible(True)

    def hideEvent(self, event) -> None:
        super().hideEvent(event)
        self.maps_model.set_visible(False)

    def _on_status(self, text: str) -> None:
        self.status.setText(text)
        if self.maps_model.inspection is None:
            self.placeholder.setText(text)

    def _on_inspection(self, window: InspectedWindow | None) -> None:
        self.pages.setCurrentIndex(1 if window is not None else 0)
        if window is None:
            self.placeholder.setText(self.maps_model.status)
        self._refresh_selectors()
        self._show_summary()

    def _on_selection(self, _selection: MapSelection) -> None:
        self._refresh_selectors()

    def _on_routing(self, _routing) -> None:
        self._show_summary()

    # -- selectors ---------------------------------------------------------------------------------
    def _refresh_selectors(self) -> None:
        window, sel = self.maps_model.inspection, self.maps_model.selection
        blockers = [QSignalBlocker(box) for box in (self.kind_box, self.layer_box,
                                                      self.head_box, self.channel_box,
                                                      self.expert_box)]
        try:
            self.kind_box.clear()
            kinds = window.kinds() if window is not None else list(KINDS)
            for kind in kinds:
                self.kind_box.addItem(kind.label, kind.key)
            self.kind_box.setCurrentIndex(max(0, self.kind_box.findData(sel.kind)))
            self.layer_box.clear()
            self.head_box.clear()
            self.channel_box.clear()
            self.expert_box.clear()
            if window is not None and kinds:
                for layer in window.layers(sel.kind):
                    self.layer_box.addItem(layer or "—", layer)
                self.layer_box.setCurrentIndex(max(0, self.layer_box.findData(sel.layer)))
                self.head_box.addItem("mean over heads", -1)
                for h in range(window.n_heads(sel.kind, sel.layer)):
                    self.head_box.addItem(f"head {h}", h)
                self.head_box.setCurrentIndex(
                    max(0, self.head_box.findData(-1 if sel.head is None else sel.head)))
                channels = window.n_channels(sel.kind, sel.layer)
                for c in range(channels):
                    self.channel_box.addItem(f"channel {c}", c)
                if not channels:
                    self.channel_box.addItem("—", 0)
                self.channel_box.setCurrentIndex(max(0, self.channel_box.findData(sel.channel)))
                noun = KIND_BY_KEY[sel.kind].noun
                self.expert_box.addItem(f"all {noun}s" if noun == "expert" else "all memories",
                                        -1)
                for e in range(window.n_experts(sel.kind, sel.layer)):
                    self.expert_box.addItem(f"{noun} {e}", e)
                self.expert_box.setCurrentIndex(
                    max(0, self.expert_box.findData(-1 if sel.expert is None else sel.expert)))
            self.kind_box.setEnabled(window is not None)
            self.layer_box.setEnabled(self.layer_box.count() > 1)
            self.head_box.setEnabled(self.head_box.count() > 1)
            self.channel_box.setEnabled(self.channel_box.count() > 1)
            self.expert_box.setEnabled(self.expert_box.count() > 1)
            self.export_button.setEnabled(window is not None)
        finally:
            for blocker in blockers:
                blocker.unblock()

    def _on_selector(self, _index: int) -> None:
        head = self.head_box.currentData()
        expert = self.expert_box.currentData()
        self.maps_model.set_selection(MapSelection(
            self.kind_box.currentData() or "encoder_cross", self.layer_box.currentData() or "",
            None if head is None or head < 0 else int(head),
            None if expert is None or expert < 0 else int(expert),
            int(self.channel_box.currentData() or 0)))

    def select(self, **changes) -> None:
        """Choose the map shown: ``select(kind="global", layer="layer1", head=None)`` (head
        None: the mean over heads; expert None: all experts)."""
        self.maps_model.set_selection(dataclasses.replace(self.maps_model.selection, **changes))

    # -- the heat map ------------------------------------------------------------------------------
    def _show_map(self, view: MapView | None) -> None:
        """Draw the map the controller computed (``MapsModel.view``): O(pixels) here."""
        self.view = view
        if view is None:
            self.image.clear()
            self.row_axis.map_axis = self.col_axis.map_axis = None
            self.hover.setText(" ")
            return
        rows, cols = view.rows, view.cols
        colormap = self.signed_colormap if view.kind.signed else self.colormap
        if self.bar.colorMap() is not colormap:
            self.bar.setColorMap(colormap)
        self.image.setImage(view.data, autoLevels=False, levels=view.levels)
        self.bar.setLevels(values=view.levels)
        rect = QRectF(cols.origin, rows.origin, cols.count, rows.count)
        self.image.setRect(rect)
        self.row_axis.map_axis, self.col_axis.map_axis = rows, cols
        window = self.maps_model.inspection
        noun = view.kind.noun
        self.plot.setLabel("left", rows.title(window.record_id, noun))
        self.plot.setLabel("bottom", cols.title(window.record_id, noun))
        self.plot.setTitle(view.title, size="9pt")
        self.bar.axis.setLabel(view.kind.value)
        vb = self.plot.getViewBox()
        vb.setLimits(xMin=rect.left(), xMax=rect.right(), yMin=rect.top(), yMax=rect.bottom())
        vb.setRange(rect, padding=0)
        self.hover.setText(" ")

    def shown_data(self) -> np.ndarray | None:
        """The array the image shows (``[row, column]``, as the engine's map)."""
        return self.view.data if self.view is not None else None

    def cell_at_scene(self, pos) -> tuple[int, int] | None:
        if self.view is None or not self.plot.getViewBox().sceneBoundingRect().contains(pos):
            return None
        point = self.plot.getViewBox().mapSceneToView(pos)
        return cell_at(self.view, point.x(), point.y())

    def scene_pos_of(self, row: int, col: int):
        """The scene position of a cell's centre (tests and hover previews)."""
        view = self.view
        x = view.cols.origin + col + 0.5
        y = view.rows.origin + row + 0.5
        return self.plot.getViewBox().mapViewToScene(pg.Point(x, y))

    def hover_text(self, row: int, col: int) -> str:
        return describe_cell(self.maps_model.inspection, self.view, row, col)

    def _on_mouse_moved(self, pos) -> None:
        cell = self.cell_at_scene(pos)
        self.hover.setText(self.hover_text(*cell) if cell is not None else " ")

    def _on_mouse_clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        cell = self.cell_at_scene(event.scenePos())
        if cell is not None:
            self.go_to_cell(*cell)

    def go_to_cell(self, row: int, col: int) -> None:
        """Centre the tracks on a cell's byte or patch, keeping the span."""
        window, record, locus = self.maps_model.inspection, self.workbench.record, \
            self.workbench.locus
        if self.view is None or record is None or locus is None or \
                record.id != window.record_id:
            return
        position = cell_position(window, self.view, row, col)
        self.workbench.set_locus(centre_on(locus, position, record.length))

    # -- expert summary ----------------------------------------------------------------------------
    def _show_summary(self) -> None:
        window = self.maps_model.inspection
        self.loads.clear()
        self.table.clear()
        self.table.setRowCount(0)
        self.table.setColumnCount(0)
        summary = self.maps_model.summary()
        layers = window.moe_layers() if window is not None else []
        with QSignalBlocker(self.routing_box):  # filling the box is no choice of the user's
            self.routing_box.clear()
            for layer in layers:
                self.routing_box.addItem(layer, layer)
            self.routing_box.setCurrentIndex(max(0, self.routing_box.findData(
                self.maps_model.routing_layer)))
        self.routing_box.setEnabled(len(layers) > 1)
        memory = summary.memory if summary is not None else None
        if window is None or not layers or summary is None:
            self.routing_stats.setText(self._memory_words(memory) if memory else
                                       "no mixture of experts in this model")
            self.table_note.clear()
            return
        for i, layer in enumerate(layers):
            routing = summary.moe[layer].routing
            self._load_plot(i, f"{layer} · CV {_fixed(routing.load_cv)}", routing.load)
        if memory:
            self._load_plot(len(layers), "memory writes", memory.write.load, noun="memory")
        entry = summary.moe[self.maps_model.routing_layer]
        routing = entry.routing
        words = [f"{self.maps_model.routing_layer}: load CV {_fixed(routing.load_cv)}, "
                 f"routing entropy {_fixed(routing.token_entropy_mean)} per patch, "
                 f"{_fixed(routing.marginal_entropy)} marginal, of "
                 f"{_fixed(routing.max_entropy)} nats"]
        if memory:
            words.append(self._memory_words(memory))
        self.routing_stats.setText("; ".join(words))
        self._fill_table(entry)

    @staticmethod
    def _memory_words(memory: MemorySummary) -> str:
        return (f"memory: {memory.segments} segments, mean gate {memory.mean_gate:.2f}, "
                f"write entropy {_fixed(memory.write.token_entropy_mean)} nats")

    def _load_plot(self, column: int, title: str, load: list, noun: str = "expert") -> None:
        plot = self.loads.addPlot(row=0, col=column)
        plot.setMenuEnabled(False)
        plot.hideButtons()
        plot.setMouseEnabled(x=False, y=False)
        plot.setTitle(title, size="8pt")
        plot.getAxis("left").setWidth(30)
        values = np.array([np.nan if v is None else v for v in load], dtype=np.float64)
        n = len(values)
        if n == 0:
            return
        heights = np.nan_to_num(values)
        brushes = [expert_colour(e) if noun == "expert" else QColor(150, 150, 150)
                   for e in range(n)]
        plot.addItem(pg.BarGraphItem(x=np.arange(n), height=heights, width=0.8,
                                     brushes=brushes, pen=pg.mkPen(None)))
        uniform = pg.InfiniteLine(1.0 / n, angle=0, pen=pg.mkPen((90, 90, 90),
                                                                 style=Qt.PenStyle.DashLine))
        plot.addItem(uniform)
        plot.setYRange(0, max(float(heights.max()), 1.0 / n) * 1.15, padding=0)
        plot.setXRange(-0.6, n - 0.4, padding=0)
        plot.getAxis("bottom").setTicks([[(e, str(e)) for e in range(n)]])

    def _fill_table(self, entry: ExpertLayerSummary) -> None:
        spec = entry.specialisation
        if not spec.types:
            self.table_note.setText("no specialisation: the record has no annotations here")
            return
        n_experts, uniform = spec.n_experts, spec.uniform
        self.table_note.setText(
            f"Share of each feature type's patches with the expert among their top-{spec.k}"
            f" (uniform routing: k/E = {uniform:.2f}; the ratio to it in brackets)")
        types = [t for t in FEATURE_ROWS if t in spec.types]
        kmers = entry.top_kmers
        self.table.setColumnCount(n_experts)
        self.table.setRowCount(len(types) + (1 if kmers else 0))
        self.table.setHorizontalHeaderLabels([f"expert {e}" for e in range(n_experts)])
        headers = []
        for r, name in enumerate(types):
            row = spec.types[name]
            headers.append(f"{name} ({row.n_patches})")
            for e in range(n_experts):
                share, ratio = row.share[e], row.ratio[e]
                item = QTableWidgetItem("—" if share is None else f"{share:.2f} ({ratio:.2f}×)")
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                if ratio is not None:
                    item.setBackground(QBrush(_ratio_colour(ratio)))
                self.table.setItem(r, e, item)
        if kmers:
            headers.append(f"top {len(kmers[0][0][0]) if kmers[0] else 4}-mers")
            for e, rows in enumerate(kmers[:n_experts]):
                item = QTableWidgetItem(", ".join(f"{k} {c}" for k, c in rows[:3]) or "—")
                item.setToolTip(", ".join(f"{k} ×{c}" for k, c in rows))
                self.table.setItem(len(types), e, item)
        self.table.setVerticalHeaderLabels(headers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)

    def specialisation_rows(self) -> dict[str, list[str]]:
        """The table as text, by row header (tests)."""
        out = {}
        for r in range(self.table.rowCount()):
            header = self.table.verticalHeaderItem(r).text()
            out[header] = [self.table.item(r, c).text() if self.table.item(r, c) else ""
                           for c in range(self.table.columnCount())]
        return out

    # -- exports -----------------------------------------------------------------------------------
    def export(self, path: str | Path) -> int:
        """Write the map shown by the path's suffix: .png/.svg (with axes and colour bar),
        .csv (with coordinates) or .npy (the array), in the export controller's job; returns
        its request id. Raises InputError for a suffix or a moment with nothing to export.

        CSV: ``rows\\columns`` header with the column coordinates, then one line per row.
        Coordinates are record positions for bytes, numbers for patches, latents (-1: the
        start state), experts and segments."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in EXPORT_FORMATS:
            raise InputError(f"a map exports as {', '.join(EXPORT_FORMATS)}", path=path)
        view, window = self.view, self.maps_model.inspection
        if view is None or window is None:
            raise InputError("no map to export yet: inspect a window first")
        if suffix in (".png", ".svg"):
            return self.exports.export_scene(self.graphics.scene(), path, "the map")
        if suffix == ".npy":
            return self.exports.export_map_npy(path, view.data)
        return self.exports.export_map_csv(
            path, _coordinates(view.rows, window.start), _coordinates(view.cols, window.start),
            f"{view.rows.name}\\{view.cols.name}", view.data)

    def export_dialog(self, suffix: str) -> None:
        window = self.maps_model.inspection
        stem = "map"
        if window is not None and self.view is not None:
            stem = (f"{window.record_id}_{window.start}-{window.end}_"
                    f"{self.view.name.replace('/', '_')}").replace("|", "_")
        path, _ = QFileDialog.getSaveFileName(self, f"Export the map as {suffix[1:].upper()}",
                                              str(Path.home() / f"{stem}{suffix}"),
                                              EXPORT_FILTERS[suffix])
        if not path:
            return
        if not path.lower().endswith(suffix):
            path += suffix
        try:
            self.export(path)  # the log says when it is written
        except BytescopeError as error:
            self.workbench.report_error(error)  # the window's dialog

    # -- closing -----------------------------------------------------------------------------------
    def closeEvent(self, event) -> None:
        self.disconnect_model()
        super().closeEvent(event)

    def disconnect_model(self) -> None:
        self._subs.disconnect_all()


def _coordinates(axis: Axis, start: int) -> list[int]:
    if axis.name == "byte":
        return list(range(start, start + axis.count))
    if axis.name == "latent":
        return list(range(-1, axis.count - 1))
    return list(range(axis.first, axis.first + axis.count))


def _fixed(value: float | None) -> str:
    """Two decimals; an undefined measure (no patches routed: None) reads 0, as it always has."""
    return f"{value or 0:.2f}"


def _ratio_colour(ratio: float) -> QColor:
    """White at the uniform share (ratio 1), green above it, red below, saturating at 2x."""
    t = max(-1.0, min(1.0, math.log2(max(ratio, 1e-6))))
    if t >= 0:
        return QColor(int(255 - 90 * t), 255, int(255 - 90 * t))
    return QColor(255, int(255 + 90 * t), int(255 + 90 * t))
