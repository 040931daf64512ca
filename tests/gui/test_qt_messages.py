"""Qt's message filter: the platform plugin's propagateSizeHints noise is dropped, every other
message reaches stderr."""

from __future__ import annotations

import pytest
from PySide6.QtCore import qInstallMessageHandler, qWarning

from gui.qt_messages import install_qt_message_filter

NOISE = "This plugin does not support propagateSizeHints()"


@pytest.fixture
def installed(qapp):
    previous = install_qt_message_filter()
    yield
    qInstallMessageHandler(previous)  # pytest-qt's own capture, or Qt's default


def test_the_known_noise_is_dropped_and_other_messages_reach_stderr(installed, capfd):
    qWarning(NOISE)
    qWarning("a real problem")
    qWarning(NOISE + " and more")  # only exactly that message is noise
    err = capfd.readouterr().err.splitlines()
    assert err == ["a real problem", NOISE + " and more"]


def test_a_shown_window_prints_nothing(installed, qtbot, settings, capfd):
    from gui.window import MainWindow

    window = MainWindow(settings=settings, persist=False)
    qtbot.addWidget(window)
    window.resize(900, 600)
    window.show()
    qtbot.waitExposed(window)
    window.docks["Training"].raise_()  # size hints change: what made the plugin speak
    qtbot.wait(50)
    window.close()
    qWarning("the window is closed")  # the filter, not pytest-qt's capture, took the messages
    err = capfd.readouterr().err
    assert NOISE not in err and "the window is closed" in err
