"""Evented models (psygnal): events on change only, weak references, one batch per setter,
subscriptions that disconnect everything."""

from __future__ import annotations

import gc

import numpy as np
import pytest

from engine.io.records import MemorySource, Record
from engine.patching import PatchConfig
from gui.model.events import Subscriptions, connection_count
from gui.model.locus import Locus
from gui.model.session import Workbench
from gui.model.tasks import TaskInfo, TasksModel


@pytest.fixture
def tiny_record() -> Record:
    return Record("chrT", 400, MemorySource(b"ACGT" * 100), alphabet="dna")


def test_a_setter_emits_only_when_the_value_changes():
    bench, seen = Workbench(), []
    bench.events.patch_config.connect(seen.append)
    config = PatchConfig(mode="static", patch_size=4)
    bench.set_patch_config(config)
    bench.set_patch_config(PatchConfig(mode="static", patch_size=4))  # equal: no event
    bench.set_compare_settings(bench.compare_settings)
    assert seen == [config]


def test_fields_holding_arrays_compare_by_identity_not_element_by_element():
    bench, seen = Workbench(), []
    bench.events.comparison.connect(seen.append)
    value = np.arange(5)
    bench.set_comparison(value)
    bench.set_comparison(value)  # the same object: no event, no elementwise comparison
    bench.set_comparison(np.arange(5))  # a new object: an event
    assert len(seen) == 2


def test_a_bound_method_is_held_weakly():
    class Widget:
        calls = 0

        def on_cursor(self, _position):
            Widget.calls += 1

    bench, widget = Workbench(), Widget()
    bench.events.cursor.connect(widget.on_cursor)
    bench.set_cursor(3)
    del widget
    gc.collect()
    bench.set_cursor(4)  # the widget is gone: not called, no error
    assert Widget.calls == 1 and len(bench.events.cursor) == 0


def test_a_new_record_is_seen_with_everything_else_reset(tiny_record):
    bench, seen = Workbench(), []
    bench.set_cursor(1)

    def on_record(record):
        # inside the record's event the rest of the state is already the new record's
        seen.append((record.id, bench.locus, bench.scores, bench.selection))

    bench.events.record.connect(on_record)
    bench.set_record("x.fa", tiny_record)
    assert seen == [(tiny_record.id, Locus(tiny_record.id, 0, tiny_record.length), None, None)]


def test_the_score_source_event_fires_once_per_change():
    bench, seen = Workbench(), []
    bench.events.score_source.connect(lambda: seen.append("source"))
    bench.set_model_spec("fast")
    bench.set_model_spec("fast")  # no change
    bench.set_repeats(False)
    bench.set_repeats(False)
    assert seen == ["source", "source"]


def test_subscriptions_disconnect_everything_they_connected():
    bench, subs = Workbench(), Subscriptions()
    subs.connect(bench.events.locus, print)
    subs.connect(bench.events.error, print)
    assert connection_count(bench.events) == 2
    subs.disconnect_all()
    assert connection_count(bench.events) == 0


def test_tasks_model_emits_once_per_change_and_keeps_the_newest():
    tasks, seen = TasksModel(), []
    tasks.events.tasks.connect(lambda t: seen.append(sorted(t)))
    tasks.add(TaskInfo(1, "a"))
    tasks.add(TaskInfo(2, "b"))
    tasks.update(2, 1, 4)
    tasks.update(2, 1, 4)  # the same progress: no event
    tasks.remove(1)
    tasks.remove(1)
    assert seen == [[1], [1, 2], [1, 2], [2]]
    assert tasks.newest().label == "b" and tasks.newest().fraction == 0.25
