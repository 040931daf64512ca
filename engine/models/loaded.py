"""Loaded models shared by everything that scores in one process: the window's scoring jobs, the
patch starts a patch-level model trains on or is inspected with (engine/patch_starts.py).

A model is kept under (resolved folder, device, model hash), so a folder whose config, weights
or repeat expert changed on disk is loaded afresh on the next lookup, and its older model is
dropped. The few most recently used models stay (an LRU of :data:`DEFAULT_SIZE`); the bundled
ones are a few MB each.

Shared models are read-only to their users: scoring runs forward passes, which keep no state,
from several worker threads at once. Nothing may move one (``.to``), train it, or hang state on
it (``capture_maps`` registers forward hooks on it, so a model being inspected is loaded on
its own).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

import torch
from torch import nn

from engine.errors import ModelError

from .checkpoint import WEIGHTS_NAME, load_model, model_hash

DEFAULT_SIZE = 4


class _Slot:
    """One cached model, loaded by the first thread that asks; the others wait on its lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.model: nn.Module | None = None


class ModelCache:
    """Loaded models by (folder, device, model hash), the ``size`` most recently used kept.

    Thread-safe: concurrent lookups of one model load it once (the others wait for it);
    lookups of other models, and hashing, do not wait for a load in progress.
    """

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        if size < 1:
            raise ValueError(f"a model cache holds at least one model, not {size}")
        self.size = size
        self._slots: OrderedDict[tuple[str, str, str], _Slot] = OrderedDict()
        self._lock = threading.Lock()  # guards _slots only, never held while loading

    def get(self, folder: str | Path, *, device: str | torch.device = "cpu") -> nn.Module:
        """The model in ``folder`` (a model folder or its ``model.safetensors``) on ``device``,
        in eval mode, loaded once for as long as its files stay the same."""
        folder = Path(folder)
        folder = (folder.parent if folder.name == WEIGHTS_NAME else folder).resolve()
        try:
            digest = model_hash(folder)
        except OSError as error:  # load_model would say the same, later
            raise ModelError(f"cannot read the model: {error.strerror or error}",
                             path=error.filename or folder) from None
        key = (str(folder), str(torch.device(device)), digest)
        with self._lock:
            slot = self._slots.get(key)
            if slot is None:
                # the same folder under another hash is stale: its files have changed
                for old in [k for k in self._slots if k[:2] == key[:2]]:
                    del self._slots[old]
                slot = self._slots[key] = _Slot()
            self._slots.move_to_end(key)
            while len(self._slots) > self.size:
                self._slots.popitem(last=False)  # holders keep their model; only we forget it
        with slot.lock:
            if slot.model is None:
                slot.model = load_model(folder, device=device)
            return slot.model

    def clear(self) -> None:
        with self._lock:
            self._slots.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._slots)


LOADED = ModelCache()  # the process's: one copy of each model, whoever scores with it


def loaded_model(folder: str | Path, *, device: str | torch.device = "cpu") -> nn.Module:
    """The shared loaded model in ``folder`` (see :class:`ModelCache`)."""
    return LOADED.get(folder, device=device)
