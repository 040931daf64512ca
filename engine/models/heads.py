"""Task heads on a byte-level backbone (issue 18): a label per base or per sequence.

The backbone is any language model here with ``hidden(idx) -> (B, L, d)`` (Hyena, the
attention baseline). A causal backbone's state at base t has read bases ≤ t only; a per-base
label (is this base coding?) depends on what follows too, so by default the head also reads
the backbone's states over the reverse complement, flipped back into place (each row's own
length), as Caduceus and HyenaDNA's fine-tuning do with both strands:

    h_t = [ f(x)_t ; f(rc(x))_{n-1-t} ]        (the forward state, and the other strand's)
    per-base:  logits_t = W₂ act(W₁ h_t)  (or W h_t when ``hidden`` is 0)
    sequence:  logits   = W₂ act(W₁ pool(h))   pool = mean over the row's bases, or its last

Multi-class heads train with class-weighted cross-entropy over labelled positions
(``ignore`` = 255 marks a base without a label), multi-label heads with a binary
cross-entropy per class (:func:`task_loss`). The head's config is ``head.json`` and its
weights ``head.safetensors``, beside the backbone's own ``config.json`` and
``model.safetensors`` (which still score as a language model).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn

from engine.errors import ModelError

HEAD_CONFIG = "head.json"
HEAD_WEIGHTS = "head.safetensors"
TASKS = ("per-base", "sequence")
POOLINGS = ("mean", "last")
IGNORE = 255  # a base (or record) without a label
BYTE_VOCAB = 259  # ByteTokenizer: bytes 0..255, PAD 256, BOS 257, EOS 258
PAD = 256

_PAIRS = b"ACGTURYKMBVDHN"
_COMPLEMENTS = b"TGCAAYRMKVBHDN"


@dataclass
class HeadConfig:
    """A task head: what it predicts and how it reads the backbone."""

    task: str = "per-base"
    classes: tuple[str, ...] = ()
    multi_label: bool = False
    pooling: str = "mean"  # sequence heads
    both_strands: bool = True  # also read the reverse complement (per-base and sequence)
    hidden: int = 0  # 0: a linear head; else an MLP of this width
    dropout: float = 0.1

    def validate(self) -> None:
        if self.task not in TASKS:
            raise ModelError(f"task must be one of {', '.join(TASKS)}, not {self.task!r}")
        if len(self.classes) < 2:
            raise ModelError(f"a head needs at least 2 classes, not {len(self.classes)}")
        if len(self.classes) >= IGNORE:
            raise ModelError(f"at most {IGNORE - 1} classes")
        if len(set(self.classes)) != len(self.classes):
            raise ModelError("class names must differ")
        if self.pooling not in POOLINGS:
            raise ModelError(f"pooling must be one of {', '.join(POOLINGS)}")
        if self.hidden < 0 or not 0 <= self.dropout < 1:
            raise ModelError("hidden must be >= 0 and dropout in [0, 1)")

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), "classes": list(self.classes)}

    @classmethod
    def from_dict(cls, values: dict) -> HeadConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ModelError(f"unknown head settings: {', '.join(unknown)}")
        config = cls(**{**values, "classes": tuple(values.get("classes", ()))})
        config.validate()
        return config


def complement_table(vocab_size: int) -> torch.Tensor:
    """Each byte id's complement (A<->T, C<->G, IUPAC codes, either case); others unchanged."""
    if vocab_size != BYTE_VOCAB:
        raise ModelError(f"reading both strands needs byte ids (vocabulary {BYTE_VOCAB}), not "
                         f"a vocabulary of {vocab_size}: set both_strands off")
    table = torch.arange(vocab_size)
    for a, b in zip(_PAIRS + _PAIRS.lower(), _COMPLEMENTS + _COMPLEMENTS.lower(), strict=True):
        table[a] = b
    return table


def flip_rows(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse each row's first ``lengths[b]`` positions, leaving the padding after them."""
    length = x.shape[1]
    t = torch.arange(length, device=x.device)[None, :]
    n = lengths[:, None]
    index = torch.where(t < n, n - 1 - t, t)
    if x.ndim == 3:
        index = index[..., None].expand(-1, -1, x.shape[2])
    return torch.gather(x, 1, index)


class TaskModel(nn.Module):
    """A backbone and a head (module docstring): ids (B, L) -> logits (B, L, C) per base or
    (B, C) per sequence. ``lengths`` (B,) gives each row's bases (default: all of them)."""

    def __init__(self, backbone: nn.Module, config: HeadConfig) -> None:
        super().__init__()
        config.validate()
        if not hasattr(backbone, "hidden"):
            raise ModelError(f"{type(backbone).__name__} has no hidden states for a head "
                             "(heads take hyena or attention models)")
        self.backbone = backbone
        self.config = config
        d = backbone.config.d_model * (2 if config.both_strands else 1)
        n = len(config.classes)
        layers: list[nn.Module] = [nn.Dropout(config.dropout)]
        if config.hidden:
            layers += [nn.Linear(d, config.hidden), nn.GELU(), nn.Dropout(config.dropout),
                       nn.Linear(config.hidden, n)]
        else:
            layers.append(nn.Linear(d, n))
        self.head = nn.Sequential(*layers)
        if config.both_strands:
            self.register_buffer("complement", complement_table(backbone.config.vocab_size),
                                 persistent=False)

    @property
    def max_len(self) -> int:
        return self.backbone.max_len

    def optimizer_groups(self, weight_decay: float) -> list[dict]:
        """The backbone's AdamW groups (its trainable parameters: none when frozen), then the
        head's weights with decay and its biases without."""
        groups = []
        for group in self.backbone.optimizer_groups(weight_decay):
            params = [p for p in group["params"] if p.requires_grad]
            if params:
                groups.append({**group, "params": params})
        weights = [p for n, p in self.head.named_parameters() if n.endswith("weight")]
        biases = [p for n, p in self.head.named_parameters() if not n.endswith("weight")]
        groups += [{"params": weights, "weight_decay": weight_decay},
                   {"params": biases, "weight_decay": 0.0}]
        return groups

    def features(self, idx: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """``h`` of the module docstring, (B, L, d or 2d)."""
        h = self.backbone.hidden(idx)
        if not self.config.both_strands:
            return h
        if lengths is None:
            lengths = torch.full((idx.shape[0],), idx.shape[1], device=idx.device)
        other = self.complement[flip_rows(idx, lengths)]
        return torch.cat([h, flip_rows(self.backbone.hidden(other), lengths)], dim=-1)

    def forward(self, idx: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        h = self.features(idx, lengths)
        if self.config.task == "per-base":
            return self.head(h)
        if lengths is None:
            lengths = torch.full((idx.shape[0],), idx.shape[1], device=idx.device)
        if self.config.pooling == "last":
            pooled = h[torch.arange(h.shape[0], device=h.device), lengths - 1]
        else:
            keep = (torch.arange(h.shape[1], device=h.device)[None, :] < lengths[:, None])
            pooled = (h * keep[..., None]).sum(1) / lengths[:, None].clamp(min=1)
        return self.head(pooled)


def task_loss(logits: torch.Tensor, targets: torch.Tensor, *, multi_label: bool = False,
              class_weights: torch.Tensor | None = None) -> torch.Tensor:
    """Multi-class: weighted cross-entropy over targets that are not :data:`IGNORE`,
    ``Σ w_y (-log p_y) / Σ w_y`` (PyTorch's weighted mean). Multi-label: targets (..., C) of
    0/1 floats, binary cross-entropy per class, ``pos_weight`` = ``class_weights``."""
    if multi_label:
        return F.binary_cross_entropy_with_logits(logits, targets.float(),
                                                  pos_weight=class_weights)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1).long(),
                           weight=class_weights, ignore_index=IGNORE)


def inverse_frequency_weights(counts: torch.Tensor) -> torch.Tensor:
    """Class weights ``w_k = N / (K n_k)`` (balanced: each class weighs as much in total);
    a class never seen gets weight 0."""
    counts = counts.double()
    present = counts > 0
    weights = torch.zeros_like(counts)
    weights[present] = counts.sum() / (present.sum() * counts[present])
    return weights.float()


def save_task_model(model: TaskModel, directory: str | Path) -> Path:
    """The backbone as a model folder, the head beside it (``head.json``,
    ``head.safetensors``), each written atomically."""
    from engine.atomic import atomic_path
    from engine.models.checkpoint import save_model

    directory = Path(directory)
    save_model(model.backbone, directory)
    with atomic_path(directory / HEAD_WEIGHTS) as tmp:
        save_file({k: v.detach().contiguous().cpu() for k, v in model.head.state_dict().items()},
                  str(tmp))
    with atomic_path(directory / HEAD_CONFIG) as tmp:
        tmp.write_text(json.dumps(model.config.to_dict(), indent=1) + "\n")
    return directory


def load_task_model(directory: str | Path, device: str = "cpu") -> TaskModel:
    """A folder of :func:`save_task_model`; errors name the file."""
    from engine.models.checkpoint import load_model, read_json_object

    directory = Path(directory)
    path = directory / HEAD_CONFIG
    if not path.exists():
        raise ModelError(f"not a task model: no {HEAD_CONFIG}", path=directory)
    values = read_json_object(path)
    try:
        config = HeadConfig.from_dict(values)
    except ModelError as error:
        raise ModelError(error.message, path=path) from None
    model = TaskModel(load_model(directory), config)
    try:
        model.head.load_state_dict(load_file(str(directory / HEAD_WEIGHTS)))
    except Exception as error:  # safetensors' own errors, or shapes (RuntimeError)
        raise ModelError(f"head weights do not fit head.json: {error}",
                         path=directory / HEAD_WEIGHTS) from None
    return model.to(device).eval()


__all__ = ["HEAD_CONFIG", "HEAD_WEIGHTS", "IGNORE", "HeadConfig", "TaskModel",
           "complement_table", "flip_rows", "inverse_frequency_weights", "load_task_model",
           "save_task_model", "task_loss"]
