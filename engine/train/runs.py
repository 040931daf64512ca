"""Run folders as a list: what each run is, how far it got, and whether it is still going.

Besides the files of :mod:`engine.train.checkpoints`, the Trainer keeps two small files in a
run folder, so the CLI, the GUI's runs browser and a second window all see the same state:

    RUN_DIR/status.json   {"state", "step", "steps", "message", "pid", "host", "updated"}
    RUN_DIR/run.log       one line per message: "2026-11-22 18:40:02 info step 200: val 1.83"

``state`` is ``running``, ``paused``, ``stopped``, ``finished`` or ``failed``. A run whose status
says running but whose process is gone (killed, machine rebooted) reads as ``interrupted``.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import socket
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.atomic import atomic_path
from engine.errors import BytescopeError, InputError

from .checkpoints import CHECKPOINTS, checkpoint_dirs
from .config import TrainConfig

LOCK_NAME = ".lock"  # held (flock) by the one process writing the folder; see RunLock
STATUS_NAME = "status.json"
LOG_NAME = "run.log"
STATES = ("running", "paused", "stopped", "finished", "failed", "interrupted", "new")


def write_status(run_dir: str | Path, state: str, step: int, steps: int,
                 message: str = "") -> None:
    """Record a run's state (atomically, so a reader never sees half a file)."""
    assert state in STATES, state
    values = {"state": state, "step": step, "steps": steps, "message": message,
              "pid": os.getpid(), "host": socket.gethostname(), "updated": time.time()}
    with atomic_path(Path(run_dir) / STATUS_NAME) as tmp:
        tmp.write_text(json.dumps(values) + "\n")


def append_log(run_dir: str | Path, level: str, text: str) -> None:
    """Append one line to ``run.log`` (the file is the run's own record of its messages)."""
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    line = " ".join(text.splitlines()) if level != "error" else text.replace("\n", "\n    ")
    with open(Path(run_dir) / LOG_NAME, "a", encoding="utf-8") as handle:
        handle.write(f"{stamp} {level} {line}\n")


def read_log(run_dir: str | Path) -> list[tuple[str, str]]:
    """``(level, text)`` per line of ``run.log``; continuation lines join their message."""
    path = Path(run_dir) / LOG_NAME
    if not path.exists():
        return []
    out: list[tuple[str, str]] = []
    for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
        parts = raw.split(" ", 3)
        if raw.startswith("    ") and out:
            out[-1] = (out[-1][0], out[-1][1] + "\n" + raw[4:])
        elif len(parts) == 4:
            out.append((parts[2], f"{parts[1]} {parts[3]}"))
    return out


def _alive(pid: int, host: str) -> bool:
    if host != socket.gethostname():
        return True  # another machine's run (a shared folder): trust what it says
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass(frozen=True)
class RunInfo:
    """One run folder, summarised for a runs browser."""

    path: Path
    state: str
    arch: str
    preset: str
    step: int  # steps done (the latest checkpoint's, or the live status's)
    steps: int  # the target
    best_val: float  # best validation bits/byte at a checkpoint (NaN: none yet)
    seconds: float  # training time so far (the metrics' clock)
    message: str = ""
    updated: float = 0.0
    checkpoints: int = 0  # complete checkpoints when read

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def has_model(self) -> bool:
        """Whether a checkpoint exists to score with (the best one, else the latest)."""
        return self.checkpoints > 0

    @property
    def resumable(self) -> bool:
        """Whether the run can go on: from its latest checkpoint, or, when it ended before its
        first one (killed, diverged), again from step 0 with its saved config."""
        return self.state in ("stopped", "interrupted", "failed") or (
            self.state == "new" and self.checkpoints == 0)


def read_run(run_dir: str | Path) -> RunInfo:
    """Summarise a run folder from its config, status, best checkpoint and metrics."""
    run_dir = Path(run_dir)
    try:
        cfg = TrainConfig.from_json(run_dir / "config.json")
    except (OSError, ValueError, TypeError) as error:
        raise InputError(f"not a readable run folder ({error})", path=run_dir) from None
    status: dict = {}
    try:
        status = json.loads((run_dir / STATUS_NAME).read_text())
    except (OSError, ValueError):
        pass
    done = checkpoint_dirs(run_dir)
    step = int(done[-1].name.split("-")[1]) if done else 0
    state = status.get("state") or ("stopped" if done else "new")
    if state in ("running", "paused"):
        step = max(step, int(status.get("step", 0)))
        if not _alive(int(status.get("pid", -1)), str(status.get("host", ""))):
            state = "interrupted"
    elif state == "finished":
        step = max(step, int(status.get("step", 0)))
    best_val, seconds = _metrics_summary(run_dir, done)
    return RunInfo(path=run_dir, state=state, arch=cfg.arch, preset=cfg.preset, step=step,
                   steps=cfg.steps, best_val=best_val, seconds=seconds,
                   message=str(status.get("message", "")),
                   updated=float(status.get("updated", 0.0)), checkpoints=len(done))


def _metrics_summary(run_dir: Path, done: list[Path]) -> tuple[float, float]:
    """(best validation bits/byte over checkpointed steps, last time) from ``metrics.h5``."""
    try:
        best = json.loads((run_dir / "best.json").read_text())
        best_val = float(best.get("val_bits_per_byte", math.nan))
    except (OSError, ValueError):
        best_val = math.nan
    seconds = 0.0
    try:
        from .metrics import read_metrics

        metrics = read_metrics(run_dir / "metrics.h5")
    except (OSError, KeyError):
        return best_val, seconds
    times = [metrics[g]["time"] for g in ("step", "eval")
             if len(metrics.get(g, {}).get("time", []))]
    if times:
        seconds = float(max(t[-1] for t in times))
    if math.isnan(best_val) and len(metrics.get("eval", {}).get("step", [])):
        steps = {int(p.name.split("-")[1]) for p in done}
        evals = metrics["eval"]
        mask = np.isin(evals["step"].astype(int), list(steps))
        if mask.any():
            best_val = float(np.min(evals["val_bits_per_byte"][mask]))
    return best_val, seconds


def list_runs(workspace: str | Path) -> list[RunInfo]:
    """Every run folder directly under ``workspace`` (newest first); others are skipped."""
    workspace = Path(workspace)
    if not workspace.is_dir():
        return []
    runs = []
    for child in workspace.iterdir():
        if child.is_dir() and (child / "config.json").exists():
            try:
                runs.append(read_run(child))
            except BytescopeError:  # not a readable run (a config with unknown keys, not JSON)
                continue
    return sorted(runs, key=lambda r: r.updated or r.path.stat().st_mtime, reverse=True)


def delete_run(run_dir: str | Path) -> None:
    """Delete a run folder; refuses anything that is not one, or a run still going."""
    run_dir = Path(run_dir)
    if not (run_dir / "config.json").exists() or not (
        (run_dir / "checkpoints").exists() or (run_dir / "metrics.h5").exists()
        or (run_dir / STATUS_NAME).exists()
    ):
        raise InputError("not a run folder; nothing deleted", path=run_dir)
    info = read_run(run_dir)
    if info.state in ("running", "paused"):
        raise InputError("the run is still going; stop it first", path=run_dir)
    doomed = run_dir.with_name(run_dir.name + ".deleting")
    os.replace(run_dir, doomed)  # a run disappears from listings at once, never half-deleted
    shutil.rmtree(doomed, ignore_errors=True)


# What a previous run leaves in its folder besides run.log (kept: the folder's history),
# config.json (kept until the new run writes its own, so a kill in between leaves a run to
# start again, not a folder nothing can resume) and the lock.
_RUN_FILES = (STATUS_NAME, "best.json", "metrics.h5")


def clear_run(run_dir: str | Path) -> None:
    """Remove the previous run from its folder, to start one again there: its checkpoints,
    metrics, status and best. Other files are not touched. Call it holding the folder's
    :class:`RunLock`, and write the new run's config.json next."""
    run_dir = Path(run_dir)
    checkpoints = run_dir / CHECKPOINTS
    if checkpoints.exists():
        doomed = run_dir / f"{CHECKPOINTS}.del"  # renamed first: never a half-deleted step-N
        shutil.rmtree(doomed, ignore_errors=True)
        os.replace(checkpoints, doomed)
        shutil.rmtree(doomed, ignore_errors=True)
    for name in _RUN_FILES:
        (run_dir / name).unlink(missing_ok=True)


def occupied(run_dir: str | Path) -> str:
    """Why a new run does not start in a folder holding one, and what to do instead."""
    done = checkpoint_dirs(run_dir)
    if not done:
        return ("this folder already holds a run with no complete checkpoint (it ended before "
                "its first); start it again here with --restart (or --resume, from its saved "
                "config), or give another --out")
    latest = int(done[-1].name.split("-")[1])
    return (f"this folder already holds a run ({len(done)} complete checkpoint"
            f"{'s' if len(done) > 1 else ''}, the latest at step {latest}); go on with "
            "--resume, give another --out, or add --restart to delete it and start again")


def new_run_name(workspace: str | Path, arch: str, preset: str) -> Path:
    """``WORKSPACE/{arch}-{preset}-{YYYYmmdd-HHMMSS}``, with a suffix if that exists."""
    stem = f"{arch}-{preset}-{time.strftime('%Y%m%d-%H%M%S')}"
    path = Path(workspace) / stem
    n = 2
    while path.exists():
        path = Path(workspace) / f"{stem}-{n}"
        n += 1
    return path


class RunInUse(InputError):
    """Another process is writing this run folder."""


class RunLock:
    """An exclusive ``flock`` on ``RUN_DIR/.lock``, held while a Trainer writes the folder.

    Two runs started on one folder at once would interleave their logs and overwrite each
    other's checkpoints; the second is refused with the holder's pid and host (written into
    the file). The kernel drops the lock when its process dies, even by ``kill -9``, so a
    stale file never blocks a restart. Where ``fcntl`` is missing (Windows) nothing is locked.
    """

    def __init__(self, run_dir: str | Path) -> None:
        self.path = Path(run_dir) / LOCK_NAME
        self._handle = None

    def acquire(self) -> None:
        try:
            import fcntl
        except ImportError:
            return
        handle = open(self.path, "a+", encoding="utf-8")  # held until release()
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise RunInUse(f"this run folder is in use by {holder}; wait for that run, or "
                           "give another --out", path=self.path.parent) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()  # closing the file releases the flock
            self._handle = None
