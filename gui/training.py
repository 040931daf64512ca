"""Training from the window: the engine's Trainer in a QThread, its events batched to the GUI.

The Trainer runs unchanged in :class:`TrainingThread`; its events (from the worker thread) go
into a queue that a 50 ms timer on the GUI thread drains, so the panel gets at most 20 updates a
second however fast the steps are. Pause and stop are the Trainer's own cooperative flags.
Python warnings raised in the worker thread become the run's log messages; an exception ends the
run as ``failed`` (the Trainer keeps its last good checkpoint and writes the error to
``run.log``) and reaches the window as a dialog, never as a crash.

torch's intra-op thread count is per thread (OpenMP), so the Trainer's ``threads`` setting in
the worker thread leaves the GUI thread's own setting alone; the panel defaults it to one core
fewer than the machine has.
"""

from __future__ import annotations

import queue
import threading
import traceback
import warnings
import weakref
from functools import partial
from pathlib import Path

from PySide6.QtCore import QObject, QThread, QTimer, Signal

from engine.errors import BytescopeError, InputError
from engine.train import TrainConfig, Trainer, TrainEvent
from engine.train.runs import delete_run, list_runs, new_run_name, read_log, read_run

from .model.session import Workbench
from .model.training import TrainingModel
from .workers import TaskRunner

DRAIN_MS = 50  # at most 20 batches a second reach the GUI
THREADS: weakref.WeakSet[QThread] = weakref.WeakSet()  # so tests can check none is left running


def default_threads() -> int:
    """torch threads for training: every core but one, which the window keeps."""
    from engine.threads import spare_threads

    return spare_threads()


class TrainingThread(QThread):
    """Runs ``trainer.run()``; events go to ``self.events`` (a queue), the end to signals."""

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


class TrainingController(QObject):
    """Starts, pauses, resumes and stops runs; keeps :class:`TrainingModel` up to date."""

    finished = Signal(object)  # the LiveRun, once its thread has ended (any outcome)
    error = Signal(object)  # a BytescopeError to show in a dialog

    def __init__(self, model: TrainingModel, workbench: Workbench,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.runner = TaskRunner(workbench, max_threads=1, parent=self)
        self.thread: TrainingThread | None = None
        self.trainer: Trainer | None = None
        self._drain = QTimer(self, interval=DRAIN_MS)
        self._drain.timeout.connect(self.drain)

    # -- the live run --------------------------------------------------------------------------
    @property
    def active(self) -> bool:
        return self.thread is not None

    def start(self, config: TrainConfig, run_dir: str | Path | None = None) -> Path:
        """Start a new run in ``run_dir`` (default: a new folder in the workspace)."""
        if self.active:
            raise InputError("a run is already going; stop it first")
        config.validate()
        if run_dir is None:
            if self.model.workspace is None:
                raise InputError("choose a workspace folder for runs first")
            run_dir = new_run_name(self.model.workspace, config.arch, config.preset)
        run_dir = Path(run_dir)
        if (run_dir / "config.json").exists():
            raise InputError("run folder already holds a run; resume it instead", path=run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        self._launch(Trainer(config, run_dir), first_step=0)
        return run_dir

    def resume(self, run_dir: str | Path, steps: int | None = None) -> None:
        """Continue a stopped run from its latest checkpoint (optionally to a new step count);
        one that ended before its first checkpoint starts again from step 0 (the Trainer logs
        a note saying so)."""
        if self.active:
            raise InputError("a run is already going; stop it first")
        run_dir = Path(run_dir)
        info = read_run(run_dir)
        if not info.resumable:
            raise InputError(f"this run cannot be resumed: it is {info.state}"
                             if info.state != "finished" else
                             "this run has finished; give it more steps to go on", path=run_dir)
        config = TrainConfig.from_json(run_dir / "config.json")
        if steps is not None:
            config.steps = steps
        if not config.threads:
            config.threads = default_threads()
        self._launch(Trainer(config, run_dir, resume=True), first_step=info.step)

    def _launch(self, trainer: Trainer, first_step: int) -> None:
        self.trainer = trainer
        thread = TrainingThread(trainer, self)
        thread.succeeded.connect(self._on_succeeded)
        thread.failed.connect(self._on_failed)
        thread.finished.connect(partial(self._on_thread_finished, thread))
        self.thread = thread  # active from here: the panel's buttons read it
        self.model.start_live(trainer.run_dir, trainer.config, first_step)
        for level, text in read_log(trainer.run_dir) if first_step else ():
            self.model.messages.append((level, text))  # the earlier legs' log, without events
        self._drain.start()
        thread.start(QThread.Priority.LowPriority)

    def pause(self) -> None:
        if self.trainer is not None and self.active:
            self.trainer.pause()

    def resume_live(self) -> None:
        if self.trainer is not None and self.active:
            self.trainer.resume_run()

    def stop(self) -> None:
        """Ask the run to stop after its step; it saves a checkpoint first."""
        if self.trainer is not None and self.active:
            self.trainer.request_stop()
            self.model.set_live_state("stopping")

    def stop_and_wait(self, timeout_ms: int = 120_000) -> bool:
        """Stop, and block until the thread has checkpointed and ended (closing the window)."""
        thread = self.thread
        if thread is None:
            return True
        self.stop()
        done = thread.wait(timeout_ms)
        self.drain()
        return done

    def drain(self) -> None:
        """Hand the events queued since the last call to the model, as one batch."""
        thread = self.thread
        if thread is None:
            return
        batch: list[TrainEvent] = []
        while True:
            try:
                batch.append(thread.events.get_nowait())
            except queue.Empty:
                break
        self.model.apply_events(batch)

    def _on_succeeded(self, summary: dict) -> None:
        self.drain()
        self.model.set_live_state("stopped" if summary["stopped"] else "finished")

    def _on_failed(self, message: str, trace: str) -> None:
        self.drain()
        if trace:
            self.model.log(trace.rstrip(), "error")
        self.model.set_live_state("failed", message)
        run = self.trainer.run_dir if self.trainer is not None else None
        self.error.emit(InputError(f"training failed: {message}", path=run))

    def _on_thread_finished(self, thread: TrainingThread) -> None:
        if thread is not self.thread:
            return
        self.drain()
        self._drain.stop()
        self.thread = None
        self.trainer = None
        thread.deleteLater()
        self.refresh_runs()
        self.finished.emit(self.model.live)

    # -- the workspace -------------------------------------------------------------------------
    def refresh_runs(self) -> None:
        """Re-read the workspace's run folders in the background."""
        workspace = self.model.workspace
        if workspace is None:
            self.model.set_runs([])
            return
        self.runner.submit("runs", lambda reporter: list_runs(workspace), self.model.set_runs,
                           on_error=self.error.emit)

    def delete(self, run_dir: str | Path) -> None:
        run_dir = Path(run_dir)
        if self.model.live is not None and self.model.live.path == run_dir and self.active:
            raise InputError("the run is going; stop it before deleting it", path=run_dir)
        delete_run(run_dir)
        self.model.select([p for p in self.model.selection if p != run_dir])
        self.refresh_runs()

    def shutdown(self, timeout_ms: int = 120_000) -> bool:
        """Stop a live run (checkpointing it) and every job; True if all threads ended."""
        done = self.stop_and_wait(timeout_ms)
        self._drain.stop()
        return self.runner.shutdown() and done
