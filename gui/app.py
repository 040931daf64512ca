"""Starting the workbench: ``run(args)`` is what ``bytescope gui`` (and plain ``bytescope``)
calls; :func:`screenshot` renders a window offscreen and saves it."""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

from engine.errors import BytescopeError, InputError
from engine.resources import SAMPLES, sample_path

from .exports import png_bytes, write_bytes
from .model.session import SessionState
from .qt_messages import install_qt_message_filter
from .window import MainWindow

POLL_MS = 50


def application() -> QApplication:
    app = QApplication.instance()
    if app is None:
        install_qt_message_filter()  # before Qt's first message: its known noise, dropped
        app = QApplication(sys.argv[:1])
        use_spare_cores()  # a window made by a script keeps its GUI thread's core too
        app.setApplicationName("bytescope")
        app.setOrganizationName("bytescope")
    return app


def use_spare_cores() -> None:
    """Leave a core to the GUI thread: torch's intra-op threads would otherwise take all
    (:func:`engine.threads.spare_threads`); a count set in ``OMP_NUM_THREADS`` is kept."""
    import torch

    from engine.threads import spare_threads, thread_env_set

    if not thread_env_set():
        torch.set_num_threads(spare_threads())


def open_from_args(window: MainWindow, args: argparse.Namespace) -> None:
    """Open what the command line names (or the bundled samples) in ``window``.

    A session is read (and refused with its error) before anything opens; the other options
    then apply on top of it: the command line has the last word.
    """
    named = [*args.files, *args.annotations, *([args.entropies] if args.entropies else [])]
    missing = [f for f in named if not Path(f).exists()]
    if missing:
        raise InputError("no such file", path=missing[0])
    if args.session:
        state = SessionState.load(args.session)
        if args.locus:
            state = replace(state, locus=args.locus)
        if args.model:
            state = replace(state, model=args.model)
        window.apply_session(state, args.session)
    else:
        files = args.files or [str(sample_path(name)) for name in SAMPLES]
        window.model.set_model_spec(args.model or "default")
        window.open_paths(files, locus=args.locus, locus_origin="--locus")
    if args.annotations:
        window.controllers.view.open_annotations(list(args.annotations))
    if args.no_repeats:
        window.actions["repeats"].setChecked(False)
    if args.entropies:
        window.controllers.view.load_entropies(args.entropies)


class ErrorCollector:
    """User errors the window reports (as dialogs) while ``--screenshot`` waits, kept to raise."""

    def __init__(self, window: MainWindow) -> None:
        self.errors: list[BytescopeError] = []
        self.window = window
        window.model.events.error.connect(self._on_error)

    def _on_error(self, error: BytescopeError) -> None:
        self.errors.append(error)

    def raise_first(self) -> None:
        if self.errors:
            raise self.errors[0]

    def close(self) -> None:
        self.window.model.events.error.disconnect(self._on_error)


def wait_until_ready(window: MainWindow, timeout: float, whole: bool,
                     errors: ErrorCollector) -> None:
    """Run the event loop until the view is complete, a user error occurs, or ``timeout``."""
    loop = QEventLoop()
    deadline = time.monotonic() + timeout
    ready_twice = [0]

    def check() -> None:
        if errors.errors or time.monotonic() > deadline:
            loop.quit()
        elif window.controllers.view.view_ready(whole):
            ready_twice[0] += 1
            if ready_twice[0] >= 2:  # ready on two ticks in a row: nothing left in flight
                loop.quit()
        else:
            ready_twice[0] = 0

    timer = QTimer(interval=POLL_MS)
    timer.timeout.connect(check)
    timer.start()
    if not errors.errors:
        loop.exec()
    timer.stop()
    errors.raise_first()
    if not window.controllers.view.view_ready(whole):
        what = "the whole record and its comparison were" if whole else "the view was"
        raise InputError(
            f"{what} not ready after {timeout:g} s ({window.controllers.view.waiting_for(whole)}); "
            f"raise --timeout, use --model fast (5x faster), or give --entropies X.h5 from "
            f"bytescope score --out X.h5")


def screenshot(window: MainWindow, path: str | Path, size: tuple[int, int],
               timeout: float, whole: bool, errors: ErrorCollector) -> Path:
    """Show ``window`` at ``size`` (offscreen), wait for its view, save it as PNG."""
    window.resize(*size)
    window.show()
    wait_until_ready(window, timeout, whole, errors)
    application().processEvents()
    image = window.grab()
    # encoded in memory, then written with checked file I/O: QImage.save to a file name
    # drops a failed write (a full disk would leave a short PNG, reported as written)
    return write_bytes(path, png_bytes(image.toImage(), path))


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
    window = MainWindow(persist=not args.screenshot)
    errors = ErrorCollector(window) if args.screenshot else None
    try:
        open_from_args(window, args)
        if args.screenshot:
            out = screenshot(window, args.screenshot, size, args.timeout, args.whole, errors)
            print(f"wrote {out}")
            return 0
        window.show()
        return app.exec()
    finally:
        if args.screenshot:
            errors.close()
            window.close()  # cancels and joins the workers, closes the files
            window.deleteLater()
