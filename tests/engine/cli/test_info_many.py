"""``bytescope info`` on files of many records: the JSON streamed with its schema kept, the text
table capped, the rows held as columns rather than one dict per record."""

from __future__ import annotations

import json
import tracemalloc

import pytest

from engine.cli import info, main
from engine.io import open_sequences
from engine.io.summary import summarise_file, summarise_records

N = 100_000


@pytest.fixture(scope="module")
def many(tmp_path_factory):
    """10^5 tiny records (1 to 5 bases), written with one join."""
    path = tmp_path_factory.mktemp("many") / "many.fa"
    path.write_bytes(b"".join(b">r%d rec %d\n%s\n" % (i, i, b"GATCN"[: 1 + i % 5])
                              for i in range(N)))
    return path


def test_json_lists_every_record_with_the_documented_keys(capsys, many):
    assert main(["info", str(many), "--json"]) == 0
    out = capsys.readouterr().out
    payload = json.loads(out)
    assert list(payload) == ["path", "format", "compression", "records", "unattached_features"]
    rows = payload["records"]
    assert len(rows) == N and [r["id"] for r in rows[:3]] == ["r0", "r1", "r2"]
    assert rows[-1] == {"id": "r99999", "description": "rec 99999", "length": 5,
                        "alphabet": "dna", "alphabet_confidence": 0.2, "gc_percent": 50.0,
                        "n_count": 1, "feature_count": 0}
    assert rows[0]["gc_percent"] == 100.0 and rows[3]["gc_percent"] == 50.0  # G; GATC
    assert out.count("\n") == 1  # compact beyond 10,000 rows, as before


def test_streamed_json_is_the_text_json_dumps_gives(tmp_path, monkeypatch, lambda_path):
    other = tmp_path / "p.fa"
    other.write_text(">p1 a protein\nMKVLAAGIVGLLLAQPEW\n>p2\nACGT\n")
    summaries = []
    for path in (lambda_path, other):
        with open_sequences(path) as sf:
            summaries.append(summarise_file(sf))
    monkeypatch.setattr(info, "INDENT_ROWS", 0)  # stream even these few rows
    monkeypatch.setattr(info, "JSON_BATCH", 1)  # ... one row per batch: every separator runs
    for payload in (summaries[1], summaries):
        out = tmp_path / "out.json"
        with out.open("w") as handle:
            info.write_json(payload, handle)
        assert out.read_text() == json.dumps(info._plain(payload)) + "\n"


def test_the_text_table_shows_the_first_rows_and_counts_the_rest(capsys, many):
    assert main(["info", str(many)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "100,000 records, 300,000 bytes" in out[0]
    assert out[-1].strip() == f"... and {N - info.MAX_ROWS:,} more records (--json lists all)"
    assert len(out) == 2 + info.MAX_ROWS + 1


def traced_peak(records) -> int:
    tracemalloc.start()
    try:
        summarise_records(records)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_summaries_grow_by_columns_not_a_dict_per_record(many):
    small, large = 20_000, 60_000  # both past one batch of records
    with open_sequences(many) as sf:  # the records themselves are the index's business
        peaks = [traced_peak(sf[:n]) for n in (small, large)]
    # per record: ~150 bytes of columns and batch arrays; a dict per record takes over 400
    per_record = (peaks[1] - peaks[0]) / (large - small)
    assert per_record < 250, per_record
