"""Plain-Python events."""

from __future__ import annotations

from gui.model.events import EventGroup, Signal, Subscriptions


def test_signal_calls_callbacks_in_connection_order_once_each():
    signal, calls = Signal("x"), []
    first = signal.connect(lambda v: calls.append(("a", v)))
    signal.connect(lambda v: calls.append(("b", v)))
    signal.connect(first)  # connecting twice does not call twice
    signal.emit(1)
    assert calls == [("a", 1), ("b", 1)]


def test_blocked_signal_emits_nothing_and_unblocks_after():
    signal, calls = Signal(), []
    signal.connect(calls.append)
    with signal.blocked():
        signal.emit(1)
    signal.emit(2)
    assert calls == [2]


def test_a_callback_may_disconnect_itself_while_emitting():
    signal, calls = Signal(), []

    def once(value):
        calls.append(value)
        signal.disconnect(once)

    signal.connect(once)
    signal.connect(calls.append)
    signal.emit(1)
    signal.emit(2)
    assert calls == [1, 1, 2]


def test_subscriptions_disconnect_everything_they_connected():
    events = EventGroup("a", "b")
    subs = Subscriptions()
    subs.connect(events.a, print)
    subs.connect(events.b, print)
    assert events.connection_count() == 2
    subs.disconnect_all()
    assert events.connection_count() == 0
