"""Damaged or hand-made HDF5 stores: each is one FormatError naming the file and the dataset,
checked on open, before any record is used (issue 13, HDF5 stores row)."""

from __future__ import annotations

import os

import h5py
import numpy as np
import pytest

from engine.cli import main
from engine.errors import FormatError
from engine.io import Feature, Record, open_sequences, open_store, write_store
from engine.io.records import MemorySource


@pytest.fixture
def store(tmp_path):
    """Two 100-byte records, one feature on each and one unattached: a good store to break."""
    records = [
        Record(f"r{i}", 100, MemorySource(bytes([65 + i]) * 100), alphabet="dna",
               features=[Feature(f"r{i}", 10, 20, 1, "CDS", f"g{i}", {"product": "p"})])
        for i in range(2)
    ]
    return write_store(tmp_path / "s.h5", records, features=[Feature("x", 1, 2, 0, "gene")])


def replace(h5: h5py.File, name: str, data=None, **kwargs) -> None:
    del h5[name]
    h5.create_dataset(name, data=data, **kwargs)


def missing_offsets(h5):
    del h5["records/offsets"]


def offsets_beyond_the_data(h5):
    replace(h5, "records/offsets", np.array([0, 100, 5000], np.int64))


def decreasing_offsets(h5):
    replace(h5, "records/offsets", np.array([0, 300, 200], np.int64))


def offsets_not_from_zero(h5):
    replace(h5, "records/offsets", np.array([50, 100, 200], np.int64))


def float_offsets(h5):
    replace(h5, "records/offsets", np.array([0.0, 100.0, 200.0]))


def empty_offsets(h5):
    replace(h5, "records/offsets", np.zeros(0, np.int64))


def float_sequence(h5):
    replace(h5, "sequence", np.random.default_rng(0).random(200))


def two_dimensional_sequence(h5):
    replace(h5, "sequence", np.zeros((2, 100), np.uint8))


def sequence_never_written(h5):
    """The issue's 400-byte store reported as a 4,999,100-base record."""
    replace(h5, "sequence", shape=(5_000_000,), dtype=np.uint8)
    replace(h5, "records/offsets", np.array([0, 900, 5_000_000], np.int64))


def sequence_forged_compressed(h5):
    """10 GB declared from one written 64 KB chunk: more than any compression gives."""
    del h5["sequence"]
    seq = h5.create_dataset("sequence", shape=(10**10,), dtype=np.uint8, chunks=(1 << 16,),
                            compression="gzip")
    seq[: 1 << 16] = np.random.default_rng(0).integers(0, 256, 1 << 16, dtype=np.uint8)
    replace(h5, "records/offsets", np.array([0, 100, 10**10], np.int64))


def sequence_is_a_group(h5):
    del h5["sequence"]
    h5.create_group("sequence")


def records_is_a_dataset(h5):
    del h5["records"]
    h5["records"] = np.arange(3)


def too_few_ids(h5):
    replace(h5, "records/id", ["r0"], dtype=h5py.string_dtype())


def numbers_for_ids(h5):
    replace(h5, "records/id", np.array([1, 2]))


def duplicate_ids(h5):
    replace(h5, "records/id", ["r0", "r0"], dtype=h5py.string_dtype())


def unknown_alphabet(h5):
    replace(h5, "records/alphabet", ["dna", "klingon"], dtype=h5py.string_dtype())


def bad_json_attributes(h5):
    replace(h5, "features/attributes", ['{"a": "b"}', "{not json", "{}"],
            dtype=h5py.string_dtype())


def attributes_not_an_object(h5):
    replace(h5, "features/attributes", ["[1, 2]", "{}", "{}"], dtype=h5py.string_dtype())


def attribute_values_not_text(h5):
    replace(h5, "features/attributes", ['{"a": 1}', "{}", "{}"], dtype=h5py.string_dtype())


def feature_on_no_record(h5):
    replace(h5, "features/record", np.array([0, 7, -1], np.int32))


def feature_ending_before_its_start(h5):
    replace(h5, "features/end", np.array([5, 20, 2], np.int64))


def feature_strand_of_two(h5):
    replace(h5, "features/strand", np.array([2, 1, 0], np.int8))


def feature_columns_of_different_lengths(h5):
    replace(h5, "features/name", ["a"], dtype=h5py.string_dtype())


def features_missing(h5):
    del h5["features"]


def version_as_text(h5):
    h5.attrs["version"] = "one"


def quality_too_short(h5):
    h5["quality"] = np.zeros(10, np.uint8)


def sequence_in_another_file(h5):
    other = os.path.join(os.path.dirname(h5.filename), "elsewhere.bin")
    with open(other, "wb") as handle:
        handle.write(b"A" * 200)
    replace(h5, "sequence", shape=(200,), dtype=np.uint8, external=[(other, 0, 200)])


# (how to break the store, what the message names)
DAMAGE = [
    (missing_offsets, "no dataset /records/offsets"),
    (offsets_beyond_the_data, "/records/offsets ends at 5,000 but /sequence holds 200 bytes"),
    (decreasing_offsets, "/records/offsets decreases at record 1 (300 then 200)"),
    (offsets_not_from_zero, "/records/offsets starts at 50, not 0"),
    (float_offsets, "/records/offsets holds float64, not integers"),
    (empty_offsets, "/records/offsets is empty"),
    (float_sequence, "/sequence holds float64, not bytes (uint8)"),
    (two_dimensional_sequence, "/sequence has shape (2, 100)"),
    (sequence_never_written, "/sequence declares 5,000,000 values"),
    (sequence_forged_compressed, "more than any compression gives"),
    (sequence_is_a_group, "/sequence is a group, not a dataset"),
    (records_is_a_dataset, "/records is a dataset, not a group"),
    (too_few_ids, "/records/id holds 1 values, not 2"),
    (numbers_for_ids, "/records/id holds int64, not text"),
    (duplicate_ids, "/records/id holds 'r0' twice"),
    (unknown_alphabet, "/records/alphabet of record 1 is 'klingon'"),
    (bad_json_attributes, "/features/attributes of feature 1 is not JSON"),
    (attributes_not_an_object, "/features/attributes of feature 0 is not a JSON object"),
    (attribute_values_not_text, "/features/attributes of feature 0 is not a JSON object"),
    (feature_on_no_record, "/features/record of feature 1 is 7"),
    (feature_ending_before_its_start, "/features/end of feature 0 is 5: before its start 10"),
    (feature_strand_of_two, "/features/strand of feature 0 is 2"),
    (feature_columns_of_different_lengths, "/features/name holds 1 values, not 3"),
    (features_missing, "no group /features"),
    (version_as_text, "store version 'one' is not a whole number"),
    (quality_too_short, "/quality holds 10 values, not 200"),
    (sequence_in_another_file, "/sequence keeps its data in another file"),
]


def broken(store, damage) -> str:
    with h5py.File(store, "a") as h5:
        damage(h5)
    return str(store)


@pytest.mark.parametrize(("damage", "message"), DAMAGE, ids=[d.__name__ for d, _ in DAMAGE])
def test_a_damaged_store_is_one_format_error_naming_the_dataset(store, damage, message):
    path = broken(store, damage)
    with pytest.raises(FormatError) as caught:
        open_sequences(path)
    assert message in str(caught.value)
    assert str(caught.value).startswith(f"{path}: ")


@pytest.mark.parametrize(("damage", "message"), DAMAGE[:12],
                         ids=[d.__name__ for d, _ in DAMAGE[:12]])
def test_the_cli_says_it_on_one_line_with_exit_2(capsys, store, damage, message):
    path = broken(store, damage)
    assert main(["info", path]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and message in err and path in err


def test_the_good_store_opens(store):
    """The fixture itself passes every check, so each damage above is what fails."""
    with open_store(store) as sf:
        assert [r.length for r in sf] == [100, 100]
        assert sf[1].fetch(0, 3) == b"BBB"
        assert len(sf.all_features()) == 3


def test_a_store_of_no_records_opens(tmp_path):
    with open_store(write_store(tmp_path / "empty.h5", [])) as sf:
        assert len(sf) == 0


@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_a_truncated_store_is_one_format_error(store, keep):
    size = store.stat().st_size
    with open(store, "r+b") as handle:
        handle.truncate(int(size * keep))
    with pytest.raises(FormatError, match=str(store)):
        with open_sequences(store) as sf:
            for record in sf:
                record.fetch()


def test_a_store_with_a_corrupt_chunk_fails_on_reading_with_the_dataset_named(tmp_path):
    """Filtered data cannot be checked without decoding it: a bad chunk is found on reading."""
    path = tmp_path / "gz.h5"
    write_store(path, [Record("r", 200_000, MemorySource(np.random.default_rng(1).integers(
        0, 256, 200_000, dtype=np.uint8).tobytes()), alphabet="bytes")])
    with h5py.File(path, "a") as h5:
        data = h5["sequence"][()]
        del h5["sequence"]
        h5.create_dataset("sequence", data=data, chunks=(1 << 16,), compression="gzip")
        offset = h5["sequence"].id.get_chunk_info(1).byte_offset
    with open(path, "r+b") as handle:  # overwrite the second chunk's deflate stream
        handle.seek(offset)
        handle.write(b"\xff" * 64)
    with open_store(path) as sf:
        assert len(sf[0].fetch(0, 1000)) == 1000  # the first chunk is intact
        with pytest.raises(FormatError, match="/sequence: cannot read bytes"):
            sf[0].fetch(70_000, 80_000)
