"""Locating the files in ``resources/`` (bundled samples, icons, default models)."""

from __future__ import annotations

from pathlib import Path

from engine.errors import InputError

RESOURCES = Path(__file__).resolve().parent.parent / "resources"


def sample_path(name: str) -> Path:
    """Path of a bundled sample in ``resources/samples``."""
    path = RESOURCES / "samples" / name
    if not path.exists():
        raise InputError(f"bundled sample {name!r} is missing from {path.parent}")
    return path
