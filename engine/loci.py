"""Loci as people type them: IGV's and samtools' ``record:start-end``, 1-based and inclusive.

Everything inside bytescope (records, features, arrays, files, ``--region``) is 0-based
half-open. Only this text form, the one pasted from IGV, ``samtools faidx`` or a genome browser
and shown in the window's locus box, counts from 1 and includes its end, as IGV and samtools
do: ``chr1:101-200`` is the bases ``[100, 200)``, the same hundred bases as BED's
``chr1 100 200``. This module is the one place that converts, both ways, so the window's locus
box and ``bytescope inspect --locus`` cannot drift apart.
"""

from __future__ import annotations

import re

from engine.errors import InputError

CONVENTION = "1-based, inclusive, as IGV and samtools"

_RANGE = re.compile(r"^\s*(\d[\d,_]*)\s*(?:-\s*(\d[\d,_]*))?\s*$")


def _number(text: str) -> int:
    return int(text.replace(",", "").replace("_", ""))


def is_range(text: str) -> bool:
    """Whether ``text`` is written as ``START-END`` or ``POS`` (digits, commas allowed)."""
    return _RANGE.match(text) is not None


def parse_range(text: str) -> tuple[int, int | None]:
    """``START-END`` (1-based inclusive) -> 0-based half-open ``(START - 1, END)``;
    ``POS`` -> ``(POS - 1, None)``, the 0-based index of that base.

    ``1-1`` is the first base, ``[0, 1)``. Raises :class:`InputError` for text that is not
    numbers, a START or POS below 1, or an END before START.
    """
    match = _RANGE.match(text)
    if match is None:
        raise InputError(f"{text.strip()!r} is not START-END ({CONVENTION})")
    start = _number(match.group(1))
    end = _number(match.group(2)) if match.group(2) is not None else None
    if start < 1:
        raise InputError(f"{text.strip()!r}: positions count from 1 ({CONVENTION}), "
                         f"so START must be at least 1")
    if end is not None and end < start:
        raise InputError(f"{text.strip()!r}: END is before START ({CONVENTION})")
    return start - 1, end


def format_range(start: int, end: int) -> str:
    """0-based half-open ``[start, end)`` as IGV writes it: ``start + 1``-``end``, with commas."""
    return f"{start + 1:,}-{end:,}"


def format_position(position: int) -> str:
    """A 0-based base index as IGV numbers it (from 1), with commas."""
    return f"{position + 1:,}"


def format_locus(record_id: str, start: int, end: int) -> str:
    """``record:start-end`` in IGV's numbers for the 0-based half-open ``[start, end)``."""
    return f"{record_id}:{format_range(start, end)}"


def parse_locus(text: str) -> tuple[str, int, int]:
    """``REC:START-END`` (1-based inclusive; the record id may hold colons) -> 0-based
    half-open ``(record_id, start, end)``; what ``--locus`` on the command line takes."""
    record_id, sep, span = text.strip().rpartition(":")
    if not sep or not record_id or not is_range(span):
        raise InputError(f"locus {text!r} is not REC:START-END ({CONVENTION})")
    start, end = parse_range(span)
    if end is None:
        raise InputError(f"locus {text!r} names one position; give REC:START-END "
                         f"({CONVENTION})")
    return record_id, start, end
