"""Loci and the arithmetic of zooming and panning, IGV style.

A :class:`Locus` is what the tracks show, held 0-based half-open like everything inside
bytescope. Its text form, in the locus box and the status bar, is IGV's and samtools'
``record:start-end``, 1-based inclusive (:mod:`engine.loci` converts): ``chr1:101-200`` is
``Locus("chr1", 100, 200)``. The locus box accepts

* ``record:start-end`` (commas allowed), ``record:pos`` (±20 bases around it, as IGV), ``record``;
* ``start-end`` or ``pos`` on the current record (1-based too);
* ``#N``: patch N of the current patches;
* a feature name, ID, gene or locus tag (case-insensitive), shown with 10% padding.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from engine.errors import InputError
from engine.loci import CONVENTION, format_locus, is_range, parse_range

MIN_SPAN = 40  # igv.js's minimumBases: the closest zoom shows 40 bases
POINT_HALF_WIDTH = 20  # "record:pos" shows pos ± 20, as IGV does
FEATURE_PADDING = 0.10


@dataclass(frozen=True)
class Locus:
    """Bases ``[start, end)`` of one record (0-based half-open; :meth:`format` is 1-based)."""

    record_id: str
    start: int
    end: int

    @property
    def span(self) -> int:
        return self.end - self.start

    @property
    def centre(self) -> float:
        return (self.start + self.end) / 2

    def format(self) -> str:
        """IGV's ``record:start-end`` (1-based inclusive), what :func:`parse_locus` reads back."""
        return format_locus(self.record_id, self.start, self.end)

    def __str__(self) -> str:
        return self.format()


def clamp(record_id: str, start: float, end: float, length: int,
          min_span: int = MIN_SPAN) -> Locus:
    """The locus nearest ``[start, end)`` inside ``[0, length)`` and at least ``min_span`` wide.

    A range narrower than ``min_span`` widens about its centre; one running off an end slides
    back in, keeping its width where the record allows.
    """
    min_span = min(min_span, length)
    span = min(max(end - start, min_span), length)
    if end - start < min_span:
        centre = (start + end) / 2
        start = centre - span / 2
    width = max(1, round(span))  # a whole number of bases, kept as the view slides
    lo = min(max(math.floor(start + 1e-9), 0), length - width)
    return Locus(record_id, lo, lo + width)


def zoom(locus: Locus, factor: float, length: int, anchor: float | None = None) -> Locus:
    """Scale the span by ``factor`` (< 1 zooms in) keeping ``anchor`` (default: centre) fixed."""
    anchor = locus.centre if anchor is None else anchor
    start = anchor - (anchor - locus.start) * factor
    end = anchor + (locus.end - anchor) * factor
    return clamp(locus.record_id, start, end, length)


def pan(locus: Locus, fraction: float, length: int) -> Locus:
    """Move by ``fraction`` of the span (positive: right)."""
    shift = fraction * locus.span
    return clamp(locus.record_id, locus.start + shift, locus.end + shift, length)


def centre_on(locus: Locus, position: float, length: int, span: float | None = None) -> Locus:
    """Centre the view on ``position``, keeping the span unless ``span`` is given."""
    span = locus.span if span is None else span
    return clamp(locus.record_id, position - span / 2, position + span / 2, length)


def around_feature(record_id: str, start: int, end: int, length: int) -> Locus:
    """A feature with 10% padding on each side (igv.js's search result view)."""
    pad = max(1.0, FEATURE_PADDING * (end - start))
    return clamp(record_id, start - pad, end + pad, length)


def parse_locus(
    text: str,
    current: Locus | None,
    lengths: Mapping[str, int],
    find_feature: Callable[[str], tuple[str, int, int] | None] = lambda name: None,
    patch_interval: Callable[[int], tuple[int, int] | None] = lambda index: None,
) -> Locus:
    """The locus a locus-box entry names (see the module docstring), clamped to its record.

    ``lengths`` maps the open records' ids to their lengths; ``find_feature(name)`` returns a
    feature's ``(record_id, start, end)``; ``patch_interval(n)`` patch n's ``(start, end)`` on
    the current record. Raises :class:`InputError` saying what was not understood.
    """
    text = text.strip()
    if not text:
        raise InputError("type a locus: record:start-end, start-end, a feature name or #patch")
    if text.startswith("#"):
        if current is None:
            raise InputError("no record is open")
        try:
            index = int(text[1:].replace(",", ""))
        except ValueError:
            raise InputError(f"{text!r}: a patch is #N with N a whole number") from None
        interval = patch_interval(index)
        if interval is None:
            raise InputError(f"there is no patch {index} in the current patches")
        return around_feature(current.record_id, *interval, lengths[current.record_id])
    if text in lengths:
        return Locus(text, 0, lengths[text])
    record_id, sep, tail = text.rpartition(":")
    if sep and record_id in lengths:
        if not is_range(tail):
            raise InputError(f"{tail!r} is not START-END ({CONVENTION}) on {record_id!r}")
        return _range_locus(record_id, *parse_range(tail), lengths[record_id])
    if is_range(text) and current is not None:
        return _range_locus(current.record_id, *parse_range(text), lengths[current.record_id])
    found = find_feature(text)
    if found is not None:
        record_id, start, end = found
        return around_feature(record_id, start, end, lengths[record_id])
    raise InputError(f"{text!r} is neither a record, a START-END range nor a feature name")


def _range_locus(record_id: str, start: int, end: int | None, length: int) -> Locus:
    """``[start, end)`` (0-based, from :func:`engine.loci.parse_range`) on ``record_id``;
    ``end`` None is one base, shown ± 20 bases as IGV does."""
    if end is None:
        return clamp(record_id, start - POINT_HALF_WIDTH, start + POINT_HALF_WIDTH + 1, length)
    if start >= length:
        raise InputError(f"{format_locus(record_id, start, end)} is beyond the end of "
                         f"{record_id!r} ({length:,} bases)")
    return clamp(record_id, start, min(end, length), length)
