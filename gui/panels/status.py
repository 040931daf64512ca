"""The status bar's pieces: the locus, what is under the cursor, the score source, and the
newest background task of the shared runner (:class:`~gui.model.tasks.TasksModel`) with its
progress bar and Cancel; the tooltip lists every task running."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from gui.model.events import Subscriptions
from gui.model.session import ScoreStatus, Workbench
from gui.model.tasks import TaskInfo, TasksModel


class StatusWidgets:
    """Widgets the window puts in its QStatusBar, kept in step with the view model."""

    def __init__(self, workbench: Workbench, tasks: TasksModel) -> None:
        self.workbench = workbench
        self.tasks = tasks
        self._subs = Subscriptions()
        self.locus = QLabel()
        self.locus.setMinimumWidth(220)
        self.hover = QLabel()
        self.scores = QLabel()
        self.task = QWidget()
        row = QHBoxLayout(self.task)
        row.setContentsMargins(0, 0, 0, 0)
        self.task_label = QLabel()
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(160)
        self.progress.setMaximumHeight(14)
        self.progress.setTextVisible(False)
        self.cancel = QPushButton("Cancel")
        self.cancel.setFlat(True)
        self.cancel.clicked.connect(self._on_cancel)
        row.addWidget(self.task_label)
        row.addWidget(self.progress)
        row.addWidget(self.cancel)
        self.task.hide()
        self.current: TaskInfo | None = None
        events = workbench.events
        for signal, slot in ((events.locus, self._on_locus), (events.cursor, self._on_cursor),
                             (events.score_status, self._on_score_status),
                             (tasks.events.tasks, self._on_tasks)):
            self._subs.connect(signal, slot)
        self._on_locus(workbench.locus)

    def _on_locus(self, locus) -> None:
        self.locus.setText(locus.format() if locus is not None else "no record")

    def _on_cursor(self, position: int | None) -> None:
        info = self.workbench.hover_info(position) if position is not None else None
        self.hover.setText(info.describe() if info is not None else "")

    def _on_score_status(self, status: ScoreStatus) -> None:
        # while scoring, the task and its progress bar say it
        self.scores.setText("" if status.state == "scoring" else status.text)

    def _on_tasks(self, tasks: dict[int, TaskInfo]) -> None:
        if not tasks:
            self.current = None
            self.task.hide()
            return
        task = tasks[max(tasks)]  # the newest
        self.current = task
        others = f" (+{len(tasks) - 1})" if len(tasks) > 1 else ""
        self.task_label.setText(task.label + others)
        self.task.setToolTip("\n".join(
            t.label + ("" if t.fraction is None else f": {t.fraction:.0%}")
            for t in tasks.values()))
        if task.total > 0:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(1000 * task.done / task.total))
        else:
            self.progress.setRange(0, 0)  # busy indicator
        self.cancel.setEnabled(task.cancel is not None)
        self.task.show()

    def _on_cancel(self) -> None:
        if self.current is not None and self.current.cancel is not None:
            self.current.cancel()

    def disconnect_model(self) -> None:
        self._subs.disconnect_all()
