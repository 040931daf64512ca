"""The workbench's Qt-free view model: state, events, and the jobs workers run.

Nothing in this package imports Qt; tests check it.
"""

from .events import EventGroup, Signal, Subscriptions
from .locus import Locus, parse_locus
from .session import SessionState, Workbench

__all__ = ["EventGroup", "Locus", "SessionState", "Signal", "Subscriptions", "Workbench",
           "parse_locus"]
