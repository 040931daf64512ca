"""Write output files atomically: to a temporary name beside the target, then rename.

A crash, an error or Ctrl-C while writing leaves the old file (or nothing), never half a file.
The temporary file is fsync'd before the rename, and the folder after it, so a power cut
cannot leave a renamed but empty file either.

A process killed outright (``kill -9``, the OOM killer) cannot remove its temporary file, so
each one is named for its writer, ``.NAME.<host>.<pid>.<random>.tmp``, and the next write of
NAME (or :func:`remove_stale_temporaries` on a cache folder) removes those whose writer is no
longer running on this host. A temporary file without a readable writer (from another host, or
from before this naming) is removed once it is a day old.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import tempfile
import time
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

# A temporary file whose writer cannot be checked is kept this long (seconds): no write of
# ours keeps a file untouched for a day, and a writer on another host may still be running.
STALE_AGE = 24 * 3600

_HOST = re.sub(r"[^A-Za-z0-9-]", "", socket.gethostname())[:24] or "host"
_NAME_ROOM = 160  # of a file name's 255 bytes, what the target's name may use in a temporary's
# mkstemp's random part is 8 of [a-z0-9_]; the legacy form is the one written before pids
_TEMPORARY = re.compile(r"\.(?P<name>.+)\.(?P<host>[A-Za-z0-9-]+)\.(?P<pid>\d+)\.[a-z0-9_]{8}\.tmp")
_LEGACY = re.compile(r"\.(?P<name>.+)\.[a-z0-9_]{8}\.tmp")


def _stem(name: str) -> str:
    """The target's name as it appears in its temporary files (cut if very long)."""
    return name if len(name.encode()) <= _NAME_ROOM else name.encode()[:_NAME_ROOM].decode(
        errors="ignore")


def _create_temporary(target: Path) -> Path:
    fd, tmp = tempfile.mkstemp(prefix=f".{_stem(target.name)}.{_HOST}.{os.getpid()}.",
                               suffix=".tmp", dir=target.parent)
    os.close(fd)
    return Path(tmp)


def _writer_is_gone(pid: int) -> bool:
    """True only when no process ``pid`` runs here (a process of another user still counts)."""
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (OSError, OverflowError):  # PermissionError: it runs, as another user
        return False
    return False


def _is_stale(entry: os.DirEntry, stem: str | None, now: float) -> bool:
    """A temporary file of ours (of target ``stem``, if given) whose writer is gone: dead on
    this host, or, when that cannot be asked, a day without a write."""
    match = _TEMPORARY.fullmatch(entry.name) or _LEGACY.fullmatch(entry.name)
    if match is None or (stem is not None and match["name"] != stem):
        return False
    # Windows' os.kill(pid, 0) would end the writer, not ask about it: the age rule there
    if "pid" in match.groupdict() and match["host"] == _HOST and os.name != "nt":
        return _writer_is_gone(int(match["pid"]))
    try:
        return now - entry.stat(follow_symlinks=False).st_mtime > STALE_AGE
    except OSError:
        return False


def remove_stale_temporaries(folder: str | Path, name: str | None = None) -> list[Path]:
    """Remove the temporary files in ``folder`` (of target ``name``, or of every target) left
    by writers that died; return what was removed. Live writers' files are never touched."""
    stem = None if name is None else _stem(name)
    removed: list[Path] = []
    now = time.time()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if not (entry.name.startswith(".") and entry.name.endswith(".tmp")):
            continue
        if entry.is_dir(follow_symlinks=False) or not _is_stale(entry, stem, now):
            continue
        with contextlib.suppress(OSError):  # another process may be removing it too
            os.unlink(entry.path)
            removed.append(Path(entry.path))
    return removed


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDWR if os.name == "nt" else os.O_RDONLY)  # Windows: writers only
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable, where the platform and file system can."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # Windows opens no folders; its renames need no folder fsync
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse fsync on a folder (EINVAL): nothing more to do
    finally:
        os.close(fd)


def _output_folder(target: Path, flag: str = "cannot write") -> Path:
    """The target's folder, which must exist: outputs never create folders silently."""
    folder = target.parent
    if not folder.is_dir():
        problem = f"{folder} is not a folder" if folder.exists() else (
            f"folder {folder} does not exist")
        raise InputError(f"{flag}: {problem}", path=target)
    return folder


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; rename it onto ``target`` on success.

    The folder must exist (an :class:`InputError` says so): outputs never create folders
    silently; caches and run folders create theirs first, on purpose.
    """
    target = Path(target)
    folder = _output_folder(target)
    remove_stale_temporaries(folder, target.name)
    tmp_path = _create_temporary(target)
    os.chmod(tmp_path, _FILE_MODE)
    try:
        yield tmp_path
        _fsync_file(tmp_path)
        os.replace(tmp_path, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise
    _fsync_folder(folder)  # the rename itself, durable


@contextlib.contextmanager
def atomic_open(target: str | Path, mode: str = "w", **kwargs) -> Iterator[IO]:
    """``open`` a temporary file; on a clean exit it replaces ``target`` in one rename."""
    with atomic_path(target) as tmp, open(tmp, mode, **kwargs) as handle:
        yield handle
        handle.flush()
        os.fsync(handle.fileno())  # while the handle is open (Windows fsyncs only writers)


def check_writable(target: str | Path, flag: str = "--out") -> Path:
    """Refuse an output path before any work is done: an existing folder, a folder that does
    not exist (outputs never create folders), or a place where no file can be created (a
    read-only or virtual file system such as ``/proc``, no permission). Tried for real, with
    a temporary file beside the target (permission bits do not tell root that ``/proc``
    refuses new files)."""
    target = Path(target)
    if target.is_dir():
        raise InputError(f"{flag} names a folder, not a file", path=target)
    folder = _output_folder(target, flag)
    try:
        tmp = _create_temporary(target)
    except OSError as error:
        raise InputError(f"{flag}: cannot write in {folder}: {error.strerror}",
                         path=target) from None
    tmp.unlink()
    return target
