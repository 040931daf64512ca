"""``bytescope attribute`` as a user runs it: the bundled fast model on the lambda genome."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from engine.analysis.attribution import Target, attribute
from engine.cli import main
from engine.io import open_sequences
from engine.io.attribution_files import (
    AttributionTrack,
    read_attribution_h5,
    write_attribution_h5,
)
from engine.models import load_model
from engine.models.defaults import resolve_model_path

LAMBDA_ID = "gi|9626243|ref|NC_001416.1|"
LAMBDA_LENGTH = 48_502
LOCUS = f"{LAMBDA_ID}:5001-5060"  # bases [5000, 5060)
CONTEXT = 40  # the window: [4960, 5060)


@pytest.fixture(scope="module")
def fast_model():
    return load_model(resolve_model_path("fast", "dna"))


@pytest.fixture(scope="module")
def window(lambda_path) -> np.ndarray:
    with open_sequences(lambda_path) as sf:
        return sf[LAMBDA_ID].array(5000 - CONTEXT, 5060)


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, *argv) -> dict:
    code, out, err = run_cli(capsys, *argv, "--json")
    assert code == 0, err
    return json.loads(out.strip().splitlines()[-1])


def attribute_args(lambda_path, out, *extra) -> list[str]:
    return ["attribute", str(lambda_path), "--locus", LOCUS, "--model", "fast",
            "--context", str(CONTEXT), "--out", str(out), *extra]


def test_h5_holds_what_attribute_computes_in_record_coordinates(capsys, tmp_path, lambda_path,
                                                               fast_model, window):
    out = tmp_path / "a.h5"
    run_json(capsys, *attribute_args(lambda_path, out))
    expected = attribute(fast_model, window, Target("region", CONTEXT, CONTEXT + 60))
    track = read_attribution_h5(out)
    assert (track.record, track.start, track.end) == (LAMBDA_ID, 5000 - CONTEXT, 5060)
    assert (track.target_kind, track.target_position, track.target_end) == ("region", 5000,
                                                                            5060)
    assert track.method == "saliency" and track.alphabet == b"ACGT" and not track.repeats
    np.testing.assert_allclose(track.values, expected.values, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(track.matrix, expected.matrix, rtol=1e-5, atol=1e-7)
    assert track.output == pytest.approx(expected.output, rel=1e-6)
    assert track.model.endswith("nucleotide-fast")


def test_bedgraph_lines_are_record_coordinates_one_per_base(capsys, tmp_path, lambda_path,
                                                           fast_model, window):
    out = tmp_path / "a.bedgraph"
    run_json(capsys, *attribute_args(lambda_path, out, "--target", "surprisal",
                                     "--at", "5030"))
    expected = attribute(fast_model, window, Target("surprisal", 5029 - (5000 - CONTEXT)))
    lines = out.read_text().splitlines()
    assert lines[0].startswith("track type=bedGraph")
    rows = [line.split("\t") for line in lines[1:]]
    assert {r[0] for r in rows} == {LAMBDA_ID}
    starts = [int(r[1]) for r in rows]
    assert starts == list(range(5000 - CONTEXT, 5060))
    assert all(int(r[2]) == int(r[1]) + 1 for r in rows)
    np.testing.assert_allclose([float(r[3]) for r in rows], expected.values, rtol=1e-5,
                               atol=1e-7)


def test_bigwig_reads_back_with_pybigwig(capsys, tmp_path, lambda_path, fast_model, window):
    pyBigWig = pytest.importorskip("pyBigWig")
    out = tmp_path / "a.bw"
    summary = run_json(capsys, *attribute_args(lambda_path, out, "--target", "entropy"))
    expected = attribute(fast_model, window, Target("entropy", CONTEXT + 59))
    assert summary["target"] == {"kind": "entropy", "position": 5059, "end": None}
    bw = pyBigWig.open(str(out))
    try:
        assert bw.chroms() == {LAMBDA_ID: LAMBDA_LENGTH}  # the genome is the file's records
        values = np.array(bw.values(LAMBDA_ID, 5000 - CONTEXT, 5060))
        outside = bw.values(LAMBDA_ID, 5000 - CONTEXT - 1, 5000 - CONTEXT)
    finally:
        bw.close()
    np.testing.assert_allclose(values, expected.values.astype(np.float32), rtol=1e-6,
                               atol=1e-7)
    assert np.isnan(outside[0])  # nothing written before the window


def test_json_of_ig_reports_delta_sum_and_top_positions(capsys, tmp_path, lambda_path):
    out = tmp_path / "ig.h5"
    summary = run_json(capsys, *attribute_args(lambda_path, out, "--method", "ig",
                                               "--steps", "8"))
    track = read_attribution_h5(out)
    assert summary["method"] == "ig" and summary["n"] == 60 + CONTEXT
    assert summary["repeats"] is False  # gradients explain the network alone
    assert summary["delta"] == pytest.approx(track.delta) and track.delta is not None
    assert summary["sum"] == pytest.approx(track.values.sum())
    assert summary["seconds"] > 0
    top = summary["top"]
    assert len(top) == 5
    scores = np.abs([t["score"] for t in top])
    assert (np.diff(scores) <= 0).all() and scores[0] == pytest.approx(np.abs(track.values).max())
    assert all(5000 - CONTEXT <= t["position"] < 5060 for t in top)
    assert top[0]["score"] == pytest.approx(track.values[top[0]["position"] - track.start])


def test_mutagenesis_states_whether_the_repeat_expert_is_explained(capsys, tmp_path,
                                                                   lambda_path):
    out = tmp_path / "ism.h5"
    argv = ["attribute", str(lambda_path), "--locus", f"{LAMBDA_ID}:5001-5008", "--model",
            "fast", "--context", "6", "--method", "ism", "--out", str(out)]
    without = run_json(capsys, *argv, "--no-repeats")
    assert without["repeats"] is False and not read_attribution_h5(out).repeats
    plain = run_json(capsys, *argv)
    assert plain["repeats"] is True and read_attribution_h5(out).repeats  # the bundled expert


def test_mutagenesis_with_the_expert_sees_a_copy_from_far_before_the_window(capsys, tmp_path):
    # 3 kb of random DNA, 2 kb else, the 3 kb again: the locus in the second copy is copied
    # from 5 kb back, out of the window; the expert makes its bases certain, the network not
    rng = np.random.default_rng(5)
    x = bytes(rng.choice(list(b"ACGT"), 3000).astype(np.uint8))
    y = bytes(rng.choice(list(b"ACGT"), 2000).astype(np.uint8))
    fasta = tmp_path / "copy.fa"
    fasta.write_bytes(b">copy\n" + x + y + x + b"\n")
    out = tmp_path / "ism.h5"
    argv = ["attribute", str(fasta), "--locus", "copy:6501-6510", "--model", "fast",
            "--context", "20", "--method", "ism", "--out", str(out)]
    alone = run_json(capsys, *argv, "--no-repeats")
    mixed = run_json(capsys, *argv)
    assert mixed["repeats"] and not alone["repeats"]
    assert mixed["output"] > alone["output"] + 5  # ten bases at about 2 bits each, now near 0
    track = read_attribution_h5(out)
    assert track.repeats and np.abs(track.values).max() > 0


def test_default_context_fills_the_model_up_to_1024_and_stops_at_the_record_start(
        capsys, tmp_path, lambda_path):
    out = tmp_path / "a.h5"
    argv = ["attribute", str(lambda_path), "--model", "fast", "--out", str(out)]
    middle = run_json(capsys, *argv, "--locus", f"{LAMBDA_ID}:2001-2100")
    assert (middle["start"], middle["end"]) == (2000 - 1024, 2100)
    first = run_json(capsys, *argv, "--locus", f"{LAMBDA_ID}:11-20")
    assert (first["start"], first["end"]) == (0, 20)


@pytest.mark.parametrize(("extra", "message"), [
    (["--locus", f"{LAMBDA_ID}:48001-48600"], "outside record"),
    (["--locus", "chrNope:1-10"], "no record 'chrNope'"),
    (["--locus", f"{LAMBDA_ID}:5001-5100", "--context", "3000"], "longer than the model's"),
    (["--locus", f"{LAMBDA_ID}:1001-4000"], "the model reads at most"),
    (["--locus", f"{LAMBDA_ID}:5001-5100", "--target", "surprisal", "--at", "5200"],
     "outside the locus"),
    (["--locus", f"{LAMBDA_ID}:5001-5100", "--at", "5050"], "--at is for"),
    (["--locus", f"{LAMBDA_ID}:5001-5100", "--target", "entropy", "--at", "x"],
     "not START-END"),
])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(capsys, tmp_path, lambda_path, extra,
                                                         message):
    out = tmp_path / "a.h5"
    code, _, err = run_cli(capsys, "attribute", str(lambda_path), "--model", "fast",
                           "--out", str(out), *extra)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    if "record" in message:
        assert str(lambda_path) in err  # the file is named
    assert list(tmp_path.iterdir()) == []  # no output, no temporary file


def test_unwritable_or_unknown_out_is_refused_before_any_work(capsys, tmp_path, lambda_path):
    for out, message in ((tmp_path / "missing" / "a.h5", "does not exist"),
                         (tmp_path / "a.txt", "must end in .h5, .bedgraph or .bw")):
        code, _, err = run_cli(capsys, *attribute_args(lambda_path, out))
        assert code == 2 and message in err and str(out) in err
    assert list(tmp_path.iterdir()) == []


def test_bigwig_without_pybigwig_names_the_extra_and_leaves_nothing(capsys, tmp_path,
                                                                    lambda_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyBigWig", None)  # what `import` sees when it is absent
    out = tmp_path / "a.bw"
    code, _, err = run_cli(capsys, *attribute_args(lambda_path, out))
    assert code == 2 and "pip install 'bytescope[bigwig]'" in err
    assert list(tmp_path.iterdir()) == []


def test_a_failed_run_keeps_the_old_output(capsys, tmp_path, lambda_path):
    out = tmp_path / "a.h5"
    out.write_bytes(b"old")
    code, _, _ = run_cli(capsys, "attribute", str(lambda_path), "--locus", "chrNope:1-10",
                         "--model", "fast", "--out", str(out))
    assert code == 2 and out.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.h5"]


def test_a_write_that_fails_midway_leaves_the_old_file_and_no_temporary(tmp_path):
    out = tmp_path / "a.h5"
    out.write_bytes(b"old")
    track = AttributionTrack("chrT", 0, np.zeros(3), np.zeros((3, 4)), b"ACGT", "saliency",
                             "region", 0, 3, 0.0, model="bad\0name")  # HDF5 refuses the NUL
    with pytest.raises(ValueError):
        write_attribution_h5(out, track)
    assert out.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["a.h5"]


def test_the_patch_level_model_is_explained_under_its_entropy_models_patches(capsys, tmp_path,
                                                                            lambda_path):
    import torch

    from engine.analysis.attribution import BOS
    from engine.analysis.inspect import patch_source_for

    out = tmp_path / "blt.h5"
    summary = run_json(capsys, "attribute", str(lambda_path), "--locus",
                       f"{LAMBDA_ID}:5001-5060", "--model", "hyena-blt", "--context", "40",
                       "--out", str(out))
    folder = resolve_model_path("hyena-blt")
    assert summary["model"] == str(folder) and summary["patches"] >= 2
    # F by one plain forward of the window with the patches the entropy model cuts there
    with open_sequences(lambda_path) as sf:
        record = sf[LAMBDA_ID]
        window = record.array(4960, 5060)
        flags = patch_source_for(folder)(str(lambda_path), record)[4960:5060]
    assert int(flags.sum()) == summary["patches"]
    model = load_model(folder).eval()
    ids = torch.tensor([[BOS, *window.tolist()]])
    with torch.no_grad():
        lp = torch.log_softmax(model(ids, torch.from_numpy(np.r_[True, flags])[None]), -1)
    expected = float(lp[0, torch.arange(40, 100), torch.from_numpy(window[40:].astype(int))].sum())
    assert summary["output"] == pytest.approx(expected, rel=1e-4)
    track = read_attribution_h5(out)
    assert track.start == 4960 and np.abs(track.values[:40]).max() > 0
