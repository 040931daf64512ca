"""Fitting a model's repeat expert: the mixing weights w_s of (R1) on the training part only.

The model scores the first ``1 - held_out`` of every record without the expert; the expert runs
over the same bytes; each state's weight maximises the mixture's likelihood there
(:func:`engine.models.repeats.fit_weights`). The held-out tail is never read, so validation and
benchmark figures on it stay honest.
"""

from __future__ import annotations

import dataclasses
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from torch import nn

from engine.io.records import Record
from engine.models.repeats import RepeatConfig, copy_predictions, fit_weights, mixture_surprisal
from engine.scoring import score


@dataclass
class RepeatFit:
    """A fitted expert and what it does on the bytes it was fitted on."""

    config: RepeatConfig
    n: int  # bytes fitted on
    spoken: int  # of which the expert guessed
    hits: int  # and guessed right
    bits_model: float  # bits/byte of the model alone on those bytes
    bits_mixed: float  # of the mixture (R1)


def fit_repeat_expert(
    model: nn.Module,
    records: Sequence[Record],
    config: RepeatConfig | None = None,
    *,
    held_out: float = 0.1,
    batch_size: int = 8,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
) -> RepeatFit:
    """Fit ``config``'s weights (other fields kept) on the training part of ``records``.

    ``progress(done, total)`` counts bytes scored over all records.
    """
    config = dataclasses.replace(config or RepeatConfig(), weights=[])
    cuts = [round(r.length * (1 - held_out)) for r in records]
    total, done = sum(cuts), 0
    sur_parts, hit_parts, state_parts, all_parts = [], [], [], []
    for record, cut in zip(records, cuts, strict=True):
        if cut == 0:
            continue

        def report(d: int, _: int, base: int = done) -> None:
            if progress is not None:
                progress(base + d, total)

        scores = score(model, record, 0, cut, batch_size=batch_size, repeats=False,
                       progress=report, cancel=cancel)
        data = record.array(0, cut)
        pred, state = copy_predictions(data, config, record.length)  # as scoring sizes it
        pred, state = pred[:cut], state[:cut]
        spoke = pred >= 0
        surprisal = scores.surprisal.astype(np.float64)
        sur_parts.append(surprisal[spoke])
        hit_parts.append(pred[spoke] == data[spoke])
        state_parts.append(state[spoke].astype(np.int64))
        all_parts.append(surprisal)
        done += cut
    sur = np.concatenate(sur_parts) if sur_parts else np.zeros(0)
    hit = np.concatenate(hit_parts) if hit_parts else np.zeros(0, bool)
    state = np.concatenate(state_parts) if state_parts else np.zeros(0, np.int64)
    p = np.exp(-sur)
    weights = np.round(fit_weights(p, hit, state), 6)
    config.weights = [float(w) for w in weights]
    n = sum(len(s) for s in all_parts)
    total_model = float(sum(s.sum() for s in all_parts))
    mixed = mixture_surprisal(p, hit, weights[state])  # where it spoke; elsewhere unchanged
    total_mixed = total_model - float(sur.sum()) + float(mixed.sum())
    per_bit = math.log(2) * max(n, 1)
    return RepeatFit(config, n, len(sur), int(hit.sum()), total_model / per_bit,
                     total_mixed / per_bit)
