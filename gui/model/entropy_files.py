"""Entropies from a file, for records scored elsewhere (or when no model is at hand).

The formats, their checks and their readers are :mod:`engine.io.entropy_files` (the CLI's too);
this turns what it reads for the whole record into a :class:`ScoreBuffer`. A bedGraph may
cover any part of the record: the rest stays unknown.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.io.entropy_files import ENTROPY_FORMATS, ENTROPY_SUFFIXES, load_entropies
from engine.io.records import Record

from .pyramid import ScoreBuffer

__all__ = ["BEDGRAPH_SUFFIXES", "ENTROPY_SUFFIXES", "read_entropy_file"]

BEDGRAPH_SUFFIXES = ENTROPY_FORMATS["bedgraph"].suffixes  # kept for gui/window.py's import


def read_entropy_file(path: str | Path, record: Record, start: int = 0, end: int | None = None,
                      *, buffer: ScoreBuffer | None = None) -> ScoreBuffer:
    """A :class:`ScoreBuffer` holding the file's entropies for ``[start, end)`` of ``record``
    (no surprisal), written into ``buffer`` when given."""
    end = record.length if end is None else end
    values = load_entropies(path, record, start, end, allow_gaps=True)
    if buffer is None:
        buffer = ScoreBuffer(record.id, record.length, signals=("entropy",), source=str(path))
    known = np.flatnonzero(~np.isnan(values))
    if len(known) == len(values):
        buffer.write(start, entropy=np.asarray(values, dtype=np.float32))
        return buffer
    if not len(known):
        return buffer
    # write each contiguous known run, so the buffer knows which bases have values
    breaks = np.flatnonzero(np.diff(known) != 1)
    run_starts = np.concatenate(([known[0]], known[breaks + 1]))
    run_ends = np.concatenate((known[breaks] + 1, [known[-1] + 1]))
    for s, e in zip(run_starts.tolist(), run_ends.tolist(), strict=True):
        buffer.write(start + s, entropy=values[s:e])
    return buffer
