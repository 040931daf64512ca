"""The default torch thread count: the cores other processes leave free, at least 1; an explicit
count or OMP_NUM_THREADS wins."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
import torch

from engine.cli import main
from engine.threads import busy_cores, default_threads, set_threads, usable_cores
from tests.conftest import LAMBDA


@pytest.fixture(autouse=True)
def keep_torch_threads():
    """These tests set torch's count; the others run with the count they had."""
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize(("cores", "busy", "reserve", "expected"), [
    (2, 0.0, 0, 2),  # an idle 2-core machine: both
    (2, 1.0, 0, 1),  # one core taken by another process: the other one
    (2, 0.25, 0, 2),  # a little background work does not take a core
    (2, 0.4, 0, 1),  # more than 30% of a core does
    (2, 5.0, 0, 1),  # never fewer than one
    (16, 0.0, 1, 15),  # the window keeps a core for its GUI thread
    (16, 3.6, 0, 12),
])
def test_default_threads_are_the_cores_others_leave_free(cores, busy, reserve, expected):
    assert default_threads(reserve, busy=busy, cores=cores) == expected


def test_an_explicit_count_wins_over_the_environment(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert set_threads(1) == 1 == torch.get_num_threads()


def test_omp_num_threads_leaves_the_count_torch_took_from_it(monkeypatch):
    # torch reads OMP_NUM_THREADS when it starts; more than the cores shows it was kept,
    # since the default rule never goes above them
    above = usable_cores() + 1
    monkeypatch.setenv("OMP_NUM_THREADS", str(above))
    torch.set_num_threads(above)
    assert set_threads() == above


def test_without_a_count_or_the_variable_the_default_rule_sets_torch(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)
    torch.set_num_threads(usable_cores() + 1)
    assert 1 <= set_threads() <= usable_cores()


@pytest.mark.skipif(not os.path.exists("/proc/stat"), reason="reads /proc/stat (Linux)")
def test_a_process_spinning_on_a_core_counts_as_busy():
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        # wait until it has run (its CPU time in /proc), not for a fixed time
        stat = f"/proc/{spinner.pid}/stat"
        deadline = time.monotonic() + 30
        while int(open(stat).read().rsplit(")", 1)[1].split()[11]) < 5:  # utime, in ticks
            assert time.monotonic() < deadline, "the spinning process never ran"
            time.sleep(0.01)
        assert busy_cores() >= 0.5
    finally:
        spinner.kill()
        spinner.wait()


def test_score_reports_the_threads_it_used(capsys):
    assert main(["score", str(LAMBDA), "--region", "0-300", "--model", "fast", "--no-cache",
                 "--threads", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["threads"] == 1


def test_the_cli_leaves_a_count_set_by_omp_num_threads(capsys, monkeypatch):
    above = usable_cores() + 1  # more than the default rule ever gives
    monkeypatch.setenv("OMP_NUM_THREADS", str(above))
    torch.set_num_threads(above)  # as torch set itself from the variable at start
    assert main(["score", str(LAMBDA), "--region", "0-300", "--model", "fast", "--no-cache",
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["threads"] == above


def test_a_thread_count_below_one_is_an_input_error_not_a_torch_traceback():
    from engine.errors import InputError
    from engine.threads import set_threads

    with pytest.raises(InputError, match="at least 1"):
        set_threads(-2)
