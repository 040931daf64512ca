"""FASTA indexes and cached copies are checked against the bytes before they are trusted."""

from __future__ import annotations

import lzma

from engine.io import open_sequences
from engine.io.fasta import read_fai


def test_the_fai_beside_a_file_with_an_empty_record_leaves_it_out_as_samtools_does(tmp_path):
    path = tmp_path / "e.fa"
    path.write_text(">a\nACGTACGT\nACG\n>empty2\n>c\nACGT\n")
    with open_sequences(path) as sf:
        assert [(r.id, len(r)) for r in sf] == [("a", 11), ("empty2", 0), ("c", 4)]
    beside = read_fai(str(path) + ".fai")
    # samtools faidx writes exactly these two lines for this file (checked with pysam 0.22)
    assert [(e.name, e.length, e.offset, e.linebases, e.linewidth) for e in beside] == [
        ("a", 11, 3, 8, 9), ("c", 4, 27, 4, 5)]
    with open_sequences(path) as sf:  # reopened: the empty record is still listed
        assert [r.id for r in sf] == ["a", "empty2", "c"]


def test_a_fai_claiming_more_than_the_file_holds_is_ignored_and_rebuilt(tmp_path):
    path = tmp_path / "x.fa"
    path.write_text(">one\nACGTAC\nGT\n>two\nGGG\n")
    (tmp_path / "x.fa.fai").write_text("one\t5000000000000\t5\t6\t7\ntwo\t3\t20\t3\t4\n")
    with open_sequences(path) as sf:
        assert [(r.id, r.fetch()) for r in sf] == [("one", b"ACGTACGT"), ("two", b"GGG")]


def test_a_truncated_or_swapped_decompressed_copy_is_made_again(tmp_path, isolated_cache):
    seq = "ACGT" * 5000
    path = tmp_path / "x.fa.xz"
    path.write_bytes(lzma.compress(f">x\n{seq}\n".encode()))
    with open_sequences(path) as sf:
        assert len(sf[0]) == len(seq)
    (copy,) = (isolated_cache / "decompressed").glob("*.bin")
    for damage in (lambda b: b[: len(b) // 2], lambda b: b">y\n" + b"G" * (len(b) - 3), bytes):
        copy.write_bytes(damage(copy.read_bytes()))
        for cached in (isolated_cache / "normalised", isolated_cache / "fai"):
            for entry in cached.glob("*") if cached.exists() else ():
                entry.unlink()
        with open_sequences(path) as sf:
            assert (sf[0].id, sf[0].fetch()) == ("x", seq.encode())


def test_a_gff3_bomb_is_refused_from_the_stream_leaving_nothing_in_the_cache(
        tmp_path, isolated_cache):
    import pytest

    from engine.errors import BytescopeError
    from tests.fuzz.corpus import streamed_gzip

    bomb = streamed_gzip(tmp_path / "bomb.gff3.gz", b"##gff-version 3\n#", b"#", 64 << 20)
    with pytest.raises(BytescopeError, match="line longer than"):
        open_sequences(bomb)
    assert sum(f.stat().st_size for f in isolated_cache.rglob("*") if f.is_file()) < 1 << 20


def test_temporaries_of_a_dead_writer_in_a_cache_folder_go_when_the_folder_is_used(
        isolated_cache):
    import subprocess
    import sys

    from engine.io.cache import cache_dir

    folder = cache_dir("decompressed")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    from engine.atomic import _HOST

    stale = folder / f".abc.bin.{_HOST}.{dead}.k2j4h5g6.tmp"
    stale.write_bytes(b"half")
    cache_dir("decompressed")
    assert not stale.exists()
