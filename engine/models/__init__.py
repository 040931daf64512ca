"""Byte-level language models: the Hyena model, its attention baseline, the patch-level
Hyena-BLT model, presets, checkpoints."""

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
from .latent import LatentConfig, LatentLM

__all__ = [
    "ARCHITECTURES",
    "PRESETS",
    "AttentionConfig",
    "AttentionLM",
    "HyenaConfig",
    "HyenaLM",
    "LatentConfig",
    "LatentLM",
    "build_model",
    "load_model",
    "model_config",
    "model_hash",
    "save_model",
]
