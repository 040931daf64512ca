"""Labelled training data for task heads (issue 18): windows of byte ids with their labels.

Two sources:

* **annotated sequences** (per-base): every record of the training files, labelled by
  :func:`engine.io.labels.per_base_labels` from its own features (GFF3 with its FASTA,
  GenBank, EMBL) or from a separate annotation file (``labels``: GFF3, GTF, BED; a BED's
  names are the classes). The held-out rule is the language models': each record's first
  90% trains, its last 10% validates;
* **labelled records** (``labels`` a ``.jsonl``/``.tsv`` of Hyena-GLT's ``sequence`` and
  ``labels``): one label per record (sequence task) or one per base. Records are independent
  samples, so the held-out rule holds out whole records: every tenth (``i % 10 == 9``).

A window is at most ``seq_len`` bases with no BOS (a head reads bases, not a next-byte
context); shorter ones are padded with PAD and labels :data:`IGNORE`. ``lengths`` says how
many bases each row holds. Sampling draws a part by its bases (per-base) or a record uniformly
(sequence), then an offset, from the run's checkpointed generator.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.errors import InputError
from engine.io.labels import LabelScheme, bed_name_scheme, per_base_labels, read_label_records
from engine.models.heads import IGNORE, PAD

RECORD_SUFFIXES = (".jsonl", ".tsv")


@dataclass
class LabelledPart:
    tokens: np.ndarray  # uint8 bytes
    labels: np.ndarray | int  # uint8 per base, or one class (sequence task)


class LabelledData:
    """The parts, the classes, the sampler and the validation tiling (module docstring)."""

    def __init__(self, files: list[str], task: str, labels: str = "", *,
                 scheme: LabelScheme | None = None, classes: tuple[str, ...] = (),
                 held_out: float = 0.1) -> None:
        self.task = task
        self.train: list[LabelledPart] = []
        self.val: list[LabelledPart] = []
        if labels and Path(labels).suffix.lower() in RECORD_SUFFIXES:
            self._from_records(labels, classes)
        elif task == "sequence":
            raise InputError("a sequence task reads labelled records: give --labels X.jsonl "
                             "or X.tsv (sequence and labels columns)")
        else:
            self._from_annotations(files, labels, scheme or LabelScheme(), held_out)
        if not self.train:
            raise InputError("no labelled bases to train on", path=labels or files[0])
        if not self.val:
            raise InputError("nothing left to validate on: records are too few or too short "
                             "for the held-out split", path=labels or files[0])
        self.weights = np.array([len(p.tokens) for p in self.train], np.float64)
        self.cdf = np.cumsum(self.weights) / self.weights.sum()

    def _from_annotations(self, files: list[str], labels: str, scheme: LabelScheme,
                          held_out: float) -> None:
        from engine.io import open_sequences
        from engine.io.formats import open_annotations

        extra = open_annotations(labels) if labels else []
        if labels and Path(labels).name.lower().removesuffix(".gz").endswith(".bed"):
            scheme = bed_name_scheme(extra, path=labels)  # a BED's names are its classes
        by_record: dict[str, list] = {}
        for f in extra:
            by_record.setdefault(f.record_id, []).append(f)
        self.classes = scheme.classes
        for path in files:
            with open_sequences(path) as sequences:
                for record in sequences:
                    features = [*record.features, *by_record.get(record.id, [])]
                    y = per_base_labels(record.length, features, scheme)
                    x = np.array(record.array())
                    cut = round(record.length * (1 - held_out))
                    self.train.append(LabelledPart(x[:cut], y[:cut]))
                    if record.length - cut > 0:
                        self.val.append(LabelledPart(x[cut:], y[cut:]))
        if labels and not any(int(np.count_nonzero(p.labels)) for p in self.train):
            raise InputError("no feature of the label file falls on a record of the training "
                             "files (do the record ids match?)", path=labels)

    def _from_records(self, path: str, classes: tuple[str, ...]) -> None:
        records = read_label_records(path)
        per_base = records[0].per_base
        if self.task == "sequence" and per_base:
            raise InputError("these records have a label per base: use --task per-base",
                             path=path)
        if self.task == "per-base" and not per_base:
            raise InputError("these records have one label each: use --task sequence",
                             path=path)
        top = max(int(np.max(r.labels)) if per_base else int(r.labels) for r in records)
        self.classes = tuple(classes) or tuple(str(k) for k in range(max(2, top + 1)))
        if top >= len(self.classes):
            raise InputError(f"label {top} but only {len(self.classes)} classes", path=path)
        for i, r in enumerate(records):
            part = LabelledPart(np.frombuffer(r.sequence, np.uint8).copy(), r.labels)
            (self.val if i % 10 == 9 else self.train).append(part)

    # -- sampling -------------------------------------------------------------------------------
    def class_counts(self) -> np.ndarray:
        """How many training bases (or records) each class has."""
        n = len(self.classes)
        if self.task == "sequence":
            return np.bincount([int(p.labels) for p in self.train], minlength=n)
        return sum(np.bincount(p.labels, minlength=n) for p in self.train)

    def _window(self, part: LabelledPart, start: int, seq_len: int):
        tokens = np.full(seq_len, PAD, np.int64)
        piece = part.tokens[start : start + seq_len]
        tokens[: len(piece)] = piece
        if self.task == "sequence":
            return tokens, int(part.labels), len(piece)
        labels = np.full(seq_len, IGNORE, np.int64)
        labels[: len(piece)] = part.labels[start : start + seq_len]
        return tokens, labels, len(piece)

    def _stack(self, rows: list):
        tokens = np.stack([r[0] for r in rows])
        labels = np.array([r[1] for r in rows]) if self.task == "sequence" else \
            np.stack([r[1] for r in rows])
        return tokens, labels, np.array([max(1, r[2]) for r in rows], np.int64)

    def sample(self, rng: np.random.Generator, batch: int, seq_len: int):
        """(tokens (B, L), labels (B, L) or (B,), lengths (B,)), int64."""
        rows = []
        draws = rng.random(batch)
        for draw in draws.tolist():
            if self.task == "sequence":
                part = self.train[int(rng.integers(len(self.train)))]
            else:
                part = self.train[min(int(np.searchsorted(self.cdf, draw, side="right")),
                                      len(self.train) - 1)]
            start = int(rng.integers(0, max(len(part.tokens) - seq_len, 0) + 1))
            rows.append(self._window(part, start, seq_len))
        return self._stack(rows)

    def validation_batches(self, seq_len: int, limit: int, batch: int):
        """The validation windows (each record's whole held-out part, tiled; a record's start
        for a sequence), at most ``limit``, evenly spaced; the same every evaluation."""
        if self.task == "sequence":
            places = [(p, 0) for p in self.val]
        else:
            places = [(p, s) for p in self.val for s in range(0, len(p.tokens), seq_len)]
        if len(places) > limit:
            keep = np.linspace(0, len(places) - 1, limit).round().astype(int)
            places = [places[i] for i in keep]
        rows = [self._window(p, s, seq_len) for p, s in places]
        return [self._stack(rows[i : i + batch]) for i in range(0, len(rows), batch)]


__all__ = ["LabelledData", "LabelledPart"]
