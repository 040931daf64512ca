"""The Bake panel's controller: bakes, the fine-tuning run, the report and the fp32 overlay for
the :class:`BakeModel`.

* int8 and post-training ternary: one job (``bake:bake``, a task with progress and Cancel):
  :func:`gui.model.bake.bake_job`.
* ternary by fine-tuning: a Trainer run started through the :class:`TrainingController` (so
  it is the Training panel's live run: pause, stop, resume, curves, kill -9 safety), in
  ``BAKED.run`` beside the baked folder; its step rows go into ``BakeModel.curve``; when it
  finishes, the same job bakes its best checkpoint. A stopped run resumes on the next Bake.
* "Use Baked Model": the Workbench scores with the baked folder (the tracks re-score), and the
  fp32 model's scores of the record go into ``BakeModel.overlay`` (``bake:overlay``: the view's
  own scoring job, :func:`gui.model.jobs.score_record`, with the fp32 model: the cache when the
  record was scored before, else block by block from the view), drawn over the entropy track.

Every job goes through :meth:`BakeController._submit`.
"""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from engine.errors import BytescopeError, InputError

from ..model.bake import BakeModel, BakeRequest, BakeResult, bake_job, default_out
from ..model.events import Subscriptions
from ..model.jobs import ScoreOutcome, ScoreRequest, is_long, score_record
from ..model.session import Workbench
from ..workers import TaskRunner
from .training import TrainingController, default_threads
from .view import ViewController

OVERLAY_EVERY_S = 0.2  # the overlay redraws at most this often while it fills


class BakeController(QObject):
    """Bakes for :class:`BakeModel` (module docstring)."""

    error = Signal(object)  # a BytescopeError to show in a dialog

    def __init__(self, model: BakeModel, workbench: Workbench, view: ViewController,
                 training: TrainingController, runner: TaskRunner,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.bake_model = model
        self.workbench = workbench
        self.view = view
        self.training = training
        self.runner = runner
        self._fp32_spec: str | None = None  # what scored the tracks before "Use Baked Model"
        self._overlay_drawn = 0.0
        self._subs = Subscriptions()
        self._subs.connect(training.training_model.events.rows, self._on_rows)
        self._subs.connect(workbench.events.record, self._on_record)
        self._subs.connect(workbench.events.locus, self._on_locus)
        self._subs.connect(workbench.events.repeats, self._on_repeats)
        training.finished.connect(self._on_run_finished)
        self._listening = True  # to the training controller's finished signal

    # -- what the form asks --------------------------------------------------------------------
    def _source(self) -> Path:
        from engine.models.defaults import resolve_model_path

        record = self.workbench.record
        return resolve_model_path(self.bake_model.settings.source,
                                  record.alphabet if record is not None else "dna")

    def _out(self, source: Path) -> Path:
        s = self.bake_model.settings
        if s.out:
            return Path(s.out)
        return default_out(self.training.training_model.workspace, source, s.to, s.method)

    def _data(self) -> list[str]:
        data = list(self.bake_model.settings.data)
        if not data and self.workbench.record_path:
            data = [self.workbench.record_path]  # the open file
        return data

    # -- baking --------------------------------------------------------------------------------
    def start(self) -> int | Path | None:
        """Bake what the form says: returns the bake job's request id, the fine-tuning run's
        folder (QAT), or None when it cannot start (the status says why)."""
        model = self.bake_model
        if model.busy:
            model.set_status("a bake is going: stop it first")
            return None
        try:
            source = self._source()
            out = self._out(source)
            if out.resolve() == source.resolve():
                raise InputError("the baked folder is the model folder itself", path=out)
            if model.settings.method == "qat":
                return self._fine_tune(source, out)
        except BytescopeError as error:
            model.set_phase("failed", str(error))
            self.error.emit(error)
            return None
        model.start("baking", f"baking {source.name} into {out.name}…")
        return self._bake(source, out)

    def _bake(self, source: Path, out: Path, weights: Path | None = None) -> int:
        s = self.bake_model.settings
        data = self._data()
        request = BakeRequest(source, out, s.to, s.method, weights,
                              evaluate=data[0] if s.evaluate and data else None,
                              speed_bytes=s.speed_bytes, embedding=s.embedding)
        self.bake_model.set_phase("baking", f"baking {source.name} into {out.name}"
                                  + (" and measuring both…" if request.evaluate else "…"))
        return self._submit("bake", partial(bake_job, request), self._on_baked,
                            label=f"Baking {out.name}", on_error=self._on_failed,
                            on_cancelled=self._on_cancelled)

    def _fine_tune(self, source: Path, out: Path) -> Path:
        from engine.bake.qat import qat_train_config
        from engine.train.runs import read_run

        s = self.bake_model.settings
        data = self._data()
        if not data:
            raise InputError("fine-tuning needs sequence data: open a file or add one")
        if self.training.active:
            raise InputError("a training run is going; stop it before fine-tuning")
        run_dir = out.with_name(out.name + ".run")
        self.bake_model.start("training", f"fine-tuning {source.name} toward ternary "
                              f"({s.steps:,} steps) in {run_dir.name}…", run_dir)
        if (run_dir / "config.json").exists():
            info = read_run(run_dir)
            if info.state == "finished":  # baked before, or stopped at the bake: bake it now
                self._bake(source, out, weights=self._checkpoint(run_dir))
                return run_dir
            self.training.resume(run_dir, steps=s.steps)
            return run_dir
        config = qat_train_config(source, data, steps=s.steps,
                                  qat={"to": "ternary", "blend_steps": s.blend_steps},
                                  eval_every=max(1, min(250, s.steps // 4)),
                                  checkpoint_every=max(1, min(500, s.steps // 2)))
        config.threads = default_threads()
        run_dir.parent.mkdir(parents=True, exist_ok=True)
        self.training.start(config, run_dir)
        return run_dir

    @staticmethod
    def _checkpoint(run_dir: Path) -> Path:
        from engine.models.defaults import resolve_model_path

        return resolve_model_path(run_dir)  # its best checkpoint, else the latest

    def stop(self) -> None:
        """Stop the fine-tuning run (checkpointed: Bake again resumes it) or cancel the job."""
        model = self.bake_model
        live = self.training.training_model.live
        if model.phase == "training" and live is not None and live.path == model.run_dir:
            self.training.stop()
        else:
            self.runner.cancel("bake:bake")

    def _on_rows(self, label: str, group: str, rows: list[dict]) -> None:
        run = self.bake_model.run_dir
        if run is not None and label == run.name and self.bake_model.phase == "training":
            self.bake_model.add_rows([{**row, "group": group} for row in rows])

    def _on_run_finished(self, live) -> None:
        model = self.bake_model
        if live is None or model.run_dir is None or live.path != model.run_dir or \
                model.phase != "training":
            return
        if live.state != "finished":
            model.set_phase("idle" if live.state == "stopped" else "failed",
                            f"fine-tuning {live.state} at step {live.step:,}"
                            + (": Bake again resumes it" if live.state == "stopped" else
                               f": {live.message}"))
            return
        try:
            source, out = self._source(), model.run_dir.with_name(
                model.run_dir.name.removesuffix(".run"))
            self._bake(source, out, weights=self._checkpoint(model.run_dir))
        except BytescopeError as error:
            self._on_failed(error)

    def _on_baked(self, result: BakeResult) -> None:
        self.bake_model.set_result(result)
        self.workbench.log(self.bake_model.status)

    def _on_failed(self, error: BytescopeError) -> None:
        self.bake_model.set_phase("failed", str(error))
        self.workbench.log(f"bake: {error}", "warning")
        self.error.emit(error)

    def _on_cancelled(self) -> None:
        self.bake_model.set_phase("idle", "cancelled")

    # -- using the baked model -----------------------------------------------------------------
    def use_baked(self, use: bool = True) -> None:
        """Score the tracks with the baked model, the fp32 entropy drawn over them (or back)."""
        model, wb = self.bake_model, self.workbench
        if use == model.using:
            return
        if use:
            if model.result is None:
                model.set_status("bake a model first")
                return
            self._fp32_spec = str(self._source())
            model.set_using(True)
            wb.set_model_spec(str(model.result.out))
            self.request_overlay()
        else:
            self.runner.cancel("bake:overlay")
            model.set_using(False)
            wb.set_model_spec(self._fp32_spec or model.settings.source)

    def request_overlay(self, keep: bool = False) -> int | None:
        """Score the record shown with the fp32 model for the overlay."""
        wb, model = self.workbench, self.bake_model
        if not model.using or wb.record is None or wb.record_path is None \
                or self._fp32_spec is None:
            return None
        if not keep:
            model.set_overlay(None)
        request = ScoreRequest(wb.record_path, wb.record, self._fp32_spec, None,
                               self.view.focus, repeats=wb.repeats,
                               buffer=model.overlay if keep else None)
        return self._submit("overlay", partial(score_record, request), self._on_overlay,
                            on_partial=model.set_overlay, on_progress=self._on_overlay_progress)

    def _on_overlay(self, outcome: ScoreOutcome) -> None:
        self.bake_model.set_overlay(outcome.buffer)
        self.bake_model.overlay_changed()

    def _on_overlay_progress(self, _done: int, _total: int) -> None:
        now = time.monotonic()
        if now - self._overlay_drawn >= OVERLAY_EVERY_S:
            self._overlay_drawn = now
            self.bake_model.overlay_changed()

    def _on_record(self, _record) -> None:
        self.request_overlay()

    def _on_repeats(self, _repeats) -> None:
        self.request_overlay()

    def _on_locus(self, locus) -> None:
        """A long record's overlay covers the stretch around the view: follow it."""
        overlay, record = self.bake_model.overlay, self.workbench.record
        if overlay is None or locus is None or record is None or not is_long(record.length):
            return
        if self.runner.busy("bake:overlay"):
            return
        span = overlay.span_around((locus.start + locus.end) // 2)
        if span is None or not (span[0] <= locus.start and locus.end <= span[1]):
            self.request_overlay(keep=True)

    # -- plumbing ------------------------------------------------------------------------------
    def _submit(self, kind: str, fn, on_done, **options) -> int:
        """The one place bake work is submitted: ``fn`` as the latest ``bake:<kind>``."""
        options.setdefault("on_error", self._on_failed)
        return self.runner.submit(f"bake:{kind}", fn, on_done, **options)

    def busy(self) -> bool:
        return self.runner.busy("bake:bake")

    def shutdown(self) -> None:
        """Cancel the jobs and unsubscribe (a fine-tuning run is the training controller's)."""
        self._subs.disconnect_all()
        if self._listening:  # a window may shut down twice (close, then its test's teardown)
            self._listening = False
            self.training.finished.disconnect(self._on_run_finished)
        self.runner.cancel_all("bake:")
