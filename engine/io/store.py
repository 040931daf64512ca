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
    return Path(path)


class StoreSource:
    """Reads a record's bytes as a slice of the store's ``/sequence`` dataset."""

    __slots__ = ("dataset", "offset")

    def __init__(self, dataset: h5py.Dataset, offset: int) -> None:
        self.dataset = dataset
        self.offset = offset

    def read(self, start: int, end: int) -> bytes:
        return self.dataset[self.offset + start : self.offset + end].tobytes()


def _strings(dataset: h5py.Dataset) -> list[str]:
    return [s for s in dataset.asstr()[()]] if len(dataset) else []


def open_store(path: str | Path) -> SequenceFile:
    """Open a store written by :func:`write_store`; the HDF5 file stays open until ``close``."""
    try:
        h5 = h5py.File(path, "r")
    except OSError as error:
        raise FormatError(f"cannot read HDF5 file: {error}", path=path) from None
    if h5.attrs.get("format") != STORE_FORMAT:
        h5.close()
        raise FormatError("HDF5 file is not a bytescope sequence store", path=path)
    if int(h5.attrs.get("version", 0)) > STORE_VERSION:
        h5.close()
        raise FormatError("store written by a newer bytescope; please upgrade", path=path)
    offsets = h5["records/offsets"][()]
    ids = _strings(h5["records/id"])
    descriptions = _strings(h5["records/description"])
    alphabets = _strings(h5["records/alphabet"])
    quality = h5["quality"][()] if "quality" in h5 else None
    sequence = h5["sequence"]
    records = []
    for i, rid in enumerate(ids):
        a, b = int(offsets[i]), int(offsets[i + 1])
        records.append(
            Record(
                rid,
                b - a,
                StoreSource(sequence, a),
                description=descriptions[i],
                alphabet=alphabets[i],
                quality=quality[a:b].tobytes() if quality is not None else None,
            )
        )
    f = h5["features"]
    unattached: list[Feature] = []
    if len(f["start"]):
        rec = f["record"][()]
        columns = zip(
            rec,
            _strings(f["record_id"]),
            f["start"][()].tolist(),
            f["end"][()].tolist(),
            f["strand"][()].tolist(),
            _strings(f["type"]),
            _strings(f["name"]),
            _strings(f["attributes"]),
            strict=True,
        )
        for r, rid, start, end, strand, ftype, name, attrs in columns:
            feature = Feature(rid, start, end, strand, ftype, name, json.loads(attrs))
            (records[r].features if r >= 0 else unattached).append(feature)
    return SequenceFile(str(path), "hdf5", records, features=unattached, closers=[h5])
