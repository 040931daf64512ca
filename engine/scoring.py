"""Scoring a record with a byte model: next-byte entropy and surprisal, chunked with overlap.

Alignment (BLT's, see ARCHITECTURE.md). The model reads ``[BOS, b_0, ..., b_{n-1}]``; the logits
at stream position p predict stream token p + 1. For byte t of a record:

    entropy[t]   = H(p(. | b_0..b_t)) = -sum_v p_v log p_v     uncertainty about byte t + 1
    surprisal[t] = -log p(b_t | b_0..b_{t-1})                  how unexpected byte t was

both in nats; bits per byte = mean(surprisal) / ln 2.

A model with a fitted repeat expert (``model.repeats``, engine/models/repeats.py) has its
distribution mixed with the expert's guess before both are taken (equation R1 there), unless
``repeats=False``. The expert reads the record from byte 0, so chunking never changes it.

Long inputs never get truncated: output positions are cut into blocks of ``max_len - context``
and each block is run in a window that starts ``context`` tokens earlier, so every position
sees at least ``context`` tokens of left context (or everything back to BOS). BLT instead
restarts from nothing every 8,192 bytes.
"""

from __future__ import annotations

import itertools
import logging
import math
import os
import shutil
import stat
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from engine.atomic import atomic_path, remove_stale_temporaries
from engine.errors import InputError
from engine.io.cache import cache_dir, content_hash
from engine.io.records import Record, check_range
from engine.models.checkpoint import model_hash
from engine.models.repeats import RepeatConfig, copy_predictions, mix_log_probs
from engine.tokenizers import ByteTokenizer

BOS = ByteTokenizer.BOS
PAD = ByteTokenizer.PAD

log = logging.getLogger(__name__)


class Cancelled(Exception):
    """Raised inside a scoring or training loop when its cancel flag is set."""


@dataclass
class Scores:
    """Entropy and surprisal (nats) for bytes ``[start, end)`` of one record."""

    record_id: str
    start: int
    entropy: np.ndarray  # float32 (n,)
    surprisal: np.ndarray  # float32 (n,)

    @property
    def end(self) -> int:
        return self.start + len(self.entropy)

    @property
    def bits_per_byte(self) -> float:
        return float(self.surprisal.astype(np.float64).mean() / math.log(2)) if len(self) else 0.0

    def __len__(self) -> int:
        return len(self.entropy)

    def region(self, start: int, end: int) -> Scores:
        """Bytes ``[start, end)`` of these (views, not copies)."""
        a, b = start - self.start, end - self.start
        return Scores(self.record_id, start, self.entropy[a:b], self.surprisal[a:b])


@dataclass
class CopyGuesses:
    """The repeat expert's guess for bytes ``[0, n]`` of a record: ``pred[t]`` is a byte or -1
    (no guess), made from bytes ``[0, t)`` only; ``state[t]`` indexes ``weights``, the w_s of
    (R1). Three bytes per base, so a whole chromosome's guesses stay small."""

    pred: np.ndarray  # int16 (n + 1,)
    state: np.ndarray  # uint8 (n + 1,)
    weights: np.ndarray  # float32 (N_STATES,)

    def weight(self, a: int, b: int) -> np.ndarray:
        """w for bytes ``[a, b)``: 0 where there is no guess."""
        return np.where(self.pred[a:b] >= 0, self.weights[self.state[a:b]], 0.0).astype(
            np.float32)


def copy_guesses(repeats: RepeatConfig, record: Record, end: int | None = None) -> CopyGuesses:
    """Run the repeat expert over bytes ``[0, end)`` of ``record`` (the whole of it by default)."""
    end = record.length if end is None else end
    pred, state = copy_predictions(record.array(0, end), repeats, record.length)
    return CopyGuesses(pred, state, repeats.weight_array())


def default_context(max_len: int) -> int:
    """Left context every scored position gets by default: a quarter of the model's window.

    Measured on the held-out HS11286 chromosome (bench/model.py): a quarter costs < 0.001
    bits/base against a half and scores about 1.4x faster, since chunks overlap less.
    """
    return max_len // 4


def chunk_step(max_len: int, context: int | None = None) -> int:
    """Stride of the scoring windows: ``max_len - context``; chunk k outputs [k·step, ...)."""
    return max_len - (default_context(max_len) if context is None else context)


def _windows(first: int, last: int, max_len: int, context: int) -> list[tuple[int, int, int]]:
    """(window start, output start, output end) over stream positions ``[first, last)``."""
    step = max_len - context
    out = []
    for a in range(first, last, step):
        b = min(a + step, last)
        out.append((max(0, a - context), a, b))
    return out


# Rows of a batch are padded to the longest window in it, rounded up to this (a model's whole
# max_len only when a window needs it): short records cost what they hold, not max_len.
ROW_MULTIPLE = 64


def compile_for_scoring(model: nn.Module) -> nn.Module:
    """``torch.compile`` of ``model`` for one input shape (inductor fuses the elementwise ops
    around the matmuls: bench/model.py --profile). The scorer then pads every batch to
    ``batch_size`` rows of ``max_len``, so it compiles once (tens of seconds, cached on disk
    by inductor); worth it for long runs only. The FFTs stay eager (inductor has no complex
    kernels); outputs match the eager model's within float noise."""
    import warnings

    warnings.filterwarnings("ignore", message="Torchinductor does not support code generation "
                            "for complex operators")
    return torch.compile(model, dynamic=False)


def _compiled(model: nn.Module) -> bool:
    """Whether ``model`` is a ``torch.compile`` wrapper (it keeps the model as ``_orig_mod``
    and answers for its attributes)."""
    return hasattr(model, "_orig_mod")


@dataclass(frozen=True)
class Span:
    """Bytes ``[start, end)`` of ``record`` to score."""

    record: Record
    start: int
    end: int


def _span_windows(spans: list[Span], max_len: int, context: int):
    """(span index, window) over every span's windows, spans in order (see :func:`_windows`;
    stream positions, so window (w, a, b) outputs entropy for bytes [a - 1, b - 1) and
    surprisal for bytes [a, b))."""
    for i, span in enumerate(spans):
        if span.end == span.start:
            continue  # nothing to yield
        for window in _windows(span.start, span.end + 1, max_len, context):
            yield i, window


@torch.no_grad()
def iter_span_scores(
    model: nn.Module,
    spans: list[Span],
    *,
    context: int | None = None,
    batch_size: int = 8,
    device: str | torch.device = "cpu",
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
    repeats: bool = True,
    guesses: dict[int, CopyGuesses] | None = None,
) -> Iterator[tuple[int, Scores]]:
    """Yield ``(span index, piece)`` over several spans, each span's pieces consecutive and
    in order, spans in order.

    Windows of different spans (records) share a batch, so many short records score at the
    throughput of one long one; each row reads one window of one record, so no record sees
    another (its context restarts at BOS or at its own left context). A row is as long as the
    longest window of its batch (rounded up to :data:`ROW_MULTIPLE`); a causal model's outputs
    do not depend on the padding after them. Memory is one batch plus the repeat expert's
    guesses: tokens are read window by window.

    ``guesses`` maps a span index to its record's :class:`CopyGuesses` (covering ``[0, end]``)
    so the repeat expert is not rerun; the rest are computed once per record.
    """
    max_len = model.max_len
    context = default_context(max_len) if context is None else context
    if not 0 <= context < max_len:
        raise InputError(f"context must be in [0, {max_len}) for this model, got {context}")
    spans = [Span(s.record, *check_range(s.record.id, s.record.length, s.start, s.end))
             for s in spans]
    total = sum(s.end - s.start for s in spans)
    expert = getattr(model, "repeats", None) if repeats else None
    known: dict[int, CopyGuesses] = dict(guesses or {}) if expert is not None else {}
    carry: dict[int, float] = {}  # span -> surprisal of the byte before its next piece
    fixed = _compiled(model)  # one shape: compiled once
    windows = _span_windows(spans, max_len, context)
    done = 0
    while True:
        if cancel is not None and cancel.is_set():
            raise Cancelled()
        group = list(itertools.islice(windows, batch_size))
        if not group:
            return
        row_len = max_len if fixed else min(
            max_len, -(-max(b - w for _, (w, _, b) in group) // ROW_MULTIPLE) * ROW_MULTIPLE)
        batch = torch.full((batch_size if fixed else len(group), row_len), PAD,
                           dtype=torch.long)
        tokens = []
        for row, (i, (w, _, b)) in enumerate(group):
            span = spans[i]
            t = _stream_tokens(span.record, w, min(b, span.end))  # positions [w, min(b, end)]
            tokens.append(t)
            batch[row, : b - w] = torch.from_numpy(t[: b - w])
        logp = F.log_softmax(model(batch.to(device))[: len(group)].float(), dim=-1)  # (G, L, V)
        if expert is not None:  # stream position q predicts byte q: its guess is pred[q]
            pred = torch.full((len(group), row_len), -1, dtype=torch.long)
            weight = torch.zeros((len(group), row_len))
            for row, (i, (w, _, b)) in enumerate(group):
                g = known.get(i)
                if g is None or len(g.pred) < spans[i].end + 1:
                    g = known[i] = copy_guesses(expert, spans[i].record, spans[i].end)
                pred[row, : b - w] = torch.from_numpy(g.pred[w:b].astype(np.int64))
                weight[row, : b - w] = torch.from_numpy(g.weight(w, b))
            pred, weight = pred.to(device), weight.to(device)
            spoke = pred >= 0  # elsewhere w = 0 and (R1) is the identity: skip the work
            logp[spoke] = mix_log_probs(logp[spoke], pred[spoke], weight[spoke])
        logp = logp.cpu()
        entropy = -(logp.exp() * logp).sum(-1).numpy()  # (G, L)
        pieces: dict[int, list[tuple[int, np.ndarray, np.ndarray]]] = {}
        for row, (i, (w, a, b)) in enumerate(group):
            span = spans[i]
            q = np.arange(a, min(b, span.end))  # positions whose next byte lies in the span
            sur = -logp[row, q - w, torch.from_numpy(tokens[row][q + 1 - w])].numpy()
            first = max(a - 1, span.start)  # bytes [first, b - 1) are complete now
            ent = entropy[row, first + 1 - w : b - w]
            if first < a:  # byte a - 1's surprisal came from the window before
                sur = np.concatenate([[carry.pop(i)], sur]).astype(np.float32)
            if b - 1 < span.end:  # byte b - 1's entropy comes with the next window
                carry[i] = float(sur[-1])
                sur = sur[:-1]
            pieces.setdefault(i, []).append((first, ent, sur))
        for i, parts in pieces.items():
            yield i, Scores(spans[i].record.id, parts[0][0],
                            np.concatenate([p[1] for p in parts]).astype(np.float32),
                            np.concatenate([p[2] for p in parts]).astype(np.float32))
            done += sum(len(p[1]) for p in parts)
        if progress is not None:
            progress(done, total)
        for i in list(known):  # a record's guesses are dropped once its span is done
            if i < group[-1][0]:
                del known[i]


@torch.no_grad()
def iter_scores(
    model: nn.Module,
    record: Record,
    start: int = 0,
    end: int | None = None,
    *,
    context: int | None = None,
    batch_size: int = 8,
    device: str | torch.device = "cpu",
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
    repeats: bool = True,
    guesses: CopyGuesses | None = None,
) -> Iterator[Scores]:
    """Yield :class:`Scores` for consecutive pieces of ``[start, end)``, in order.

    ``context`` defaults to :func:`default_context`. ``progress(done, total)`` counts
    bytes; setting ``cancel`` stops before the next batch with :class:`Cancelled`.
    ``repeats=False`` leaves out the model's repeat expert; ``guesses`` (from
    :func:`copy_guesses`, covering at least ``[0, end]``) saves recomputing it per call.
    """
    start, end = check_range(record.id, record.length, start, end)
    for _, piece in iter_span_scores(
            model, [Span(record, start, end)], context=context, batch_size=batch_size,
            device=device, progress=progress, cancel=cancel, repeats=repeats,
            guesses=None if guesses is None else {0: guesses}):
        yield piece


def _stream_tokens(record: Record, lo: int, end: int) -> np.ndarray:
    """Tokens at stream positions ``[lo, end]``: BOS at 0, byte q - 1 at q."""
    data = record.array(max(lo - 1, 0), end).astype(np.int64)
    return np.concatenate([[BOS], data]) if lo == 0 else data


def score(
    model: nn.Module,
    record: Record,
    start: int = 0,
    end: int | None = None,
    **kwargs,
) -> Scores:
    """All of ``[start, end)`` at once (see :func:`iter_scores` for the options)."""
    start, end = check_range(record.id, record.length, start, end)
    pieces = list(iter_scores(model, record, start, end, **kwargs))
    if not pieces:
        return Scores(record.id, start, np.zeros(0, np.float32), np.zeros(0, np.float32))
    return Scores(
        record.id,
        start,
        np.concatenate([p.entropy for p in pieces]),
        np.concatenate([p.surprisal for p in pieces]),
    )


# --------------------------------------------------------------------------------------------
# the HDF5 sidecar cache


class ScoreCache:
    """Whole-record scores in HDF5, one file per (file content hash, model hash, record).

    Layout: ``<cache>/scores/<file hash>/<model hash>[-ctx<C>]/<record key>.h5`` with float32
    datasets ``entropy`` and ``surprisal`` and the record id in the attributes. Scores made
    with a non-default ``context`` are kept apart (``-ctx<C>``): they are different numbers.
    So are scores without a model's repeat expert: their model hash leaves it out
    (``model_hash(folder, repeats=False)``).

    :meth:`for_file` is the one place that key is made, for the CLI, the window and the patch
    starts alike; the cache then scores what it misses with the same ``repeats`` and
    ``context`` (:meth:`scores`), so a key and its numbers cannot disagree.

    The cache is never trusted: an entry that cannot be read, holds another record, has the
    wrong length or dtype, or a value that is not finite, is removed and recomputed (a note on
    the ``engine.scoring`` logger, not an error). A cache that cannot be written (disk full,
    no permission) costs a warning, not the scores.
    """

    def __init__(
        self, file_hash: str, model_hash: str, root: Path | None = None,
        context: int | None = None, *, repeats: bool = True,
    ) -> None:
        key = model_hash if context is None else f"{model_hash}-ctx{context}"
        self.folder = (root or cache_dir("scores")) / file_hash / key
        self.context = context
        self.repeats = repeats  # what model_hash was taken with; scores() scores so
        remove_stale_temporaries(self.folder)  # left by scorers killed while saving

    @classmethod
    def for_file(
        cls, path: str | Path, model_dir: str | Path, *, repeats: bool = True,
        context: int | None = None, file_hash: str | None = None, root: Path | None = None,
    ) -> ScoreCache:
        """The cache of ``path``'s records scored by the model in ``model_dir``, keyed by the
        file's content hash (``file_hash``, when the caller has it already), the model hash
        with or without its repeat expert, and the context when it is not the default."""
        return cls(file_hash or content_hash(path), model_hash(model_dir, repeats=repeats),
                   root=root, context=context, repeats=repeats)

    def scores(
        self, record: Record, model: Callable[[], nn.Module], start: int = 0,
        end: int | None = None, *, whole: bool = True, **kwargs,
    ) -> Scores:
        """Scores for ``[start, end)``: sliced from the cached whole record, else computed
        with ``model()`` (called only then) and this cache's ``repeats`` and ``context``.

        On a miss the whole record is scored and stored; ``whole=False`` scores only
        ``[start, end)`` (with its left context) and stores it only if that is the record.
        ``kwargs`` go to :func:`iter_scores` (batch size, device, progress, cancel).
        """
        start, end = check_range(record.id, record.length, start, end)
        cached = self.load(record.id, record.length)
        if cached is not None:
            return cached.region(start, end)
        if not whole and (start, end) != (0, record.length):
            return score(model(), record, start, end, repeats=self.repeats,
                         context=self.context, **kwargs)
        cached = score(model(), record, repeats=self.repeats, context=self.context, **kwargs)
        self.save(cached)
        return cached.region(start, end)

    def _path(self, record_id: str) -> Path:
        import hashlib

        key = hashlib.blake2b(record_id.encode(), digest_size=8).hexdigest()
        return self.folder / f"{key}.h5"

    def load(self, record_id: str, length: int | None = None) -> Scores | None:
        """The cached whole record (of ``length`` bytes, when given), or None; a damaged
        entry is removed."""
        return self.load_region(record_id, length)

    def load_region(self, record_id: str, length: int | None = None, start: int = 0,
                    end: int | None = None) -> Scores | None:
        """Bytes ``[start, end)`` of the cached record (only those are read: a view of a
        chromosome reads the view), or None; a damaged entry is removed."""
        path = self._path(record_id)
        try:
            before = os.stat(path, follow_symlinks=False)
        except OSError:
            return None
        try:
            scores, problem = self._read(path, record_id, length, start, end)
        except (OSError, KeyError, ValueError) as error:  # h5py's ways of failing
            scores, problem = None, f"unreadable ({error})"
        if problem is not None:
            self._discard(path, before, problem)
        return scores

    @staticmethod
    def _read(path: Path, record_id: str, length: int | None, start: int = 0,
              end: int | None = None) -> tuple[Scores | None, str | None]:
        """(scores of ``[start, end)``, None) for a sound entry, else (None, what is wrong)."""
        if not path.is_file():
            return None, "not a file"
        with h5py.File(path, "r") as h5:
            if h5.attrs.get("record_id") != record_id:
                return None, "holds another record"
            arrays = []
            for name in ("entropy", "surprisal"):
                data = h5.get(name)
                if not isinstance(data, h5py.Dataset):
                    return None, f"no {name} dataset"
                if data.dtype != np.float32 or data.ndim != 1:
                    return None, f"{name} is {data.dtype} of shape {data.shape}"
                if length is not None and data.shape[0] != length:  # checked before reading
                    return None, f"{name} has {data.shape[0]:,} values for {length:,} bytes"
                arrays.append(data)
            if arrays[0].shape != arrays[1].shape:
                return None, "entropy and surprisal differ in length"
            entropy, surprisal = (data[start:end] for data in arrays)
        if not (np.isfinite(entropy).all() and np.isfinite(surprisal).all()):
            return None, "holds values that are not finite"
        return Scores(record_id, start, entropy, surprisal), None

    @staticmethod
    def _discard(path: Path, seen: os.stat_result, problem: str) -> None:
        """Remove the damaged entry, unless another scorer has replaced it meanwhile."""
        log.info("score cache entry %s %s: removed, scores recomputed", path, problem)
        try:
            now = os.stat(path, follow_symlinks=False)
            if (now.st_ino, now.st_dev, now.st_mtime_ns) != (seen.st_ino, seen.st_dev,
                                                              seen.st_mtime_ns):
                return
            if stat.S_ISDIR(now.st_mode):
                shutil.rmtree(path)
            else:
                path.unlink()
        except OSError as error:
            log.info("could not remove %s: %s", path, error)

    def has(self, record_id: str, length: int) -> bool:
        """Whether a sound-looking entry of ``length`` values is stored for ``record_id``
        (its header checked, its values not read: :meth:`load` checks those)."""
        path = self._path(record_id)
        if not path.is_file():
            return False
        try:
            with h5py.File(path, "r") as h5:
                return h5.attrs.get("record_id") == record_id and all(
                    isinstance(h5.get(name), h5py.Dataset) and h5[name].shape == (length,)
                    and h5[name].dtype == np.float32 for name in ("entropy", "surprisal"))
        except (OSError, KeyError, ValueError):
            return False

    def writer(self, record_id: str, length: int) -> _EntryWriter:
        """An entry written piece by piece (``with cache.writer(id, n) as w: w.write(piece)``);
        it appears when the block ends without an error, if every value was written. A
        cache that cannot be written costs a warning, as in :meth:`save`."""
        return _EntryWriter(self, record_id, length)

    def _make_folder(self) -> None:
        """Create the entry's folder; a file where one of its folders belongs is removed."""
        for folder in (self.folder.parent, self.folder):
            if (folder.is_symlink() or folder.exists()) and not folder.is_dir():
                log.info("score cache %s is not a folder: removed", folder)
                folder.unlink()
        self.folder.mkdir(parents=True, exist_ok=True)

    def save(self, scores: Scores) -> None:
        """Store a whole record's scores; not finite ones, which no load would accept, are
        not stored."""
        if not (np.isfinite(scores.entropy).all() and np.isfinite(scores.surprisal).all()):
            log.info("scores of %r are not all finite: not cached", scores.record_id)
            return
        path = self._path(scores.record_id)
        try:
            self._make_folder()
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)  # a folder where the entry belongs: os.replace would fail
            with atomic_path(path) as tmp, h5py.File(tmp, "w") as h5:
                h5.attrs["record_id"] = scores.record_id
                h5.create_dataset("entropy", data=np.asarray(scores.entropy, np.float32))
                h5.create_dataset("surprisal", data=np.asarray(scores.surprisal, np.float32))
        except OSError as error:
            log.warning("score cache not written (%s): %s", path,
                        error.strerror or error)


class _EntryWriter:
    """See :meth:`ScoreCache.writer`."""

    def __init__(self, cache: ScoreCache, record_id: str, length: int) -> None:
        self.cache, self.record_id, self.length = cache, record_id, length
        self.written = 0
        self._stack: ExitStack | None = None
        self._h5 = None

    def __enter__(self) -> _EntryWriter:
        path = self.cache._path(self.record_id)
        stack = ExitStack()
        try:
            self.cache._make_folder()
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)  # a folder where the entry belongs: os.replace would fail
            tmp = stack.enter_context(atomic_path(path))
            h5 = self._h5 = stack.enter_context(h5py.File(tmp, "w"))
            h5.attrs["record_id"] = self.record_id
            for name in ("entropy", "surprisal"):
                h5.create_dataset(name, shape=(self.length,), dtype=np.float32,
                                  chunks=(min(1 << 20, max(self.length, 1)),))
        except OSError as error:
            stack.close()
            log.warning("score cache not written (%s): %s", path, error.strerror or error)
            return self
        self._stack = stack
        return self

    def write(self, piece: Scores) -> None:
        if self._h5 is None:
            return
        if not (np.isfinite(piece.entropy).all() and np.isfinite(piece.surprisal).all()):
            log.info("scores of %r are not all finite: not cached", self.record_id)
            self._h5 = None
            return
        self._h5["entropy"][piece.start:piece.end] = piece.entropy
        self._h5["surprisal"][piece.start:piece.end] = piece.surprisal
        self.written += len(piece)

    def __exit__(self, kind, error, tb) -> None:
        if self._stack is None:
            return
        complete = kind is None and self._h5 is not None and self.written == self.length
        failure = (kind, error, tb) if kind is not None else (
            (RuntimeError, RuntimeError("incomplete"), None) if not complete else (None,) * 3)
        try:
            self._stack.__exit__(*failure)
        except RuntimeError:
            pass  # an incomplete entry: its temporary file is gone, nothing stored
        except OSError as error:
            log.warning("score cache not written: %s", error.strerror or error)
        self._stack = self._h5 = None


def score_region(
    sf_path: str | Path,
    record: Record,
    model: nn.Module,
    model_dir: str | Path,
    start: int = 0,
    end: int | None = None,
    *,
    use_cache: bool = True,
    repeats: bool = True,
    context: int | None = None,
    **kwargs,
) -> Scores:
    """Scores for a region of a record of the file at ``sf_path``, through the sidecar cache.

    A whole record is computed once and cached under (file content hash, model hash, record);
    a region is sliced from that cache when present, else computed on its own (with its left
    context) without scoring the rest of the record.
    """
    start, end = check_range(record.id, record.length, start, end)
    if end == start:  # bits per byte of nothing is no number; say so instead of printing 0
        what = (f"record {record.id!r} is empty (a header with no sequence)" if not record.length
                else f"region {start}-{end} of record {record.id!r} is empty")
        raise InputError(f"{what}: nothing to score", path=sf_path)
    if not use_cache:
        return score(model, record, start, end, repeats=repeats, context=context, **kwargs)
    cache = ScoreCache.for_file(sf_path, model_dir, repeats=repeats, context=context)
    return cache.scores(record, lambda: model, start, end, whole=False, **kwargs)
