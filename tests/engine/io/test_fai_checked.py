"""A .fai checked against its file once is trusted while neither file changes: the reopen
reads the descriptions from the cache instead of every header; any change checks again."""

from __future__ import annotations

import os

import engine.io.cache as cache
from engine.io import open_sequences
from engine.io.cache import cache_dir


def descriptions(path) -> list[str]:
    cache._HASHES.clear()
    with open_sequences(path) as sf:
        return [r.description for r in sf]


def test_checked_descriptions_are_reused_until_a_file_changes(tmp_path):
    path = tmp_path / "a.fa"
    path.write_text(">a first one\nACGT\n>b\nGGCC\n>c third\nTT\n")
    assert descriptions(path) == ["first one", "", "third"]
    assert descriptions(path) == ["first one", "", "third"]  # now from the .fai beside it
    (checked,) = cache_dir("fai-checked").iterdir()
    checked.write_text("planted\n\nthird\n")  # what a reopen trusts while nothing changed
    assert descriptions(path) == ["planted", "", "third"]
    checked.write_text("too few\n")  # a damaged entry is checked again
    assert descriptions(path) == ["first one", "", "third"]
    for entry in cache_dir("fai-checked").iterdir():
        entry.write_text("planted\n\nthird\n")
    path.write_text(">a first one\nACGT\n>b\nGGCC\n>c other\nTT\n")  # the data changed
    fai = tmp_path / "a.fa.fai"
    os.utime(fai, ns=(fai.stat().st_atime_ns, path.stat().st_mtime_ns + 1))
    assert descriptions(path) == ["first one", "", "other"]
