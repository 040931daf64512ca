"""Where a patch-level model's patches start: an entropy model scores each record once (cached
like every score, by file content and model hash), the patcher cuts.

BLT trains its latent model on patches from a separately trained small byte model; here that
model is any ``--model`` spec (``fast`` by default: the bundled small nucleotide model for DNA
and RNA, the default model for other alphabets), and the cut is any entropy-mode
:class:`~engine.patching.PatchConfig` (default: a global threshold searched per record for a
mean patch length of 6 bytes, BLT's figure). Training (engine/train), ``bytescope inspect``
and the window's Maps panel read the same starts.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np

from engine.errors import ModelError
from engine.io.cache import content_hash
from engine.io.records import Record
from engine.models.defaults import resolve_model_path
from engine.models.latent import patch_starts_from_entropies
from engine.models.loaded import LOADED, ModelCache
from engine.patching import PatchConfig
from engine.scoring import ScoreCache


class EntropyPatches:
    """``(path, record) -> bool per byte``: True where the patcher starts a patch.

    The entropy model is loaded only when a record is not in the score cache, from ``models``
    (the process's shared cache by default). The last record's flags are kept (read-only), so a
    caller that asks again for the same record (the Maps panel following the view) neither
    rescores nor repatches it.
    """

    def __init__(self, model_spec: str, patching: dict, device: str = "cpu",
                 models: ModelCache = LOADED) -> None:
        self.model_spec = model_spec
        self.config = PatchConfig.from_dict(patching)
        if not self.config.needs_entropies:
            raise ModelError(f"patching mode {self.config.mode!r} reads no entropies; a "
                             "patch-level model takes its patches from an entropy model")
        self.device = device
        self.models = models
        # hashed once per file and model folder: a training run asks once per record
        self._file_hashes: dict[str, str] = {}
        self._caches: dict[tuple[str, str], ScoreCache] = {}
        self._last: tuple[tuple[str, str], np.ndarray] | None = None

    def _cache(self, path: str, folder: Path) -> ScoreCache:
        key = (path, str(folder))
        if key not in self._caches:
            if path not in self._file_hashes:
                self._file_hashes[path] = content_hash(path)
            self._caches[key] = ScoreCache.for_file(path, folder,
                                                    file_hash=self._file_hashes[path])
        return self._caches[key]

    def __call__(self, path: str | Path, record: Record) -> np.ndarray:
        key = (str(path), record.id)
        if self._last is not None and self._last[0] == key:
            return self._last[1]
        folder = resolve_model_path(self.model_spec, record.alphabet)
        model = partial(self.models.get, folder, device=self.device)
        scores = self._cache(key[0], folder).scores(record, model, device=self.device)
        flags = patch_starts_from_entropies(scores.entropy, self.config)
        flags.setflags(write=False)
        self._last = (key, flags)
        return flags
