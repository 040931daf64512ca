"""The Trainer: one loop for the CLI, a GUI worker thread and ``torchrun``.

Optimisation: AdamW (no weight decay on norms, biases, embeddings' padding or the Hyena filter
MLP, as HyenaDNA), learning rate

    lr(s) = lr * (s + 1) / warmup                                      for s < warmup
    lr(s) = lr * (r + (1 - r) * (1 + cos(pi * (s - warmup) / (S - warmup))) / 2)   after,

with r = ``min_lr_ratio``, S the total steps and warmup the one set, else ``min(100, max(1,
S // 10))`` (:func:`engine.train.config.default_warmup_steps`); gradients clipped to
``grad_clip`` in global L2 norm. Loss: mean cross-entropy of the next byte (nats); bits per
byte = loss / ln 2.

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
from .metrics import MetricsWriter
from .patches import EntropyPatches
from .runs import RunInUse, RunLock, append_log, clear_run, occupied, write_status

LN2 = math.log(2)


class TrainingFailed(BytescopeError):
    """The run could not go on (NaN loss, bad data); the last good checkpoint is kept."""


@dataclass
class TrainEvent:
    kind: str  # step | eval | checkpoint | paused | resumed | log | finished | failed
    step: int
    metrics: dict = field(default_factory=dict)
    message: str = ""


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Linear warm-up, then cosine decay to ``lr * min_lr_ratio`` at ``cfg.steps``; the warm-up
    is ``cfg.resolved_warmup_steps()`` (the one set, else a tenth of the steps, at most 100)."""
    warmup = cfg.resolved_warmup_steps()
    if step < warmup:
        return cfg.lr * (step + 1) / warmup
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
        cfg = self.config
        # the model's config first: a bad or oversized one is refused before data is read
        mcfg = model_config(cfg.arch, cfg.preset, max_len=cfg.seq_len, **cfg.model)
        check_model_size(mcfg, copies=4)  # weights, gradients and AdamW's two moments
        with writing(self.run_dir, "the run folder"):
            self.run_dir.mkdir(parents=True, exist_ok=True)
        note = ""
        if self.rank == 0:  # one writer per folder; what it holds is settled under the lock
            with writing(self.run_dir, ".lock"):
                self._lock.acquire()
            remove_partial(self.run_dir)  # a killed run's step-N.tmp / step-N.del
            note = self._settle_folder()
        elif self.resume and not checkpoint_dirs(self.run_dir):
            self.resume = False  # as rank 0 decides: start again from step 0
        patched = cfg.arch == "hyena-blt"  # a patch-level model: its data carries patch starts
        data = self._data or ByteMixture(
            cfg.files, cfg.weights, cfg.held_out,
            patch_starts=EntropyPatches(cfg.patch_model, cfg.patching) if patched else None)
        torch.manual_seed(cfg.seed)
        model = build_model(mcfg).to(self.device)
        if cfg.init_from and not self.resume:  # fine-tuning: start from trained weights
            _load_initial_weights(model, cfg.init_from)
        self.model = model  # the live model, for hooks and the GUI (read it between steps)
        optimizer = torch.optim.AdamW(self._param_groups(model), lr=cfg.lr, betas=(0.9, 0.95))
        rng = np.random.default_rng([cfg.seed, self.rank])
        start_time_offset = 0.0
        if self.resume:
            latest = checkpoint_dirs(self.run_dir)
            state = load_checkpoint(latest[-1], model, optimizer)
            self.step = state["step"]
            self.best_val = state.get("best_val", math.inf)
            rng = rng_from_state(state["data_rng"][self.rank if distributed else 0])
            start_time_offset = state.get("elapsed", 0.0)
            self.last_checkpoint = latest[-1]
            self.best_checkpoint = _saved_best(self.run_dir, state.get("best_checkpoint"))
        if self.rank == 0:  # on resume: the effective config (a new --steps, device, threads)
            with writing(self.run_dir, "config.json"), \
                    atomic_path(self.run_dir / "config.json") as tmp:
                tmp.write_text(cfg.to_json())
        self._status("running")
        if note:
            self.log(note, "warning")
        n_params = sum(p.numel() for p in model.parameters())
        where = f"resumed at step {self.step}" if self.resume else "started"
        self.log(f"{where}: {cfg.arch} {cfg.preset}, {n_params:,} parameters, "
                 f"{cfg.steps:,} steps (warm-up {cfg.warmup_steps:,}) on {self.device}, "
                 f"{torch.get_num_threads()} CPU threads")
        model.train()
        ddp = (
            # experts that route no patch in a step leave parameters without gradients
            torch.nn.parallel.DistributedDataParallel(
                model, find_unused_parameters=getattr(mcfg, "n_experts", 0) > 0)
            if distributed else model
        )
        metrics = None
        if self.rank == 0:
            resume_step = self.step if self.resume else None
            with writing(self.run_dir, "metrics.h5"):
                metrics = MetricsWriter(self.run_dir / "metrics.h5", resume_step=resume_step)
        val_windows = data.validation_windows(cfg.seq_len, cfg.eval_batches * cfg.batch_size,
                                              with_starts=patched)
        autocast = self.device.type == "cuda"
        t0 = time.perf_counter() - start_time_offset
        tokens_since, time_since = 0, time.perf_counter()
        try:
            while self.step < cfg.steps:
                if self._stop.is_set() and not distributed:  # distributed: agreed below
                    break
                if not self._running.is_set():
                    self._status("paused")
                    self.log(f"paused at step {self.step}")
                    self._emit("paused")
                    while not self._running.wait(0.1):
                        pass
                    if self._stop.is_set():
                        break
                    self._status("running")
                    self.log(f"resumed at step {self.step}")
                    self._emit("resumed")
                seq_len = seq_len_at(self.step, cfg)
                inputs: tuple = ()
                if patched:
                    tokens, starts = data.sample(rng, cfg.batch_size, seq_len, with_starts=True)
                    inputs = (torch.from_numpy(starts[:, :-1]).to(self.device),)
                else:
                    tokens = data.sample(rng, cfg.batch_size, seq_len)
                batch = torch.from_numpy(tokens).to(self.device)
                lr = lr_at(self.step, cfg)
                for group in optimizer.param_groups:
                    group["lr"] = lr
                with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=autocast):
                    logits = ddp(batch[:, :-1], *inputs)
                ce = F.cross_entropy(
                    logits.float().reshape(-1, logits.shape[-1]),
                    batch[:, 1:].reshape(-1),
                    ignore_index=ByteTokenizer.PAD,
                )
                # a model's own auxiliary losses (MoE load balancing, router z-loss) join in
                aux = getattr(model, "aux_loss", None)
                loss = ce + aux.float() if aux is not None else ce
                bad_loss = not torch.isfinite(loss)
                if distributed:  # every rank must leave the loop on the same step
                    flags = torch.tensor([float(bad_loss), float(self._stop.is_set())])
                    torch.distributed.all_reduce(flags, op=torch.distributed.ReduceOp.MAX)
                    if flags[1] > 0 and not flags[0] > 0:
                        break
                    bad_loss = bool(flags[0] > 0)
                if bad_loss:
                    raise self._diverged("loss", loss.item())
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
                if not torch.isfinite(grad_norm):  # same on every rank: gradients are reduced
                    raise self._diverged("gradient norm", float(grad_norm))
                optimizer.step()
                self.step += 1
                tokens_since += batch[:, 1:].numel() * self.world
                if self.step % cfg.log_every == 0 or self.step == cfg.steps:
                    now = time.perf_counter()
                    row = {
                        "step": self.step,
                        "time": now - t0,
                        "loss": ce.item(),  # the cross-entropy alone: comparable across models
                        "aux_loss": float(aux.detach()) if aux is not None else 0.0,
                        "lr": lr,
                        "grad_norm": float(grad_norm),
                        "tokens_per_s": tokens_since / max(now - time_since, 1e-9),
                        "seq_len": seq_len,
                    }
                    tokens_since, time_since = 0, now
                    if metrics is not None:
                        with writing(self.run_dir, "metrics.h5"):
                            metrics.append("step", row)
                            metrics.flush()
                    self._emit("step", row)
                due_ckpt = self.step % cfg.checkpoint_every == 0 or self.step == cfg.steps
                if self.step % cfg.eval_every == 0 or due_ckpt:
                    # every checkpoint is evaluated, so "best" always names its own weights
                    self._evaluate(model, val_windows, metrics, t0)
                if due_ckpt:
                    self._checkpoint(model, optimizer, rng, t0, distributed)
            stopped = self.step < cfg.steps
            if stopped and self.step > 0 and self._checkpointed_at != self.step:
                self._checkpoint(model, optimizer, rng, t0, distributed)  # stop = save first
        except BaseException:
            if metrics is not None:
                metrics.close(quiet=True)  # the error under way is the one to report
            raise
        if metrics is not None:
            with writing(self.run_dir, "metrics.h5"):
                metrics.close()
        stopped = self.step < cfg.steps
        last_eval = getattr(self, "_last_eval", None)
        summary = {
            "step": self.step,
            "steps": cfg.steps,
            "stopped": self.step < cfg.steps,
            # None (JSON null), not inf, when no checkpoint was validated
            "best_val_bits_per_byte": self.best_val if math.isfinite(self.best_val) else None,
            "seconds": time.perf_counter() - t0,
            "run_dir": str(self.run_dir),
            "best_checkpoint": str(self.best_checkpoint) if self.best_checkpoint else None,
            "last_checkpoint": str(self.last_checkpoint) if self.last_checkpoint else None,
            "last_val": {"step": last_eval[0], "bits_per_byte": last_eval[1]}
            if last_eval else None,
            "parameters": sum(p.numel() for p in model.parameters()),
        }
        self._status("stopped" if stopped else "finished")
        self.log(f"{'stopped' if stopped else 'finished'} at step {self.step}/{cfg.steps}, "
                 f"{describe_outcome(summary, self.run_dir)}")
        if distributed:
            summary["replica_checksums"] = self._replica_checksums(model)
        self._emit("finished", summary)
        return summary

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

    def _param_groups(self, model: torch.nn.Module) -> list[dict]:
        decay, no_decay = [], []
        for name, p in model.named_parameters():
            # Norms, biases, embeddings, the Hyena filter (as HyenaDNA) and learned initial
            # states (a latent model's memory and decoder start) get no decay.
            if p.dim() < 2 or "embed" in name or ".filter." in name or \
                    name.endswith(("memory.init", "decoder.start")):
                no_decay.append(p)
            else:
                decay.append(p)
        return [
            {"params": decay, "weight_decay": self.config.weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ]

    @torch.no_grad()
    def _evaluate(self, model, windows, metrics, t0: float) -> None:
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
        step, val = getattr(self, "_last_eval", (None, math.inf))
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


def describe_outcome(summary: dict, run_dir: str | Path) -> str:
    """What a run ended with, in words: its best checkpoint, else what there is (a run stopped
    before any validation or checkpoint says so, never "inf" or "None")."""
    run_dir = Path(run_dir)
    best, last = summary.get("best_checkpoint"), summary.get("last_checkpoint")
    value = summary.get("best_val_bits_per_byte")
    if best and value is not None:
        return f"best validation {value:.4f} bits/byte at {_relative(best, run_dir)}"
    if value is not None:  # resumed from an older version whose best was pruned
        return f"best validation {value:.4f} bits/byte (its checkpoint is gone)"
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

    from engine.models.checkpoint import WEIGHTS_NAME
    from engine.models.defaults import resolve_model_path

    folder = resolve_model_path(spec)
    try:
        model.load_state_dict(load_file(str(folder / WEIGHTS_NAME), device="cpu"))
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
