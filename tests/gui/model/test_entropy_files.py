"""Entropy files loaded into the window: sizes checked before reading, memory bounded by the
record, every fault one BytescopeError (issue 13)."""

from __future__ import annotations

import tracemalloc

import h5py
import numpy as np
import pytest
from numpy.lib import format as npy

from engine.errors import FormatError, InputError
from engine.io.entropy_files import MAX_LINE, read_bedgraph
from engine.io.records import MemorySource, Record
from gui.model.entropy_files import read_entropy_file

LENGTH = 3000


@pytest.fixture
def record() -> Record:
    return Record("chrT", LENGTH, MemorySource(b"ACGT" * (LENGTH // 4)), alphabet="dna")


def test_an_unwritten_hdf5_dataset_of_billions_is_refused_unread(tmp_path, record):
    path = tmp_path / "x.h5"
    with h5py.File(path, "w") as h5:
        h5.create_dataset("entropies", shape=(5_000_000_000,), dtype=np.float32)
    with pytest.raises(FormatError, match="declares 5,000,000,000 values"):
        read_entropy_file(path, record)


def test_a_npy_declaring_billions_is_refused_unread(tmp_path, record):
    path = tmp_path / "x.npy"
    with open(path, "wb") as handle:
        npy.write_array_header_2_0(handle, {"descr": "<f8", "fortran_order": False,
                                            "shape": (5_000_000_000,)})
        handle.write(bytes(64))
    with pytest.raises(FormatError, match="truncated"):
        read_entropy_file(path, record)


def test_a_bedgraph_of_overlapping_lines_is_refused(tmp_path, record):
    path = tmp_path / "e.bedgraph"
    path.write_text("chrT\t0\t100\t1.0\nchrT\t50\t150\t2.0\n")
    with pytest.raises(FormatError, match="50-150 overlaps an earlier line") as caught:
        read_bedgraph(path, "chrT", LENGTH)
    assert caught.value.line == 2


def test_a_bedgraph_repeating_the_whole_record_uses_no_more_than_the_record(tmp_path):
    """The old reader expanded every line's run: 20,000 whole-record lines of a 10^6-base
    record asked for 2*10^10 positions. Now it stops at the second line."""
    length = 1_000_000
    path = tmp_path / "big.bedgraph"
    path.write_text(f"chrT\t0\t{length}\t1.5\n" * 20_000)
    tracemalloc.start()
    try:
        with pytest.raises(FormatError, match="overlaps"):
            read_bedgraph(path, "chrT", length)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 3 * 4 * length  # the float32 array and a temporary or two


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e39"])
def test_a_bedgraph_value_that_is_not_a_finite_float32_is_refused(tmp_path, value):
    path = tmp_path / "e.bedgraph"
    path.write_text(f"chrT\t0\t10\t1\nchrT\t10\t20\t{value}\n")
    with pytest.raises(FormatError, match="not a finite number") as caught:
        read_bedgraph(path, "chrT", LENGTH)
    assert caught.value.line == 2


def test_a_bedgraph_line_longer_than_the_limit_is_refused(tmp_path):
    path = tmp_path / "one_line.bedgraph"
    path.write_text("chrT\t0\t10\t1\n" + "x" * (MAX_LINE + 10))
    with pytest.raises(FormatError, match="line longer than") as caught:
        read_bedgraph(path, "chrT", LENGTH)
    assert caught.value.line == 2


def test_non_overlapping_lines_in_any_order_load(tmp_path, record):
    path = tmp_path / "e.bedgraph"
    path.write_text("chrT\t20\t30\t2\nother\t0\t30\t9\nchrT\t0\t10\t1\nchrT\t10\t20\t1.5\n")
    values = read_bedgraph(path, "chrT", LENGTH)
    assert values[:30].tolist() == [1.0] * 10 + [1.5] * 10 + [2.0] * 10
    assert np.isnan(values[30:]).all()
    assert read_entropy_file(path, record).known.as_list() == [(0, 30)]


def test_a_folder_is_refused(tmp_path, record):
    (tmp_path / "e.bedgraph").mkdir()
    with pytest.raises(InputError, match="is a folder"):
        read_entropy_file(tmp_path / "e.bedgraph", record)


def test_the_window_reads_every_format_of_the_engine_table(tmp_path, record, monkeypatch):
    """One table for the CLI and the window: a format added there loads here unchanged."""
    from engine.io.entropy_files import ENTROPY_FORMATS, EntropyFormat

    def read_text(path, rec, start, end):
        return np.loadtxt(path, dtype=np.float32)[start:end]

    monkeypatch.setitem(ENTROPY_FORMATS, "text",
                        EntropyFormat("text", (".txt",), "one value per line", read_text))
    path = tmp_path / "e.txt"
    path.write_text("\n".join(["0.25"] * LENGTH))
    buffer = read_entropy_file(path, record)
    assert buffer.complete and buffer.known.as_list() == [(0, LENGTH)]
