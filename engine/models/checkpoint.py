"""Build models from presets, save them as safetensors + JSON config, load them back safely.

A model directory (or a run's checkpoint directory) holds::

    config.json          the model config dataclass as JSON (``arch`` says which class)
    model.safetensors    the weights; nothing is ever unpickled
    repeats.json         optional: the fitted repeat (copy) expert (engine/models/repeats.py)

A training run's ``RUN_DIR/checkpoints/step-N/`` folders are model folders too; a name of
exactly ``step-N`` means complete (``step-N.tmp`` is being written, ``step-N.del`` deleted:
engine/train/checkpoints.py), so :func:`checkpoint_dirs` lists those alone.

The model hash (BLAKE2b of the weights file, the config and the repeat expert) keys score
caches.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import re
import typing
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn
from torch.overrides import TorchFunctionMode

from engine.atomic import atomic_path
from engine.configs import config_from_dict
from engine.errors import ModelError

from .attention import AttentionConfig, AttentionLM
from .hyena import HyenaConfig, HyenaLM
from .latent import LatentConfig, LatentLM
from .quantized import (
    BAKE_NAME,
    BAKES,
    DERIVED_BUFFERS,
    PACKINGS,
    default_kernel,
    pack_state,
    quantize_linears,
    unpack_embeddings,
    unpack_state,
)
from .repeats import REPEATS_NAME, load_repeats

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
CHECKPOINTS = "checkpoints"  # a run folder's checkpoints, RUN_DIR/checkpoints/step-N
_COMPLETE = re.compile(r"step-\d+")  # step-N.tmp (being written) and step-N.del are not

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


# Sanity limits, checked before anything is built: far above any model this workbench trains
# (HyenaDNA's longest context is 1 Mi tokens), far below what would exhaust a workstation.
MAX_CONTEXT = 1 << 22  # max_len and the like, in bytes
MAX_COUNT = 1024  # layers, heads, experts, memories
MAX_WIDTH = 1 << 16  # d_model, vocabulary, buckets
LIMITS = {"hash_buckets": 1 << 24}  # the hash n-gram tables may be larger
MAY_BE_ZERO = frozenset({"n_experts", "n_memories", "max_patches", "memory_layer", "top_k"})
FRACTIONS = frozenset({"dropout"})  # in [0, 1)
ANY_SIGN = frozenset({"decay_shift"})  # every other number must be positive, loss weights >= 0


def _type_name(hint) -> str:
    return {int: "an integer", float: "a number", str: "a string"}.get(hint, "a list of integers")


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_config_values(config_cls: type, values: dict, *, path: str | Path | None = None,
                        ) -> None:
    """Refuse config values of the wrong type or size, before anything is allocated.

    A model folder's ``config.json`` or ``train --model-config`` can say anything
    (``"d_model": "128"``, ``n_layers`` 10^7, ``max_len`` 10^12); each field is checked
    against its annotation and the limits above, and every problem is named at once.
    """
    hints = typing.get_type_hints(config_cls)
    problems = []
    for field in dataclasses.fields(config_cls):
        if field.name not in values or field.name == "arch":
            continue
        name, value, hint = field.name, values[field.name], hints[field.name]
        if hint is int:
            ok = _is_int(value)
        elif hint is float:
            ok = (_is_int(value) or isinstance(value, float)) and math.isfinite(value)
        elif hint is str:
            ok = isinstance(value, str)
        else:  # tuple[int, ...]
            ok = isinstance(value, (list, tuple)) and all(_is_int(v) for v in value)
        if not ok:
            problems.append(f"{name} must be {_type_name(hint)}, not {value!r}")
            continue
        if hint is int:
            least = 0 if name in MAY_BE_ZERO else 1
            most = LIMITS.get(name) or (
                MAX_CONTEXT if "len" in name or name in ("window", "max_patches")
                else MAX_COUNT if name.startswith(("n_", "top_", "memory_")) else MAX_WIDTH)
            if not least <= value <= most:
                problems.append(f"{name} must be in {least}..{most:,}, not {value:,}")
        elif hint is float and name in FRACTIONS:
            if not 0 <= value < 1:
                problems.append(f"{name} must be in [0, 1), not {value}")
        elif hint is float and name.endswith(("alpha", "loss")):
            if value < 0:
                problems.append(f"{name} must be >= 0, not {value}")
        elif hint is float and name not in ANY_SIGN and value <= 0:
            problems.append(f"{name} must be positive, not {value}")
    if problems:
        arch = values.get("arch", getattr(config_cls, "arch", "model"))
        raise ModelError(f"{arch} config: " + "; ".join(problems), path=path)


class _NoParameterInit(TorchFunctionMode):
    """Skips the in-place initialisers (``normal_``, ``zero_``...) of parameters, so a model
    built under it holds ``torch.empty`` weights whose pages are never touched: it costs
    address space, not memory. (Torch's meta device would do the same, but its kernels are
    Python references that import torch._dynamo on first use: 1.4 s of every start.) The mode
    stack is per thread, so a model built meanwhile on another thread is initialised as ever."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        first = args[0] if args else next(iter(kwargs.values()), None)
        if name.endswith("_") and not name.startswith("_") and isinstance(first, nn.Parameter):
            return first
        return func(*args, **kwargs)


def _shell(config, path: str | Path | None = None) -> nn.Module:
    """``config``'s model with uninitialised weights (see :class:`_NoParameterInit`)."""
    _, model_cls = ARCHITECTURES[config.arch]
    try:
        with _NoParameterInit():
            return model_cls(config)
    except RuntimeError as error:  # more address space than the system grants
        raise ModelError(f"this {config.arch} config's weights are more than this machine can "
                         f"allocate ({str(error).splitlines()[0]})", path=path) from None


def parameter_count(config) -> int:
    """How many parameters ``config``'s model has (counted without initialising them)."""
    return sum(p.numel() for p in _shell(config).parameters())


def check_model_size(config, *, copies: int = 1, path: str | Path | None = None) -> int:
    """The bytes of ``config``'s parameters and buffers (counted on a model whose weights
    are never initialised, so never in memory), refused when ``copies`` of them (1 to load; 4
    to train with AdamW: weights, gradients, two moments) exceed the memory this machine has
    free."""
    shell = _shell(config, path)
    size = sum(t.numel() * t.element_size() for t in (*shell.parameters(), *shell.buffers()))
    del shell
    free = _free_memory()
    if free is not None and size * copies > free:
        raise ModelError(f"this {config.arch} config needs {size * copies / 2**30:,.1f} GiB "
                         f"for its weights{' and optimizer state' if copies > 1 else ''}; "
                         f"{free / 2**30:,.1f} GiB are free", path=path)
    return size


def _free_memory() -> int | None:
    """Memory a new allocation can have: Linux's MemAvailable (free pages plus the page cache
    it can drop), cut to a cgroup's ``memory.max``; elsewhere the free pages."""
    free = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                free = int(line.split()[1]) * 1024
                break
    except (OSError, ValueError, IndexError):
        pass
    if free is None:
        try:
            free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (AttributeError, ValueError, OSError):
            return None
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit != "max":
            free = min(free, int(limit))
    except (OSError, ValueError):
        pass
    return free


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
    config = config_from_dict(config_cls, values, what=f"{arch} config", error=ModelError)
    check_config_values(config_cls, values)
    return config


def read_json_object(path: Path) -> dict:
    """A small JSON file beside a model's weights (``bake.json``, ``head.json``) that must
    hold one object; a :class:`ModelError` naming the file otherwise."""
    try:
        values = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ModelError(f"not JSON: {error}", path=path) from None
    if not isinstance(values, dict):
        raise ModelError("not a JSON object", path=path)
    return values


def read_bake(directory: Path) -> dict | None:
    """A baked folder's ``bake.json`` (what was baked, how it is stored), checked; None for a
    plain model folder."""
    path = directory / BAKE_NAME
    if not path.exists():
        return None
    spec = read_json_object(path)
    if spec.get("to") not in BAKES:
        raise ModelError(f"'to' must be one of {', '.join(BAKES)}, not {spec.get('to')!r}",
                         path=path)
    layers = spec.get("layers")
    if not isinstance(layers, list) or not all(isinstance(n, str) for n in layers):
        raise ModelError("'layers' must be a list of layer names", path=path)
    tables = spec.get("embeddings", [])
    if not isinstance(tables, list) or not all(isinstance(n, str) for n in tables):
        raise ModelError("'embeddings' must be a list of embedding names", path=path)
    if spec["to"] == "ternary" and spec.get("packing") not in PACKINGS:
        raise ModelError(f"'packing' must be one of {', '.join(PACKINGS)}, not "
                         f"{spec.get('packing')!r}", path=path)
    return spec


def build_model(config) -> nn.Module:
    """The model a config describes, freshly initialised."""
    _, model_cls = ARCHITECTURES[config.arch]
    return model_cls(config)


def saved_model_config(values: dict, *, path: str | Path | None = None):
    """The config a model folder's ``config.json`` holds (its ``arch`` says which class): an
    unknown key, a bad value or a size this machine cannot hold is refused, naming the file."""
    arch = values.get("arch", "hyena")
    if arch not in ARCHITECTURES:
        raise ModelError(f"unknown architecture {arch!r} in config", path=path)
    config_cls, _ = ARCHITECTURES[arch]
    config = config_from_dict(config_cls, values, what=f"{arch} config", path=path,
                              error=ModelError)
    check_config_values(config_cls, values, path=path)
    check_model_size(config, path=path)
    return config


def save_model(model: nn.Module, directory: str | Path, *, extra: dict | None = None) -> Path:
    """Write ``config.json`` and ``model.safetensors`` into ``directory``, each atomically."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    bake = getattr(model, "bake", None)  # a baked model: its packed tensors and bake.json
    metadata = {"arch": model.config.arch}
    if bake is None:
        state = model.state_dict()
        (directory / BAKE_NAME).unlink(missing_ok=True)  # what was baked here before
    else:
        state = pack_state(model, bake.get("packing", "2bit"))
        metadata |= {"format": "bytescope-baked", "bake": bake["to"],
                     "packing": str(bake.get("packing"))}
    state = {k: v.detach().contiguous().cpu() for k, v in state.items()}
    with atomic_path(directory / WEIGHTS_NAME) as tmp:
        save_file(state, str(tmp), metadata=metadata)
    if bake is not None:
        with atomic_path(directory / BAKE_NAME) as tmp:
            tmp.write_text(json.dumps(bake, indent=1) + "\n")
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
    except UnicodeDecodeError:
        raise ModelError("config is not a text file", path=config_path) from None
    if not isinstance(values, dict):
        raise ModelError("config is not a JSON object", path=config_path)
    # keys starting with "_" are notes beside the config (save_model's extra), never fields
    values = {k: v for k, v in values.items() if not str(k).startswith("_")}
    config = saved_model_config(values, path=config_path)
    model = build_model(config)
    bake = read_bake(directory)
    if bake is not None:  # a baked folder: its layers are made empty, then filled
        quantize_linears(model, bake["to"], bake["layers"], empty=True)
    try:
        state = load_file(str(weights_path), device=str(device))
        if bake is None:
            model.load_state_dict(state)
        else:
            if bake["to"] == "ternary":
                state = unpack_state(model, state, bake["packing"])
            if bake.get("embeddings"):
                state = unpack_embeddings(model, state, bake["embeddings"])
            missing, unexpected = model.load_state_dict(state, strict=False)
            missing = [k for k in missing if k.rpartition(".")[2] not in DERIVED_BUFFERS]
            if missing or unexpected:
                raise RuntimeError(f"missing {missing[:3]}, unexpected {unexpected[:3]}")
            bake = {**bake, "kernel": default_kernel(bake["to"])}  # what runs here
    except Exception as error:  # safetensors raises its own types; shapes raise RuntimeError
        raise ModelError(f"weights do not fit the config: {error}", path=weights_path) from None
    model.bake = bake
    model.repeats = load_repeats(directory)
    return model.to(device).eval()


def checkpoint_dirs(run_dir: str | Path) -> list[Path]:
    """Complete checkpoints of a run, oldest first."""
    folder = Path(run_dir) / CHECKPOINTS
    if not folder.is_dir():
        return []
    done = [p for p in folder.iterdir() if p.is_dir() and _COMPLETE.fullmatch(p.name)]
    return sorted(done, key=lambda p: int(p.name.split("-")[1]))


def model_hash(path: str | Path, *, repeats: bool = True) -> str:
    """BLAKE2b-128 of a model folder's config, weights and repeat expert: a key for cached
    scores. ``repeats=False`` leaves the expert out, as scoring with ``repeats=False`` does, so
    a model without one has a single key either way."""
    directory = Path(path)
    directory = directory.parent if directory.suffix == ".safetensors" else directory
    digest = hashlib.blake2b(digest_size=16)
    for name in (CONFIG_NAME, WEIGHTS_NAME):
        digest.update((directory / name).read_bytes())
    if (directory / BAKE_NAME).exists():
        digest.update((directory / BAKE_NAME).read_bytes())
    if repeats and (directory / REPEATS_NAME).exists():
        digest.update((directory / REPEATS_NAME).read_bytes())
    return digest.hexdigest()
