"""Byte-level language models: the Hyena model, its attention baseline, the patch-level
Hyena-BLT model, presets, checkpoints."""

# adamw first (and it sorts first): model files import parameter_groups from this package
from .adamw import byte_model_no_decay, parameter_groups
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
    "byte_model_no_decay",
    "load_model",
    "model_config",
    "model_hash",
    "parameter_groups",
    "save_model",
]
