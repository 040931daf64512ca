"""Training data: a weighted mixture of files, split by the held-out rule, sampled reproducibly.

Held-out rule (``shared/data/README.md``): a model trains on the first 90% of every record and
is evaluated on the last 10%, with no overlap. Training windows of ``seq_len + 1`` bytes are
drawn from the training parts: a file by its mixture weight, then a record in proportion to
its training length, then a uniform offset. A window that starts at a record's first byte is
preceded by BOS, as scoring does. All randomness comes from one NumPy generator whose state is
checkpointed, so a resumed run draws exactly the batches it would have drawn.

A patch-level model (``hyena-blt``) also needs where its patches start: given a
``patch_starts(path, record)`` function, every record's patch-start flags (one bool per byte,
from an entropy model and the patcher) are split like its bytes, and ``sample`` /
``validation_windows`` with ``with_starts=True`` return them aligned with the tokens (BOS
starts a patch; PAD starts none), drawing exactly the same windows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from engine.errors import InputError
from engine.io import open_sequences
from engine.tokenizers import ByteTokenizer

BOS = ByteTokenizer.BOS


@dataclass
class Part:
    """The training or validation bytes of one record."""

    file: int
    record_id: str
    data: np.ndarray  # uint8
    at_record_start: bool  # the part begins at the record's first byte
    starts: np.ndarray | None = None  # bool per byte: a patch begins here (hyena-blt)


class ByteMixture:
    """The parts of every record of every file, with the sampler and the validation tiling."""

    def __init__(self, files: list[str], weights: list[float], held_out: float = 0.1,
                 patch_starts: Callable[[str, object], np.ndarray] | None = None) -> None:
        self.files = files
        self.patched = patch_starts is not None
        w = np.asarray(weights or [1.0] * len(files), dtype=np.float64)
        self.train: list[list[Part]] = []
        self.val: list[Part] = []
        for i, path in enumerate(files):
            parts = []
            with open_sequences(path) as sf:
                for record in sf:
                    cut = round(record.length * (1 - held_out))
                    data = record.array()  # copies out of the map: the file can close
                    flags = patch_starts(path, record) if patch_starts is not None else None
                    parts.append(Part(i, record.id, np.array(data[:cut]), True,
                                      None if flags is None else flags[:cut]))
                    if record.length - cut > 0:
                        self.val.append(Part(i, record.id, np.array(data[cut:]), False,
                                             None if flags is None else flags[cut:]))
            if not any(len(p.data) for p in parts):
                raise InputError("no sequence bytes to train on", path=path)
            self.train.append(parts)
        self.file_weights = w / w.sum()
        # A record is drawn in proportion to its training bytes, by one searchsorted in the
        # cumulative lengths (not an O(records) choice per window: FASTQ has 10^6 records).
        lengths = [np.array([len(p.data) for p in parts], np.float64) for parts in self.train]
        self.part_cdf = [np.cumsum(n) / n.sum() for n in lengths]

    @property
    def train_bytes(self) -> int:
        return sum(len(p.data) for parts in self.train for p in parts)

    @property
    def val_bytes(self) -> int:
        return sum(len(p.data) for p in self.val)

    def sample(self, rng: np.random.Generator, batch: int, seq_len: int,
               with_starts: bool = False):
        """(batch, seq_len + 1) int64 token windows; inputs are [:, :-1], targets [:, 1:].

        ``with_starts``: also the windows' (batch, seq_len + 1) bool patch starts.
        """
        out = np.empty((batch, seq_len + 1), dtype=np.int64)
        starts = np.zeros((batch, seq_len + 1), dtype=bool) if with_starts else None
        files = rng.choice(len(self.train), size=batch, p=self.file_weights)
        draws = rng.random(batch)
        for row, f in enumerate(files.tolist()):
            index = int(np.searchsorted(self.part_cdf[f], draws[row], side="right"))
            part = self.train[f][min(index, len(self.train[f]) - 1)]
            at = rng.integers(-1, max(len(part.data) - seq_len, 0))
            out[row] = window(part, at, seq_len)
            if starts is not None:
                starts[row] = window_starts(part, at, seq_len)
        return (out, starts) if with_starts else out

    def validation_windows(self, seq_len: int, limit: int, with_starts: bool = False):
        """Up to ``limit`` non-overlapping windows tiling the validation parts, in order.

        The validation bytes are spread over the parts proportionally, so a long chromosome and
        a short plasmid both count; the windows are the same at every evaluation.
        """
        places = [(part, start) for part in self.val
                  for start in range(0, len(part.data) - 1, seq_len)]
        if not places:
            raise InputError("no validation bytes: records are too short for the held-out split")
        if len(places) > limit:  # evenly spaced subset, deterministic
            idx = np.linspace(0, len(places) - 1, limit).round().astype(int)
            places = [places[i] for i in idx]
        windows = np.stack([window(part, start, seq_len) for part, start in places])
        if not with_starts:
            return windows
        return windows, np.stack([window_starts(part, start, seq_len) for part, start in places])


def window(part: Part, start: int, seq_len: int) -> np.ndarray:
    """seq_len + 1 tokens from ``part`` at ``start``; start -1 means BOS then the first bytes.

    Windows running past the part's end are padded with PAD (ignored by the loss).
    """
    out = np.full(seq_len + 1, ByteTokenizer.PAD, dtype=np.int64)
    if start < 0:
        out[0] = BOS if part.at_record_start else part.data[0]
        piece = part.data[0 if part.at_record_start else 1 :][:seq_len]
        out[1 : 1 + len(piece)] = piece
    else:
        piece = part.data[start : start + seq_len + 1]
        out[: len(piece)] = piece
    return out


def window_starts(part: Part, start: int, seq_len: int) -> np.ndarray:
    """The patch starts of :func:`window`'s tokens: BOS starts a patch, PAD none."""
    out = np.zeros(seq_len + 1, dtype=bool)
    flags = part.starts
    if flags is None:
        raise InputError("this data has no patch starts (give ByteMixture patch_starts=...)")
    if start < 0:
        out[0] = True if part.at_record_start else flags[0]
        piece = flags[0 if part.at_record_start else 1 :][:seq_len]
        out[1 : 1 + len(piece)] = piece
    else:
        piece = flags[start : start + seq_len + 1]
        out[: len(piece)] = piece
    return out
