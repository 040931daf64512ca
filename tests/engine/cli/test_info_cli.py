"""``bytescope info`` as a user runs it."""

from __future__ import annotations

import gzip
import json
import random
import subprocess
import sys

import pytest

from engine.cli import main
from tests.conftest import REPO


def test_no_arguments_describes_the_bundled_sample(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "lambda_phage.fa" in out and "48,502" in out and "dna" in out


def test_json_for_one_file_follows_the_documented_schema(capsys, lambda_path):
    seq = "".join(lambda_path.read_text().splitlines()[1:])
    assert main(["info", str(lambda_path), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    (rec,) = payload["records"]
    assert rec["id"] == "gi|9626243|ref|NC_001416.1|"
    assert rec["description"] == "Enterobacteria phage lambda, complete genome"
    assert rec["length"] == len(seq)
    assert rec["alphabet"] == "dna"
    gc = 100 * (seq.count("G") + seq.count("C")) / len(seq)
    assert rec["gc_percent"] == pytest.approx(gc, abs=0.01)
    assert rec["n_count"] == seq.count("N")
    assert rec["feature_count"] == 0


def test_json_for_several_files_is_a_list(capsys, lambda_path, tmp_path):
    other = tmp_path / "p.fa"
    other.write_text(">p1\nMKVLAAGIVGLLLAQPEW\n")
    assert main(["info", str(lambda_path), str(other), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert [p["records"][0]["alphabet"] for p in payload] == ["dna", "protein"]
    assert payload[1]["records"][0]["gc_percent"] is None


def test_hs11286_json_counts(capsys, shared_data):
    assert main(["info", str(shared_data / "klebsiella_hs11286.fna.xz"), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["records"]
    assert len(rows) == 7 and sum(r["length"] for r in rows) == 5_682_322


def bad_inputs(tmp_path):
    (tmp_path / "empty.fa").write_bytes(b"")
    (tmp_path / "noise.fa").write_bytes(bytes(range(256)) * 4)
    seq = bytes(random.Random(0).choices(b"ACGT", k=40_000))
    blob = gzip.compress(b">r\n" + seq)
    (tmp_path / "trunc.fa.gz").write_bytes(blob[: len(blob) // 2])
    (tmp_path / "headless.fa").write_text("ACGT\n>r\nA\n")
    (tmp_path / "qual.fq").write_text("@r1\nACGT\n+\nIII\n")
    return {
        "missing.fa": "no such file",
        "empty.fa": "empty",
        "noise.fa": "not FASTA",
        "trunc.fa.gz": "truncated gzip",
        "headless.fa": "before the first",
        "qual.fq": "qualit",
    }


def test_bad_inputs_exit_2_with_one_line_naming_the_file(tmp_path):
    for name, expected in bad_inputs(tmp_path).items():
        path = tmp_path / name
        proc = subprocess.run(
            [sys.executable, "-m", "engine", "info", str(path)],
            capture_output=True,
            text=True,
            cwd=REPO,
        )
        assert proc.returncode == 2, (name, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1, (name, proc.stderr)
        assert str(path) in lines[0] and expected in lines[0], (name, lines[0])
        assert "Traceback" not in proc.stderr
        assert proc.stdout == ""


def test_max_bytes_raises_the_raw_byte_limit(capsys, tmp_path):
    path = tmp_path / "blob.bin"
    path.write_bytes(bytes(range(256)) * 40)  # 10,240 bytes
    assert main(["info", str(path), "--max-bytes", "4096"]) == 2
    assert "--max-bytes" in capsys.readouterr().err
    assert main(["info", str(path), "--max-bytes", "20000", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["records"][0]["length"] == 10_240
