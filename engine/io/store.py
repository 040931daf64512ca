"""An HDF5 sequence store: many records with their features in one file, for fast reopening.

Layout (``format = "bytescope-store"``, ``version = 1`` in the root attributes)::

    /sequence            uint8 (total,)       every record's bytes, concatenated
    /quality             uint8 (total,)       FASTQ qualities, same offsets (only if any)
    /records/offsets     int64 (n + 1,)       record i is sequence[offsets[i]:offsets[i+1]]
    /records/id          str (n,)
    /records/description str (n,)
    /records/alphabet    str (n,)
    /features/record     int32 (m,)           index into /records, or -1 for unattached
    /features/record_id  str (m,)
    /features/start, end int64 (m,)           0-based half-open
    /features/strand     int8 (m,)
    /features/type, name str (m,)
    /features/attributes str (m,)             JSON object per feature
    /features/parts      str (m,)             "start-end,..." of a feature in pieces, or ""
                                              (optional: stores written before it have none)

Later caches (entropies, patches) add their own groups beside these.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import h5py
import numpy as np

from engine.atomic import atomic_path
from engine.errors import FormatError

from .alphabet import ALPHABETS
from .records import Feature, Record, SequenceFile

STORE_FORMAT = "bytescope-store"
STORE_VERSION = 1
_STR = h5py.string_dtype("utf-8")
_SLAB = 16 << 20


def write_store(
    path: str | Path,
    records: Iterable[Record],
    *,
    features: Iterable[Feature] = (),
    source: str = "",
) -> Path:
    """Write records (their bytes, qualities and features) to an HDF5 store atomically."""
    records = list(records)
    index = {r.id: i for i, r in enumerate(records)}
    offsets = np.zeros(len(records) + 1, dtype=np.int64)
    np.cumsum([r.length for r in records], out=offsets[1:])
    all_features = [f for r in records for f in r.features] + list(features)
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as h5:
        h5.attrs["format"] = STORE_FORMAT
        h5.attrs["version"] = STORE_VERSION
        h5.attrs["source"] = source
        seq = h5.create_dataset("sequence", shape=(int(offsets[-1]),), dtype=np.uint8)
        with_quality = any(r.quality is not None for r in records)
        qual = (
            h5.create_dataset("quality", shape=(int(offsets[-1]),), dtype=np.uint8)
            if with_quality
            else None
        )
        # Write in slabs of ~16 MB: one h5py call per record is slow for a million reads.
        pending: list[bytes] = []
        pending_q: list[bytes] = []
        slab_start = 0
        for i, r in enumerate(records):
            pending.append(r.fetch())
            if qual is not None:
                pending_q.append(r.quality if r.quality is not None else b"!" * r.length)
            if offsets[i + 1] - slab_start >= _SLAB or i == len(records) - 1:
                end = int(offsets[i + 1])
                if end > slab_start:
                    seq[slab_start:end] = np.frombuffer(b"".join(pending), dtype=np.uint8)
                    if qual is not None:
                        qual[slab_start:end] = np.frombuffer(b"".join(pending_q), np.uint8)
                pending, pending_q, slab_start = [], [], end
        g = h5.create_group("records")
        g["offsets"] = offsets
        g.create_dataset("id", data=[r.id for r in records], dtype=_STR)
        g.create_dataset("description", data=[r.description for r in records], dtype=_STR)
        g.create_dataset("alphabet", data=[r.alphabet for r in records], dtype=_STR)
        f = h5.create_group("features")
        f["record"] = np.array([index.get(x.record_id, -1) for x in all_features], np.int32)
        f.create_dataset("record_id", data=[x.record_id for x in all_features], dtype=_STR)
        f["start"] = np.array([x.start for x in all_features], dtype=np.int64)
        f["end"] = np.array([x.end for x in all_features], dtype=np.int64)
        f["strand"] = np.array([x.strand for x in all_features], dtype=np.int8)
        f.create_dataset("type", data=[x.type for x in all_features], dtype=_STR)
        f.create_dataset("name", data=[x.name for x in all_features], dtype=_STR)
        attrs = [json.dumps(dict(x.attributes), separators=(",", ":")) for x in all_features]
        f.create_dataset("attributes", data=attrs, dtype=_STR)
        parts = [",".join(f"{a}-{b}" for a, b in x.parts) for x in all_features]
        f.create_dataset("parts", data=parts, dtype=_STR)
    return Path(path)


class StoreSource:
    """Reads a record's bytes as a slice of the store's ``/sequence`` dataset."""

    __slots__ = ("dataset", "offset", "path")

    def __init__(self, dataset: h5py.Dataset, offset: int, path: str = "") -> None:
        self.dataset = dataset
        self.offset = offset
        self.path = path

    def read(self, start: int, end: int) -> bytes:
        try:
            return self.dataset[self.offset + start : self.offset + end].tobytes()
        except OSError as error:  # a chunk that fails its checksum or will not decompress
            raise FormatError(f"/sequence: cannot read bytes {self.offset + start}-"
                              f"{self.offset + end}: {error}", path=self.path) from None


# The most deflate can expand its input (258-byte matches in 2-bit codes, plus block headers):
# a filtered dataset claiming more decoded bytes than this times its stored bytes is forged.
DEFLATE_RATIO = 1032
# What h5py raises for a damaged file: unreadable objects or chunks (OSError), broken links
# (KeyError), types it cannot map (TypeError), undecodable text or odd shapes (ValueError).
_H5_FAULTS = (OSError, KeyError, TypeError, ValueError, RuntimeError)


def check_stored(dataset: h5py.Dataset, path: str | Path) -> None:
    """Refuse a dataset whose declared size its stored bytes cannot hold, before reading it.

    Unfiltered data must be fully allocated and lie inside the file (a declared but never
    written dataset reads as zeros, a truncated file as garbage); filtered (compressed) data
    must not claim more than :data:`DEFLATE_RATIO` times its stored bytes; data kept in other
    files (external or virtual datasets) is refused: a store holds its own.
    """
    name = dataset.name
    plist = dataset.id.get_create_plist()
    if plist.get_layout() == h5py.h5d.VIRTUAL or plist.get_external_count():
        raise FormatError(f"{name} keeps its data in another file", path=path)
    declared = dataset.size * dataset.id.get_type().get_size()
    stored = dataset.id.get_storage_size()
    if declared == 0:
        return
    if plist.get_nfilters() == 0:
        if stored < declared:
            raise FormatError(
                f"{name} declares {dataset.size:,} values ({declared:,} bytes) but holds "
                f"{stored:,} bytes of them: truncated or never written", path=path)
        offset = dataset.id.get_offset()  # None unless contiguous
        if offset is not None and offset + declared > Path(path).stat().st_size:
            raise FormatError(f"{name} runs past the end of the file: truncated", path=path)
    elif declared > DEFLATE_RATIO * stored:
        raise FormatError(
            f"{name} declares {dataset.size:,} values ({declared:,} bytes) from {stored:,} "
            f"compressed bytes, more than any compression gives: truncated or forged",
            path=path)


def _dataset(h5: h5py.File, name: str, kind: str, path: Path,
             length: int | None = None) -> h5py.Dataset:
    """``/name`` as a 1-D dataset of ``kind`` (``uint8``, ``int`` or ``str``), checked
    against ``length`` and :func:`check_stored`, not read."""
    obj = h5.get(name)
    if obj is None:
        parent = name.rpartition("/")[0]
        if parent and parent in h5 and not isinstance(h5[parent], h5py.Group):
            raise FormatError(f"/{parent} is a dataset, not a group", path=path)
        raise FormatError(f"no dataset /{name}", path=path)
    if not isinstance(obj, h5py.Dataset):
        raise FormatError(f"/{name} is a {type(obj).__name__.lower()}, not a dataset", path=path)
    dtype = obj.dtype
    fits = {
        "uint8": dtype == np.uint8,
        "int": dtype.kind in "iu",
        "str": h5py.check_string_dtype(dtype) is not None,
    }[kind]
    if not fits:
        wanted = {"uint8": "bytes (uint8)", "int": "integers", "str": "text"}[kind]
        raise FormatError(f"/{name} holds {dtype}, not {wanted}", path=path)
    if obj.ndim != 1:
        raise FormatError(f"/{name} has shape {obj.shape}, not one value per item", path=path)
    if length is not None and len(obj) != length:
        raise FormatError(f"/{name} holds {len(obj):,} values, not {length:,}", path=path)
    check_stored(obj, path)
    return obj


def _strings(dataset: h5py.Dataset) -> list[str]:
    return [s for s in dataset.asstr()[()]] if len(dataset) else []


def _text_attribute(h5: h5py.File, name: str) -> str | None:
    value = h5.attrs.get(name)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value if isinstance(value, str) else None


def open_store(path: str | Path) -> SequenceFile:
    """Open a store written by :func:`write_store`; the HDF5 file stays open until ``close``.

    The layout is checked before anything is used (see :func:`_read_store`): a damaged or
    hand-made store is a :class:`FormatError` naming the file and the dataset.
    """
    try:
        h5 = h5py.File(path, "r")
    except OSError as error:
        raise FormatError(f"cannot read HDF5 file: {error}", path=path) from None
    try:
        return _read_store(h5, Path(path))
    except _H5_FAULTS as error:
        h5.close()
        raise FormatError(f"damaged store: {type(error).__name__}: {error}", path=path) from None
    except BaseException:
        h5.close()
        raise


def _read_store(h5: h5py.File, path: Path) -> SequenceFile:
    """The records and features of an open store, every dataset checked against the layout in
    the module docstring: present, of its kind and length; offsets rising from 0 to
    ``len(/sequence)``; alphabets known; ids unique; attributes JSON objects of strings."""
    if _text_attribute(h5, "format") != STORE_FORMAT:
        raise FormatError("HDF5 file is not a bytescope sequence store", path=path)
    version = h5.attrs.get("version", 0)
    if isinstance(version, (bool, np.bool_)) or not isinstance(version, (int, np.integer)):
        raise FormatError(f"store version {version!r} is not a whole number", path=path)
    if int(version) > STORE_VERSION:
        raise FormatError("store written by a newer bytescope; please upgrade", path=path)

    sequence = _dataset(h5, "sequence", "uint8", path)
    total = len(sequence)
    offsets_ds = _dataset(h5, "records/offsets", "int", path)
    if len(offsets_ds) == 0:
        raise FormatError("/records/offsets is empty: it holds the record count + 1 values, "
                          "starting at 0", path=path)
    offsets = offsets_ds[()].astype(np.int64)
    n = len(offsets) - 1
    if offsets[0] != 0:
        raise FormatError(f"/records/offsets starts at {offsets[0]}, not 0", path=path)
    falls = np.flatnonzero(np.diff(offsets) < 0)
    if len(falls):
        i = int(falls[0])
        raise FormatError(f"/records/offsets decreases at record {i} ({offsets[i]} then "
                          f"{offsets[i + 1]})", path=path)
    if offsets[-1] != total:
        raise FormatError(f"/records/offsets ends at {offsets[-1]:,} but /sequence holds "
                          f"{total:,} bytes", path=path)
    ids = _strings(_dataset(h5, "records/id", "str", path, n))
    descriptions = _strings(_dataset(h5, "records/description", "str", path, n))
    alphabets = _strings(_dataset(h5, "records/alphabet", "str", path, n))
    _check_records(ids, alphabets, path)
    quality = None
    if "quality" in h5:
        quality = _dataset(h5, "quality", "uint8", path, total)[()]

    records = []
    for i, rid in enumerate(ids):
        a, b = int(offsets[i]), int(offsets[i + 1])
        records.append(
            Record(
                rid,
                b - a,
                StoreSource(sequence, a, str(path)),
                description=descriptions[i],
                alphabet=alphabets[i],
                quality=quality[a:b].tobytes() if quality is not None else None,
            )
        )
    unattached: list[Feature] = []
    for r, feature in _read_features(h5, path, n):
        (records[r].features if r >= 0 else unattached).append(feature)
    return SequenceFile(str(path), "hdf5", records, features=unattached, closers=[h5])


def _check_records(ids: list[str], alphabets: list[str], path: Path) -> None:
    seen: dict[str, int] = {}
    for i, (rid, alphabet) in enumerate(zip(ids, alphabets, strict=True)):
        if rid in seen:
            raise FormatError(f"/records/id holds {rid!r} twice (records {seen[rid]} and {i})",
                              path=path)
        seen[rid] = i
        if alphabet not in ALPHABETS:
            raise FormatError(f"/records/alphabet of record {i} is {alphabet!r}, not one of "
                              f"{', '.join(ALPHABETS)}", path=path)


def _read_features(h5: h5py.File, path: Path, n_records: int) -> list[tuple[int, Feature]]:
    """``(record index or -1, feature)`` for each row of ``/features``, every column checked."""
    group = h5.get("features")
    if not isinstance(group, h5py.Group):
        raise FormatError("no group /features" if group is None else
                          "/features is a dataset, not a group", path=path)
    m = len(_dataset(h5, "features/start", "int", path))
    columns = {name: _dataset(h5, f"features/{name}", kind, path, m) for name, kind in (
        ("record", "int"), ("record_id", "str"), ("start", "int"), ("end", "int"),
        ("strand", "int"), ("type", "str"), ("name", "str"), ("attributes", "str"))}
    if m == 0:
        return []
    rec = columns["record"][()].astype(np.int64)
    starts = columns["start"][()].astype(np.int64)
    ends = columns["end"][()].astype(np.int64)
    strands = columns["strand"][()].astype(np.int64)
    for name, bad in (("record", (rec < -1) | (rec >= n_records)),
                      ("start", starts < 0), ("end", ends < starts),
                      ("strand", ~np.isin(strands, (-1, 0, 1)))):
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            value = {"record": rec, "start": starts, "end": ends, "strand": strands}[name][i]
            why = {"record": f"not -1 or a record index below {n_records}",
                   "start": "negative", "end": f"before its start {starts[i]}",
                   "strand": "not -1, 0 or 1"}[name]
            raise FormatError(f"/features/{name} of feature {i} is {value}: {why}", path=path)
    parts = (_strings(_dataset(h5, "features/parts", "str", path, m))
             if "parts" in group else [""] * m)
    rows = zip(rec.tolist(), _strings(columns["record_id"]), starts.tolist(), ends.tolist(),
               strands.tolist(), _strings(columns["type"]), _strings(columns["name"]),
               _strings(columns["attributes"]), parts, strict=True)
    out = []
    for i, (r, rid, start, end, strand, ftype, name, text, pieces) in enumerate(rows):
        out.append((r, Feature(rid, start, end, strand, ftype, name,
                               _attributes(text, i, path), _parts(pieces, start, end, i, path))))
    return out


def _parts(text: str, start: int, end: int, i: int, path: Path) -> tuple[tuple[int, int], ...]:
    """One feature's parts from ``"a-b,c-d"``: each inside the feature, sorted."""
    if not text:
        return ()
    try:
        parts = tuple(tuple(int(v) for v in piece.split("-")) for piece in text.split(","))
    except ValueError:
        parts = ((-1, -1),)
    if not all(len(p) == 2 and start <= p[0] <= p[1] <= end for p in parts) or \
            list(parts) != sorted(parts):
        raise FormatError(f"/features/parts of feature {i} is {text[:60]!r}: not sorted "
                          f"start-end pieces inside {start}-{end}", path=path)
    return parts


def _attributes(text: str, i: int, path: Path) -> dict[str, str]:
    """One feature's attributes: a JSON object of strings, as :func:`write_store` writes."""
    try:
        value = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as error:
        message = error.msg if isinstance(error, json.JSONDecodeError) else "nested too deep"
        raise FormatError(f"/features/attributes of feature {i} is not JSON ({message})",
                          path=path) from None
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise FormatError(f"/features/attributes of feature {i} is not a JSON object of "
                          "strings", path=path)
    return value
