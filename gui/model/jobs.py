"""What the background jobs compute: plain functions of an immutable request, no Qt.

Each takes a request (what to compute, with its id) and a :class:`Reporter` (progress,
partial results, the cancel flag) and returns plain data. :mod:`gui.workers` runs them on a
thread pool and hands the result to the GUI thread, which applies it if the id is still the
latest (napari's asynchronous slicing).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from engine.errors import ModelError
from engine.io import open_annotations, open_sequences
from engine.io.records import Feature, Record, SequenceFile
from engine.io.summary import summarise_records
from engine.models.loaded import LOADED, ModelCache
from engine.patching import PatchConfig, Patcher
from engine.patching.compare import DEFAULT_TYPES, BoundaryAgreement, boundary_agreement
from engine.scoring import Cancelled

from .entropy_files import read_entropy_file
from .features import FeatureIndex
from .patches import PatchView, make_patch_view
from .pyramid import SIGNALS, ScoreBuffer

SCORE_BLOCK = 16_384  # bases scored per step of the focus-first order (rounded to chunks)
# Records longer than WHOLE_LIMIT (a human chromosome, not a bacterium) are scored, or read from
# the cache, REACH bases each side of the view only, and the buffer keeps the values of the
# KEEP_BLOCKS blocks nearest the view (16 Mbp: about 300 MB for both signals). Moving the view
# scores where it goes; `bytescope score` scores such a record whole.
WHOLE_LIMIT = 32 * 2**20
REACH = 1 << 20
KEEP_BLOCKS = 256


class Reporter:
    """A job's line back to the GUI: ``progress(done, total)``, ``partial(obj)``, ``cancel``."""

    def __init__(
        self,
        progress: Callable[[int, int], None] = lambda done, total: None,
        partial: Callable[[Any], None] = lambda obj: None,
    ) -> None:
        self.cancel = threading.Event()
        self._progress = progress
        self._partial = partial

    def progress(self, done: int, total: int) -> None:
        self._progress(done, total)

    def partial(self, obj: Any) -> None:
        self._partial(obj)

    def check(self) -> None:
        """Stop here with :class:`Cancelled` if cancel was requested."""
        if self.cancel.is_set():
            raise Cancelled()


# ---------------------------------------------------------------------------------------------
# opening files


@dataclass(eq=False)
class Document:
    """One opened sequence file with a summary row per record (length, alphabet, GC%...)."""

    path: str
    sequences: SequenceFile
    summaries: list[dict]

    def close(self) -> None:
        self.sequences.close()


def load_document(path: str, reporter: Reporter) -> Document:
    """Open a file and summarise its records (GC% reads every base, so it runs here)."""
    sequences = open_sequences(path)
    try:
        vectorised = getattr(sequences, "summaries", None)  # FASTQ: all reads in array passes
        if vectorised is not None:
            summaries = vectorised()
        else:
            # short records in batched array passes (10^6 records in seconds, not minutes)
            summaries = summarise_records(list(sequences), progress=reporter.progress,
                                          check=reporter.check)
    except BaseException:
        sequences.close()
        raise
    return Document(str(path), sequences, summaries)


@dataclass(frozen=True, eq=False)
class AnnotationSource:
    """Features read from an annotation file, shown as their own track."""

    path: str
    features: tuple[Feature, ...]

    @property
    def name(self) -> str:
        return Path(self.path).name


def load_annotations(path: str, reporter: Reporter) -> AnnotationSource:
    return AnnotationSource(str(path), tuple(open_annotations(path)))


def index_features(
    record_id: str, own: Sequence[Feature], sources: Sequence[AnnotationSource],
    reporter: Reporter,
) -> list[FeatureIndex]:
    """One :class:`FeatureIndex` per track: the record's own features, then each file's."""
    tracks = []
    if own:
        tracks.append(FeatureIndex("annotations", own))
    for source in sources:
        reporter.check()
        mine = [f for f in source.features if f.record_id == record_id]
        if mine:
            tracks.append(FeatureIndex(source.name, mine))
    return tracks


# ---------------------------------------------------------------------------------------------
# scores


class Focus:
    """Where the user looks (a base position), updated by the GUI while a job runs.

    A single attribute read and written whole is safe across threads in CPython.
    """

    def __init__(self, position: int = 0) -> None:
        self.position = position


@dataclass(frozen=True, eq=False)
class ScoreRequest:
    path: str
    record: Record
    model_spec: str = "default"
    entropy_file: str | None = None
    focus: Focus = field(default_factory=Focus)
    models: ModelCache = LOADED  # the process's, shared with the Maps panel's patch starts
    batch_size: int = 8
    repeats: bool = True  # mix in the model's repeat expert, when it has one
    buffer: ScoreBuffer | None = None  # what is known already (a long record, the view moved)


@dataclass(frozen=True, eq=False)
class ScoreOutcome:
    """``status``: ``cached``, ``scored``, ``file``, ``view`` (a record too long to hold whole:
    the stretch around the view, ``message`` says how) or ``no-model`` (``buffer`` None)."""

    buffer: ScoreBuffer | None
    status: str
    message: str = ""


def score_blocks(length: int, step: int, block: int = SCORE_BLOCK) -> np.ndarray:
    """Block starts: multiples of the scorer's chunk step, so block-wise scoring uses the very
    windows one pass over the record would (see :func:`score_record`)."""
    size = max(step, block // step * step)
    return np.arange(0, length, size, dtype=np.int64)


def nearest_undone(done: np.ndarray, starts: np.ndarray, position: int) -> int:
    """The block not yet scored that is nearest ``position`` (the view's centre)."""
    todo = np.flatnonzero(~done)
    sizes = np.diff(np.append(starts, np.iinfo(np.int64).max))
    centres = starts[todo] + np.minimum(sizes[todo], 1 << 40) // 2
    return int(todo[np.argmin(np.abs(centres - position))])


def is_long(length: int) -> bool:
    """Whether a record is worked on around the view only (see ``WHOLE_LIMIT``)."""
    return length > WHOLE_LIMIT


def around(length: int, position: int) -> tuple[int, int]:
    """The stretch of a long record worked on for a view centred at ``position``."""
    start = max(0, min(position, length) - REACH)
    return start, min(length, start + 2 * REACH)


def _reuse(request: ScoreRequest, source: str, signals: tuple[str, ...] = SIGNALS) -> ScoreBuffer:
    """The request's buffer when it holds this record from this source, else a new one."""
    record, old = request.record, request.buffer
    if old is not None and (old.record_id, old.length, old.source, old.signals) == (
            record.id, record.length, source, signals):
        return old
    return ScoreBuffer(record.id, record.length, signals=signals, source=source)


def score_record(request: ScoreRequest, reporter: Reporter) -> ScoreOutcome:
    """Entropy and surprisal of a whole record: from a file, the cache, or the model.

    Scoring goes block by block, always taking next the block nearest ``request.focus``, so
    the view fills first. Blocks start at multiples of the chunk step (``max_len - context``),
    where a single pass would start a chunk too, so every base is scored in the same window as
    ``engine.scoring.score`` scores it and the cached whole record is that pass's result.
    The :class:`ScoreBuffer` is handed over (``reporter.partial``) before the first block, for
    the GUI to draw as it fills.
    """
    from engine.models.defaults import resolve_model_path
    from engine.scoring import (
        ScoreCache,
        Scores,
        chunk_step,
        copy_guesses,
        default_context,
        iter_scores,
    )

    record = request.record
    long = is_long(record.length)
    if request.entropy_file:
        if not long:
            return ScoreOutcome(read_entropy_file(request.entropy_file, record), "file")
        a, b = around(record.length, request.focus.position)
        buffer = _reuse(request, str(request.entropy_file), ("entropy",))
        read_entropy_file(request.entropy_file, record, a, b, buffer=buffer)
        buffer.drop_far_from(request.focus.position, KEEP_BLOCKS)
        return ScoreOutcome(buffer, "view", f"entropies of {_mbp(a, b)} of {record.id} "
                            f"from {Path(request.entropy_file).name}, around the view")
    try:
        folder = resolve_model_path(request.model_spec, record.alphabet)
    except ModelError as error:
        if request.model_spec != "default":
            raise
        return ScoreOutcome(None, "no-model", (
            f"no bundled model for {record.alphabet} records ({error.message.split(';')[0]}). "
            "Choose one (Model ▸ Choose Model Folder…) or load entropies (File ▸ Load "
            "Entropies…); byte modes (static, space) patch without them."))
    # keyed as every score is (file, model with or without its expert): a refitted model's
    # key changes, and the model cache then loads it afresh
    cache = ScoreCache.for_file(request.path, folder, repeats=request.repeats)
    if long:
        return _score_around(request, reporter, folder, cache)
    buffer = ScoreBuffer(record.id, record.length, source=str(folder))
    whole = cache.load(record.id, record.length)  # a damaged entry is removed: None
    if whole is not None:
        buffer.write(0, entropy=whole.entropy, surprisal=whole.surprisal)
        return ScoreOutcome(buffer, "cached")
    model = request.models.get(folder)
    reporter.partial(buffer)
    context = default_context(model.max_len)  # iter_scores' default: blocks align to its step
    expert = getattr(model, "repeats", None) if cache.repeats else None
    guesses = copy_guesses(expert, record) if expert is not None else None  # once, not per block
    starts = score_blocks(record.length, chunk_step(model.max_len, context), SCORE_BLOCK)
    ends = np.append(starts[1:], record.length)
    done = np.zeros(len(starts), dtype=bool)
    scored = 0
    while not done.all():
        i = nearest_undone(done, starts, request.focus.position)
        for piece in iter_scores(model, record, int(starts[i]), int(ends[i]), context=context,
                                 batch_size=request.batch_size, cancel=reporter.cancel,
                                 repeats=cache.repeats, guesses=guesses):
            buffer.write(piece.start, entropy=piece.entropy, surprisal=piece.surprisal)
            reporter.progress(scored + piece.end - int(starts[i]), record.length)
        done[i] = True
        scored += int(ends[i] - starts[i])
    cache.save(Scores(record.id, 0, buffer.values("entropy").copy(),
                      buffer.values("surprisal").copy()))
    return ScoreOutcome(buffer, "scored")


def _mbp(a: int, b: int) -> str:
    return f"{(b - a) / 1e6:,.1f} Mbp"


def _score_around(request: ScoreRequest, reporter: Reporter, folder, cache) -> ScoreOutcome:
    """A record longer than ``WHOLE_LIMIT``: the stretch around the view, from the cache when
    `bytescope score` stored the record (only that stretch is read), else scored here by the
    network alone (the repeat expert would first read the whole record up to the view)."""
    from engine.scoring import chunk_step, default_context, iter_scores

    record, position = request.record, request.focus.position
    a, b = around(record.length, position)
    buffer = _reuse(request, str(folder))
    cached = cache.load_region(record.id, record.length, a, b)
    if cached is not None:
        buffer.write(a, entropy=cached.entropy, surprisal=cached.surprisal)
        buffer.drop_far_from(position, KEEP_BLOCKS)
        return ScoreOutcome(buffer, "view", f"entropies of {_mbp(a, b)} of {record.id} from "
                            f"the cache ({Path(folder).name}), around the view")
    model = request.models.get(folder)
    reporter.partial(buffer)
    context = default_context(model.max_len)
    starts = score_blocks(record.length, chunk_step(model.max_len, context), SCORE_BLOCK)
    ends = np.append(starts[1:], record.length)
    todo = (ends > a) & (starts < b)
    for i in np.flatnonzero(todo):  # what is known already counts as done
        span = buffer.span_around(int(starts[i]))
        todo[i] = span is None or not (span[0] <= starts[i] and ends[i] <= span[1])
    done, total, scored = ~todo, int((ends - starts)[todo].sum()), 0
    while not done.all():
        i = nearest_undone(done, starts, request.focus.position)
        for piece in iter_scores(model, record, int(starts[i]), int(ends[i]), context=context,
                                 batch_size=request.batch_size, cancel=reporter.cancel,
                                 repeats=False):
            buffer.write(piece.start, entropy=piece.entropy, surprisal=piece.surprisal)
            reporter.progress(scored + piece.end - int(starts[i]), total)
        done[i] = True
        scored += int(ends[i] - starts[i])
    buffer.drop_far_from(position, KEEP_BLOCKS)
    expert = " (network alone: the repeat expert needs the whole record before the view)" \
        if cache.repeats and getattr(model, "repeats", None) is not None else ""
    return ScoreOutcome(buffer, "view", (
        f"scored {_mbp(a, b)} of {record.id} around the view with {Path(folder).name}{expert}; "
        f"`bytescope score` scores all {record.length:,} bases into the cache"))


# ---------------------------------------------------------------------------------------------
# patches and their comparison with annotations


@dataclass(frozen=True, eq=False)
class PatchRequest:
    record: Record
    config: PatchConfig
    span: tuple[int, int]
    entropies: np.ndarray | None  # the span's (read-only; known values never change)


def compute_patches(request: PatchRequest, reporter: Reporter) -> PatchView:
    a, b = request.span
    config = request.config
    values = request.entropies if config.needs_entropies else request.record.array(a, b)
    result = Patcher(config).patch(values)
    return make_patch_view(request.record.id, request.record.length, request.span, result,
                           request.entropies)


@dataclass(frozen=True, eq=False)
class CompareRequest:
    starts: np.ndarray
    features: tuple[Feature, ...]
    length: int
    k: int
    anchor: str = "start"
    trials: int = 8
    seed: int = 0
    types: tuple[str, ...] = DEFAULT_TYPES  # as Workbench.compared_features chose them


def compare_patches(request: CompareRequest, reporter: Reporter) -> BoundaryAgreement:
    return boundary_agreement(request.starts, request.features, request.length, k=request.k,
                              types=request.types, anchor=request.anchor,
                              trials=request.trials, seed=request.seed)
