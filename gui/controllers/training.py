"""The Training panel's controller: runs, the workspace, and every file read or deletion for
the :class:`TrainingModel`.

The engine's Trainer runs unchanged in a :class:`gui.workers.TrainingThread`; its events (from
the worker thread) go into a queue that a 50 ms timer on the GUI thread drains, so the panel
gets at most 20 updates a second however fast the steps are. Pause and stop are the Trainer's
own cooperative flags. Listing runs, reading curves and logs, counting a file's bases and
deleting a run are jobs on the shared runner (kinds ``training:<kind>``, one submit site:
:meth:`TrainingController._submit`); their results go into the model's fields.

torch's intra-op thread count is per thread (OpenMP), so the Trainer's ``threads`` setting in
the worker thread leaves the GUI thread's own setting alone; the panel defaults it to one core
fewer than the machine has.
"""

from __future__ import annotations

import queue
from functools import partial
from pathlib import Path

from PySide6.QtCore import QObject, QThread, QTimer, Signal

from engine.errors import InputError
from engine.train import TrainConfig, Trainer, TrainEvent
from engine.train.runs import delete_run, list_runs, new_run_name, read_log, read_run

from ..model.training import (
    TrainingModel,
    count_bases,
    read_curves,
)
from ..workers import TaskRunner, TrainingThread

DRAIN_MS = 50  # at most 20 batches a second reach the GUI


def default_threads() -> int:
    """torch threads for training: every core but one, which the window keeps."""
    from engine.threads import spare_threads

    return spare_threads()


class TrainingController(QObject):
    """Starts, pauses, resumes and stops runs; keeps :class:`TrainingModel` up to date."""

    finished = Signal(object)  # the LiveRun, once its thread has ended (any outcome)
    error = Signal(object)  # a BytescopeError to show in a dialog

    def __init__(self, model: TrainingModel, runner: TaskRunner,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.training_model = model
        self.runner = runner
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
            if self.training_model.workspace is None:
                raise InputError("choose a workspace folder for runs first")
            run_dir = new_run_name(self.training_model.workspace, config.arch, config.preset)
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
        self.training_model.start_live(trainer.run_dir, trainer.config, first_step)
        if first_step:  # the earlier legs' log goes before this leg's messages
            self._submit("log", partial(_read_log, trainer.run_dir),
                         self.training_model.prepend_messages)
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
            self.training_model.set_live_state("stopping")

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
        self.training_model.apply_events(batch)

    def _on_succeeded(self, summary: dict) -> None:
        self.drain()
        self.training_model.set_live_state("stopped" if summary["stopped"] else "finished")

    def _on_failed(self, message: str, trace: str) -> None:
        self.drain()
        if trace:
            self.training_model.log(trace.rstrip(), "error")
        self.training_model.set_live_state("failed", message)
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
        self.finished.emit(self.training_model.live)

    # -- the workspace -------------------------------------------------------------------------
    def refresh_runs(self) -> None:
        """Re-read the workspace's run folders in the background."""
        workspace = self.training_model.workspace
        if workspace is None:
            self.training_model.set_runs([])
            return
        self._submit("runs", lambda reporter: list_runs(workspace), self.training_model.set_runs)

    def listing(self) -> bool:
        """Whether the workspace is being listed now."""
        return self.runner.busy("training:runs")

    def delete(self, run_dir: str | Path) -> int:
        """Delete a run folder in the background (a run's checkpoints can be GBs); the run
        going cannot be deleted. Returns the job's request id."""
        run_dir = Path(run_dir)
        live = self.training_model.live
        if live is not None and live.path == run_dir and self.active:
            raise InputError("the run is going; stop it before deleting it", path=run_dir)
        self.training_model.select([p for p in self.training_model.selection if p != run_dir])
        return self._submit(f"delete:{run_dir}", lambda reporter: delete_run(run_dir),
                            lambda _none: self.refresh_runs(), label=f"Deleting {run_dir.name}")

    def count_bases(self, paths: list[str]) -> None:
        """Count the bases of files added to the dataset (the held-out split needs them)."""
        for path in paths:
            self._submit(f"size:{path}", partial(count_bases, path),
                         partial(self.training_model.set_file_bases, path),
                         label=f"Counting bases of {Path(path).name}")

    def load_curves(self) -> None:
        """Read the curves of the selected runs and of the live run from their files."""
        live = self.training_model.live
        paths = list(self.training_model.selection)
        if live is not None and live.path not in paths:
            paths.append(live.path)
        self._submit("curves", partial(read_curves, paths), self.training_model.set_curves)

    def read_run_log(self, run_dir: Path) -> None:
        """Read a run's log (every leg of it) into ``model.run_log``."""
        self._submit("log", partial(_read_log, run_dir), self.training_model.set_run_log)

    def _submit(self, kind: str, fn, on_done, **options) -> int:
        """The one place training's jobs are submitted: ``fn`` as the latest
        ``training:<kind>``; a user-facing error becomes a dialog."""
        options.setdefault("on_error", self.error.emit)
        return self.runner.submit(f"training:{kind}", fn, on_done, **options)

    def shutdown(self, timeout_ms: int = 120_000) -> bool:
        """Stop a live run (checkpointing it) and cancel training's jobs; True if the run's
        thread ended."""
        done = self.stop_and_wait(timeout_ms)
        self._drain.stop()
        self.runner.cancel_all("training:")
        return done


def _read_log(run_dir: Path, reporter) -> list[tuple[str, str]]:
    return list(read_log(run_dir))
