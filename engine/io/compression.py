"""Compressed inputs: sniff the container (gzip, bgzip, xz, bzip2) and decompress once.

Random access into compressed files goes through a one-time decompressed copy in the cache,
keyed by the compressed file's content hash (see ARCHITECTURE.md for why not BGZF seeks).
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import hashlib
import json
import lzma
import os
import shutil
import zlib
from pathlib import Path
from typing import BinaryIO

from engine.atomic import atomic_open, atomic_path
from engine.errors import FormatError, InputError

from .cache import cache_dir, content_hash

_MAGIC = {
    b"\x1f\x8b": "gzip",
    b"\xfd7zXZ\x00": "xz",
    b"BZh": "bzip2",
}


def sniff_compression(path: str | Path) -> str | None:
    """``'gzip'``, ``'bgzip'``, ``'xz'``, ``'bzip2'`` or None, from the magic bytes."""
    with open(path, "rb") as handle:
        head = handle.read(18)
    for magic, name in _MAGIC.items():
        if head.startswith(magic):
            # BGZF: gzip with FEXTRA and a 'BC' subfield (SAM spec, section 4.1).
            if name == "gzip" and len(head) >= 14 and head[3] & 4 and head[12:14] == b"BC":
                return "bgzip"
            return name
    return None


def open_decompressed(path: str | Path, compression: str | None) -> BinaryIO:
    """A binary stream of the file's decompressed bytes (plain files pass through)."""
    if compression in ("gzip", "bgzip"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    if compression == "xz":
        return lzma.open(path, "rb")  # type: ignore[return-value]
    if compression == "bzip2":
        return bz2.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")


def read_head(path: str | Path, compression: str | None, size: int = 4096) -> bytes:
    """The first ``size`` decompressed bytes (for sniffing formats); may be fewer."""
    try:
        with open_decompressed(path, compression) as stream:
            return stream.read(size)
    except (EOFError, OSError, lzma.LZMAError, zlib.error) as error:
        raise decompression_error(path, compression, error, 0) from None


def decompression_error(path, compression, error: Exception, produced: int) -> FormatError:
    """A user-facing message for a broken compressed stream (``produced``: the bytes read
    before the failing 64 KiB read, so the data broke within 64 KiB after them)."""
    kind = "truncated" if isinstance(error, EOFError) else "corrupt"
    where = (f"within the first {_CHUNK // 1024} KiB of decompressed data" if produced == 0
             else f"after {produced:,} decompressed bytes")
    return FormatError(f"{kind} {compression} data: {error} ({where})", path=path)


_CHUNK = 1 << 16  # small reads, so "after N bytes" in an error is true to 64 KiB
_SAMPLES = 16  # blocks hashed to check a cache entry (see _fingerprint)


def _fingerprint(path: Path) -> dict:
    """Size and a BLAKE2b of 16 evenly spaced 64 KiB blocks (first and last included).

    What a cached copy is checked against on reuse: a full hash would read a GB copy on every
    open; this catches a truncated, emptied or swapped copy (the size or a block differs) for
    the cost of 1 MiB of reads. A copy corrupted inside one unsampled block is not caught."""
    size = path.stat().st_size
    digest = hashlib.blake2b(str(size).encode(), digest_size=16)
    with open(path, "rb") as handle:
        for i in range(_SAMPLES):
            handle.seek(max(0, (size - _CHUNK) * i // (_SAMPLES - 1)))
            digest.update(handle.read(_CHUNK))
    return {"size": size, "blocks": digest.hexdigest()}


def _valid_entry(target: Path, stamp: Path) -> bool:
    """A cache entry is used only if it is a file matching the fingerprint written with it;
    anything else there (a folder, a truncated or swapped copy) is removed."""
    try:
        if target.is_file() and stamp.is_file():
            if json.loads(stamp.read_text()) == _fingerprint(target):
                return True
    except (OSError, ValueError):
        pass
    for path in (target, stamp):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError, IsADirectoryError):
                path.unlink()
    return False


def decompressed_copy(path: str | Path, compression: str, limit: int | None = None, *,
                      raw: bool = True) -> Path:
    """Decompress once into the cache; later calls with the same content return the copy.

    With ``limit``, a stream that inflates past ``limit`` bytes stops there with an
    :class:`InputError` (and nothing is left in the cache): a guard against decompression bombs
    (``raw``: the message names the cap for raw-bytes files, else for compressed files).
    The copy is checked against its fingerprint on reuse and made again if it does not match.
    """
    target = cache_dir("decompressed") / f"{content_hash(path)}.bin"
    stamp = target.with_suffix(".json")
    if _valid_entry(target, stamp):
        if limit is not None and target.stat().st_size > limit:
            raise too_large(path, target.stat().st_size, limit, raw=raw)
        return target
    produced = 0
    with atomic_path(target) as tmp:
        try:
            with open_decompressed(path, compression) as src, open(tmp, "wb") as dst:
                while chunk := src.read(_CHUNK):
                    dst.write(chunk)
                    produced += len(chunk)
                    if limit is not None and produced > limit:
                        raise too_large(path, produced, limit, at_least=True, raw=raw)
                dst.flush()
                os.fsync(dst.fileno())
        except (EOFError, OSError, lzma.LZMAError, zlib.error) as error:
            raise decompression_error(path, compression, error, produced) from None
    with atomic_open(stamp, "w") as out:
        json.dump(_fingerprint(target), out)
    return target


def too_large(path, size: int, limit: int, *, at_least: bool = False,
              raw: bool = True) -> InputError:
    """The size cap (``--max-bytes``, 1 GiB by default) on raw-bytes files and on what a
    compressed file inflates to: a guard against decompression bombs."""
    more = "more than " if at_least else ""
    if not raw:
        return InputError(
            f"inflates to {more}{size:,} bytes, more than the {limit:,}-byte limit for "
            "compressed files (raise it with --max-bytes, or decompress the file first)",
            path=path)
    return InputError(
        f"{more}{size:,} bytes is more than the {limit:,}-byte limit for files opened as raw "
        "bytes (raise it with --max-bytes, or give a sequence format)",
        path=path,
    )


__all__ = [
    "decompressed_copy",
    "open_decompressed",
    "read_head",
    "sniff_compression",
    "too_large",
]
