"""Qt's own messages, filtered: known noise dropped, everything else to stderr as before.

The offscreen and xcb platform plugins print "This plugin does not support
propagateSizeHints()" whenever a window's size hints change; it says nothing to a user and turns
the CLI's one-line errors into three lines. :func:`install_qt_message_filter` drops exactly the
messages in ``NOISE`` and writes every other one as Qt's default handler would (its message
pattern, ``QT_MESSAGE_PATTERN``, applies). Call it before the ``QApplication`` is made, so the
platform plugin's first messages go through it too.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QMessageLogContext, QtMsgType, qFormatLogMessage, qInstallMessageHandler

NOISE = frozenset({"This plugin does not support propagateSizeHints()"})


def filter_qt_message(mode: QtMsgType, context: QMessageLogContext, message: str) -> None:
    """A Qt message handler: drop ``NOISE``, forward the rest to stderr."""
    if message in NOISE:
        return
    sys.stderr.write(qFormatLogMessage(mode, context, message) + "\n")
    sys.stderr.flush()


def install_qt_message_filter():
    """Route Qt's messages through :func:`filter_qt_message`; returns the handler it
    replaces (None: Qt's default), to give back to ``qInstallMessageHandler`` to undo it."""
    return qInstallMessageHandler(filter_qt_message)
