"""Any other file opens as one byte record (BLT's byte view), with a size guard."""

from __future__ import annotations

import gzip

import pytest

from engine.errors import InputError
from engine.io import open_sequences


def test_a_python_source_file_is_one_text_record():
    import json

    path = json.__file__
    data = open(path, "rb").read()
    with open_sequences(path) as sf:
        assert sf.format == "bytes"
        (record,) = sf
        assert record.length == len(data)
        assert record.fetch(100, 200) == data[100:200]
        assert record.alphabet == "text"


def test_binary_file_is_bytes(tmp_path):
    path = tmp_path / "blob.bin"
    path.write_bytes(bytes(range(256)) * 8)
    with open_sequences(path) as sf:
        assert sf[0].alphabet == "bytes"
        assert sf[0].fetch(250, 260) == bytes([250, 251, 252, 253, 254, 255, 0, 1, 2, 3])


def test_compressed_text_is_read_decompressed(tmp_path):
    path = tmp_path / "notes.txt.gz"
    path.write_bytes(gzip.compress(b"hello bytes\n" * 10))
    with open_sequences(path) as sf:
        assert sf[0].fetch(0, 11) == b"hello bytes"


def test_size_guard_refuses_large_files_unless_raised(tmp_path):
    path = tmp_path / "big.bin"
    path.write_bytes(b"\x00" * 5000)
    with pytest.raises(InputError, match="5,000 bytes is more than the 4,096-byte limit"):
        open_sequences(path, max_bytes=4096)
    with open_sequences(path, max_bytes=8192) as sf:
        assert sf[0].length == 5000


def test_a_compressed_file_that_inflates_past_the_limit_stops_without_filling_the_cache(
    tmp_path, isolated_cache
):
    path = tmp_path / "bomb.bin.gz"
    path.write_bytes(gzip.compress(b"\x00" * (20 << 20)))  # 20 MiB of zeros, ~20 KB on disk
    with pytest.raises(InputError, match="more than"):
        open_sequences(path, max_bytes=4 << 20)
    # nothing decompressed stays; the .gz's own hash memo (32 characters) may
    leftovers = [p for p in isolated_cache.rglob("*") if p.is_file()
                 and p.parent.name != "hashes"]
    assert leftovers == []
