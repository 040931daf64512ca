"""Usage errors are one line naming the flag and the subcommand's help, with exit code 2."""

from __future__ import annotations

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
