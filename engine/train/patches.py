"""Where a patch-level model's patches start in its training data: an entropy model scores each
record once (cached like every score, by file content and model hash), the patcher cuts.

BLT trains its latent model on patches from a separately trained small byte model; here that
model is any ``--model`` spec (``fast`` by default: the bundled small nucleotide model for DNA
and RNA, the default model for other alphabets), and the cut is any entropy-mode
:class:`~engine.patching.PatchConfig` (default: a global threshold searched per record for a
mean patch length of 6 bytes, BLT's figure).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.errors import ModelError
from engine.io.cache import content_hash
from engine.io.records import Record
from engine.models import load_model, model_hash
from engine.models.defaults import resolve_model_path
from engine.models.latent import patch_starts_from_entropies
from engine.patching import PatchConfig
from engine.scoring import ScoreCache, score_record_cached


class EntropyPatches:
    """``(path, record) -> bool per byte``: True where the patcher starts a patch.

    The last record's flags are kept (read-only), so a caller that asks again for the same
    record (the Maps panel following the view) neither rescores nor repatches it.
    """

    def __init__(self, model_spec: str, patching: dict, device: str = "cpu") -> None:
        self.model_spec = model_spec
        self.config = PatchConfig.from_dict(patching)
        if not self.config.needs_entropies:
            raise ModelError(f"patching mode {self.config.mode!r} reads no entropies; a "
                             "patch-level model takes its patches from an entropy model")
        self.device = device
        self._models: dict[str, tuple[object, str]] = {}  # folder -> (model, hash)
        self._hashes: dict[str, str] = {}
        self._last: tuple[tuple[str, str], np.ndarray] | None = None

    def _model(self, alphabet: str):
        folder = str(resolve_model_path(self.model_spec, alphabet))
        if folder not in self._models:
            model = load_model(folder).to(self.device).eval()
            self._models[folder] = (model, model_hash(folder))
        return self._models[folder]

    def __call__(self, path: str | Path, record: Record) -> np.ndarray:
        key = (str(path), record.id)
        if self._last is not None and self._last[0] == key:
            return self._last[1]
        model, mhash = self._model(record.alphabet)
        if key[0] not in self._hashes:
            self._hashes[key[0]] = content_hash(path)
        cache = ScoreCache(self._hashes[key[0]], mhash)
        scores = score_record_cached(model, cache, record, device=self.device)
        flags = patch_starts_from_entropies(scores.entropy, self.config)
        flags.setflags(write=False)
        self._last = (key, flags)
        return flags
