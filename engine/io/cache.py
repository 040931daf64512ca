"""The per-user cache folder: decompressed copies, normalised FASTA, indexes, later score caches.

``BYTESCOPE_CACHE_DIR`` overrides the platform default (``platformdirs.user_cache_dir``), so
tests and servers can point it elsewhere.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import platformdirs

_CHUNK = 1 << 20


def cache_dir(*parts: str) -> Path:
    """The cache folder (or a sub-folder of it), created on first use."""
    root = os.environ.get("BYTESCOPE_CACHE_DIR") or platformdirs.user_cache_dir("bytescope")
    path = Path(root, *parts)
    path.mkdir(parents=True, exist_ok=True)
    if parts:  # temporaries of writers killed mid-write (kill -9) go when their folder is used
        from engine.atomic import remove_stale_temporaries

        remove_stale_temporaries(path)
    return path


def content_hash(path: str | Path) -> str:
    """BLAKE2b-128 of a file's bytes, hex: the key for everything cached from its content."""
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def stat_key(path: str | Path) -> str:
    """A cheap key for a file at a path as it is now (path, size, mtime): for sidecar indexes."""
    st = os.stat(path)
    text = f"{Path(path).resolve()}|{st.st_size}|{st.st_mtime_ns}"
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
