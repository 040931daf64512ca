"""Usage errors are one line naming the flag and the subcommand's help, with exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.cli import main


@pytest.mark.parametrize("args, command, message", [
    (["patch", "{lam}", "--mode", "static"], "patch", "required: --out"),
    (["train", "{lam}", "--out", "r", "--model-config", "nope"], "train",
     "--model-config: not JSON"),
    (["info", "--frobnicate"], "info", "unrecognized arguments: --frobnicate"),
    (["score"], "score", "required: FILE"),
    (["inspect", "{lam}", "--model", "m", "--locus", "x:1-5", "--out", "m.h5",
      "--patching", "[1,"], "inspect", "--patching: not JSON"),
])
def test_a_usage_error_is_one_line_naming_the_flag(lambda_path, capsys, args, command,
                                                   message):
    with pytest.raises(SystemExit) as stop:
        code = main([a.format(lam=lambda_path) for a in args])
        raise SystemExit(code)  # unknown flags return 2 instead of raising
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith(f"bytescope {command}: error:") and message in err
    assert f"see bytescope {command} --help" in err


@pytest.mark.parametrize("args, message", [
    (["train", "{lam}", "--out", "{out}", "--log-every", "0"], "--log-every: '0' is not"),
    (["train", "{lam}", "--out", "{out}", "--threads", "-1"], "--threads: '-1' is not"),
    (["train", "{lam}", "--out", "{out}", "--weights", "nan"], "--weights: 'nan' is not"),
    (["score", "{lam}", "--batch-size", "-3"], "--batch-size: '-3' is not"),
    (["score", "{lam}", "--batch-size", "0"], "--batch-size: '0' is not"),
    (["patch", "{lam}", "--mode", "entropy", "--threshold", "nan", "--out", "{out}.bed"],
     "--threshold: 'nan' is not a finite number"),
])
def test_numeric_options_are_checked_when_parsed(lambda_path, tmp_path, capsys, args, message):
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as stop:
        main([a.format(lam=lambda_path, out=out) for a in args])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("flags, message", [
    (["--batch-size", "100000000"], "tokens per step"),
    (["--seq-len", "100000000", "--batch-size", "1"], "tokens per step"),
    (["--seq-len", "8000000", "--batch-size", "1"], "max_len must be in"),
])
def test_a_step_too_large_for_memory_is_refused_before_training(lambda_path, tmp_path, capsys,
                                                                flags, message):
    out = tmp_path / "run"
    assert main(["train", str(lambda_path), "--out", str(out), *flags]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert not out.exists()


def test_resuming_a_run_whose_config_is_corrupt_names_the_file_and_line(tmp_path, capsys):
    (tmp_path / "config.json").write_text('{"steps": 5,\n "files": [}\n')
    assert main(["train", "--resume", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "config.json:2" in err and "not JSON" in err


@pytest.mark.skipif(not Path("/proc/self").exists(), reason="needs Linux's /proc")
@pytest.mark.parametrize("args, flag", [
    (["score", "{lam}", "--region", "0-500", "--out", "/proc/x.h5"], "--out"),
    (["patch", "{lam}", "--mode", "static", "--out", "/proc/o.bed"], "--out"),
    (["patch", "{lam}", "--mode", "static", "--out", "{tmp}/o.bed", "--bedgraph",
      "/proc/x.bedgraph"], "--bedgraph"),
])
def test_an_output_nothing_can_be_written_to_is_refused_before_the_work(
        lambda_path, tmp_path, capsys, args, flag):
    assert main([a.format(lam=lambda_path, tmp=tmp_path) for a in args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{flag}: cannot write in /proc" in err
    assert not list(tmp_path.iterdir())  # not even the BED beside the refused bedGraph


def test_an_output_that_is_a_folder_is_refused(lambda_path, tmp_path, capsys):
    folder = tmp_path / "scores.h5"
    folder.mkdir()
    assert main(["score", str(lambda_path), "--region", "0-500", "--out", str(folder)]) == 2
    assert "names a folder" in capsys.readouterr().err
    assert list(folder.iterdir()) == []
