"""The Trainer: one loop for the CLI, a GUI worker thread and ``torchrun``.

Optimisation: AdamW over the groups the model gives (``model.optimizer_groups(weight_decay)``;
byte models: no weight decay on norms, biases, embeddings or the Hyena filter MLP, as
HyenaDNA), learning rate

    lr(s) = lr * (s + 1) / warmup                                      for s < warmup
    lr(s) = lr * (r + (1 - r) * (1 + cos(pi * (s - warmup) / (S - warmup))) / 2)   after,

with r = ``min_lr_ratio``, S the total steps and warmup the one set, else ``min(100, max(1,
S // 10))`` (:func:`engine.train.config.default_warmup_steps`); gradients clipped to
``grad_clip`` in global L2 norm. Loss: mean cross-entropy of the next byte (nats) plus the
auxiliary loss the model returns from ``forward(..., return_aux=True)`` (a patch-level model's
MoE balancing and z-losses; zero for byte models); bits per byte = cross-entropy / ln 2.

Control: ``request_stop``, ``pause`` and ``resume`` set flags checked once per step, so any
thread may call them. Events (``step``, ``eval``, ``checkpoint``, ``paused``, ``resumed``,
``log``, ``finished``, ``failed``) go to subscribers as plain :class:`TrainEvent` objects;
nothing here knows about Qt. The run folder's ``status.json`` and ``run.log``
(:mod:`engine.train.runs`) say the same to readers in other processes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from engine.atomic import atomic_path
from engine.errors import BytescopeError, InputError
from engine.models.checkpoint import build_model, check_model_size, model_config
from engine.models.quantized import qat_linears
from engine.patch_starts import EntropyPatches
from engine.tokenizers import ByteTokenizer

from .checkpoints import (
    CHECKPOINTS,
    RunWriteError,
    checkpoint_dirs,
    load_checkpoint,
    prune_checkpoints,
    remove_partial,
    rng_from_state,
    rng_state,
    save_checkpoint,
    writing,
)
from .config import TrainConfig
from .data import ByteMixture
from .metrics import TENSORBOARD_MISSING, MetricsWriter
from .runs import RunInUse, RunLock, append_log, clear_run, occupied, write_status

LN2 = math.log(2)
TASK_COLUMNS = ("accuracy", "macro_f1", "mcc", "auroc")  # a task run's validation figures


class TrainingFailed(BytescopeError):
    """The run could not go on (NaN loss, bad data); the last good checkpoint is kept."""


@dataclass
class TrainEvent:
    kind: str  # step | eval | checkpoint | paused | resumed | log | finished | failed
    step: int
    metrics: dict = field(default_factory=dict)
    message: str = ""


@dataclass
class _Run:
    """What one ``Trainer.run`` works with, made by ``_build`` and ``_restore``."""

    model: torch.nn.Module
    net: torch.nn.Module  # what a step calls: the model, or its DDP wrapper under torchrun
    optimizer: torch.optim.Optimizer
    data: ByteMixture
    rng: np.random.Generator  # the data sampler's, checkpointed
    distributed: bool
    patched: bool  # a patch-level model: batches carry patch starts
    elapsed: float = 0.0  # seconds trained before this call (a resumed run's clock)
    metrics: MetricsWriter | None = None  # rank 0 only
    val_windows: object = None  # ByteMixture.validation_windows
    t0: float = 0.0  # perf_counter() at which the run's clock reads 0
    tokens_since: int = 0  # tokens and time since the last metrics row, for tokens_per_s
    time_since: float = 0.0
    teacher: torch.nn.Module | None = None  # quantization-aware training: the frozen start
    qat_layers: list = field(default_factory=list)  # its QATLinear layers (blend set per step)
    task: object = None  # a TaskConfig: the model is a TaskModel, the data LabelledData
    class_weights: torch.Tensor | None = None


@dataclass
class _Step:
    """What one optimizer step measured, for the metrics row."""

    ce: torch.Tensor
    aux: torch.Tensor
    lr: float
    grad_norm: torch.Tensor
    seq_len: int


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Linear warm-up, then cosine decay to ``lr * min_lr_ratio`` at ``cfg.steps``; the warm-up
    is ``cfg.resolved_warmup_steps()`` (the one set, else a tenth of the steps, at most 100).
    Quantization-aware training has two stages instead (:class:`QATConfig`): the peak until
    ``stage2`` of the steps, then from ``stage2_lr`` of it a cosine decay to the minimum."""
    warmup = cfg.resolved_warmup_steps()
    if step < warmup:
        return cfg.lr * (step + 1) / warmup
    qat = cfg.qat_config()
    if qat is not None:
        second = max(warmup, int(qat.stage2 * cfg.steps))
        if step < second:
            return cfg.lr
        progress = min(1.0, (step - second) / max(1, cfg.steps - second))
        low = cfg.lr * cfg.min_lr_ratio
        top = cfg.lr * qat.stage2_lr
        return low + (top - low) * 0.5 * (1 + math.cos(math.pi * progress))
    span = max(1, cfg.steps - warmup)
    progress = min(1.0, (step - warmup) / span)
    r = cfg.min_lr_ratio
    return cfg.lr * (r + (1 - r) * 0.5 * (1 + math.cos(math.pi * progress)))


def seq_len_at(step: int, cfg: TrainConfig) -> int:
    """HyenaDNA's warm-up: 64, 128, ... doubling in equal stages up to ``cfg.seq_len``."""
    if not cfg.seqlen_warmup or cfg.seq_len <= 64:
        return cfg.seq_len
    stages = int(math.log2(cfg.seq_len / 64))  # stages below the final length
    warm = cfg.seqlen_warmup_steps or cfg.steps // 4
    if step >= warm:
        return cfg.seq_len
    return min(cfg.seq_len, 64 * 2 ** int(step * (stages + 1) / max(warm, 1)))


def pick_device(name: str) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda asked for, but no CUDA device is available")
    if name == "mps" and not torch.backends.mps.is_available():
        raise InputError("--device mps asked for, but MPS is not available")
    return torch.device(name)


class Trainer:
    """Trains a byte model into a run folder; ``run()`` blocks until finished or stopped.

    ``resume`` goes on from the folder's latest complete checkpoint, or, when the run ended
    before its first (killed, diverged), starts it again from step 0, saying so (as Lightning's
    ``ckpt_path="last"``). A folder already holding a run is refused unless ``restart`` asks
    to delete that run first (as the HF Trainer's ``overwrite_output_dir``).
    """

    def __init__(self, config: TrainConfig, run_dir: str | Path, *, resume: bool = False,
                 restart: bool = False, data: ByteMixture | None = None) -> None:
        config.validate()
        # A copy with the warm-up resolved: config.json then says what ran, and a resumed run
        # keeps its warm-up even when given more steps. The caller's config is left as it was.
        self.config = dataclasses.replace(config, warmup_steps=config.resolved_warmup_steps())
        self.run_dir = Path(run_dir)
        self.resume = resume
        self.restart = restart
        self._data = data
        self._subscribers: list[Callable[[TrainEvent], None]] = []
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self.step = 0
        self.best_val: float = math.inf
        self.last_checkpoint: Path | None = None
        self.best_checkpoint: Path | None = None
        self._checkpointed_at = -1
        self._last_eval: tuple[int, float] | None = None  # (step, bits/byte) of the latest
        # torch.distributed, when launched by torchrun
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))

    # -- control, from any thread -------------------------------------------------------------
    def subscribe(self, callback: Callable[[TrainEvent], None]) -> None:
        self._subscribers.append(callback)

    def unsubscribe(self, callback: Callable[[TrainEvent], None]) -> None:
        if callback in self._subscribers:
            self._subscribers.remove(callback)

    def request_stop(self) -> None:
        self._stop.set()
        self._running.set()  # a paused run wakes up to stop

    def pause(self) -> None:
        self._running.clear()

    def resume_run(self) -> None:
        self._running.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def _emit(self, kind: str, metrics: dict | None = None, message: str = "") -> None:
        if self.rank != 0:
            return
        event = TrainEvent(kind, self.step, metrics or {}, message)
        for callback in list(self._subscribers):
            callback(event)

    def log(self, text: str, level: str = "info") -> None:
        """A message for the run's log (``run.log``) and for subscribers (a ``log`` event)."""
        if self.rank != 0:
            return
        if self.run_dir.is_dir():
            with writing(self.run_dir, "run.log"):
                append_log(self.run_dir, level, text)
        self._emit("log", {"level": level}, text)

    def _status(self, state: str, message: str = "") -> None:
        if self.rank == 0 and self.run_dir.is_dir():
            with writing(self.run_dir, "status.json"):
                write_status(self.run_dir, state, self.step, self.config.steps, message)

    # -- the loop --------------------------------------------------------------------------------
    def run(self) -> dict:
        """Train to ``config.steps``; return a summary dict. Raises on failure."""
        cfg = self.config
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        self.device = pick_device(cfg.device)
        distributed = self.world > 1
        if distributed:
            self._init_distributed()
        self._lock = RunLock(self.run_dir)
        try:
            return self._run(distributed)
        except Exception as error:  # every failure is announced; the caller still gets it
            failure = self._fault(error)
            message = str(failure or error) or type(error).__name__
            if self.run_dir.is_dir() and not isinstance(error, RunInUse):  # not its folder
                with contextlib.suppress(RunWriteError):  # the folder may be what failed
                    self._status("failed", message)
                with contextlib.suppress(RunWriteError):
                    self.log(f"failed at step {self.step}: {message}", "error")
            self._emit("failed", message=message)
            if failure is not None:
                raise failure from None
            raise
        finally:
            self._lock.release()
            if distributed and torch.distributed.is_initialized():
                torch.distributed.destroy_process_group()

    def _init_distributed(self) -> None:
        backend = "nccl" if self.device.type == "cuda" else "gloo"
        if self.device.type == "cuda":
            local = int(os.environ.get("LOCAL_RANK", "0"))
            torch.cuda.set_device(local)
            self.device = torch.device("cuda", local)
        torch.distributed.init_process_group(backend)

    def _run(self, distributed: bool) -> dict:
        """A run's steps, in order: the model config, the folder, the data, model and optimizer,
        their state on resume, the announcement, the network a step calls, the metrics file,
        the steps, the summary."""
        mcfg = self._model_config()  # a bad or oversized config is refused before data is read
        note = self._open_folder()
        run = self._build(mcfg, distributed)
        if self.resume:
            self._restore(run)
        self._announce(run, note)
        run.net = self._network(run)
        run.metrics = self._open_metrics()
        try:
            if run.task is not None:
                run.val_windows = run.data.validation_batches(
                    self.config.seq_len, self.config.eval_batches * self.config.batch_size,
                    self.config.batch_size)
            else:
                run.val_windows = run.data.validation_windows(
                    self.config.seq_len, self.config.eval_batches * self.config.batch_size,
                    with_starts=run.patched)
            self._train(run)
        except BaseException:
            if run.metrics is not None:
                run.metrics.close(quiet=True)  # the error under way is the one to report
            raise
        if run.metrics is not None:
            with writing(self.run_dir, "metrics.h5"):
                run.metrics.close()
        return self._finish(run)

    # -- the steps of a run, in the order _run takes them ---------------------------------------
    def _model_config(self):
        """The model's config, refused when its training state would not fit in memory."""
        cfg = self.config
        mcfg = model_config(cfg.arch, cfg.preset, max_len=cfg.seq_len, **cfg.model)
        check_model_size(mcfg, copies=4)  # weights, gradients and AdamW's two moments
        return mcfg

    def _open_folder(self) -> str:
        """Create the run folder; rank 0 takes its lock and settles what it holds (a note on
        what was done, for the log). Other ranks follow rank 0's decision on resuming."""
        with writing(self.run_dir, "the run folder"):
            self.run_dir.mkdir(parents=True, exist_ok=True)
        if self.rank == 0:  # one writer per folder; what it holds is settled under the lock
            with writing(self.run_dir, ".lock"):
                self._lock.acquire()
            remove_partial(self.run_dir)  # a killed run's step-N.tmp / step-N.del
            return self._settle_folder()
        if self.resume and not checkpoint_dirs(self.run_dir):
            self.resume = False  # as rank 0 decides: start again from step 0
        return ""

    def _build(self, mcfg, distributed: bool) -> _Run:
        """The data, a freshly initialised (or fine-tuning) model and its optimizer."""
        cfg = self.config
        if cfg.task_config() is not None:
            return self._build_task(mcfg, distributed)
        patched = cfg.arch == "hyena-blt"  # a patch-level model: its data carries patch starts
        data = self._data or ByteMixture(
            cfg.files, cfg.weights, cfg.held_out,
            patch_starts=EntropyPatches(cfg.patch_model, cfg.patching) if patched else None)
        torch.manual_seed(cfg.seed)
        model = build_model(mcfg).to(self.device)
        if cfg.init_from and not self.resume:  # fine-tuning: start from trained weights
            _load_initial_weights(model, cfg.init_from)
        teacher, layers = None, []
        if cfg.qat_config() is not None:  # the teacher is the model fine-tuning starts from
            teacher = build_model(mcfg).to(self.device).eval().requires_grad_(False)
            _load_initial_weights(teacher, cfg.init_from)
            layers = qat_linears(model)  # same parameters: the optimizer below sees them
        return self._new_run(model, data, distributed, patched=patched, teacher=teacher,
                             qat_layers=layers)

    def _new_run(self, model, data, distributed: bool, **fields) -> _Run:
        """The run over ``model``: AdamW over its groups, the data sampler's generator."""
        cfg = self.config
        self.model = model  # the live model, for hooks and the GUI (read it between steps)
        optimizer = torch.optim.AdamW(model.optimizer_groups(cfg.weight_decay), lr=cfg.lr,
                                      betas=(0.9, 0.95))
        return _Run(model=model, net=model, optimizer=optimizer, data=data,
                    rng=np.random.default_rng([cfg.seed, self.rank]),
                    distributed=distributed, **fields)

    def _build_task(self, mcfg, distributed: bool) -> _Run:
        """A task head on the backbone (engine/models/heads.py), its labelled data and class
        weights, the optimizer over what trains (the head alone with freeze_backbone)."""
        from engine.io.labels import LabelScheme
        from engine.models.heads import HeadConfig, TaskModel, inverse_frequency_weights

        from .task_data import LabelledData

        cfg, task = self.config, self.config.task_config()
        data = self._data or LabelledData(
            cfg.files, task.task, task.labels, classes=task.classes, held_out=cfg.held_out,
            scheme=LabelScheme(types=task.types, strand=task.strand, phase=task.phase))
        torch.manual_seed(cfg.seed)
        backbone = build_model(mcfg)
        if cfg.init_from and not self.resume:
            _load_initial_weights(backbone, cfg.init_from)
        head = HeadConfig(task=task.task, classes=tuple(data.classes), pooling=task.pooling,
                          both_strands=task.both_strands, hidden=task.hidden,
                          dropout=task.dropout)
        model = TaskModel(backbone, head).to(self.device)
        if task.freeze_backbone:
            backbone.requires_grad_(False)
        weights = None
        if task.class_weights == "balanced":
            weights = inverse_frequency_weights(torch.from_numpy(data.class_counts())).to(
                self.device)
        return self._new_run(model, data, distributed, patched=False, task=task,
                             class_weights=weights)

    def _restore(self, run: _Run) -> None:
        """Weights, optimizer, step, best value, data sampler and clock from the folder's
        latest complete checkpoint."""
        latest = checkpoint_dirs(self.run_dir)
        state = load_checkpoint(latest[-1], run.model, run.optimizer)
        self.step = state["step"]
        self.best_val = state.get("best_val", math.inf)
        run.rng = rng_from_state(state["data_rng"][self.rank if run.distributed else 0])
        run.elapsed = state.get("elapsed", 0.0)
        self.last_checkpoint = latest[-1]
        self.best_checkpoint = _saved_best(self.run_dir, state.get("best_checkpoint"))

    def _announce(self, run: _Run, note: str) -> None:
        """Write the effective config.json, say "running", log the start."""
        cfg = self.config
        if self.rank == 0:  # on resume: the effective config (a new --steps, device, threads)
            with writing(self.run_dir, "config.json"), \
                    atomic_path(self.run_dir / "config.json") as tmp:
                tmp.write_text(cfg.to_json())
        self._status("running")
        if note:
            self.log(note, "warning")
        n_params = sum(p.numel() for p in run.model.parameters())
        where = f"resumed at step {self.step}" if self.resume else "started"
        self.log(f"{where}: {cfg.arch} {cfg.preset}, {n_params:,} parameters, "
                 f"{cfg.steps:,} steps (warm-up {cfg.warmup_steps:,}) on {self.device}, "
                 f"{torch.get_num_threads()} CPU threads")

    def _network(self, run: _Run) -> torch.nn.Module:
        """What a step calls: the model in training mode, under torchrun wrapped in DDP (made
        after restoring, as DDP starts every rank from rank 0's weights)."""
        run.model.train()
        if not run.distributed:
            return run.model
        # experts that route no patch in a step leave parameters without gradients
        return torch.nn.parallel.DistributedDataParallel(
            run.model, find_unused_parameters=getattr(run.model.config, "n_experts", 0) > 0)

    def _open_metrics(self) -> MetricsWriter | None:
        """Rank 0's ``metrics.h5``; on resume, rows past the checkpoint's step are dropped."""
        if self.rank != 0:
            return None
        with writing(self.run_dir, "metrics.h5"):
            metrics = MetricsWriter(self.run_dir / "metrics.h5",
                                    resume_step=self.step if self.resume else None,
                                    eval_columns=self._task_columns())
        if metrics.events is None:
            self.log(TENSORBOARD_MISSING)
        return metrics

    def _task_columns(self) -> tuple[str, ...]:
        """A task run's validation columns: the overall figures and each class's F1."""
        model = getattr(self, "model", None)
        if self.config.task_config() is None or model is None:
            return ()
        return (*TASK_COLUMNS, *(f"f1_{c}" for c in model.config.classes))

    def _train(self, run: _Run) -> None:
        """Steps until ``config.steps`` or a stop; a stopped run is checkpointed first."""
        cfg = self.config
        run.t0 = time.perf_counter() - run.elapsed
        run.tokens_since, run.time_since = 0, time.perf_counter()
        while self.step < cfg.steps:
            if self._stop.is_set() and not run.distributed:  # distributed: agreed in _step
                break
            if not self._running.is_set() and not self._wait_while_paused():
                break
            done = self._step(run)
            if done is None:  # every rank agreed to stop
                break
            self._after_step(run, done)
        stopped = self.step < cfg.steps
        if stopped and self.step > 0 and self._checkpointed_at != self.step:
            self._checkpoint(run.model, run.optimizer, run.rng, run.t0, run.distributed)

    def _wait_while_paused(self) -> bool:
        """Block while paused, saying so; False when a stop ends the pause."""
        self._status("paused")
        self.log(f"paused at step {self.step}")
        self._emit("paused")
        while not self._running.wait(0.1):
            pass
        if self._stop.is_set():
            return False
        self._status("running")
        self.log(f"resumed at step {self.step}")
        self._emit("resumed")
        return True

    def _step(self, run: _Run) -> _Step | None:
        """One optimizer step on a fresh batch; None when the ranks agree to stop first.

        Loss = cross-entropy of the next byte + the model's auxiliary loss (MoE load balancing,
        router z-loss; zero for byte models), which ``forward(..., return_aux=True)`` returns.
        """
        cfg = self.config
        seq_len = seq_len_at(self.step, cfg)
        if run.task is not None:
            return self._task_step(run, seq_len)
        inputs: tuple = ()
        if run.patched:
            tokens, starts = run.data.sample(run.rng, cfg.batch_size, seq_len, with_starts=True)
            inputs = (torch.from_numpy(starts[:, :-1]).to(self.device),)
        else:
            tokens = run.data.sample(run.rng, cfg.batch_size, seq_len)
        batch = torch.from_numpy(tokens).to(self.device)
        lr = lr_at(self.step, cfg)
        qat = cfg.qat_config() if run.teacher is not None else None
        for group in run.optimizer.param_groups:
            group["lr"] = lr
            if qat is not None and self.step >= int(qat.stage2 * cfg.steps):
                group["weight_decay"] = 0.0  # stage 2 (QATConfig)
        if qat is not None:
            blend = 1.0 if qat.blend_steps == 0 else min(1.0, (self.step + 1) / qat.blend_steps)
            for layer in run.qat_layers:
                layer.blend = blend
        with torch.autocast(self.device.type, dtype=torch.bfloat16,
                            enabled=self.device.type == "cuda"):
            logits, aux = run.net(batch[:, :-1], *inputs, return_aux=True)  # through DDP
        targets = batch[:, 1:].reshape(-1)
        flat = logits.float().reshape(-1, logits.shape[-1])
        ce = F.cross_entropy(flat, targets, ignore_index=ByteTokenizer.PAD)
        if qat is not None:  # the extra term is logged as aux_loss, beside the model's own
            with torch.no_grad():
                taught = run.teacher(batch[:, :-1], *inputs).float().reshape(flat.shape)
            kl = distillation_kl(flat, taught, targets != ByteTokenizer.PAD, qat.temperature)
            aux = aux.float() + qat.distill * kl
            loss = (1 - qat.distill) * ce + aux
        else:
            loss = ce + aux.float()
        return self._optimize(run, loss, ce, aux, lr, seq_len, batch[:, 1:].numel())

    def _task_step(self, run: _Run, seq_len: int) -> _Step | None:
        """One step of a task head: weighted cross-entropy of the labels (engine/models/heads)."""
        from engine.models.heads import task_loss

        cfg = self.config
        tokens, labels, lengths = (torch.from_numpy(a).to(self.device) for a in
                                   run.data.sample(run.rng, cfg.batch_size, seq_len))
        lr = lr_at(self.step, cfg)
        for group in run.optimizer.param_groups:
            group["lr"] = lr
        with torch.autocast(self.device.type, dtype=torch.bfloat16,
                            enabled=self.device.type == "cuda"):
            logits = run.net(tokens, lengths)
        loss = task_loss(logits.float(), labels, class_weights=run.class_weights)
        aux = loss.new_zeros(())
        return self._optimize(run, loss, loss, aux, lr, seq_len, int(lengths.sum()))

    def _optimize(self, run: _Run, loss, ce, aux, lr: float, seq_len: int,
                  tokens: int) -> _Step | None:
        """Backward and the optimizer step, stopping on a non-finite loss or gradient (every
        rank on the same step); None when the ranks agree to stop first."""
        cfg = self.config
        bad_loss = not torch.isfinite(loss)
        if run.distributed:  # every rank must leave the loop on the same step
            flags = torch.tensor([float(bad_loss), float(self._stop.is_set())])
            torch.distributed.all_reduce(flags, op=torch.distributed.ReduceOp.MAX)
            if flags[1] > 0 and not flags[0] > 0:
                return None
            bad_loss = bool(flags[0] > 0)
        if bad_loss:
            raise self._diverged("loss", loss.item())
        run.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(run.model.parameters(), cfg.grad_clip)
        if not torch.isfinite(grad_norm):  # same on every rank: gradients are reduced
            raise self._diverged("gradient norm", float(grad_norm))
        run.optimizer.step()
        self.step += 1
        run.tokens_since += tokens * self.world
        return _Step(ce=ce, aux=aux, lr=lr, grad_norm=grad_norm, seq_len=seq_len)

    def _after_step(self, run: _Run, done: _Step) -> None:
        """Log a metrics row every ``log_every`` steps; evaluate and checkpoint when due."""
        cfg = self.config
        if self.step % cfg.log_every == 0 or self.step == cfg.steps:
            now = time.perf_counter()
            row = {
                "step": self.step,
                "time": now - run.t0,
                "loss": done.ce.item(),  # the cross-entropy alone: comparable across models
                "aux_loss": float(done.aux.detach()),
                "lr": done.lr,
                "grad_norm": float(done.grad_norm),
                "tokens_per_s": run.tokens_since / max(now - run.time_since, 1e-9),
                "seq_len": done.seq_len,
            }
            run.tokens_since, run.time_since = 0, now
            if run.metrics is not None:
                with writing(self.run_dir, "metrics.h5"):
                    run.metrics.append("step", row)
                    run.metrics.flush()
            self._emit("step", row)
        due_ckpt = self.step % cfg.checkpoint_every == 0 or self.step == cfg.steps
        if self.step % cfg.eval_every == 0 or due_ckpt:
            # every checkpoint is evaluated, so "best" always names its own weights
            self._evaluate(run.model, run.val_windows, run.metrics, run.t0)
        if due_ckpt:
            self._checkpoint(run.model, run.optimizer, run.rng, run.t0, run.distributed)

    def _finish(self, run: _Run) -> dict:
        """The summary, the final status and log line, and the ``finished`` event."""
        cfg = self.config
        stopped = self.step < cfg.steps
        last_eval = self._last_eval
        summary = {
            "step": self.step,
            "steps": cfg.steps,
            "stopped": stopped,
            # None (JSON null), not inf, when no checkpoint was validated
            "best_val_bits_per_byte": self.best_val if math.isfinite(self.best_val) else None,
            "seconds": time.perf_counter() - run.t0,
            "run_dir": str(self.run_dir),
            "best_checkpoint": str(self.best_checkpoint) if self.best_checkpoint else None,
            "last_checkpoint": str(self.last_checkpoint) if self.last_checkpoint else None,
            "last_val": {"step": last_eval[0], "bits_per_byte": last_eval[1]}
            if last_eval else None,
            "parameters": sum(p.numel() for p in run.model.parameters()),
            # what "best" compares: bits per byte for a language model, the loss of a task
            "metric": "val_loss" if run.task is not None else "val_bits_per_byte",
        }
        self._status("stopped" if stopped else "finished")
        self.log(f"{'stopped' if stopped else 'finished'} at step {self.step}/{cfg.steps}, "
                 f"{describe_outcome(summary, self.run_dir)}")
        if run.distributed:
            summary["replica_checksums"] = self._replica_checksums(run.model)
        self._emit("finished", summary)
        return summary

    # -- helpers of the steps --------------------------------------------------------------------
    def _settle_folder(self) -> str:
        """Under the lock: refuse, clear or keep what the folder holds; a note on what was done.

        ``resume`` with no complete checkpoint starts over (there are no weights to lose); a new
        run replaces a previous one only when ``restart`` says so.
        """
        held = (self.run_dir / "config.json").exists()
        if self.resume and not checkpoint_dirs(self.run_dir):
            if not held:
                raise InputError("no run to resume in this folder (no config.json)",
                                 path=self.run_dir)
            self.resume = False
            with writing(self.run_dir, "the run folder"):
                clear_run(self.run_dir)
            return ("no complete checkpoint to resume from (the run ended before its first); "
                    "starting it again from step 0")
        if not self.resume and held:
            if not self.restart:
                raise RunInUse(occupied(self.run_dir), path=self.run_dir)
            with writing(self.run_dir, "the run folder"):
                clear_run(self.run_dir)
            return "restarted: the previous run in this folder was deleted"
        return ""

    def _fault(self, error: BaseException) -> RunWriteError | None:
        """A failed write of the run folder (disk full, permission), as one line saying where
        the run stopped and what is kept; None for any other error (an OSError no write site
        named keeps its traceback: it is not known to be the folder's)."""
        if not isinstance(error, RunWriteError):
            return None
        kept = (f"the last complete checkpoint, {_relative(self.last_checkpoint, self.run_dir)}"
                ", is kept (go on from it with --resume once the folder can be written again)"
                if self.last_checkpoint else "no checkpoint had been written")
        return RunWriteError(f"{error.message}; training stopped at step {self.step}, {kept}",
                             path=self.run_dir)

    def _diverged(self, what: str, value: float) -> TrainingFailed:
        last = self.last_checkpoint or (
            "none yet (start again with other settings, e.g. a lower --lr, and --restart)")
        return TrainingFailed(
            f"{what} became {value} at step {self.step + 1}; stopped. Last good checkpoint: "
            f"{last}",
            path=self.run_dir,
        )

    @torch.no_grad()
    def _evaluate(self, model, windows, metrics, t0: float) -> None:
        if self.config.task_config() is not None:
            return self._evaluate_task(model, windows, metrics, t0)
        model.eval()
        total, count = 0.0, 0
        bs = self.config.batch_size
        windows, starts = windows if isinstance(windows, tuple) else (windows, None)
        for i in range(0, len(windows), bs):
            batch = torch.from_numpy(windows[i : i + bs]).to(self.device)
            inputs = () if starts is None else (
                torch.from_numpy(starts[i : i + bs, :-1]).to(self.device),)
            with torch.autocast(self.device.type, dtype=torch.bfloat16,
                                enabled=self.device.type == "cuda"):
                logits = model(batch[:, :-1], *inputs)
            targets = batch[:, 1:].reshape(-1)
            loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), targets,
                                   ignore_index=ByteTokenizer.PAD, reduction="sum")
            total += loss.item()
            count += int((targets != ByteTokenizer.PAD).sum())
        model.train()
        val_loss = total / max(count, 1)
        row = {"step": self.step, "time": time.perf_counter() - t0, "val_loss": val_loss,
               "val_bits_per_byte": val_loss / LN2}
        self._last_eval = (self.step, row["val_bits_per_byte"])
        if metrics is not None:
            with writing(self.run_dir, "metrics.h5"):
                metrics.append("eval", row)
                metrics.flush()
        self.log(f"step {self.step}: validation {row['val_bits_per_byte']:.4f} bits/byte")
        self._emit("eval", row)

    @torch.no_grad()
    def _evaluate_task(self, model, batches, metrics, t0: float) -> None:
        """Validation of a task head: the (unweighted) cross-entropy of the labels, accuracy,
        macro F1, MCC, AUROC and each class's F1 (engine/train/task_metrics.py); the confusion
        matrix goes to ``confusion.json``. "Best" is the lowest validation loss."""
        from engine.models.heads import IGNORE

        from .task_metrics import classification_metrics

        model.eval()
        total, count, truths, probs = 0.0, 0, [], []
        for tokens, labels, lengths in batches:
            tokens, labels, lengths = (torch.from_numpy(a).to(self.device)
                                       for a in (tokens, labels, lengths))
            logits = model(tokens, lengths).float()
            flat, target = logits.reshape(-1, logits.shape[-1]), labels.reshape(-1)
            keep = target != IGNORE
            total += F.cross_entropy(flat[keep], target[keep], reduction="sum").item()
            count += int(keep.sum())
            truths.append(target[keep].cpu().numpy())
            probs.append(torch.softmax(flat[keep], -1).cpu().numpy())
        model.train()
        classes = model.config.classes
        figures = classification_metrics(np.concatenate(truths), np.concatenate(probs), classes)
        val_loss = total / max(count, 1)
        row = {"step": self.step, "time": time.perf_counter() - t0, "val_loss": val_loss,
               **{k: figures[k] for k in TASK_COLUMNS},
               **{f"f1_{c}": figures[f"f1/{c}"] for c in classes}}
        self._last_eval = (self.step, val_loss)
        if metrics is not None:
            with writing(self.run_dir, "metrics.h5"):
                metrics.append("eval", row)
                metrics.flush()
            with writing(self.run_dir, "confusion.json"), \
                    atomic_path(self.run_dir / "confusion.json") as tmp:
                tmp.write_text(json.dumps({"step": self.step, "classes": list(classes),
                                           "rows_true_columns_predicted":
                                               figures["confusion"].tolist()}) + "\n")
        self.log(f"step {self.step}: validation loss {val_loss:.4f}, accuracy "
                 f"{row['accuracy']:.4f}, macro F1 {row['macro_f1']:.4f}, MCC {row['mcc']:.4f}")
        self._emit("eval", row)

    def _checkpoint(self, model, optimizer, rng, t0: float, distributed: bool) -> None:
        cfg = self.config
        self._checkpointed_at = self.step  # on every rank, so all agree on the final save
        states = [rng_state(rng)]
        if distributed:
            gathered: list = [None] * self.world
            torch.distributed.all_gather_object(gathered, states[0])
            states = gathered
        if self.rank != 0:
            return
        # "Best" compares checkpoints only: the evaluation of this very step's weights.
        step, val = self._last_eval or (None, math.inf)
        is_best = step == self.step and val < self.best_val
        if is_best:
            self.best_val = val
        name = f"checkpoints/step-{self.step:07d}"  # relative: the run folder may move
        best_name = name if is_best else (
            self.best_checkpoint.relative_to(self.run_dir).as_posix()
            if self.best_checkpoint else ""
        )
        state = {
            "step": self.step,
            "best_val": self.best_val,
            "data_rng": states,
            "elapsed": time.perf_counter() - t0,
            "best_checkpoint": best_name,
        }
        path = save_checkpoint(self.run_dir, self.step, model, optimizer, state)
        self.last_checkpoint = path
        if is_best:
            self.best_checkpoint = path
            with writing(self.run_dir, "best.json"):  # before pruning: best.json never dangles
                _point_best(self.run_dir, path, val)
        with writing(self.run_dir, CHECKPOINTS):
            prune_checkpoints(self.run_dir, cfg.keep_last, protect=self.best_checkpoint)
        self._status("paused" if self.paused else "running")
        self._emit("checkpoint", {"path": str(path), "best": is_best})

    def _replica_checksums(self, model) -> list[float]:
        local = torch.tensor(
            [float(sum(p.detach().double().sum() for p in model.parameters()))],
            dtype=torch.float64,
        )
        out = [torch.zeros(1, dtype=local.dtype) for _ in range(self.world)]
        torch.distributed.all_gather(out, local)
        return [float(t) for t in out]


def distillation_kl(student: torch.Tensor, teacher: torch.Tensor, keep: torch.Tensor,
                    temperature: float = 1.0) -> torch.Tensor:
    """T^2 KL(p_teacher || p_student) at temperature T, averaged over the kept positions
    (Hinton et al. 2015: the T^2 keeps gradients comparable across temperatures); logits
    (N, V), ``keep`` (N,) bool."""
    t = temperature
    log_s = F.log_softmax(student / t, dim=-1)
    log_t = F.log_softmax(teacher / t, dim=-1)
    per = (log_t.exp() * (log_t - log_s)).sum(dim=-1)
    return t * t * (per * keep).sum() / keep.sum().clamp(min=1)


def describe_outcome(summary: dict, run_dir: str | Path) -> str:
    """What a run ended with, in words: its best checkpoint, else what there is (a run stopped
    before any validation or checkpoint says so, never "inf" or "None")."""
    run_dir = Path(run_dir)
    best, last = summary.get("best_checkpoint"), summary.get("last_checkpoint")
    value = summary.get("best_val_bits_per_byte")
    task = summary.get("metric") == "val_loss"
    shown = None if value is None else (f"loss {value:.4f}" if task else f"{value:.4f} bits/byte")
    if best and value is not None:
        return f"best validation {shown} at {_relative(best, run_dir)}"
    if value is not None:  # resumed from an older version whose best was pruned
        return f"best validation {shown} (its checkpoint is gone)"
    seen = summary.get("last_val")
    validated = (f"validation {seen['bits_per_byte']:.4f} bits/byte at step {seen['step']}, "
                 "not checkpointed" if seen else "no validation ran")
    if last:
        return f"{validated}; latest checkpoint {_relative(last, run_dir)}"
    return f"{validated}; no checkpoint was written"


def _relative(path: str | Path, run_dir: Path) -> str:
    """A checkpoint as the run folder names it (``checkpoints/step-0000008``)."""
    try:
        return Path(path).relative_to(run_dir).as_posix()
    except ValueError:
        return str(path)


def _load_initial_weights(model: torch.nn.Module, spec: str) -> None:
    """Copy a trained model's weights (a model, checkpoint or run folder) into ``model``."""
    from safetensors.torch import load_file

    from engine.models.checkpoint import BAKE_NAME, WEIGHTS_NAME, load_model
    from engine.models.defaults import resolve_model_path
    from engine.models.quantized import dequantized_state

    folder = resolve_model_path(spec)
    try:
        if (folder / BAKE_NAME).exists():  # a baked model: start from what it multiplies by
            state = dequantized_state(load_model(folder))
        else:
            state = load_file(str(folder / WEIGHTS_NAME), device="cpu")
        model.load_state_dict(state)
    except RuntimeError as error:
        first = str(error).splitlines()[1].strip() if "\n" in str(error) else str(error)
        raise InputError(f"--init weights do not fit this model ({first}); give the same "
                         "architecture, preset and model config", path=folder) from None


def _saved_best(run_dir: Path, name: str | None) -> Path | None:
    """The best checkpoint a checkpoint's state names: relative to the run folder (as written
    now), or a path from an older version (relative to its working folder): its last two parts.
    """
    if not name:
        return None
    for candidate in (run_dir / name, run_dir / "checkpoints" / Path(name).name):
        if candidate.is_dir():
            return candidate
    return None  # pruned: the next better evaluation names a new one


def _point_best(run_dir: Path, checkpoint: Path, val: float) -> None:
    """``RUN_DIR/best.json`` names the best checkpoint (a file, so it works on every OS)."""
    values = {"checkpoint": checkpoint.relative_to(run_dir).as_posix(), "val_bits_per_byte": val}
    with atomic_path(run_dir / "best.json") as tmp:
        tmp.write_text(json.dumps(values) + "\n")
