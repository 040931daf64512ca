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
