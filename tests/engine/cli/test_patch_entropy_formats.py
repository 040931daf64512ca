"""``bytescope patch --entropies`` reads every format of the engine's table (issue 14): a bedGraph
gives the patches its ``.npy`` gives, a bad line is one error naming the file and the line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.cli import main
from engine.io.entropy_files import ENTROPY_FORMATS, ENTROPY_SUFFIXES, EntropyFormat
from engine.io.records import Record

LAMBDA_ID = "gi|9626243|ref|NC_001416.1|"
LAMBDA_LENGTH = 48_502


@pytest.fixture(scope="module")
def entropies() -> np.ndarray:
    """float32 with 4 decimals: what ``--bedgraph`` writes holds them exactly."""
    H = np.random.default_rng(11).gamma(2.0, 0.7, LAMBDA_LENGTH)
    return np.round(H, 4).astype(np.float32)


@pytest.fixture
def npy(tmp_path, entropies) -> Path:
    path = tmp_path / "lambda.npy"
    np.save(path, entropies)
    return path


def patch(lambda_path, entropies: Path, out: Path, *args: str) -> str:
    assert main(["patch", str(lambda_path), "--entropies", str(entropies), "--out", str(out),
                 *args]) == 0
    return out.read_text()


def patch_error(capsys, lambda_path, entropies: Path, out: Path, *args: str) -> str:
    assert main(["patch", str(lambda_path), "--mode", "entropy", "--entropies", str(entropies),
                 "--out", str(out), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("bytescope patch: error: ") and "\n" not in err
    assert not out.exists()
    return err


@pytest.mark.parametrize("settings", [("--mode", "entropy", "--threshold", "1.4"),
                                      ("--mode", "dual", "--target-patch-size", "5"),
                                      ("--mode", "entropy", "--region", "1000-7000",
                                       "--threshold", "1.0")],
                         ids=["entropy", "dual-target", "region"])
def test_a_bedgraph_gives_the_patches_of_the_same_entropies_in_npy(tmp_path, lambda_path, npy,
                                                                   settings):
    graph = tmp_path / "lambda.bedgraph"
    from_npy = patch(lambda_path, npy, tmp_path / "npy.bed", *settings,
                     "--bedgraph", str(graph))  # the command's own bedGraph of the entropies
    assert graph.read_text().count("\n") > 1000
    from_graph = patch(lambda_path, graph, tmp_path / "graph.bed", *settings)
    assert from_graph == from_npy
    assert from_npy.count("\n") > 100


@pytest.mark.parametrize("suffix", [".bdg", ".bg"])
def test_every_bedgraph_suffix_of_the_table_is_read(tmp_path, lambda_path, npy, entropies,
                                                    suffix):
    graph = tmp_path / f"e{suffix}"
    graph.write_text("".join(f"{LAMBDA_ID}\t{i}\t{i + 1}\t{v:.4f}\n"
                             for i, v in enumerate(entropies[:500].tolist())))
    args = ("--mode", "entropy", "--threshold", "1.2", "--region", "0-500")
    assert patch(lambda_path, graph, tmp_path / "a.bed", *args) == \
        patch(lambda_path, npy, tmp_path / "b.bed", *args)


def test_a_bad_bedgraph_line_is_one_error_naming_file_and_line(capsys, tmp_path, lambda_path):
    graph = tmp_path / "bad.bedgraph"
    graph.write_text(f"track type=bedGraph\n{LAMBDA_ID}\t0\t100\t1.0\n"
                     f"{LAMBDA_ID}\t100\tten\t1.0\n")
    err = patch_error(capsys, lambda_path, graph, tmp_path / "p.bed")
    assert f"{graph}:3: start and end must be integers" in err


def test_a_bedgraph_missing_bytes_of_the_region_is_refused(capsys, tmp_path, lambda_path):
    graph = tmp_path / "part.bedgraph"
    graph.write_text(f"{LAMBDA_ID}\t0\t100\t1.0\n{LAMBDA_ID}\t200\t48502\t1.0\n")
    err = patch_error(capsys, lambda_path, graph, tmp_path / "p.bed")
    assert str(graph) in err and "no entropy for byte 100" in err
    out = tmp_path / "ok.bed"
    assert patch(lambda_path, graph, out, "--mode", "entropy", "--region", "200-900")


def test_an_unknown_suffix_lists_the_table(capsys, tmp_path, lambda_path):
    path = tmp_path / "e.csv"
    path.write_text("1\n")
    err = patch_error(capsys, lambda_path, path, tmp_path / "p.bed")
    assert str(path) in err and all(suffix in err for suffix in ENTROPY_SUFFIXES)


def test_help_lists_the_formats_of_the_table(capsys):
    with pytest.raises(SystemExit):
        main(["patch", "--help"])
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps the help
    for form in ENTROPY_FORMATS.values():
        assert "/".join(form.suffixes) in text


def test_a_format_added_to_the_table_is_read_by_the_command(capsys, tmp_path, lambda_path,
                                                            npy, entropies, monkeypatch):
    def read_text(path: Path, record: Record, start: int, end: int) -> np.ndarray:
        return np.loadtxt(path, dtype=np.float32)[start:end]

    monkeypatch.setitem(ENTROPY_FORMATS, "text",
                        EntropyFormat("text", (".txt",), "one value per line", read_text))
    text = tmp_path / "e.txt"
    np.savetxt(text, entropies, fmt="%.4f")
    args = ("--mode", "entropy", "--threshold", "1.3")
    assert patch(lambda_path, text, tmp_path / "a.bed", *args) == \
        patch(lambda_path, npy, tmp_path / "b.bed", *args)
    with pytest.raises(SystemExit):
        main(["patch", "--help"])
    assert ".txt (one value per line)" in " ".join(capsys.readouterr().out.split())


def test_compare_annotations_reads_a_bedgraph(capsys, tmp_path, lambda_path, npy):
    graph = tmp_path / "lambda.bedgraph"
    patch(lambda_path, npy, tmp_path / "p.bed", "--mode", "static", "--bedgraph", str(graph))
    bed = tmp_path / "genes.bed"
    bed.write_text(f"{LAMBDA_ID}\t100\t900\tg1\n{LAMBDA_ID}\t5000\t9000\tg2\n")
    capsys.readouterr()
    outputs = []
    for source in (npy, graph):
        assert main(["compare-annotations", str(lambda_path), "--annotations", str(bed),
                     "--mode", "entropy", "--threshold", "1.4", "--entropies", str(source),
                     "--trials", "3", "--json"]) == 0
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1]
