"""Locating the files in ``resources/`` (bundled samples, icons, default models).

In a clone (or an editable install) they sit in ``resources/`` beside ``engine/``; a wheel
installs the same folder as the data-only package ``engine.bundled`` (see pyproject.toml), so
an installed bytescope finds them from any working directory.
"""

from __future__ import annotations

from pathlib import Path

from engine.errors import InputError

_ENGINE = Path(__file__).resolve().parent
# What plain ``bytescope`` opens, in order; the first (the annotated contig) is shown first.
SAMPLES = ("prokka_BAC_00001.gff3.gz", "lambda_phage.fa")


def _resources_folder() -> Path:
    installed = _ENGINE / "bundled"  # a wheel's copy comes first: site-packages/resources may
    if installed.is_dir():           # belong to another distribution
        return installed
    return _ENGINE.parent / "resources"


RESOURCES = _resources_folder()


def sample_path(name: str) -> Path:
    """Path of a bundled sample in ``resources/samples``."""
    path = RESOURCES / "samples" / name
    if not path.exists():
        raise InputError(f"bundled sample {name!r} is missing from {path.parent}")
    return path
