"""The tracks, x-linked, under a locus box: the centre of the window.

Rows, top to bottom: ruler, sequence, entropy (with the threshold line), attribution (while
the Attribution panel shows an explanation of this record), surprisal (optional), patches,
expert routing (while the Maps panel shows an inspection), then one annotation track per
feature source. Zoom and pan (wheel, drag, buttons) change the view range; every range
change redraws the tracks from O(pixels) slices (pyramid levels, binary searches) and sets the
view model's locus. The threshold line, while dragged, sets the patcher's threshold at most
every ``THRESHOLD_THROTTLE_MS`` and once more on release.

What to explain is picked on the entropy track (its :class:`~gui.tracks.signal.PickOverlay`):
a click chooses a base (``base_clicked``), a shift-drag selects a region (``region_selected``,
also when its edges are dragged), a right click asks for the Explain menu (``explain_menu``);
the window wires them to the Attribution panel, and shows its choice back with
:meth:`TrackStack.show_pick`.
"""

from __future__ import annotations

import dataclasses
import math

import pyqtgraph as pg
from PySide6.QtCore import QPoint, QRectF, QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine.errors import BytescopeError
from engine.io.records import Record
from engine.patching import PATCH_MODES
from gui.model.attribution import LogoView
from gui.model.events import Subscriptions
from gui.model.features import FeatureIndex
from gui.model.locus import Locus, around_feature, centre_on, zoom
from gui.model.maps import RoutingView
from gui.model.patches import PatchView
from gui.model.pyramid import ScoreBuffer
from gui.model.session import Workbench

from .annotations import FeatureTrack
from .base import (
    BACKGROUND,
    CURSOR,
    ENTROPY,
    ENTROPY_FILL,
    LABEL_WIDTH,
    SURPRISAL,
    SURPRISAL_FILL,
    TEXT,
    ui_font,
)
from .logo import LogoTrack
from .patches import PatchTrack
from .routing import RoutingTrack
from .ruler import RulerTrack
from .sequence import SequenceTrack
from .signal import SignalTrack

THRESHOLD_THROTTLE_MS = 40
ZOOM_STEP = 2.0
# the threshold line means a level of H in these modes; in the others θ is a rise or a budget
LEVEL_MODES = tuple(name for name, mode in PATCH_MODES.items() if mode.draws_threshold_line)


class TrackLabel(pg.GraphicsWidget):
    """A track's name, right-aligned in the left column (IGV's name panel)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text
        self.setFixedWidth(LABEL_WIDTH)

    def paint(self, painter, option, widget=None) -> None:
        painter.setFont(ui_font(8.5, bold=True))
        painter.setPen(TEXT)
        rect = QRectF(self.rect()).adjusted(2, 0, -6, 0)
        painter.drawText(rect, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                         self.text)


class TrackStack(QWidget):
    """Locus box + tracks; reads and writes the view model only."""

    painted = Signal()  # after each redraw of the tracks (benchmarks and tests wait on it)
    base_clicked = Signal(int)  # a base clicked in the entropy track
    region_selected = Signal(object)  # (start, end) shift-dragged in the entropy track
    explain_menu = Signal(int, QPoint)  # a right click on a base, at a screen position

    def __init__(self, model: Workbench, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workbench = model
        self._subs = Subscriptions()
        self.record: Record | None = None
        self._from_view = False  # set while the view writes the locus, so its echo is ignored
        self._from_model = False  # set while a new record is laid out
        self._pending_threshold: float | None = None
        self.expanded = False
        self.show_surprisal = False

        self.locus_box = QLineEdit()
        self.locus_box.setPlaceholderText("record:start-end, start-end, gene name or #patch")
        self.locus_box.setToolTip("record:start-end, 1-based and inclusive as in IGV and samtools "
                                  "(chr1:101-200 is BED's chr1 100 200); record:pos shows pos "
                                  "± 20 bases")
        self.locus_box.setMinimumWidth(320)
        self.locus_box.returnPressed.connect(self._on_locus_entered)
        self.locus_error = QLabel()
        self.locus_error.setStyleSheet("color: #b22222;")
        self.buttons = {}
        bar = QHBoxLayout()
        bar.setContentsMargins(6, 4, 6, 2)
        bar.addWidget(QLabel("Locus"))
        bar.addWidget(self.locus_box, 2)
        for key, text, tip in (("out", "−", "Zoom out (Ctrl+-)"), ("in", "+", "Zoom in (Ctrl++)"),
                               ("fit", "Fit", "Whole record (Ctrl+0)")):
            button = QToolButton()
            button.setText(text)
            button.setToolTip(tip)
            button.setAutoRaise(True)
            button.clicked.connect(getattr(self, f"zoom_{key}"))
            bar.addWidget(button)
            self.buttons[key] = button
        bar.addWidget(self.locus_error, 3)

        pg.setConfigOptions(antialias=False, background=BACKGROUND, foreground=TEXT)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground(BACKGROUND)
        self.graphics.ci.layout.setContentsMargins(2, 2, 2, 2)
        self.graphics.ci.layout.setVerticalSpacing(3)
        self.graphics.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(self.graphics, 1)

        self.ruler = RulerTrack()
        self.sequence = SequenceTrack()
        self.entropy = SignalTrack("entropy", ENTROPY, ENTROPY_FILL, 150, threshold=True)
        self.surprisal = SignalTrack("surprisal", SURPRISAL, SURPRISAL_FILL, 90)
        self.patch_track = PatchTrack()
        self.routing = RoutingTrack()  # filled by the Maps panel: set_routing
        self.logo = LogoTrack()  # filled by the Attribution panel: set_attribution
        self.feature_tracks: list[FeatureTrack] = []
        self.master = self.ruler.plot.getViewBox()
        for track in self._fixed_tracks()[1:]:
            track.plot.setXLink(self.ruler.plot)
        for track in self._fixed_tracks()[1:]:
            self._add_cursor(track)
        self._rebuild_layout()

        self.master.sigXRangeChanged.connect(self._on_range)
        self._hover = pg.SignalProxy(self.graphics.scene().sigMouseMoved, rateLimit=60,
                                     slot=self._on_mouse_moved)
        self._threshold_timer = QTimer(self)
        self._threshold_timer.setSingleShot(True)
        self._threshold_timer.setInterval(THRESHOLD_THROTTLE_MS)
        self._threshold_timer.timeout.connect(self._apply_threshold)
        self.entropy.events.dragged.connect(self._on_threshold_dragged)
        self.entropy.events.released.connect(self._on_threshold_released)
        self._add_picks()

        events = model.events
        for signal, slot in ((events.record, self._on_record), (events.locus, self._on_locus),
                             (events.features, self._on_features),
                             (events.scores, self._on_scores),
                             (events.scores_grew, self._on_scores_grew),
                             (events.score_status, self._on_score_status),
                             (events.patches, self._on_patches),
                             (events.patch_config, self._on_patch_config),
                             (events.selection, self._on_selection),
                             (events.cursor, self._on_cursor)):
            self._subs.connect(signal, slot)
        self._on_record(model.record)

    # -- layout --------------------------------------------------------------------------------
    def _fixed_tracks(self) -> list:
        return [self.ruler, self.sequence, self.entropy, self.logo, self.surprisal,
                self.patch_track, self.routing]

    def tracks(self) -> list:
        shown = [self.ruler, self.sequence, self.entropy]
        if self.logo.view is not None:
            shown.append(self.logo)
        if self.show_surprisal:
            shown.append(self.surprisal)
        routing = [self.routing] if self.routing.routing is not None else []
        return [*shown, self.patch_track, *routing, *self.feature_tracks]

    def _rebuild_layout(self) -> None:
        layout = self.graphics.ci
        layout.clear()
        grid = layout.layout
        for row, track in enumerate(self.tracks()):
            title = {"ruler": "", "sequence": "sequence", "entropy": "entropy (nats)",
                     "surprisal": "surprisal (nats)", "patches": "patches",
                     "experts": self.routing.title,
                     "attribution": self.logo.title}.get(track.name, track.name)
            layout.addItem(TrackLabel(title), row=row, col=0)
            layout.addItem(track.plot, row=row, col=1)
            stretch = track is self.entropy
            if stretch:
                grid.setRowMinimumHeight(row, 90)
                grid.setRowStretchFactor(row, 1)
            else:
                grid.setRowFixedHeight(row, track.height)
                grid.setRowStretchFactor(row, 0)
        grid.setColumnFixedWidth(0, LABEL_WIDTH)
        grid.setColumnStretchFactor(1, 1)
        # rows left over from a longer layout must not keep their heights
        for row in range(len(self.tracks()), grid.rowCount()):
            grid.setRowFixedHeight(row, 0)
        # A re-filled layout shrinks its (top-level) item to the preferred size when it next
        # activates; activate it now and give it the view's full size back.
        grid.activate()
        self.graphics.resizeEvent(None)  # pyqtgraph: range = the widget's size, item fills it
        self._update_tracks()

    @staticmethod
    def _add_cursor(track) -> None:
        """A thin vertical line at the cursor, owned by the track's plot."""
        line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(CURSOR))
        line.setZValue(20)
        line.hide()
        track.plot.addItem(line, ignoreBounds=True)
        track.cursor = line

    def set_expanded(self, expanded: bool) -> None:
        """Annotation tracks collapsed (one row) or expanded (overlaps stacked)."""
        self.expanded = expanded
        for track in self.feature_tracks:
            track.set_expanded(expanded)
        self._rebuild_layout()

    def set_show_surprisal(self, show: bool) -> None:
        self.show_surprisal = show
        self._rebuild_layout()

    # -- model -> view -------------------------------------------------------------------------
    def _on_record(self, record: Record | None) -> None:
        locus = self.workbench.locus
        self._from_model = True  # new limits move the view: that must not rewrite the locus
        try:
            self._set_record(record)
        finally:
            self._from_model = False
        self._on_locus(locus)

    def _set_record(self, record: Record | None) -> None:
        self.record = record
        length = record.length if record is not None else 1
        self.ruler.set_record(record.id if record is not None else "", length)
        self.sequence.set_record(record)
        for track in (self.entropy, self.surprisal, self.patch_track, self.logo):
            track.set_length(length)
        self.show_pick(None, None)
        self._on_scores(self.workbench.scores)
        self._on_patches(self.workbench.patches)
        self._on_features(self.workbench.features)
        for track in self._fixed_tracks():
            vb = track.plot.getViewBox()
            vb.setLimits(xMin=0, xMax=length, minXRange=min(40, length), maxXRange=length)
        self._on_patch_config(self.workbench.patch_config)

    def _on_locus(self, locus: Locus | None) -> None:
        self.locus_box.setText(locus.format() if locus is not None else "")
        self.locus_error.clear()
        if locus is None or self._from_view:
            return
        x0, x1 = self.master.viewRange()[0]
        if abs(x0 - locus.start) > 0.5 or abs(x1 - locus.end) > 0.5:
            self.master.setXRange(locus.start, locus.end, padding=0)

    def _on_features(self, indexes: list[FeatureIndex]) -> None:
        length = self.record.length if self.record is not None else 1
        self.feature_tracks = []
        for index in indexes:
            track = FeatureTrack(index, self.expanded)
            track.set_length(length)
            track.plot.setXLink(self.ruler.plot)
            self._add_cursor(track)
            track.plot.getViewBox().setLimits(xMin=0, xMax=length, minXRange=min(40, length),
                                              maxXRange=length)
            self.feature_tracks.append(track)
        self._rebuild_layout()

    def _status_message(self) -> str:
        status = self.workbench.score_status
        if status.state == "no-model":
            return f"No entropies: {status.text}"
        if status.state in ("none", "scoring"):
            return "scoring…" if self.record is not None else ""
        if status.state == "cancelled":
            return "scoring cancelled"
        return ""

    def _on_scores(self, buffer: ScoreBuffer | None) -> None:
        message = self._status_message()
        for track in (self.entropy, self.surprisal):
            if buffer is not track.buffer or buffer is None:
                track.set_buffer(buffer, message)
        self._update_tracks(self.entropy, self.surprisal)

    def _on_score_status(self, _status) -> None:
        """Where the scores come from changed: the tracks' messages say so."""
        for track in (self.entropy, self.surprisal):
            if track.buffer is None:
                track.set_buffer(None, self._status_message())
        if self.workbench.patches is None:
            self._on_patches(None)

    def _on_scores_grew(self, _buffer: ScoreBuffer | None) -> None:
        """More values in the same buffer: only the signal tracks draw anything new."""
        self._update_tracks(self.entropy, self.surprisal)

    def _on_patches(self, patches: PatchView | None) -> None:
        message = ""
        if patches is None and self.record is not None:
            config = self.workbench.patch_config
            if config.needs_entropies and self.workbench.score_status.state == "no-model":
                message = (f"{config.mode} patching needs entropies: choose a byte mode "
                           "(static, space) or a model")
            else:
                message = "patching…"
        self.patch_track.set_patches(patches, message)
        self.patch_track.set_selection(self.workbench.selection)
        self._on_patch_config(self.workbench.patch_config)
        self._update_tracks(self.patch_track)  # new patches change no other track

    def _on_patch_config(self, config) -> None:
        theta = None
        if config.mode in LEVEL_MODES:
            theta = config.threshold
            patches = self.workbench.patches
            if theta is None and patches is not None and patches.config == config:
                theta = patches.result.threshold  # the searched (or BLT default) θ
        self.entropy.set_threshold(theta)

    def _on_selection(self, i: int | None) -> None:
        self.patch_track.set_selection(i)

    def _on_cursor(self, position: int | None) -> None:
        for line in (track.cursor for track in self.tracks()[1:]):
            if position is None:
                line.hide()
            else:
                line.setValue(position + 0.5)
                line.show()

    # -- view -> model ---------------------------------------------------------------------------
    def view_width(self) -> int:
        return max(1, int(self.master.width()))

    def _update_tracks(self, *only) -> None:
        """Redraw the tracks in view (``only`` these, when given) from O(pixels) reads."""
        if self.record is None:
            return
        x0, x1 = self.master.viewRange()[0]
        width = self.view_width()
        shown = self.tracks()
        for track in [t for t in only if t in shown] if only else shown:
            track.update_view(x0, x1, width)
        self.painted.emit()

    def _on_range(self, _vb, x_range) -> None:
        self._update_tracks()
        if self.record is None or self._from_model:
            return
        x0, x1 = x_range
        self._from_view = True
        try:
            self.workbench.set_locus(Locus(self.record.id, math.floor(x0 + 1e-6),
                                       math.ceil(x1 - 1e-6)))
        finally:
            self._from_view = False

    def _on_mouse_moved(self, event) -> None:
        if self.record is None:
            return
        pos = event[0]
        if not self.graphics.ci.sceneBoundingRect().contains(pos):  # the view has none
            self.workbench.set_cursor(None)
            return
        x = self.master.mapSceneToView(pos).x()
        position = math.floor(x)
        self.workbench.set_cursor(position if 0 <= position < self.record.length else None)

    def leaveEvent(self, event) -> None:
        self.workbench.set_cursor(None)
        super().leaveEvent(event)

    def _on_locus_entered(self) -> None:
        try:
            path, record, locus = self.workbench.parse_locus(self.locus_box.text())
        except BytescopeError as error:
            self.locus_error.setText(error.message)
            self.workbench.log(f"locus: {error.message}", "warning")
            return
        self.go_to(path, record, locus)

    def go_to(self, path: str, record: Record, locus: Locus) -> None:
        if record is self.workbench.record:
            self.workbench.set_locus(locus)
        else:
            self.workbench.set_record(path, record, locus)

    # -- zoom and navigation -----------------------------------------------------------------------
    def _zoom(self, factor: float) -> None:
        locus, record = self.workbench.locus, self.workbench.record
        if locus is not None and record is not None:
            self.workbench.set_locus(zoom(locus, factor, record.length))

    def zoom_in(self) -> None:
        self._zoom(1 / ZOOM_STEP)

    def zoom_out(self) -> None:
        self._zoom(ZOOM_STEP)

    def zoom_fit(self) -> None:
        record = self.workbench.record
        if record is not None:
            self.workbench.set_locus(Locus(record.id, 0, record.length))

    def jump_feature(self, forward: bool) -> bool:
        """Centre on the next (previous) feature start of any annotation track (F / B)."""
        locus, record = self.workbench.locus, self.workbench.record
        if locus is None or record is None:
            return False
        centre = locus.centre
        best: tuple[float, FeatureIndex, int] | None = None
        for track in self.feature_tracks:
            index = track.index
            i = index.next_after(centre + 0.5) if forward else index.previous_before(centre)
            if i is None:
                continue
            distance = abs(float(index.starts[i]) - centre)
            if best is None or distance < best[0]:
                best = (distance, index, i)
        if best is None:
            return False
        _, index, i = best
        start, end = int(index.starts[i]), int(index.ends[i])
        if end - start <= locus.span * 0.8:
            self.workbench.set_locus(centre_on(locus, (start + end) / 2, record.length))
        else:
            self.workbench.set_locus(around_feature(record.id, start, end, record.length))
        return True

    # -- the threshold line ------------------------------------------------------------------------
    def _on_threshold_dragged(self, value: float) -> None:
        self._pending_threshold = value
        if not self._threshold_timer.isActive():
            self._threshold_timer.start()

    def _on_threshold_released(self, value: float) -> None:
        self._threshold_timer.stop()
        self._pending_threshold = value
        self._apply_threshold()

    def _apply_threshold(self) -> None:
        value = self._pending_threshold
        if value is None:
            return
        self._pending_threshold = None
        config = self.workbench.patch_config
        if config.needs_entropies:
            self.workbench.set_patch_config(dataclasses.replace(
                config, threshold=round(max(value, 0.0), 4), target_patch_size=None))

    # -- the routing track (Maps panel) ----------------------------------------------------------
    def set_routing(self, routing: RoutingView | None) -> None:
        """Show the Maps panel's expert routing under the patches (None: hide the track)."""
        if routing is not None and (self.record is None or routing.record_id != self.record.id):
            routing = None
        if routing is None and self.routing.routing is None:
            return
        self.routing.set_routing(routing)
        self._rebuild_layout()

    # -- another model's entropy over the entropy track (Bake panel) ----------------------------
    def set_overlay(self, buffer: ScoreBuffer | None, names: tuple[str, str] = ("", "")) -> None:
        """Draw ``buffer``'s entropy dashed over the entropy track, ``names`` in its legend
        (this track's model, the overlay's); None: stop. A buffer of another record is not
        drawn."""
        if buffer is not None and (self.record is None or buffer.record_id != self.record.id):
            buffer = None
        if buffer is None and self.entropy.overlay is None:
            return
        self.entropy.set_overlay(buffer, names)
        self._update_tracks(self.entropy)

    def overlay_grew(self, _buffer=None) -> None:
        """The overlay got values: redraw the entropy track (at the controller's rate)."""
        if self.entropy.overlay is not None:
            self._update_tracks(self.entropy)

    # -- the attribution track and what to explain (Attribution panel) ---------------------------
    def set_attribution(self, view: LogoView | None) -> None:
        """Show an explanation's contributions under the entropy (None: hide the track)."""
        if view is not None and (self.record is None or view.record_id != self.record.id):
            view = None
        if view is None and self.logo.view is None:
            return
        listed = self.logo.view is not None
        self.logo.set_view(view)
        if listed != (view is not None):
            self._rebuild_layout()
        else:
            self._update_tracks(self.logo)

    def _add_picks(self) -> None:
        plot = self.entropy.plot
        self.pick_line = pg.InfiniteLine(angle=90, movable=False,
                                         pen=pg.mkPen((214, 39, 40), width=1,
                                                      style=Qt.PenStyle.DotLine))
        self.pick_line.hide()
        self.pick_region = pg.LinearRegionItem(brush=pg.mkBrush(214, 39, 40, 28),
                                               pen=pg.mkPen((214, 39, 40, 120)))
        self.pick_region.setZValue(2)  # over the pick overlay: its edges can be dragged
        self.pick_region.hide()
        for item in (self.pick_line, self.pick_region):
            plot.addItem(item, ignoreBounds=True)
        self.pick_region.sigRegionChangeFinished.connect(self._on_pick_region_moved)
        events = self.entropy.picks.events
        events.clicked.connect(self._on_pick_clicked)
        events.region.connect(self._on_pick_dragged)
        events.menu.connect(self._on_pick_menu)

    def _base_at(self, x: float) -> int | None:
        if self.record is None:
            return None
        return min(max(math.floor(x), 0), self.record.length - 1)

    def _on_pick_clicked(self, x: float) -> None:
        base = self._base_at(x)
        if base is not None:
            self.base_clicked.emit(base)

    def _on_pick_menu(self, x: float, screen_pos) -> None:
        base = self._base_at(x)
        if base is not None:
            self.explain_menu.emit(base, QPoint(round(screen_pos.x()), round(screen_pos.y())))

    def _region_of(self, a: float, b: float) -> tuple[int, int] | None:
        if self.record is None:
            return None
        lo, hi = sorted((a, b))
        lo = min(max(math.floor(lo), 0), self.record.length - 1)
        hi = min(max(math.ceil(hi), lo + 1), self.record.length)
        return lo, hi

    def _on_pick_dragged(self, a: float, b: float, finished: bool) -> None:
        region = self._region_of(a, b)
        if region is None:
            return
        with QSignalBlocker(self.pick_region):
            self.pick_region.setRegion(region)
        self.pick_region.show()
        if finished:
            self.region_selected.emit(region)

    def _on_pick_region_moved(self, item) -> None:
        region = self._region_of(*item.getRegion())
        if region is not None:
            self.region_selected.emit(region)

    def show_pick(self, base: int | None, region: tuple[int, int] | None) -> None:
        """Mark the base chosen and the region selected on the entropy track."""
        if base is None:
            self.pick_line.hide()
        else:
            self.pick_line.setValue(base + 0.5)
            self.pick_line.show()
        if region is None:
            self.pick_region.hide()
        else:
            if tuple(round(v) for v in self.pick_region.getRegion()) != tuple(region):
                with QSignalBlocker(self.pick_region):
                    self.pick_region.setRegion(region)
            self.pick_region.show()

    # -- closing ---------------------------------------------------------------------------------
    def closeEvent(self, event) -> None:
        self.disconnect_model()
        super().closeEvent(event)

    def disconnect_model(self) -> None:
        self._subs.disconnect_all()
        if self._hover is not None:
            self._hover.disconnect()
            self._hover = None
        self._threshold_timer.stop()
