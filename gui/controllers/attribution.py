"""The Attribution panel's controller: explains a target of the record shown, and computes
dependency maps, for the :class:`AttributionModel`.

It is the only code that submits work for the attribution (:meth:`AttributionController._submit`,
kinds ``attribution:<kind>`` on the shared runner): ``attribution:explain`` runs
:func:`gui.model.attribution.explain_job` (load the Workbench's model, attribute),
``attribution:dependency`` runs :func:`~gui.model.attribution.dependency_job`. Both are tasks
with a label, so the status bar shows their progress and Cancel. A request whose key is
cached is answered by the model at once, with no job. A new record clears what is shown
(the cache stays) and cancels the jobs for the old one.
"""

from __future__ import annotations

from functools import partial

from PySide6.QtCore import QObject, QTimer

from engine.errors import BytescopeError

from ..model.attribution import (
    AttributionModel,
    DependencyResult,
    ExplainKey,
    ExplainRequest,
    Explanation,
    dependency_job,
    dependency_request,
    explain_job,
    explain_request,
    target_words,
)
from ..model.events import Subscriptions
from ..model.session import Workbench
from ..workers import TaskRunner


class AttributionController(QObject):
    """Attribution jobs for :class:`AttributionModel` (module docstring)."""

    def __init__(self, model: AttributionModel, workbench: Workbench, runner: TaskRunner,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.attribution_model = model
        self.workbench = workbench
        self.runner = runner
        self._subs = Subscriptions()
        self._subs.connect(workbench.events.record, self._on_record)
        # whether a job runs, read once the runner has settled (it starts a waiting job and
        # forgets a finished one after the callbacks)
        self._running_timer = QTimer(self, singleShot=True, interval=0)
        self._running_timer.timeout.connect(self._update_running)
        self._subs.connect(runner.tasks.events.tasks, self._on_tasks)

    # -- asking ------------------------------------------------------------------------------------
    def explain(self) -> int | None:
        """Explain what the settings ask for on the record shown. Returns the job's request
        id; None when the answer was cached (shown at once) or nothing can be asked (the
        status says why)."""
        model, workbench = self.attribution_model, self.workbench
        if workbench.record is None or workbench.record_path is None:
            model.set_status("Open a sequence file first.")
            return None
        try:
            request = explain_request(model.settings, workbench.record_path, workbench.record,
                                      workbench.model_spec, workbench.repeats)
        except BytescopeError as error:
            model.set_status(error.message)
            return None
        if self._same_running("explain", model.request, request):
            return self.runner.latest("attribution:explain")
        if model.ask(request) is not None:
            return None
        words = target_words(request.key.target)
        return self._start("explain", request, partial(explain_job, request),
                           self._on_explained, f"Explaining the {words}")

    def dependency(self) -> int | None:
        """Compute the dependency map of the region selected (or the bases before the base
        chosen); as :meth:`explain`, a cached map is shown at once."""
        model, workbench = self.attribution_model, self.workbench
        if workbench.record is None or workbench.record_path is None:
            model.set_status("Open a sequence file first.")
            return None
        try:
            request = dependency_request(model.settings, workbench.record_path,
                                         workbench.record, workbench.model_spec)
        except BytescopeError as error:
            model.set_status(error.message)
            return None
        if self._same_running("dependency", model.dependency_request, request):
            return self.runner.latest("attribution:dependency")
        if model.ask_dependency(request) is not None:
            return None
        target = request.key.target
        return self._start("dependency", request, partial(dependency_job, request),
                           self._on_dependency,
                           f"Dependency map of {target.end - target.position} bases")

    def _same_running(self, kind: str, current: ExplainRequest | None,
                      request: ExplainRequest) -> bool:
        """The same key is being computed: asking again waits for it, not restarts it."""
        return current is not None and current.key == request.key and self.busy(kind)

    def _start(self, kind: str, request: ExplainRequest, fn, on_done, label: str) -> int:
        self.attribution_model.set_running(True)
        key = request.key
        return self._submit(kind, fn, on_done, label=label,
                            on_error=partial(self._on_failed, key),
                            on_cancelled=partial(self._on_cancelled, key))

    # -- answers -----------------------------------------------------------------------------------
    def _on_explained(self, result: Explanation) -> None:
        self._settle()
        self.attribution_model.set_result(result)

    def _on_dependency(self, result: DependencyResult) -> None:
        self._settle()
        self.attribution_model.set_dependency(result)

    def _on_failed(self, key: ExplainKey, error: BytescopeError) -> None:
        self._settle()
        self.attribution_model.set_failed(key, str(error))
        self.workbench.log(f"attribution: {error}", "warning")

    def _on_cancelled(self, key: ExplainKey) -> None:
        self._settle()
        self.attribution_model.set_cancelled(key)

    def _settle(self) -> None:
        self._running_timer.start()

    def _on_tasks(self, _tasks) -> None:
        self._running_timer.start()

    def _update_running(self) -> None:
        self.attribution_model.set_running(self.busy())

    # -- the view model ----------------------------------------------------------------------------
    def _on_record(self, _record) -> None:
        self.cancel_all()
        self.attribution_model.clear()

    # -- jobs --------------------------------------------------------------------------------------
    def _submit(self, kind: str, fn, on_done, **options) -> int:
        """The one place attribution work is submitted: ``fn`` as the latest
        ``attribution:<kind>``."""
        return self.runner.submit(f"attribution:{kind}", fn, on_done, **options)

    def cancel(self, kind: str) -> None:
        self.runner.cancel(f"attribution:{kind}")

    def cancel_all(self) -> None:
        self.runner.cancel_all("attribution:")

    def busy(self, kind: str | None = None) -> bool:
        """Whether an attribution job (of ``kind``) runs or waits."""
        if kind is not None:
            return self.runner.busy(f"attribution:{kind}")
        return self.runner.busy_prefix("attribution:")

    def shutdown(self) -> None:
        """Cancel the attribution's jobs and unsubscribe."""
        self._running_timer.stop()
        self._subs.disconnect_all()
        self.cancel_all()
