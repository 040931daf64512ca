"""The Training panel: dataset, model and run settings, Start / Pause / Resume / Stop, live
curves, the run's log and the runs browser.

Every hyperparameter has an editor generated from its config dataclass (``TrainConfig`` and the
architecture's model config; :func:`gui.panels.forms.hints_for`), so a new field appears here
without GUI work. The panel binds: it reads :class:`gui.model.training.TrainingModel`,
subscribes to it and asks :class:`gui.controllers.training.TrainingController` for every run,
file read and deletion; it computes nothing and starts no job itself.
"""

from __future__ import annotations

import math
from pathlib import Path

import platformdirs
from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from engine.errors import BytescopeError
from engine.io.summary import summary_lengths
from engine.models import ARCHITECTURES, PRESETS, model_config
from engine.train import TrainConfig
from gui.controllers.training import TrainingController, default_threads
from gui.model.events import Subscriptions
from gui.model.session import Workbench
from gui.model.training import LiveRun, TrainingModel, format_duration

from .curves import CurvesView
from .forms import DataclassForm, FieldHint, hints_for
from .runs import RunsBrowser

TRAIN_HINTS = {
    "steps": FieldHint("Steps", 1, 10_000_000, 100, tip="optimizer steps in all"),
    "seq_len": FieldHint("Sequence length", 16, 1_048_576, 256,
                         tip="bytes per training window (the model's max_len)"),
    "batch_size": FieldHint("Batch size", 1, 4096, 1, tip="windows per step"),
    "lr": FieldHint("Learning rate", 1e-6, 1.0, 1e-4, 6, tip="peak AdamW learning rate"),
    "min_lr_ratio": FieldHint("Final lr ratio", 0.0, 1.0, 0.05, 3,
                              tip="the cosine decays to lr × this at the last step"),
    "warmup_steps": FieldHint("Warm-up steps", 0, 1_000_000, 10,
                              tip="linear learning-rate warm-up"),
    "weight_decay": FieldHint("Weight decay", 0.0, 10.0, 0.01, 4,
                              tip="AdamW decoupled weight decay (not on norms, biases, filters)"),
    "grad_clip": FieldHint("Gradient clip", 0.0, 1000.0, 0.1, 3,
                           tip="global L2 norm the gradients are clipped to"),
    "seqlen_warmup": FieldHint("Length warm-up", tip="HyenaDNA: start at 64 bytes and double"),
    "seqlen_warmup_steps": FieldHint("Length warm-up steps", 0, 10_000_000, 100,
                                     tip="steps in the doubling stages (0: a quarter)"),
    "eval_every": FieldHint("Evaluate every", 1, 10_000_000, 50,
                            tip="steps between validation passes"),
    "eval_batches": FieldHint("Evaluation batches", 1, 10_000, 1,
                              tip="held-out batches per validation pass"),
    "checkpoint_every": FieldHint("Checkpoint every", 1, 10_000_000, 50),
    "keep_last": FieldHint("Keep last", 1, 1000, 1, tip="checkpoints kept besides the best"),
    "held_out": FieldHint("Held-out fraction", 0.01, 0.9, 0.01, 3,
                          tip="the last part of every record, never trained on"),
    "seed": FieldHint("Seed", 0, 2**31 - 1, tip="the same seed gives the same run"),
    "device": FieldHint("Device", choices=("auto", "cpu", "cuda", "mps"),
                        tip="auto: CUDA, then Apple MPS, then the CPU"),
    "threads": FieldHint("CPU threads", 0, 1024, 1,
                         tip="torch threads for training; leave one core for the window"),
    "log_every": FieldHint("Log every", 1, 100_000, 1, tip="steps between metric rows"),
    "patch_model": FieldHint("Patch entropy model", tip="hyena-blt: the byte model whose "
                             "entropies cut the patches (fast, default, or a folder)"),
    "patching": FieldHint("Patcher (JSON)", tip='hyena-blt: an entropy-mode patcher, e.g. '
                          '{"mode": "entropy", "target_patch_size": 6}'),
    "task": FieldHint("Task head (JSON)", tip='a classification head instead of a language '
                      'model, e.g. {"task": "per-base"} (classes from the files\' own CDS, '
                      'tRNA and rRNA annotations), {"task": "per-base", "labels": "x.bed"} or '
                      '{"task": "sequence", "labels": "x.jsonl"}; with a model to start from, '
                      'its architecture and size must be set here too (bytescope train --task '
                      '--init reads them from the model)'),
    "qat": FieldHint("Quantization-aware (JSON)", tip='ternary fine-tuning, e.g. {"to": '
                     '"ternary", "blend_steps": 200}; Model ▸ Bake… sets it up for you'),
}
TRAIN_EXCLUDE = ("files", "weights", "arch", "preset", "model")

MODEL_HINTS = {
    "d_model": FieldHint("Width (d_model)", 8, 8192, 8),
    "n_layers": FieldHint("Layers", 1, 256, 1),
    "n_heads": FieldHint("Heads", 1, 128, 1),
    "window": FieldHint("Attention window", 1, 1_048_576, 64,
                        tip="each byte attends to this many bytes, itself included"),
    "order": FieldHint("Hyena order", 1, 8, 1, tip="gates per operator (order 2: one long conv "
                       "between two gates)"),
    "filter_order": FieldHint("Filter MLP width", 4, 1024, 8),
    "pos_emb_dim": FieldHint("Positional features", 3, 129, 2,
                             tip="t plus sine/cosine bands fed to the filter MLP (odd)"),
    "filter_freq": FieldHint("Filter sine frequency", 0.1, 1000.0, 1.0, 2),
    "short_filter_size": FieldHint("Short conv width", 1, 64, 1),
    "mlp_ratio": FieldHint("MLP ratio", 0.5, 16.0, 0.5, 2),
    "dropout": FieldHint("Dropout", 0.0, 0.9, 0.05, 3),
    "decay_fast": FieldHint("Filter decay, fastest", 0.001, 100.0, 0.05, 3),
    "decay_slow": FieldHint("Filter decay, slowest", 0.001, 100.0, 0.1, 3),
    "decay_target": FieldHint("Decay target", 1e-6, 1.0, 0.001, 6),
    "decay_shift": FieldHint("Decay shift", 0.0, 1.0, 0.01, 3),
    "rope_base": FieldHint("RoPE base", 1.0, 1e9, 1000.0, 1),
    # hyena-blt
    "d_local": FieldHint("Byte width (d_local)", 8, 4096, 8),
    "d_global": FieldHint("Patch width (d_global)", 8, 8192, 8),
    "n_local_layers": FieldHint("Encoder layers", 0, 64, 1),
    "n_global_layers": FieldHint("Global layers", 1, 256, 1),
    "n_decoder_layers": FieldHint("Decoder layers", 0, 64, 1),
    "global_attention_layers": FieldHint("Attention blocks", tip="global blocks that mix by "
                                         "causal attention, e.g. 1, 3 (empty: all Hyena)"),
    "n_experts": FieldHint("Experts (MoE)", 0, 256, 1, tip="0: dense MLPs"),
    "top_k": FieldHint("Experts per patch", 1, 16, 1),
    "n_memories": FieldHint("Memory experts", 0, 64, 1, tip="0: no memory across segments"),
    "segment_len": FieldHint("Segment (patches)", 1, 100_000, 8,
                             tip="patches per memory segment"),
    "hash_ngrams": FieldHint("Hash n-grams", tip="BLT hash n-gram embeddings, e.g. 3, 4, 5"),
}
MODEL_EXCLUDE = ("arch", "vocab_size", "max_len")  # max_len follows the sequence length
RELOAD_MS = 10_000


def default_workspace() -> Path:
    return platformdirs.user_data_path("bytescope") / "runs"


class DatasetTable(QWidget):
    """The training files: the open ones and any added, each with an include box and weight."""

    changed = Signal()
    files_added = Signal()  # files whose size is not known yet

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(("File", "Bases", "Train / held out", "Weight"))
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in (1, 2, 3):
            self.table.horizontalHeader().setSectionResizeMode(
                column, QHeaderView.ResizeMode.ResizeToContents)
        self.table.setMinimumHeight(90)
        self.table.setMaximumHeight(160)
        self.add = QPushButton("Add Files…")
        self.add.clicked.connect(self._add_dialog)
        self.split = QLabel()
        self.split.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.add)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)
        layout.addLayout(row)
        layout.addWidget(self.split)
        self._rows: list[dict] = []  # {"path", "bases" (None: unknown), "box", "weight"}
        self.held_out = 0.1

    def set_open_files(self, files: list[tuple[str, int]]) -> None:
        """The workbench's open files (path, bases); added files and choices are kept."""
        for path, bases in files:
            self._ensure(path, bases, checked=True)
        self._refresh()

    def add_files(self, paths: list[str]) -> None:
        for path in paths:
            self._ensure(str(path), None, checked=True)
        self._refresh()
        if self.unknown_sizes():
            self.files_added.emit()

    def _ensure(self, path: str, bases: int | None, checked: bool) -> None:
        for row in self._rows:
            if row["path"] == path:
                if bases is not None:
                    row["bases"] = bases
                return
        box = QCheckBox(Path(path).name)
        box.setToolTip(path)
        box.setChecked(checked)
        box.toggled.connect(self.changed)
        weight = QDoubleSpinBox()
        weight.setRange(0.0, 1000.0)
        weight.setValue(1.0)
        weight.setSingleStep(0.5)
        weight.setToolTip("mixture weight: how often this file's windows are drawn")
        weight.valueChanged.connect(self.changed)
        self._rows.append({"path": path, "bases": bases, "box": box, "weight": weight})

    def set_bases(self, path: str, bases: int) -> None:
        for row in self._rows:
            if row["path"] == path:
                row["bases"] = bases
        self._refresh()

    def unknown_sizes(self) -> list[str]:
        return [row["path"] for row in self._rows if row["bases"] is None]

    def set_held_out(self, fraction: float) -> None:
        self.held_out = fraction
        self._refresh()

    def _refresh(self) -> None:
        self.table.setRowCount(len(self._rows))
        train_total = held_total = 0
        for i, row in enumerate(self._rows):
            self.table.setCellWidget(i, 0, row["box"])
            bases = row["bases"]
            held = None if bases is None else math.ceil(bases * self.held_out)
            size = QTableWidgetItem("…" if bases is None else f"{bases:,}")
            split = QTableWidgetItem("…" if bases is None else f"{bases - held:,} / {held:,}")
            for item in (size, split):
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                item.setFlags(Qt.ItemFlag.ItemIsEnabled)
            self.table.setItem(i, 1, size)
            self.table.setItem(i, 2, split)
            self.table.setCellWidget(i, 3, row["weight"])
            if row["box"].isChecked() and bases is not None:
                train_total += bases - held
                held_total += held
        self.split.setText(
            f"Validation: the last {self.held_out:.0%} of every record, never trained on "
            f"({train_total:,} bases to train on, {held_total:,} held out)."
            if self._rows else "Open sequence files, or add some, to train on them.")
        self.changed.emit()

    def entries(self) -> list[tuple[str, float]]:
        return [(row["path"], row["weight"].value()) for row in self._rows
                if row["box"].isChecked()]

    def _add_dialog(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Training files", "",
                                                "Sequences and text (*)")
        if paths:
            self.add_files(paths)


class TrainingPanel(QWidget):
    """See the module docstring. ``error`` carries failures for the window's dialog."""

    error = Signal(object)

    def __init__(self, workbench: Workbench, training_model: TrainingModel,
                 controller: TrainingController, settings: QSettings | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workbench = workbench
        self.settings = settings
        self.training_model = training_model
        self.controller = controller
        self._shown = self._params_stale = False  # see set_shown
        controller.error.connect(self._report)
        controller.finished.connect(self._on_run_ended)
        self._subs = Subscriptions()
        self._live_rows: dict[str, list[dict]] = {"step": [], "eval": []}

        # -- setup: dataset, model, run ---------------------------------------------------------
        self.dataset = DatasetTable()
        self.arch = QComboBox()
        self.arch.addItems(list(ARCHITECTURES))
        self.arch.setToolTip("hyena: the long-convolution model; attention: the sliding-window "
                             "transformer baseline")
        self.preset = QComboBox()
        self.preset.addItems(list(PRESETS))
        self.preset.setToolTip("sizes: " + ", ".join(f"{k} d={v['d_model']}×{v['n_layers']}"
                                                     for k, v in PRESETS.items()))
        self.params = QLabel()
        self.model_box = QGroupBox("Model")
        self.model_layout = QVBoxLayout(self.model_box)
        top = QFormLayout()
        top.addRow("Architecture", self.arch)
        top.addRow("Preset", self.preset)
        top.addRow("Parameters", self.params)
        self.model_layout.addLayout(top)
        self.model_form: DataclassForm | None = None
        self.arch.currentTextChanged.connect(self._rebuild_model_form)
        self.preset.currentTextChanged.connect(self._apply_preset)

        self.train_form = DataclassForm(TrainConfig, hints_for(TrainConfig, TRAIN_HINTS,
                                                               exclude=TRAIN_EXCLUDE))
        defaults = TrainConfig(threads=default_threads())
        self.train_form.set_values(defaults)
        self.train_form.changed.connect(self._on_train_field)
        self.dataset.set_held_out(defaults.held_out)

        self.workspace_edit = QLineEdit(str(self.training_model.workspace))
        self.workspace_edit.editingFinished.connect(
            lambda: self.set_workspace(self.workspace_edit.text()))
        choose = QPushButton("Choose…")
        choose.clicked.connect(self._choose_workspace)
        ws_row = QHBoxLayout()
        ws_row.addWidget(self.workspace_edit, 1)
        ws_row.addWidget(choose)

        data_box = QGroupBox("Dataset")
        QVBoxLayout(data_box).addWidget(self.dataset)
        train_box = QGroupBox("Training")
        QVBoxLayout(train_box).addWidget(self.train_form)
        ws_box = QGroupBox("Workspace (one folder per run)")
        ws_box.setLayout(ws_row)
        setup = QWidget()
        setup_layout = QVBoxLayout(setup)
        for box in (data_box, self.model_box, train_box, ws_box):
            setup_layout.addWidget(box)
        setup_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(setup)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

        self.runs = RunsBrowser(self.training_model)
        self.runs.use_model.connect(self.use_run_model)
        self.runs.resume_run.connect(self.resume_run)
        self.runs.delete_run.connect(self.delete_run_dialog)
        self.runs.refresh.connect(self.controller.refresh_runs)
        self.tabs = QTabWidget()
        self.tabs.addTab(scroll, "Setup")
        self.tabs.addTab(self.runs, "Runs")

        # -- controls, progress, curves, log ---------------------------------------------------
        self.buttons = {name: QPushButton(name) for name in ("Start", "Pause", "Resume", "Stop")}
        self.buttons["Start"].setToolTip("Start a new run with these settings")
        self.buttons["Pause"].setToolTip("Pause after the current step (nothing is lost)")
        self.buttons["Resume"].setToolTip("Resume the paused run, or continue a stopped one")
        self.buttons["Stop"].setToolTip("Stop after the current step and save a checkpoint")
        self.buttons["Start"].clicked.connect(self.start)
        self.buttons["Pause"].clicked.connect(self.controller.pause)
        self.buttons["Resume"].clicked.connect(self.resume)
        self.buttons["Stop"].clicked.connect(self.controller.stop)
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.setFormat("no run")
        self.status = QLabel()
        controls = QHBoxLayout()
        for button in self.buttons.values():
            controls.addWidget(button)
        controls.addWidget(self.progress, 1)

        self.curves = CurvesView()
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(5000)
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.curves)
        right.addWidget(self.log)
        right.setStretchFactor(0, 4)
        right.setStretchFactor(1, 1)
        right.setSizes([400, 90])
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.tabs)
        split.addWidget(right)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        split.setSizes([420, 780])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(controls)
        layout.addWidget(self.status)
        layout.addWidget(split, 1)

        self.dataset.changed.connect(self._update_buttons)
        self.dataset.files_added.connect(self._count_unknown)
        events = self.training_model.events
        self._subs.connect(events.live, self._on_live)
        self._subs.connect(events.rows, self._on_rows)
        self._subs.connect(events.log, self._on_log)
        self._subs.connect(events.selection, self._on_selection)
        self._subs.connect(events.runs, self._on_runs)
        self._subs.connect(events.curves, self._show_curves)
        self._subs.connect(events.run_log, self._show_run_log)
        self._subs.connect(events.messages, self._show_messages)
        self._subs.connect(events.file_bases, self._on_file_bases)
        self._subs.connect(workbench.events.documents, self._on_documents)
        self._rebuild_model_form(self.arch.currentText())
        self._on_documents(workbench.documents)
        self._on_live(None)
        self.controller.refresh_runs()
        # TensorBoard-like reload: runs started elsewhere (the CLI, torchrun) show up and move
        self._reload = QTimer(self, interval=RELOAD_MS)
        self._reload.timeout.connect(self._reload_if_visible)
        self._reload.start()

    # -- settings ------------------------------------------------------------------------------
    def set_workspace(self, path: str | Path) -> None:
        path = Path(path).expanduser()
        self.workspace_edit.setText(str(path))
        self.training_model.set_workspace(path)
        if self.settings is not None:
            self.settings.setValue("training/workspace", str(path))
        self.controller.refresh_runs()

    def _choose_workspace(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Workspace for runs",
                                                  str(self.training_model.workspace or ""))
        if folder:
            self.set_workspace(folder)

    def _rebuild_model_form(self, arch: str) -> None:
        config_cls, _ = ARCHITECTURES[arch]
        if self.model_form is not None:
            self.model_layout.removeWidget(self.model_form)
            self.model_form.deleteLater()
        self.model_form = DataclassForm(config_cls, hints_for(config_cls, MODEL_HINTS,
                                                              exclude=MODEL_EXCLUDE))
        self.model_form.changed.connect(lambda _name: self._update_params())
        self.model_layout.addWidget(self.model_form)
        self._apply_preset(self.preset.currentText())

    def _apply_preset(self, preset: str) -> None:
        if self.model_form is not None:
            self.model_form.set_values(model_config(self.arch.currentText(), preset))
            self._update_params()

    def _model_overrides(self) -> dict:
        """The model fields that differ from the preset's (what ``TrainConfig.model`` holds)."""
        base = model_config(self.arch.currentText(), self.preset.currentText())
        values = self.model_form.values() if self.model_form is not None else {}
        return {k: v for k, v in values.items() if getattr(base, k) != v}

    def _update_params(self) -> None:
        """The parameter count of the form's model, counted when the panel is shown (a meta
        build imports torch._dynamo the first time: 1.5 s that the window's start need not
        wait for while the panel is a hidden tab)."""
        self._params_stale = not self._shown
        if self._params_stale:
            self.params.setText("")
            return
        try:
            config = model_config(self.arch.currentText(), self.preset.currentText(),
                                  **self._model_overrides())
            self.params.setText(f"{estimate_parameters(config):,}")
        except (BytescopeError, ValueError, TypeError) as error:
            self.params.setText(str(error))

    def _on_train_field(self, name: str) -> None:
        if name == "held_out":
            self.dataset.set_held_out(self.train_form.values()["held_out"])

    def config(self) -> TrainConfig:
        """The run these settings describe (raises InputError if they do not make one)."""
        entries = self.dataset.entries()
        values = self.train_form.values()
        config = TrainConfig(files=[p for p, _ in entries], weights=[w for _, w in entries],
                             arch=self.arch.currentText(), preset=self.preset.currentText(),
                             model=self._model_overrides(), **values)
        config.validate()
        config.eval_every = min(config.eval_every, config.steps)
        config.checkpoint_every = min(config.checkpoint_every, config.steps)
        return config

    def set_config(self, config: TrainConfig) -> None:
        """Fill the forms from a config (a run's, to start another like it)."""
        self.arch.setCurrentText(config.arch)
        self.preset.setCurrentText(config.preset)
        if self.model_form is not None:
            self.model_form.set_values(model_config(config.arch, config.preset, **config.model))
        self.train_form.set_values(config)
        self.dataset.add_files(config.files)
        self._update_params()

    # -- actions -------------------------------------------------------------------------------
    def start(self) -> Path | None:
        """The Start button: a run of the forms' settings; a failure is a dialog."""
        try:
            return self.start_run()
        except BytescopeError as error:
            self._report(error)
            return None

    def start_run(self, config: TrainConfig | None = None,
                  run_dir: str | Path | None = None) -> Path:
        """Start a run of ``config`` (default: the forms') in ``run_dir`` (default: a new
        folder in the workspace); returns its folder. Raises InputError when it cannot."""
        path = self.controller.start(config if config is not None else self.config(), run_dir)
        self.training_model.select([])
        self._reset_curves()
        return path

    def resume(self) -> None:
        """Resume a paused live run, else continue the last stopped one."""
        live = self.training_model.live
        if live is not None and live.state == "paused" and self.controller.active:
            self.controller.resume_live()
        elif live is not None and not live.active:
            self.resume_run(live.path)

    def resume_run(self, path: Path) -> None:
        try:
            self.controller.resume(path)
        except BytescopeError as error:
            self._report(error)
            return
        self._reset_curves()

    def use_run_model(self, path: Path) -> None:
        """Score the open record with the run's best checkpoint (else its latest)."""
        from engine.models.defaults import resolve_model_path

        try:
            checkpoint = resolve_model_path(path)
        except BytescopeError as error:
            self._report(error)
            return
        self.workbench.set_model_spec(str(checkpoint))
        self.workbench.log(f"model: {checkpoint} (best checkpoint of {Path(path).name})")

    def delete_run_dialog(self, path: Path) -> None:
        answer = QMessageBox.question(
            self, "Delete run", f"Delete the run folder\n{path}\nwith its checkpoints and "
            "metrics? This cannot be undone.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel)
        if answer == QMessageBox.StandardButton.Yes:
            self.delete_run(path)

    def delete_run(self, path: Path) -> None:
        try:
            self.controller.delete(path)
        except BytescopeError as error:
            self._report(error)

    def _report(self, error: BytescopeError) -> None:
        self.error.emit(error)

    # -- reading the models --------------------------------------------------------------------
    def _on_documents(self, documents) -> None:
        self.dataset.set_open_files([
            (d.path, int(summary_lengths(d.summaries).sum())) for d in documents])
        self._count_unknown()

    def _count_unknown(self) -> None:
        """Ask for the bases of added files (the held-out split needs them)."""
        self.controller.count_bases(self.dataset.unknown_sizes())

    def _on_file_bases(self, bases: dict[str, int]) -> None:
        unknown = set(self.dataset.unknown_sizes())
        for path, count in bases.items():
            if path in unknown:
                self.dataset.set_bases(path, count)

    def _on_live(self, live: LiveRun | None) -> None:
        self._update_buttons()
        if live is None:
            self.progress.setRange(0, 1)
            self.progress.setValue(0)
            self.progress.setFormat("no run")
            self.status.setText("Set up a run and press Start; runs started with "
                                "`bytescope train` into the workspace appear under Runs.")
            return
        steps = max(live.config.steps, 1)
        self.progress.setRange(0, steps)
        self.progress.setValue(min(live.step, steps))
        rate = "" if math.isnan(live.tokens_per_s) else f" · {live.tokens_per_s:,.0f} tok/s"
        eta = "" if math.isnan(live.eta_s) or live.state != "running" else \
            f" · ETA {format_duration(live.eta_s)}"
        self.progress.setFormat(f"{live.state} · step {live.step:,} / {steps:,}{rate}{eta}")
        val = "" if math.isnan(live.val) else (
            f", validation loss {live.val:.4f}" if live.unit == "loss" else
            f", validation {live.val:.4f} bits/byte")
        loss = "" if math.isnan(live.loss) else f"loss {live.loss:.4f} nats"
        detail = f" — {live.message}" if live.state == "failed" and live.message else ""
        self.status.setText(f"{live.label}: {loss}{val}{detail}")

    def _update_buttons(self) -> None:
        live = self.training_model.live
        active = self.controller.active
        paused = live is not None and live.state == "paused"
        can_continue = live is not None and not live.active and live.state in (
            "stopped", "failed") and (info := self.training_model.run_info(live.path)) is not None \
            and info.resumable
        self.buttons["Start"].setEnabled(not active and bool(self.dataset.entries()))
        self.buttons["Pause"].setEnabled(active and live is not None
                                         and live.state in ("starting", "running"))
        self.buttons["Resume"].setEnabled((active and paused) or (not active and can_continue))
        self.buttons["Stop"].setEnabled(active and live is not None and live.state != "stopping")

    def _on_rows(self, label: str, group: str, rows: list[dict]) -> None:
        self._live_rows[group].extend(rows)
        self.curves.append(label, group, rows)

    def _on_log(self, level: str, text: str) -> None:
        colour = {"warning": "#a05a00", "error": "#b22222"}.get(level)
        if colour is None:
            self.log.appendPlainText(text)
        else:
            import html

            self.log.appendHtml(f'<span style="color:{colour}">'
                                f'{html.escape(text).replace(chr(10), "<br>")}</span>')

    def _reset_curves(self) -> None:
        """Show the live run (with its earlier legs, when resumed) and the selected runs."""
        self._live_rows = {"step": [], "eval": []}
        self._show_messages(self.training_model.messages)
        self._load_curves()

    def _show_messages(self, messages: list[tuple[str, str]]) -> None:
        self.log.clear()
        for level, text in messages:
            self._on_log(level, text)

    def _on_selection(self, paths: list[Path]) -> None:
        self._load_curves()
        live = self.training_model.live
        if len(paths) == 1 and (live is None or not live.active):
            self.controller.read_run_log(paths[0])  # the selected run's own log, every leg

    def _show_run_log(self, messages: list[tuple[str, str]]) -> None:
        live = self.training_model.live
        if live is None or not live.active:
            self._show_messages(messages)

    def _reload_if_visible(self) -> None:
        if self.isVisible() and not self.controller.listing():
            self.controller.refresh_runs()

    def _on_runs(self, runs) -> None:
        self._update_buttons()
        going = {r.path for r in runs if r.state in ("running", "paused")}
        live = self.training_model.live
        selected = self.training_model.selection
        if any(p in going and (live is None or p != live.path) for p in selected):
            self._load_curves()  # a selected run is training elsewhere: follow its curves

    def _load_curves(self) -> None:
        self.controller.load_curves()

    def _show_curves(self, curves: list[tuple[str, dict]]) -> None:
        live = self.training_model.live
        merged = []
        for label, metrics in curves:
            if live is not None and label == live.label:  # rows that came after the read
                metrics = _with_rows(metrics, self._live_rows)
            merged.append((label, metrics))
        self.curves.set_runs(merged)

    def _on_run_ended(self, live: LiveRun | None) -> None:
        if live is not None and live.state == "finished":
            best = (f"loss {live.best_val:.4f}" if live.unit == "loss" else
                    f"{live.best_val:.4f} bits/byte")
            self.workbench.log(f"training finished: {live.label}; best validation {best} "
                               "(Runs → Use Best Checkpoint)")
        self._update_buttons()

    def shutdown(self) -> None:
        """Stop the reload timer (the window stops the run through its controller)."""
        self._reload.stop()

    def set_shown(self, shown: bool) -> None:
        """The window says whether the panel's tab is the one shown (a tabbed dock's widget
        stays "visible" behind another tab, so ``isVisible`` cannot tell)."""
        self._shown = shown
        if shown and self._params_stale:
            self._update_params()

    def disconnect_model(self) -> None:
        self._subs.disconnect_all()
        self.runs.disconnect_model()


def estimate_parameters(config) -> int:
    """The parameter count of a model config, built without initialising its weights."""
    from engine.models.checkpoint import parameter_count

    return parameter_count(config)


def _with_rows(metrics: dict, rows: dict[str, list[dict]]) -> dict:
    """``metrics`` plus the live rows past its last step, per group."""
    import numpy as np

    out = {}
    for group in ("step", "eval"):
        columns = dict(metrics.get(group, {}))
        last = columns["step"][-1] if len(columns.get("step", [])) else -1
        extra = [row for row in rows[group] if row["step"] > last]
        if extra:
            names = list(columns) or list(extra[0])
            columns = {name: np.concatenate([columns.get(name, np.zeros(0)),
                                             [float(r.get(name, np.nan)) for r in extra]])
                       for name in names}
        out[group] = columns
    return out
