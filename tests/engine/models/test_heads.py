"""Task heads: what each head reads, its loss and weights, saving and loading."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from engine.errors import ModelError
from engine.models import build_model, model_config
from engine.models.heads import (
    IGNORE,
    HeadConfig,
    TaskModel,
    complement_table,
    flip_rows,
    inverse_frequency_weights,
    load_task_model,
    save_task_model,
    task_loss,
)

ACGT = torch.tensor([ord(c) for c in "ACGT"])


def backbone(arch="hyena"):
    torch.manual_seed(0)
    return build_model(model_config(arch, "tiny", d_model=16, n_layers=1, max_len=64)).eval()


def ids(seed=0, shape=(2, 40)):
    g = torch.Generator().manual_seed(seed)
    return ACGT[torch.randint(0, 4, shape, generator=g)]


def test_the_complement_swaps_bases_in_either_case_and_leaves_other_bytes():
    table = complement_table(259)
    assert bytes(table[torch.tensor(list(b"ACGTacgtNn>"))].tolist()) == b"TGCAtgcaNn>"


def test_flipping_rows_reverses_each_rows_bases_and_keeps_its_padding():
    x = torch.tensor([[1, 2, 3, 9], [4, 5, 9, 9]])
    assert flip_rows(x, torch.tensor([3, 2])).tolist() == [[3, 2, 1, 9], [5, 4, 9, 9]]


@pytest.mark.parametrize("arch", ["hyena", "attention"])
def test_a_per_base_head_reading_both_strands_sees_the_bases_after_each_base(arch):
    """Change base 20: with both strands, the logits of bases before it move; causal alone,
    they do not (each position reads bases up to itself only)."""
    x = ids()
    y = x.clone()
    y[0, 20] = ACGT[(ACGT == x[0, 20]).nonzero()[0, 0] - 1]  # another base
    for both in (True, False):
        model = TaskModel(backbone(arch), HeadConfig(classes=("n", "c"), both_strands=both,
                                                     dropout=0.0)).eval()
        with torch.no_grad():
            a, b = model(x), model(y)
        assert a.shape == (2, 40, 2)
        before = (a[0, :20] - b[0, :20]).abs().max().item()
        assert (before > 1e-6) == both, (both, before)
        assert torch.equal(a[1], b[1])  # rows do not mix


def test_a_sequence_head_pools_only_each_rows_bases():
    model = TaskModel(backbone(), HeadConfig(task="sequence", classes=("a", "b", "c"),
                                             dropout=0.0)).eval()
    x = ids(shape=(1, 30))
    padded = torch.cat([x, torch.full((1, 10), 256)], dim=1)
    with torch.no_grad():
        alone = model(x)
        with_pad = model(padded, torch.tensor([30]))
    assert alone.shape == (1, 3)
    torch.testing.assert_close(alone, with_pad, atol=1e-5, rtol=1e-5)


def test_the_loss_is_class_weighted_cross_entropy_over_labelled_bases():
    logits = torch.randn(2, 5, 3)
    targets = torch.tensor([[0, 1, 2, IGNORE, 1], [2, 2, IGNORE, 0, 1]])
    w = torch.tensor([1.0, 2.0, 0.5])
    logp = torch.log_softmax(logits, -1)
    keep = targets != IGNORE
    t = targets[keep]
    expected = -(w[t] * logp[keep][torch.arange(len(t)), t]).sum() / w[t].sum()
    torch.testing.assert_close(task_loss(logits, targets, class_weights=w), expected)


def test_balanced_weights_give_each_present_class_the_same_total():
    counts = torch.tensor([90, 10, 0])
    w = inverse_frequency_weights(counts)
    assert w[2] == 0
    assert (w[0] * 90).item() == pytest.approx((w[1] * 10).item())
    assert (w * counts).sum().item() == pytest.approx(100)


def test_a_task_model_saves_beside_its_backbone_and_loads_the_same(tmp_path):
    model = TaskModel(backbone(), HeadConfig(classes=("intergenic", "CDS"), hidden=8)).eval()
    folder = save_task_model(model, tmp_path / "task")
    again = load_task_model(folder)
    x = ids()
    with torch.no_grad():
        torch.testing.assert_close(again(x), model(x))
    assert json.loads((folder / "head.json").read_text())["classes"] == ["intergenic", "CDS"]
    (folder / "head.json").write_text(json.dumps({"classes": ["a", "b"], "colour": "red"}))
    with pytest.raises(ModelError, match="colour") as caught:
        load_task_model(folder)
    assert "head.json" in str(caught.value)


@pytest.mark.parametrize("bad, words", [({"classes": ("a",)}, "at least 2"),
                                        ({"classes": ("a", "a")}, "differ"),
                                        ({"task": "token", "classes": ("a", "b")}, "task")])
def test_bad_head_settings_are_refused(bad, words):
    with pytest.raises(ModelError, match=words):
        HeadConfig(**bad).validate()


def test_a_head_learns_a_planted_per_base_label_in_a_few_steps():
    """Bases inside a GGGGG run are class 1: the head must see the run's end (both strands)."""
    torch.manual_seed(0)
    model = TaskModel(backbone(), HeadConfig(classes=("other", "run"), dropout=0.0))
    x = ids(seed=1, shape=(8, 48))
    x[:, 10:15] = ord("G")
    x[:, 30:35] = ord("G")
    labels = torch.zeros_like(x)
    labels[:, 10:15] = labels[:, 30:35] = 1
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for _ in range(300):
        opt.zero_grad()
        loss = task_loss(model(x), labels)
        loss.backward()
        opt.step()
    with torch.no_grad():
        predicted = model.eval()(x).argmax(-1)
    accuracy = (predicted == labels).float().mean().item()
    assert accuracy > 0.97, (accuracy, loss.item())
    assert np.isfinite(loss.item())
