"""Turning a trained model into a baked one (int8, or ternary by post-training quantization),
and what the baked folder costs on disk.

Post-training ternary is a diagnostic: models this small lose most of what they learned
(``../shared/reference/bitnet.md`` §3); quantization-aware fine-tuning is the way to a usable
ternary model. int8 after training costs little.
"""

from __future__ import annotations

import copy
import shutil
from dataclasses import dataclass
from pathlib import Path

from safetensors import safe_open
from torch import nn

from engine.errors import ModelError
from engine.models.checkpoint import (
    BAKE_NAME,
    CONFIG_NAME,
    WEIGHTS_NAME,
    load_model,
    save_model,
)
from engine.models.quantized import (
    BAKES,
    PACKINGS,
    Int8Linear,
    TernaryLinear,
    bakeable_linears,
    default_kernel,
    quantize_embeddings,
    quantize_linears,
)
from engine.models.repeats import REPEATS_NAME

METHODS = {"int8": ("ptq",), "ternary": ("ptq", "qat")}  # qat: see engine.bake.qat
EMBEDDINGS = ("float32", "int8")


def bake(model: nn.Module, to: str, *, method: str = "ptq", packing: str = "2bit",
         kernel: str | None = None, embedding: str = "float32") -> nn.Module:
    """A baked copy of ``model``: every bakeable Linear quantized from its trained weights;
    with ``embedding="int8"`` the embedding tables (and so the tied head) stored as int8 rows
    too (:func:`engine.models.quantized.quantize_embeddings`)."""
    if to not in BAKES:
        raise ModelError(f"unknown bake {to!r}: one of {', '.join(BAKES)}")
    if method not in METHODS[to]:
        raise ModelError(f"--method {method} is not a way to bake {to}: "
                         f"{', '.join(METHODS[to])}")
    if to == "ternary" and packing not in PACKINGS:
        raise ModelError(f"unknown packing {packing!r}: one of {', '.join(PACKINGS)}")
    if embedding not in EMBEDDINGS:
        raise ModelError(f"unknown embedding precision {embedding!r}: one of "
                         f"{', '.join(EMBEDDINGS)}")
    if getattr(model, "bake", None):
        raise ModelError(f"this model is baked already ({model.bake['to']}); bake the model "
                         "it came from")
    baked = copy.deepcopy(model).cpu().eval()
    kernel = kernel or default_kernel(to)
    names = quantize_linears(baked, to, bakeable_linears(baked), kernel)
    tables = quantize_embeddings(baked) if embedding == "int8" else []
    baked.bake = {"to": to, "method": method, "layers": names, "kernel": kernel,
                  **({"packing": packing} if to == "ternary" else {}),
                  **({"embeddings": tables} if tables else {})}
    return baked


def bake_folder(source: str | Path, out: str | Path, to: str, *,
                repeats_from: str | Path | None = None, **options) -> nn.Module:
    """Bake the model folder ``source`` into ``out`` (config, packed weights, ``bake.json``,
    the repeat expert of ``repeats_from`` (default ``source``) when it has one); returns the
    baked model."""
    source, out = Path(source), Path(out)
    expert = Path(repeats_from or source) / REPEATS_NAME
    if out.resolve() == source.resolve():
        raise ModelError("--out is the model folder itself: give a new folder", path=out)
    baked = bake(load_model(source), to, **options)
    save_model(baked, out)
    if expert.exists():  # fitted to the model's bytes, not its weights: it carries over
        shutil.copyfile(expert, out / REPEATS_NAME)
    else:
        (out / REPEATS_NAME).unlink(missing_ok=True)
    return baked


@dataclass(frozen=True)
class FolderSize:
    """A model folder's bytes: the quantized body (baked layers' integers and scales), the
    full-precision remainder (embedding, norms, filters, biases...), and the whole folder."""

    body: int
    remainder: int
    folder: int

    def as_dict(self) -> dict:
        return {"body_bytes": self.body, "remainder_bytes": self.remainder,
                "folder_bytes": self.folder}


def folder_size(folder: str | Path, model: nn.Module | None = None) -> FolderSize:
    """What :class:`FolderSize` says, read from the weights file's tensors. For a plain model
    the "body" is the fp32 weights of the layers a bake would quantize, so the two compare."""
    folder = Path(folder)
    model = load_model(folder) if model is None else model
    body_prefixes = tuple(f"{name}." for name, m in model.named_modules()
                          if isinstance(m, Int8Linear | TernaryLinear))
    if not body_prefixes:  # what a bake would replace: the same layers' weights
        body_prefixes = tuple(f"{name}.weight" for name in bakeable_linears(model))
    body = remainder = 0
    with safe_open(str(folder / WEIGHTS_NAME), framework="pt") as f:
        for key in f.keys():
            t = f.get_slice(key)
            n = _numel(t.get_shape()) * _itemsize(t.get_dtype())
            if key.startswith(body_prefixes) and not key.endswith(".bias"):
                body += n
            else:
                remainder += n
    files = [folder / name for name in (CONFIG_NAME, WEIGHTS_NAME, BAKE_NAME, REPEATS_NAME)]
    return FolderSize(body, remainder, sum(p.stat().st_size for p in files if p.exists()))


def _numel(shape) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def _itemsize(dtype: str) -> int:
    return {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1,
            "U8": 1, "BOOL": 1}[dtype]


__all__ = ["EMBEDDINGS", "METHODS", "FolderSize", "bake", "bake_folder", "folder_size"]
