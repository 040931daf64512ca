"""Plain-Python events: a :class:`Signal` per state field, no Qt.

Widgets call ``model.events.locus.connect(self._on_locus)`` and, when they close,
``Subscriptions.disconnect_all()`` (napari's ``disconnect_events``). Callbacks run synchronously
in the thread that emits, which for the view model is always the GUI thread: workers never
touch the model, the controller applies their results on the GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

Callback = Callable[..., Any]


class Signal:
    """A list of callbacks called in connection order by :meth:`emit`."""

    __slots__ = ("_blocked", "_callbacks", "name")

    def __init__(self, name: str = "") -> None:
        self.name = name
        self._callbacks: list[Callback] = []
        self._blocked = 0

    def connect(self, callback: Callback) -> Callback:
        if callback not in self._callbacks:
            self._callbacks.append(callback)
        return callback

    def disconnect(self, callback: Callback) -> None:
        """Remove ``callback``; removing one that is not connected is not an error."""
        try:
            self._callbacks.remove(callback)
        except ValueError:
            pass

    def emit(self, *args: Any) -> None:
        if self._blocked:
            return
        # A callback may disconnect itself (a widget closing): iterate over a copy.
        for callback in list(self._callbacks):
            callback(*args)

    @contextmanager
    def blocked(self) -> Iterator[None]:
        """Emit nothing inside the block (to set state without echoing it back)."""
        self._blocked += 1
        try:
            yield
        finally:
            self._blocked -= 1

    def __len__(self) -> int:
        return len(self._callbacks)

    def __repr__(self) -> str:
        return f"Signal({self.name!r}, {len(self._callbacks)} callbacks)"


class EventGroup:
    """Named signals as attributes: ``EventGroup("locus", "record").locus.connect(f)``."""

    def __init__(self, *names: str) -> None:
        self._names = names
        for name in names:
            setattr(self, name, Signal(name))

    def __iter__(self) -> Iterator[Signal]:
        return (getattr(self, name) for name in self._names)

    def connection_count(self) -> int:
        """How many callbacks are connected in all (tests check widgets unsubscribe)."""
        return sum(len(signal) for signal in self)


class Subscriptions:
    """What one widget connected, so it can disconnect all of it when it closes."""

    def __init__(self) -> None:
        self._pairs: list[tuple[Signal, Callback]] = []

    def connect(self, signal: Signal, callback: Callback) -> None:
        signal.connect(callback)
        self._pairs.append((signal, callback))

    def disconnect_all(self) -> None:
        for signal, callback in self._pairs:
            signal.disconnect(callback)
        self._pairs.clear()

    def __len__(self) -> int:
        return len(self._pairs)
