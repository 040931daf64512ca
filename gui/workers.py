"""Running work off the GUI thread: the shared task runner and the training thread.

The window makes one :class:`TaskRunner`; every controller (:mod:`gui.controllers`) submits its
jobs to it, under kinds prefixed with the controller's name, and nothing else does.
:class:`TaskRunner.submit` gives each request a new id and runs its job (a plain function from
:mod:`gui.model`) on the runner's ``QThreadPool``; a job with a label is a task of the
:class:`~gui.model.tasks.TasksModel` the status bar draws (name, progress, Cancel).
Requests have a *kind* (``"view:scores"``, ``"maps:inspect"``...): per kind only the latest
id counts. A newer request cancels a running one (its cancel flag; jobs stop at their next
check) and waits for it to end instead of queueing behind it, replacing any request still
waiting, so a dragged threshold never piles up stale work. A result whose id is no longer
the latest is dropped.

The Trainer runs in a :class:`TrainingThread` of its own (a run lasts hours; a pool thread
would be taken from the jobs), started by :class:`gui.controllers.training.TrainingController`.

Signals carry results across threads (queued connections), so every callback runs on the GUI
thread. ``BytescopeError`` travels to ``on_error``; any other exception is a bug and is
re-raised on the GUI thread, where pytest-qt fails the test and the app prints a traceback.
"""

from __future__ import annotations

import gc
import itertools
import queue
import threading
import time
import traceback
import warnings
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThread, QThreadPool, QTimer, Signal

from engine.errors import BytescopeError
from engine.scoring import Cancelled
from engine.train import Trainer, TrainEvent

from .model.jobs import Reporter
from .model.tasks import TaskInfo, TasksModel

# Every pool a runner made, and every training thread, so tests can assert none is left running.
POOLS: weakref.WeakSet[QThreadPool] = weakref.WeakSet()
THREADS: weakref.WeakSet[QThread] = weakref.WeakSet()
MAX_THREADS = 4  # view jobs (scores, patches, features, comparison) beside one of maps or export
_ids = itertools.count(1)


class BugInWorker(RuntimeError):
    """A non-user exception raised in a job, re-raised on the GUI thread with its traceback."""


class _JobSignals(QObject):
    progress = Signal(int, int, int)  # request id, done, total
    partial = Signal(int, object)
    done = Signal(int, object)
    failed = Signal(int, object, str)  # request id, exception, formatted traceback
    cancelled = Signal(int)


class _Job(QRunnable):
    def __init__(self, request_id: int, fn: Callable[[Reporter], Any],
                 signals: _JobSignals) -> None:
        super().__init__()
        self.request_id = request_id
        self.fn = fn
        self.signals = signals
        self.reporter = Reporter(
            progress=lambda done, total: signals.progress.emit(request_id, done, total),
            partial=lambda obj: signals.partial.emit(request_id, obj),
        )

    def run(self) -> None:  # worker thread
        rid, signals = self.request_id, self.signals
        try:
            result = self.fn(self.reporter)
        except Cancelled:
            signals.cancelled.emit(rid)
        except BytescopeError as error:
            signals.failed.emit(rid, error, "")
        except BaseException as error:  # a bug: carried to the GUI thread and raised there
            signals.failed.emit(rid, error, traceback.format_exc())
        else:
            signals.done.emit(rid, result)


@dataclass
class _Pending:
    request_id: int
    fn: Callable[[Reporter], Any]
    label: str | None
    on_done: Callable[[Any], None]
    on_partial: Callable[[Any], None] | None
    on_progress: Callable[[int, int], None] | None
    on_error: Callable[[BytescopeError], None] | None
    on_cancelled: Callable[[], None] | None


class TaskRunner(QObject):
    """Runs jobs by kind, latest request wins (see the module docstring)."""

    def __init__(self, tasks: TasksModel | None = None,
                 report_error: Callable[[BytescopeError], None] | None = None,
                 max_threads: int = MAX_THREADS, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.tasks = tasks if tasks is not None else TasksModel()
        self._report_error = report_error
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max_threads)
        POOLS.add(self.pool)
        self._latest: dict[str, int] = {}
        # kind -> (request id, reporter) of the job running; the pool owns the job itself
        self._running: dict[str, tuple[int, Reporter]] = {}
        self._pending: dict[str, _Pending] = {}
        self._jobs: dict[int, tuple[str, _Pending, _JobSignals]] = {}

    # -- submitting --------------------------------------------------------------------------
    def submit(
        self,
        kind: str,
        fn: Callable[[Reporter], Any],
        on_done: Callable[[Any], None],
        *,
        label: str | None = None,
        on_partial: Callable[[Any], None] | None = None,
        on_progress: Callable[[int, int], None] | None = None,
        on_error: Callable[[BytescopeError], None] | None = None,
        on_cancelled: Callable[[], None] | None = None,
    ) -> int:
        """Run ``fn(reporter)`` as the latest request of ``kind``; returns its request id."""
        request_id = next(_ids)
        self._latest[kind] = request_id
        pending = _Pending(request_id, fn, label, on_done, on_partial, on_progress, on_error,
                           on_cancelled)
        running = self._running.get(kind)
        if running is not None:
            running[1].cancel.set()
            dropped = self._pending.pop(kind, None)
            if dropped is not None and dropped.on_cancelled is not None:
                dropped.on_cancelled()
            self._pending[kind] = pending
        else:
            self._start(kind, pending)
        return request_id

    def latest(self, kind: str) -> int | None:
        return self._latest.get(kind)

    def is_current(self, kind: str, request_id: int) -> bool:
        return self._latest.get(kind) == request_id

    def busy(self, kind: str | None = None) -> bool:
        """Whether a job (of ``kind``) is running or waiting."""
        if kind is None:
            return bool(self._running or self._pending)
        return kind in self._running or kind in self._pending

    def cancel(self, kind: str) -> None:
        """Cancel ``kind``'s running job and forget its waiting one; no result will apply."""
        self._latest.pop(kind, None)
        pending = self._pending.pop(kind, None)
        if pending is not None and pending.on_cancelled is not None:
            pending.on_cancelled()
        running = self._running.get(kind)
        if running is not None:
            running[1].cancel.set()

    def busy_prefix(self, prefix: str) -> bool:
        """Whether a job whose kind starts with ``prefix`` (a controller's) runs or waits."""
        return any(kind.startswith(prefix) for kind in self.kinds())

    def kinds(self) -> list[str]:
        """The kinds with a job running or waiting."""
        return list(dict.fromkeys([*self._running, *self._pending]))

    def cancel_all(self, prefix: str = "") -> None:
        """Cancel every job whose kind starts with ``prefix`` (all of them by default)."""
        for kind in self.kinds():
            if kind.startswith(prefix):
                self.cancel(kind)

    def cancel_all_and_wait(self, prefix: str = "", timeout_ms: int = 30_000) -> bool:
        """Cancel the jobs of ``prefix`` and wait until no job runs (before closing the files
        they read). Jobs check their cancel flag between batches, so this waits a batch at
        most (or for another controller's job to end, which it does not cancel)."""
        self.cancel_all(prefix)
        return self.pool.waitForDone(timeout_ms)

    def shutdown(self, timeout_ms: int = 30_000) -> bool:
        """Cancel everything and wait for the threads (on window close). True if all ended."""
        self.cancel_all()
        finished = self.pool.waitForDone(timeout_ms)
        self.pool.clear()
        # The jobs' last signals may still be queued: forget the jobs so that nothing applies.
        for rid, (_kind, pending, signals) in list(self._jobs.items()):
            if pending.label:
                self.tasks.remove(rid)
            signals.deleteLater()
        self._jobs.clear()
        self._running.clear()
        self._pending.clear()
        return finished

    # -- running -----------------------------------------------------------------------------
    def _start(self, kind: str, pending: _Pending) -> None:
        # parented to the runner, deleted (later) once its job has finished
        signals = _JobSignals(self)
        rid = pending.request_id
        job = _Job(rid, pending.fn, signals)
        self._running[kind] = (rid, job.reporter)
        self._jobs[rid] = (kind, pending, signals)
        signals.progress.connect(self._on_progress)
        signals.partial.connect(self._on_partial)
        signals.done.connect(self._on_done)
        signals.failed.connect(self._on_failed)
        signals.cancelled.connect(self._on_cancelled)
        if pending.label:
            self.tasks.add(TaskInfo(rid, pending.label, 0, 0, cancel=lambda: self.cancel(kind)))
        self.pool.start(job)

    def _current(self, rid: int) -> _Pending | None:
        entry = self._jobs.get(rid)
        if entry is None or self._latest.get(entry[0]) != rid:
            return None
        return entry[1]

    def _on_progress(self, rid: int, done: int, total: int) -> None:
        entry = self._jobs.get(rid)
        if entry is not None and entry[1].label:
            self.tasks.update(rid, done, total)
        pending = self._current(rid)
        if pending is not None and pending.on_progress is not None:
            pending.on_progress(done, total)

    def _on_partial(self, rid: int, obj: object) -> None:
        pending = self._current(rid)
        if pending is not None and pending.on_partial is not None:
            pending.on_partial(obj)

    # A job ends with exactly one of done, failed or cancelled; its slot runs the callback and
    # then forgets the job (and starts the one waiting) in the same call, so that whoever sees
    # a result also sees the runner no longer busy with it.
    def _on_done(self, rid: int, result: object) -> None:
        try:
            pending = self._current(rid)
            if pending is not None:
                pending.on_done(result)
        finally:
            self._finish(rid)

    def _on_failed(self, rid: int, error: BaseException, trace: str) -> None:
        try:
            pending = self._current(rid)
            if pending is None:  # a cancelled or superseded job: its failure no longer matters
                return
            if trace:
                raise BugInWorker(f"{type(error).__name__} in a worker:\n{trace}") from error
            if pending.on_error is not None:
                pending.on_error(error)
            elif self._report_error is not None:
                self._report_error(error)
            else:
                raise error
        finally:
            self._finish(rid)

    def _on_cancelled(self, rid: int) -> None:
        try:
            entry = self._jobs.get(rid)
            if entry is not None and entry[1].on_cancelled is not None:
                entry[1].on_cancelled()
        finally:
            self._finish(rid)

    def _finish(self, rid: int) -> None:
        entry = self._jobs.pop(rid, None)
        if entry is None:  # after shutdown
            return
        kind, pending, signals = entry
        signals.deleteLater()
        if pending.label:
            self.tasks.remove(rid)
        if self._running.get(kind, (None,))[0] == rid:
            del self._running[kind]
        waiting = self._pending.pop(kind, None)
        if waiting is not None:
            self._start(kind, waiting)


class TrainingThread(QThread):
    """Runs ``trainer.run()``; events go to ``self.events`` (a queue), the end to signals.

    Python warnings raised in this thread become the run's log messages; an exception ends the
    run as ``failed`` (the Trainer keeps its last good checkpoint and writes the error to
    ``run.log``) and reaches the window as a dialog, never as a crash."""

    succeeded = Signal(object)  # the Trainer's summary dict
    failed = Signal(str, str)  # message, traceback ("" for a user-facing error)

    def __init__(self, trainer: Trainer, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.trainer = trainer
        self.events: queue.SimpleQueue[TrainEvent] = queue.SimpleQueue()
        trainer.subscribe(self.events.put)
        THREADS.add(self)

    def run(self) -> None:  # the worker thread
        ident = threading.get_ident()
        shown = warnings.showwarning

        def relay(message, category, filename, lineno, file=None, line=None):
            if threading.get_ident() != ident:
                return shown(message, category, filename, lineno, file, line)
            self.trainer.log(f"{category.__name__}: {message} ({Path(filename).name}:{lineno})",
                             "warning")

        warnings.showwarning = relay
        try:
            summary = self.trainer.run()
        except BytescopeError as error:
            self.failed.emit(str(error), "")
        except Exception as error:  # a failure of the run, not of the window: shown, logged
            self.failed.emit(f"{type(error).__name__}: {error}", traceback.format_exc())
        else:
            self.succeeded.emit(summary)
        finally:
            if warnings.showwarning is relay:
                warnings.showwarning = shown


class MainThreadCollector(QObject):
    """Python's cyclic garbage collector runs in whichever thread crosses a threshold. If that
    is a worker and the garbage holds Qt wrappers (a closed panel's, say), their destructors run
    there and can deadlock: seen in the test suite as a job thread stuck in a QObject
    destructor waiting for the GIL inside ``gc``. While a window lives, automatic collection
    is off and this timer collects on the GUI thread instead, generation by generation as the
    thresholds say (the PyQt "GarbageCollector" recipe). The last collector stopped turns
    automatic collection back on."""

    _running = 0

    def __init__(self, parent: QObject, interval_ms: int = 500) -> None:
        super().__init__(parent)
        self.thresholds = gc.get_threshold()
        self._last_full = time.monotonic()
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.collect)
        self.active = False
        if MainThreadCollector._running == 0:
            gc.disable()
        MainThreadCollector._running += 1
        self.active = True
        self.timer.start(interval_ms)

    FULL_EVERY_S = 30.0  # a full collection costs most of a second with torch loaded

    def collect(self) -> None:
        """The oldest generation due (it collects the younger ones too); the oldest at most
        every FULL_EVERY_S, as CPython itself holds full collections back."""
        counts = gc.get_count()
        now = time.monotonic()
        if counts[2] > self.thresholds[2] and now - self._last_full >= self.FULL_EVERY_S:
            gc.collect(2)
            self._last_full = now
        elif counts[1] > self.thresholds[1]:
            gc.collect(1)
        elif counts[0] > self.thresholds[0]:
            gc.collect(0)

    def stop(self) -> None:
        """Stop collecting here; with no other collector running, turn automatic collection
        back on (the window's jobs have been joined by then: no worker is left to collect in;
        no full collection here, which costs most of a second with torch loaded)."""
        if not self.active:
            return
        self.active = False
        self.timer.stop()
        MainThreadCollector._running -= 1
        if MainThreadCollector._running == 0:
            gc.enable()
