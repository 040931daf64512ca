"""Training from the window: does the window stay responsive, and does training keep its speed?

    python bench/gui_training.py [--data ../shared/data/klebsiella_hs11286.fna.xz]
                                 [--preset small] [--steps 30] [--seq-len 1024] [--batch-size 8]
                                 [--threads N]

Three runs of the same configuration (the ``small`` preset on HS11286 by default), one after the
other on this machine:

* the CLI, ``bytescope train`` in a subprocess, with 2 torch threads (all cores), and with the
  thread count the window uses (every core but one: 1 here);
* the window (offscreen), started with the Training panel's Start button, the panel's defaults
  for threads; meanwhile a 10 ms QTimer measures how late the event loop runs it (the lateness:
  the gap between two timeouts minus 10 ms), while the curves redraw live.

Throughput is the metrics file's own: tokens per second from the run's ``time`` column between
step 5 and the last step (the first steps pay for allocation and warm-up). Ratios compare the
window's run with the CLI's at the same thread count (the fair comparison: the window keeps a
core for itself) and at all cores.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

DATA = REPO.parent / "shared" / "data" / "klebsiella_hs11286.fna.xz"
SKIP = 5  # steps left out of the throughput: allocation, first-touch, autotuning
TICK_MS = 10


def throughput(run: Path, tokens_per_step: int) -> tuple[float, float]:
    """(tokens/s between step SKIP and the end, seconds those steps took) from the metrics."""
    from engine.train import read_metrics

    steps = read_metrics(run / "metrics.h5")["step"]
    step, clock = steps["step"], steps["time"]
    first = int(np.searchsorted(step, SKIP))
    seconds = float(clock[-1] - clock[first])
    return (step[-1] - step[first]) * tokens_per_step / seconds, seconds


def cli_run(args, data: Path, out: Path, threads: int) -> Path:
    cmd = [sys.executable, "-m", "engine", "train", str(data), "--out", str(out),
           "--preset", args.preset, "--steps", str(args.steps), "--seq-len", str(args.seq_len),
           "--batch-size", str(args.batch_size), "--eval-every", str(args.steps),
           "--checkpoint-every", str(args.steps), "--threads", str(threads), "--seed", "0",
           "--log-every", "1"]
    subprocess.run(cmd, cwd=REPO, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return out


def window_run(args, data: Path, workspace: Path) -> tuple[Path, list[float], int]:
    """Train through the panel; the timer lateness (ms) during the run; the threads used."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from gui.window import MainWindow

    app = QApplication.instance() or QApplication([])
    window = MainWindow(persist=False)
    window.resize(1600, 1000)
    window.show()
    panel = window.training
    panel.set_workspace(workspace)
    window.show_training()
    panel.dataset.add_files([str(data)])
    panel.preset.setCurrentText(args.preset)
    values = {"steps": args.steps, "seq_len": args.seq_len, "batch_size": args.batch_size,
              "eval_every": args.steps, "checkpoint_every": args.steps, "log_every": 1,
              "seed": 0}
    if args.threads:
        values["threads"] = args.threads
    for name, value in values.items():
        panel.train_form.editors[name].set_value(value)
    threads = panel.train_form.values()["threads"]
    while panel.dataset.unknown_sizes():
        app.processEvents()
        time.sleep(0.01)

    late: list[float] = []
    last = [0.0]

    def tick() -> None:
        now = time.perf_counter()
        if last[0]:
            late.append((now - last[0]) * 1000 - TICK_MS)
        last[0] = now

    timer = QTimer(interval=TICK_MS)
    timer.setTimerType(timer.timerType().PreciseTimer)
    timer.timeout.connect(tick)
    panel.buttons["Start"].click()
    run = panel.training_model.live.path
    timer.start()
    while panel.controller.active:
        app.processEvents()
        time.sleep(0.001)  # an idle event loop: wake for the timer and the training batches
    timer.stop()
    state = panel.training_model.live.state
    window.close()
    if state != "finished":
        raise SystemExit(f"the window's run ended {state}: {panel.training_model.live.message}")
    return run, late, threads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--preset", default="small")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--seq-len", type=int, default=1024)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--threads", type=int, default=0,
                        help="the window run's torch threads (default: the panel's, cores - 1)")
    args = parser.parse_args()
    data = args.data if args.data.exists() else REPO / "resources" / "samples" / "lambda_phage.fa"
    tokens = args.batch_size * args.seq_len
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        run_gui, late, threads = window_run(args, data, tmp / "workspace")
        gui_tps, gui_s = throughput(run_gui, tokens)
        rows = []
        for n in sorted({threads, os.cpu_count() or 1}):
            run = cli_run(args, data, tmp / f"cli-{n}", n)
            rows.append((n, *throughput(run, tokens)))

    print(f"# {args.preset} preset, {args.steps} steps of {args.batch_size} x {args.seq_len} "
          f"bytes on {data.name}, {os.cpu_count()} cores; throughput over steps "
          f"{SKIP}-{args.steps}")
    print(f"{'what':<34} {'threads':>7} {'time':>9} {'tokens/s':>10} {'window / this':>14}")
    for n, tps, seconds in rows:
        print(f"{'CLI (bytescope train)':<34} {n:>7} {seconds:>8.1f}s {tps:>10,.0f} "
              f"{gui_tps / tps:>14.2f}")
    print(f"{'window (Training panel, worker)':<34} {threads:>7} {gui_s:>8.1f}s "
          f"{gui_tps:>10,.0f} {1.0:>14.2f}")
    lateness = np.array(late)
    print()
    print(f"event loop during the window's run: {len(lateness):,} ticks of a {TICK_MS} ms "
          f"timer; lateness p50 {np.percentile(lateness, 50):.1f} ms, "
          f"p99 {np.percentile(lateness, 99):.1f} ms, max {lateness.max():.1f} ms "
          "(targets: p99 <= 50 ms, max <= 200 ms)")


if __name__ == "__main__":
    main()
