"""The Maps panel's controller: loads the patch-level model, inspects the window in view and
computes the map shown, for the :class:`MapsModel`.

It is the only code that submits work for the maps (:meth:`MapsController._submit`, kinds
``maps:<kind>`` on the shared runner): ``maps:probe`` asks whether the workbench's scoring
model is patch-level (it reads a ``config.json``), ``maps:model`` loads the chosen model,
``maps:inspect`` calls :func:`engine.analysis.inspect_locus` for the window in view with the
model's own patch source, and ``maps:view`` turns the inspection and the selection into the
map shown (a slice or a mean over heads, O(map)). With Follow view on, the window follows
``FOLLOW_MS`` after the view stops moving, and only while the panel is visible.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from PySide6.QtCore import QObject, QTimer

from engine.errors import BytescopeError
from engine.loci import format_locus
from engine.models.defaults import bundled_latent

from ..model.events import Subscriptions
from ..model.locus import Locus
from ..model.maps import (
    NEEDS_LATENT,
    InspectedWindow,
    InspectRequest,
    LoadedModel,
    MapSelection,
    MapsModel,
    MapView,
    inspect_window,
    latent_spec_or_none,
    load_maps_model,
    view_job,
)
from ..model.session import Workbench
from ..workers import TaskRunner

NO_MODEL_YET = ("Inspect uses the bundled hyena-blt model; choose a run of your own to inspect "
                "it instead.")
FOLLOW_MS = 300  # the maps follow the view this long after it stops moving


class MapsController(QObject):
    """Maps jobs for :class:`MapsModel` (module docstring)."""

    def __init__(self, model: MapsModel, workbench: Workbench, runner: TaskRunner,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.maps_model = model
        self.workbench = workbench
        self.runner = runner
        self._subs = Subscriptions()
        self._inspect_when_loaded = False
        self._follow_timer = QTimer(self, singleShot=True, interval=FOLLOW_MS)
        self._follow_timer.timeout.connect(self._follow_view)
        events, wb = model.events, workbench.events
        for signal, slot in ((events.model_spec, self._on_model_spec),
                             (events.loaded, self._on_loaded),
                             (events.inspection, self._on_inspection),
                             (events.selection, self._on_selection),
                             (events.visible, self._on_visible),
                             (wb.record, self._on_record), (wb.locus, self._on_locus),
                             (wb.model_spec, self._on_workbench_model)):
            self._subs.connect(signal, slot)
        self._on_workbench_model(workbench.model_spec)
        if not model.model_spec:
            model.set_status(NO_MODEL_YET if bundled_latent() else f"No model: {NEEDS_LATENT}.")

    # -- the model ---------------------------------------------------------------------------------
    def _on_workbench_model(self, spec: str) -> None:
        """The workbench's scoring model, when patch-level, is the maps' model too."""
        if spec and spec != self.maps_model.model_spec:
            self._submit("probe", partial(latent_spec_or_none, spec), self._on_probed)

    def _on_probed(self, spec: str | None) -> None:
        if spec is not None and spec == self.workbench.model_spec:
            self.maps_model.set_model_spec(spec)

    def _on_model_spec(self, spec: str) -> None:
        self.cancel("inspect")
        if not spec:
            self.cancel("model")
            self.maps_model.set_status(f"No model: {NEEDS_LATENT}.")
            return
        self.maps_model.set_status(f"loading {spec}…")
        self._submit("model", partial(load_maps_model, spec), self._on_model_loaded,
                     on_error=self._on_model_failed, label=f"Loading {Path(spec).name}")

    def _on_model_loaded(self, loaded: LoadedModel) -> None:
        if loaded.spec == self.maps_model.model_spec:
            self.maps_model.set_loaded(loaded)

    def _on_model_failed(self, error: BytescopeError) -> None:
        self.maps_model.set_status(str(error))  # says what to choose (load_maps_model)

    def _on_loaded(self, loaded: LoadedModel | None) -> None:
        if loaded is None:
            return
        self.maps_model.set_status(f"{loaded.folder.name}: windows of up to {loaded.limit:,} bytes")
        if self._inspect_when_loaded:
            self._inspect_when_loaded = False
            self.inspect_view()
        elif self.maps_model.follow:
            self._follow_timer.start()

    # -- inspecting --------------------------------------------------------------------------------
    def inspect_view(self) -> int | None:
        """Inspect the locus in view now; returns the job's request id (None: nothing to do,
        the status says why, or the model is still loading and the inspection follows)."""
        self._follow_timer.stop()
        return self._inspect(self.workbench.locus, asked=True)

    def _follow_view(self) -> None:
        if self.maps_model.follow and self.maps_model.visible:  # a hidden panel computes nothing
            self._inspect(self.workbench.locus, asked=False)

    def _on_visible(self, visible: bool) -> None:
        if visible and self.maps_model.follow and self.maps_model.loaded is not None:
            self._follow_timer.start()

    def _inspect(self, locus: Locus | None, asked: bool) -> int | None:
        model, workbench = self.maps_model, self.workbench
        loaded, record = model.loaded, workbench.record
        if loaded is None:
            if model.model_spec and self.busy("model"):
                self._inspect_when_loaded = self._inspect_when_loaded or asked
            elif asked and not model.model_spec:
                bundled = bundled_latent()
                if bundled is None:
                    model.set_status(f"No model: {NEEDS_LATENT}.")
                else:  # the shipped patch-level model, so Inspect works before any training
                    self._inspect_when_loaded = True
                    model.set_model_spec(str(bundled))
            return None
        if record is None or locus is None or workbench.record_path is None:
            if asked:
                model.set_status("Open a sequence file first.")
            return None
        if locus.span > loaded.limit:
            model.set_status(
                f"The view spans {locus.span:,} bytes; this model's maps cover up to "
                f"{loaded.limit:,} at a time: zoom in to inspect.")
            return None
        window = (record.id, locus.start, locus.end)
        current = model.inspection
        if not asked and current is not None and \
                (current.record_id, current.start, current.end) == window:
            return None
        if not asked and model.window == window and self.busy("inspect"):
            return None
        model.set_window(window)
        model.set_status(f"inspecting {locus.format()}…")
        request = InspectRequest(loaded, workbench.record_path, record, locus.start, locus.end)
        return self._submit("inspect", partial(inspect_window, request), self._on_inspected,
                            on_error=self._on_inspect_failed,
                            label=f"Inspecting {locus.format()}")

    def _on_inspected(self, window: InspectedWindow) -> None:
        record = self.workbench.record
        if record is None or record.id != window.record_id:
            return
        self.maps_model.set_inspection(window)
        inspection = window.inspection
        self.maps_model.set_status(
            f"{format_locus(window.record_id, window.start, window.end)}: "
            f"{inspection.n_patches:,} patches (mean {inspection.summary.mean_patch_length:.1f}"
            f" bytes), {len(inspection.maps)} maps")

    def _on_inspect_failed(self, error: BytescopeError) -> None:
        self.maps_model.set_status(str(error))
        self.workbench.log(f"maps: {error}", "warning")

    # -- the map shown -----------------------------------------------------------------------------
    def _on_inspection(self, _window: InspectedWindow | None) -> None:
        self.request_view()

    def _on_selection(self, _selection: MapSelection) -> None:
        self.request_view()

    def request_view(self) -> None:
        """Compute the map of the current selection in a job (``model.view`` follows)."""
        window = self.maps_model.inspection
        if window is None or not window.kinds():
            self.cancel("view")
            self.maps_model.set_view(None)
            return
        self._submit("view", partial(view_job, window, self.maps_model.selection), self._on_view)

    def _on_view(self, result: tuple[InspectedWindow, MapSelection, MapView]) -> None:
        window, selection, view = result
        if window is self.maps_model.inspection and selection == self.maps_model.selection:
            self.maps_model.set_view(view)

    # -- the view model ----------------------------------------------------------------------------
    def _on_record(self, _record) -> None:
        self._follow_timer.stop()
        self.cancel("inspect")
        self.maps_model.set_window(None)
        self.maps_model.set_inspection(None)
        if self.maps_model.loaded is not None and self.maps_model.follow:
            self._follow_timer.start()

    def _on_locus(self, _locus) -> None:
        if self.maps_model.follow and self.maps_model.loaded is not None:
            self._follow_timer.start()  # restarts: the maps wait until the view settles

    # -- jobs --------------------------------------------------------------------------------------
    def _submit(self, kind: str, fn, on_done, **options) -> int:
        """The one place the maps' work is submitted: ``fn`` as the latest ``maps:<kind>``."""
        return self.runner.submit(f"maps:{kind}", fn, on_done, **options)

    def cancel(self, kind: str) -> None:
        self.runner.cancel(f"maps:{kind}")

    def busy(self, kind: str | None = None) -> bool:
        """Whether a maps job (of ``kind``) runs or waits, or the follow timer is pending."""
        if kind is not None:
            return self.runner.busy(f"maps:{kind}")
        return self._follow_timer.isActive() or self.runner.busy_prefix("maps:")

    def shutdown(self) -> None:
        """Stop following the view, cancel the maps' jobs and unsubscribe."""
        self._follow_timer.stop()
        self._subs.disconnect_all()
        self.runner.cancel_all("maps:")

