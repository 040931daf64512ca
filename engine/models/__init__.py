"""Byte-level language models: the Hyena model, its attention baseline, presets, checkpoints."""

from .attention import AttentionConfig, AttentionLM
from .checkpoint import (
    ARCHITECTURES,
    PRESETS,
    build_model,
    load_model,
    model_config,
    model_hash,
    save_model,
)
from .hyena import HyenaConfig, HyenaLM

__all__ = [
    "ARCHITECTURES",
    "PRESETS",
    "AttentionConfig",
    "AttentionLM",
    "HyenaConfig",
    "HyenaLM",
    "build_model",
    "load_model",
    "model_config",
    "model_hash",
    "save_model",
]
