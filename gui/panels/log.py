"""The Log panel: every message the workbench logged, errors in red."""

from __future__ import annotations

import html
import time

from PySide6.QtWidgets import QPlainTextEdit, QVBoxLayout, QWidget

from gui.model.events import Subscriptions
from gui.model.session import Message, Workbench

COLOURS = {"info": "#303030", "warning": "#a05a00", "error": "#b22222"}
MAX_LINES = 5000


class LogPanel(QWidget):
    def __init__(self, model: Workbench, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._subs = Subscriptions()
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setMaximumBlockCount(MAX_LINES)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.text)
        for message in model.messages:
            self._on_message(message)
        self._subs.connect(model.events.message, self._on_message)

    def _on_message(self, message: Message) -> None:
        stamp = time.strftime("%H:%M:%S", time.localtime(message.time))
        colour = COLOURS.get(message.level, COLOURS["info"])
        self.text.appendHtml(f'<span style="color:#888">{stamp}</span> '
                             f'<span style="color:{colour}">{html.escape(message.text)}</span>')

    def plain_text(self) -> str:
        return self.text.toPlainText()

    def closeEvent(self, event) -> None:
        self.disconnect_model()
        super().closeEvent(event)

    def disconnect_model(self) -> None:
        self._subs.disconnect_all()
