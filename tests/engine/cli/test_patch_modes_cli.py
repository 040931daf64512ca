"""``bytescope patch --mode`` reads the table of patch modes (issue 14): its choices, its help,
which θ may be negative, and a mode added to the table is a mode of the command."""

from __future__ import annotations

import numpy as np
import pytest

from engine.cli import main
from engine.patching import PATCH_MODES
from engine.patching.mode_table import PatchMode
from engine.patching.modes import static_lengths

LAMBDA_LENGTH = 48_502


@pytest.fixture
def npy(tmp_path):
    path = tmp_path / "ok.npy"
    np.save(path, np.random.default_rng(3).gamma(2.0, 0.7, LAMBDA_LENGTH).astype(np.float32))
    return path


def help_text(capsys) -> str:
    with pytest.raises(SystemExit):
        main(["patch", "--help"])
    return " ".join(capsys.readouterr().out.split())  # argparse wraps the help


def test_help_lists_every_mode_of_the_table_with_its_summary(capsys):
    text = help_text(capsys)
    for name, mode in PATCH_MODES.items():
        assert f"{name}: {mode.summary}" in text


@pytest.mark.parametrize("name", [n for n, m in PATCH_MODES.items() if m.theta is not None])
def test_a_negative_threshold_is_refused_where_the_table_calls_it_an_amount(
        capsys, tmp_path, lambda_path, npy, name):
    out = tmp_path / "p.bed"
    code = main(["patch", str(lambda_path), "--mode", name, "--threshold", "-0.5",
                 "--entropies", str(npy), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == (2 if PATCH_MODES[name].threshold_is_amount else 0)
    if code:
        assert "(only 'monotonic' takes a negative threshold" in err


def test_a_mode_added_to_the_table_is_a_mode_of_the_command(capsys, tmp_path, lambda_path,
                                                            monkeypatch):
    pairs = PatchMode("pairs", "patches of two bytes", reads="length", bos_alone=False,
                      lengths=lambda config, n_positions: static_lengths(n_positions, 2))
    monkeypatch.setitem(PATCH_MODES, "pairs", pairs)
    assert "pairs: patches of two bytes" in help_text(capsys)
    out = tmp_path / "p.tsv"
    assert main(["patch", str(lambda_path), "--mode", "pairs", "--out", str(out)]) == 0
    assert f"{LAMBDA_LENGTH // 2} patches" in capsys.readouterr().out
    assert main(["patch", str(lambda_path), "--mode", "pairs", "--threshold", "1",
                 "--out", str(out)]) == 2  # a byte mode: no θ, as the table says
    assert "threshold applies to entropy modes" in capsys.readouterr().err
