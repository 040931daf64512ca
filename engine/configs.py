"""Config dataclasses from JSON objects, refusing keys they do not know.

A typo in a config file (``"lrr": 0.01``) would otherwise be dropped and the default used
silently; here it is named, with the file, as a :class:`~engine.errors.FormatError`.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Iterable
from pathlib import Path
from typing import TypeVar

from engine.errors import BytescopeError, FormatError

T = TypeVar("T")


def unknown_keys(cls: type, data: dict, *, obsolete: Iterable[str] = ()) -> list[str]:
    """The keys of ``data`` that are neither fields of the dataclass ``cls`` nor ``obsolete``."""
    known = {f.name for f in dataclasses.fields(cls)} | set(obsolete)
    return sorted(str(k) for k in data if k not in known)


def config_from_dict(cls: type[T], data: dict, *, what: str, path: str | Path | None = None,
                     obsolete: Iterable[str] = (),
                     error: type[BytescopeError] = FormatError) -> T:
    """``cls(**data)``, refusing a key ``cls`` has no field for with one message naming every
    such key (and a close field name when there is one).

    ``what`` names the config in the message (``"training config"``); ``obsolete`` lists keys
    older versions wrote and that are now ignored (a named compatibility quirk, not a typo);
    ``error`` is the exception raised (a model's config says :class:`ModelError`).
    """
    if not isinstance(data, dict):
        raise error(f"the {what} is not a JSON object", path=path)
    unknown = unknown_keys(cls, data, obsolete=obsolete)
    if unknown:
        fields = [f.name for f in dataclasses.fields(cls)]
        named = []
        for key in unknown:
            close = difflib.get_close_matches(key, fields, n=1)
            named.append(f"{key!r} (did you mean {close[0]!r}?)" if close else repr(key))
        raise error(f"unknown {what} key{'s' if len(unknown) > 1 else ''} {', '.join(named)}",
                    path=path)
    ignored = set(obsolete)
    return cls(**{k: v for k, v in data.items() if k not in ignored})
