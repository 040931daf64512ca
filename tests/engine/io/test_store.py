"""The HDF5 sequence store: what goes in comes back out."""

from __future__ import annotations

import h5py
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.errors import FormatError
from engine.io import Feature, Record, open_sequences, open_store, write_store
from engine.io.records import MemorySource


def test_lambda_round_trips_with_features(tmp_path, lambda_path):
    with open_sequences(lambda_path) as sf:
        record = sf[0]
        record.features.append(Feature(record.id, 10, 500, -1, "CDS", "geneA", {"product": "x;y"}))
        out = write_store(tmp_path / "s.h5", sf, source=str(lambda_path))
        expected = record.fetch()
    with open_sequences(out) as store:
        assert store.format == "hdf5"
        (back,) = store
        assert back.fetch() == expected
        assert back.fetch(1000, 1100) == expected[1000:1100]
        assert back.alphabet == "dna"
        assert back.features == [
            Feature(record.id, 10, 500, -1, "CDS", "geneA", {"product": "x;y"})
        ]


@settings(max_examples=30, deadline=None)
@given(
    seqs=st.lists(st.binary(max_size=200), min_size=1, max_size=8),
    with_quality=st.booleans(),
)
def test_many_records_round_trip(tmp_path_factory, seqs, with_quality):
    records = [
        Record(
            f"r{i}",
            len(s),
            MemorySource(s),
            description=f"d{i}",
            alphabet="bytes",
            quality=bytes(33 + (b % 40) for b in s) if with_quality else None,
        )
        for i, s in enumerate(seqs)
    ]
    path = tmp_path_factory.mktemp("store") / "many.h5"
    write_store(path, records, features=[Feature("elsewhere", 1, 2, 0, "gene")])
    with open_store(path) as sf:
        assert [r.fetch() for r in sf] == seqs
        assert [r.description for r in sf] == [f"d{i}" for i in range(len(seqs))]
        if with_quality:
            assert [r.quality for r in sf] == [r.quality for r in records]
        assert sf.features == [Feature("elsewhere", 1, 2, 0, "gene")]


def test_foreign_hdf5_file_is_a_format_error(tmp_path):
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as h5:
        h5["x"] = [1, 2, 3]
    with pytest.raises(FormatError, match="not a bytescope sequence store"):
        open_sequences(path)


def test_failed_write_leaves_no_file(tmp_path):
    class Boom(Record):
        def fetch(self, *a, **k):
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_store(tmp_path / "x.h5", [Boom("r", 3, MemorySource(b"abc"), alphabet="bytes")])
    assert list(tmp_path.iterdir()) == []

