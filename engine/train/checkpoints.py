"""Run folders and checkpoints, written so that a killed run leaves only loadable checkpoints.

    RUN_DIR/config.json                 the TrainConfig
    RUN_DIR/metrics.h5                  step and eval metrics (engine.train.metrics)
    RUN_DIR/checkpoints/step-000200/    one complete checkpoint:
        config.json, model.safetensors  the model (engine.models.checkpoint format)
        optimizer.safetensors           AdamW moments, as tensors
        state.json                      step, scheduler, data and torch RNG states, metrics
    RUN_DIR/best.json                   names the checkpoint with the best validation bits/byte

A checkpoint is written into ``step-N.tmp`` and renamed into place, and an old one is renamed
to ``step-N.del`` before it is deleted, so a directory named exactly ``step-N`` is always
complete. A write that fails (disk full, no permission) removes its ``step-N.tmp`` at once; one
left by a killed run is removed when the folder is next opened (:func:`remove_partial`).
Nothing is pickled: tensors go to safetensors, the rest to JSON.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from engine.errors import BytescopeError, ModelError
from engine.models.checkpoint import CHECKPOINTS, checkpoint_dirs, save_model

# checkpoint_dirs lives with the model folders (engine.models resolves a run folder to its
# latest checkpoint and may not import this layer); train's readers import it from here too
_PARTIAL = re.compile(r"step-\d+\.(tmp|del)")
_OS_ERROR = re.compile(r"os error (\d+)")  # how safetensors (Rust) reports an errno


class RunWriteError(BytescopeError):
    """A file of the run folder could not be written (disk full, no permission, read-only);
    the run stops, and its last complete checkpoint is kept."""


def write_problem(error: BaseException) -> str:
    """One line for a failed write: the errno's text (``No space left on device``), not h5py's
    or safetensors' multi-line report of it."""
    number = getattr(error, "errno", None)
    if not number:
        found = _OS_ERROR.search(str(error))
        number = int(found.group(1)) if found else None
    if number:
        return os.strerror(number)
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


@contextlib.contextmanager
def writing(run_dir: Path, name: str) -> Iterator[None]:
    """Report a failed write of ``name`` (a file of ``run_dir``) as one :class:`RunWriteError`."""
    try:
        yield
    except (OSError, SafetensorError) as error:
        raise RunWriteError(f"cannot write {name}: {write_problem(error)}",
                            path=run_dir) from None


def _remove(folder: Path) -> None:
    """Delete a checkpoint so that a kill midway never leaves a half-deleted ``step-N``."""
    doomed = folder.with_name(folder.name + ".del")
    os.replace(folder, doomed)
    shutil.rmtree(doomed, ignore_errors=True)


def optimizer_tensors(optimizer: torch.optim.Optimizer) -> tuple[dict, dict]:
    """Split an optimizer state dict into flat tensors and JSON-able rest."""
    state = optimizer.state_dict()
    tensors, scalars = {}, {}
    for pid, values in state["state"].items():
        for key, value in values.items():
            if torch.is_tensor(value) and value.dim() > 0:
                tensors[f"{pid}.{key}"] = value.detach().cpu().contiguous()
            else:
                scalars[f"{pid}.{key}"] = float(value)
    return tensors, {"scalars": scalars, "param_groups": state["param_groups"]}


def restore_optimizer(optimizer: torch.optim.Optimizer, tensors: dict, meta: dict) -> None:
    state: dict = {}
    for name, value in tensors.items():
        pid, key = name.split(".", 1)
        state.setdefault(int(pid), {})[key] = value
    for name, value in meta["scalars"].items():
        pid, key = name.split(".", 1)
        state.setdefault(int(pid), {})[key] = torch.tensor(value)
    optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})


def save_checkpoint(
    run_dir: Path,
    step: int,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    state: dict,
) -> Path:
    """Write checkpoint ``step`` atomically (``step-N.tmp``, then one rename).

    A failed write raises :class:`RunWriteError` and leaves no ``step-N.tmp`` behind: on a
    full disk, half a checkpoint would keep it full. An older ``step-N`` stays until the new
    one is in place.
    """
    folder = run_dir / CHECKPOINTS
    final = folder / f"step-{step:07d}"
    tmp = folder / f"step-{step:07d}.tmp"
    doomed = folder / f"step-{step:07d}.del"
    moved = False  # whether the old step-N is set aside as step-N.del by this call
    try:
        with writing(run_dir, f"{CHECKPOINTS}/{final.name}"):
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
            if hasattr(model, "head"):  # a task model: its backbone, and its head beside it
                from engine.models.heads import save_task_model

                save_task_model(model, tmp)
            else:
                save_model(model, tmp)
            tensors, meta = optimizer_tensors(optimizer)
            save_file(tensors, str(tmp / "optimizer.safetensors"))
            state = dict(state, optimizer=meta, torch_rng=torch.get_rng_state().tolist())
            if torch.cuda.is_available():  # dropout on the GPU draws from the CUDA generators
                state["cuda_rng"] = [t.tolist() for t in torch.cuda.get_rng_state_all()]
            (tmp / "state.json").write_text(json.dumps(state))
            for path in tmp.iterdir():  # make the bytes durable before the rename publishes
                with open(path, "rb") as handle:
                    os.fsync(handle.fileno())
            if final.exists():
                os.replace(final, doomed)
                moved = True
            os.replace(tmp, final)
    except BaseException:
        if moved and not final.exists():
            os.replace(doomed, final)  # the rename failed: the old checkpoint stays
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(doomed, ignore_errors=True)
    return final


def remove_partial(run_dir: str | Path) -> list[Path]:
    """Remove what a killed run left half-done: ``step-N.tmp`` and ``step-N.del`` folders, and
    a ``checkpoints.del`` of :func:`engine.train.runs.clear_run`. Call it only holding the run
    folder's lock, so no live writer's folder is touched."""
    folder = Path(run_dir) / CHECKPOINTS
    partial = [p for p in folder.iterdir() if p.is_dir() and _PARTIAL.fullmatch(p.name)] \
        if folder.is_dir() else []
    cleared = folder.with_name(f"{CHECKPOINTS}.del")
    partial += [cleared] if cleared.is_dir() else []
    for path in partial:
        shutil.rmtree(path, ignore_errors=True)
    return partial


def prune_checkpoints(run_dir: Path, keep_last: int, protect: Path | None = None) -> None:
    """Delete all but the last ``keep_last`` checkpoints, never ``protect`` (the best)."""
    for old in checkpoint_dirs(run_dir)[:-keep_last] if keep_last > 0 else []:
        if protect is None or old.resolve() != protect.resolve():
            _remove(old)
    for leftover in (Path(run_dir) / CHECKPOINTS).glob("*.del"):  # a kill while deleting
        shutil.rmtree(leftover, ignore_errors=True)


def load_checkpoint(
    folder: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer | None
) -> dict:
    """Load weights (and optimizer) from a checkpoint folder; return its state dict."""
    try:
        if hasattr(model, "head"):  # a task model (engine/models/heads.py)
            model.backbone.load_state_dict(load_file(str(folder / "model.safetensors")))
            model.head.load_state_dict(load_file(str(folder / "head.safetensors")))
        else:
            model.load_state_dict(load_file(str(folder / "model.safetensors")))
        state = json.loads((folder / "state.json").read_text())
        if optimizer is not None:
            tensors = load_file(str(folder / "optimizer.safetensors"))
            restore_optimizer(optimizer, tensors, state["optimizer"])
    except (OSError, ValueError, RuntimeError, KeyError) as error:
        raise ModelError(f"cannot load checkpoint: {error}", path=folder) from None
    torch.set_rng_state(torch.tensor(state["torch_rng"], dtype=torch.uint8))
    if "cuda_rng" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(
            [torch.tensor(t, dtype=torch.uint8) for t in state["cuda_rng"]]
        )
    return state


def rng_state(rng: np.random.Generator) -> dict:
    """A NumPy generator's state as JSON-able data."""
    return rng.bit_generator.state


def rng_from_state(state: dict) -> np.random.Generator:
    bit = getattr(np.random, state["bit_generator"])()
    bit.state = state
    return np.random.Generator(bit)
