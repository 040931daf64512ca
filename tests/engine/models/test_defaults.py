"""The bundled models: present, loadable, picked by alphabet."""

from __future__ import annotations

import pytest
import torch

from engine.errors import ModelError
from engine.models import load_model
from engine.models.defaults import MODELS, resolve_model_path


@pytest.mark.parametrize(
    ("spec", "alphabet", "name"),
    [("default", "dna", "nucleotide"), ("default", "rna", "nucleotide"),
     ("fast", "dna", "nucleotide-fast"), ("default", "protein", "protein"),
     ("default", "text", "text"), ("default", "bytes", "text")],
)
def test_each_alphabet_gets_its_bundled_model_and_it_loads(spec, alphabet, name):
    folder = resolve_model_path(spec, alphabet)
    assert folder == MODELS / name
    model = load_model(folder)
    logits = model(torch.tensor([[257, *b"MKV"]]))
    assert logits.shape == (1, 4, 259) and torch.isfinite(logits).all()


def test_fast_falls_back_to_the_default_for_non_nucleic_records():
    assert resolve_model_path("fast", "protein") == resolve_model_path("default", "protein")


def test_a_path_that_is_no_model_is_a_model_error(tmp_path):
    with pytest.raises(ModelError, match="no model here"):
        resolve_model_path(tmp_path)
