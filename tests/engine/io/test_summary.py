"""Per-record summaries: the batched table gives, row for row, what summarising each record on
its own gives (alphabet rule, GC%, N count, rounding), for short and long records alike."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.io import open_sequences
from engine.io.alphabet import detect_alphabet
from engine.io.records import MemorySource, Record
from engine.io.summary import (
    BATCH_LENGTH,
    SummaryTable,
    summarise_file,
    summarise_record,
    summarise_records,
    summary_ids,
    summary_lengths,
)

# what records are made of: nucleic and protein letters, soft-masking, IUPAC, text, any byte
ALPHABETS = [b"ACGT", b"acgtn", b"ACGU", b"ACGTNRY-", b"ACDEFGHIKLMNPQRSTVWY*", b"UUUT",
             bytes(range(32, 127)), b"\t\r\n ab", bytes(range(256)), b"N"]


def records_of(samples: list[bytes]) -> list[Record]:
    return [Record(f"r{i}", len(s), MemorySource(s), description=f"d{i}")
            for i, s in enumerate(samples)]


def one_by_one(samples: list[bytes]) -> list[dict]:
    return [summarise_record(r) for r in records_of(samples)]  # fresh records: no shared guess


@st.composite
def sample(draw) -> bytes:
    main, other = draw(st.sampled_from(ALPHABETS)), draw(st.sampled_from(ALPHABETS))
    length = draw(st.sampled_from([0, 1, 3, 30, 400, BATCH_LENGTH, BATCH_LENGTH + 1]))
    mixed = draw(st.integers(0, 3))  # a few bytes from another alphabet: near the 99% limit
    body = bytes(main[draw(st.integers(0, len(main) - 1))] for _ in range(min(length, 40)))
    body = (body * (length // max(len(body), 1) + 1))[:length]
    return bytes(other[:mixed]) + body


@settings(max_examples=60, deadline=None)
@given(st.lists(sample(), min_size=1, max_size=12))
def test_batched_rows_equal_the_record_by_record_rows(samples):
    assert list(summarise_records(records_of(samples))) == one_by_one(samples)


def test_many_mixed_records_agree_with_the_scalar_rules():
    import random

    rng = random.Random(5)
    samples = [bytes(rng.choice(a) if rng.random() < 0.97 else rng.choice(b)
                     for _ in range(rng.choice([0, 1, 7, 80, 700])))
               for a, b in ((rng.choice(ALPHABETS), rng.choice(ALPHABETS)) for _ in range(3000))]
    table = summarise_records(records_of(samples))
    assert list(table) == one_by_one(samples)
    names = {row["alphabet"] for row in table}
    assert {"dna", "rna", "protein", "text", "bytes"} <= names  # every branch of the rule ran
    assert all(detect_alphabet(s).name == row["alphabet"] for s, row in zip(samples, table,
                                                                          strict=True))


def test_an_alphabet_set_by_the_user_is_kept():
    records = records_of([b"ACGTACGT", b"MKVL"])
    records[0].alphabet = "protein"
    rows = list(summarise_records(records))
    assert rows[0]["alphabet"] == "protein" and rows[0]["alphabet_confidence"] == 1.0
    assert rows[0]["gc_percent"] is None and rows[1]["alphabet"] == "protein"


def test_the_table_indexes_and_slices_like_a_list():
    samples = [b"GGCC", b"AT", b"", b"MKVLW" * 2]
    table = summarise_records(records_of(samples))
    rows = one_by_one(samples)
    assert len(table) == 4 and table[-1] == rows[-1] and table[1:3] == rows[1:3]
    assert table[::2] == rows[::2]
    assert table[0]["gc_percent"] == 100.0 and table[1]["gc_percent"] == 0.0
    assert table[2]["alphabet"] == "bytes" and table[2]["n_count"] is None
    assert summary_ids(table) == ["r0", "r1", "r2", "r3"] == summary_ids(rows)
    assert summary_lengths(table).tolist() == [4, 2, 0, 10] == summary_lengths(rows).tolist()
    with pytest.raises(IndexError):
        table[4]


class Stop(Exception):
    """What a job's cancel check raises, in this test's own terms."""


def test_check_stops_a_long_summary():
    calls = []

    def check() -> None:
        calls.append(1)
        if len(calls) > 1:
            raise Stop

    records = records_of([b"ACGT" * 1000] * 3 + [b"A" * (BATCH_LENGTH + 1)] * 3)
    with pytest.raises(Stop):
        summarise_records(records, check=check)
    assert len(calls) == 2


def test_a_fasta_of_100k_records_is_summarised_as_columns(tmp_path):
    n = 100_000
    path = tmp_path / "many.fa"
    path.write_bytes(b"".join(b">r%d\n%s\n" % (i, b"ACGTN"[: 1 + i % 5]) for i in range(n)))
    with open_sequences(path) as sf:
        summary = summarise_file(sf)
    table = summary["records"]
    assert isinstance(table, SummaryTable) and len(table) == n
    assert table[n - 1] == {"id": "r99999", "description": "", "length": 5, "alphabet": "dna",
                            "alphabet_confidence": 0.2, "gc_percent": 50.0,
                            "n_count": 1, "feature_count": 0}
    assert int(table.lengths.sum()) == 3 * n


def test_the_byte_histogram_is_bincount_for_any_length():
    import numpy as np

    from engine.io.summary import byte_histogram

    rng = np.random.default_rng(3)
    for n in (0, 1, 3, 4, 1001):
        data = rng.integers(0, 256, n).astype(np.uint8)
        counts = np.zeros((4, 256), dtype=np.int64)
        byte_histogram(data, counts)
        assert (counts.sum(axis=0) == np.bincount(data, minlength=256)).all()


def test_counting_in_the_map_equals_counting_the_bases(tmp_path):
    import numpy as np

    from engine.io import open_sequences
    from engine.io.summary import record_counts

    rng = np.random.default_rng(4)
    bases = bytes(rng.choice(list(b"ACGTNacgt"), 1003).astype(np.uint8))
    lines = b"\r\n".join(bases[i:i + 60] for i in range(0, len(bases), 60))
    path = tmp_path / "crlf.fa"
    path.write_bytes(b">x\r\n" + lines + b"\r\n>y\r\nAC\r\n")
    with open_sequences(path) as sf:
        assert hasattr(sf[0]._source, "histogram")  # the in-place path is the one tested
        for record in sf:
            expected = np.bincount(record.array(), minlength=256)
            assert (record_counts(record) == expected).all()
