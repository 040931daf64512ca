"""Hypothesis mutates valid files of every format (bytes flipped, inserted, deleted, lines
duplicated, the file cut); reading each must succeed or raise one of our errors with a
one-line message, never another exception. Runs in-process: thousands of inputs a minute.

``BYTESCOPE_FUZZ_EXAMPLES=N`` sets the number of mutations per format (default 400)."""

from __future__ import annotations

import gzip
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import BytescopeError
from engine.io import open_sequences
from engine.io.formats import open_annotations
from engine.io.summary import summarise_records

from .conftest import TRIED
from .corpus import EMBL, GENBANK, GOOD_BED, GOOD_FASTA, GOOD_FASTQ, GOOD_GFF3

EXAMPLES = int(os.environ.get("BYTESCOPE_FUZZ_EXAMPLES", "400"))
FIXED = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

SEEDS = {
    "x.fa": GOOD_FASTA.encode()[:1200],
    "x.fq": GOOD_FASTQ.encode()[:800],
    "x.gff3": (GOOD_GFF3 + "##FASTA\n>one\n" + GOOD_FASTA.split("\n", 1)[1][:400]).encode(),
    "x.gb": GENBANK.encode(),
    "x.embl": EMBL.encode(),
}
ANNOTATIONS = {"a.gff3": GOOD_GFF3.encode(), "a.bed": GOOD_BED.encode(), "a.gb": GENBANK.encode()}


@st.composite
def mutated(draw, seed: bytes) -> bytes:
    """``seed`` after 1-4 edits; bytes are drawn from the ones that break parsers most."""
    data = bytearray(seed)
    special = st.sampled_from(b"\x00\r\n\t >@+#;:.-0123456789ACGTN\xff\xfe(),")
    for _ in range(draw(st.integers(1, 4))):
        edit = draw(st.sampled_from(["flip", "insert", "delete", "cut", "repeat", "swap"]))
        i = draw(st.integers(0, max(0, len(data) - 1)))
        if edit == "flip" and data:
            data[i] = draw(special)
        elif edit == "insert":
            data[i:i] = bytes(draw(st.lists(special, min_size=1, max_size=8)))
        elif edit == "delete":
            del data[i:i + draw(st.integers(1, 40))]
        elif edit == "cut":
            del data[i:]
        elif edit == "repeat":
            j = min(len(data), i + draw(st.integers(1, 200)))
            data[j:j] = data[i:j]
        elif edit == "swap" and data:
            j = draw(st.integers(0, len(data) - 1))
            data[i], data[j] = data[j], data[i]
    return bytes(data)


def read_sequences(path: Path) -> None:
    """What ``info`` does: open, summarise every record, fetch every base."""
    with open_sequences(path) as sequences:
        rows = summarise_records(list(sequences))
        for record, row in zip(sequences, rows, strict=True):
            assert len(record.fetch()) == row["length"] == len(record)


def expect_clean(action, path: Path) -> None:
    TRIED["mutations"] += 1
    try:
        action(path)
    except BytescopeError as error:
        assert "\n" not in str(error), str(error)


@pytest.mark.parametrize("name", list(SEEDS))
def test_a_mutated_sequence_file_reads_or_fails_with_one_line(name):
    @FIXED
    @given(data=mutated(SEEDS[name]), compress=st.booleans())
    def check(data: bytes, compress: bool) -> None:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder, name + (".gz" if compress else ""))
            path.write_bytes(gzip.compress(data) if compress else data)
            expect_clean(read_sequences, path)

    check()


@pytest.mark.parametrize("name", list(ANNOTATIONS))
def test_a_mutated_annotation_file_reads_or_fails_with_one_line(name):
    @FIXED
    @given(data=mutated(ANNOTATIONS[name]))
    def check(data: bytes) -> None:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder, name)
            path.write_bytes(data)
            expect_clean(open_annotations, path)

    check()


def test_a_mutated_gzip_stream_fails_with_one_line():
    """Edits inside the compressed bytes themselves (CRC, lengths, deflate blocks)."""
    packed = gzip.compress(GOOD_FASTA.encode())

    @FIXED
    @given(data=mutated(packed))
    def check(data: bytes) -> None:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder, "x.fa.gz")
            path.write_bytes(data)
            expect_clean(read_sequences, path)

    check()
