"""The content hash: BLAKE2b-128 of the bytes, computed once per file identity and remembered
across processes; any change to the file (even one that keeps its size and mtime) or a file
swapped in its place is hashed again."""

from __future__ import annotations

import hashlib
import os

import engine.io.cache as cache
from engine.io.cache import _identity_key, cache_dir, content_hash, file_identity


def blake(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def forget() -> None:
    cache._HASHES.clear()  # as a new process starts


def test_the_hash_is_blake2b_of_the_bytes_and_is_remembered_on_disk(tmp_path):
    path = tmp_path / "a.fa"
    path.write_bytes(b">a\nACGT\n" * 1000)
    assert content_hash(path) == blake(path.read_bytes())
    memo = cache_dir("hashes") / f"{_identity_key(file_identity(path))}.txt"
    assert memo.read_text().strip() == blake(path.read_bytes())
    # a new process trusts the memo while the file's identity holds: it reads no bytes
    memo.write_text("0" * 32 + "\n")
    forget()
    assert content_hash(path) == "0" * 32
    memo.write_text("not a hash\n")  # a damaged memo is ignored and rewritten
    forget()
    assert content_hash(path) == blake(path.read_bytes())
    assert memo.read_text().strip() == blake(path.read_bytes())


def test_a_change_that_keeps_size_and_mtime_is_hashed_again(tmp_path):
    path = tmp_path / "a.fa"
    path.write_bytes(b">a\nACGT\n")
    before = content_hash(path)
    st = os.stat(path)
    path.write_bytes(b">a\nTTTT\n")  # same size
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # same mtime; the ctime moved on
    forget()
    after = content_hash(path)
    assert after != before and after == blake(b">a\nTTTT\n")


def test_a_file_swapped_in_place_is_hashed_again(tmp_path):
    path, other = tmp_path / "a.fa", tmp_path / "b.fa"
    path.write_bytes(b">a\nACGT\n")
    other.write_bytes(b">a\nGGGG\n")
    assert content_hash(path) == blake(b">a\nACGT\n")
    os.replace(other, path)  # another inode under the same name
    assert content_hash(path) == blake(b">a\nGGGG\n")
