"""Controllers: for each Qt-free model, the only code that submits work for it.

A controller subscribes to its model, submits jobs (plain functions of :mod:`gui.model`) to
the window's one shared :class:`gui.workers.TaskRunner` under kinds named for it
(``view:scores``, ``maps:inspect``, ``training:runs``, ``export:<path>``) from a single
``_submit`` method, and applies the results through the model's setters on the GUI thread.
Panels bind: they read a model, call its setters or its controller, subscribe and unsubscribe
on close. ARCHITECTURE.md, "How to add a panel", is the recipe.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..model.attribution import AttributionModel
from ..model.bake import BakeModel
from ..model.maps import MapsModel
from ..model.motifs import MotifsModel
from ..model.session import Workbench
from ..model.tasks import TasksModel
from ..model.training import TrainingModel
from ..workers import TaskRunner
from .attribution import AttributionController
from .bake import BakeController
from .exports import ExportController
from .maps import MapsController
from .motifs import MotifsController
from .training import TrainingController
from .view import ViewController

__all__ = ["AttributionController", "BakeController", "Controllers", "ExportController",
           "MapsController", "MotifsController", "TrainingController", "ViewController"]


@dataclass(eq=False)
class Controllers:
    """The window's models, its shared runner and one controller per model."""

    workbench: Workbench
    tasks: TasksModel
    runner: TaskRunner
    view: ViewController
    maps: MapsController
    training: TrainingController
    exports: ExportController
    attribution: AttributionController
    motifs: MotifsController
    bake: BakeController

    @classmethod
    def create(cls, workbench: Workbench, training_model: TrainingModel, parent=None
               ) -> Controllers:
        tasks = TasksModel()
        runner = TaskRunner(tasks, workbench.report_error, parent=parent)
        view = ViewController(workbench, runner, parent)
        training = TrainingController(training_model, runner, parent)
        return cls(workbench, tasks, runner, view,
                   MapsController(MapsModel(), workbench, runner, parent),
                   training,
                   ExportController(workbench, runner, parent),
                   AttributionController(AttributionModel(), workbench, runner, parent),
                   MotifsController(MotifsModel(), workbench, runner, parent),
                   BakeController(BakeModel(), workbench, view, training, runner, parent))

    def shutdown(self, timeout_ms: int = 30_000) -> bool:
        """Stop a live run (checkpointing it), cancel every job, wait for the threads and
        unsubscribe. True if every thread ended."""
        self.bake.shutdown()  # before training's: a fine-tuning run's end bakes nothing
        done = self.training.shutdown()
        self.view.shutdown()
        self.maps.shutdown()
        self.attribution.shutdown()
        self.motifs.shutdown()
        return self.runner.shutdown(timeout_ms) and done
