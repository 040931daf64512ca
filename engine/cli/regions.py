"""Parsing the CLI's ``--region START-END`` (0-based half-open, as BED and every output file).

A locus typed as IGV's ``REC:START-END`` (``--locus``, the window's locus box) counts from 1
instead: that text form is :mod:`engine.loci`'s.
"""

from __future__ import annotations

from engine.errors import InputError


def parse_region(text: str | None) -> tuple[int, int | None]:
    """``START-END`` -> (start, end); ``START-`` -> (start, None); None -> (0, None).

    Thousands separators (``1,000-2,000``) are accepted.
    """
    if not text:
        return 0, None
    a, sep, b = text.replace(",", "").replace("_", "").partition("-")
    try:
        start = int(a)
        end = int(b) if b else None
    except ValueError:
        raise InputError(f"region {text!r} is not START-END (0-based half-open)") from None
    if not sep or start < 0 or (end is not None and end < start):
        raise InputError(f"region {text!r} is not START-END with 0 <= START <= END")
    return start, end
