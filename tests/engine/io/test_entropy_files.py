"""The one entropy-file module: every format in the table gives the same region, the checks
name the file and the line, and a format added to the table is read through it."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from engine.errors import FormatError, InputError
from engine.io.entropy_files import (
    ENTROPY_FORMATS,
    ENTROPY_SUFFIXES,
    EntropyFormat,
    entropy_format,
    entropy_metavar,
    formats_help,
    load_entropies,
    read_bedgraph,
)
from engine.io.records import MemorySource, Record

LENGTH = 2000


@pytest.fixture
def record() -> Record:
    return Record("chrT", LENGTH, MemorySource(b"ACGT" * (LENGTH // 4)), alphabet="dna")


@pytest.fixture
def values() -> np.ndarray:
    """float32 entropies with 4 decimals, so a bedGraph's text holds them exactly."""
    rng = np.random.default_rng(5)
    return np.round(rng.gamma(2.0, 0.7, LENGTH), 4).astype(np.float32)


def write_all(folder: Path, values: np.ndarray) -> dict[str, Path]:
    """The same entropies in every format of the table's first three."""
    np.save(folder / "e.npy", values)
    with h5py.File(folder / "e.h5", "w") as h5:
        h5["entropies/chrT"] = values
    lines = [f"chrT\t{i}\t{i + 1}\t{v:.4f}" for i, v in enumerate(values.tolist())]
    (folder / "e.bedgraph").write_text("track type=bedGraph\n" + "\n".join(lines) + "\n")
    return {"npy": folder / "e.npy", "hdf5": folder / "e.h5", "bedgraph": folder / "e.bedgraph"}


def test_every_suffix_in_the_table_names_its_format():
    for form in ENTROPY_FORMATS.values():
        for suffix in form.suffixes:
            assert entropy_format(f"x{suffix.upper()}") is form
    assert set(ENTROPY_SUFFIXES) == {s for f in ENTROPY_FORMATS.values() for s in f.suffixes}


def test_an_unknown_suffix_is_refused_listing_every_suffix_of_the_table(tmp_path, record):
    path = tmp_path / "e.csv"
    path.write_text("1\n")
    with pytest.raises(InputError) as caught:
        load_entropies(path, record, 0, LENGTH)
    assert caught.value.path == str(path)
    for suffix in ENTROPY_SUFFIXES:
        assert suffix in caught.value.message


def test_help_and_metavar_come_from_the_table():
    text = formats_help()
    for form in ENTROPY_FORMATS.values():
        assert "/".join(form.suffixes) in text and form.description in text
    assert entropy_metavar() == "|".join(f"FILE{f.suffixes[0]}" for f in ENTROPY_FORMATS.values())


@pytest.mark.parametrize(("start", "end"), [(0, LENGTH), (300, 1700)])
def test_every_format_gives_the_same_region(tmp_path, record, values, start, end):
    paths = write_all(tmp_path, values)
    assert set(paths) == set(ENTROPY_FORMATS)  # a new format gets a writer here too
    for path in paths.values():
        region = load_entropies(path, record, start, end)
        assert np.array_equal(region, values[start:end]), path.name


def test_a_bedgraph_with_a_gap_is_refused_naming_the_first_missing_byte(tmp_path, record):
    path = tmp_path / "e.bdg"
    path.write_text("chrT\t0\t100\t1.0\nchrT\t150\t2000\t2.0\n")
    with pytest.raises(InputError, match="no entropy for byte 100 of record 'chrT'") as caught:
        load_entropies(path, record, 0, LENGTH)
    assert "50 of the 2,000 bytes" in caught.value.message and caught.value.path == str(path)
    assert load_entropies(path, record, 150, 300).tolist() == [2.0] * 150  # no gap there
    with_gaps = load_entropies(path, record, 0, LENGTH, allow_gaps=True)
    assert np.isnan(with_gaps[100:150]).all() and with_gaps[99] == 1.0


def test_a_bedgraph_region_is_as_long_as_the_region_and_every_line_is_checked(tmp_path):
    path = tmp_path / "e.bg"
    path.write_text("chrT\t0\t1000\t1.0\nchrT\t1000\t2000\t2.0\nchrT\t5\tx\t1\n")
    with pytest.raises(FormatError, match="start and end must be integers") as caught:
        read_bedgraph(path, "chrT", LENGTH, 0, 10)  # the bad line lies past the region
    assert caught.value.line == 3
    path.write_text("chrT\t0\t1000\t1.0\nchrT\t1000\t2000\t2.0\n")
    region = read_bedgraph(path, "chrT", LENGTH, 990, 1010)
    assert region.dtype == np.float32 and region.tolist() == [1.0] * 10 + [2.0] * 10


def test_a_bedgraph_line_past_the_record_names_its_line(tmp_path, record):
    path = tmp_path / "e.bedgraph"
    path.write_text("chrT\t0\t10\t1\nchrT\t10\t2001\t1\n")
    with pytest.raises(InputError, match="10-2001 is outside record 'chrT'") as caught:
        load_entropies(path, record, 0, 10)
    assert caught.value.line == 2 and str(caught.value).startswith(f"{path}:2: ")


def test_npy_entropies_that_are_not_finite_are_refused(tmp_path, record, values):
    bad = values.copy()
    bad[700] = np.inf
    np.save(tmp_path / "e.npy", bad)
    with pytest.raises(InputError, match="entropy for byte 700 is not a finite number"):
        load_entropies(tmp_path / "e.npy", record, 0, LENGTH)
    assert len(load_entropies(tmp_path / "e.npy", record, 0, 700)) == 700  # only the region


def test_a_format_added_to_the_table_is_read_through_it(tmp_path, record, monkeypatch):
    def read_text(path: Path, rec: Record, start: int, end: int) -> np.ndarray:
        return np.loadtxt(path, dtype=np.float32)[start:end]

    monkeypatch.setitem(ENTROPY_FORMATS, "text",
                        EntropyFormat("text", (".txt",), "one value per line", read_text))
    path = tmp_path / "e.txt"
    path.write_text("\n".join(["0.5"] * LENGTH))
    assert load_entropies(path, record, 10, 20).tolist() == [0.5] * 10
    assert ".txt (one value per line)" in formats_help()
