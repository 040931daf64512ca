"""What every model gives the Trainer: ``forward(..., return_aux=True)`` and
``optimizer_groups(weight_decay)`` (engine.models.parameter_groups)."""

from __future__ import annotations

import pytest
import torch

from engine.models import build_model, byte_model_no_decay, model_config, parameter_groups

BYTE_ARCHS = ["hyena", "attention"]


def tiny(arch: str) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model(model_config(arch, "tiny", d_model=32, n_layers=2, max_len=64)).eval()


@pytest.mark.parametrize("arch", BYTE_ARCHS)
def test_a_byte_model_returns_its_logits_and_a_zero_aux_loss(arch):
    model = tiny(arch)
    idx = torch.randint(0, 256, (2, 40))
    logits, aux = model(idx, return_aux=True)
    assert torch.equal(logits, model(idx))
    assert aux.shape == () and aux.item() == 0.0


@pytest.mark.parametrize("arch", BYTE_ARCHS)
def test_optimizer_groups_hold_every_parameter_once(arch):
    model = tiny(arch)
    decay, keep = model.optimizer_groups(0.1)
    assert (decay["weight_decay"], keep["weight_decay"]) == (0.1, 0.0)
    ids = [id(p) for p in decay["params"] + keep["params"]]
    assert sorted(ids) == sorted(id(p) for p in model.parameters())


def test_a_hyena_model_decays_its_matrices_only():
    model = tiny("hyena")
    names = {id(p): n for n, p in model.named_parameters()}
    decay, keep = model.optimizer_groups(0.1)
    decayed = {names[id(p)] for p in decay["params"]}
    kept = {names[id(p)] for p in keep["params"]}
    assert "blocks.0.mixer.in_proj.weight" in decayed and "blocks.1.mlp.fc2.weight" in decayed
    assert {"embed.weight", "ln_f.weight", "blocks.0.mixer.in_proj.bias",
            "blocks.0.mixer.filter.fc_in.weight", "blocks.0.mixer.filter.act.freq"} <= kept
    assert not any(".filter." in n or "embed" in n for n in decayed)


def test_parameter_groups_follow_the_rule_given():
    model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Linear(4, 2))
    decay, keep = parameter_groups(model, 0.5, lambda name, p: name.startswith("1."))
    assert [p.shape for p in decay["params"]] == [(4, 4), (4,)]
    assert [p.shape for p in keep["params"]] == [(2, 4), (2,)]


def test_the_byte_model_rule_keeps_norms_biases_embeddings_and_filters():
    matrix = torch.nn.Parameter(torch.zeros(3, 3))
    assert not byte_model_no_decay("blocks.0.mlp.fc1.weight", matrix)
    assert byte_model_no_decay("blocks.0.mlp.fc1.bias", torch.nn.Parameter(torch.zeros(3)))
    assert byte_model_no_decay("embed.weight", matrix)
    assert byte_model_no_decay("blocks.0.mixer.filter.fc_out.weight", matrix)
