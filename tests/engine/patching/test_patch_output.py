"""BED, TSV, JSON and bedGraph writers."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from engine.patching import PatchConfig, Patcher
from engine.patching.output import (
    bed_scores,
    patch_rows,
    write_bed,
    write_bedgraph,
    write_json,
    write_tsv,
)

H = np.array([0.0, 5.0, 1.0, 1.0, 5.0, 2.0])  # entropy mode, θ = 1: starts 0, 2, 5


@pytest.fixture
def result():
    return Patcher(PatchConfig(mode="entropy", threshold=1.0)).patch(H)


def test_rows_are_in_record_coordinates_with_mean_entropies(result):
    rows = patch_rows(result, offset=100, entropies=H)
    assert rows.index.tolist() == [0, 1, 2]
    assert rows.start.tolist() == [100, 102, 105]
    assert rows.end.tolist() == [102, 105, 106]
    assert rows.mean_entropy.tolist() == pytest.approx([2.5, 7 / 3, 2.0])


def test_bed_score_is_mean_entropy_over_ln256_times_1000():
    scores = bed_scores(np.array([0.0, math.log(256) / 2, 9.0, -1.0]), 4)
    assert scores.tolist() == [0, 500, 1000, 0]


def test_bed_scores_are_zero_without_entropies():
    assert bed_scores(None, 3).tolist() == [0, 0, 0]


def test_bed_file_is_tab_separated_bed6_with_a_track_line(result, tmp_path):
    path = tmp_path / "p.bed"
    write_bed(path, "chrX", patch_rows(result, offset=10, entropies=H), track_name="x")
    lines = path.read_text().splitlines()
    assert lines[0] == 'track name="x" useScore=1'
    assert lines[1:] == [
        f"chrX\t10\t12\t0\t{round(2.5 / math.log(256) * 1000)}\t.",
        f"chrX\t12\t15\t1\t{round(7 / 3 / math.log(256) * 1000)}\t.",
        f"chrX\t15\t16\t2\t{round(2.0 / math.log(256) * 1000)}\t.",
    ]


def test_tsv_has_a_header_and_na_without_entropies(result, tmp_path):
    path = tmp_path / "p.tsv"
    write_tsv(path, "chrX", patch_rows(result))
    lines = path.read_text().splitlines()
    assert lines[0].split("\t") == ["record", "start", "end", "index", "length", "mean_entropy"]
    assert lines[1].split("\t") == ["chrX", "0", "2", "0", "2", "NA"]
    assert len(lines) == 4


def test_json_holds_stats_starts_and_lengths(result, tmp_path):
    path = tmp_path / "p.json"
    write_json(path, result, "chrX", offset=7, extra={"region": [7, 13]})
    data = json.loads(path.read_text())
    assert data["record"] == "chrX"
    assert data["starts"] == [7, 9, 12]
    assert data["lengths"] == [2, 3, 1]
    assert data["stats"]["count"] == 3
    assert data["stats"]["threshold"] == 1.0
    assert data["config"]["mode"] == "entropy"
    assert data["region"] == [7, 13]


def test_bedgraph_merges_runs_of_equal_values(tmp_path):
    path = tmp_path / "h.bedgraph"
    write_bedgraph(path, "chrX", np.array([1.0, 1.0, 2.5, 1.0]), offset=50, track_name="h")
    lines = path.read_text().splitlines()
    assert lines[0] == 'track type=bedGraph name="h"'
    assert lines[1:] == [
        "chrX\t50\t52\t1.0000",
        "chrX\t52\t53\t2.5000",
        "chrX\t53\t54\t1.0000",
    ]


def test_writers_leave_no_temporary_files(result, tmp_path):
    write_bed(tmp_path / "p.bed", "c", patch_rows(result))
    write_tsv(tmp_path / "p.tsv", "c", patch_rows(result))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.bed", "p.tsv"]
