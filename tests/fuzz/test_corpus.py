"""Every malformed input ends in exit 2 with one line naming it, or in a correct result, in
bounded time and memory. Each input runs in a child process (as a user would run it), which
is killed if it outlives its case's time and reports its peak memory as it exits (VmHWM
from /proc: ``ru_maxrss`` would include the RSS of pytest itself, which Linux carries over
into a child across exec)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import REPO

from .conftest import TRIED
from .corpus import CASES, Case, Run, case_ids

# ``bytescope ARGS`` that writes its peak resident memory (kB) to $FUZZ_PEAK on the way out
_CHILD = """
import atexit, os, sys

def _peak():
    with open("/proc/self/status") as status, open(os.environ["FUZZ_PEAK"], "w") as out:
        out.write(next(line.split()[1] for line in status if line.startswith("VmHWM")))

atexit.register(_peak)
from engine.cli import main
sys.exit(main(sys.argv[1:]))
"""


def run_cli(args: list[str], folder: Path, seconds: float) -> Run:
    """``bytescope ARGS`` in ``folder``; its exit code, output, time and peak RSS."""
    out, err = folder / "stdout.txt", folder / "stderr.txt"
    peak = folder / "peak.txt"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(REPO),
               FUZZ_PEAK=str(peak))
    start = time.perf_counter()
    with open(out, "wb") as stdout, open(err, "wb") as stderr:
        child = subprocess.Popen([sys.executable, "-c", _CHILD, *args], cwd=folder,
                                 stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr,
                                 env=env)
        killer = threading.Timer(seconds, child.kill)
        killer.start()
        try:
            _, status = os.waitpid(child.pid, 0)
        finally:
            killer.cancel()
        child.returncode = os.waitstatus_to_exitcode(status)  # Popen must not wait again
    return Run(child.returncode, out.read_text(errors="replace"),
               err.read_text(errors="replace"), time.perf_counter() - start,
               int(peak.read_text()) / 1024 if peak.exists() else 0.0)


@pytest.mark.parametrize("case", CASES, ids=case_ids())
def test_a_malformed_input_fails_cleanly_or_reads_correctly(case: Case, tmp_path):
    args, subject = case.make(tmp_path)
    TRIED["corpus"] += 1
    run = run_cli(args, tmp_path, case.seconds)
    assert run.returncode != -9, f"killed after {case.seconds:g} s (a hang?)"
    assert "Traceback" not in run.stderr, run.stderr
    assert 0 < run.max_rss_mb < case.max_rss_mb, f"peak memory {run.max_rss_mb:,.0f} MB"
    if case.check is not None:
        case.check(run, tmp_path)
        return
    lines = run.stderr.strip().splitlines()
    assert run.returncode == 2, (run.returncode, run.stderr[-2000:])
    assert len(lines) == 1, run.stderr[-2000:]
    assert (case.mentions or subject) in lines[0], lines[0]
    assert not (tmp_path / "out.bed").exists(), "an output was written for a failed run"
