"""Training the patch-level model (hyena-blt) with the same Trainer: patches from an entropy
model and the patcher, auxiliary losses, exact resume."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from engine.io import open_sequences
from engine.models import build_model, load_model, model_config, save_model
from engine.patch_starts import EntropyPatches
from engine.patching import PatchConfig, Patcher
from engine.scoring import score
from engine.train import Trainer, checkpoint_dirs, read_metrics
from tests.conftest import LAMBDA
from tests.engine.train.test_trainer import config

LATENT = {"d_local": 16, "d_global": 32, "n_local_layers": 1, "n_global_layers": 2,
          "n_decoder_layers": 1, "n_heads": 2, "n_experts": 4, "top_k": 2, "n_memories": 2,
          "memory_slots": 2, "segment_len": 4, "max_patches": 64}
PATCHING = {"mode": "entropy", "target_patch_size": 4.0}


@pytest.fixture(scope="module")
def entropy_model(tmp_path_factory):
    torch.manual_seed(0)
    model = build_model(model_config("hyena", "tiny", d_model=16, n_layers=1, max_len=256))
    return save_model(model, tmp_path_factory.mktemp("entropy") / "tiny")


def latent_config(entropy_model, **kw):
    return config(arch="hyena-blt", model=LATENT, patch_model=str(entropy_model),
                  patching=PATCHING, **kw)


def test_patches_come_from_the_entropy_model_and_the_patcher(entropy_model):
    patches = EntropyPatches(str(entropy_model), PATCHING)
    with open_sequences(LAMBDA) as sf:
        record = next(iter(sf))
        flags = patches(LAMBDA, record)
        entropy = score(load_model(entropy_model), record).entropy
    expected = Patcher(PatchConfig.from_dict(PATCHING)).patch(entropy).starts
    assert np.array_equal(np.flatnonzero(flags), expected[expected < record.length])
    assert abs(record.length / flags.sum() - 4.0) < 0.4  # the target mean patch length


def test_the_last_records_patch_starts_are_kept_read_only(entropy_model, tmp_path):
    patches = EntropyPatches(str(entropy_model), PATCHING)
    two = tmp_path / "two.fa"
    seq = "".join(LAMBDA.read_text().splitlines()[1:])
    two.write_text(f">a\n{seq[:2000]}\n>b\n{seq[2000:4000]}\n")
    with open_sequences(two) as sf:
        a, b = sf["a"], sf["b"]
        first = patches(two, a)
        assert patches(two, a) is first and not first.flags.writeable
        other = patches(two, b)
        assert other is not first and len(other) == b.length
        assert np.array_equal(patches(two, a), first)  # recomputed, the same


def test_a_latent_model_trains_with_its_auxiliary_losses_and_resumes_exactly(
        tmp_path, entropy_model):
    cfg = latent_config(entropy_model, steps=6, checkpoint_every=3, eval_every=3)
    summary = Trainer(cfg, tmp_path / "straight").run()
    assert summary["step"] == 6 and np.isfinite(summary["best_val_bits_per_byte"])
    steps = read_metrics(tmp_path / "straight" / "metrics.h5")["step"]
    assert (steps["aux_loss"] > 0).all()  # load balancing + z-loss of the MoE layers

    split = Trainer(cfg, tmp_path / "split")
    split.subscribe(lambda e: split.request_stop() if e.kind == "step" and e.step == 3 else 0)
    split.run()
    Trainer(cfg, tmp_path / "split", resume=True).run()
    a = load_file(str(checkpoint_dirs(tmp_path / "straight")[-1] / "model.safetensors"))
    b = load_file(str(checkpoint_dirs(tmp_path / "split")[-1] / "model.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert load_model(checkpoint_dirs(tmp_path / "split")[-1]).config.arch == "hyena-blt"
