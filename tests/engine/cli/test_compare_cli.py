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
    assert err.count("\n") == 0 and "no CDS/tRNA/rRNA features" in err
