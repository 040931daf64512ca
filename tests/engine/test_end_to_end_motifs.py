"""End to end: train on random DNA with planted motifs; entropy and patches must find them.

I.i.d. random bases carry ln 4 nats of uncertainty each; once a motif's first bases have been
read, the rest of it is predictable. A model that learned the data must show low entropy inside
motifs, and entropy-mode patching must then start patches at (or next to) motif starts.
"""

from __future__ import annotations

import numpy as np
import pytest

from engine.io import open_sequences
from engine.models import load_model
from engine.patching import PatchConfig, Patcher
from engine.scoring import score
from engine.train import TrainConfig, Trainer

LN4 = float(np.log(4))


def planted_genome(n: int, motifs: list[bytes], seed: int) -> tuple[bytes, list[tuple[int, int]]]:
    rng = np.random.default_rng(seed)
    seq = bytearray(rng.choice(np.frombuffer(b"ACGT", np.uint8), n).tobytes())
    sites = []
    pos = int(rng.integers(20, 60))
    while pos < n - 40:
        motif = motifs[int(rng.integers(len(motifs)))]
        seq[pos : pos + len(motif)] = motif
        sites.append((pos, pos + len(motif)))
        pos += len(motif) + int(rng.integers(30, 90))
    return bytes(seq), sites


@pytest.mark.slow  # 35-60 s of training: run after the README's test command (.ci/run)
def test_a_short_training_finds_planted_motifs(tmp_path):
    rng = np.random.default_rng(7)
    motifs = [rng.choice(np.frombuffer(b"ACGT", np.uint8), k).tobytes() for k in (8, 12, 16)]
    genome, sites = planted_genome(120_000, motifs, seed=8)
    fasta = tmp_path / "planted.fa"
    fasta.write_text(">planted\n" + genome.decode() + "\n")

    run = tmp_path / "run"
    cfg = TrainConfig(files=[str(fasta)], steps=600, seq_len=256, batch_size=16, lr=3e-3,
                      warmup_steps=40, eval_every=600, checkpoint_every=600, seed=0,
                      model={"d_model": 64, "n_layers": 2})
    Trainer(cfg, run).run()
    model = load_model(next((run / "checkpoints").iterdir()))

    cut = int(len(genome) * 0.9)  # evaluate on the held-out tenth only
    with open_sequences(fasta) as sf:
        h = score(model, sf[0], cut, len(genome)).entropy  # h[i] is about byte cut + i + 1
    held = [(a - cut, b - cut) for a, b in sites if a >= cut + 2 and b < len(genome) - 1]
    inside = np.zeros(len(h), dtype=bool)
    for a, b in held:
        inside[a + 2 : b - 1] = True  # entropies about the motif's 4th base to its last
    near_motif = np.zeros(len(h), dtype=bool)
    for a, b in held:
        near_motif[max(a - 2, 0) : b + 1] = True
    background = h[~near_motif].mean()
    motif_mean = h[inside].mean()
    print(f"background {background:.3f} motif {motif_mean:.3f}")
    assert background > 0.8 * LN4  # random bases stay uncertain (close to ln 4)
    assert motif_mean < 0.5 * background  # far below: the motif was learned

    theta = (motif_mean + background) / 2
    starts = Patcher(PatchConfig(mode="entropy", threshold=float(theta))).patch(h).starts
    hits = [np.abs(starts - a).min() <= 1 for a, _ in held]
    print(f"hits {np.mean(hits):.3f} of {len(hits)}")
    assert np.mean(hits) >= 0.8
