"""The training panel's state, Qt-free: the workspace, its runs, the live run and its messages.

The training worker (:mod:`gui.training`) turns the Trainer's events into calls of
:meth:`TrainingModel.apply_events` on the GUI thread, batched; widgets subscribe to ``events``:

    workspace   the runs folder changed              (Path)
    runs        the list of run folders changed      (list[RunInfo])
    live        the live run's progress or state      (LiveRun | None)
    rows        new metric rows of the live run       (label, group, list[dict])
    log         a message of the live run             (level, text)
    selection   runs chosen to overlay their curves   (list[Path])
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from pathlib import Path

from engine.train import TrainConfig, TrainEvent
from engine.train.runs import RunInfo

from .events import EventGroup

LIVE_STATES = ("starting", "running", "paused", "stopping")


@dataclass(frozen=True)
class LiveRun:
    """The run this window drives: where it is and how fast it goes."""

    path: Path
    config: TrainConfig
    state: str = "starting"  # starting | running | paused | stopping | stopped | finished | failed
    step: int = 0
    loss: float = math.nan
    val: float = math.nan  # the latest validation bits/byte
    best_val: float = math.nan
    tokens_per_s: float = math.nan
    steps_per_s: float = math.nan
    message: str = ""
    started: float = 0.0  # time.monotonic() when this leg started
    first_step: int = 0  # the step this leg started from (a resumed run starts later)

    @property
    def active(self) -> bool:
        return self.state in LIVE_STATES

    @property
    def label(self) -> str:
        return self.path.name

    @property
    def eta_s(self) -> float:
        """Seconds to the last step at this leg's mean rate (NaN until a step is done)."""
        if not self.steps_per_s or math.isnan(self.steps_per_s) or self.steps_per_s <= 0:
            return math.nan
        return (self.config.steps - self.step) / self.steps_per_s


def format_duration(seconds: float) -> str:
    if math.isnan(seconds) or seconds < 0:
        return "–"
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class TrainingModel:
    """What the training panel shows; setters emit only on change."""

    def __init__(self, workspace: str | Path | None = None) -> None:
        self.events = EventGroup("workspace", "runs", "live", "rows", "log", "selection")
        self.workspace: Path | None = Path(workspace) if workspace is not None else None
        self.runs: list[RunInfo] = []
        self.live: LiveRun | None = None
        self.selection: list[Path] = []
        self.messages: list[tuple[str, str]] = []  # the live run's (level, text)

    # -- workspace and runs -----------------------------------------------------------------
    def set_workspace(self, path: str | Path) -> None:
        path = Path(path)
        if path != self.workspace:
            self.workspace = path
            self.events.workspace.emit(path)

    def set_runs(self, runs: list[RunInfo]) -> None:
        if runs != self.runs:
            self.runs = list(runs)
            self.events.runs.emit(self.runs)

    def run_info(self, path: Path) -> RunInfo | None:
        return next((r for r in self.runs if r.path == Path(path)), None)

    def select(self, paths: list[Path]) -> None:
        paths = [Path(p) for p in paths]
        if paths != self.selection:
            self.selection = paths
            self.events.selection.emit(paths)

    # -- the live run --------------------------------------------------------------------------
    def start_live(self, path: Path, config: TrainConfig, first_step: int = 0) -> None:
        self.messages = []
        self.live = LiveRun(path=Path(path), config=config, started=time.monotonic(),
                            step=first_step, first_step=first_step)
        self.events.live.emit(self.live)

    def set_live_state(self, state: str, message: str = "") -> None:
        if self.live is not None and (state, message) != (self.live.state, self.live.message):
            self.live = replace(self.live, state=state, message=message or self.live.message)
            self.events.live.emit(self.live)

    def log(self, text: str, level: str = "info") -> None:
        self.messages.append((level, text))
        self.events.log.emit(level, text)

    def apply_events(self, events: list[TrainEvent]) -> None:
        """Fold a batch of the Trainer's events into the live run; one ``live`` emit per batch."""
        live = self.live
        if live is None or not events:
            return
        steps, evals = [], []
        # Every event carries the step the Trainer is at; metric rows come every log_every
        # steps only, so a run stopped at step 11 would otherwise still read "step 10".
        at = max(live.step, max(event.step for event in events))
        for event in events:
            if event.kind == "step":
                steps.append(event.metrics)
            elif event.kind == "eval":
                evals.append(event.metrics)
            elif event.kind == "log":
                self.log(event.message, event.metrics.get("level", "info"))
            elif event.kind == "paused":
                live = replace(live, state="paused")
            elif event.kind == "resumed":
                # a new leg for the rate: the pause is not training time
                live = replace(live, state="running", started=time.monotonic(),
                               first_step=event.step)
        if steps:
            last = steps[-1]
            elapsed = time.monotonic() - live.started
            done = int(last["step"]) - live.first_step
            live = replace(live, loss=float(last["loss"]),
                           tokens_per_s=float(last["tokens_per_s"]),
                           steps_per_s=done / elapsed if elapsed > 0 and done > 0 else math.nan,
                           state="running" if live.state == "starting" else live.state)
            self.events.rows.emit(live.label, "step", steps)
        if at != live.step:
            live = replace(live, step=at)
        if evals:
            vals = [float(row["val_bits_per_byte"]) for row in evals]
            best = min([v for v in (live.best_val, *vals) if not math.isnan(v)])
            live = replace(live, val=vals[-1], best_val=best)
            self.events.rows.emit(live.label, "eval", evals)
        if live != self.live:
            self.live = live
            self.events.live.emit(live)
