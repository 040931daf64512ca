"""Build models from presets, save them as safetensors + JSON config, load them back safely.

A model directory (or a run's checkpoint directory) holds::

    config.json          the model config dataclass as JSON (``arch`` says which class)
    model.safetensors    the weights; nothing is ever unpickled
    repeats.json         optional: the fitted repeat (copy) expert (engine/models/repeats.py)

The model hash (BLAKE2b of the weights file, the config and the repeat expert) keys score
caches.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from engine.atomic import atomic_path
from engine.errors import ModelError

from .attention import AttentionConfig, AttentionLM
from .hyena import HyenaConfig, HyenaLM
from .latent import LatentConfig, LatentLM
from .repeats import REPEATS_NAME, load_repeats

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"

# arch -> (config class, model class); spelled out rather than registered.
ARCHITECTURES: dict[str, tuple[type, type[nn.Module]]] = {
    "hyena": (HyenaConfig, HyenaLM),
    "attention": (AttentionConfig, AttentionLM),
    "hyena-blt": (LatentConfig, LatentLM),
}

# Sizes by name; the attention baseline matches the Hyena model's width and depth.
PRESETS: dict[str, dict] = {
    "tiny": {"d_model": 128, "n_layers": 2},  # ~0.5M parameters
    "small": {"d_model": 256, "n_layers": 4},  # ~3.4M
    "base": {"d_model": 384, "n_layers": 6},  # ~11M, for GPUs
}

# The same names for the patch-level model (byte-level width d_local, patch-level d_global),
# sized to about the byte models' parameter counts.
LATENT_PRESETS: dict[str, dict] = {
    "tiny": {"d_local": 64, "d_global": 128, "n_local_layers": 1, "n_global_layers": 2,
             "n_decoder_layers": 1},  # 0.76M parameters at max_len 1024
    "small": {"d_local": 128, "d_global": 256, "n_local_layers": 2, "n_global_layers": 4,
              "n_decoder_layers": 2},  # 4.6M
    "base": {"d_local": 192, "d_global": 384, "n_local_layers": 2, "n_global_layers": 6,
             "n_decoder_layers": 2, "n_heads": 6},  # 13.7M, for GPUs
}


def model_config(arch: str = "hyena", preset: str = "tiny", **overrides):
    """The config dataclass for ``arch`` at ``preset`` size, with field overrides."""
    if arch not in ARCHITECTURES:
        raise ModelError(f"unknown architecture {arch!r} (choose from {', '.join(ARCHITECTURES)})")
    if preset not in PRESETS:
        raise ModelError(f"unknown preset {preset!r} (choose from {', '.join(PRESETS)})")
    config_cls, _ = ARCHITECTURES[arch]
    values = dict(LATENT_PRESETS[preset] if arch == "hyena-blt" else PRESETS[preset])
    if arch == "attention":
        values["n_heads"] = max(1, values["d_model"] // 64)
    values.update({k: v for k, v in overrides.items() if v is not None})
    names = {f.name for f in dataclasses.fields(config_cls)}
    unknown = set(values) - names
    if unknown:
        raise ModelError(f"unknown {arch} config field(s): {', '.join(sorted(unknown))}")
    return config_cls(**values)


def build_model(config) -> nn.Module:
    """The model a config describes, freshly initialised."""
    _, model_cls = ARCHITECTURES[config.arch]
    return model_cls(config)


def config_from_dict(values: dict, *, path: str | Path | None = None):
    arch = values.get("arch", "hyena")
    if arch not in ARCHITECTURES:
        raise ModelError(f"unknown architecture {arch!r} in config", path=path)
    config_cls, _ = ARCHITECTURES[arch]
    names = {f.name for f in dataclasses.fields(config_cls)}
    unknown = set(values) - names
    if unknown:
        raise ModelError(f"unknown config field(s) {', '.join(sorted(unknown))}", path=path)
    return config_cls(**values)


def save_model(model: nn.Module, directory: str | Path, *, extra: dict | None = None) -> Path:
    """Write ``config.json`` and ``model.safetensors`` into ``directory``, each atomically."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    with atomic_path(directory / WEIGHTS_NAME) as tmp:
        save_file(state, str(tmp), metadata={"arch": model.config.arch})
    payload = dataclasses.asdict(model.config) | (extra or {})
    with atomic_path(directory / CONFIG_NAME) as tmp:
        tmp.write_text(json.dumps(payload, indent=1) + "\n")
    return directory


def load_model(path: str | Path, *, device: str | torch.device = "cpu") -> nn.Module:
    """Load a model directory (or its ``model.safetensors``) in eval mode.

    A fitted repeat expert (``repeats.json``) rides along as ``model.repeats`` (None if absent);
    the scorer mixes it in (engine/scoring.py).
    """
    path = Path(path)
    directory = path.parent if path.suffix == ".safetensors" else path
    config_path, weights_path = directory / CONFIG_NAME, directory / WEIGHTS_NAME
    if not config_path.exists() or not weights_path.exists():
        raise ModelError(
            f"not a model folder: expected {CONFIG_NAME} and {WEIGHTS_NAME}", path=directory
        )
    try:
        values = json.loads(config_path.read_text())
    except json.JSONDecodeError as error:
        raise ModelError(f"config is not JSON: {error.msg}", path=config_path,
                         line=error.lineno) from None
    values = {k: v for k, v in values.items() if not k.startswith("_")}
    config = config_from_dict(values, path=config_path)
    model = build_model(config)
    try:
        state = load_file(str(weights_path), device=str(device))
        model.load_state_dict(state)
    except Exception as error:  # safetensors raises its own types; shapes raise RuntimeError
        raise ModelError(f"weights do not fit the config: {error}", path=weights_path) from None
    model.repeats = load_repeats(directory)
    return model.to(device).eval()


def model_hash(path: str | Path, *, repeats: bool = True) -> str:
    """BLAKE2b-128 of a model folder's config, weights and repeat expert: a key for cached
    scores. ``repeats=False`` leaves the expert out, as scoring with ``repeats=False`` does, so
    a model without one has a single key either way."""
    directory = Path(path)
    directory = directory.parent if directory.suffix == ".safetensors" else directory
    digest = hashlib.blake2b(digest_size=16)
    for name in (CONFIG_NAME, WEIGHTS_NAME):
        digest.update((directory / name).read_bytes())
    if repeats and (directory / REPEATS_NAME).exists():
        digest.update((directory / REPEATS_NAME).read_bytes())
    return digest.hexdigest()
