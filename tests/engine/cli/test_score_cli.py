"""``bytescope score`` and ``bytescope fit-repeats`` as a user runs them, with a tiny model."""

from __future__ import annotations

import json
import math

import h5py
import numpy as np
import pytest
import torch

from engine.cli import main
from engine.models import build_model, model_config, save_model

COMP = bytes.maketrans(b"ACGT", b"TGCA")


def random_dna(n: int, seed: int) -> bytes:
    return np.frombuffer(b"ACGT", np.uint8)[np.random.default_rng(seed).integers(0, 4, n)].tobytes()


def genome(tail_seed: int = 2) -> bytes:
    """7,400 bases of random DNA that repeats itself: a direct copy and a reverse-complement
    copy of its first 3 kb; the last 700 bases (inside the held-out 740) come from
    ``tail_seed``."""
    x = random_dna(3000, seed=1)
    body = x + random_dna(500, seed=3) + x[:1500] + x[1500:3000][::-1].translate(COMP)
    return body + random_dna(100, seed=4) + random_dna(700, seed=tail_seed)


def write_fasta(path, seq: bytes):
    lines = [seq[i : i + 70].decode() for i in range(0, len(seq), 70)]
    path.write_text(">chrR repeats\n" + "\n".join(lines) + "\n")
    return path


@pytest.fixture
def model_dir(tmp_path):
    torch.manual_seed(0)
    model = build_model(model_config("hyena", "tiny", d_model=16, n_layers=1, max_len=256))
    return save_model(model, tmp_path / "model")


def run_json(capsys, *argv) -> dict:
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_score_prints_bits_per_byte_and_writes_what_it_measured(capsys, tmp_path, model_dir):
    fasta = write_fasta(tmp_path / "g.fa", genome())
    out = tmp_path / "scores.h5"
    summary = run_json(capsys, "score", str(fasta), "--model", str(model_dir), "--region",
                       "100-2100", "--out", str(out), "--json")
    assert summary["n"] == 2000 and summary["repeats"] is False
    with h5py.File(out) as h5:
        assert h5.attrs["format"] == "bytescope-scores" and h5.attrs["version"] == 2
        assert list(h5["records/id"].asstr()) == ["chrR"]
        assert h5["records/start"][0] == 100 and h5["records/end"][0] == 2100
        assert len(h5["entropy"]) == 2000
        assert list(h5["position"][[0, -1]]) == [100, 2099]
        assert h5["entropy"].dims[0].label == "position"
        assert h5["entropy"].dims[0][0].name == "/position"
        assert not h5.attrs["repeats"]  # this model has no expert
        surprisal = h5["surprisal"][()]
    assert summary["bits_per_byte"] == pytest.approx(surprisal.mean() / math.log(2), rel=1e-6)


def test_fit_repeats_writes_an_expert_that_score_then_uses(capsys, tmp_path, model_dir):
    fasta = write_fasta(tmp_path / "g.fa", genome())
    fit = run_json(capsys, "fit-repeats", str(model_dir), str(fasta), "--k", "12", "--json")
    assert (model_dir / "repeats.json").exists()
    assert fit["n"] == round(len(genome()) * 0.9)
    assert fit["spoken"] > 2500 and fit["hits"] > 0.9 * fit["spoken"]
    assert fit["bits_per_byte_mixed"] < fit["bits_per_byte_model"] - 2.0
    with_expert = run_json(capsys, "score", str(fasta), "--model", str(model_dir), "--json")
    without = run_json(capsys, "score", str(fasta), "--model", str(model_dir), "--json",
                       "--no-repeats")
    assert with_expert["repeats"] is True and without["repeats"] is False
    out = tmp_path / "mixed.h5"
    assert main(["score", str(fasta), "--model", str(model_dir), "--out", str(out)]) == 0
    with h5py.File(out) as h5:
        assert h5.attrs["repeats"]
    assert with_expert["bits_per_byte"] < without["bits_per_byte"] - 2.0
    assert main(["score", str(fasta), "--model", str(model_dir)]) == 0
    assert "+ repeat expert" in capsys.readouterr().out


def test_fit_repeats_never_reads_the_held_out_tenth(capsys, tmp_path, model_dir):
    a = write_fasta(tmp_path / "a.fa", genome(tail_seed=2))
    b = write_fasta(tmp_path / "b.fa", genome(tail_seed=5))  # another last 800 bases
    run_json(capsys, "fit-repeats", str(model_dir), str(a), "--json")
    first = (model_dir / "repeats.json").read_text()
    run_json(capsys, "fit-repeats", str(model_dir), str(b), "--json")
    assert (model_dir / "repeats.json").read_text() == first


@pytest.mark.parametrize("argv, message", [
    (["--k", "0"], "--k must be in 1..64"),
    (["--max-misses", "17"], "--max-misses must be in 0..16"),
])
def test_fit_repeats_refuses_bad_settings(capsys, tmp_path, model_dir, argv, message):
    fasta = write_fasta(tmp_path / "g.fa", genome())
    assert main(["fit-repeats", str(model_dir), str(fasta), *argv]) == 2
    assert message in capsys.readouterr().err
    assert not (model_dir / "repeats.json").exists()


def test_fit_repeats_names_a_folder_that_is_no_model(capsys, tmp_path):
    fasta = write_fasta(tmp_path / "g.fa", genome())
    assert main(["fit-repeats", str(tmp_path), str(fasta)]) == 2
    err = capsys.readouterr().err
    assert "no model here" in err and str(tmp_path) in err


@pytest.mark.parametrize("argv, message", [
    (["--record", "empty1"], "record 'empty1' is empty"),
    (["--record", "real", "--region", "5-5"], "region 5-5 of record 'real' is empty"),
    (["--record", "real", "--region", "0-0"], "region 0-0 of record 'real' is empty"),
])
def test_nothing_to_score_is_refused_not_reported_as_zero_bits(capsys, tmp_path, argv,
                                                               message):
    fasta = tmp_path / "e.fa"
    fasta.write_text(">empty1\n>real\n" + "ACGT" * 40 + "\n>empty2\n")
    assert main(["score", str(fasta), *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "nothing to score" in err


@pytest.mark.parametrize("damage", ["too_few_values", "nan", "a_folder"])
def test_a_damaged_score_cache_is_recomputed_not_reported(capsys, tmp_path, model_dir,
                                                          isolated_cache, damage):
    fasta = write_fasta(tmp_path / "g.fa", genome())
    first = run_json(capsys, "score", str(fasta), "--model", str(model_dir), "--json")
    (entry,) = (isolated_cache / "scores").rglob("*.h5")
    if damage == "a_folder":
        entry.unlink()
        entry.mkdir()
    else:
        with h5py.File(entry, "r+") as h5:
            values = h5["surprisal"][()]
            del h5["surprisal"]
            if damage == "nan":
                values[::2] = np.nan
            h5["surprisal"] = values if damage == "nan" else values[:100]
    again = run_json(capsys, "score", str(fasta), "--model", str(model_dir), "--json")
    assert again["bits_per_byte"] == first["bits_per_byte"]
    assert capsys.readouterr().err == ""
    with h5py.File(entry) as h5:  # and the entry is sound again
        assert len(h5["surprisal"]) == len(genome())
