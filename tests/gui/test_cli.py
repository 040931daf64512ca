"""``bytescope gui``: the screenshot command, its errors, and plain ``bytescope`` headless."""

from __future__ import annotations

import subprocess
import sys

import pytest
from PySide6.QtGui import QImage

from engine.cli import main
from tests.conftest import REPO
from tests.gui.test_window import non_blank


def test_screenshot_renders_the_locus_and_exits_0(qapp, capsys, genome, entropies_npy,
                                                  tmp_path):
    out = tmp_path / "shot.png"
    code = main(["gui", str(genome), "--entropies", str(entropies_npy), "--locus",
                 "chrT:501-1500", "--screenshot", str(out), "--size", "1200x800"])
    assert code == 0, capsys.readouterr().err
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1200, 800)
    assert non_blank(image) > 20


def test_no_repeats_scores_with_the_network_alone(qapp, capsys, genome, tiny_model, tmp_path,
                                                  isolated_cache):
    import shutil

    from engine.models.repeats import N_STATES, RepeatConfig, save_repeats

    folder = shutil.copytree(tiny_model, tmp_path / "with-repeats")
    save_repeats(RepeatConfig(k=12, weights=[0.5] * N_STATES), folder)
    from engine.models import model_hash

    mixed, network = model_hash(folder), model_hash(folder, repeats=False)
    for extra, expected in (([], {mixed}), (["--no-repeats"], {mixed, network})):
        code = main(["gui", str(genome), "--model", str(folder), "--screenshot",
                     str(tmp_path / "shot.png"), "--whole", *extra])
        assert code == 0, capsys.readouterr().err
        assert {p.name for p in (isolated_cache / "scores").glob("*/*")} == expected


@pytest.mark.parametrize("args, message", [
    (["missing.fa", "--screenshot", "x.png"], "no such file"),
    (["{genome}", "--locus", "chrZ:1-5", "--screenshot", "{out}"], "--locus"),
    (["{genome}", "--locus", "chrT:0-100", "--screenshot", "{out}"], "positions count from 1"),
    (["{genome}", "--screenshot", "x.jpg"], "must end in .png"),
    (["{genome}", "--screenshot", "{out}", "--size", "big"], "WIDTHxHEIGHT"),
])
def test_bad_input_is_one_line_and_exit_2(qapp, capsys, genome, tmp_path, args, message):
    filled = [a.format(genome=genome, out=tmp_path / "o.png") for a in args]
    assert main(["gui", *filled]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and message in err and err.startswith("bytescope gui: error:")
    assert not (tmp_path / "o.png").exists()


def test_plain_bytescope_without_a_screen_describes_the_sample():
    run = subprocess.run([sys.executable, "-m", "engine"], cwd=REPO, capture_output=True,
                         text=True, env={"QT_QPA_PLATFORM": "offscreen", "PATH": ""},
                         timeout=120)
    assert run.returncode == 0
    assert "lambda_phage.fa" in run.stdout and "no window" in run.stderr


def test_the_engine_loads_no_qt_even_with_the_gui_command_registered():
    code = ("import sys, engine.cli, engine.cli.gui, engine.cli.compare; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph', 'gui')];"
            " assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO, timeout=120)


@pytest.mark.parametrize("content, message", [
    (bytes(range(256)) * 4, "not a text file"),
    (b'{"files": 3}', "not a bytescope session"),
    (b'{"version": 1, "files": 3}', "malformed session"),
])
def test_a_bad_session_is_its_error_at_once_with_exit_2(qapp, capsys, tmp_path, content,
                                                        message):
    session = tmp_path / "bad.json"
    session.write_bytes(content)
    out = tmp_path / "o.png"
    assert main(["gui", "--session", str(session), "--screenshot", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and message in err and str(session) in err
    assert not out.exists()


def test_a_file_with_a_session_is_refused(qapp, capsys, genome, tmp_path):
    session = tmp_path / "s.json"
    session.write_text("{}")
    assert main(["gui", str(genome), "--session", str(session), "--screenshot",
                 str(tmp_path / "o.png")]) == 2
    assert "not both" in capsys.readouterr().err


def test_the_command_line_locus_applies_on_top_of_a_session(qapp, genome, entropies_npy,
                                                            tmp_path):
    from engine.cli import build_parser
    from gui.app import ErrorCollector, open_from_args, wait_until_ready
    from gui.model.session import SessionState
    from gui.window import MainWindow

    session = tmp_path / "s.json"
    SessionState(files=[str(genome)], locus="chrT:101-400").save(session)
    args = build_parser().parse_args(["gui", "--session", str(session), "--entropies",
                                      str(entropies_npy), "--locus", "chrT:1001-1400"])
    window = MainWindow(persist=False)
    errors = ErrorCollector(window)
    try:
        open_from_args(window, args)
        wait_until_ready(window, 60, False, errors)
        locus = window.model.locus
        assert (locus.record_id, locus.start, locus.end) == ("chrT", 1000, 1400)
    finally:
        errors.close()
        window.close()


def test_a_screenshot_that_times_out_says_what_it_waited_for_and_what_to_try(qapp, capsys,
                                                                             tmp_path):
    # the bundled default model needs ~20 s for the 470 kb sample here; 1 s cannot be enough
    out = tmp_path / "o.png"
    assert main(["gui", "--whole", "--timeout", "1", "--screenshot", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "not ready after 1 s" in err
    waited = err.split("not ready after 1 s (")[1].split(")")[0]
    assert waited.startswith(("opening", "starting to score", "scoring the whole record"))
    assert "--model fast" in err
    assert not out.exists()


def test_a_sessions_bad_locus_is_blamed_on_the_session(qapp, capsys, genome, tmp_path):
    from gui.model.session import SessionState

    session = tmp_path / "s.json"
    SessionState(files=[str(genome)], locus="chrZ:1-100").save(session)
    assert main(["gui", "--session", str(session), "--screenshot",
                 str(tmp_path / "o.png")]) == 2
    err = capsys.readouterr().err
    assert "the session's locus" in err and "--locus" not in err
