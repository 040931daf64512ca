"""Labels for task heads (issue 18): a class per base from annotations or BED names, and
Hyena-GLT's labelled records (JSONL or TSV with ``sequence`` and ``labels``).

Per-base classes from features (:func:`per_base_labels`): index 0 is the background
(``intergenic``), then one class per feature type asked for (by default CDS, tRNA, rRNA), or,
with ``strand``, one per type and strand (``CDS+``, ``CDS-``), or, with ``phase`` (CDS only),
the codon position along the coding strand (``CDS+0``, ``CDS+1``, ``CDS+2``, ``CDS-0``...): a
head that learns these learns gene structure. A feature in parts (a spliced CDS) labels its
parts only. Where features overlap, the type listed first wins. Each class is painted with one
difference array over the record (``np.add.at`` at starts and ends, a cumulative sum), never a
loop over bases.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.errors import InputError
from engine.io.records import Feature

BACKGROUND = "intergenic"
DEFAULT_TYPES = ("CDS", "tRNA", "rRNA")
MAX_CLASSES = 255  # labels are uint8


@dataclass(frozen=True)
class LabelScheme:
    """Which classes per-base labels have, and how features map to them."""

    types: tuple[str, ...] = DEFAULT_TYPES
    strand: bool = False
    phase: bool = False  # CDS codon position (implies strand)
    key: str = "type"  # "type": the feature type; "name": a BED interval's name
    background: str = BACKGROUND

    @property
    def classes(self) -> tuple[str, ...]:
        out = [self.background]
        for t in self.types:
            if self.phase and t == "CDS":
                out += [f"CDS{s}{k}" for s in "+-" for k in range(3)]
            elif self.strand or self.phase:
                out += [f"{t}+", f"{t}-"]
            else:
                out.append(t)
        if len(out) > MAX_CLASSES:
            raise InputError(f"{len(out)} classes is more than {MAX_CLASSES}")
        return tuple(out)


def _pieces(feature: Feature) -> tuple[tuple[int, int], ...]:
    return feature.parts or ((feature.start, feature.end),)


def _paint(labels: np.ndarray, spans: np.ndarray, value: int) -> None:
    """Set ``labels`` to ``value`` over every ``[start, end)`` row of ``spans``."""
    if not len(spans):
        return
    n = len(labels)
    edges = np.zeros(n + 1, np.int32)
    np.add.at(edges, np.clip(spans[:, 0], 0, n), 1)
    np.add.at(edges, np.clip(spans[:, 1], 0, n), -1)
    labels[np.cumsum(edges[:-1]) > 0] = value


def _codon_positions(feature: Feature) -> tuple[np.ndarray, np.ndarray]:
    """Bases of a CDS and each one's position in its codon (0, 1, 2) along its strand."""
    pieces = sorted(_pieces(feature))
    bases = np.concatenate([np.arange(a, b) for a, b in pieces]) if pieces else np.empty(0, int)
    along = np.arange(len(bases)) if feature.strand >= 0 else np.arange(len(bases))[::-1]
    return bases, along % 3


def per_base_labels(length: int, features: Iterable[Feature],
                    scheme: LabelScheme = LabelScheme()) -> np.ndarray:
    """A class index per base (uint8, ``scheme.classes`` order) of a record of ``length``."""
    classes = scheme.classes
    index = {name: i for i, name in enumerate(classes)}
    labels = np.zeros(length, np.uint8)
    chosen: dict[str, list[Feature]] = {t: [] for t in scheme.types}
    for f in features:
        value = f.name if scheme.key == "name" else f.type
        if value in chosen:
            chosen[value].append(f)
    for t in reversed(scheme.types):  # the first type listed is painted last: it wins
        group = chosen[t]
        if scheme.phase and t == "CDS":
            for f in group:
                bases, codon = _codon_positions(f)
                keep = (bases >= 0) & (bases < length)
                sign = "+" if f.strand >= 0 else "-"
                labels[bases[keep]] = np.array([index[f"CDS{sign}{k}"] for k in range(3)],
                                               np.uint8)[codon[keep]]
            continue
        stranded = scheme.strand or scheme.phase
        for sign, members in ((("+", [f for f in group if f.strand >= 0]),
                               ("-", [f for f in group if f.strand < 0])) if stranded
                              else (("", group),)):
            spans = np.array([p for f in members for p in _pieces(f)], np.int64).reshape(-1, 2)
            _paint(labels, spans, index[f"{t}{sign}"])
    return labels


def bed_name_scheme(features: Sequence[Feature], names: Sequence[str] | None = None,
                    path: str | Path | None = None) -> LabelScheme:
    """Classes from BED intervals' names (sorted, after the background); with ``names``
    given, an interval named otherwise is an error naming it."""
    found = sorted({f.name for f in features if f.name})
    if names is not None:
        unknown = sorted(set(found) - set(names))
        if unknown:
            raise InputError(f"intervals named {', '.join(unknown[:5])} are not among the "
                             f"classes ({', '.join(names)})", path=path)
        found = list(names)
    if not found:
        raise InputError("no interval has a name (BED column 4) to use as its class", path=path)
    return LabelScheme(types=tuple(found), key="name")


# -- Hyena-GLT's labelled records --------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class LabelRecord:
    """One labelled sequence: ``labels`` an int (a sequence label) or a per-base int array."""

    id: str
    sequence: bytes
    labels: int | np.ndarray

    @property
    def per_base(self) -> bool:
        return isinstance(self.labels, np.ndarray)


def _label_value(value, path: Path, line: int, length: int) -> int | np.ndarray:
    if isinstance(value, bool) or not isinstance(value, int | list | str):
        raise InputError(f"'labels' must be an integer or a list of them, not "
                         f"{type(value).__name__}", path=path, line=line)
    if isinstance(value, str):  # TSV: "3" or "0,0,1,1" or "0 0 1 1"
        parts = value.replace(",", " ").split()
        try:
            numbers = [int(p) for p in parts]
        except ValueError:
            raise InputError(f"labels {value[:40]!r} are not integers", path=path,
                             line=line) from None
        value = numbers[0] if len(numbers) == 1 and length != 1 else numbers
    if isinstance(value, int):
        if value < 0:
            raise InputError(f"label {value} is negative", path=path, line=line)
        return value
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise InputError("per-base labels must all be integers", path=path, line=line)
    array = np.array(value, np.int64)
    if len(array) != length:
        raise InputError(f"{len(array)} labels for a sequence of {length} bases", path=path,
                         line=line)
    if len(array) and (array.min() < 0 or array.max() >= MAX_CLASSES):
        raise InputError(f"per-base labels must be 0..{MAX_CLASSES - 1}", path=path, line=line)
    return array.astype(np.uint8)


def read_label_records(path: str | Path) -> list[LabelRecord]:
    """Records of a ``.jsonl`` file (one ``{"sequence", "labels"[, "id"]}`` object a line) or
    a ``.tsv`` file (a header naming ``sequence`` and ``labels`` columns); errors name the line."""
    path = Path(path)
    if not path.is_file():
        raise InputError("no such file", path=path)
    raw = []
    if path.suffix.lower() in (".tsv", ".txt"):
        with path.open(newline="") as handle:
            reader = csv.DictReader(handle, delimiter="\t")
            missing = {"sequence", "labels"} - set(reader.fieldnames or ())
            if missing:
                raise InputError(f"the header has no {' or '.join(sorted(missing))} column",
                                 path=path, line=1)
            raw = [(i, row) for i, row in enumerate(reader, start=2)]
    else:
        with path.open() as handle:
            for i, text in enumerate(handle, start=1):
                if not text.strip():
                    continue
                try:
                    row = json.loads(text)
                except json.JSONDecodeError as error:
                    raise InputError(f"not JSON: {error.msg}", path=path, line=i) from None
                if not isinstance(row, dict):
                    raise InputError("each line must be a JSON object", path=path, line=i)
                raw.append((i, row))
    records = []
    for line, row in raw:
        for key in ("sequence", "labels"):
            if key not in row or row[key] in (None, ""):
                raise InputError(f"no '{key}'", path=path, line=line)
        sequence = row["sequence"]
        if not isinstance(sequence, str):
            raise InputError("'sequence' must be text", path=path, line=line)
        data = sequence.strip().encode("ascii", errors="replace")
        records.append(LabelRecord(str(row.get("id") or f"{path.stem}_{len(records) + 1}"),
                                   data, _label_value(row["labels"], path, line, len(data))))
    if not records:
        raise InputError("no labelled records", path=path)
    kinds = {r.per_base for r in records}
    if len(kinds) > 1:
        raise InputError("some records have one label and some a label per base: one kind "
                         "a file", path=path)
    return records


__all__ = ["BACKGROUND", "DEFAULT_TYPES", "LabelRecord", "LabelScheme", "bed_name_scheme",
           "per_base_labels", "read_label_records"]
