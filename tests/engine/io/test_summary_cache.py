"""A file's summary is computed once and answered from the cache while the file is unchanged;
a changed file, or an alphabet set by the user, is summarised again."""

from __future__ import annotations

import numpy as np
import pytest

import engine.io.cache as cache
from engine.io import open_sequences
from engine.io.summary import _summary_path, summarise_file


def gc_of(path, **options) -> float:
    with open_sequences(path, **options) as sf:
        return summarise_file(sf)["records"][0]["gc_percent"]


def test_a_reopened_file_is_answered_from_the_cache_and_a_changed_one_is_not(tmp_path):
    path = tmp_path / "a.fa"
    path.write_text(">a\n" + "GGCA" * 50 + "\n>b\n" + "ATAT" * 30 + "\n")
    assert gc_of(path) == pytest.approx(75.0)
    with open_sequences(path) as sf:
        cached = _summary_path(sf)
    assert cached.is_file()
    with np.load(cached) as data:  # what a reopen will read: plant a value to see it used
        columns = {k: data[k].copy() for k in data.files}
    columns["gc_percent"][0] = 12.5
    with open(cached, "wb") as handle:
        np.savez(handle, **columns)
    cache._HASHES.clear()  # a new process
    assert gc_of(path) == pytest.approx(12.5)
    path.write_text(">a\n" + "GGCC" * 50 + "\n>b\n" + "ATAT" * 30 + "\n")  # same size
    assert gc_of(path) == pytest.approx(100.0)


def test_an_alphabet_set_by_the_user_gets_its_own_summary(tmp_path):
    path = tmp_path / "a.fa"
    path.write_text(">a\n" + "ACGT" * 50 + "\n")
    assert gc_of(path) == pytest.approx(50.0)
    with open_sequences(path, alphabet="protein") as sf:
        row = summarise_file(sf)["records"][0]
    assert row["alphabet"] == "protein" and row["gc_percent"] is None


def test_a_damaged_cache_entry_is_recomputed(tmp_path):
    path = tmp_path / "a.fa"
    path.write_text(">a\n" + "GGCA" * 50 + "\n")
    gc_of(path)
    with open_sequences(path) as sf:
        _summary_path(sf).write_bytes(b"not an npz")
    assert gc_of(path) == pytest.approx(75.0)
