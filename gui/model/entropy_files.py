"""Entropies from a file, for records scored elsewhere (or when no model is at hand).

``.npy`` and ``.h5`` hold one value per base of the whole record (what ``bytescope score --out``
writes; read by :func:`engine.cli.patch.load_entropies`); a bedGraph (``chrom start end value``,
0-based half-open) may cover any part of it, the rest stays unknown.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from engine.errors import FormatError, InputError
from engine.io.records import Record

from .pyramid import ScoreBuffer

BEDGRAPH_SUFFIXES = (".bedgraph", ".bdg", ".bg")
# chrom (<= 255 characters in BED), start, end, value, or a track line: a longer line is
# another kind of file, and reading it whole could take any amount of memory.
MAX_LINE = 1 << 16
_FLOAT32_MAX = float(np.finfo(np.float32).max)


def read_bedgraph(path: str | Path, record_id: str, length: int) -> np.ndarray:
    """A float32 array of ``length`` with the file's values for ``record_id`` (NaN elsewhere).

    Each line is written straight into the array, so memory is the record's length whatever
    the file holds; lines for one record must not overlap (bedGraph's rule), values must be
    finite, and a line longer than :data:`MAX_LINE` is not bedGraph.
    """
    out = np.full(length, np.nan, dtype=np.float32)
    found = False
    try:
        handle = open(path, encoding="utf-8", errors="replace")
    except OSError as error:
        raise InputError(f"cannot read: {error.strerror}", path=path) from None
    with handle:
        for number, line in enumerate(iter(lambda: handle.readline(MAX_LINE + 1), ""), 1):
            if len(line) > MAX_LINE:
                raise FormatError(f"line longer than {MAX_LINE:,} characters: not bedGraph",
                                  path=path, line=number)
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
            if not math.isfinite(v) or abs(v) > _FLOAT32_MAX:  # values are kept as float32
                raise FormatError(f"value {cols[3]!r} is not a finite number",
                                  path=path, line=number)
            if not 0 <= s < e <= length:
                raise InputError(f"{s}-{e} is outside record {record_id!r} ({length:,} bases)",
                                 path=path, line=number)
            if not np.isnan(out[s:e]).all():  # NaN marks bases no earlier line gave
                raise FormatError(f"{s}-{e} overlaps an earlier line for {record_id!r}",
                                  path=path, line=number)
            out[s:e] = v
            found = True
    if not found:
        raise InputError(f"no bedGraph lines for record {record_id!r}", path=path)
    return out


def read_entropy_file(path: str | Path, record: Record) -> ScoreBuffer:
    """A :class:`ScoreBuffer` holding the file's entropies for ``record`` (no surprisal)."""
    from engine.cli.patch import load_entropies

    path = Path(path)
    if not path.exists():
        raise InputError("no such file", path=path)
    if path.is_dir():
        raise InputError("is a folder, not a file", path=path)
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
