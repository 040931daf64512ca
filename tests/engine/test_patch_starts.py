"""Patch starts from an entropy model's cached scores: the model is loaded only on a miss."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.errors import ModelError
from engine.io import open_sequences
from engine.models import build_model, load_model, model_config, save_model
from engine.models.latent import patch_starts_from_entropies
from engine.models.loaded import ModelCache
from engine.patch_starts import EntropyPatches
from engine.patching import PatchConfig
from engine.scoring import ScoreCache, score
from tests.conftest import LAMBDA

PATCHING = {"mode": "entropy", "target_patch_size": 4.0}


@pytest.fixture(scope="module")
def entropy_model(tmp_path_factory):
    torch.manual_seed(0)
    model = build_model(model_config("hyena", "tiny", d_model=16, n_layers=1, max_len=256))
    return save_model(model, tmp_path_factory.mktemp("entropy") / "tiny")


@pytest.fixture
def short(tmp_path):
    path = tmp_path / "short.fa"
    path.write_text(">s\n" + "".join(LAMBDA.read_text().splitlines()[1:])[:3000] + "\n")
    return path


def test_a_cached_record_is_cut_without_loading_the_model(entropy_model, short):
    with open_sequences(short) as sf:
        record = sf[0]
        cached = ScoreCache.for_file(short, entropy_model).scores(
            record, lambda: load_model(entropy_model))
        models = ModelCache()
        flags = EntropyPatches(str(entropy_model), PATCHING, models=models)(short, record)
    assert len(models) == 0
    expected = patch_starts_from_entropies(cached.entropy, PatchConfig.from_dict(PATCHING))
    assert np.array_equal(flags, expected)


def test_a_missed_record_is_scored_with_the_shared_model_and_cached(entropy_model, short):
    models = ModelCache()
    with open_sequences(short) as sf:
        record = sf[0]
        EntropyPatches(str(entropy_model), PATCHING, models=models)(short, record)
        stored = ScoreCache.for_file(short, entropy_model).load(record.id, record.length)
        reference = score(load_model(entropy_model), record)
    assert len(models) == 1
    np.testing.assert_allclose(stored.entropy, reference.entropy, atol=1e-6)


def test_a_byte_mode_is_refused(entropy_model):
    with pytest.raises(ModelError, match="reads no entropies"):
        EntropyPatches(str(entropy_model), {"mode": "static", "patch_size": 4})
