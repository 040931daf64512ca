"""The score file (``bytescope score --out X.h5``): entropy and surprisal of many records.

Layout (``format = "bytescope-scores"``, ``version = 2`` in the root attributes). Values of
every record are concatenated, CF's *contiguous ragged array*: record i holds values
``[offset[i], offset[i + 1])``, so 100,000 short records cost three arrays, not 300,000
datasets::

    /entropy          float32 (values,)    H[t], nats: about byte t + 1 after bytes 0..t
    /surprisal        float32 (values,)    -ln p(byte t | bytes before), nats
    /position         int64   (values,)    t, the 0-based byte of its record (dimension scale
                                           of both, so xarray opens them with positions)
    /records/id       str     (records,)   dimension scale ``record``
    /records/start    int64   (records,)   first byte scored
    /records/end      int64   (records,)   one past the last
    /records/length   int64   (records,)   the record's length in the file
    /records/count    int64   (records,)   end - start (``sample_dimension = "position"``)
    /records/offset   int64   (records + 1,)

The cache (engine/scoring.py ``ScoreCache``) names its datasets the same: ``entropy`` and
``surprisal``. Version 1 files (one record, ``/entropies`` and ``/surprisal`` with
``record_id`` and ``start`` attributes) are still read by engine/io/entropy_files.py.

:class:`ScoreFileWriter` creates every dataset at its final size up front and writes pieces
as they are scored, to a temporary name renamed into place on success: memory is a piece,
whatever the records' lengths.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

import h5py
import numpy as np

from engine.atomic import atomic_path

SCORES_FORMAT = "bytescope-scores"
SCORES_VERSION = 2
QUANTITIES = ("entropy", "surprisal")  # one name per quantity, here and in the cache
ALIGNMENT = ("entropy[t]: about byte t+1 after bytes 0..t; surprisal[t]: -ln p(byte t | "
             "bytes 0..t-1); both in nats")
_STR = h5py.string_dtype("utf-8")
_CHUNK = 1 << 20


class ScoreFileWriter:
    """Write a version-2 score file for ``spans`` (record id, start, end, record length).

    Use as a context manager: the file appears at ``path`` only when the block ends without
    an error. :meth:`write` puts a piece (``Scores``) of span ``i`` in place; pieces may come in
    any order, each written once.
    """

    def __init__(self, path: str | Path, spans: Sequence[tuple[str, int, int, int]], *,
                 model: str, repeats: bool, context: int | None = None) -> None:
        self.path = Path(path)
        self.spans = list(spans)
        self.attrs = {"format": SCORES_FORMAT, "version": SCORES_VERSION, "model": model,
                      "repeats": repeats, "context": -1 if context is None else context,
                      "units": "nats", "alignment": ALIGNMENT}
        counts = np.array([end - start for _, start, end, _ in self.spans], dtype=np.int64)
        self.offset = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self._stack = ExitStack()
        self._h5: h5py.File | None = None

    def __enter__(self) -> ScoreFileWriter:
        tmp = self._stack.enter_context(atomic_path(self.path))
        h5 = self._h5 = self._stack.enter_context(h5py.File(tmp, "w"))
        h5.attrs.update(self.attrs)
        total = int(self.offset[-1])
        chunks = (min(_CHUNK, total),) if total else None
        position = h5.create_dataset("position", shape=(total,), dtype=np.int64,
                                     chunks=chunks, compression="gzip" if total else None,
                                     compression_opts=1 if total else None,
                                     shuffle=bool(total))
        position.make_scale("position")
        for name in QUANTITIES:
            data = h5.create_dataset(name, shape=(total,), dtype=np.float32, chunks=chunks)
            data.attrs["units"] = "nats"
            data.dims[0].attach_scale(position)
            data.dims[0].label = "position"
        records = h5.create_group("records")
        ids = records.create_dataset("id", data=[s[0] for s in self.spans], dtype=_STR)
        ids.make_scale("record")
        for column, k in (("start", 1), ("end", 2), ("length", 3)):
            data = records.create_dataset(
                column, data=np.array([s[k] for s in self.spans], dtype=np.int64))
            data.dims[0].attach_scale(ids)
            data.dims[0].label = "record"
        count = records.create_dataset("count", data=np.diff(self.offset))
        count.attrs["sample_dimension"] = "position"
        count.dims[0].attach_scale(ids)
        count.dims[0].label = "record"
        records.create_dataset("offset", data=self.offset)
        return self

    def write(self, i: int, piece) -> None:
        """Write ``piece`` (entropy and surprisal of bytes ``[piece.start, piece.end)``) of
        span ``i``."""
        _, start, end, _ = self.spans[i]
        if not (start <= piece.start and piece.end <= end):
            raise ValueError(f"piece {piece.start}-{piece.end} outside span {start}-{end}")
        a = int(self.offset[i]) + piece.start - start
        b = a + len(piece)
        h5 = self._h5
        h5["entropy"][a:b] = piece.entropy
        h5["surprisal"][a:b] = piece.surprisal
        h5["position"][a:b] = np.arange(piece.start, piece.end, dtype=np.int64)

    def __exit__(self, *exc) -> bool | None:
        return self._stack.__exit__(*exc)


def is_score_file(h5: h5py.File) -> bool:
    """Whether an open HDF5 file is a version-2 score file."""
    return h5.attrs.get("format") == SCORES_FORMAT and "records" in h5


def record_index(h5: h5py.File) -> dict[str, int]:
    """Record id -> its row in ``/records``."""
    ids = h5["records/id"].asstr()[()]
    return {str(name): i for i, name in enumerate(ids)}


class RecordValues:
    """One record's values of a score file's quantity, sliced without reading the rest: what
    the entropy readers need (``shape``, ``dtype``, slicing by record offset - ``start``)."""

    def __init__(self, h5: h5py.File, row: int, name: str = "entropy") -> None:
        self.dataset = h5[name]
        self.base = int(h5["records/offset"][row])
        self.start = int(h5["records/start"][row])
        self.shape = (int(h5["records/count"][row]),)
        self.dtype = self.dataset.dtype

    def __getitem__(self, index: slice) -> np.ndarray:
        lo, hi, _ = index.indices(self.shape[0])
        return self.dataset[self.base + lo:self.base + max(lo, hi)]


def read_scores(path: str | Path) -> list[tuple[str, int, np.ndarray, np.ndarray]]:
    """Every record of a score file as (id, start, entropy, surprisal); for tests and small
    files (reads everything)."""
    with h5py.File(path, "r") as h5:
        ids = h5["records/id"].asstr()[()]
        offset, starts = h5["records/offset"][()], h5["records/start"][()]
        entropy, surprisal = h5["entropy"][()], h5["surprisal"][()]
    return [(str(ids[i]), int(starts[i]), entropy[offset[i]:offset[i + 1]],
             surprisal[offset[i]:offset[i + 1]]) for i in range(len(ids))]


class BigWigWriter:
    """Entropy of every scored record as a bigWig (what IGV and UCSC load): the header lists
    every record with its length, pieces are added as they come (pyBigWig wants them in
    header order and rising positions, which is the order ``score`` emits them), and the file
    appears at ``path`` on success. Needs the ``bigwig`` extra (pyBigWig)."""

    def __init__(self, path: str | Path, spans: Sequence[tuple[str, int, int, int]]) -> None:
        from .attribution_files import _pybigwig

        self.path = Path(path)
        self.spans = list(spans)
        self._module = _pybigwig(path)
        self._stack = ExitStack()
        self._bw = None

    def __enter__(self) -> BigWigWriter:
        tmp = self._stack.enter_context(atomic_path(self.path))
        bw = self._bw = self._module.open(str(tmp), "w")
        if bw is None:
            from engine.errors import InputError

            self._stack.close()
            raise InputError("pyBigWig could not create the file", path=self.path)
        self._stack.callback(bw.close)  # runs before the rename
        sizes = dict.fromkeys(s[0] for s in self.spans)
        for rid, _, _, length in self.spans:
            sizes[rid] = length
        bw.addHeader([(rid, int(n)) for rid, n in sizes.items() if n > 0])
        return self

    def write(self, i: int, piece) -> None:
        if len(piece):
            self._bw.addEntries(piece.record_id, int(piece.start),
                                values=np.asarray(piece.entropy, np.float64), span=1, step=1)

    def __exit__(self, *exc) -> bool | None:
        return self._stack.__exit__(*exc)
