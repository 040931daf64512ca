"""Per-base entropies for a record from a file: ``.npy``, HDF5 or bedGraph, checked before read.

:data:`ENTROPY_FORMATS` is the one table of entropy file formats (suffixes, a description, the
reader); :func:`load_entropies` picks the reader by suffix, and ``bytescope patch``,
``compare-annotations``, ``gui --entropies`` and the window all go through it. Adding a format
is one entry here.

A reader returns the values for bytes ``[start, end)`` of a record, ``H[t]`` being the
uncertainty about byte ``t + 1`` (nats). ``.npy`` and HDF5 hold one value per byte of the
region or of the whole record (then the region is cut out; a scored HDF5 file says where its
values start); only the region is read, after the declared size is checked against the record
and against the bytes the file holds. A bedGraph (``chrom start end value``, 0-based half-open)
may cover any part of the record: bases it gives no value are NaN, which
:func:`load_entropies` refuses unless ``allow_gaps`` (the window shows them as unknown).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.errors import FormatError, InputError

from .records import Record

# a version-2 score file (engine/io/score_file.py), else per record: entropies/<record id>,
# else this one dataset (version 1 score files)
H5_DATASET = "entropies"
# chrom (<= 255 characters in BED), start, end, value, or a track line: a longer line is
# another kind of file, and reading it whole could take any amount of memory.
MAX_LINE = 1 << 16
_FLOAT32_MAX = float(np.finfo(np.float32).max)

# (path, record, start, end) -> (end - start,) values
Reader = Callable[[Path, Record, int, int], np.ndarray]


@dataclass(frozen=True)
class EntropyFormat:
    """One entropy file format: the suffixes that name it, what it holds, and its reader.

    ``gaps``: the format may leave bases without a value (NaN in what ``read`` returns).
    """

    name: str
    suffixes: tuple[str, ...]
    description: str
    read: Reader
    gaps: bool = False


# ---------------------------------------------------------------------------------------------
# .npy and HDF5: one value per byte of the region or of the record


def _npy_values(path: Path) -> np.ndarray:
    """A ``.npy`` mapped, not read, after its header is checked against the file's size (a
    4 KB file may declare billions of values) and for pickled objects (never loaded)."""
    from numpy.lib import format as npy

    with open(path, "rb") as handle:
        try:
            version = npy.read_magic(handle)
            read_header = {(1, 0): npy.read_array_header_1_0,
                           (2, 0): npy.read_array_header_2_0}.get(version)
            header = read_header(handle) if read_header is not None else None
        except ValueError as error:
            raise FormatError(f"not a .npy array: {error}", path=path) from None
        data_start = handle.tell()
    if header is not None:  # version 3 headers go straight to np.load, which checks them too
        shape, _, dtype = header
        if dtype.hasobject:
            raise FormatError("this .npy holds Python objects (a pickle); bytescope never "
                              "unpickles, save plain numbers", path=path)
        declared = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        held = path.stat().st_size - data_start
        if declared > held:
            raise FormatError(f"the header declares {shape} {dtype} ({declared:,} bytes) but "
                              f"the file holds {max(held, 0):,} after it: truncated", path=path)
    return np.load(path, mmap_mode="r", allow_pickle=False)


def _h5_values(path: Path, record_id: str, stack: ExitStack) -> tuple[object, int | None]:
    """The entropies dataset of an HDF5 file, checked but not read, and the record offset of
    its first value when the file says (``bytescope score --out``: attributes ``record_id``
    and ``start``)."""
    import h5py

    from .score_file import RecordValues, is_score_file, record_index
    from .store import check_stored

    store = stack.enter_context(h5py.File(path, "r"))
    if is_score_file(store):  # version 2: every record's values in one ragged array
        row = record_index(store).get(record_id)
        if row is None:
            raise InputError(f"no record {record_id!r} in this score file", path=path)
        check_stored(store["entropy"], path)
        values = RecordValues(store, row)
        return values, values.start
    per_record = f"{H5_DATASET}/{record_id}"
    if per_record in store and isinstance(store[per_record], h5py.Dataset):
        dataset, first = store[per_record], None
    elif H5_DATASET in store and isinstance(store[H5_DATASET], h5py.Dataset):
        dataset = store[H5_DATASET]
        written_for = store.attrs.get("record_id")
        if isinstance(written_for, bytes):
            written_for = written_for.decode("utf-8", "replace")
        if written_for is not None and written_for != record_id:
            raise InputError(f"these entropies were scored for record {written_for!r}, not "
                             f"{record_id!r}", path=path)
        first = store.attrs.get("start")
        if first is not None:
            if isinstance(first, (bool, np.bool_)) or not isinstance(first, (int, np.integer)) \
                    or first < 0:
                raise FormatError(f"attribute 'start' is {first!r}, not a record offset",
                                  path=path)
            first = int(first)
    else:
        raise FormatError(
            f"no dataset {per_record!r} or {H5_DATASET!r} in this HDF5 file", path=path)
    check_stored(dataset, path)
    return dataset, first


def _wanted_slice(shape: tuple, dtype: np.dtype, first: int | None, record: Record,
                  start: int, end: int, path: Path) -> tuple[int, int]:
    """Which values of a file of ``shape`` hold region ``[start, end)``: checked against the
    record before anything is read."""
    if len(shape) != 1 or not (
        np.issubdtype(dtype, np.floating) or np.issubdtype(dtype, np.integer)
    ):
        raise FormatError(f"entropies must be a 1-D array of numbers, not {dtype} {shape}",
                          path=path)
    n = shape[0]
    if first is not None:  # a scored region: it must lie in the record and contain the one asked
        if first + n > record.length:
            raise InputError(f"these entropies cover {record.id}:{first}-{first + n}, past the "
                             f"end of the record ({record.length} bytes)", path=path)
        if not (first <= start and end <= first + n):
            raise InputError(f"these entropies cover {record.id}:{first}-{first + n}, which "
                             f"does not contain {start}-{end}", path=path)
        return start - first, end - first
    if n == end - start:
        return 0, n
    if n == record.length:
        return start, end
    raise InputError(
        f"{n} entropies, but region {start}-{end} of record {record.id!r} has "
        f"{end - start} bytes (the record has {record.length}); give one per byte",
        path=path,
    )


def _read_region(path: Path, record: Record, start: int, end: int,
                 open_values: Callable[[ExitStack], tuple[object, int | None]]) -> np.ndarray:
    """The region's values, all finite, from what ``open_values`` maps or opens (unread)."""
    try:
        with ExitStack() as stack:
            values, first = open_values(stack)
            lo, hi = _wanted_slice(values.shape, values.dtype, first, record, start, end, path)
            region = np.ascontiguousarray(values[lo:hi])
    # what numpy and h5py raise for a damaged file (unreadable chunks, broken links, bad types)
    except (OSError, KeyError, TypeError, ValueError) as error:
        raise FormatError(f"cannot read entropies: {error}", path=path) from None
    if not np.isfinite(region).all():
        where = int(np.flatnonzero(~np.isfinite(region))[0])
        raise InputError(f"entropy for byte {start + where} is not a finite number", path=path)
    return region


def _read_npy(path: Path, record: Record, start: int, end: int) -> np.ndarray:
    return _read_region(path, record, start, end, lambda stack: (_npy_values(path), None))


def _read_h5(path: Path, record: Record, start: int, end: int) -> np.ndarray:
    return _read_region(path, record, start, end,
                        lambda stack: _h5_values(path, record.id, stack))


# ---------------------------------------------------------------------------------------------
# bedGraph: runs of one value, any part of the record


def read_bedgraph(path: str | Path, record_id: str, length: int, start: int = 0,
                  end: int | None = None) -> np.ndarray:
    """A float32 array of bytes ``[start, end)`` (default: the whole record of ``length``)
    with the file's values for ``record_id``, NaN where it gives none.

    Each line is written straight into the array, so memory is the region's length whatever
    the file holds. Every line is checked (4 columns, integer start and end inside the record,
    a finite float32 value, at most :data:`MAX_LINE` characters); lines for the record must
    not overlap (bedGraph's rule) where they meet the region.
    """
    end = length if end is None else end
    out = np.full(end - start, np.nan, dtype=np.float32)
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
            found = True
            lo, hi = max(s, start) - start, min(e, end) - start
            if lo >= hi:
                continue
            if not np.isnan(out[lo:hi]).all():  # NaN marks bases no earlier line gave
                raise FormatError(f"{s}-{e} overlaps an earlier line for {record_id!r}",
                                  path=path, line=number)
            out[lo:hi] = v
    if not found:
        raise InputError(f"no bedGraph lines for record {record_id!r}", path=path)
    return out


def _read_bedgraph(path: Path, record: Record, start: int, end: int) -> np.ndarray:
    return read_bedgraph(path, record.id, record.length, start, end)


# ---------------------------------------------------------------------------------------------
# The table, and the one entry point

ENTROPY_FORMATS: dict[str, EntropyFormat] = {
    form.name: form
    for form in (
        EntropyFormat("npy", (".npy",), "a 1-D array, one value per byte of the region or "
                      "of the record", _read_npy),
        EntropyFormat("hdf5", (".h5", ".hdf5"), f"dataset {H5_DATASET}/<record id> or "
                      f"{H5_DATASET}, as bytescope score --out writes", _read_h5),
        EntropyFormat("bedgraph", (".bedgraph", ".bdg", ".bg"), "chrom start end value lines, "
                      "0-based half-open, covering any part of the record", _read_bedgraph,
                      gaps=True),
    )
}
# every suffix in the table, for file dialogs (the helpers below read the table itself)
ENTROPY_SUFFIXES = tuple(s for form in ENTROPY_FORMATS.values() for s in form.suffixes)


def _or_list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} or {items[-1]}"


def suffixes_text() -> str:
    """``.npy, .h5, ... or .bg``: every suffix in the table, for messages."""
    return _or_list([s for form in ENTROPY_FORMATS.values() for s in form.suffixes])


def formats_help() -> str:
    """One line per format from the table, for ``--help``: suffixes (what the file holds)."""
    return "; ".join(f"{'/'.join(form.suffixes)} ({form.description})"
                     for form in ENTROPY_FORMATS.values())


def entropy_metavar(stem: str = "FILE") -> str:
    """``FILE.npy|FILE.h5|FILE.bedgraph``: each format's first suffix, for an argparse metavar."""
    return "|".join(f"{stem}{form.suffixes[0]}" for form in ENTROPY_FORMATS.values())


def entropy_format(path: str | Path) -> EntropyFormat:
    """The format a file's suffix names, or an :class:`InputError` listing the suffixes."""
    suffix = Path(path).suffix.lower()
    for form in ENTROPY_FORMATS.values():
        if suffix in form.suffixes:
            return form
    raise InputError(f"entropies must be a {suffixes_text()} file", path=path)


def load_entropies(path: str | Path, record: Record, start: int, end: int, *,
                   allow_gaps: bool = False) -> np.ndarray:
    """The entropies of bytes ``[start, end)`` of ``record`` from a file of any format in
    :data:`ENTROPY_FORMATS`, picked by suffix.

    Without ``allow_gaps`` every byte of the region must have a value; with it, bytes a
    bedGraph gives none are NaN.
    """
    path = Path(path)
    if not path.exists():
        raise InputError("no such file", path=path)
    if path.is_dir():
        raise InputError("is a folder, not a file", path=path)
    form = entropy_format(path)
    values = form.read(path, record, start, end)
    if form.gaps and not allow_gaps:
        missing = np.isnan(values)
        if missing.any():
            where = int(np.argmax(missing))
            raise InputError(
                f"no entropy for byte {start + where} of record {record.id!r}: "
                f"{int(missing.sum()):,} of the {end - start:,} bytes in {start}-{end} have "
                "no value in this file; give one per byte", path=path)
    return values


__all__ = [
    "ENTROPY_FORMATS",
    "ENTROPY_SUFFIXES",
    "H5_DATASET",
    "MAX_LINE",
    "EntropyFormat",
    "entropy_format",
    "entropy_metavar",
    "formats_help",
    "load_entropies",
    "read_bedgraph",
    "suffixes_text",
]
