"""The task runner: request ids, latest-only per kind, cancel, errors, no threads left."""

from __future__ import annotations

import threading

import pytest

from engine.errors import InputError
from gui.workers import BugInWorker, TaskRunner


@pytest.fixture
def runner(qtbot):
    runner = TaskRunner()
    yield runner
    assert runner.shutdown(10_000)


def gated(gate: threading.Event, name: str, started: list):
    def job(reporter):
        started.append(name)
        while not gate.wait(0.005):  # a long job that checks its cancel flag
            reporter.check()
        return name
    return job


def test_newer_requests_replace_waiting_ones_and_cancel_the_running_one(qtbot, runner):
    gate, started, done, cancelled = threading.Event(), [], [], []
    for name in "ABCD":
        runner.submit("k", gated(gate, name, started), done.append,
                      on_cancelled=lambda name=name: cancelled.append(name))
        if name == "A":
            qtbot.waitUntil(lambda: started == ["A"])
    qtbot.waitUntil(lambda: "A" in cancelled)  # A stopped at its next check
    qtbot.waitUntil(lambda: started == ["A", "D"])  # then D started; B and C never ran
    gate.set()
    qtbot.waitUntil(lambda: done == ["D"] and not runner.busy("k"))
    assert sorted(cancelled) == ["A", "B", "C"]


def test_a_result_that_is_no_longer_the_latest_is_dropped(qtbot, runner):
    gate, _started, done = threading.Event(), [], []
    runner.submit("k", lambda reporter: (gate.wait(5), "old")[1], done.append)
    runner.submit("k", lambda reporter: "new", done.append)  # waits for the first to end
    gate.set()
    qtbot.waitUntil(lambda: not runner.busy("k"))
    assert done == ["new"]


def test_kinds_run_side_by_side(qtbot, runner):
    gate, started, done = threading.Event(), [], []
    runner.submit("slow", gated(gate, "slow", started), done.append)
    runner.submit("fast", lambda reporter: "fast", done.append)
    qtbot.waitUntil(lambda: done == ["fast"])
    gate.set()
    qtbot.waitUntil(lambda: done == ["fast", "slow"])


def test_user_errors_go_to_on_error_and_progress_reaches_the_task_list(qtbot, runner):
    errors, tasks_seen = [], []
    runner.tasks.events.tasks.connect(lambda tasks: tasks_seen.append(
        [(t.done, t.total) for t in tasks.values()]))

    def job(reporter):
        reporter.progress(1, 2)
        raise InputError("bad input")

    runner.submit("k", job, lambda r: None, on_error=errors.append, label="working")
    qtbot.waitUntil(lambda: bool(errors) and not runner.busy())
    assert str(errors[0]) == "bad input"
    assert [(1, 2)] in tasks_seen and runner.tasks.tasks == {}


def test_a_bug_in_a_job_is_raised_on_the_gui_thread(qtbot, runner):
    def job(reporter):
        raise ZeroDivisionError("oops")

    with qtbot.capture_exceptions() as raised:
        runner.submit("k", job, lambda r: None)
        qtbot.waitUntil(lambda: not runner.busy())
    assert raised and isinstance(raised[0][1], BugInWorker)
    assert "ZeroDivisionError" in str(raised[0][1])
