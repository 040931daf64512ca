"""While a window is open, cyclic garbage is collected on the GUI thread, never in a worker:
automatic collection is off, the window's timer collects, closing the last window restores it."""

from __future__ import annotations

import gc
import weakref


class Cycle:
    def __init__(self) -> None:
        self.me = self


def test_garbage_is_collected_by_the_windows_timer_and_gc_restored_on_close(qtbot, settings):
    from gui.window import MainWindow

    assert gc.isenabled()
    first = MainWindow(settings=settings)
    second = MainWindow(settings=settings)
    qtbot.addWidget(first)
    qtbot.addWidget(second)
    assert not gc.isenabled()
    garbage = Cycle()
    ref = weakref.ref(garbage)
    del garbage
    for _ in range(gc.get_threshold()[0] + 10):  # cross generation 0's threshold
        Cycle()
    assert ref() is not None  # nothing collects it automatically
    qtbot.waitUntil(lambda: ref() is None, timeout=5_000)  # the timer, on this thread
    first.close()
    assert not gc.isenabled()  # the other window still collects
    second.close()
    assert gc.isenabled()
