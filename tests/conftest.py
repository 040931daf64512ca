"""Shared fixtures: real data locations, an isolated cache, Qt offscreen."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest
import torch

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# One torch thread: the tests' models are tiny, and several OpenMP threads on a machine that is
# busy with anything else wait for each other at every operation (the planted-motif test took
# 35 s with 2 threads on a quiet 2-core machine, 103 s beside one busy process; see
# bench/threads.py). Tests that are about threads set their own count. OMP_NUM_THREADS keeps
# it so: the CLI's default (engine.threads.set_threads) leaves a count that variable set alone,
# and the commands tests start as subprocesses read it too.
torch.set_num_threads(1)
os.environ.setdefault("OMP_NUM_THREADS", "1")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
TEST_DATA = Path(__file__).resolve().parent / "data"
LAMBDA = REPO / "resources" / "samples" / "lambda_phage.fa"


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory, monkeypatch) -> Path:
    """Every test gets its own empty cache folder, so no test sees another's cached copies."""
    path = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("BYTESCOPE_CACHE_DIR", str(path))
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the checkout; tests that need it skip on a user's clone."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"{SHARED_DATA} is absent (a user's clone): real-data test skipped")
    return SHARED_DATA


@pytest.fixture(scope="session")
def lambda_path() -> Path:
    """The lambda phage genome shipped in resources/samples (48,502 bp, 1 record)."""
    return LAMBDA


RECORD = "chrT"
LENGTH = 3000
# (type, start, end, strand, name): 0-based half-open, written 1-based to the GFF3
FEATURES = (
    ("CDS", 100, 700, "+", "alpha"),
    ("CDS", 650, 1200, "-", "beta"),
    ("tRNA", 1300, 1376, "+", "trnA"),
    ("CDS", 1500, 2400, "+", "gamma"),
    ("rRNA", 2500, 2900, "-", "rrsA"),
    ("gene", 2500, 2900, "-", "rrsA_gene"),
)


def lambda_bases(n: int) -> str:
    return "".join(LAMBDA.read_text().splitlines()[1:])[:n]


def write_gff3(path: Path, record: str = RECORD, length: int = LENGTH,
               features=FEATURES) -> Path:
    lines = ["##gff-version 3", f"##sequence-region {record} 1 {length}"]
    for type_, start, end, strand, name in features:
        lines.append(f"{record}\ttest\t{type_}\t{start + 1}\t{end}\t.\t{strand}\t0\t"
                     f"ID={name}_id;Name={name};locus_tag={name.upper()}")
    seq = lambda_bases(length)
    lines += ["##FASTA", f">{record}"] + [seq[i:i + 60] for i in range(0, len(seq), 60)]
    text = "\n".join(lines) + "\n"
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


# A hyena-blt with every map the Maps panel shows: MoE in both global blocks, an attention
# block (layer 1), gated memory experts over segments of 8 patches.
LATENT = {"d_local": 16, "d_global": 32, "n_local_layers": 1, "n_global_layers": 2,
          "n_decoder_layers": 1, "n_heads": 2, "n_experts": 4, "top_k": 2, "n_memories": 2,
          "memory_slots": 2, "segment_len": 8, "global_attention_layers": [1]}


@pytest.fixture(scope="session")
def latent_run(tmp_path_factory) -> Path:
    """A hyena-blt run (LATENT, max_len 512) trained for 4 steps (~2 s) on the 3,000-base
    annotated record (``genome.gff3`` beside the run); its config names a tiny untrained
    Hyena entropy model for the patches."""
    import torch

    from engine.models import build_model, model_config, save_model
    from engine.train import TrainConfig, Trainer

    root = tmp_path_factory.mktemp("latent")
    data = write_gff3(root / "genome.gff3")
    torch.manual_seed(0)
    entropy = save_model(build_model(model_config("hyena", "tiny", d_model=16, n_layers=1,
                                                  max_len=256)), root / "entropy")
    config = TrainConfig(files=[str(data)], arch="hyena-blt", model=LATENT, steps=4,
                         seq_len=512, batch_size=2, eval_every=4, eval_batches=1,
                         checkpoint_every=4, warmup_steps=1, patch_model=str(entropy),
                         patching={"mode": "entropy", "target_patch_size": 5.0})
    Trainer(config, root / "run").run()
    return root / "run"
