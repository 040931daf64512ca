"""The training configuration: every knob of a run, saved as ``config.json`` in the run folder."""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from engine.configs import config_from_dict
from engine.errors import FormatError, InputError

DEFAULT_WARMUP_MAX = 100  # the default warm-up never exceeds this many steps
# 16 Mi tokens per step, 1,000 times the 16k of bench/train.py's steps: a typo (batch 10^8)
# stops here with its reason instead of in the kernel's out-of-memory killer
MAX_TOKENS_PER_STEP = 1 << 24
# Keys older versions wrote to config.json that are no longer fields: read and ignored, so
# their run folders still load. None yet: every key any version wrote is still a field. Any
# other unknown key is refused by name (a typo in a hand-edited config is not dropped).
OBSOLETE_KEYS: frozenset[str] = frozenset()


def default_warmup_steps(steps: int) -> int:
    """The warm-up when none is given: a tenth of the run, at least 1 and at most 100 steps.

    A tenth keeps short runs (a 30-step try in the window) from spending them all warming up;
    the cap keeps long runs at HyenaDNA's usual length.
    """
    return min(DEFAULT_WARMUP_MAX, max(1, steps // 10))


@dataclass(frozen=True)
class QATConfig:
    """Quantization-aware fine-tuning toward ternary weights (issue 17; the recipe of
    ``../shared/reference/bitnet.md`` §1, §3):

    * warm-up blend: the quantized forward is blended in linearly over ``blend_steps``;
    * distillation: loss = (1 - a) CE + a T^2 KL(teacher_T || student_T), the teacher the
      model fine-tuning started from, frozen, ``a = distill``, ``T = temperature``;
    * two stages: stage 1 holds the learning rate at its peak (after the warm-up), stage 2
      (from ``stage2`` of the steps) starts at ``stage2_lr`` of it, decays by cosine, and
      has no weight decay (a latent weight's size is its ternary value's confidence).
    """

    to: str = "ternary"
    blend_steps: int = 200
    distill: float = 0.5
    temperature: float = 1.0
    stage2: float = 0.5
    stage2_lr: float = 0.67

    def validate(self) -> None:
        if self.to != "ternary":
            raise InputError(f"qat to must be 'ternary', not {self.to!r}")
        if not isinstance(self.blend_steps, int) or self.blend_steps < 0:
            raise InputError("qat blend_steps must be 0 or more")
        if not 0 <= self.distill <= 1:
            raise InputError("qat distill must be between 0 and 1")
        if not self.temperature > 0:
            raise InputError("qat temperature must be positive")
        if not 0 < self.stage2 <= 1 or not 0 < self.stage2_lr <= 1:
            raise InputError("qat stage2 and stage2_lr must be in (0, 1]")


# the saved model fields that are not overrides of a preset (arch picks the class; max_len is
# the run's seq_len, which must equal the model's, or its filters' buffers would not load)
NOT_OVERRIDES = ("arch", "max_len")


def model_of(folder: str | Path) -> tuple[str, dict, int]:
    """(arch, model overrides, max_len) of a saved model folder: the run that starts from its
    weights builds this very shape."""
    from engine.errors import ModelError

    path = Path(folder) / "config.json"
    try:
        values = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise ModelError(f"cannot read the model's config: {error}", path=folder) from None
    model = {k: v for k, v in values.items()
             if k not in NOT_OVERRIDES and not str(k).startswith("_")}
    return values.get("arch", "hyena"), model, int(values["max_len"])


@dataclass(frozen=True)
class TaskConfig:
    """Fine-tuning a task head (issue 18; engine/models/heads.py, engine/train/task_data.py):

    * ``task``: ``per-base`` (a class per base) or ``sequence`` (one per record);
    * ``labels``: "" (the training files' own annotations), an annotation file (GFF3, GTF,
      BED: its names are the classes), or Hyena-GLT records (``.jsonl``/``.tsv``);
    * ``types``, ``strand``, ``phase``: the per-base classes from feature types
      (:class:`engine.io.labels.LabelScheme`); ``classes``: names for records' integer labels;
    * ``class_weights``: ``balanced`` (``N / (K n_k)`` over the training labels) or ``none``;
    * ``freeze_backbone``: train the head alone; ``both_strands``, ``hidden``, ``dropout``,
      ``pooling``: the head (:class:`engine.models.heads.HeadConfig`).
    """

    task: str = "per-base"
    labels: str = ""
    types: tuple[str, ...] = ("CDS", "tRNA", "rRNA")
    strand: bool = False
    phase: bool = False
    classes: tuple[str, ...] = ()
    class_weights: str = "balanced"
    freeze_backbone: bool = False
    both_strands: bool = True
    hidden: int = 0
    dropout: float = 0.1
    pooling: str = "mean"

    def validate(self) -> None:
        if self.task not in ("per-base", "sequence"):
            raise InputError(f"task must be per-base or sequence, not {self.task!r}")
        if self.class_weights not in ("balanced", "none"):
            raise InputError("class weights must be balanced or none")
        if not self.types:
            raise InputError("no feature types to label")


@dataclass
class TrainConfig:
    """What to train on, which model, and how. Saved verbatim in ``RUN_DIR/config.json``."""

    files: list[str] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)  # mixture weights; default: equal
    arch: str = "hyena"
    preset: str = "tiny"
    model: dict = field(default_factory=dict)  # overrides of the model config's fields
    steps: int = 1000
    seq_len: int = 1024
    batch_size: int = 16
    lr: float = 2e-3
    min_lr_ratio: float = 0.1  # cosine decays to lr * min_lr_ratio
    warmup_steps: int | None = None  # None: default_warmup_steps(steps); a set value is kept
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    seqlen_warmup: bool = False  # HyenaDNA: start at 64 and double up to seq_len
    seqlen_warmup_steps: int = 0  # steps spent in the doubling stages (default: steps // 4)
    eval_every: int = 100
    eval_batches: int = 8
    checkpoint_every: int = 200
    keep_last: int = 2
    held_out: float = 0.1  # the last 10% of every record is validation
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | mps
    threads: int = 0  # torch intra-op threads; 0: as set (the CLI: engine.threads)
    log_every: int = 10
    init_from: str = ""  # fine-tune: start from this model's weights (a model or run folder)
    # --arch hyena-blt only: its patches come from an entropy model and the patcher, computed
    # once per record (scores cached) before training
    patch_model: str = "fast"  # a --model spec: fast, default, a model or run folder
    patching: dict = field(default_factory=lambda: {"mode": "entropy", "target_patch_size": 6.0})
    # quantization-aware fine-tuning (QATConfig's fields; empty: none), with init_from the
    # teacher: what `bytescope bake --method qat` runs
    qat: dict = field(default_factory=dict)
    task: dict = field(default_factory=dict)  # a task head: TaskConfig's fields

    def task_config(self) -> TaskConfig | None:
        if not self.task:
            return None
        values = dict(self.task)
        for key in ("types", "classes"):  # JSON gives lists
            if key in values:
                values[key] = tuple(values[key])
        return config_from_dict(TaskConfig, values, what="task config", error=InputError)

    def qat_config(self) -> QATConfig | None:
        if not self.qat:
            return None
        return config_from_dict(QATConfig, self.qat, what="qat config", error=InputError)

    def resolved_warmup_steps(self) -> int:
        """The warm-up the schedule uses: the one set, else :func:`default_warmup_steps`."""
        return default_warmup_steps(self.steps) if self.warmup_steps is None \
            else self.warmup_steps

    def validate(self) -> None:
        if not self.files:
            raise InputError("no training files given")
        if self.weights and len(self.weights) != len(self.files):
            raise InputError(
                f"{len(self.weights)} mixture weights for {len(self.files)} files; give one each"
            )
        if not all(isinstance(w, (int, float)) and math.isfinite(w) and w >= 0
                   for w in self.weights) or (self.weights and sum(self.weights) <= 0):
            raise InputError("mixture weights must be finite, non-negative and not all zero")
        for name in ("steps", "seq_len", "batch_size", "eval_every", "checkpoint_every",
                     "log_every", "eval_batches", "keep_last"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InputError(f"{name.replace('_', '-')} must be a whole number of at "
                                 f"least 1, not {value!r}")
        if not isinstance(self.threads, int) or self.threads < 0:
            raise InputError(f"threads must be 0 (automatic) or more, not {self.threads!r}")
        if self.batch_size * self.seq_len > MAX_TOKENS_PER_STEP:
            raise InputError(f"batch-size x seq-len is {self.batch_size * self.seq_len:,} "
                             f"tokens per step; at most {MAX_TOKENS_PER_STEP:,} (a step's "
                             "activations would not fit a workstation's memory)")
        if self.warmup_steps is not None and self.warmup_steps < 0:
            raise InputError("warmup-steps must be 0 or more")
        if not math.isfinite(self.lr) or self.lr <= 0:
            raise InputError("learning rate must be positive")
        if not 0 < self.held_out < 1:
            raise InputError("held-out fraction must be between 0 and 1")
        if self.device not in ("auto", "cpu", "cuda", "mps"):
            raise InputError(f"unknown device {self.device!r} (auto, cpu, cuda or mps)")
        task = self.task_config()
        if task is not None:
            task.validate()
            if self.qat:
                raise InputError("a run trains a task head or a quantized model, not both")
            if self.arch == "hyena-blt":
                raise InputError("task heads take hyena or attention models (hyena-blt's "
                                 "heads are not built yet)")
        qat = self.qat_config()
        if qat is not None:
            qat.validate()
            if not self.init_from:
                raise InputError("quantization-aware training fine-tunes a trained model: "
                                 "give init_from (--init)")

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=1) + "\n"

    @classmethod
    def from_json(cls, path: str | Path) -> TrainConfig:
        """A run's ``config.json``; a key that is no field (nor in OBSOLETE_KEYS) is refused."""
        try:
            values = json.loads(Path(path).read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise FormatError(f"the run's config is not JSON: {error.msg}", path=path,
                              line=error.lineno) from None
        except UnicodeDecodeError:
            raise FormatError("the run's config is not a text file", path=path) from None
        if not isinstance(values, dict):
            raise FormatError("the run's config is not a JSON object", path=path)
        return config_from_dict(cls, values, what="training config", path=path,
                                obsolete=OBSOLETE_KEYS)
