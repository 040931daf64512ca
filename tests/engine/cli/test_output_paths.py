"""Output files go into folders that exist: a missing one is one line, never created."""

from __future__ import annotations

import pytest

from engine.cli import main


@pytest.mark.parametrize("args, flag", [
    (["score", "{lam}", "--region", "0-500", "--out", "{tmp}/new/x.h5"], "--out"),
    (["patch", "{lam}", "--mode", "static", "--out", "{tmp}/new/o.bed"], "--out"),
    (["patch", "{lam}", "--mode", "static", "--out", "{tmp}/o.bed", "--bedgraph",
      "{tmp}/new/x.bedgraph"], "--bedgraph"),
    (["inspect", "{lam}", "--model", "{tmp}/run", "--locus", "x:1-100", "--out",
      "{tmp}/new/m.h5"], "--out"),
])
def test_a_missing_output_folder_is_refused_not_created(lambda_path, tmp_path, capsys, args,
                                                        flag):
    assert main([a.format(lam=lambda_path, tmp=tmp_path) for a in args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert f"{flag}: folder {tmp_path / 'new'} does not exist" in err
    assert list(tmp_path.iterdir()) == []


def test_an_output_under_a_file_is_refused(lambda_path, tmp_path, capsys):
    (tmp_path / "plain").write_text("a file")
    out = tmp_path / "plain" / "x.h5"
    assert main(["score", str(lambda_path), "--region", "0-500", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"--out: {tmp_path / 'plain'} is not a folder" in err
