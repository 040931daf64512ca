"""The per-user cache folder: decompressed copies, normalised FASTA, indexes, later score caches.

``BYTESCOPE_CACHE_DIR`` overrides the platform default (``platformdirs.user_cache_dir``), so
tests and servers can point it elsewhere.
"""

from __future__ import annotations

import contextlib
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
    """BLAKE2b-128 of a file's bytes, hex: the key for everything cached from its content.

    Hashed once per file identity (:func:`file_identity`: path, device, inode, size, mtime and
    ctime) and remembered, in this process and in the cache folder (``hashes/``), so reopening
    an unchanged file reads none of its bytes: any write changes its ctime, which no program
    can set back, and a file replaced by another has another inode. A file that changes while
    it is hashed is not remembered.
    """
    identity = file_identity(path)
    known = _remembered(identity)
    if known is not None:
        return known
    memo = _memo_path(identity)
    digest = hash_bytes(path)
    if file_identity(path) == identity:
        _HASHES[identity] = digest
        with contextlib.suppress(OSError):
            from engine.atomic import atomic_open

            with atomic_open(memo, "w", encoding="ascii") as handle:
                handle.write(digest + "\n")
    return digest


def remembered_hash(path: str | Path) -> str | None:
    """The file's content hash if it was computed before for this identity, else None (no
    bytes are read)."""
    return _remembered(file_identity(path))


def _memo_path(identity: tuple) -> Path:
    return cache_dir("hashes") / f"{_identity_key(identity)}.txt"


def _remembered(identity: tuple) -> str | None:
    known = _HASHES.get(identity)
    if known is not None:
        return known
    with contextlib.suppress(OSError, UnicodeDecodeError):
        text = _memo_path(identity).read_text(encoding="ascii").strip()
        if len(text) == 32 and all(c in "0123456789abcdef" for c in text):
            _HASHES[identity] = text
            return text
    return None


def identity_key(path: str | Path) -> str:
    """A key for the file as it is now (:func:`file_identity`), hex: for caches of what is
    cheap to recompute but costly per open (summaries)."""
    return _identity_key(file_identity(path))


def hash_bytes(path: str | Path) -> str:
    """BLAKE2b-128 of a file's bytes, read through (no memo)."""
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


_HASHES: dict[tuple, str] = {}


def file_identity(path: str | Path) -> tuple:
    """What says a file is the one hashed before: resolved path, device, inode, size, mtime and
    ctime (nanoseconds)."""
    st = os.stat(path)
    return (str(Path(path).resolve()), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns,
            st.st_ctime_ns)


def _identity_key(identity: tuple) -> str:
    return hashlib.blake2b(repr(identity).encode(), digest_size=16).hexdigest()


def stat_key(path: str | Path) -> str:
    """A cheap key for a file at a path as it is now (path, size, mtime): for sidecar indexes."""
    st = os.stat(path)
    text = f"{Path(path).resolve()}|{st.st_size}|{st.st_mtime_ns}"
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
