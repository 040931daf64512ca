"""``bytescope compare-annotations`` as a user runs it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from engine.cli import main
from engine.io import open_sequences
from engine.patching import PatchConfig, Patcher
from engine.patching.compare import boundary_agreement

GFF = """##gff-version 3
chrA\tt\tCDS\t101\t400\t.\t+\t0\tID=a
chrA\tt\tCDS\t501\t800\t.\t-\t0\tID=b
chrA\tt\ttRNA\t901\t976\t.\t+\t0\tID=c
chrA\tt\tgene\t101\t400\t.\t+\t.\tID=g
"""


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    seq = "".join(rng.choice(list("ACGT"), 1200))
    fasta = tmp_path / "a.fa"
    fasta.write_text(f">chrA\n{seq}\n")
    gff = tmp_path / "a.gff3"
    gff.write_text(GFF)
    entropies = tmp_path / "h.npy"
    np.save(entropies, (rng.random(1200) * 1.4).astype(np.float32))
    return fasta, gff, entropies


def test_json_reports_the_engine_result(capsys, files):
    fasta, gff, entropies = files
    args = [str(fasta), "--annotations", str(gff), "--mode", "entropy", "--threshold", "1.0",
            "--entropies", str(entropies), "--k", "3", "--json", "--trials", "5"]
    assert main(["compare-annotations", *args]) == 0
    payload = json.loads(capsys.readouterr().out)
    with open_sequences(fasta) as sf:
        record = sf[0]
        features = [f for f in __import__("engine.io", fromlist=["x"]).open_annotations(gff)]
        result = Patcher(PatchConfig(mode="entropy", threshold=1.0)).patch(np.load(entropies))
        expected = boundary_agreement(result.starts, features, record.length, k=3, trials=5)
    assert payload["n_features"] == 3 and payload["n_boundaries"] == result.count
    assert payload["observed"] == pytest.approx(expected.observed)
    assert payload["random"]["mean"] == pytest.approx(expected.random)
    assert payload["expected"] == pytest.approx(expected.expected)
    assert payload["random"]["seed"] == 0 and payload["patcher"]["threshold"] == 1.0


def test_text_output_names_both_fractions(capsys, files):
    fasta, gff, _ = files
    assert main(["compare-annotations", str(fasta), "--annotations", str(gff),
                 "--mode", "static", "--patch-size", "5"]) == 0
    out = capsys.readouterr().out
    assert "patches" in out and "random" in out and "expectation" in out and "chance" in out


def test_a_gff3_with_sequences_brings_its_own_features(capsys, tmp_path):
    path = tmp_path / "both.gff3"
    path.write_text(GFF + "##FASTA\n>chrA\n" + "ACGT" * 300 + "\n")
    assert main(["compare-annotations", str(path), "--mode", "static", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n_features"] == 3


def test_no_features_is_one_line_and_exit_2(capsys, files):
    fasta, _, _ = files
    assert main(["compare-annotations", str(fasta), "--mode", "static"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no features on record 'chrA'" in err
    assert str(fasta) in err and "--annotations" in err


# 0-based half-open, as BED is: a + interval, a - interval, one without a strand, one covering
# the whole record (left out: its start is the record's, always a patch start)
BED = "track name=test\nchrA\t100\t333\tr1\t0\t+\nchrA\t450\t800\tr2\t0\t-\n" \
      "chrA\t905\t976\tr3\nchrA\t0\t1200\tall\t0\t+\n"


def compare_json(capsys, *argv) -> dict:
    assert main(["compare-annotations", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize(("anchor", "observed"), [("start", 1 / 3), ("five_prime", 2 / 3)])
def test_bed_intervals_are_compared_when_there_are_no_cds(capsys, files, tmp_path, anchor,
                                                          observed):
    fasta, _, _ = files
    bed = tmp_path / "x.bed"
    bed.write_text(BED)
    # static patches of 100 start at 0, 100, ..., 1100; k = 2
    payload = compare_json(capsys, str(fasta), "--annotations", str(bed), "--mode", "static",
                           "--patch-size", "100", "--anchor", anchor)
    # start: 100 hits, 450 and 905 miss; 5' end: 100, 800 (r2 is on -) hit, 905 (no strand) misses
    assert payload["n_features"] == 3 and payload["observed"] == pytest.approx(observed)
    assert payload["by_type"] == {"region": {"n": 3, "observed": pytest.approx(observed, 1e-5)}}
    assert payload["all_features_of"] == [str(bed)]


def test_the_text_says_every_feature_of_the_bed_file_is_used(capsys, files, tmp_path):
    fasta, _, _ = files
    bed = tmp_path / "x.bed"
    bed.write_text(BED)
    assert main(["compare-annotations", str(fasta), "--annotations", str(bed), "--mode",
                 "static"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first == (f"{bed} has no CDS/tRNA/rRNA features on chrA: comparing every one of its "
                     "features (3)")


def test_named_types_are_compared_without_the_fallback(capsys, files, tmp_path):
    fasta, _, _ = files
    bed = tmp_path / "x.bed"
    bed.write_text(BED)
    payload = compare_json(capsys, str(fasta), "--annotations", str(bed), "--mode", "static",
                           "--types", "region")
    assert payload["n_features"] == 4 and payload["all_features_of"] == []
    assert main(["compare-annotations", str(fasta), "--annotations", str(bed), "--mode",
                 "static", "--types", "CDS"]) == 2
    assert "no CDS features on record 'chrA' (it has region 4)" in capsys.readouterr().err


def test_a_bed_file_of_another_record_says_where_its_features_are(capsys, files, tmp_path):
    fasta, _, _ = files
    bed = tmp_path / "other.bed"
    bed.write_text("chrB\t10\t20\nchrC\t5\t9\n")
    assert main(["compare-annotations", str(fasta), "--annotations", str(bed), "--mode",
                 "static"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"bytescope compare-annotations: error: {bed}: no features on record "
                   "'chrA'; its features are on 'chrB', 'chrC'")


def test_a_gff3_with_cds_and_a_bed_file_compare_both(capsys, tmp_path):
    both = tmp_path / "both.gff3"
    both.write_text(GFF + "##FASTA\n>chrA\n" + "ACGT" * 300 + "\n")
    bed = tmp_path / "x.bed"
    bed.write_text(BED)
    payload = compare_json(capsys, str(both), "--annotations", str(bed), "--mode", "static")
    assert payload["n_features"] == 6  # the GFF3's CDS and tRNA, the BED's three intervals
    assert set(payload["by_type"]) == {"CDS", "tRNA", "region"}
    assert payload["all_features_of"] == [str(bed)]
