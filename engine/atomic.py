"""Write output files atomically: to a temporary name beside the target, then rename.

A crash, an error or Ctrl-C while writing leaves the old file (or nothing), never half a file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from engine.errors import InputError


def _read_umask() -> int:
    mask = os.umask(0o022)  # read it by setting it; done once, at import, before threads
    os.umask(mask)
    return mask


# mkstemp creates 0600 files; outputs should get the permissions ``open`` would give them.
_FILE_MODE = 0o666 & ~_read_umask()


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; rename it onto ``target`` on success."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, _FILE_MODE)
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


@contextlib.contextmanager
def atomic_open(target: str | Path, mode: str = "w", **kwargs) -> Iterator[IO]:
    """``open`` a temporary file; on a clean exit it replaces ``target`` in one rename."""
    with atomic_path(target) as tmp, open(tmp, mode, **kwargs) as handle:
        yield handle


def check_writable(target: str | Path, flag: str = "--out") -> Path:
    """Refuse an output path before any work is done: an existing folder, or a place where no
    file can be created (a read-only or virtual file system such as ``/proc``, no permission).
    Tried for real, with a temporary file beside the target (permission bits do not tell root
    that ``/proc`` refuses new files). The folders ``atomic_path`` would create are allowed."""
    target = Path(target)
    if target.is_dir():
        raise InputError(f"{flag} names a folder, not a file", path=target)
    folder = target.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent  # atomic_path creates the missing folders below this one
    if not folder.is_dir():
        raise InputError(f"{flag}: {folder} is not a folder", path=target)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as error:
        raise InputError(f"{flag}: cannot write in {folder}: {error.strerror}",
                         path=target) from None
    os.close(fd)
    os.unlink(tmp)
    return target
