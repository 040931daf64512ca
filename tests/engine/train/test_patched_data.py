"""Training windows with patch starts (for the patch-level model): aligned with the tokens,
and drawn exactly as the windows without them."""

from __future__ import annotations

import numpy as np

from engine.tokenizers import ByteTokenizer
from engine.train import ByteMixture
from tests.conftest import LAMBDA

A = ord("A")


def starts_at_a(path, record) -> np.ndarray:
    """A stand-in patcher whose rule is visible in the bytes: a patch starts at every A."""
    return record.array() == A


def test_sampled_starts_are_the_record_flags_of_the_sampled_bytes():
    data = ByteMixture([str(LAMBDA)], [], 0.1, patch_starts=starts_at_a)
    tokens, starts = data.sample(np.random.default_rng(4), 32, 96, with_starts=True)
    assert tokens.shape == starts.shape == (32, 97) and starts.dtype == bool
    real = tokens < 256
    assert np.array_equal(starts[real], tokens[real] == A)
    assert starts[tokens == ByteTokenizer.BOS].all()
    assert not starts[tokens == ByteTokenizer.PAD].any()


def test_starts_do_not_change_which_windows_are_drawn():
    data = ByteMixture([str(LAMBDA)], [], 0.1, patch_starts=starts_at_a)
    plain = data.sample(np.random.default_rng(9), 16, 64)
    tokens, _ = data.sample(np.random.default_rng(9), 16, 64, with_starts=True)
    assert np.array_equal(plain, tokens)


def test_validation_windows_carry_their_starts():
    data = ByteMixture([str(LAMBDA)], [], 0.1, patch_starts=starts_at_a)
    plain = data.validation_windows(128, 20)
    tokens, starts = data.validation_windows(128, 20, with_starts=True)
    assert np.array_equal(plain, tokens)
    real = tokens < 256
    assert np.array_equal(starts[real], tokens[real] == A)
