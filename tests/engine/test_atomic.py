"""Atomic output files: all or nothing, with ordinary permissions."""

from __future__ import annotations

import os

import pytest

from engine.atomic import atomic_open


def test_outputs_get_ordinary_file_permissions(tmp_path):
    with atomic_open(tmp_path / "out.txt") as handle:
        handle.write("x")
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "out.txt").stat().st_mode & 0o777 == 0o666 & ~mask


def test_an_error_while_writing_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_open(target) as handle:
        handle.write("half")
        raise RuntimeError("disk full")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]
