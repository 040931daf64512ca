"""The Patcher panel: the patcher's settings (a form built from ``PatchConfig``), a threshold
slider, live statistics with a patch-length histogram, and boundaries vs annotations."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from engine.errors import InputError
from engine.patching import BLT_DEFAULT_THRESHOLD, BYTE_MODES, MODES, PATCH_MODES, PatchConfig
from engine.patching.compare import ANCHORS, BoundaryAgreement
from gui.model.events import Subscriptions
from gui.model.patches import PatchView, histogram_extent
from gui.model.session import CompareSettings, Workbench
from gui.tracks.base import PATCH_SHADE

from .forms import DataclassForm, FieldHint

ANCHOR_WORDS = {"start": "starts", "five_prime": "5' ends"}
SLIDER_STEPS = 1000
SLIDER_DEBOUNCE_MS = 40

HINTS = {
    "mode": FieldHint("Mode", choices=MODES,
                      tip="static/byte/space cut the bytes; the others read entropies"),
    "threshold": FieldHint("Threshold θ (nats)", 0.0, 20.0, 0.01, 4,
                           tip="entropy/dual/optimal: a level of H; monotonic: a rise; "
                           "greedy: a budget per patch. Unchecked: BLT's default"),
    "target_patch_size": FieldHint("Target patch size", 1.0, 1e6, 0.5, 2,
                                   tip="search θ for this mean patch length"),
    "threshold_add": FieldHint("Rise θ_add (dual)", -20.0, 20.0, 0.01, 4),
    "patch_size": FieldHint("Patch size (static)", 1, 1_000_000),
    "min_patch_length": FieldHint("Min length", 1, 1_000_000),
    "max_patch_length": FieldHint("Max length", 1, 1_000_000),
    "blt_compat": FieldHint("BLT quirks", tip="reproduce BLT's reference patcher exactly"),
}


class PatcherPanel(QWidget):
    def __init__(self, model: Workbench, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workbench = model
        self._subs = Subscriptions()
        self.form = DataclassForm(PatchConfig, HINTS)
        self.form.changed.connect(self._on_form_changed)
        self.error = QLabel()
        self.error.setStyleSheet("color: #b22222;")
        self.error.setWordWrap(True)

        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, SLIDER_STEPS)
        self.slider.setToolTip("drag to set θ; the patches follow")
        self.slider.valueChanged.connect(self._on_slider)
        self.slider_max = math.log(4)
        self._slider_timer = QTimer(self, singleShot=True, interval=SLIDER_DEBOUNCE_MS)
        self._slider_timer.timeout.connect(self._apply_slider)

        self.stats = QLabel("no patches yet")
        self.stats.setWordWrap(True)  # a long line must not widen the dock (or scroll it)
        self.stats.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.histogram = pg.PlotWidget(background="w")
        self.histogram.setMinimumHeight(110)
        self.histogram.setMaximumHeight(150)
        plot = self.histogram.getPlotItem()
        plot.setMenuEnabled(False)
        plot.hideButtons()
        plot.setMouseEnabled(x=False, y=False)
        plot.setLabel("bottom", "patch length")
        plot.getAxis("left").setWidth(36)
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.85, brush=PATCH_SHADE.darker(115),
                                    pen=pg.mkPen(None))
        plot.addItem(self.bars)

        self.k = QSpinBox()
        self.k.setRange(0, 10_000)
        self.k.setSuffix(" bp")
        self.k.setKeyboardTracking(False)
        self.anchor = QComboBox()
        self.anchor.addItems(list(ANCHORS))
        self.k.valueChanged.connect(self._on_compare_settings)
        self.anchor.currentTextChanged.connect(self._on_compare_settings)
        self.comparison = QLabel("—")
        self.comparison.setWordWrap(True)
        self.comparison.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        settings = QGroupBox("Settings")
        box = QVBoxLayout(settings)
        box.addWidget(self.form)
        slider_row = QHBoxLayout()
        slider_row.addWidget(QLabel("θ"))
        slider_row.addWidget(self.slider, 1)
        box.addLayout(slider_row)
        box.addWidget(self.error)
        stats = QGroupBox("Statistics")
        sbox = QVBoxLayout(stats)
        sbox.addWidget(self.stats)
        sbox.addWidget(self.histogram)
        compare = QGroupBox("Boundaries vs annotations")
        cform = QFormLayout(compare)
        cform.addRow("within", self.k)
        cform.addRow("feature anchor", self.anchor)
        cform.addRow(self.comparison)
        layout = QVBoxLayout(self)
        layout.addWidget(settings)
        layout.addWidget(stats)
        layout.addWidget(compare)
        layout.addStretch(1)

        events = model.events
        for signal, slot in ((events.patch_config, self._on_config),
                             (events.patches, self._on_patches),
                             (events.scores, self._on_scores),
                             (events.scores_grew, self._on_scores),
                             (events.comparison, self._on_comparison),
                             (events.compare_settings, self._on_compare_model)):
            self._subs.connect(signal, slot)
        self._on_config(model.patch_config)
        self._on_patches(model.patches)
        self._on_comparison(model.comparison)
        self._on_compare_model(model.compare_settings)

    # -- settings ----------------------------------------------------------------------------
    def _on_config(self, config: PatchConfig) -> None:
        """The settings changed: the one refresh of the form, its rows and the slider."""
        self.form.set_values(config)
        if config.threshold is None and config.needs_entropies:
            self._show_threshold_in_use()
        entropy_mode = config.needs_entropies
        settings = PATCH_MODES[config.mode].settings  # the rows this mode reads
        self.form.set_row_visible("threshold_add", "threshold_add" in settings)
        self.form.set_row_visible("patch_size", "patch_size" in settings)
        for name in ("threshold", "target_patch_size"):
            self.form.set_row_visible(name, entropy_mode)
        self.slider.setEnabled(entropy_mode)
        self._sync_slider()
        self.error.clear()

    def _on_form_changed(self, name: str) -> None:
        values = self.form.values()
        if name == "mode":  # the mode's own θ and target size, as last set this session
            self._set_config(self.workbench.config_for_mode(values["mode"]))
            return
        if "threshold_add" not in PATCH_MODES[values["mode"]].settings:
            values["threshold_add"] = None
        if values["mode"] in BYTE_MODES:
            values["threshold"] = values["target_patch_size"] = None
        elif name == "threshold" and values["threshold"] is not None:
            values["target_patch_size"] = None
        elif name == "target_patch_size" and values["target_patch_size"] is not None:
            values["threshold"] = None
        if values["max_patch_length"] is not None and \
                values["max_patch_length"] < values["min_patch_length"]:
            values["max_patch_length"] = values["min_patch_length"]
        try:
            config = dataclasses.replace(self.workbench.patch_config, **values)
        except InputError as error:
            self.error.setText(error.message)
            return
        self.error.clear()
        self._set_config(config)

    def _set_config(self, config: PatchConfig) -> None:
        """Set ``config``; the model's event refreshes the form, or, when nothing changed
        (the edit was normalised away), the form is put back here."""
        if config == self.workbench.patch_config:
            self._on_config(config)
        else:
            self.workbench.set_patch_config(config)

    def _show_threshold_in_use(self) -> None:
        """The θ in use (searched, or BLT's default) in the unchecked θ field and the slider."""
        editor = self.form.editors["threshold"].editor
        editor.blockSignals(True)
        editor.setValue(self._current_threshold())
        editor.blockSignals(False)
        self._sync_slider()

    def _current_threshold(self) -> float:
        config, patches = self.workbench.patch_config, self.workbench.patches
        if config.threshold is not None:
            return config.threshold
        if patches is not None and patches.config == config and patches.result.threshold:
            return patches.result.threshold
        return BLT_DEFAULT_THRESHOLD

    def _sync_slider(self) -> None:
        self.slider.blockSignals(True)
        value = self._current_threshold() / max(self.slider_max, 1e-9) * SLIDER_STEPS
        self.slider.setValue(round(min(max(value, 0), SLIDER_STEPS)))
        self.slider.blockSignals(False)

    def _on_slider(self, _value: int) -> None:
        # trailing debounce: a drag sends one request per pause, never a queue of them
        self._slider_timer.start()

    def _apply_slider(self) -> None:
        config = self.workbench.patch_config
        if not config.needs_entropies:
            return
        theta = round(self.slider.value() / SLIDER_STEPS * self.slider_max, 4)
        self.workbench.set_patch_config(dataclasses.replace(config, threshold=theta,
                                                        target_patch_size=None))

    def _on_scores(self, buffer) -> None:
        if buffer is not None and "entropy" in buffer.signals:
            top = buffer.global_max("entropy")
            if math.isfinite(top) and top > 0:
                self.slider_max = max(top * 1.05, math.log(4) if top < math.log(4) else 0)
                self._sync_slider()

    # -- statistics ------------------------------------------------------------------------------
    def _on_patches(self, patches: PatchView | None) -> None:
        """Statistics and histogram, from numbers the worker computed (O(1) here)."""
        if patches is None:
            self.stats.setText("no patches yet")
            self.bars.setOpts(x=[], height=[])
            return
        stats = patches.stats
        theta = "" if stats["threshold"] is None else f"θ = {stats['threshold']:.4f} nats<br>"
        where = "whole record" if patches.complete else \
            f"scored stretch {patches.span[0]:,}-{patches.span[1]:,}"
        self.stats.setText(
            f"<b>{stats['count']:,}</b> patches over the {where}<br>{theta}"
            f"mean length <b>{stats['mean_length']:.2f}</b>, median "
            f"{stats['median_length']:g}, max {stats['max_length']:,}<br>"
            f"bytes per patch {stats['bytes_per_patch']:.2f}")
        shown = histogram_extent(patches.histogram)
        counts = patches.histogram[1:shown + 1].copy()
        counts[-1] += patches.histogram[shown + 1:].sum()  # the last bar: this long or longer
        self.bars.setOpts(x=np.arange(1, shown + 1), height=counts)
        self.histogram.getPlotItem().setXRange(0.4, shown + 0.6, padding=0)
        self.histogram.getPlotItem().setYRange(0, max(1, counts.max()) * 1.05, padding=0)
        config = self.workbench.patch_config
        if config.threshold is None and config.needs_entropies and patches.config == config:
            self._show_threshold_in_use()  # the searched θ, now known

    # -- boundaries vs annotations -----------------------------------------------------------------
    def _on_compare_model(self, settings: CompareSettings) -> None:
        for widget in (self.k, self.anchor):
            widget.blockSignals(True)
        self.k.setValue(settings.k)
        self.anchor.setCurrentText(settings.anchor)
        for widget in (self.k, self.anchor):
            widget.blockSignals(False)

    def _on_compare_settings(self, *_args) -> None:
        self.workbench.set_compare_settings(CompareSettings(self.k.value(),
                                                        self.anchor.currentText()))

    def _on_comparison(self, result: BoundaryAgreement | None) -> None:
        if result is None:
            patches = self.workbench.patches
            if not self.workbench.gene_features():
                text = "no CDS/tRNA/rRNA features on this record (File ▸ Open Annotations)"
            elif patches is not None and not patches.complete:
                text = "waiting for the whole record's entropies"
            else:
                text = "—"
            self.comparison.setText(text)
            return
        kinds = ", ".join(f"{t} {n}" for t, (n, _) in result.by_type.items())
        self.comparison.setText(
            f"Feature {ANCHOR_WORDS[result.anchor]} within {result.k} bp of a "
            f"patch start ({kinds}):<br>"
            f"patches: <b>{100 * result.observed:.1f}%</b><br>"
            f"random boundaries (same count, {result.trials} seeded draws): "
            f"{100 * result.random:.1f}% ± {100 * result.random_sd:.1f}<br>"
            f"exact expectation: {100 * result.expected:.1f}% · "
            f"<b>{result.enrichment:.2f}×</b> chance")

    def closeEvent(self, event) -> None:
        self.disconnect_model()
        super().closeEvent(event)

    def disconnect_model(self) -> None:
        self._subs.disconnect_all()
        self._slider_timer.stop()
