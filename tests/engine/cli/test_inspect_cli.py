"""``bytescope inspect``: every map of a trained patch-level model at a locus, in HDF5."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from engine.analysis.maps_file import read_maps
from engine.cli import main
from engine.models import build_model, model_config, save_model
from tests.conftest import LATENT


@pytest.fixture
def trained(latent_run):
    """The 3,000-base annotated genome and the hyena-blt run trained on it (tests/conftest)."""
    return latent_run.parent / "genome.gff3", latent_run


def test_inspect_writes_every_map_with_its_coordinates(capsys, tmp_path, trained):
    genome, run = trained
    out = tmp_path / "maps.h5"
    assert main(["inspect", str(genome), "--model", str(run), "--locus", "chrT:1,001-1,400",
                 "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    maps, attrs, coords = read_maps(out)
    # 1-based inclusive on the command line, 0-based half-open in the file (as BED)
    assert (attrs["record"], attrs["start"], attrs["end"]) == ("chrT", 1000, 1400)
    starts, ends = coords["patch_starts"], coords["patch_ends"]
    assert starts[0] == 1000 and ends[-1] == 1400 and (np.diff(starts) > 0).all()
    assert summary["patches"] == len(starts)
    valid = maps["attention/encoder_cross/layer0"][0]  # (H, P, L): rows sum to 1 in-patch
    assert np.allclose(valid.sum(-1), 1, atol=1e-5)
    byte_patch = np.searchsorted(starts, coords["bytes"], side="right") - 1
    outside = byte_patch[None, None, :] != np.arange(len(starts))[None, :, None]
    assert np.all(valid[np.broadcast_to(outside, valid.shape)] == 0)
    for layer in ("layer0", "layer1"):
        assert np.allclose(maps[f"routing/router_probs/{layer}"].sum(-1), 1, atol=1e-5)
    attention = maps["attention/global/layer1"][0]
    assert np.allclose(attention.sum(-1), 1, atol=1e-5) and np.all(np.triu(attention[0], 1) == 0)
    hyena = maps["hyena/mean_abs_h/layer0"]
    assert hyena.shape == (len(starts),) * 2 and np.all(np.triu(hyena, 1) == 0)  # causal
    per_channel = maps["hyena/h/layer0"]  # (8, P, P): their mean |H| is the map above's part
    assert per_channel.shape == (8, len(starts), len(starts))
    assert np.all(np.triu(per_channel, 1) == 0)
    assert maps["memory/write_probs"].shape[1] == -(-len(starts) // 8)  # segments of 8
    # CDS "beta" covers 1,000-1,200 of the window, nothing covers 1,200-1,300 (tRNA from 1,300)
    types = summary["patch_types"]
    assert types["CDS"] > 0 and types["intergenic"] > 0 and types["tRNA"] > 0
    assert sum(types.values()) == len(starts)
    assert len(summary["moe/layer0"]["top_kmers"]) == 4  # one list per expert


@pytest.mark.parametrize("argv, words", [
    (["--locus", "chrT:1-5000"], "chrT:1-5,000 is outside the record (chrT:1-3,000)"),
    (["--locus", "chrX:1-100"], "no record 'chrX'"),
    (["--locus", "chrT"], "not REC:START-END"),
    (["--locus", "chrT:0-100"], "positions count from 1"),
    (["--locus", "chrT:200-100"], "END is before START"),
])
def test_bad_loci_exit_2_with_one_line(capsys, tmp_path, trained, argv, words):
    genome, run = trained
    code = main(["inspect", str(genome), "--model", str(run), "--out",
                 str(tmp_path / "m.h5"), *argv])
    err = capsys.readouterr().err
    assert code == 2 and words in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "m.h5").exists()


def test_a_byte_level_model_is_refused(capsys, tmp_path, trained):
    genome, _ = trained
    torch.manual_seed(0)
    plain = save_model(build_model(model_config("hyena", "tiny", d_model=16, n_layers=1)),
                       tmp_path / "plain")
    code = main(["inspect", str(genome), "--model", str(plain), "--locus", "chrT:1-100",
                 "--out", str(tmp_path / "m.h5")])
    assert code == 2 and "patch-level model" in capsys.readouterr().err


def test_the_mean_hyena_map_is_the_mean_of_the_channels_matrices(tmp_path, trained):
    genome, run = trained
    out = tmp_path / "maps.h5"
    assert main(["inspect", str(genome), "--model", str(run), "--locus", "chrT:1-300",
                 "--hyena-channels", str(LATENT["d_global"]), "--out", str(out)]) == 0
    maps, _, _ = read_maps(out)
    for layer in ("layer0",):  # block 1 is an attention block
        h = maps[f"hyena/h/{layer}"]
        assert h.shape[0] == LATENT["d_global"]
        np.testing.assert_allclose(np.abs(h).mean(0), maps[f"hyena/mean_abs_h/{layer}"],
                                   rtol=1e-4, atol=1e-6)
    assert "hyena/mean_abs_h/layer1" not in maps


def test_the_summary_line_names_the_locus_as_typed_and_the_file_holds_it_zero_based(
        capsys, tmp_path, trained):
    genome, run = trained
    out = tmp_path / "maps.h5"
    assert main(["inspect", str(genome), "--model", str(run), "--locus", "chrT:1-300",
                 "--no-hyena", "--out", str(out)]) == 0
    assert capsys.readouterr().out.startswith("chrT:1-300: ")
    _, attrs, coords = read_maps(out)
    assert (attrs["start"], attrs["end"]) == (0, 300) and coords["bytes"][0] == 0


def test_maps_are_hdf5_so_another_suffix_is_refused(capsys, tmp_path, lambda_path):
    out = tmp_path / "m.txt"
    code = main(["inspect", str(lambda_path), "--model", str(tmp_path / "run"), "--locus",
                 "x:1-100", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "must end in .h5" in err
    assert not out.exists()
