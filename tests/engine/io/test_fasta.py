"""FASTA reading, .fai indexing and random access, checked against independent parsing."""

from __future__ import annotations

import bz2
import gzip
import lzma
import os

import numpy as np
import pytest
from Bio import bgzf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import FormatError, InputError
from engine.io import open_sequences
from engine.io.fasta import read_fai


def parse_fasta_text(text: str) -> dict[str, str]:
    """An independent, obviously-correct FASTA parser for checking results."""
    out: dict[str, str] = {}
    name = None
    for line in text.replace("\r\n", "\n").split("\n"):
        if line.startswith(">"):
            name = line[1:].split()[0]
            out[name] = ""
        elif name is not None:
            out[name] += line.strip()
    return out


def test_lambda_id_and_length_match_an_independent_count(lambda_path):
    expected = parse_fasta_text(lambda_path.read_text())
    with open_sequences(lambda_path) as sf:
        assert sf.ids == list(expected)
        record = sf[0]
        assert record.length == 48502 == len(expected[record.id])
        assert record.fetch().decode() == expected[record.id]
        assert record.alphabet == "dna"


@pytest.mark.slow  # seconds, not milliseconds: after the README's command
def test_hs11286_xz_ids_and_lengths_match_an_independent_count(shared_data):
    path = shared_data / "klebsiella_hs11286.fna.xz"
    expected = parse_fasta_text(lzma.open(path, "rt").read())
    with open_sequences(path) as sf:
        assert sf.compression == "xz"
        assert sf.ids == list(expected)
        assert [r.length for r in sf] == [len(s) for s in expected.values()]
        assert sum(r.length for r in sf) == 5_682_322
        chrom = expected["CP003200.1"]
        for start in (0, 1, 59, 60, 61, 2_000_000, len(chrom) - 100):
            assert sf.fetch("CP003200.1", start, start + 100).decode() == chrom[start : start + 100]


def test_proteins_and_transcripts_open_with_their_alphabets(shared_data):
    with open_sequences(shared_data / "uniprot_2000.fasta.gz") as sf:
        assert len(sf) == 2000
        assert {r.alphabet for r in sf} == {"protein"}
    with open_sequences(shared_data / "transcripts.fasta.gz") as sf:
        assert len(sf) == 14
        assert all(r.alphabet in ("dna", "rna") for r in sf)


def test_fai_beside_the_file_matches_samtools_columns(tmp_path):
    text = ">a first record\nACGTA\nCGTAC\nGG\n>b\nTTTT\n"
    path = tmp_path / "x.fa"
    path.write_text(text)
    with open_sequences(path) as sf:
        assert sf.index_path == str(path) + ".fai"
    # NAME LENGTH OFFSET LINEBASES LINEWIDTH, offsets found by searching the text directly
    rows = [line.split("\t") for line in (tmp_path / "x.fa.fai").read_text().splitlines()]
    assert rows == [
        ["a", "12", str(text.index("ACGTA")), "5", "6"],
        ["b", "4", str(text.index("TTTT")), "4", "5"],
    ]


def test_crlf_line_endings_give_linewidth_plus_two(tmp_path):
    path = tmp_path / "w.fa"
    path.write_bytes(b">r desc\r\nACGT\r\nAC\r\n")
    with open_sequences(path) as sf:
        assert sf["r"].fetch() == b"ACGTAC"
        assert sf["r"].description == "desc"
        assert sf.fetch("r", 3, 5) == b"TA"
    (entry,) = read_fai(str(path) + ".fai")
    assert (entry.linebases, entry.linewidth) == (4, 6)


def test_unwritable_index_location_falls_back_to_the_cache(tmp_path, isolated_cache):
    path = tmp_path / "y.fa"
    path.write_text(">r\nACGT\nAC\n")
    (tmp_path / "y.fa.fai").mkdir()  # something that cannot be written as a file
    with open_sequences(path) as sf:
        assert sf.fetch("r") == b"ACGTAC"
        assert str(isolated_cache) in sf.index_path


def test_stale_index_is_rebuilt_after_the_file_changes(tmp_path):
    path = tmp_path / "z.fa"
    path.write_text(">r\nACGT\n")
    with open_sequences(path) as sf:
        assert sf.fetch("r") == b"ACGT"
    path.write_text(">r\nACGTACGTAA\n>s\nGG\n")
    fai = tmp_path / "z.fa.fai"
    os.utime(fai, ns=(0, 0))  # the index is now older than the file
    with open_sequences(path) as sf:
        assert sf.ids == ["r", "s"]
        assert sf.fetch("r") == b"ACGTACGTAA"


def test_inconsistent_line_widths_still_open_through_a_normalised_copy(tmp_path):
    text = ">a\nACG\nTTTTT\nA\n\n>b\n\nCC\nG\n"
    path = tmp_path / "ragged.fa"
    path.write_text(text)
    with open_sequences(path) as sf:
        assert sf.fetch("a") == b"ACGTTTTTA"
        assert sf.fetch("b") == b"CCG"
        assert sf.fetch("a", 2, 7) == b"GTTTT"
        assert "normalised" in sf.index_path
    assert not (tmp_path / "ragged.fa.fai").exists()


def test_soft_masking_is_kept_and_can_be_upper_cased(tmp_path):
    path = tmp_path / "m.fa"
    path.write_text(">r\nACgtnnNNRYac\n")
    with open_sequences(path) as sf:
        assert sf.fetch("r") == b"ACgtnnNNRYac"
        assert sf.fetch("r", upper=True) == b"ACGTNNNNRYAC"


def test_empty_record_and_blank_lines_between_records(tmp_path):
    path = tmp_path / "e.fa"
    path.write_text("\n>empty\n>r\nAC\n\n\n>s\nG\n")
    with open_sequences(path) as sf:
        assert sf.ids == ["empty", "r", "s"]
        assert [r.length for r in sf] == [0, 2, 1]
        assert sf.fetch("r") == b"AC" and sf.fetch("s") == b"G"


@pytest.mark.parametrize("compress", ["gzip", "bgzip", "xz", "bzip2"])
def test_compressed_fasta_is_decompressed_once_into_the_cache(tmp_path, compress, isolated_cache):
    text = b">r one\nACGTACGT\nACG\n>s\nTT\n"
    path = tmp_path / f"c.fa.{compress}"
    if compress == "bgzip":
        with bgzf.BgzfWriter(str(path), "wb") as out:
            out.write(text)
    else:
        opener = {"gzip": gzip.open, "xz": lzma.open, "bzip2": bz2.open}[compress]
        with opener(path, "wb") as out:
            out.write(text)
    with open_sequences(path) as sf:
        assert sf.compression == compress
        assert sf.fetch("r") == b"ACGTACGTACG"
        assert str(isolated_cache) in sf.index_path
    copies = list((isolated_cache / "decompressed").iterdir())
    with open_sequences(path) as sf:
        assert sf.fetch("s") == b"TT"
    assert sorted((isolated_cache / "decompressed").iterdir()) == sorted(copies)


def test_fetch_out_of_range_names_the_record(lambda_path):
    with open_sequences(lambda_path) as sf, pytest.raises(InputError, match="outside record"):
        sf[0].fetch(48_000, 48_503)


def test_unknown_record_id_lists_the_known_ones(lambda_path):
    with open_sequences(lambda_path) as sf, pytest.raises(InputError, match="no record 'chr9'"):
        sf["chr9"]


# --- errors --------------------------------------------------------------------------------


def test_sequence_before_the_first_header_names_the_line(tmp_path):
    path = tmp_path / "bad.fa"
    path.write_text("\nACGT\n>r\nAC\n")
    with pytest.raises(FormatError, match="before the first") as info:
        open_sequences(path)
    assert info.value.line == 2 and info.value.path == str(path)


def test_random_bytes_named_fasta_is_a_format_error(tmp_path):
    path = tmp_path / "noise.fa"
    path.write_bytes(np.random.default_rng(1).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    with pytest.raises(FormatError) as info:
        open_sequences(path)
    assert str(path) in str(info.value)


def test_binary_byte_inside_a_sequence_is_reported_with_line_and_offset(tmp_path):
    path = tmp_path / "bin.fa"
    path.write_bytes(b">r\nACGT\nAC\x00T\n")
    with pytest.raises(FormatError, match="0x00 at offset 10") as info:
        open_sequences(path)
    assert info.value.line == 3


def test_duplicate_ids_are_reported(tmp_path):
    path = tmp_path / "dup.fa"
    path.write_text(">r\nAC\n>r\nGG\n")
    with pytest.raises(FormatError, match="duplicate record id 'r'") as info:
        open_sequences(path)
    assert info.value.line == 3


@pytest.mark.parametrize("compress", ["gzip", "xz"])
def test_truncated_compressed_file_is_a_format_error(tmp_path, compress):
    payload = b">r\n" + b"ACGT" * 50_000 + b"\n"
    blob = gzip.compress(payload) if compress == "gzip" else lzma.compress(payload)
    path = tmp_path / f"t.fa.{compress}"
    path.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(FormatError, match=f"truncated {compress}"):
        open_sequences(path)


def test_missing_and_empty_files_are_input_errors(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        open_sequences(tmp_path / "nope.fa")
    (tmp_path / "empty.fa").write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        open_sequences(tmp_path / "empty.fa")


# --- property tests ------------------------------------------------------------------------

record_st = st.tuples(
    st.text("abcdefghijklmnopqrstuvwxyz0123456789_.|", min_size=1, max_size=12),
    st.text("ACGTNacgtnRYKM", min_size=0, max_size=300),
    st.lists(st.integers(1, 90), min_size=1, max_size=6),  # line widths, cycled (may be ragged)
)


def write_fasta(records, newline: str, blank_between: bool) -> str:
    parts = []
    for name, seq, widths in records:
        parts.append(f">{name} some description{newline}")
        i = k = 0
        while i < len(seq):
            w = widths[k % len(widths)]
            parts.append(seq[i : i + w] + newline)
            i, k = i + w, k + 1
        if blank_between:
            parts.append(newline)
    return "".join(parts)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    records=st.lists(record_st, min_size=1, max_size=5, unique_by=lambda r: r[0]),
    newline=st.sampled_from(["\n", "\r\n"]),
    blank=st.booleans(),
    compress=st.sampled_from([None, "gzip", "xz"]),
    data=st.data(),
)
def test_random_records_with_random_line_widths_round_trip(
    tmp_path_factory, records, newline, blank, compress, data
):
    folder = tmp_path_factory.mktemp("rt")
    raw = write_fasta(records, newline, blank).encode()
    path = folder / ("r.fa" + {None: "", "gzip": ".gz", "xz": ".xz"}[compress])
    path.write_bytes({None: raw, "gzip": gzip.compress(raw), "xz": lzma.compress(raw)}[compress])
    with open_sequences(path) as sf:
        assert sf.ids == [name for name, _, _ in records]
        for (_name, seq, _), record in zip(records, sf, strict=True):
            assert record.description == "some description"
            assert record.fetch().decode() == seq
            if seq:
                a = data.draw(st.integers(0, len(seq)))
                b = data.draw(st.integers(a, len(seq)))
                assert record.fetch(a, b).decode() == seq[a:b]


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_random_fetch_windows_equal_slices_of_lambda(data):
    from tests.conftest import LAMBDA

    seq = parse_fasta_text(LAMBDA.read_text())
    (name, full), = seq.items()
    a = data.draw(st.integers(0, len(full)))
    b = data.draw(st.integers(a, min(len(full), a + 20_000)))
    with open_sequences(LAMBDA) as sf:
        assert sf.fetch(name, a, b).decode() == full[a:b]


def test_classic_mac_line_ends_read_as_line_breaks(tmp_path):
    path = tmp_path / "cr.fa"
    path.write_bytes(b">one first\rACGTACGTAC\rGTAC\r>two\rTTTTGGGG\r")
    for _ in range(2):  # first open normalises the copy; the reopen finds it
        with open_sequences(path) as sf:
            got = [(r.id, r.description, r.length, r.fetch(0, r.length)) for r in sf]
        assert got == [("one", "first", 14, b"ACGTACGTACGTAC"), ("two", "", 8, b"TTTTGGGG")]
