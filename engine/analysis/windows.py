"""Which bases an attribution explains, and with how much context: windows on records.

A :class:`Window` is a stretch ``[start, end)`` of a record (0-based half-open, record
coordinates) read 5'->3' along ``strand``: a ``-1`` window is the reverse complement of its
bases, so window coordinate ``i`` is record base ``end - 1 - i`` (``start + i`` on ``+1``).
The model reads ``context`` bases before the window in that reading direction (record bases
``[start - C, start)`` on ``+1``, ``[end, end + C)`` reverse-complemented on ``-1``), and the
target is the window's summed log-likelihood; only the window's attributions go on.

Windows come from three rules, each a pure function of features or record lengths:

* :func:`around_features`: ``W`` bases upstream of a feature's start or end codon plus that
  codon, along the feature's strand (``anchor`` is the codon's first base, window coordinate
  ``W``; offsets are reported relative to it: -10 is ten bases before the A of an ATG);
* :func:`from_regions`: BED (or any) features as they are, on their strand;
* :func:`random_windows`: ``N`` windows of ``W`` bases, uniform over every base that can start
  one (records weighted by how many they hold), from a seeded generator.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from engine.errors import InputError
from engine.io import Feature, Record

ANCHORS = ("start", "end")
CODON = 3
CONTEXT_CAP = 1024  # default left context: the bundled models' training length
MOTIF_CONTEXT = 256  # bases read before each motif-discovery window: enough for these models
_COMPLEMENT = bytes.maketrans(b"ACGTacgtNn", b"TGCAtgcaNn")


@dataclass(frozen=True)
class Window:
    """``[start, end)`` of ``record`` read along ``strand`` (+1, or -1: reverse-complemented);
    ``anchor`` is the window coordinate offsets are measured from (None: the window's start).
    """

    record: str
    start: int
    end: int
    strand: int = 1
    anchor: int | None = None
    name: str = ""

    @property
    def length(self) -> int:
        return self.end - self.start

    def to_record(self, a: int, b: int) -> tuple[int, int]:
        """Window span ``[a, b)`` -> record span: ``[start + a, start + b)`` on +1,
        ``[end - b, end - a)`` on -1."""
        return (self.start + a, self.start + b) if self.strand >= 0 else (self.end - b,
                                                                          self.end - a)

    def offset(self, a: int) -> int:
        """Window coordinate ``a`` relative to the anchor (or the window's start)."""
        return a - (self.anchor or 0)


def parse_anchor(text: str) -> tuple[str, str]:
    """``TYPE:start`` or ``TYPE:end`` (``--around``) -> ``(type, anchor)``."""
    kind, sep, anchor = text.strip().rpartition(":")
    if not sep or not kind or anchor not in ANCHORS:
        raise InputError(f"--around {text!r} is not TYPE:start or TYPE:end (e.g. CDS:start)")
    return kind, anchor


def left_context(start: int, end: int, max_len: int | None, context: int | None = None,
                 cap: int = CONTEXT_CAP) -> int:
    """The first base the model reads to explain ``[start, end)``: ``start - C``, with C the
    given ``context`` or else ``min(cap, max_len - 1 - (end - start))`` (fill the model's
    context beside its BOS), never before the record's base 0.

    A window ``end - window_start + 1 > max_len`` (with the BOS) does not fit: InputError.
    """
    n = end - start
    room = None if max_len is None else max_len - 1 - n
    if room is not None and room < 0:
        raise InputError(f"the locus holds {n:,} bases; the model reads at most "
                         f"{max_len - 1:,}: give a shorter locus")
    if context is None:
        context = cap if room is None else min(cap, room)
    elif room is not None and context > room:
        raise InputError(f"--context {context:,} and the locus's {n:,} bases make a window of "
                         f"{context + n:,}, longer than the model's context of "
                         f"{max_len - 1:,}: at most --context {room:,}")
    return max(0, start - context)


def around_features(features: Iterable[Feature], kind: str, anchor: str, upstream: int,
                    lengths: dict[str, int]) -> tuple[list[Window], int]:
    """One window per feature of type ``kind``: ``upstream`` bases before its ``anchor``
    codon (its first 3 bases for "start", its last 3 for "end", along its strand) plus the
    codon; ``lengths`` (record id -> length) drops windows off a record's ends or on records
    not in it. Returns the windows (duplicates merged, in record then position order) and how
    many were dropped. A type with no features is an InputError naming the types there are.
    """
    features = list(features)
    chosen = [f for f in features if f.type == kind]
    if not chosen:
        known = sorted({f.type for f in features})
        raise InputError(f"no {kind!r} features; the types here are: "
                         f"{', '.join(known) if known else 'none (no features)'}")
    windows: dict[tuple[str, int, int, int], Window] = {}
    dropped = 0
    for f in chosen:
        plus = f.strand >= 0
        # the codon's first base along the strand, as a record span [lo, hi) of the codon
        if (anchor == "start") == plus:
            lo, hi = f.start, f.start + CODON
        else:
            lo, hi = f.end - CODON, f.end
        start, end = (lo - upstream, hi) if plus else (lo, hi + upstream)
        if f.record_id not in lengths or start < 0 or end > lengths[f.record_id]:
            dropped += 1
            continue
        key = (f.record_id, start, end, 1 if plus else -1)
        windows.setdefault(key, Window(f.record_id, start, end, key[3], upstream,
                                       f.name or f.attributes.get("ID", "")))
    return [windows[k] for k in sorted(windows)], dropped


def from_regions(features: Iterable[Feature], lengths: dict[str, int]) -> tuple[list[Window],
                                                                               int]:
    """One window per region, on its strand (0 reads as +1); regions off their record or
    on a record not in ``lengths`` are dropped and counted."""
    windows, dropped = [], 0
    for f in features:
        if f.record_id not in lengths or f.end > lengths[f.record_id] or f.end <= f.start:
            dropped += 1
            continue
        windows.append(Window(f.record_id, f.start, f.end, -1 if f.strand < 0 else 1, None,
                              f.name))
    return windows, dropped


def random_windows(lengths: dict[str, int], n: int, width: int, seed: int = 0) -> list[Window]:
    """``n`` windows of ``width`` bases, start uniform over all ``sum(L - width + 1)`` places
    (a record shorter than ``width`` holds none), sorted; the same seed gives the same ones."""
    ids = [r for r, length in lengths.items() if length >= width]
    if not ids:
        raise InputError(f"no record holds a window of {width:,} bases")
    places = np.array([lengths[r] - width + 1 for r in ids], dtype=np.int64)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, int(places.sum()), size=n)
    bounds = np.cumsum(places)
    which = np.searchsorted(bounds, picks, side="right")
    starts = picks - (bounds - places)[which]
    out = [Window(ids[w], int(s), int(s) + width) for w, s in zip(which, starts, strict=True)]
    return sorted(out, key=lambda w: (w.record, w.start))


def read_window(record: Record, window: Window, context: int) -> tuple[bytes, int]:
    """The bytes the model reads for ``window``, 5'->3' along its strand: up to ``context``
    bases before it (fewer at a record's end) then the window; and how many context bases
    there are."""
    if window.strand >= 0:
        lo = max(0, window.start - context)
        return record.fetch(lo, window.end), window.start - lo
    hi = min(record.length, window.end + context)
    return reverse_complement(record.fetch(window.start, hi)), hi - window.end


def reverse_complement(data: bytes) -> bytes:
    """The other strand of DNA bytes (case kept; bytes other than ACGTN unchanged)."""
    return data[::-1].translate(_COMPLEMENT)


def lengths_of(records: Sequence[Record]) -> dict[str, int]:
    return {r.id: r.length for r in records}
