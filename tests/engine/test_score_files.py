"""Scoring every record of a file: packed batches, work units, processes (engine/score)."""

from __future__ import annotations

import itertools
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from engine.cli import main
from engine.io import open_sequences
from engine.io.entropy_files import load_entropies
from engine.io.score_file import read_scores
from engine.models import build_model, model_config, save_model
from engine.score import Job, plan_units, score_jobs
from engine.scoring import Span, chunk_step, iter_span_scores, score

ROOT = Path(__file__).resolve().parents[2]
LENGTHS = [5, 300, 0, 64, 2_000, 190, 1_500, 1]  # around max_len 256, several windows, empty


def random_dna(n: int, seed: int) -> str:
    return "".join(np.array(list("ACGT"))[np.random.default_rng(seed).integers(0, 4, n)])


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return build_model(model_config("hyena", "tiny", d_model=16, n_layers=1, max_len=256)).eval()


@pytest.fixture
def many(tmp_path):
    path = tmp_path / "many.fa"
    path.write_text("".join(f">r{i} record {i}\n{random_dna(n, i)}\n"
                            for i, n in enumerate(LENGTHS)))
    return path


def joined(pieces) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Span index -> (entropy, surprisal) of its pieces put together."""
    parts: dict[int, list] = {}
    for i, piece in pieces:
        parts.setdefault(i, []).append(piece)
    return {i: (np.concatenate([p.entropy for p in ps]), np.concatenate([p.surprisal for p in ps]))
            for i, ps in parts.items()}


def test_packed_records_score_as_each_record_alone(model, many):
    with open_sequences(many) as sf:
        records = list(sf)
        spans = [Span(r, 0, r.length) for r in records] + [Span(records[4], 700, 1_234)]
        pieces: dict[int, list] = {}
        for i, piece in iter_span_scores(model, spans, batch_size=5):
            pieces.setdefault(i, []).append(piece)
        for i, span in enumerate(spans):
            got = pieces.get(i, [])
            alone = score(model, span.record, span.start, span.end, batch_size=1)
            if span.end == span.start:
                assert got == []
                continue
            # consecutive pieces covering the span exactly
            assert got[0].start == span.start and got[-1].end == span.end
            assert all(a.end == b.start for a, b in itertools.pairwise(got))
            entropy = np.concatenate([p.entropy for p in got])
            surprisal = np.concatenate([p.surprisal for p in got])
            np.testing.assert_allclose(entropy, alone.entropy, atol=2e-5)
            np.testing.assert_allclose(surprisal, alone.surprisal, atol=2e-5)


def test_a_packed_record_never_sees_the_record_before_it(model, tmp_path):
    path = tmp_path / "two.fa"
    path.write_text(f">a\n{'A' * 120}\n>b\n{random_dna(100, 7)}\n")
    other = tmp_path / "other.fa"
    other.write_text(f">a\n{random_dna(120, 8)}\n>b\n{random_dna(100, 7)}\n")
    with open_sequences(path) as one, open_sequences(other) as two:
        first = joined(iter_span_scores(model, [Span(r, 0, r.length) for r in one]))
        second = joined(iter_span_scores(model, [Span(r, 0, r.length) for r in two]))
    assert not np.allclose(first[0][0], second[0][0])
    np.testing.assert_allclose(first[1][0], second[1][0], atol=2e-5)
    np.testing.assert_allclose(first[1][1], second[1][1], atol=2e-5)


def test_units_cut_a_long_record_where_its_windows_meet(model, tmp_path):
    path = tmp_path / "long.fa"
    path.write_text(f">long\n{random_dna(9_000, 3)}\n>short\n{random_dna(50, 4)}\n")
    step = chunk_step(model.max_len)
    with open_sequences(path) as sf:
        jobs = [Job(0, r, 0, r.length) for r in sf]
        units = plan_units(jobs, step, unit_bytes=2_000)
        cuts = [a for u in units for i, a, _ in u.pieces if i == 0]
        assert len(cuts) > 3 and all(a % step == 0 for a in cuts)
        covered = sorted((i, a, b) for u in units for i, a, b in u.pieces)
        assert [b - a for i, a, b in covered if i == 0] and sum(
            b - a for _, a, b in covered) == 9_050
        got: dict[int, list] = {}

        class Collect:
            def __enter__(self):
                return self

            def __exit__(self, *_):
                return None

            def write(self, i, piece):
                got.setdefault(i, []).append(piece)

        summary = score_jobs(jobs, model, writer_factory=lambda jobs: Collect())
        whole = score(model, jobs[0].record)
    entropy = np.concatenate([p.entropy for p in sorted(got[0], key=lambda p: p.start)])
    np.testing.assert_allclose(entropy, whole.entropy, atol=2e-5)
    assert summary.records[0].bits_per_byte == pytest.approx(whole.bits_per_byte, rel=1e-5)
    assert summary.n == 9_050


def run_json(capsys, *argv) -> dict:
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


@pytest.fixture
def model_dir(tmp_path, model):
    return save_model(model, tmp_path / "model")


def test_score_without_record_scores_every_record_into_one_file(capsys, many, model_dir,
                                                               tmp_path):
    out = tmp_path / "all.h5"
    summary = run_json(capsys, "score", str(many), "--model", str(model_dir), "--out",
                       str(out), "--json", "--no-cache")
    assert [r["id"] for r in summary["records"]] == [f"r{i}" for i in range(len(LENGTHS))]
    assert summary["n"] == sum(LENGTHS)
    stored = read_scores(out)
    assert [(rid, len(e)) for rid, _, e, _ in stored] == [
        (f"r{i}", n) for i, n in enumerate(LENGTHS)]
    total = sum(float(s.astype(np.float64).sum()) for *_, s in stored)
    assert summary["bits_per_byte"] == pytest.approx(total / sum(LENGTHS) / math.log(2),
                                                     rel=1e-6)
    with h5py.File(out) as h5:  # a ragged array with its counts, as CF writes one
        assert list(h5["records/count"][()]) == LENGTHS
        assert h5["records/count"].attrs["sample_dimension"] == "position"
        assert list(h5["position"][LENGTHS[0]:LENGTHS[0] + 3]) == [0, 1, 2]
    alone = run_json(capsys, "score", str(many), "--record", "r4", "--model", str(model_dir),
                     "--json", "--no-cache")
    assert summary["records"][4]["bits_per_byte"] == pytest.approx(alone["bits_per_byte"],
                                                                   abs=1e-5)
    with open_sequences(many) as sf:  # patch and the window read the file's records back
        values = load_entropies(out, sf["r6"], 100, 400)
    np.testing.assert_array_equal(values, stored[6][2][100:400])


def test_text_output_summarises_many_records(capsys, tmp_path, model_dir):
    path = tmp_path / "reads.fa"
    path.write_text("".join(f">read{i}\n{random_dna(40, i)}\n" for i in range(30)))
    assert main(["score", str(path), "--model", str(model_dir), "--no-cache"]) == 0
    out = capsys.readouterr().out
    assert "read0:1-40" in out and "read29" not in out and "and 20 more records" in out
    assert "30 records, 1,200 bytes:" in out


def test_one_record_formats_refuse_many_records(capsys, many, model_dir, tmp_path):
    out = tmp_path / "x.bedgraph"
    assert main(["score", str(many), "--model", str(model_dir), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert ".bedgraph holds one record; 8 are scored" in err and not out.exists()


def test_region_needs_a_record_when_there_are_several(capsys, many, model_dir):
    assert main(["score", str(many), "--model", str(model_dir), "--region", "0-10"]) == 2
    assert "--region needs --record: 8 records" in capsys.readouterr().err


def two_processes_write_the_single_process_file(many, model_dir, tmp_path, launcher):
    """Score ``many`` in one process and with ``launcher`` (the command that starts two), and
    compare the files value for value."""
    one, two = tmp_path / "one.h5", tmp_path / "two.h5"
    common = [str(many), "--model", str(model_dir), "--no-cache", "--threads", "1",
              "--batch-size", "2"]
    assert main(["score", *common, "--out", str(one)]) == 0
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, *launcher, *common, "--out", str(two), "--json"],
                          capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1])["workers"] == 2
    for a, b in zip(read_scores(one), read_scores(two), strict=True):
        assert a[:2] == b[:2]
        np.testing.assert_array_equal(a[2], b[2])
        np.testing.assert_array_equal(a[3], b[3])


@pytest.mark.slow  # starts processes: seconds
def test_two_workers_write_the_file_one_process_writes(many, model_dir, tmp_path):
    two_processes_write_the_single_process_file(many, model_dir, tmp_path,
                                                ["-m", "engine.score", "--workers", "2"])


@pytest.mark.slow
def test_torchrun_with_two_ranks_writes_the_single_process_file(many, model_dir, tmp_path):
    two_processes_write_the_single_process_file(
        many, model_dir, tmp_path, ["-m", "torch.distributed.run", "--standalone",
                                    "--nproc_per_node", "2", "-m", "engine.score"])


@pytest.mark.slow
def test_a_compiled_model_scores_as_the_eager_one(model, many):
    from engine.scoring import compile_for_scoring

    compiled = compile_for_scoring(model)
    assert compiled.max_len == model.max_len
    with open_sequences(many) as sf:
        spans = [Span(r, 0, r.length) for r in sf]
        eager = joined(iter_span_scores(model, spans, batch_size=4))
        fast = joined(iter_span_scores(compiled, spans, batch_size=4))
    assert eager.keys() == fast.keys() and len(eager[4][0]) == LENGTHS[4]
    for i in eager:
        np.testing.assert_allclose(fast[i][0], eager[i][0], atol=1e-4)
        np.testing.assert_allclose(fast[i][1], eager[i][1], atol=1e-4)


def test_bigwig_holds_every_record_even_when_some_come_from_the_cache(
        capsys, many, model_dir, tmp_path, isolated_cache):
    pyBigWig = pytest.importorskip("pyBigWig")
    h5, bw_path = tmp_path / "all.h5", tmp_path / "all.bw"
    assert main(["score", str(many), "--model", str(model_dir), "--record", "r4"]) == 0
    assert len(list((isolated_cache / "scores").rglob("*.h5"))) == 1  # r4 cached
    summary = run_json(capsys, "score", str(many), "--model", str(model_dir), "--out",
                       str(bw_path), "--json")
    assert [r["cached"] for r in summary["records"]] == [i == 4 for i in range(len(LENGTHS))]
    assert main(["score", str(many), "--model", str(model_dir), "--out", str(h5),
                 "--no-cache"]) == 0
    bw = pyBigWig.open(str(bw_path))
    try:
        assert bw.chroms() == {f"r{i}": n for i, n in enumerate(LENGTHS) if n}
        for rid, start, entropy, _ in read_scores(h5):
            if len(entropy):
                np.testing.assert_allclose(bw.values(rid, start, start + len(entropy)),
                                           entropy, atol=2e-5)
    finally:
        bw.close()


def bed_rows(path) -> list[list[str]]:
    import gzip

    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt") as handle:
        return [line.split("\t") for line in handle.read().splitlines()]


@pytest.mark.parametrize("mode", [["--mode", "static", "--patch-size", "7"],
                                  ["--mode", "entropy", "--target-patch-size", "5"]])
def test_patch_cuts_every_record_into_one_bed_as_each_record_alone(capsys, many, model_dir,
                                                                  tmp_path, mode):
    every = tmp_path / "every.bed"
    common = [*mode, "--model", str(model_dir)]
    assert main(["patch", str(many), *common, "--out", str(every)]) == 0
    assert "8 records" in capsys.readouterr().out
    rows = bed_rows(every)
    assert rows[0][0].startswith("track") and not any(r[0].startswith("track") for r in rows[1:])
    expected = []
    for i, n in enumerate(LENGTHS):
        if n == 0:
            continue
        if n < 5 and "entropy" in mode:  # alone it is refused; among others, one patch
            expected.append([f"r{i}", "0", str(n), "0", rows[-1][4], "."])
            continue
        alone = tmp_path / f"r{i}.bed"
        assert main(["patch", str(many), "--record", f"r{i}", *common, "--out", str(alone)]) == 0
        expected += bed_rows(alone)[1:]
    capsys.readouterr()
    assert rows[1:] == expected


def test_a_bgzipped_bed_has_no_track_line_and_is_blocked_gzip(capsys, many, tmp_path):
    from Bio import bgzf

    out = tmp_path / "every.bed.gz"
    assert main(["patch", str(many), "--mode", "static", "--out", str(out)]) == 0
    raw = out.read_bytes()
    assert raw[:4] == b"\x1f\x8b\x08\x04" and raw[12:14] == b"BC"  # gzip with BGZF's field
    assert raw[-28:] == bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
    with bgzf.BgzfReader(str(out), "rt") as handle:
        lines = [line.rstrip("\n") for line in handle]
    assert lines[0].startswith("r0\t0\t") and lines[-1].startswith("r7\t0\t1\t")
    starts = [(line.split("\t")[0], int(line.split("\t")[1])) for line in lines]
    assert starts == sorted(starts, key=lambda s: (int(s[0][1:]), s[1]))


@pytest.mark.parametrize("argv, message", [
    (["--out", "x.json"], "JSON output holds one record and the file has 8"),
    (["--out", "x.bed", "--bedgraph", "y.bedgraph"], "--bedgraph holds one record"),
    (["--out", "x.bed", "--region", "0-10"], "--region needs --record: 8 records"),
])
def test_patch_says_what_holds_only_one_record(capsys, many, tmp_path, argv, message):
    argv = [a if not a.startswith(("x.", "y.")) else str(tmp_path / a) for a in argv]
    assert main(["patch", str(many), "--mode", "static", *argv]) == 2
    assert message in capsys.readouterr().err
    assert not list(tmp_path.glob("x.*"))
