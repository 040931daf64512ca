"""Evented state with psygnal (what napari uses), no Qt.

A model is a dataclass whose ``events`` is a :class:`psygnal.SignalGroupDescriptor`: assigning a
field emits ``model.events.<field>(new_value)`` when, and only when, the value changes (the
field's equality operator decides; objects that hold arrays compare by identity), and psygnal
holds bound methods weakly, so a widget that is gone is never called. Events that are not a
field (an error to show, a buffer that grew in place) are declared on the group class.

Widgets call ``subs.connect(model.events.locus, self._on_locus)`` and, when they close,
``subs.disconnect_all()`` (napari's ``disconnect_events``). Callbacks run synchronously in the
thread that emits, which for the view models is always the GUI thread: workers never touch a
model, the controllers apply their results on the GUI thread.
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from psygnal import Signal, SignalGroup, SignalGroupDescriptor, SignalInstance

Callback = Callable[..., Any]
# the fields each evented() descriptor compares with ``is`` (batch compares as psygnal does)
# (descriptors live as long as their classes: keyed by id, kept for the process)
_IDENTITY: dict[int, frozenset[str]] = {}

__all__ = ["Signal", "SignalGroup", "SignalGroupDescriptor", "SignalInstance", "Subscriptions",
           "batch", "by_identity", "connection_count", "evented"]


def by_identity(*names: str) -> dict[str, Callable[[Any, Any], bool]]:
    """Equality operators for fields holding arrays or big objects (records, buffers, patch
    views): a new object is a change, the same object is not, and nothing is compared
    element by element."""
    return dict.fromkeys(names, operator.is_)


def evented(group: type[SignalGroup] | None = None, identity: tuple[str, ...] = ()
            ) -> SignalGroupDescriptor:
    """The ``events`` descriptor of an evented dataclass: one signal per field, plus the
    signals ``group`` declares; ``identity`` names the fields compared with ``is``."""
    descriptor = SignalGroupDescriptor(signal_group_class=group or SignalGroup,
                                       equality_operators=by_identity(*identity))
    _IDENTITY[id(descriptor)] = frozenset(identity)
    return descriptor


@contextmanager
def batch(model: Any) -> Iterator[None]:
    """Set several fields of an evented dataclass at once: inside the block its signals are
    blocked; when the outermost block ends, each field whose value changed (by the field's
    equality operator) emits once, ``(new, old)``, in the order the dataclass declares them,
    so a subscriber of any of them sees every field already changed. (psygnal's
    ``SignalGroup.paused`` pauses only the group's relay, and a pause resumed from inside a
    callback re-emits its queue.)"""
    depth = model.__dict__.get("_batch_depth", 0)
    if depth:  # nested (a setter calling a setter): the outermost block emits
        model.__dict__["_batch_depth"] = depth + 1
        try:
            yield
        finally:
            model.__dict__["_batch_depth"] = depth
        return
    group = model.events
    names = [f.name for f in dataclasses.fields(model) if f.name in group]
    before = {name: getattr(model, name) for name in names}
    signals = [getattr(group, name) for name in names]  # other events (errors) pass through
    model.__dict__["_batch_depth"] = 1
    for signal in signals:
        signal.block()
    try:
        yield
    finally:
        for signal in signals:
            signal.unblock()
        model.__dict__["_batch_depth"] = 0
    identity = _IDENTITY.get(id(type(model).__dict__.get("events")), frozenset())
    for name in names:
        old, new = before[name], getattr(model, name)
        if not (new is old if name in identity else _equal(new, old)):
            getattr(group, name).emit(new, old)


def _equal(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:  # values whose == is not a bool (arrays): a change
        return False


def connection_count(group: SignalGroup) -> int:
    """How many callbacks are connected to the group's signals (tests check widgets
    unsubscribe)."""
    return sum(len(getattr(group, name)) for name in group)


class Subscriptions:
    """What one widget connected, so it can disconnect all of it when it closes."""

    def __init__(self) -> None:
        self._pairs: list[tuple[SignalInstance, Callback]] = []

    def connect(self, signal: SignalInstance, callback: Callback) -> None:
        signal.connect(callback)
        self._pairs.append((signal, callback))

    def disconnect_all(self) -> None:
        for signal, callback in self._pairs:
            signal.disconnect(callback, missing_ok=True)
        self._pairs.clear()

    def __len__(self) -> int:
        return len(self._pairs)
