"""``bytescope patch`` as a user runs it, on the lambda genome with entropies made here."""

from __future__ import annotations

import json
import math

import h5py
import numpy as np
import pytest

import engine.cli
from engine.cli import main
from engine.cli import patch as patch_command

LAMBDA_ID = "gi|9626243|ref|NC_001416.1|"
LAMBDA_LENGTH = 48_502
COMMANDS_AS_SHIPPED = engine.cli.COMMANDS  # read before any fixture extends it


@pytest.fixture(autouse=True)
def patch_subcommand(monkeypatch):
    """Run these tests even before ``patch`` is listed in ``engine.cli.COMMANDS``;
    :func:`test_patch_is_a_registered_subcommand` checks that it is."""
    if patch_command not in engine.cli.COMMANDS:
        monkeypatch.setattr(engine.cli, "COMMANDS", (*engine.cli.COMMANDS, patch_command))


@pytest.fixture(scope="module")
def entropies() -> np.ndarray:
    return np.random.default_rng(3).gamma(2.0, 0.7, LAMBDA_LENGTH).astype(np.float32)


@pytest.fixture
def npy(tmp_path, entropies):
    path = tmp_path / "lambda_entropies.npy"
    np.save(path, entropies)
    return path


def read_bed(path):
    lines = path.read_text().splitlines()
    assert lines[0].startswith("track ")
    return [line.split("\t") for line in lines[1:]]


def expected_entropy_starts(H, threshold):
    """Entropy mode from issue 3, written out: p >= 1 starts iff H[p-1] > threshold."""
    return [0] + [p for p in range(1, len(H)) if H[p - 1] > np.float32(threshold)]


def test_patch_is_a_registered_subcommand():
    assert patch_command in COMMANDS_AS_SHIPPED


def test_entropy_mode_writes_one_bed_line_per_patch(capsys, tmp_path, lambda_path, npy, entropies):
    out = tmp_path / "patches.bed"
    code = main(["patch", str(lambda_path), "--mode", "entropy", "--threshold", "2.0",
                 "--entropies", str(npy), "--out", str(out)])
    assert code == 0
    rows = read_bed(out)
    starts = expected_entropy_starts(entropies, 2.0)
    assert [int(r[1]) for r in rows] == starts
    assert [int(r[2]) for r in rows] == [*starts[1:], LAMBDA_LENGTH]
    assert {r[0] for r in rows} == {LAMBDA_ID}
    assert [r[3] for r in rows[:3]] == ["0", "1", "2"]
    assert all(len(r) == 6 for r in rows)
    s, e = starts[1], starts[2]
    mean = float(np.mean(entropies[s:e], dtype=np.float64))
    assert int(rows[1][4]) == round(1000 * min(mean / math.log(256), 1.0))
    assert f"{len(starts)} patches" in capsys.readouterr().out


def test_region_offsets_bed_coordinates(tmp_path, lambda_path, entropies):
    region = entropies[1000:3000]
    npy = tmp_path / "region.npy"
    np.save(npy, region)
    out = tmp_path / "region.bed"
    assert main(["patch", str(lambda_path), "--region", "1000-3000", "--mode", "entropy",
                 "--threshold", "2.0", "--entropies", str(npy), "--out", str(out)]) == 0
    rows = read_bed(out)
    expected = [1000 + p for p in expected_entropy_starts(region, 2.0)]
    assert [int(r[1]) for r in rows] == expected
    assert int(rows[-1][2]) == 3000


def test_whole_record_entropies_are_cut_to_the_region(tmp_path, lambda_path, npy, entropies):
    out = tmp_path / "region.tsv"
    assert main(["patch", str(lambda_path), "--region", "1000-3000", "--mode", "entropy",
                 "--threshold", "2.0", "--entropies", str(npy), "--out", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert lines[0] == "record\tstart\tend\tindex\tlength\tmean_entropy"
    starts = [int(line.split("\t")[1]) for line in lines[1:]]
    assert starts == [1000 + p for p in expected_entropy_starts(entropies[1000:3000], 2.0)]


def test_json_output_has_stats_starts_and_lengths(tmp_path, lambda_path, npy, entropies):
    out = tmp_path / "patches.json"
    assert main(["patch", str(lambda_path), "--mode", "optimal", "--threshold", "1.5",
                 "--max-len", "16", "--entropies", str(npy), "--out", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["record"] == LAMBDA_ID
    assert sum(data["lengths"]) == LAMBDA_LENGTH
    assert max(data["lengths"]) <= 16
    assert data["stats"]["count"] == len(data["starts"]) == len(data["lengths"])
    assert data["stats"]["threshold"] == 1.5
    assert data["config"]["max_patch_length"] == 16


def test_target_patch_size_reports_the_threshold_found(capsys, tmp_path, lambda_path, npy):
    out = tmp_path / "patches.json"
    assert main(["patch", str(lambda_path), "--mode", "entropy", "--target-patch-size", "4.5",
                 "--entropies", str(npy), "--out", str(out)]) == 0
    stats = json.loads(out.read_text())["stats"]
    assert stats["mean_length"] == pytest.approx(4.5, abs=0.01)
    assert f"threshold {stats['threshold']!r}" in capsys.readouterr().out


def test_hdf5_entropies_per_record(tmp_path, lambda_path, entropies):
    h5 = tmp_path / "entropies.h5"
    with h5py.File(h5, "w") as store:
        store[f"entropies/{LAMBDA_ID}"] = entropies
    out = tmp_path / "patches.bed"
    assert main(["patch", str(lambda_path), "--mode", "entropy", "--threshold", "2.0",
                 "--entropies", str(h5), "--out", str(out)]) == 0
    assert len(read_bed(out)) == len(expected_entropy_starts(entropies, 2.0))


def test_static_mode_needs_no_entropies_and_scores_zero(tmp_path, lambda_path):
    out = tmp_path / "static.bed"
    assert main(["patch", str(lambda_path), "--mode", "static", "--patch-size", "6",
                 "--out", str(out)]) == 0
    rows = read_bed(out)
    assert len(rows) == math.ceil(LAMBDA_LENGTH / 6)
    assert int(rows[-1][2]) - int(rows[-1][1]) == LAMBDA_LENGTH % 6
    assert {r[4] for r in rows} == {"0"}


def test_bedgraph_holds_the_entropies(tmp_path, lambda_path, entropies):
    region = entropies[:100]
    npy = tmp_path / "head.npy"
    np.save(npy, region)
    graph = tmp_path / "h.bedgraph"
    assert main(["patch", str(lambda_path), "--region", "0-100", "--mode", "greedy",
                 "--entropies", str(npy), "--out", str(tmp_path / "p.bed"),
                 "--bedgraph", str(graph)]) == 0
    lines = graph.read_text().splitlines()
    assert lines[0].startswith("track type=bedGraph")
    covered = []
    for line in lines[1:]:
        chrom, start, end, value = line.split("\t")
        assert chrom == LAMBDA_ID
        covered += [(i, float(value)) for i in range(int(start), int(end))]
    assert [i for i, _ in covered] == list(range(100))
    assert [v for _, v in covered] == pytest.approx(region.tolist(), abs=5e-5)


def run_error(capsys, argv) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("bytescope patch: error: ")
    assert "\n" not in err
    return err


def test_entropy_mode_without_a_model_or_entropies_says_what_to_give(
    capsys, tmp_path, lambda_path, monkeypatch
):
    import engine.models.defaults as defaults

    monkeypatch.setattr(defaults, "MODELS", tmp_path / "no-models")
    err = run_error(capsys, ["patch", str(lambda_path), "--mode", "dual",
                             "--out", str(tmp_path / "p.bed")])
    assert "bundled 'nucleotide' model is missing" in err and "--entropies" in err
    assert not (tmp_path / "p.bed").exists()


def test_entropy_mode_scores_with_a_trained_model(capsys, tmp_path, lambda_path):
    from engine.train import TrainConfig, Trainer

    run = tmp_path / "run"
    Trainer(TrainConfig(files=[str(lambda_path)], steps=2, seq_len=64, batch_size=2,
                        eval_every=2, checkpoint_every=2, model={"d_model": 16, "n_layers": 1}),
            run).run()
    out = tmp_path / "p.bed"
    assert main(["patch", str(lambda_path), "--region", "0-3000", "--mode", "entropy",
                 "--target-patch-size", "6", "--model", str(run), "--out", str(out)]) == 0
    lines = [line.split("\t") for line in out.read_text().splitlines()
             if not line.startswith("track")]
    assert int(lines[0][1]) == 0 and int(lines[-1][2]) == 3000
    assert 3000 / len(lines) == pytest.approx(6, rel=0.2)
    assert any(int(line[4]) > 0 for line in lines)  # scores come from real entropies


def test_entropies_of_the_wrong_length_name_the_file(capsys, tmp_path, lambda_path):
    npy = tmp_path / "short.npy"
    np.save(npy, np.ones(10))
    err = run_error(capsys, ["patch", str(lambda_path), "--mode", "entropy", "--entropies",
                             str(npy), "--out", str(tmp_path / "p.bed")])
    assert str(npy) in err and "10 entropies" in err and str(LAMBDA_LENGTH) in err


def test_bad_region_is_refused(capsys, tmp_path, lambda_path):
    err = run_error(capsys, ["patch", str(lambda_path), "--mode", "byte", "--region", "10-x",
                             "--out", str(tmp_path / "p.bed")])
    assert "START-END" in err


def test_region_past_the_end_is_refused(capsys, tmp_path, lambda_path):
    err = run_error(capsys, ["patch", str(lambda_path), "--mode", "byte", "--region",
                             "0-60000", "--out", str(tmp_path / "p.bed")])
    assert "outside record" in err


def test_unknown_record_is_refused(capsys, tmp_path, lambda_path):
    err = run_error(capsys, ["patch", str(lambda_path), "--record", "chr9", "--mode", "byte",
                             "--out", str(tmp_path / "p.bed")])
    assert "chr9" in err


def test_output_suffix_picks_the_format(capsys, tmp_path, lambda_path):
    err = run_error(capsys, ["patch", str(lambda_path), "--mode", "byte",
                             "--out", str(tmp_path / "p.txt")])
    assert ".bed, .bed.gz, .tsv or .json" in err


def test_limits_are_checked_with_the_flag_names(capsys, tmp_path, lambda_path):
    err = run_error(capsys, ["patch", str(lambda_path), "--mode", "static", "--min-len", "5",
                             "--max-len", "3", "--out", str(tmp_path / "p.bed")])
    assert "--max-len 3 is below --min-len 5" in err


def test_bedgraph_without_entropies_or_a_model_is_refused(capsys, tmp_path, lambda_path,
                                                          monkeypatch):
    import engine.models.defaults as defaults

    monkeypatch.setattr(defaults, "MODELS", tmp_path / "no-models")
    err = run_error(capsys, ["patch", str(lambda_path), "--mode", "static",
                             "--out", str(tmp_path / "p.bed"), "--bedgraph",
                             str(tmp_path / "h.bedgraph")])
    assert "--entropies" in err
    assert not (tmp_path / "p.bed").exists() and not (tmp_path / "h.bedgraph").exists()


def test_bedgraph_without_entropies_comes_from_the_bundled_model(capsys, tmp_path, lambda_path):
    graph = tmp_path / "h.bedgraph"
    assert main(["patch", str(lambda_path), "--region", "0-2000", "--mode", "static",
                 "--out", str(tmp_path / "p.bed"), "--bedgraph", str(graph)]) == 0
    rows = [line.split("\t") for line in graph.read_text().splitlines()[1:]]
    assert int(rows[0][1]) == 0 and int(rows[-1][2]) == 2000
    values = [float(r[3]) for r in rows]
    assert 0 < min(values) and max(values) <= np.log(259) + 1e-3  # nats, bounded by ln V


def test_threshold_and_target_are_exclusive(tmp_path, lambda_path):
    with pytest.raises(SystemExit) as exit_info:
        main(["patch", str(lambda_path), "--mode", "entropy", "--threshold", "1",
              "--target-patch-size", "4", "--out", str(tmp_path / "p.bed")])
    assert exit_info.value.code == 2


def test_threshold_add_outside_dual_names_the_flag(capsys, tmp_path, lambda_path, npy):
    err = run_error(capsys, ["patch", str(lambda_path), "--mode", "entropy", "--threshold-add",
                             "0.5", "--entropies", str(npy), "--out", str(tmp_path / "p.bed")])
    assert "--threshold-add applies to mode 'dual' only" in err


def test_entropies_scored_for_another_record_or_region_are_refused(capsys, tmp_path, lambda_path):
    import h5py

    path = tmp_path / "scored.h5"
    with h5py.File(path, "w") as h5:  # what `bytescope score --out X.h5` writes
        h5.attrs.update(record_id="other", start=1000, end=2000)
        h5["entropies"] = np.ones(1000, dtype=np.float32)
    err = run_error(capsys, ["patch", str(lambda_path), "--mode", "entropy", "--threshold", "1",
                             "--region", "0-1000", "--entropies", str(path),
                             "--out", str(tmp_path / "p.bed")])
    assert "scored for record 'other'" in err
    record_id = "gi|9626243|ref|NC_001416.1|"
    with h5py.File(path, "a") as h5:
        h5.attrs["record_id"] = record_id
    err = run_error(capsys, ["patch", str(lambda_path), "--mode", "entropy", "--threshold", "1",
                             "--region", "0-1000", "--entropies", str(path),
                             "--out", str(tmp_path / "p.bed")])
    assert "cover" in err and "1000-2000" in err
    assert main(["patch", str(lambda_path), "--mode", "entropy", "--threshold", "1",
                 "--region", "1200-1300", "--entropies", str(path),
                 "--out", str(tmp_path / "p.bed")]) == 0
