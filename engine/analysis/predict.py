"""A task head's predictions along a record (issue 18): per-base class probabilities, called
segments, and one prediction per sequence.

Per base, a record is tiled with windows of the model's length that overlap by ``margin``
bases on each side; each base's probabilities come from the window where it lies at least
``margin`` bases from both edges (the record's own ends excepted), so every base sees context
on both sides, as in training. Windows go through the model in batches; no loop over bases.
Called segments are the runs of the most probable class other than the background (class 0),
each with its mean probability.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from engine.io.records import Record
from engine.models.heads import PAD, TaskModel

MARGIN = 64


def tiles(n: int, window: int, margin: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Window starts and, per window, the span ``[keep_a, keep_b)`` (record coordinates) it
    answers for: consecutive spans tile ``[0, n)`` exactly."""
    margin = min(margin, (window - 1) // 2)
    step = window - 2 * margin
    keep_a = np.arange(0, max(n, 1), step)
    keep_b = np.minimum(keep_a + step, n)
    starts = np.clip(keep_a - margin, 0, max(0, n - window))
    return starts, keep_a, keep_b


def _window_probabilities(model: TaskModel, data: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """The model's class probabilities for one batch of windows of ``data`` at ``starts``:
    (len(starts), window, C) for a per-base head, (len(starts), C) for a sequence head. A
    window running past the end is padded, its length given to the model."""
    window = model.max_len
    tokens = np.full((len(starts), window), PAD, np.int64)
    lengths = np.empty(len(starts), np.int64)
    for j, s in enumerate(starts.tolist()):
        piece = data[s : s + window]
        tokens[j, : len(piece)] = piece
        lengths[j] = max(1, len(piece))
    logits = model(torch.from_numpy(tokens), torch.from_numpy(lengths))
    return torch.softmax(logits.float(), -1).numpy()


@torch.no_grad()
def predict_bases(model: TaskModel, record: Record, start: int = 0, end: int | None = None,
                  *, margin: int = MARGIN, batch_size: int = 8,
                  check: Callable[[], None] | None = None) -> np.ndarray:
    """(end - start, C) float32 probabilities of each class at each base of the stretch."""
    end = record.length if end is None else end
    data = np.frombuffer(record.fetch(start, end), np.uint8)
    n, window = len(data), model.max_len
    starts, keep_a, keep_b = tiles(n, window, margin)
    classes = len(model.config.classes)
    out = np.empty((n, classes), np.float32)
    model.eval()
    for i in range(0, len(starts), batch_size):
        if check is not None:
            check()
        rows = starts[i : i + batch_size]
        probs = _window_probabilities(model, data, rows)
        for j, s in enumerate(rows.tolist()):
            a, b = keep_a[i + j], keep_b[i + j]
            out[a:b] = probs[j, a - s : b - s]
    return out


@dataclass(frozen=True)
class Segment:
    start: int  # record coordinates, 0-based half-open
    end: int
    label: int
    score: float  # mean probability of the label over the segment


def call_segments(probabilities: np.ndarray, offset: int = 0) -> list[Segment]:
    """Runs of the argmax class where it is not the background (class 0)."""
    calls = probabilities.argmax(axis=1)
    if not len(calls):
        return []
    change = np.flatnonzero(np.diff(calls)) + 1
    starts = np.r_[0, change]
    ends = np.r_[change, len(calls)]
    picked = probabilities[np.arange(len(calls)), calls]
    sums = np.add.reduceat(picked.astype(np.float64), starts)
    return [Segment(offset + int(a), offset + int(b), int(calls[a]), float(s / (b - a)))
            for a, b, s in zip(starts, ends, sums, strict=True) if calls[a] != 0]


@torch.no_grad()
def predict_sequence(model: TaskModel, record: Record, *, batch_size: int = 8) -> np.ndarray:
    """(C,) probabilities for a whole record: the mean of its windows' probabilities (one
    window for a record no longer than the model's length)."""
    data = np.frombuffer(record.fetch(0, record.length), np.uint8)
    window = model.max_len
    starts = np.arange(0, max(len(data) - window, 0) + 1, window) if len(data) > window \
        else np.array([0])
    total = np.zeros(len(model.config.classes), np.float64)
    for i in range(0, len(starts), batch_size):
        total += _window_probabilities(model, data, starts[i : i + batch_size]).sum(0)
    return (total / len(starts)).astype(np.float32)


__all__ = ["MARGIN", "Segment", "call_segments", "predict_bases", "predict_sequence", "tiles"]
