"""Truth test, end to end: a tiny model trained on random DNA with three planted motifs puts
its attribution (exact mutagenesis of each window's log-likelihood) on the planted bases, and
motif discovery gives the three motifs back. Saliency of the same model spreads over the
background (about 1.8x, not 5x; engine/analysis/discovery.py says why), so this is ISM's
test."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from engine.analysis.discovery import discover
from engine.analysis.motif import DNA
from engine.analysis.motifs import motif_pearson
from engine.analysis.windows import Window
from engine.io import open_sequences
from engine.models.checkpoint import build_model, model_config
from engine.tokenizers import ByteTokenizer

pytestmark = pytest.mark.slow

LENGTH = 120_000
HELD_OUT = 100_000  # trained on [0, 100 kb), explained on the rest
GAP = 22  # mean bases between instances


def planted_genome(seed: int = 0):
    """Uniform random DNA with instances of three distinct PPMs (half on the minus strand):
    the sequence, the PPMs and a mask of planted bases."""
    rng = np.random.default_rng(seed)
    ppms = [rng.dirichlet(np.full(4, 0.05), size=w) for w in (12, 13, 14)]
    codes = rng.integers(0, 4, LENGTH)
    mask = np.zeros(LENGTH, bool)
    position = 5
    while position < LENGTH - 20:
        ppm = ppms[int(rng.integers(0, 3))]
        draws = np.array([rng.choice(4, p=col) for col in ppm])
        if rng.random() < 0.5:
            draws = (3 - draws)[::-1]
        codes[position:position + len(ppm)] = draws
        mask[position:position + len(ppm)] = True
        position += len(ppm) + int(rng.integers(5, 2 * GAP - 5))
    letters = np.frombuffer(DNA, np.uint8)[codes]
    return letters, ppms, mask


def train(sequence: np.ndarray, steps: int = 1000, seed: int = 0, batch: int = 32,
          length: int = 128) -> torch.nn.Module:
    """Next-base cross-entropy on random crops of ``sequence`` (a plain AdamW loop)."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = build_model(model_config("hyena", "tiny", d_model=48, n_layers=2, max_len=512))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model.train()
    for _ in range(steps):
        starts = rng.integers(0, len(sequence) - length, batch)
        crops = np.stack([sequence[s:s + length] for s in starts]).astype(np.int64)
        ids = torch.cat([torch.full((batch, 1), ByteTokenizer.BOS), torch.from_numpy(crops)],
                        1)
        logits = model(ids[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


@pytest.fixture(scope="module")
def found(tmp_path_factory):
    letters, ppms, mask = planted_genome()
    path = tmp_path_factory.mktemp("planted") / "planted.fa"
    text = letters.tobytes().decode()
    path.write_text(">planted\n" + "\n".join(text[i:i + 60] for i in range(0, len(text), 60))
                    + "\n")
    model = train(letters[:HELD_OUT])
    windows = [Window("planted", s, s + 100) for s in range(HELD_OUT, LENGTH - 100, 200)]
    with open_sequences(path) as sf:
        result = discover(model, {r.id: r for r in sf}, windows, context=100, method="ism")
    return result, ppms, mask


def test_attribution_mass_sits_on_the_planted_bases(found):
    result, _, mask = found
    planted = np.stack([mask[w.start:w.end] for w in result.windows])
    magnitude = np.abs(result.contributions)
    ratio = magnitude[planted].mean() / magnitude[~planted].mean()
    print(f"attribution per base, planted / background: {ratio:.1f}x")
    assert ratio >= 5.0, ratio


def test_discovery_returns_each_planted_motif_and_at_most_two_others(found):
    result, ppms, _ = found
    motifs = result.motifs
    best = [max((motif_pearson(m.ppm, p) for m in motifs), default=0.0) for p in ppms]
    print("best Pearson per planted motif:", [round(b, 2) for b in best],
          [(m.consensus(), m.n_instances) for m in motifs])
    assert min(best) >= 0.8, (best, [m.consensus() for m in motifs])
    spurious = [m for m in motifs if max(motif_pearson(m.ppm, p) for p in ppms) < 0.8]
    assert len(spurious) <= 2, [m.consensus() for m in spurious]
