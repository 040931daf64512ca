"""The repeat expert's table: sized to the record, and saying what it forgets when it is not."""

from __future__ import annotations

import dataclasses

import numpy as np

from engine.models.repeats import RepeatConfig, copy_predictions, table_bits_for, table_note


def test_a_chromosome_gets_the_largest_table_and_a_note_on_what_it_may_forget():
    config = RepeatConfig()
    assert table_bits_for(250_000_000, config) == 28  # 2 GB, 268 M slots
    assert table_bits_for(5_000_000, config) == 25  # a quarter full at most
    assert table_note(5_000_000, config) is None
    note = table_note(250_000_000, config)
    assert note is not None and "268,435,456 table slots" in note and "186,065,279" in note


def test_a_copy_far_back_is_forgotten_only_by_a_table_too_small_and_the_note_says_so():
    rng = np.random.default_rng(0)
    motif = rng.integers(0, 4, 400)
    filler = rng.integers(0, 4, 60_000)
    data = np.frombuffer(b"ACGT", np.uint8)[np.concatenate([motif, filler, motif])].copy()
    big = RepeatConfig(k=12, reverse_complement=False, weights=[0.5] * 256)
    small = dataclasses.replace(big, table_bits=10)  # 1,024 slots for 60,800 positions
    tail = slice(len(data) - 300, len(data))
    pred_big, _ = copy_predictions(data, big)
    pred_small, _ = copy_predictions(data, small)
    assert (pred_big[tail] == data[tail]).mean() > 0.95
    assert (pred_small[tail] == data[tail]).mean() < 0.2
    assert table_note(len(data), big) is None
    note = table_note(len(data), small)
    assert note is not None and "1,024 table slots" in note and "60,800 positions" in note
    assert "709 bytes back" in note  # 1,024 ln 2
