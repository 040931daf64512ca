"""The main window: tracks in the centre, dockable Sequences / Patcher / Patch inspector / Log /
Training / Maps / Attribution panels, menus with standard shortcuts, a status bar with tasks,
drag-and-drop, and a layout that persists (QSettings)."""

from __future__ import annotations

import dataclasses
from functools import partial
from pathlib import Path

from PySide6.QtCore import QPoint, QSettings, Qt, QUrl
from PySide6.QtGui import QAction, QDesktopServices, QGuiApplication, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QFrame,
    QInputDialog,
    QMainWindow,
    QMenu,
    QMessageBox,
    QScrollArea,
    QWidget,
)

from engine.errors import BytescopeError, InputError
from engine.io.entropy_files import ENTROPY_SUFFIXES as ENTROPY_FORMAT_SUFFIXES
from engine.models.defaults import bundled_latent
from engine.models.repeats import load_kernel
from engine.patching import PatchConfig
from engine.resources import RESOURCES, sample_path
from engine.train import TrainConfig

from .controllers import Controllers
from .exports import writing
from .model.attribution import ExplainSettings, logo_view
from .model.entropy_files import BEDGRAPH_SUFFIXES
from .model.events import Subscriptions
from .model.locus import Locus
from .model.session import SessionState, Workbench
from .model.training import TrainingModel
from .panels.attribution import AttributionPanel
from .panels.bake import BakePanel
from .panels.inspector import InspectorPanel
from .panels.log import LogPanel
from .panels.maps import MapsPanel
from .panels.motifs import MotifsPanel
from .panels.patcher import PatcherPanel
from .panels.sequences import SequencesPanel
from .panels.status import StatusWidgets
from .panels.training import TrainingPanel, default_workspace
from .tracks.stack import TrackStack
from .workers import MainThreadCollector

SAMPLES = (("Annotated bacterial contig (BAC_00001, 470 kb)", "prokka_BAC_00001.gff3.gz"),
           ("Phage lambda (48.5 kb)", "lambda_phage.fa"))
MAX_RECENT = 10
ANNOTATION_SUFFIXES = (".bed", ".gtf")
ENTROPY_SUFFIXES = (".npy", *BEDGRAPH_SUFFIXES)
SEQUENCE_FILTER = ("Sequences (*.fa *.fasta *.fna *.ffn *.faa *.fq *.fastq *.gff *.gff3 *.gb "
                   "*.gbk *.embl *.h5 *.gz *.xz *.bz2);;All files (*)")
ANNOTATION_FILTER = "Annotations (*.gff *.gff3 *.gtf *.bed *.gb *.gbk *.embl *.gz);;All files (*)"
# every suffix of the engine's table of entropy formats (an added format is offered here too)
ENTROPY_FILTER = f"Entropies ({' '.join('*' + x for x in ENTROPY_FORMAT_SUFFIXES)});;All files (*)"
SESSION_FILTER = "bytescope session (*.json)"
LAYOUT_VERSION = 6  # 2: Training; 3: Maps; 4: the side column, full height; 5: Attribution;
# 6: Motifs
SIDE_WIDTH = (0.22, 320, 440)  # the side docks' width: a fraction of the window, at least, at most
SEQUENCES_HEIGHT = (0.16, 110, 200)  # the Sequences list above the Patcher
BOTTOM_HEIGHT = (0.22, 150, 260)  # the tabbed bottom docks (inspector ... attribution)
RAISED_HEIGHT = 0.6  # at most this share of the window for a bottom tab grown to fit
START_FRACTION = 0.85  # of the screen's available area, for a first start without saved geometry


def share(total: int, rule: tuple[float, int, int]) -> int:
    """``rule`` = (fraction, least, most) of ``total`` pixels."""
    fraction, least, most = rule
    return int(min(max(total * fraction, least), most))


def scrolling(widget: QWidget) -> QScrollArea:
    """``widget`` in a frameless scroll area that resizes it: it fills the dock when there is
    room and scrolls when the dock is smaller than its minimum size."""
    scroll = QScrollArea()
    scroll.setWidget(widget)
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    return scroll


class MainWindow(QMainWindow):
    """The workbench window. Its state is ``model`` (a :class:`Workbench`); background work
    goes through ``controller``.

    Scripting (a plugin, a notebook, a test) uses these methods, each a thin call into the
    view model or a controller, as the menus and panels do:

    * :meth:`open_paths`: open sequence, annotation and entropy files;
    * :meth:`set_locus`: show a locus (a :class:`Locus` or locus-box text);
    * :meth:`set_patcher`: patcher settings (a :class:`PatchConfig` or keyword changes);
    * :meth:`start_training`, :meth:`pause_training`, :meth:`resume_training`,
      :meth:`stop_training`: training runs (the Training panel's controller);
    * :meth:`open_maps`: the Maps panel on a run folder, without a dialog;
    * :meth:`explain`: the Attribution panel on a base or a region, with a method;
    * :meth:`start_bake`: the Bake panel on a model, a bake and its settings.
    """

    def __init__(self, settings: QSettings | None = None, model: Workbench | None = None,
                 persist: bool = True) -> None:
        super().__init__()
        load_kernel()  # not later, in a scoring worker, where loading it would stall this thread
        self.collector = MainThreadCollector(self)  # garbage with Qt in it dies on this thread
        self.model = model if model is not None else Workbench()
        self.settings = settings if settings is not None else QSettings("bytescope", "bytescope")
        self.persist = persist  # False: start from the default layout and save nothing
        workspace = self.settings.value("training/workspace", None) if persist else None
        training_model = TrainingModel(Path(workspace or default_workspace()))
        # one controller per model, all submitting to one shared task runner (gui/controllers)
        self.controllers = Controllers.create(self.model, training_model, self)
        self.error_dialog: QMessageBox | None = None
        self.setWindowTitle("bytescope")
        icon = RESOURCES / "icons" / "bytescope.svg"
        if icon.exists():
            self.setWindowIcon(QIcon(str(icon)))
        self.setAcceptDrops(True)
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks |
                            QMainWindow.DockOption.AllowTabbedDocks)

        self.tracks = TrackStack(self.model)
        self.setCentralWidget(self.tracks)
        self.sequences = SequencesPanel(self.model)
        self.patcher = PatcherPanel(self.model)
        self.inspector = InspectorPanel(self.model)
        self.log_panel = LogPanel(self.model)
        self.training = TrainingPanel(self.model, training_model, self.controllers.training,
                                      settings=self.settings if persist else None)
        self.training.error.connect(self._on_error)
        self.docks: dict[str, QDockWidget] = {}
        # The side column runs the window's full height (the bottom docks sit under the tracks
        # only), so the Patcher's three boxes fit at 1000 px; the tracks keep most of the rest.
        right = Qt.DockWidgetArea.RightDockWidgetArea
        bottom = Qt.DockWidgetArea.BottomDockWidgetArea
        self.setCorner(Qt.Corner.BottomRightCorner, right)
        self.setCorner(Qt.Corner.TopRightCorner, right)
        self._add_dock("Sequences", self.sequences, right)
        # panels taller or wider than a small dock scroll inside it instead of being clipped
        # or of forcing their minimum size on the whole dock area (and so on the window)
        self._add_dock("Patcher", scrolling(self.patcher), right)
        self.splitDockWidget(self.docks["Sequences"], self.docks["Patcher"],
                             Qt.Orientation.Vertical)
        self._add_dock("Patch inspector", self.inspector, bottom)
        self._add_dock("Log", self.log_panel, bottom)
        self._add_dock("Training", scrolling(self.training), bottom)
        self.tabifyDockWidget(self.docks["Patch inspector"], self.docks["Log"])
        self.tabifyDockWidget(self.docks["Log"], self.docks["Training"])
        self.docks["Training"].visibilityChanged.connect(self.training.set_shown)
        self._add_maps_dock()
        self._add_attribution_dock()
        self.motifs = MotifsPanel(self.model, self.controllers.motifs)
        self._add_dock("Motifs", scrolling(self.motifs), bottom)
        self.tabifyDockWidget(self.docks["Attribution"], self.docks["Motifs"])
        self._add_bake_dock()
        self.docks["Patch inspector"].raise_()
        self._default_state = self.saveState(LAYOUT_VERSION)
        self._state_restored = False  # a saved layout, when there is one, keeps its sizes
        self._docks_fitted = False

        self.status = StatusWidgets(self.model, self.controllers.tasks)
        bar = self.statusBar()
        bar.addWidget(self.status.locus)
        bar.addWidget(self.status.hover, 1)
        bar.addPermanentWidget(self.status.scores)
        bar.addPermanentWidget(self.status.task)

        self.actions: dict[str, QAction] = {}
        self._build_menus()
        self.model.events.error.connect(self._on_error)
        self.model.events.record.connect(self._on_record)
        restored = self._restore_layout() if self.persist else False
        if not restored:
            self._start_geometry()

    # -- construction ------------------------------------------------------------------------------
    def _add_dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> None:
        dock = QDockWidget(title, self)
        dock.setObjectName(title.replace(" ", "_"))
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        self.docks[title] = dock
        if isinstance(widget, QScrollArea) and area == Qt.DockWidgetArea.BottomDockWidgetArea:
            dock.visibilityChanged.connect(partial(self._grow_to_fit, dock))

    def _grow_to_fit(self, dock: QDockWidget, visible: bool) -> None:
        """A bottom tab brought up (Training, Maps) grows to its panel's minimum height, up
        to ``RAISED_HEIGHT`` of the window, rather than opening as a scrolled sliver."""
        if not visible or dock.isFloating():
            return
        scroll = dock.widget()
        chrome = dock.height() - scroll.height()  # the dock's title bar and margins
        needed = scroll.widget().minimumSizeHint().height() + chrome
        if dock.height() < needed:
            self.resizeDocks([dock], [min(needed, int(self.height() * RAISED_HEIGHT))],
                             Qt.Orientation.Vertical)

    def _action(self, key: str, text: str, slot, shortcut=None, checkable: bool = False,
                checked: bool = False) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.setCheckable(checkable)
        if checkable:
            action.setChecked(checked)
            action.toggled.connect(slot)
        else:
            action.triggered.connect(lambda _checked=False: slot())
        self.actions[key] = action
        return action

    def _build_menus(self) -> None:
        menu = self.menuBar()
        file = menu.addMenu("&File")
        file.addAction(self._action("open", "&Open…", self.open_dialog, QKeySequence.Open))
        self.recent_menu = file.addMenu("Open &Recent")
        samples = file.addMenu("Open &Sample")
        for title, name in SAMPLES:
            samples.addAction(self._action(f"sample:{name}", title,
                                           partial(self.open_sample, name)))
        file.addAction(self._action("annotations", "Open &Annotations…",
                                    self.open_annotations_dialog, "Ctrl+Shift+O"))
        file.addAction(self._action("entropies", "Load &Entropies…", self.load_entropies_dialog,
                                    "Ctrl+E"))
        file.addSeparator()
        export = file.addMenu("&Export")
        export.addAction(self._action("export_png", "View as &PNG…", self.export_png_dialog,
                                      "Ctrl+Shift+P"))
        export.addAction(self._action("export_svg", "View as &SVG…", self.export_svg_dialog))
        export.addAction(self._action("export_bed", "Patches as &BED…", self.export_bed_dialog))
        export.addAction(self._action("export_bedgraph", "Entropies as bed&Graph…",
                                      self.export_bedgraph_dialog))
        export.addAction(self._action("export_csv", "Entropies as &CSV…",
                                      self.export_csv_dialog))
        file.addSeparator()
        file.addAction(self._action("save_session", "&Save Session…", self.save_session_dialog,
                                    QKeySequence.Save))
        file.addAction(self._action("load_session", "&Load Session…", self.load_session_dialog,
                                    "Ctrl+L"))
        file.addSeparator()
        file.addAction(self._action("quit", "&Quit", self.close, QKeySequence.Quit))

        view = menu.addMenu("&View")
        view.addAction(self._action("zoom_in", "Zoom &In", self.tracks.zoom_in,
                                    QKeySequence.ZoomIn))
        view.addAction(self._action("zoom_out", "Zoom &Out", self.tracks.zoom_out,
                                    QKeySequence.ZoomOut))
        view.addAction(self._action("zoom_fit", "&Whole Record", self.tracks.zoom_fit,
                                    "Ctrl+0"))
        view.addAction(self._action("next_feature", "&Next Feature",
                                    partial(self.tracks.jump_feature, True), "F"))
        view.addAction(self._action("previous_feature", "&Previous Feature",
                                    partial(self.tracks.jump_feature, False), "B"))
        view.addAction(self._action("goto", "&Go to Locus…", self._focus_locus_box, "Ctrl+G"))
        view.addSeparator()
        view.addAction(self._action("expanded", "&Expanded Annotations",
                                    self.tracks.set_expanded, checkable=True))
        view.addAction(self._action("surprisal", "&Surprisal Track",
                                    self.tracks.set_show_surprisal, checkable=True))
        view.addSeparator()
        panels = view.addMenu("&Panels")
        for dock in self.docks.values():
            panels.addAction(dock.toggleViewAction())
        view.addAction(self._action("reset_layout", "&Reset Layout", self.reset_layout))

        model = menu.addMenu("&Model")
        model.addAction(self._action("model_default", "Use the &Bundled Model",
                                     partial(self.model.set_model_spec, "default")))
        model.addAction(self._action("model_choose", "&Choose Model Folder…",
                                     self.choose_model_dialog))
        model.addAction(self._action("repeats", "Use the &Repeat Expert", self.model.set_repeats,
                                     checkable=True, checked=self.model.repeats))
        self.actions["repeats"].setToolTip(
            "Mix the model's repeat expert into its entropies, when the model has one "
            "(bytescope fit-repeats): it follows earlier copies (and, for DNA, reverse "
            "complements) of the last few bases, however far back in the record")
        model.addAction(self._action("cancel_scoring", "C&ancel Scoring",
                                     partial(self.controllers.view.cancel, "scores")))
        model.addSeparator()
        model.addAction(self._action("train", "&Train a Model…", self.show_training, "Ctrl+T"))
        model.addAction(self._action("inspect_maps", "Inspect &Maps…", self.show_maps,
                                     "Ctrl+M"))
        model.addAction(self._action("explain", "E&xplain…", self.show_explain,
                                     "Ctrl+Shift+E"))
        model.addAction(self._action("bake", "&Bake…", self.show_bake))
        self.actions["bake"].setToolTip(
            "Quantize a model to int8 or ternary (BitNet b1.58) and compare it with the fp32 "
            "model: size, speed, bits per base, patch boundaries")
        self.actions["explain"].setToolTip(
            "Explain the base chosen (click it in the entropy track) or the region selected "
            "(shift-drag): saliency, integrated gradients or mutagenesis")

        help_menu = menu.addMenu("&Help")
        help_menu.addAction(self._action("shortcuts", "&Keyboard Shortcuts",
                                         self.show_shortcuts))
        help_menu.addAction(self._action("about", "&About bytescope", self.show_about))
        self._rebuild_recent()

    # -- opening -----------------------------------------------------------------------------------
    def open_paths(self, paths: list[str], locus: str | None = None,
                   locus_origin: str = "locus") -> None:
        """Open files by kind (entropies, annotation-only files, sequences) in the background.

        ``locus`` (locus-box text) is shown once the file holding it is open; without it, when
        no record is shown yet, the first record of the first sequence file given is shown,
        whatever order the loads finish in. Failures come as dialogs (``model.events.error``),
        not exceptions: the files open after this returns."""
        sequences, annotations = [], []
        for path in map(str, paths):
            suffixes = [s.lower() for s in Path(path).suffixes]
            while len(suffixes) > 1 and suffixes[-1] in (".gz", ".bgz", ".xz", ".bz2"):
                suffixes.pop()  # x.gtf.gz is a GTF
            suffix = suffixes[-1] if suffixes else ""
            if suffix in ENTROPY_SUFFIXES:
                self.controllers.view.load_entropies(path)
            elif suffix in ANNOTATION_SUFFIXES:
                annotations.append(path)
            else:
                sequences.append(path)
        if sequences:
            self.controllers.view.open_files(sequences, locus=locus, locus_origin=locus_origin)
        if annotations:
            self.controllers.view.open_annotations(annotations)
        for path in sequences + annotations:
            self._remember(path)

    def open_sample(self, name: str) -> None:
        try:
            self.open_paths([str(sample_path(name))])
        except BytescopeError as error:
            self.model.report_error(error)

    def open_dialog(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Open sequences", self._last_dir(),
                                                SEQUENCE_FILTER)
        if paths:
            self.open_paths(paths)

    def open_annotations_dialog(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Open annotations", self._last_dir(),
                                                ANNOTATION_FILTER)
        if paths:
            self.controllers.view.open_annotations(paths)

    def load_entropies_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load entropies for the record shown",
                                              self._last_dir(), ENTROPY_FILTER)
        if path:
            self.controllers.view.load_entropies(path)

    def choose_model_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Model, checkpoint or run folder",
                                                  self._last_dir())
        if folder:
            self.model.set_model_spec(folder)

    def show_training(self) -> None:
        dock = self.docks["Training"]
        dock.show()
        dock.raise_()
        if not dock.isFloating() and dock.height() < self.height() // 2:  # room for the curves
            self.resizeDocks([dock], [int(self.height() * 0.6)], Qt.Orientation.Vertical)

    # -- the Maps panel ----------------------------------------------------------------------------
    def _add_maps_dock(self) -> None:
        """The Maps dock, tabbed with the bottom docks; its routing track goes to the tracks."""
        self.maps = MapsPanel(self.model, self.controllers.maps, self.controllers.exports)
        self._add_dock("Maps", scrolling(self.maps), Qt.DockWidgetArea.BottomDockWidgetArea)
        self.tabifyDockWidget(self.docks["Training"], self.docks["Maps"])
        self._maps_subs = Subscriptions()
        self._maps_subs.connect(self.maps.maps_model.events.routing, self.tracks.set_routing)

    def _raise_maps(self) -> None:
        """Show the Maps dock, tall enough for a heat map."""
        dock = self.docks["Maps"]
        dock.show()
        dock.raise_()
        if not dock.isFloating() and dock.height() < self.height() // 2:
            self.resizeDocks([dock], [int(self.height() * 0.55)], Qt.Orientation.Vertical)

    def show_maps(self) -> None:
        """Raise the Maps dock and inspect the view: with the maps' model, else the bundled
        hyena-blt model, else ask for one."""
        self._raise_maps()
        if not self.maps.maps_model.model_spec and bundled_latent() is None:
            self.maps.choose_model_dialog()
        self.maps.inspect_view()  # waits for a model still loading

    def open_maps(self, run: str | Path) -> int | None:
        """Raise the Maps dock on ``run`` (a hyena-blt run folder, checkpoint or model folder;
        no dialog) and inspect the view. Returns the inspection's request id, or None when it
        waits for the model to load (it follows) or cannot run (the panel says why)."""
        self.maps.set_model_spec(str(run))
        self._raise_maps()
        return self.maps.inspect_view()

    # -- the Bake panel ----------------------------------------------------------------------------
    def _add_bake_dock(self) -> None:
        """The Bake dock, tabbed with the bottom docks; the fp32 overlay goes to the tracks."""
        self.bake = BakePanel(self.model, self.controllers.bake)
        self._add_dock("Bake", scrolling(self.bake), Qt.DockWidgetArea.BottomDockWidgetArea)
        self.tabifyDockWidget(self.docks["Motifs"], self.docks["Bake"])
        model = self.bake.bake_model
        self._bake_subs = Subscriptions()
        self._bake_subs.connect(model.events.overlay, self._on_bake_overlay)
        self._bake_subs.connect(model.events.overlay_grew, self.tracks.overlay_grew)
        self.controllers.bake.error.connect(self._on_error)

    def _on_bake_overlay(self, buffer) -> None:
        result = self.bake.bake_model.result
        baked = result.out.name if result is not None else "baked"
        self.tracks.set_overlay(buffer, (baked, f"fp32 ({Path(buffer.source).name})"
                                         if buffer is not None else "fp32"))

    def show_bake(self) -> None:
        """Model ▸ Bake…: raise the Bake dock, tall enough for its report."""
        dock = self.docks["Bake"]
        dock.show()
        dock.raise_()
        if not dock.isFloating() and dock.height() < int(self.height() * 0.45):
            self.resizeDocks([dock], [int(self.height() * 0.5)], Qt.Orientation.Vertical)

    def start_bake(self, source: str = "default", bake: str = "int8", **options):
        """Bake ``source`` as the Bake panel does (``bake``: one of
        :data:`gui.model.bake.BAKES`; options: the :class:`BakeSettings` fields). Returns the
        bake job's request id, the fine-tuning run's folder, or None (the panel says why)."""
        import dataclasses

        model = self.bake.bake_model
        model.set_settings(dataclasses.replace(model.settings, source=source, bake=bake,
                                               **options))
        self.show_bake()
        return self.controllers.bake.start()

    # -- the Attribution panel ---------------------------------------------------------------------
    def _add_attribution_dock(self) -> None:
        """The Attribution dock, tabbed with the bottom docks; its contributions go to the
        attribution track, the entropy track's picks to its form."""
        self.attribution = AttributionPanel(self.model, self.controllers.attribution)
        self._add_dock("Attribution", scrolling(self.attribution),
                       Qt.DockWidgetArea.BottomDockWidgetArea)
        self.tabifyDockWidget(self.docks["Maps"], self.docks["Attribution"])
        model = self.attribution.attribution_model
        self._attribution_subs = Subscriptions()
        self._attribution_subs.connect(model.events.result, self._on_attribution_result)
        self._attribution_subs.connect(model.events.settings, self._on_attribution_settings)
        self.tracks.base_clicked.connect(model.set_base)
        self.tracks.region_selected.connect(model.set_region)
        self.tracks.explain_menu.connect(self._on_explain_menu)

    def _on_attribution_result(self, result) -> None:
        self.tracks.set_attribution(logo_view(result))

    def _on_attribution_settings(self, settings: ExplainSettings) -> None:
        self.tracks.show_pick(settings.base, settings.region)

    def _raise_attribution(self) -> None:
        """Show the Attribution dock, tall enough for its heat maps."""
        dock = self.docks["Attribution"]
        dock.show()
        dock.raise_()
        if not dock.isFloating() and dock.height() < int(self.height() * 0.3):
            self.resizeDocks([dock], [int(self.height() * 0.32)], Qt.Orientation.Vertical)

    def show_explain(self) -> int | None:
        """Model ▸ Explain…: raise the Attribution dock and explain its form's target."""
        self._raise_attribution()
        return self.attribution.explain()

    def explain(self, target: str = "surprisal", base: int | None = None,
                region: tuple[int, int] | None = None, method: str = "saliency",
                **options) -> int | None:
        """Explain ``target`` (surprisal or entropy at ``base``, 0-based, or ``region``'s
        log-likelihood, ``[start, end)``) with ``method`` and ``options`` (steps, context,
        span), as the Attribution panel does. Returns the job's request id, or None when the
        answer was cached (shown at once) or cannot be asked (the panel says why)."""
        model = self.attribution.attribution_model
        settings = model.settings
        model.set_settings(ExplainSettings(
            target=target, base=base if base is not None else settings.base,
            region=tuple(region) if region is not None else settings.region, method=method,
            steps=options.pop("steps", settings.steps),
            context=options.pop("context", settings.context),
            span=options.pop("span", settings.span)))
        if options:
            raise TypeError(f"unknown options: {', '.join(options)}")
        self._raise_attribution()
        return self.attribution.explain()

    def explain_menu(self, base: int) -> QMenu:
        """The entropy track's right-click menu at ``base``: explain it (or the region
        selected), a dependency map, clear the region."""
        model = self.attribution.attribution_model
        method = model.settings.method
        label = {"saliency": "saliency", "ig": "integrated gradients",
                 "ism": "mutagenesis"}[method]
        menu = QMenu(self)
        shown = f"{base + 1:,}"
        menu.addAction(f"Explain the surprisal of base {shown} ({label})",
                       lambda: self._explain_from_menu("surprisal", base))
        if base >= 1:
            menu.addAction(f"Explain the entropy at base {shown} ({label})",
                           lambda: self._explain_from_menu("entropy", base))
        region = model.settings.region
        if region is not None:
            words = f"{region[0] + 1:,}-{region[1]:,}"
            menu.addAction(f"Explain the log-likelihood of {words} ({label})",
                           lambda: self._explain_from_menu("region", None))
        methods = menu.addMenu("Method")
        for key, words in (("saliency", "Saliency"), ("ig", "Integrated Gradients"),
                           ("ism", "Mutagenesis")):
            action = methods.addAction(words, lambda k=key: model.change(method=k))
            action.setCheckable(True)
            action.setChecked(key == method)
        menu.addSeparator()
        dependency = menu.addAction("Dependency Map Here", lambda: self._dependency_at(base))
        dependency.setEnabled(self.attribution.dependency_button.isEnabled())
        if region is not None:
            menu.addAction("Clear the Region", lambda: model.set_region(None))
        return menu

    def _explain_from_menu(self, kind: str, base: int | None) -> int | None:
        model = self.attribution.attribution_model
        if base is not None:
            model.change(target=kind, base=base)
        else:
            model.change(target=kind)
        self._raise_attribution()
        return self.attribution.explain()

    def _dependency_at(self, base: int) -> int | None:
        model = self.attribution.attribution_model
        if model.settings.region is None:
            model.set_base(base)
        self._raise_attribution()
        return self.attribution.dependency()

    def _on_explain_menu(self, base: int, screen_pos: QPoint) -> None:
        menu = self.explain_menu(base)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)  # one per right click
        menu.popup(screen_pos)

    # -- scripting: the locus, the patcher, training --------------------------------------------
    def set_locus(self, locus: str | Locus) -> None:
        """Show ``locus``: a :class:`Locus` of an open record (0-based half-open), or what the
        locus box takes (``record:start-end`` 1-based inclusive as IGV writes it, ``start-end``
        on the record shown, a gene name, ``#patch``);
        switches record when it names another. Raises InputError when it names nothing open."""
        model = self.model
        if isinstance(locus, str):
            self.tracks.go_to(*model.parse_locus(locus))
            return
        if model.record is not None and locus.record_id == model.record.id:
            self.tracks.go_to(model.record_path or "", model.record, locus)
            return
        found = model.find_record(locus.record_id)
        if found is None:
            raise InputError(f"record {locus.record_id!r} is not in the files open")
        self.tracks.go_to(found[0], found[1], locus)

    def set_patcher(self, config: PatchConfig | None = None, **changes) -> PatchConfig:
        """Set the patcher to ``config``, or change the current settings by keyword
        (``PatchConfig``'s fields). As in the Patcher panel, ``mode=`` brings that mode's θ and
        target size of this session (:meth:`Workbench.config_for_mode`), and a ``threshold``
        clears the target size (or the reverse) unless both are given. Raises InputError for
        settings that make no config; returns the config set."""
        if config is None:
            mode = changes.pop("mode", None)
            base = self.model.config_for_mode(mode) if mode is not None \
                else self.model.patch_config
            if changes.get("threshold") is not None and "target_patch_size" not in changes:
                changes["target_patch_size"] = None
            if changes.get("target_patch_size") is not None and "threshold" not in changes:
                changes["threshold"] = None
            config = dataclasses.replace(base, **changes)
        elif changes:
            raise TypeError("give a PatchConfig or keyword changes, not both")
        self.model.set_patch_config(config)
        return self.model.patch_config

    def start_training(self, config: TrainConfig | None = None,
                       run_dir: str | Path | None = None) -> Path:
        """Start a training run of ``config`` (default: the Training panel's forms) in
        ``run_dir`` (default: a new folder in the panel's workspace), shown live in the
        Training dock; returns the run folder. Raises InputError when it cannot start (a run
        already going, a bad config, a folder holding a run)."""
        path = self.training.start_run(config, run_dir)
        self.show_training()
        return path

    def pause_training(self) -> None:
        """Pause the live run after its step (nothing without one)."""
        self.training.controller.pause()

    def resume_training(self) -> None:
        """Resume a paused live run, else continue the last stopped one from its checkpoint."""
        self.training.resume()

    def stop_training(self) -> None:
        """Stop the live run after its step, with a checkpoint (nothing without one)."""
        self.training.controller.stop()

    def _focus_locus_box(self) -> None:
        self.tracks.locus_box.setFocus()
        self.tracks.locus_box.selectAll()

    # -- drag and drop -----------------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls() and all(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            self.open_paths(paths)
            event.acceptProposedAction()

    # -- exports -----------------------------------------------------------------------------------
    def _save_path(self, title: str, suffix: str, filter_: str) -> str | None:
        record = self.model.record
        stem = record.id.replace("|", "_").replace("/", "_") if record is not None else "view"
        default = str(Path(self._last_dir()) / f"{stem}{suffix}")
        path, _ = QFileDialog.getSaveFileName(self, title, default, filter_)
        return path or None

    def _run_export(self, target: str, write) -> Path | None:
        """``write()`` the file at ``target``; a failure is a dialog naming ``target`` (the
        path the user chose: an OSError's own file name is often the hidden temporary)."""
        try:
            with writing(target):  # a full disk, a read-only folder: a dialog, not a traceback
                path = write()
        except BytescopeError as error:
            self.model.report_error(error)
            return None
        self.model.log(f"wrote {path}")
        return path

    def export_view(self, path: str, scale: float = 1.0) -> int | None:
        """Write the tracks as PNG (``scale`` times the size on screen) or SVG: rendered
        here (painting is O(pixels)), encoded and written in a job; returns its request id
        (None: the dialog says why)."""
        return self.controllers.exports.export_view(self.tracks.graphics, path, scale)

    def export_patches(self, path: str) -> int | None:
        """Write the patches as BED in the background; returns the job's request id."""
        return self.controllers.exports.export_patches(path)

    def export_entropies(self, path: str) -> int | None:
        """Write the entropies as bedGraph or CSV in the background; returns the request id."""
        return self.controllers.exports.export_entropies(path)

    def export_png_dialog(self) -> None:
        scale, ok = QInputDialog.getDouble(self, "Export view as PNG",
                                           "Scale (times the size on screen)", 2.0, 0.5, 8.0, 1)
        path = self._save_path("Export view as PNG", ".png", "PNG image (*.png)") if ok else None
        if path:
            self.export_view(path, scale)

    def export_svg_dialog(self) -> None:
        path = self._save_path("Export view as SVG", ".svg", "SVG image (*.svg)")
        if path:
            self.export_view(path)

    def export_bed_dialog(self) -> None:
        path = self._save_path("Export patches as BED", ".patches.bed", "BED (*.bed)")
        if path:
            self.export_patches(path)

    def export_bedgraph_dialog(self) -> None:
        path = self._save_path("Export entropies as bedGraph", ".entropy.bedgraph",
                               "bedGraph (*.bedgraph)")
        if path:
            self.export_entropies(path)

    def export_csv_dialog(self) -> None:
        path = self._save_path("Export entropies as CSV", ".entropy.csv", "CSV (*.csv)")
        if path:
            self.export_entropies(path)

    # -- sessions ----------------------------------------------------------------------------------
    def save_session(self, path: str) -> Path | None:
        state = self.model.session_state()

        def write() -> Path:
            state.save(path)
            return Path(path)

        return self._run_export(path, write)

    def load_session(self, path: str) -> bool:
        """Open a saved session (a dialog says why when it cannot be read)."""
        try:
            state = SessionState.load(path)
        except BytescopeError as error:
            self.model.report_error(error)
            return False
        self.apply_session(state, path)
        return True

    def apply_session(self, state: SessionState, path: str | None = None) -> None:
        """Replace what is open with a session's files, record, locus and settings."""
        self.controllers.view.apply_session(state)
        self.actions["repeats"].setChecked(self.model.repeats)
        self.model.log(f"loaded session {path}" if path else "loaded a session")

    def save_session_dialog(self) -> None:
        path = self._save_path("Save session", ".session.json", SESSION_FILTER)
        if path:
            self.save_session(path)

    def load_session_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load session", self._last_dir(),
                                              SESSION_FILTER)
        if path:
            self.load_session(path)

    # -- settings: recent files, layout ------------------------------------------------------------
    def _last_dir(self) -> str:
        return str(self.settings.value("last_dir", str(Path.home())))

    def recent_files(self) -> list[str]:
        value = self.settings.value("recent", [])
        if isinstance(value, str):  # QSettings gives a lone value back as a string
            value = [value]
        return [str(v) for v in value or []]

    def _remember(self, path: str) -> None:
        if not self.persist:
            return
        path = str(Path(path).resolve())
        recent = [path] + [p for p in self.recent_files() if p != path]
        self.settings.setValue("recent", recent[:MAX_RECENT])
        self.settings.setValue("last_dir", str(Path(path).parent))
        self._rebuild_recent()

    def _rebuild_recent(self) -> None:
        self.recent_menu.clear()
        recent = self.recent_files()
        for path in recent:
            self.recent_menu.addAction(Path(path).name,
                                       partial(self.open_paths, [path])).setToolTip(path)
        self.recent_menu.setEnabled(bool(recent))

    def _restore_layout(self) -> bool:
        """The saved geometry and dock layout; returns whether there was a geometry."""
        geometry = self.settings.value("window/geometry")
        state = self.settings.value("window/state")
        restored = geometry is not None and self.restoreGeometry(geometry)
        if state is not None:
            # an older LAYOUT_VERSION is refused: the default layout, fitted on first show
            self._state_restored = self.restoreState(state, LAYOUT_VERSION)
        self.actions["expanded"].setChecked(self.settings.value("view/expanded", False,
                                                                type=bool))
        self.actions["surprisal"].setChecked(self.settings.value("view/surprisal", False,
                                                                 type=bool))
        return restored

    def _start_geometry(self) -> None:
        """A first start: a fraction of the screen's available area, centred (Qt's default
        would be the docks' minimum sizes summed, whatever the screen)."""
        screen = self.screen() or QGuiApplication.primaryScreen()
        if screen is None:
            return
        area = screen.availableGeometry()
        width, height = int(area.width() * START_FRACTION), int(area.height() * START_FRACTION)
        self.setGeometry(area.x() + (area.width() - width) // 2,
                         area.y() + (area.height() - height) // 2, width, height)

    def fit_docks(self) -> None:
        """Size the docks for the window's current size: a side column wide enough for the
        Patcher, a short Sequences list above it, modest tabbed docks under the tracks."""
        width, height = self.width(), self.height()
        side = share(width, SIDE_WIDTH)
        self.resizeDocks([self.docks["Sequences"], self.docks["Patcher"]], [side, side],
                         Qt.Orientation.Horizontal)
        sequences = share(height, SEQUENCES_HEIGHT)
        self.resizeDocks([self.docks["Sequences"], self.docks["Patcher"]],
                         [sequences, height - sequences], Qt.Orientation.Vertical)
        self.resizeDocks([self.docks["Patch inspector"]], [share(height, BOTTOM_HEIGHT)],
                         Qt.Orientation.Vertical)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self._docks_fitted:  # once, at the size the window is first shown at
            self._docks_fitted = True
            if not self._state_restored:
                self.fit_docks()

    def save_layout(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState(LAYOUT_VERSION))
        self.settings.setValue("view/expanded", self.actions["expanded"].isChecked())
        self.settings.setValue("view/surprisal", self.actions["surprisal"].isChecked())
        self.settings.sync()

    def reset_layout(self) -> None:
        self.restoreState(self._default_state, LAYOUT_VERSION)
        for dock in self.docks.values():
            dock.show()
        self.fit_docks()

    # -- feedback ----------------------------------------------------------------------------------
    def _on_error(self, error: BytescopeError) -> None:
        """A user-facing failure: a non-blocking dialog; the window stays usable."""
        if self.error_dialog is not None:
            self.error_dialog.close()
        box = QMessageBox(QMessageBox.Icon.Warning, "bytescope", str(error),
                          QMessageBox.StandardButton.Ok, self)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.open()
        self.error_dialog = box

    def _on_record(self, record) -> None:
        title = "bytescope"
        if record is not None and self.model.record_path is not None:
            title = f"{record.id} — {Path(self.model.record_path).name} — bytescope"
        self.setWindowTitle(title)

    def show_shortcuts(self) -> None:
        rows = [(a.text().replace("&", ""), a.shortcut().toString())
                for a in self.actions.values() if not a.shortcut().isEmpty()]
        text = "".join(f"<tr><td>{name}</td><td><b>{keys}</b></td></tr>" for name, keys in rows)
        QMessageBox.information(self, "Keyboard shortcuts",
                                f"<table cellspacing=6>{text}</table>"
                                "<p>Mouse: wheel zooms, drag pans, drag the red θ line to set "
                                "the threshold.</p>")

    def show_about(self) -> None:
        box = QMessageBox(self)
        box.setWindowTitle("About bytescope")
        box.setText("<b>bytescope</b>: next-byte entropy and dynamic patching along sequences, "
                    "beside their annotations.")
        box.addButton(QMessageBox.StandardButton.Ok)
        readme = RESOURCES.parent / "README.md"
        if readme.exists():
            box.setInformativeText(f'<a href="{QUrl.fromLocalFile(str(readme)).toString()}">'
                                   "README</a>")
            box.linkActivated.connect(lambda url: QDesktopServices.openUrl(QUrl(url)))
        box.exec()

    # -- closing -----------------------------------------------------------------------------------
    def closeEvent(self, event) -> None:
        if self.training.controller.active and not self.confirm_stop_training():
            event.ignore()
            return
        if self.persist:
            self.save_layout()
        self.shutdown()
        super().closeEvent(event)

    def confirm_stop_training(self) -> bool:
        """Closing during a run: ask; yes stops it after its step, with a checkpoint."""
        live = self.training.training_model.live
        where = f" (step {live.step:,} of {live.config.steps:,})" if live is not None else ""
        answer = QMessageBox.question(
            self, "Training in progress",
            f"A training run is going{where}. Stop it, save a checkpoint and quit? "
            "It can be resumed later from the Runs tab.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel)
        return answer == QMessageBox.StandardButton.Yes

    def shutdown(self) -> bool:
        """Cancel background work, wait for it, unsubscribe every widget, close the files."""
        self.training.shutdown()
        # a live run stops here, with a checkpoint; then every job is cancelled and joined
        finished = self.controllers.shutdown()
        self._maps_subs.disconnect_all()
        self._attribution_subs.disconnect_all()
        self._bake_subs.disconnect_all()
        for widget in (self.tracks, self.sequences, self.patcher, self.inspector,
                       self.log_panel, self.status, self.training, self.maps, self.attribution,
                       self.motifs, self.bake):
            widget.disconnect_model()
        self.model.events.error.disconnect(self._on_error)
        self.model.events.record.disconnect(self._on_record)
        if self.error_dialog is not None:
            self.error_dialog.close()
        for document in self.model.documents:
            document.close()
        self.collector.stop()
        return finished

