"""Running background tasks, Qt-free: what the status bar lists (name, progress, Cancel).

The shared task runner (:class:`gui.workers.TaskRunner`) adds a task when a labelled job
starts, updates its progress and removes it when the job ends; the status bar subscribes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

from .events import SignalGroupDescriptor, evented


@dataclass(frozen=True)
class TaskInfo:
    """A background task: ``done`` of ``total`` (0 total: unknown); ``cancel`` stops it."""

    id: int
    label: str
    done: int = 0
    total: int = 0
    cancel: Callable[[], None] | None = None

    @property
    def fraction(self) -> float | None:
        return self.done / self.total if self.total > 0 else None


@dataclass(eq=False)
class TasksModel:
    """Tasks by id, oldest first; every change is a new dict, so ``events.tasks`` fires once
    per change."""

    events: ClassVar[SignalGroupDescriptor] = evented(identity=("tasks",))
    tasks: dict[int, TaskInfo] = field(default_factory=dict)

    def add(self, task: TaskInfo) -> None:
        self.tasks = {**self.tasks, task.id: task}

    def update(self, task_id: int, done: int, total: int) -> None:
        task = self.tasks.get(task_id)
        if task is not None and (task.done, task.total) != (done, total):
            self.tasks = {**self.tasks, task_id: TaskInfo(task.id, task.label, done, total,
                                                          task.cancel)}

    def remove(self, task_id: int) -> None:
        if task_id in self.tasks:
            self.tasks = {k: v for k, v in self.tasks.items() if k != task_id}

    def newest(self) -> TaskInfo | None:
        return self.tasks[max(self.tasks)] if self.tasks else None
