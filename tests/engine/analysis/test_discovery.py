"""Discovery's targets: the window's log-likelihood, or the anchor codon's alone (which
upstream bases make the model expect the start codon), by saliency and by mutagenesis."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.analysis.attribution import Target, mutagenesis, saliency
from engine.analysis.discovery import explain_windows
from engine.analysis.windows import around_features, random_windows, read_window
from engine.errors import InputError
from engine.io import open_annotations, open_sequences
from engine.models import build_model, model_config
from engine.resources import sample_path

GFF = sample_path("prokka_BAC_00001.gff3.gz")
UP, CONTEXT = 12, 10


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return build_model(model_config("hyena", "tiny", d_model=16, n_layers=1, max_len=64)).eval()


@pytest.fixture(scope="module")
def genome():
    with open_sequences(GFF) as sf:
        records = {r.id: r for r in sf}
        lengths = {r.id: r.length for r in sf}
        windows, _ = around_features(open_annotations(GFF), "CDS", "start", UP, lengths)
        yield records, windows[:6]


@pytest.mark.parametrize("method", ["ism", "saliency"])
def test_the_anchor_target_explains_the_codon_by_the_bases_before_it(model, genome, method):
    records, windows = genome
    kept, sequences, contributions, _ = explain_windows(
        model, records, windows, CONTEXT, method=method, target="anchor")
    assert len(kept) == len(windows) and sequences.shape == (len(windows), UP + 3)
    assert not contributions[:, UP:].any()  # the codon (the target) and after: nothing
    for row, k in enumerate(kept):
        data, ctx = read_window(records[windows[k].record], windows[k], CONTEXT)
        window = np.frombuffer(data, np.uint8)
        codon = Target("region", ctx + UP, ctx + UP + 3)
        if method == "ism":
            expected = -mutagenesis(model, window, codon, positions=(ctx, ctx + UP)).values
        else:
            expected = saliency(model, window, codon, alphabet=b"ACGT").values
        np.testing.assert_allclose(contributions[row, :UP], expected[ctx:ctx + UP], atol=1e-5)
        assert np.abs(contributions[row, :UP]).max() > 0


def test_the_window_target_differs_and_the_anchor_target_needs_anchors(model, genome):
    records, windows = genome
    _, _, whole, _ = explain_windows(model, records, windows, CONTEXT, method="ism")
    _, _, codon, _ = explain_windows(model, records, windows, CONTEXT, method="ism",
                                     target="anchor")
    assert np.abs(whole[:, UP:]).max() > 0 and not np.allclose(whole[:, :UP], codon[:, :UP])
    plain = random_windows({r: records[r].length for r in records}, 3, 15)
    with pytest.raises(InputError, match="--around"):
        explain_windows(model, records, plain, CONTEXT, target="anchor")
    with pytest.raises(InputError, match="target must be one of"):
        explain_windows(model, records, windows, CONTEXT, target="codon")


def test_the_patch_level_model_is_refused_in_words(genome):
    records, windows = genome
    torch.manual_seed(0)
    blt = build_model(model_config("hyena-blt", "tiny", d_local=16, d_global=32, n_heads=2,
                                   max_len=64, filter_order=16)).eval()
    with pytest.raises(InputError, match="one locus at a time"):
        explain_windows(blt, records, windows, CONTEXT, method="ism")
