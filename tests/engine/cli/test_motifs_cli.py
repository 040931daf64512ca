"""``bytescope motifs``: windows from annotations, regions or a sample; every output file;
bad input is one line and exit code 2."""

from __future__ import annotations

import json

import pytest
import torch

from engine.cli import main
from engine.io import open_sequences
from engine.models import save_model
from engine.models.checkpoint import build_model, model_config
from engine.resources import sample_path

GFF = sample_path("prokka_BAC_00001.gff3.gz")
CONTIG = "BAC_00001"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    torch.manual_seed(0)
    model = build_model(model_config("hyena", "tiny", d_model=16, n_layers=1, max_len=256))
    return str(save_model(model, tmp_path_factory.mktemp("m") / "tiny"))


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def bed_rows(path):
    return [line.split("\t") for line in path.read_text().splitlines()]


@pytest.mark.slow  # seconds, not milliseconds: after the README's command
def test_windows_before_cds_starts_give_every_output(capsys, tmp_path, tiny):
    out = tmp_path / "motifs"
    code, stdout, err = run(capsys, "motifs", GFF, "--model", tiny, "--context", 20,
                            "--min-instances", 3, "--out", out, "--json")
    assert code == 0, err
    summary = json.loads(stdout)
    assert summary["windows"] == 426 and "CDS start" in summary["how"]
    assert summary == json.loads((out / "summary.json").read_text())
    for name in ("report.md", "report.html", "seqlets.bed", "instances.bed"):
        assert (out / name).is_file()
    with open_sequences(GFF) as sf:
        length = sf[CONTIG].length
    rows = bed_rows(out / "seqlets.bed")
    assert len(rows) == summary["seqlets"] > 0
    starts = [(r[0], int(r[1])) for r in rows]
    assert starts == sorted(starts)
    assert all(r[0] == CONTIG and 0 <= int(r[1]) < int(r[2]) <= length and r[5] in "+-"
               for r in rows)
    instances = bed_rows(out / "instances.bed")
    assert len(instances) == sum(m["instances"] for m in summary["motifs"])
    for m in summary["motifs"]:
        assert (out / m["logo"]).is_file() and m["logo"] in (out / "report.md").read_text()
    if summary["motifs"]:
        assert (out / "motifs.meme").read_text().count("MOTIF") == len(summary["motifs"])
    assert "Motifs the model has learned" in (out / "report.html").read_text()


def test_a_sample_and_regions_choose_the_windows(capsys, tmp_path, tiny, lambda_path):
    code, stdout, err = run(capsys, "motifs", lambda_path, "--model", tiny, "--sample", 25,
                            "--window", 50, "--context", 10, "--out", tmp_path / "a")
    assert code == 0, err
    assert "25 windows" in stdout and "wrote" in stdout
    with open_sequences(lambda_path) as sf:
        record = sf[0].id
    bed = tmp_path / "regions.bed"
    bed.write_text(f"{record}\t100\t160\tr1\t0\t+\n{record}\t500\t560\tr2\t0\t-\n")
    code, stdout, err = run(capsys, "motifs", lambda_path, "--model", tiny, "--regions", bed,
                            "--out", tmp_path / "b", "--json")
    assert code == 0, err
    assert json.loads(stdout)["windows"] == 2


def test_bad_input_is_one_line_and_exit_2(capsys, tmp_path, tiny, lambda_path):
    code, _, err = run(capsys, "motifs", GFF, "--model", tiny, "--around", "gene:start",
                       "--out", tmp_path / "x")
    assert code == 2 and "no 'gene' features" in err and "CDS" in err
    afile = tmp_path / "file.txt"
    afile.write_text("x")
    code, _, err = run(capsys, "motifs", GFF, "--model", tiny, "--out", afile)
    assert code == 2 and "folder" in err
    code, _, err = run(capsys, "motifs", lambda_path, "--model", tiny, "--out", tmp_path / "y")
    assert code == 2 and "--sample" in err  # no annotations to place windows
    meme = tmp_path / "bad.meme"
    meme.write_text("MEME version 4\n\nALPHABET= ACGT\n\nMOTIF a\nletter-probability "
                    "matrix: alength= 4 w= 1\n0.5 0.5 x 0\n")
    code, _, err = run(capsys, "motifs", GFF, "--model", tiny, "--match", meme,
                       "--out", tmp_path / "z")
    assert code == 2 and "bad.meme:7" in err and "not a number" in err
    assert len(err.strip().splitlines()) == 1


def test_the_anchor_target_explains_the_start_codon_by_the_bases_before_it(capsys, tmp_path,
                                                                          tiny, lambda_path):
    out = tmp_path / "anchor"
    code, stdout, err = run(capsys, "motifs", GFF, "--model", tiny, "--context", 20,
                            "--window", 20, "--method", "ism", "--target", "anchor",
                            "--min-instances", 3, "--out", out, "--json")
    assert code == 0, err
    summary = json.loads(stdout)
    assert summary["target"] == "anchor" and summary["method"] == "ism"
    assert "ism of the anchor codon's log-likelihood" in (out / "report.md").read_text()
    # every seqlet on a + strand window starts in the 20 bases before its codon's A
    from engine.io import open_annotations

    starts = [f.start for f in open_annotations(GFF) if f.type == "CDS" and f.strand > 0]
    plus = [r for r in bed_rows(out / "seqlets.bed") if r[5] == "+"]
    assert plus
    for r in plus:
        assert any(s - 20 <= int(r[1]) < s for s in starts), r
    code, _, err = run(capsys, "motifs", str(lambda_path), "--model", tiny, "--sample", 5,
                       "--target", "anchor", "--out", tmp_path / "bad")
    assert code == 2 and "--target anchor" in err and "Traceback" not in err
