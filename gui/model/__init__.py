"""The workbench's Qt-free view models: state, events, and the jobs workers run.

Nothing in this package imports Qt (an import-linter contract and a test check it).
"""

from .events import Subscriptions
from .locus import Locus, parse_locus
from .session import SessionState, Workbench
from .tasks import TaskInfo, TasksModel

__all__ = ["Locus", "SessionState", "Subscriptions", "TaskInfo", "TasksModel", "Workbench",
           "parse_locus"]
