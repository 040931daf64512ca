"""The Motifs panel's controller: runs motif discovery on the record shown for the
:class:`MotifsModel`.

It is the only code that submits work for the motifs (:meth:`MotifsController._submit`, kind
``motifs:discover``): :func:`gui.model.motifs.motifs_job`, a task with a label, so the status
bar shows its progress and Cancel. A new record clears the result and cancels the job.
"""

from __future__ import annotations

from functools import partial

from PySide6.QtCore import QObject

from engine.errors import BytescopeError

from ..model.events import Subscriptions
from ..model.motifs import MotifRequest, MotifResult, MotifsModel, motifs_job
from ..model.session import Workbench
from ..workers import TaskRunner


class MotifsController(QObject):
    """Motif jobs for :class:`MotifsModel` (module docstring)."""

    def __init__(self, model: MotifsModel, workbench: Workbench, runner: TaskRunner,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.motifs_model = model
        self.workbench = workbench
        self.runner = runner
        self._subs = Subscriptions()
        self._subs.connect(workbench.events.record, self._on_record)

    def request(self) -> MotifRequest | None:
        """What the settings ask of the record shown, or None (the status says why)."""
        wb, model = self.workbench, self.motifs_model
        if wb.record is None or wb.record_path is None:
            model.set_status("Open a sequence file first.")
            return None
        if wb.record.alphabet not in ("dna", "rna"):
            model.set_status(f"Motif discovery reads DNA; this record is {wb.record.alphabet}.")
            return None
        features = tuple(f for index in wb.features for f in index.features)
        if model.settings.source == "features" and not features:
            model.set_status("This record has no annotations: open some (File ▸ Open "
                             "Annotations…) or search over the view.")
            return None
        locus = (wb.locus.start, wb.locus.end) if wb.locus is not None else (0, 0)
        return MotifRequest(wb.record_path, wb.record, wb.model_spec, model.settings,
                            features, locus)

    def discover(self) -> int | None:
        """Start discovery; returns the job's request id (None: nothing to ask)."""
        request = self.request()
        if request is None:
            return None
        model = self.motifs_model
        model.set_running(True)
        model.set_status("finding motifs…")
        return self._submit(partial(motifs_job, request), self._on_found,
                            label="Finding motifs", on_error=self._on_failed,
                            on_cancelled=self._on_cancelled)

    def _on_found(self, result: MotifResult) -> None:
        self.motifs_model.set_running(False)
        self.motifs_model.set_result(result)

    def _on_failed(self, error: BytescopeError) -> None:
        self.motifs_model.set_running(False)
        self.motifs_model.set_status(str(error))
        self.workbench.log(f"motifs: {error}", "warning")

    def _on_cancelled(self) -> None:
        self.motifs_model.set_running(False)
        self.motifs_model.set_status("cancelled")

    def _on_record(self, _record) -> None:
        self.cancel()
        self.motifs_model.clear()

    def _submit(self, fn, on_done, **options) -> int:
        """The one place motif work is submitted: ``fn`` as the latest ``motifs:discover``."""
        return self.runner.submit("motifs:discover", fn, on_done, **options)

    def cancel(self) -> None:
        self.runner.cancel("motifs:discover")

    def busy(self) -> bool:
        return self.runner.busy("motifs:discover")

    def shutdown(self) -> None:
        """Cancel the job and unsubscribe."""
        self._subs.disconnect_all()
        self.cancel()
