"""Compressed inputs: sniff the container (gzip, bgzip, xz, bzip2) and decompress once.

Random access into compressed files goes through a one-time decompressed copy in the cache,
keyed by the compressed file's content hash (see ARCHITECTURE.md for why not BGZF seeks).
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import zlib
from pathlib import Path
from typing import BinaryIO

from engine.atomic import atomic_path
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
    """A user-facing message for a broken compressed stream."""
    kind = "truncated" if isinstance(error, EOFError) else "corrupt"
    return FormatError(
        f"{kind} {compression} data: {error} (after {produced:,} decompressed bytes)", path=path
    )


def decompressed_copy(path: str | Path, compression: str, limit: int | None = None) -> Path:
    """Decompress once into the cache; later calls with the same content return the copy.

    With ``limit``, a stream that inflates past ``limit`` bytes stops there with an
    :class:`InputError` (and nothing is left in the cache): a guard against decompression bombs.
    """
    target = cache_dir("decompressed") / f"{content_hash(path)}.bin"
    if target.exists():
        if limit is not None and target.stat().st_size > limit:
            raise too_large(path, target.stat().st_size, limit)
        return target
    produced = 0
    with atomic_path(target) as tmp:
        try:
            with open_decompressed(path, compression) as src, open(tmp, "wb") as dst:
                while chunk := src.read(1 << 22):
                    dst.write(chunk)
                    produced += len(chunk)
                    if limit is not None and produced > limit:
                        raise too_large(path, produced, limit, at_least=True)
        except (EOFError, OSError, lzma.LZMAError, zlib.error) as error:
            raise decompression_error(path, compression, error, produced) from None
    return target


def too_large(path, size: int, limit: int, *, at_least: bool = False) -> InputError:
    more = "more than " if at_least else ""
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
