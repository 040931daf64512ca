"""The view's controller: turns :class:`Workbench` changes into background jobs, and job
results into Workbench changes.

It is the only code that submits work for the Workbench (:meth:`ViewController._submit`). It
listens to the view model (record, locus, patcher settings, score source, annotations) and
submits jobs to the shared :class:`TaskRunner` by kind (``view:<kind>``), so a newer request
always replaces an older one; results come back on the GUI thread and go into the view model
through its setters.

Scores: a record's scores come from a file, the cache, or the model, block by block nearest
the view first (:func:`gui.model.jobs.score_record`); while they arrive, the tracks redraw at
most every ``REDRAW_MS`` and the patches of the scored stretch around the view are recomputed
at most every ``REPATCH_MS``.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from PySide6.QtCore import QObject, QTimer

from engine.errors import BytescopeError, InputError
from engine.io.records import Record
from engine.patching import PatchConfig

from ..model.events import Subscriptions
from ..model.jobs import (
    AnnotationSource,
    CompareRequest,
    Document,
    Focus,
    PatchRequest,
    ScoreOutcome,
    ScoreRequest,
    around,
    compare_patches,
    compute_patches,
    index_features,
    is_long,
    load_annotations,
    load_document,
    score_record,
)
from ..model.locus import Locus
from ..model.patches import PatchView
from ..model.pyramid import ScoreBuffer
from ..model.session import CompareSettings, ScoreStatus, SessionState, Workbench
from ..workers import TaskRunner

REDRAW_MS = 100
REPATCH_MS = 400


def _covers(span: tuple[int, int] | None, locus: Locus) -> bool:
    return span is not None and span[0] <= locus.start and locus.end <= span[1]


class ViewController(QObject):
    """Opens files, scores, patches and compares for the :class:`Workbench` (module doc)."""

    def __init__(self, model: Workbench, runner: TaskRunner,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.workbench = model
        self.runner = runner
        self.focus = Focus()
        self._subs = Subscriptions()
        self._pending_locus: str | None = None  # a locus to show once the files are open
        self._pending_record: tuple[str, str] | None = None
        self._pending_entropies: str | None = None
        self._locus_origin = "locus"
        self._opening: set[str] = set()
        self._order: list[str] = []  # every file asked for, in order: the documents' order
        # files asked for while no record is shown, in the order given: the first of them with
        # records is shown, whatever order their loads finish in
        self._show_first: list[str] = []
        self.failed_paths: list[str] = []
        self._redraw = QTimer(self, singleShot=True, interval=REDRAW_MS)
        self._redraw.timeout.connect(model.scores_changed)
        self._repatch = QTimer(self, singleShot=True, interval=REPATCH_MS)
        self._repatch.timeout.connect(self.request_patches)
        events = model.events
        for signal, slot in ((events.record, self._on_record), (events.locus, self._on_locus),
                             (events.patch_config, self._on_patch_config),
                             (events.score_source, self._on_score_source),
                             (events.annotations, self._on_annotations),
                             (events.patches, self._on_patches),
                             (events.compare_settings, self._on_compare_settings)):
            self._subs.connect(signal, slot)

    # -- opening ---------------------------------------------------------------------------------
    def open_files(self, paths: list[str], locus: str | None = None,
                   locus_origin: str = "locus") -> None:
        """Open sequence files in the background; show ``locus``, else (when no record is
        shown yet) the first record of the first of ``paths`` that has records."""
        if locus is not None:
            self._pending_locus = locus
            self._locus_origin = locus_origin  # what an error about it names
        for path in paths:
            path = str(path)
            self._opening.add(path)
            if path in self._order:  # reopened: it goes last, as it replaces its document
                self._order.remove(path)
            self._order.append(path)
            if self.workbench.record is None and path not in self._show_first:
                self._show_first.append(path)
            self._submit(
                f"open:{path}", partial(load_document, path),
                on_done=self._on_document,
                on_error=partial(self._on_open_failed, path),
                on_cancelled=partial(self._on_open_cancelled, path),
                label=f"Opening {Path(path).name}",
            )

    def open_annotations(self, paths: list[str]) -> None:
        for path in paths:
            path = str(path)
            self._opening.add(path)
            self._submit(
                f"annotations:{path}", partial(load_annotations, path),
                on_done=self._on_annotation_source,
                on_error=partial(self._on_open_failed, path),
                on_cancelled=partial(self._on_open_cancelled, path),
                label=f"Reading {Path(path).name}",
            )

    def load_entropies(self, path: str) -> None:
        """Entropies for the current record from a .npy / .h5 / bedGraph file."""
        if self.workbench.record is None:
            self._pending_entropies = path
            return
        self.workbench.set_entropy_file(str(path))

    def apply_session(self, state: SessionState) -> None:
        """Open a saved session's files and restore its record, locus and settings.

        ``state`` comes checked from :meth:`SessionState.load`; its settings are built before
        anything closes, so one that is wrong all the same raises with nothing changed."""
        config, compare = state.patch_config(), state.compare_settings()
        self.runner.cancel_all_and_wait("view:")  # no job may read a file we are closing
        self.workbench.close_all()
        self.workbench.set_patch_config(config)
        self.workbench.set_compare_settings(compare)
        with self.workbench.events.score_source.blocked():  # the record shown next scores
            self.workbench.set_model_spec(state.model)
            self.workbench.set_repeats(state.repeats)
        if state.record is not None:
            self._pending_record = (state.record["path"], state.record["id"])
        self._pending_entropies = state.entropies
        self.open_files(state.files, locus=state.locus, locus_origin="the session's locus")
        self.open_annotations(state.annotations)

    def _on_document(self, document: Document) -> None:
        self._opening.discard(document.path)
        if len(document.sequences) == 0 and document.sequences.features:
            # an annotation file (GFF3 without ##FASTA, BED) opened as sequences: a track
            source = AnnotationSource(document.path, tuple(document.sequences.features))
            document.close()
            self._on_annotation_source(source)
            return
        self.workbench.add_document(document, self._order)
        records = len(document.sequences)
        self.workbench.log(f"opened {document.path}: {document.sequences.format}, {records} "
                       f"record{'s' if records != 1 else ''}")
        self._show_pending(document)

    def _on_annotation_source(self, source: AnnotationSource) -> None:
        self._opening.discard(source.path)
        self.workbench.add_annotations(source)
        self.workbench.log(f"read {len(source.features):,} features from {source.path}")
        self._after_open()

    def _on_open_failed(self, path: str, error: BytescopeError) -> None:
        self._opening.discard(path)
        self.failed_paths.append(path)
        self.workbench.report_error(error)
        self._after_open()

    def _on_open_cancelled(self, path: str) -> None:
        self._opening.discard(path)
        self._after_open()

    def _after_open(self) -> None:
        """A file finished opening with no records to show (annotations, a failure, a
        cancel): what waited on it may go ahead."""
        if self._pending_locus is not None:
            # a feature named by --locus may be in these annotations; a locus that names
            # nothing is an error once every file is in
            if self.workbench.documents or not self._opening:
                self._show_pending(None)
        elif self.workbench.record is None and self._pending_record is None:
            self._show_first_opened()

    def _show_pending(self, document: Document | None) -> None:
        """Show what was asked for (session record, --locus), or the first record opened."""
        model = self.workbench
        if self._pending_record is not None:
            path, record_id = self._pending_record
            doc = model.document(path)
            if doc is None or record_id not in doc.sequences:
                if self._opening:
                    return
                self._pending_record = None
                model.report_error(InputError(f"the session's record {record_id!r} is not in "
                                              "the files opened", path=path))
            else:
                self._pending_record = None
                model.set_record(path, doc.sequences[record_id])
        if self._pending_locus is not None:
            try:
                path, record, locus = model.parse_locus(self._pending_locus)
            except BytescopeError as error:
                if self._opening:
                    return  # the record or feature may be in a file still opening
                self._pending_locus = None
                model.report_error(InputError(f"{self._locus_origin}: {error.message}"))
            else:
                self._pending_locus = None
                model.set_record(path, record, locus)
        if model.record is None and self._pending_record is None and \
                self._pending_locus is None:
            self._show_first_opened()
        if self._pending_entropies is not None and model.record is not None:
            path, self._pending_entropies = self._pending_entropies, None
            model.set_entropy_file(path)

    def _show_first_opened(self) -> None:
        """Show the first non-empty record of the first file asked for that has one, once
        every file before it has finished opening (failed, cancelled, annotation-only and
        empty files are passed over): the order the files were given in, never the order
        their loads finish in."""
        for path in self._show_first:
            if path in self._opening:
                return  # an earlier file is still opening: it comes first
            document = self.workbench.document(path)
            first = None if document is None else next(
                (r for r in document.sequences if r.length), None)
            if first is not None:
                self._show_first = []
                self.workbench.set_record(path, first)
                return
            if document is not None and len(document.sequences):  # every record empty
                self._show_first.remove(path)
                self.workbench.report_error(InputError(
                    "every record in this file is empty (headers with no sequence)", path=path))
                self._show_first_opened()
                return

    def show_record(self, path: str, record_id: str, locus: Locus | None = None) -> None:
        document = self.workbench.document(path)
        if document is not None:
            self.workbench.set_record(path, document.sequences[record_id], locus)

    # -- reacting to the model ---------------------------------------------------------------------
    def _on_record(self, record: Record | None) -> None:
        if record is not None:
            self._show_first = []  # a record is shown: later opens leave it there
        for kind in ("features", "scores", "patches", "compare"):
            self.cancel(kind)
        self._repatch.stop()
        if record is None:
            return
        self.focus.position = int(self.workbench.locus.centre) if self.workbench.locus else 0
        self.request_features()
        self.request_scores()
        self.request_patches()

    def _on_locus(self, locus: Locus | None) -> None:
        if locus is None:
            return
        self.focus.position = int(locus.centre)
        model = self.workbench
        patches, scores = model.patches, model.scores
        # a long record is worked on around the view: follow it where it goes
        if scores is not None and model.score_status.state == "view" and \
                not self.busy("scores") and not _covers(scores.span_around(locus.start), locus):
            self.request_scores(keep=True)
        # while scores arrive, the patched stretch follows the view
        if patches is not None and not patches.complete and \
                not _covers(patches.span, locus) and \
                (scores is not None or not model.patch_config.needs_entropies):
            self._repatch.start()

    def _on_patch_config(self, config: PatchConfig) -> None:
        self.request_patches()

    def _on_score_source(self) -> None:
        if self.workbench.record is not None:
            self.request_scores()
            self.request_patches()

    def _on_annotations(self, sources) -> None:
        if self.workbench.record is not None:
            self.request_features()
            self.request_comparison()

    def _on_patches(self, patches: PatchView | None) -> None:
        self.request_comparison()

    def _on_compare_settings(self, settings: CompareSettings) -> None:
        self.request_comparison()

    # -- jobs ------------------------------------------------------------------------------------
    def _submit(self, kind: str, fn, on_done, **options) -> int:
        """The one place the view's work is submitted: ``fn`` as the latest ``view:<kind>``."""
        return self.runner.submit(f"view:{kind}", fn, on_done, **options)

    def cancel(self, kind: str) -> None:
        """Cancel the view's ``kind`` of job (``"scores"``, ``"patches"``...)."""
        self.runner.cancel(f"view:{kind}")

    def busy(self, kind: str | None = None) -> bool:
        """Whether a view job (of ``kind``) is running or waiting."""
        if kind is None:
            return self.runner.busy_prefix("view:")
        return self.runner.busy(f"view:{kind}")

    def request_features(self) -> None:
        record = self.workbench.record
        if record is None:
            return
        sources = list(self.workbench.annotations)
        self._submit("features", partial(index_features, record.id, list(record.features),
                                         sources), on_done=self.workbench.set_features)

    def request_scores(self, keep: bool = False) -> None:
        """Score the record (from a file, the cache or the model); ``keep``: go on filling the
        scores shown (a long record's view moved), instead of starting afresh."""
        model = self.workbench
        record = model.record
        if record is None or model.record_path is None:
            return
        if not keep:
            model.set_scores(None, ScoreStatus("none"))
        request = ScoreRequest(model.record_path, record, model.model_spec, model.entropy_file,
                               self.focus, repeats=model.repeats,  # models: LOADED
                               buffer=model.scores if keep else None)
        source = Path(model.entropy_file).name if model.entropy_file else model.model_spec
        self._submit(
            "scores", partial(score_record, request),
            on_done=self._on_scores_done,
            on_partial=self._on_scores_partial,
            on_progress=self._on_scores_progress,
            on_error=self._on_scores_failed,
            on_cancelled=self._on_scores_cancelled,
            label=f"Scoring {record.id} ({Path(source).name}"
                  f"{'' if model.repeats or model.entropy_file else ', no repeat expert'})",
        )

    def _on_scores_partial(self, buffer: ScoreBuffer) -> None:
        self.workbench.set_scores(buffer, ScoreStatus(
            "scoring", f"scoring {buffer.record_id} with {Path(buffer.source).name}, "
            "the view first"))

    def _on_scores_progress(self, done: int, total: int) -> None:
        if not self._redraw.isActive():
            self._redraw.start()
        self._schedule_repatch()

    def _schedule_repatch(self) -> None:
        if self.workbench.patch_config.needs_entropies and not self._repatch.isActive():
            self._repatch.start()

    def _on_scores_done(self, outcome: ScoreOutcome) -> None:
        self._redraw.stop()
        model = self.workbench
        if outcome.buffer is None:
            model.set_scores(None, ScoreStatus(outcome.status, outcome.message))
            model.log(outcome.message, "warning")
        else:
            source = Path(outcome.buffer.source).name
            text = {"cached": f"entropies of {outcome.buffer.record_id} from the cache "
                              f"({source})",
                    "scored": f"scored {outcome.buffer.record_id} with {source} (cached now)",
                    "file": f"entropies from {source}",
                    "view": outcome.message}[outcome.status]
            filled = outcome.buffer is model.scores  # the buffer the job filled in place
            model.set_scores(outcome.buffer, ScoreStatus(outcome.status, text))
            if filled:  # no new buffer to draw: draw what came after the last timed redraw
                model.scores_changed()
            model.log(text)
            locus = model.locus
            if outcome.status == "view" and locus is not None and \
                    not _covers(outcome.buffer.span_around(locus.start), locus):
                self.request_scores(keep=True)  # the view moved on while this stretch ran
        self._repatch.stop()
        self.request_patches()

    def _on_scores_failed(self, error: BytescopeError) -> None:
        self.workbench.set_scores(None, ScoreStatus("no-model", str(error)))
        self.workbench.report_error(error)
        self.request_patches()

    def _on_scores_cancelled(self) -> None:
        if self.runner.latest("view:scores") is None and self.workbench.record is not None:
            self.workbench.set_scores(self.workbench.scores, ScoreStatus("cancelled",
                                                                 "scoring cancelled"))
            self.workbench.log("scoring cancelled", "warning")

    def request_patches(self) -> None:
        """Patch the record (byte modes), or the scored stretch around the view."""
        model = self.workbench
        record, config, scores = model.record, model.patch_config, model.scores
        self._repatch.stop()
        if record is None:
            return
        if config.needs_entropies:
            if scores is None:
                self.cancel("patches")
                model.set_patches(None)
                return
            centre = int(model.locus.centre) if model.locus is not None else 0
            span = (0, record.length) if scores.complete else scores.span_around(centre)
            if span is None:
                return
            entropies = scores.values("entropy", *span)
        elif is_long(record.length):  # the bases around the view, not all of them
            span = around(record.length, int(model.locus.centre) if model.locus else 0)
            entropies = None
        else:
            span = (0, record.length)
            entropies = scores.values("entropy") if scores is not None and scores.complete \
                else None
        request = PatchRequest(record, config, span, entropies)
        self._submit("patches", partial(compute_patches, request),
                     on_done=self._on_patches_done)

    def _on_patches_done(self, patches: PatchView) -> None:
        self.workbench.set_patches(patches)

    def request_comparison(self) -> None:
        model = self.workbench
        patches, record = model.patches, model.record
        features, types = model.compared_features()
        if patches is None or record is None or not patches.complete or not features:
            self.cancel("compare")
            model.set_comparison(None)
            return
        settings = model.compare_settings
        request = CompareRequest(patches.starts, features, record.length, settings.k,
                                 settings.anchor, types=types)
        self._submit("compare", partial(compare_patches, request),
                     on_done=model.set_comparison)

    # -- state for tests, the screenshot and benchmarks --------------------------------------------
    def opening(self) -> bool:
        return bool(self._opening)

    def view_ready(self, whole: bool = False) -> bool:
        """Whether the view shows everything it will without whole-record work: files open,
        features indexed, scores known over the locus (or none to be had), patches current.
        ``whole``: also the whole record's scores, patches and comparison."""
        return self.waiting_for(whole) is None

    def waiting_for(self, whole: bool = False) -> str | None:
        """What the view still waits for, in a few words (``None``: it is ready)."""
        model = self.workbench
        if whole and (self.busy("scores") or (
                model.scores is not None and model.score_status.state == "scoring"
                and not model.scores.complete)):
            return self._scoring_progress("scoring the whole record")
        if whole and self.busy("compare"):
            return "comparing boundaries with annotations"
        if self._opening:
            return f"opening {len(self._opening)} file{'s' if len(self._opening) > 1 else ''}"
        if self._pending_locus is not None or self._pending_record is not None:
            return "waiting for the record to show"
        if model.record is None:
            return None if (model.documents or self.failed_paths) else "no file is open"
        if self.busy("features"):
            return "indexing features"
        if self.busy("patches") or self._repatch.isActive():
            return "patching"
        locus, scores, state = model.locus, model.scores, model.score_status.state
        if state == "none" or (state == "scoring" and scores is None):
            return "starting to score"
        if scores is not None and locus is not None:
            span = scores.span_around(locus.start)
            if span is None or span[0] > locus.start or span[1] < locus.end:
                return self._scoring_progress("scoring the view")
        patches = model.patches
        if patches is None:
            done = state in ("no-model", "cancelled") and model.patch_config.needs_entropies
            return None if done else "patching"
        if locus is None or (patches.span[0] <= locus.start and locus.end <= patches.span[1]):
            return None
        return "patching the view"

    def _scoring_progress(self, what: str) -> str:
        scores = self.workbench.scores
        if scores is None:
            return what
        return f"{what}: {scores.known_bases() / max(1, scores.length):.0%} of " \
            f"{scores.length:,} bytes scored"

    def shutdown(self) -> None:
        """Stop the timers, cancel the view's jobs and unsubscribe (the window then shuts the
        shared runner down, waiting for its threads)."""
        self._redraw.stop()
        self._repatch.stop()
        self._subs.disconnect_all()
        self.runner.cancel_all("view:")
