"""Switching part of a patch-level model off, to see what it contributes."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from engine.models.latent import LatentLM


@contextlib.contextmanager
def memory_ablated(model: LatentLM) -> Iterator[None]:
    """Run the block with the memory read switched off (the memory is still written):
    ``y_t = x_t`` instead of ``x_t + W_o softmax(W_q x_t R_s^T / sqrt d) R_s``."""
    memory = model.global_model.memory
    if memory is None:
        raise ValueError("the model has no memory experts (n_memories = 0)")
    memory.read_enabled = False
    try:
        yield
    finally:
        memory.read_enabled = True
