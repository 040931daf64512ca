"""Regenerate the README's images from the README's own commands.

Run: ``python docs/make_images.py [screenshot] [training] [repeats]`` (default: all three).

* ``screenshot``: ``docs/screenshot.png``, the README's ``bytescope gui ... --screenshot``
  command (:data:`SCREENSHOT`, quoted verbatim in README.md; a test checks that).
* ``training``: ``docs/training.png``, the Training panel after the run of :data:`TRAINING`,
  started through ``MainWindow.start_training`` as the panel's Start button does.
* ``repeats``: ``docs/repeats.png``, a held-out stretch of the HS11286 chromosome that copies
  earlier sequence, drawn by the network alone (``--no-repeats``) and with the repeat expert;
  it needs ``../shared/data``.

Every image is rendered offscreen and written atomically; the scores come from the cache when
an earlier run made them.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"

SCREENSHOT = ("bytescope gui resources/samples/prokka_BAC_00001.gff3.gz "
              "--locus BAC_00001:1,901-3,500 --whole --size 1920x1080 "
              "--screenshot docs/screenshot.png")
TRAINING = {"files": ["resources/samples/lambda_phage.fa"], "arch": "hyena", "preset": "tiny",
            "steps": 120, "seq_len": 512, "batch_size": 8, "eval_every": 20,
            "checkpoint_every": 60, "log_every": 2, "seed": 0}
REPEATS_LOCUS = "CP003200.1:4,839,001-4,849,000"
REPEATS_SIZE = (760, 390)


def run_screenshot() -> None:
    argv = shlex.split(SCREENSHOT)
    assert argv[0] == "bytescope"
    subprocess.run([sys.executable, "-m", "engine", *argv[1:]], cwd=REPO, check=True)


def _app():
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from gui.app import application

    return application()  # which leaves the GUI thread a core, as the window does


def _spin(app, until, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not until():
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up after {timeout:g} s")
        app.processEvents()
        time.sleep(0.02)


def _save(image, path: Path) -> None:
    from engine.atomic import atomic_path

    with atomic_path(path) as tmp:
        if not image.save(str(tmp), "PNG"):
            raise SystemExit(f"could not write {path}")
    print(f"wrote {path.relative_to(REPO)}")


def run_training() -> None:
    from engine.train import TrainConfig
    from gui.window import MainWindow

    app = _app()
    config = TrainConfig(**{**TRAINING, "files": [str(REPO / f) for f in TRAINING["files"]]})
    window = MainWindow(persist=False)
    try:
        window.resize(1600, 1000)
        window.show()
        window.open_paths(config.files)
        _spin(app, lambda: window.controller.view_ready(), 300)
        with tempfile.TemporaryDirectory() as workspace:
            window.start_training(config, Path(workspace) / "hyena-tiny")
            _spin(app, lambda: not window.training.controller.active, 1200)
            _spin(app, lambda: window.controller.view_ready(), 60)
            for _ in range(20):  # the last events and the curves' redraw
                app.processEvents()
                time.sleep(0.05)
            _save(window.grab(), REPO / "docs" / "training.png")
    finally:
        window.close()


def run_repeats() -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QColor, QFont, QImage, QPainter

    from engine.cli import build_parser
    from gui.app import ErrorCollector, open_from_args, wait_until_ready
    from gui.window import MainWindow

    genome = SHARED / "klebsiella_hs11286.fna.xz"
    if not genome.exists():
        raise SystemExit(f"{genome} is absent: the repeats image needs ../shared/data")
    app = _app()
    panels = []
    for title, extra in (("network alone (--no-repeats)", ["--no-repeats"]),
                         ("with the repeat expert (default)", [])):
        args = build_parser().parse_args(["gui", str(genome), "--locus", REPEATS_LOCUS, *extra])
        window = MainWindow(persist=False)
        errors = ErrorCollector(window)
        try:
            window.resize(1600, 1000)
            window.show()
            open_from_args(window, args)
            wait_until_ready(window, 900, False, errors)
            app.processEvents()
            window.tracks.resize(*REPEATS_SIZE)
            panels.append((title, window.tracks.grab().toImage()))
        finally:
            errors.close()
            window.close()
    header = 28
    width = max(image.width() for _, image in panels)
    height = sum(image.height() + header for _, image in panels)
    out = QImage(width, height, QImage.Format.Format_RGB32)
    out.fill(QColor("white"))
    painter = QPainter(out)
    font = QFont()
    font.setPointSize(11)
    font.setBold(True)
    painter.setFont(font)
    y = 0
    for title, image in panels:
        painter.drawText(10, y, width - 20, header, Qt.AlignmentFlag.AlignVCenter, title)
        painter.drawImage(0, y + header, image)
        y += header + image.height()
    painter.end()
    _save(out, REPO / "docs" / "repeats.png")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    makers = {"screenshot": run_screenshot, "training": run_training, "repeats": run_repeats}
    parser.add_argument("images", nargs="*", metavar="IMAGE",
                        help=f"any of {', '.join(makers)} (default: all)")
    which = parser.parse_args().images or list(makers)
    unknown = [name for name in which if name not in makers]
    if unknown:
        parser.error(f"no image called {unknown[0]!r}")
    for name in which:
        makers[name]()
    return 0


if __name__ == "__main__":
    sys.exit(main())
