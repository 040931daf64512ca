"""Entropies from a file, for records scored elsewhere (or when no model is at hand).

``.npy`` and ``.h5`` hold one value per base of the whole record (what ``bytescope score --out``
writes; read by :func:`engine.cli.patch.load_entropies`); a bedGraph (``chrom start end value``,
0-based half-open) may cover any part of it, the rest stays unknown.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.errors import FormatError, InputError
from engine.io.records import Record

from .pyramid import ScoreBuffer

BEDGRAPH_SUFFIXES = (".bedgraph", ".bdg", ".bg")


def read_bedgraph(path: str | Path, record_id: str, length: int) -> np.ndarray:
    """A float32 array of ``length`` with the file's values for ``record_id`` (NaN elsewhere)."""
    starts: list[int] = []
    ends: list[int] = []
    values: list[float] = []
    with open(path, encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip() or line.startswith(("#", "track", "browser")):
                continue
            cols = line.split()
            if len(cols) < 4:
                raise FormatError("bedGraph lines have 4 columns: chrom start end value",
                                  path=path, line=number)
            if cols[0] != record_id:
                continue
            try:
                s, e, v = int(cols[1]), int(cols[2]), float(cols[3])
            except ValueError:
                raise FormatError("start and end must be integers and value a number",
                                  path=path, line=number) from None
            if not 0 <= s < e <= length:
                raise InputError(f"{s}-{e} is outside record {record_id!r} ({length:,} bases)",
                                 path=path, line=number)
            starts.append(s)
            ends.append(e)
            values.append(v)
    if not starts:
        raise InputError(f"no bedGraph lines for record {record_id!r}", path=path)
    out = np.full(length, np.nan, dtype=np.float32)
    s_arr = np.array(starts, dtype=np.int64)
    run = np.array(ends, dtype=np.int64) - s_arr
    # positions of every base of every run, without a loop over runs
    offsets = np.arange(int(run.sum())) - np.repeat(np.cumsum(run) - run, run)
    out[np.repeat(s_arr, run) + offsets] = np.repeat(np.array(values, np.float32), run)
    return out


def read_entropy_file(path: str | Path, record: Record) -> ScoreBuffer:
    """A :class:`ScoreBuffer` holding the file's entropies for ``record`` (no surprisal)."""
    from engine.cli.patch import load_entropies

    path = Path(path)
    if not path.exists():
        raise InputError("no such file", path=path)
    buffer = ScoreBuffer(record.id, record.length, signals=("entropy",), source=str(path))
    if path.suffix.lower() in BEDGRAPH_SUFFIXES:
        values = read_bedgraph(path, record.id, record.length)
        known = np.flatnonzero(~np.isnan(values))
        # write each contiguous known run, so the buffer knows which bases have values
        breaks = np.flatnonzero(np.diff(known) != 1)
        run_starts = np.concatenate(([known[0]], known[breaks + 1]))
        run_ends = np.concatenate((known[breaks] + 1, [known[-1] + 1]))
        for s, e in zip(run_starts.tolist(), run_ends.tolist(), strict=True):
            buffer.write(s, entropy=values[s:e])
        return buffer
    values = load_entropies(path, record, 0, record.length)
    if len(values) != record.length:
        raise InputError(f"{len(values):,} entropies for record {record.id!r} of "
                         f"{record.length:,} bases: give one per base of the whole record",
                         path=path)
    buffer.write(0, entropy=np.asarray(values, dtype=np.float32))
    return buffer
