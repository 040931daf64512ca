"""FASTQ streaming, compact storage, per-read statistics and errors."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import FormatError, InputError
from engine.io import fastq
from engine.io.fastq import iter_fastq, load_fastq, read_fastq

SMALL = (
    "@r1 first read\n"
    "GGCCAATTNN\n"
    "+\n"
    "IIIIIIIII#\n"
    "@r2\n"
    "nnnn\n"
    "+r2\n"
    "!!!!\n"
    "@r3 third\tread\n"
    "acgta\n"
    "+\n"
    "ABCDE\n"
)


def write(tmp_path, name: str, data: str | bytes):
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def parse_fastq_text(text: str) -> list[tuple[str, str, str]]:
    """Independent parse: (header, sequence, quality) from every four lines."""
    lines = text.splitlines()
    return [(lines[i][1:], lines[i + 1], lines[i + 3]) for i in range(0, len(lines), 4)]


# -- records ------------------------------------------------------------------------------------


def test_reads_become_records_with_id_description_and_quality(tmp_path):
    sf = read_fastq(write(tmp_path, "a.fq", SMALL))
    assert len(sf) == 3
    first = sf[0]
    assert (first.id, first.description, first.length) == ("r1", "first read", 10)
    assert first.fetch() == b"GGCCAATTNN"
    assert first.fetch(2, 5) == b"CCA"
    assert first.quality == b"IIIIIIIII#"
    assert sf.format == "fastq"


def test_reads_are_found_by_id_and_negative_index(tmp_path):
    sf = read_fastq(write(tmp_path, "a.fq", SMALL))
    assert sf["r2"].fetch() == b"nnnn"
    assert sf[-1].id == "r3"
    assert sf[-1].description == "third\tread"
    assert sf.ids == ["r1", "r2", "r3"]
    assert [r.id for r in sf[1:]] == ["r2", "r3"]


def test_index_past_the_end_raises_index_error(tmp_path):
    sf = read_fastq(write(tmp_path, "a.fq", SMALL))
    with pytest.raises(IndexError):
        sf[3]


def test_iter_fastq_streams_the_same_reads(tmp_path):
    reads = list(iter_fastq(write(tmp_path, "a.fq", SMALL)))
    assert [(r.id, r.description, r.sequence, r.quality) for r in reads] == [
        ("r1", "first read", b"GGCCAATTNN", b"IIIIIIIII#"),
        ("r2", "", b"nnnn", b"!!!!"),
        ("r3", "third\tread", b"acgta", b"ABCDE"),
    ]


def test_gzip_fastq_reports_its_compression(tmp_path):
    sf = read_fastq(write(tmp_path, "a.fq.gz", gzip.compress(SMALL.encode())))
    assert sf.compression == "gzip"
    assert sf[2].fetch() == b"acgta"


# -- statistics ---------------------------------------------------------------------------------


def test_per_read_counts_are_case_insensitive(tmp_path):
    reads = load_fastq(write(tmp_path, "a.fq", SMALL))
    assert reads.lengths().tolist() == [10, 4, 5]
    assert reads.gc_counts().tolist() == [4, 0, 2]
    assert reads.n_counts().tolist() == [2, 4, 0]
    assert reads.acgt_counts().tolist() == [8, 0, 5]


def test_acgt_counts_include_u(tmp_path):
    reads = load_fastq(write(tmp_path, "rna.fq", "@u\nACGUuN\n+\n!!!!!!\n"))
    assert reads.acgt_counts().tolist() == [5]


def test_summaries_give_gc_percent_over_acgt(tmp_path):
    rows = read_fastq(write(tmp_path, "a.fq", SMALL)).summaries()
    assert [r["id"] for r in rows] == ["r1", "r2", "r3"]
    assert [r["gc_percent"] for r in rows] == [50.0, None, 40.0]  # 4/8, no ACGT, 2/5
    assert [r["n_count"] for r in rows] == [2, 4, 0]
    assert {r["alphabet"] for r in rows} == {"dna"}


def test_summaries_follow_an_alphabet_set_on_the_reads(tmp_path):
    sf = read_fastq(write(tmp_path, "a.fq", SMALL))
    sf.reads.alphabet = "protein"
    rows = sf.summaries()
    assert {(r["alphabet"], r["alphabet_confidence"], r["gc_percent"]) for r in rows} == {
        ("protein", 1.0, None)
    }
    assert sf[0].alphabet == "protein"


def test_empty_reads_count_zero_and_leave_neighbours_right(tmp_path, monkeypatch):
    # Blocks of two reads: the block boundaries fall between and on empty reads.
    monkeypatch.setattr(fastq, "_BLOCK_READS", 2)
    text = "@a\nGG\n+\n!!\n@b\n\n+\n\n@c\n\n+\n\n@d\nGCN\n+\n!!!\n@e\nA\n+\n!\n"
    reads = load_fastq(write(tmp_path, "a.fq", text))
    assert reads.lengths().tolist() == [2, 0, 0, 3, 1]
    assert reads.gc_counts().tolist() == [2, 0, 0, 2, 0]
    assert reads.n_counts().tolist() == [0, 0, 0, 1, 0]


fastq_reads = st.lists(
    st.tuples(
        st.text("ACGTNacgtn", max_size=40),
        st.text(st.characters(min_codepoint=33, max_codepoint=74), min_size=40, max_size=40),
    ),
    min_size=1,
    max_size=30,
)


@settings(max_examples=50, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(reads=fastq_reads, block=st.integers(1, 5))
def test_random_reads_round_trip_with_counts(tmp_path, monkeypatch, reads, block):
    monkeypatch.setattr(fastq, "_BLOCK_READS", block)
    text = "".join(f"@read{i}\n{s}\n+\n{q[: len(s)]}\n" for i, (s, q) in enumerate(reads))
    stored = load_fastq(write(tmp_path, "random.fq", text))
    assert len(stored) == len(reads)
    for i, (seq, qual) in enumerate(reads):
        assert stored[i].fetch() == seq.encode()
        assert stored[i].quality == qual[: len(seq)].encode()
    upper = [s.upper() for s, _ in reads]
    assert stored.gc_counts().tolist() == [s.count("G") + s.count("C") for s in upper]
    assert stored.n_counts().tolist() == [s.count("N") for s in upper]


def test_lambda_reads_match_an_independent_count(shared_data):
    path = shared_data / "lambda_reads_1.fq.gz"
    text = gzip.decompress(path.read_bytes()).decode()
    expected = parse_fastq_text(text)
    assert len(expected) == text.count("\n") // 4 == 10_000
    reads = load_fastq(path)
    assert len(reads) == len(expected)
    assert reads.ids == [header.split()[0] for header, _, _ in expected]
    assert reads.lengths().tolist() == [len(seq) for _, seq, _ in expected]
    assert reads.gc_counts().tolist() == [
        seq.upper().count("G") + seq.upper().count("C") for _, seq, _ in expected
    ]
    assert reads.n_counts().tolist() == [seq.upper().count("N") for _, seq, _ in expected]


def test_lambda_reads_records_carry_their_bases_and_qualities(shared_data):
    path = shared_data / "lambda_reads_1.fq.gz"
    expected = parse_fastq_text(gzip.decompress(path.read_bytes()).decode())
    sf = read_fastq(path)
    for i in (0, 1, 4999, 9999):
        header, seq, qual = expected[i]
        assert (sf[i].id, sf[i].fetch(), sf[i].quality) == (header, seq.encode(), qual.encode())
    streamed = [r.sequence for r in iter_fastq(path)]
    assert streamed == [seq.encode() for _, seq, _ in expected]


# -- errors -------------------------------------------------------------------------------------


def test_quality_shorter_than_sequence_names_file_and_line(tmp_path):
    path = write(tmp_path, "bad.fq", "@r1\nACGT\n+\nIIII\n@r2\nACGTA\n+\nIIII\n")
    with pytest.raises(FormatError) as info:
        read_fastq(path)
    assert info.value.path == str(path)
    assert info.value.line == 8  # the second read's quality line
    assert "quality" in info.value.message and "sequence" in info.value.message
    assert str(info.value).startswith(f"{path}:8:")


def test_truncated_gzip_is_a_format_error(shared_data, tmp_path):
    data = (shared_data / "lambda_reads_1.fq.gz").read_bytes()
    path = write(tmp_path, "cut.fq.gz", data[: len(data) // 2])
    with pytest.raises(FormatError, match="truncated gzip") as info:
        read_fastq(path)
    assert info.value.path == str(path)


def test_truncated_gzip_of_small_file_is_a_format_error(tmp_path):
    data = gzip.compress((SMALL * 50).encode())
    path = write(tmp_path, "cut.fq.gz", data[:-20])
    with pytest.raises(FormatError, match="truncated gzip"):
        list(iter_fastq(path))


def test_record_cut_mid_way_is_a_format_error_with_line(tmp_path):
    path = write(tmp_path, "cut.fq", SMALL + "@r4\nACGT\n")
    with pytest.raises(FormatError) as info:
        read_fastq(path)
    assert info.value.line is not None and info.value.line >= 13


def test_empty_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="empty"):
        read_fastq(write(tmp_path, "empty.fq", ""))


def test_empty_gzip_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="no reads"):
        read_fastq(write(tmp_path, "empty.fq.gz", gzip.compress(b"")))


def test_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_fastq(tmp_path / "absent.fq")


def test_binary_garbage_is_a_format_error(tmp_path):
    path = write(tmp_path, "noise.fq", bytes(np.random.default_rng(1).integers(128, 256, 500)))
    with pytest.raises(FormatError, match="non-ASCII"):
        read_fastq(path)


def test_more_reads_than_the_limit_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="more than 2 reads"):
        read_fastq(write(tmp_path, "a.fq", SMALL), max_reads=2)
