"""Shared fixtures: real data locations, an isolated cache, Qt offscreen."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
TEST_DATA = Path(__file__).resolve().parent / "data"
LAMBDA = REPO / "resources" / "samples" / "lambda_phage.fa"


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory, monkeypatch) -> Path:
    """Every test gets its own empty cache folder, so no test sees another's cached copies."""
    path = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("BYTESCOPE_CACHE_DIR", str(path))
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the checkout; tests that need it skip on a user's clone."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"{SHARED_DATA} is absent (a user's clone): real-data test skipped")
    return SHARED_DATA


@pytest.fixture(scope="session")
def lambda_path() -> Path:
    """The lambda phage genome shipped in resources/samples (48,502 bp, 1 record)."""
    return LAMBDA
