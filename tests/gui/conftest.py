"""GUI fixtures: a small annotated genome, a real tiny model, windows with their own settings,
and the check that no test leaves a thread running."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.conftest import LENGTH, lambda_bases, write_gff3


@pytest.fixture
def genome(tmp_path) -> Path:
    """A 3,000-base record (lambda's start) with 4 CDS/tRNA/rRNA features, as GFF3+FASTA."""
    return write_gff3(tmp_path / "small.gff3")


@pytest.fixture
def two_records(tmp_path) -> Path:
    seq = lambda_bases(4000)
    path = tmp_path / "two.fa"
    path.write_text(f">first\n{seq[:2500]}\n>second desc\n{seq[2500:]}\n")
    return path


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A real (untrained) Hyena model small enough to score a few kb in a second."""
    import torch

    from engine.models import build_model, model_config, save_model

    torch.manual_seed(0)
    model = build_model(model_config("hyena", "tiny", d_model=16, n_layers=1, max_len=256))
    return save_model(model, tmp_path_factory.mktemp("model") / "tiny")


@pytest.fixture
def entropies_npy(tmp_path) -> Path:
    """Deterministic entropies for the 3,000-base record: a smooth curve with dips."""
    x = np.arange(LENGTH)
    values = (1.2 + 0.15 * np.sin(x / 37.0) - 0.5 * (x % 97 == 0)).astype(np.float32)
    path = tmp_path / "chrT.npy"
    np.save(path, values)
    return path


@pytest.fixture
def settings(tmp_path):
    from PySide6.QtCore import QSettings

    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def window(qtbot, settings):
    """A main window with its own settings file; closed (threads joined) after the test."""
    from gui.window import MainWindow

    win = MainWindow(settings=settings)
    qtbot.addWidget(win)
    win.resize(1400, 900)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.close()


def wait_ready(qtbot, win, whole: bool = False, timeout: int = 20_000) -> None:
    qtbot.waitUntil(lambda: win.controllers.view.view_ready(whole), timeout=timeout)


def wait_exports(qtbot, win, timeout: int = 20_000) -> None:
    """Until every export job of the window has ended (written, or failed with its dialog)."""
    qtbot.waitUntil(lambda: not win.controllers.exports.busy(), timeout=timeout)


@pytest.fixture
def with_entropies(qtbot, window, genome, entropies_npy):
    """The small genome open, its entropies from a file: deterministic and model-free."""
    window.open_paths([str(genome)])
    qtbot.waitUntil(lambda: window.model.record is not None)
    window.open_paths([str(entropies_npy)])
    qtbot.waitUntil(lambda: window.model.score_status.state == "file")
    wait_ready(qtbot, window)
    return window


@pytest.fixture(autouse=True)
def no_threads_left(request):
    """Every test ends with every worker pool idle (napari's dangling-thread check)."""
    yield
    if "qapp" not in request.fixturenames and "qtbot" not in request.fixturenames:
        return
    import shiboken6
    from PySide6.QtCore import QThreadPool

    from gui.workers import POOLS

    # a pool deleted with its window has joined its threads (~QThreadPool waits for them)
    pools = [pool for pool in POOLS if shiboken6.isValid(pool)]
    pools.append(QThreadPool.globalInstance())
    for pool in pools:
        pool.waitForDone(10_000)
    running = [pool.activeThreadCount() for pool in pools]
    assert not any(running), f"threads still running after the test: {running}"
    from gui.workers import THREADS

    training = [t for t in THREADS if shiboken6.isValid(t) and t.isRunning()]
    assert not training, f"training threads still running after the test: {training}"
