"""Atomic output files: all or nothing, durable, with ordinary permissions, in existing
folders only, and no temporary file left for ever by a writer that was killed."""

from __future__ import annotations

import os
import stat
import time

import pytest

from engine.atomic import (
    STALE_AGE,
    atomic_open,
    atomic_path,
    check_writable,
    remove_stale_temporaries,
)
from engine.errors import InputError
from tests.engine.killed_writer import killed_writer, temporaries, writing


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


# --------------------------------------------------------------------------------------------
# outputs never create folders


def test_a_missing_folder_is_refused_not_created(tmp_path):
    target = tmp_path / "no" / "such" / "out.txt"
    with pytest.raises(InputError, match=r"cannot write: folder .*such does not exist"):
        with atomic_open(target) as handle:
            handle.write("x")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("where, message", [
    ("missing/out.h5", r"--out: folder .*missing does not exist"),
    ("plain/out.h5", r"--out: .*plain is not a folder"),
    ("out.h5", None),
])
def test_check_writable_needs_an_existing_folder(tmp_path, where, message):
    (tmp_path / "plain").write_text("a file")
    before = sorted(tmp_path.iterdir())
    if message is None:
        assert check_writable(tmp_path / where) == tmp_path / where
    else:
        with pytest.raises(InputError, match=message):
            check_writable(tmp_path / where)
    assert sorted(tmp_path.iterdir()) == before  # neither a folder nor a probe left


# --------------------------------------------------------------------------------------------
# durable: fsync before the rename, and the folder after it


def test_the_file_is_synced_before_the_rename_and_the_folder_after(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        info = os.fstat(fd)
        events.append(("fsync", info.st_ino, stat.S_ISDIR(info.st_mode)))
        real_fsync(fd)

    def replace(a, b):
        events.append(("replace",))
        real_replace(a, b)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    target = tmp_path / "out.bin"
    with atomic_path(target) as tmp:
        tmp.write_bytes(b"data")
    monkeypatch.undo()
    file_ino, folder_ino = target.stat().st_ino, tmp_path.stat().st_ino  # a rename keeps inodes
    assert events == [("fsync", file_ino, False), ("replace",), ("fsync", folder_ino, True)]


def test_atomic_open_syncs_the_open_handle_before_closing(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync

    def fsync(fd):
        synced.append(os.fstat(fd).st_size)  # what the handle had flushed by then
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    with atomic_open(tmp_path / "out.txt") as handle:
        handle.write("buffered, not yet flushed")
        assert synced == []
    assert synced[0] == len("buffered, not yet flushed")


# --------------------------------------------------------------------------------------------
# temporary files of writers that died


def test_a_writer_killed_mid_write_leaves_no_target_and_its_temporary_goes_at_the_next_write(
        tmp_path):
    target = tmp_path / "out.txt"
    left = killed_writer(target)
    assert left.read_text() == "first half\n" and not target.exists()
    with atomic_open(target) as handle:
        handle.write("whole\n")
    assert target.read_text() == "whole\n"
    assert not left.exists() and temporaries(target) == []


def test_a_live_writers_temporary_is_never_removed(tmp_path):
    target = tmp_path / "out.txt"
    with writing(target):
        (theirs,) = temporaries(target)
        os.utime(theirs, (0, 0))  # however old it looks: its writer still runs
        with atomic_open(target) as handle:
            handle.write("mine\n")
        assert remove_stale_temporaries(tmp_path) == []
        assert theirs.exists() and target.read_text() == "mine\n"


def test_only_the_temporaries_of_the_name_written_are_removed(tmp_path):
    left = killed_writer(tmp_path / "other.txt")
    with atomic_open(tmp_path / "out.txt") as handle:
        handle.write("x")
    assert left.exists()
    assert remove_stale_temporaries(tmp_path) == [left]  # a cache folder's sweep: any name
    assert not left.exists()


def test_temporaries_whose_writer_cannot_be_asked_go_after_a_day(tmp_path):
    target = tmp_path / "out.txt"
    names = {
        "legacy_old": ".out.txt.k2j4_9ab.tmp",  # mkstemp's name, from before pids
        "legacy_new": ".out.txt.q8w7e6r5.tmp",
        "other_host_old": ".out.txt.elsewhere.4242.abcdefgh.tmp",
        "other_host_new": ".out.txt.elsewhere.4243.abcdefgh.tmp",
        "a_users_file": ".out.txt.notes.tmp",  # not a name atomic_path writes
    }
    for key, name in names.items():
        (tmp_path / name).write_text(key)
        if key.endswith("old") or key == "a_users_file":
            two_days = time.time() - 2 * STALE_AGE
            os.utime(tmp_path / name, (two_days, two_days))
    with atomic_open(target) as handle:
        handle.write("x")
    kept = {p.read_text() for p in tmp_path.glob(".*")}
    assert kept == {"legacy_new", "other_host_new", "a_users_file"}
