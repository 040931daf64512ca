"""The training panel's state, Qt-free: the workspace, its runs, the live run and its messages.

The training controller (:mod:`gui.controllers.training`) turns the Trainer's events into calls of
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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import ClassVar

from engine.train import TrainConfig, TrainEvent
from engine.train.runs import RunInfo

from .events import Signal, SignalGroup, SignalGroupDescriptor, evented

LIVE_STATES = ("starting", "running", "paused", "stopping")


@dataclass(frozen=True)
class LiveRun:
    """The run this window drives: where it is and how fast it goes."""

    path: Path
    config: TrainConfig
    state: str = "starting"  # starting | running | paused | stopping | stopped | finished | failed
    step: int = 0
    loss: float = math.nan
    val: float = math.nan  # the latest validation figure: bits/byte, or a task head's loss
    best_val: float = math.nan
    unit: str = "bits/byte"  # what val is: "bits/byte", or "loss" for a task head's run
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


class TrainingEvents(SignalGroup):
    """Events that are not a field of :class:`TrainingModel`."""

    rows = Signal(str, str, list)  # label, group ("step" or "eval"), new metric rows
    log = Signal(str, str)  # level, text: a message of the live run


@dataclass(eq=False)
class TrainingModel:
    """What the training panel shows: an evented dataclass (events on change only)."""

    events: ClassVar[SignalGroupDescriptor] = evented(TrainingEvents)
    workspace: Path | None = None
    runs: list[RunInfo] = field(default_factory=list)
    live: LiveRun | None = None
    selection: list[Path] = field(default_factory=list)  # runs whose curves are overlaid
    messages: list[tuple[str, str]] = field(default_factory=list)  # the live run's (level, text)
    curves: list[tuple[str, dict]] = field(default_factory=list)  # (run, metrics) read from disk
    run_log: list[tuple[str, str]] = field(default_factory=list)  # the selected run's log
    file_bases: dict[str, int] = field(default_factory=dict)  # bases of files added to the data

    def __post_init__(self) -> None:
        if self.workspace is not None:
            self.workspace = Path(self.workspace)

    # -- workspace and runs -----------------------------------------------------------------
    def set_workspace(self, path: str | Path) -> None:
        self.workspace = Path(path)

    def set_runs(self, runs: list[RunInfo]) -> None:
        self.runs = list(runs)

    def run_info(self, path: Path) -> RunInfo | None:
        return next((r for r in self.runs if r.path == Path(path)), None)

    def select(self, paths: list[Path]) -> None:
        self.selection = [Path(p) for p in paths]

    def set_curves(self, curves: list[tuple[str, dict]]) -> None:
        self.curves = curves

    def set_run_log(self, messages: list[tuple[str, str]]) -> None:
        self.run_log = messages

    def set_file_bases(self, path: str, bases: int) -> None:
        self.file_bases = {**self.file_bases, path: bases}

    def prepend_messages(self, earlier: list[tuple[str, str]]) -> None:
        """The earlier legs' log of a resumed run, before this leg's messages."""
        self.messages = [*earlier, *self.messages]

    # -- the live run --------------------------------------------------------------------------
    def start_live(self, path: Path, config: TrainConfig, first_step: int = 0) -> None:
        self.messages = []
        self.live = LiveRun(path=Path(path), config=config, started=time.monotonic(),
                            step=first_step, first_step=first_step)

    def set_live_state(self, state: str, message: str = "") -> None:
        if self.live is not None and (state, message) != (self.live.state, self.live.message):
            self.live = replace(self.live, state=state, message=message or self.live.message)

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
            # a language model's rows carry bits per byte; a task head's (issue 18) its loss
            task = "val_bits_per_byte" not in evals[-1]
            key = "val_loss" if task else "val_bits_per_byte"
            vals = [float(row.get(key, math.nan)) for row in evals]
            known = [v for v in (live.best_val, *vals) if not math.isnan(v)]
            live = replace(live, val=vals[-1], best_val=min(known) if known else math.nan,
                           unit="loss" if task else "bits/byte")
            self.events.rows.emit(live.label, "eval", evals)
        self.live = live  # one ``live`` event for the batch, if anything changed


# ---------------------------------------------------------------------------------------------
# jobs (run by the training controller on the shared runner)


def count_bases(path: str, reporter=None) -> int:
    """The bases in a sequence file (the held-out split of a file added to the data)."""
    from engine.io import open_sequences

    with open_sequences(path) as sequences:
        return sum(len(record) for record in sequences)


def read_curves(paths: list[Path], reporter=None) -> list[tuple[str, dict]]:
    """Each run's metrics (``metrics.h5``); a run without readable metrics has none."""
    from engine.train import read_metrics

    out = []
    for path in paths:
        try:
            out.append((path.name, read_metrics(path / "metrics.h5")))
        except (OSError, KeyError):
            out.append((path.name, {}))
    return out
