"""Starting the workbench: ``run(args)`` is what ``bytescope gui`` (and plain ``bytescope``)
calls; :func:`screenshot` renders a window offscreen and saves it."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

from engine.atomic import atomic_path
from engine.errors import BytescopeError, InputError
from engine.resources import sample_path

from .window import MainWindow

SAMPLE_FILES = ("prokka_BAC_00001.gff3.gz", "lambda_phage.fa")
POLL_MS = 50


def application() -> QApplication:
    app = QApplication.instance()
    if app is None:
        app = QApplication(sys.argv[:1])
        app.setApplicationName("bytescope")
        app.setOrganizationName("bytescope")
    return app


def use_spare_cores() -> None:
    """Leave a core to the GUI thread: torch's intra-op threads would otherwise take all."""
    import torch

    torch.set_num_threads(max(1, (os.cpu_count() or 2) - 1))


def open_from_args(window: MainWindow, args: argparse.Namespace) -> None:
    """Open what the command line names (or the bundled samples) in ``window``."""
    if args.session:
        if not window.load_session(args.session):
            return
    else:
        files = args.files or [str(sample_path(name)) for name in SAMPLE_FILES]
        missing = [f for f in files + list(args.annotations) if not Path(f).exists()]
        if missing:
            raise InputError("no such file", path=missing[0])
        window.model.set_model_spec(args.model)
        window.open_paths(files, locus=args.locus)
        if args.annotations:
            window.controller.open_annotations(list(args.annotations))
    if args.no_repeats:  # after a session too: the command line has the last word
        window.actions["repeats"].setChecked(False)
    if args.entropies:
        window.controller.load_entropies(args.entropies)


def wait_until_ready(window: MainWindow, timeout: float, whole: bool = False) -> None:
    """Run the event loop until the view is complete, a user error occurs, or ``timeout``."""
    errors: list[BytescopeError] = []
    window.model.events.error.connect(errors.append)
    loop = QEventLoop()
    deadline = time.monotonic() + timeout
    ready_twice = [0]

    def check() -> None:
        if errors or time.monotonic() > deadline:
            loop.quit()
        elif window.controller.view_ready(whole):
            ready_twice[0] += 1
            if ready_twice[0] >= 2:  # ready on two ticks in a row: nothing left in flight
                loop.quit()
        else:
            ready_twice[0] = 0

    timer = QTimer(interval=POLL_MS)
    timer.timeout.connect(check)
    timer.start()
    loop.exec()
    timer.stop()
    window.model.events.error.disconnect(errors.append)
    if errors:
        raise errors[0]
    if not window.controller.view_ready(whole):
        raise InputError(f"the view was not ready after {timeout:g} s (scoring too slow? "
                         "raise --timeout, or give --entropies)")


def screenshot(window: MainWindow, path: str | Path, size: tuple[int, int],
               timeout: float, whole: bool = False) -> Path:
    """Show ``window`` at ``size`` (offscreen), wait for its view, save it as PNG."""
    window.resize(*size)
    window.show()
    wait_until_ready(window, timeout, whole)
    application().processEvents()
    image = window.grab()
    path = Path(path)
    with atomic_path(path) as tmp:
        if not image.save(str(tmp), "PNG"):
            raise InputError("could not write the PNG", path=path)
    return path


def parse_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise InputError(f"--size {text!r} is not WIDTHxHEIGHT") from None
    if not (200 <= w <= 8000 and 200 <= h <= 8000):
        raise InputError(f"--size {text!r}: each side must be 200-8000 pixels")
    return w, h


def run(args: argparse.Namespace) -> int:
    """The ``bytescope gui`` command (see engine/cli/gui.py for the options)."""
    size = parse_size(args.size) if args.screenshot else None
    app = application()
    use_spare_cores()
    window = MainWindow(persist=not args.screenshot)
    try:
        open_from_args(window, args)
        if args.screenshot:
            out = screenshot(window, args.screenshot, size, args.timeout, args.whole)
            print(f"wrote {out}")
            return 0
        window.show()
        return app.exec()
    finally:
        if args.screenshot:
            window.close()  # cancels and joins the workers, closes the files
            window.deleteLater()
