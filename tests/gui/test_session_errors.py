"""Malformed sessions in the window and on ``bytescope gui --session``: one dialog (one line,
exit 2 on the command line) naming the file and the field; the window keeps what it showed
and stays usable; nothing hangs (issue 13)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.cli import main
from engine.errors import InputError
from engine.patching import PatchConfig
from gui.model.locus import Locus
from gui.model.session import SessionState
from tests.conftest import REPO
from tests.gui.conftest import wait_ready
from tests.gui.model.test_session_errors import DEPTH

# the issue's six: (id, the session's text given the genome's path, what the error names)
ISSUE_SESSIONS = [
    ("patcher", lambda g: {"files": [g], "patcher": 5}, "'patcher'"),
    ("compare", lambda g: {"files": [g], "compare": {"k": "abc"}}, "'k'"),
    ("deep", None, "nested too deeply"),
    ("locus", lambda g: {"files": [g], "locus": 12345}, "'locus'"),
    ("model", lambda g: {"files": [g], "model": 123}, "'model'"),
    ("files", lambda g: {"files": "a/path"}, "'files'"),
]


def bad_session(path: Path, fields, genome: Path) -> Path:
    if fields is None:
        path.write_text('{"version": 2, "files": ' + "[" * DEPTH + "]" * DEPTH + "}")
    else:
        path.write_text(json.dumps({"version": 2, **fields(str(genome))}))
    return path


def what_is_shown(window) -> tuple:
    model = window.model
    return ([d.path for d in model.documents], model.record_path, model.record.id, model.locus,
            model.patch_config, model.compare_settings, model.model_spec, model.repeats,
            model.entropy_file, model.score_status.state, window.patcher.k.value())


@pytest.mark.parametrize("fields, named", [(f, n) for _, f, n in ISSUE_SESSIONS],
                         ids=[i for i, _, _ in ISSUE_SESSIONS])
def test_a_bad_session_is_one_dialog_and_the_window_keeps_its_state(
        qtbot, with_entropies, genome, tmp_path, fields, named):
    window = with_entropies
    window.model.set_locus(Locus("chrT", 1000, 1600))
    before = what_is_shown(window)
    path = bad_session(tmp_path / "bad.json", fields, genome)
    assert window.load_session(str(path)) is False
    assert window.error_dialog is not None and window.error_dialog.isVisible()
    assert str(path) in window.error_dialog.text() and named in window.error_dialog.text()
    assert not window.controllers.view.opening()  # nothing was closed, nothing is being opened
    wait_ready(qtbot, window)  # any slot raising on a half-applied session would fail here
    assert what_is_shown(window) == before
    window.error_dialog.close()
    window.set_locus("chrT:101-700")  # usable at once
    assert window.model.locus == Locus("chrT", 100, 700)
    window.model.set_patch_config(PatchConfig(mode="static", patch_size=50))
    qtbot.waitUntil(lambda: window.model.patches is not None
                    and window.model.patches.count == 60)


def test_a_session_built_wrong_in_code_raises_before_anything_closes(qtbot, with_entropies):
    window = with_entropies
    before = what_is_shown(window)
    with pytest.raises(InputError, match="unknown patching mode"):
        window.apply_session(SessionState(files=[], patcher={"mode": "nonsense"}))
    assert what_is_shown(window) == before


def test_a_good_session_after_a_bad_one_loads(qtbot, with_entropies, genome, tmp_path):
    window = with_entropies
    assert not window.load_session(str(bad_session(tmp_path / "bad.json",
                                                   ISSUE_SESSIONS[0][1], genome)))
    good = tmp_path / "good.json"
    SessionState(files=[str(genome)], locus="chrT:201-800",
                 compare={"k": 7, "anchor": "start"}).save(good)
    assert window.load_session(str(good))
    wait_ready(qtbot, window)
    assert window.model.locus == Locus("chrT", 200, 800)
    assert window.model.compare_settings.k == 7 and window.patcher.k.value() == 7


@pytest.mark.parametrize("fields, named", [(f, n) for _, f, n in ISSUE_SESSIONS],
                         ids=[i for i, _, _ in ISSUE_SESSIONS])
def test_gui_session_screenshot_is_one_line_and_exit_2(qapp, capsys, genome, tmp_path,
                                                       fields, named):
    path = bad_session(tmp_path / "bad.json", fields, genome)
    out = tmp_path / "x.png"
    assert main(["gui", "--session", str(path), "--screenshot", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("bytescope gui: error:")
    assert str(path) in err and named in err
    assert not out.exists()


@pytest.mark.parametrize("which", ["locus", "model"])  # the two that hung
def test_gui_session_screenshot_from_a_shell_ends_at_once(genome, tmp_path, which):
    fields = dict((i, f) for i, f, _ in ISSUE_SESSIONS)[which]
    path = bad_session(tmp_path / "bad.json", fields, genome)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-m", "engine", "gui", "--session", str(path),
                           "--screenshot", str(tmp_path / "x.png")], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and f"'{which}'" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "x.png").exists()
