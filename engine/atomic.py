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
