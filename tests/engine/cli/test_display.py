"""Before Qt starts: a missing xcb library or a stale DISPLAY is one line, never an abort."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from engine.cli.display import debian_package, display_answers, missing_libraries
from tests.conftest import REPO

STALE = ":97"  # no X server listens there on a test machine


@pytest.mark.parametrize("soname, package", [
    ("libxcb-icccm.so.4", "libxcb-icccm4"),
    ("libxcb-keysyms.so.1", "libxcb-keysyms1"),
    ("libxcb-cursor.so.0", "libxcb-cursor0"),
    ("libxkbcommon-x11.so.0", "libxkbcommon-x11-0"),
    ("libdbus-1.so.3", "libdbus-1-3"),
    ("libEGL.so.1", "libegl1"),
])
def test_sonames_map_to_debians_package_names(soname, package):
    assert debian_package(soname) == package


@pytest.mark.skipif(shutil.which("gcc") is None or shutil.which("ldd") is None,
                    reason="needs gcc and ldd to build a library with a missing dependency")
def test_a_library_the_loader_cannot_find_is_named(tmp_path):
    (tmp_path / "ghost.c").write_text("int ghost(void) { return 1; }\n")
    (tmp_path / "needs.c").write_text("int ghost(void);\nint needs(void) { return ghost(); }\n")
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", "libghost.so.7", "-Wl,-soname,libghost.so.7",
                    "ghost.c"], cwd=tmp_path, check=True)
    (tmp_path / "libghost.so").symlink_to("libghost.so.7")
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", "libneeds.so", "needs.c", "-L.", "-lghost",
                    "-Wl,--no-as-needed"], cwd=tmp_path, check=True)
    (tmp_path / "libghost.so.7").unlink()
    assert missing_libraries(tmp_path / "libneeds.so") == ["libghost.so.7"]


def test_a_display_without_a_server_does_not_answer():
    assert not display_answers({**os.environ, "DISPLAY": STALE})


def stale_display_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
    return {**env, "DISPLAY": STALE}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11 is Linux's here")
def test_plain_bytescope_on_a_stale_display_describes_the_sample():
    run = subprocess.run([sys.executable, "-m", "engine"], cwd=REPO, capture_output=True,
                         text=True, env=stale_display_env(), timeout=120)
    assert run.returncode == 0, run.stderr
    assert "lambda_phage.fa" in run.stdout
    assert run.stderr.count("\n") == 1 and "no window" in run.stderr


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11 is Linux's here")
def test_the_window_on_a_stale_display_is_one_line_and_exit_2(lambda_path):
    run = subprocess.run([sys.executable, "-m", "engine", "gui", str(lambda_path)], cwd=REPO,
                         capture_output=True, text=True, env=stale_display_env(), timeout=120)
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1
    assert run.stderr.startswith("bytescope gui: error: cannot open a window:")
