"""One exception family for failures a user can fix.

The CLI prints ``str(error)`` on one line and exits with code 2; the GUI shows it in a dialog.
Programming errors are ordinary Python exceptions and are never dressed up as these.
"""

from __future__ import annotations

from pathlib import Path


class BytescopeError(Exception):
    """A failure caused by the user's input, with where it happened.

    ``where`` is a file path; ``line`` (1-based) or ``offset`` (0-based byte) pinpoint the spot.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        offset: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line
        self.offset = offset

    def __str__(self) -> str:
        where = self.path or ""
        if self.line is not None:
            where += f":{self.line}" if where else f"line {self.line}"
        elif self.offset is not None:
            where += f" at byte {self.offset}" if where else f"byte {self.offset}"
        return f"{where}: {self.message}" if where else self.message


class InputError(BytescopeError):
    """The input cannot be used: a missing or empty file, a bad region, a bad option value."""


class FormatError(BytescopeError):
    """A file does not follow the format it claims (FASTA, FASTQ, GFF3, gzip, ...)."""


class ModelError(BytescopeError):
    """A model file or configuration cannot be loaded or does not fit the request."""
