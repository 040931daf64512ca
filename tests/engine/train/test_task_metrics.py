"""Task metrics against scikit-learn's definitions (the reference), and by hand."""

from __future__ import annotations

import numpy as np
import pytest

from engine.train.task_metrics import auroc, classification_metrics, confusion, mcc

sk = pytest.importorskip("sklearn.metrics", reason="scikit-learn (the test extra) is the reference")


@pytest.mark.parametrize("seed", range(5))
def test_every_figure_is_scikit_learns(seed):
    rng = np.random.default_rng(seed)
    n, k = 500, 4
    truth = rng.integers(0, k, n)
    logits = rng.normal(size=(n, k)) + 1.5 * np.eye(k)[truth] * rng.random((n, 1))
    logits[:40] = np.round(logits[:40])  # some tied scores
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    got = classification_metrics(truth, p, ("a", "b", "c", "d"))
    predicted = p.argmax(axis=1)
    assert got["accuracy"] == pytest.approx(sk.accuracy_score(truth, predicted))
    assert got["macro_f1"] == pytest.approx(sk.f1_score(truth, predicted, average="macro"))
    assert got["mcc"] == pytest.approx(sk.matthews_corrcoef(truth, predicted))
    np.testing.assert_array_equal(got["confusion"], sk.confusion_matrix(truth, predicted))
    for j, name in enumerate("abcd"):
        assert got[f"auroc/{name}"] == pytest.approx(sk.roc_auc_score(truth == j, p[:, j]))
    assert got["auroc"] == pytest.approx(sk.roc_auc_score(truth, p, multi_class="ovr"))


def test_by_hand_a_perfect_and_a_one_sided_case():
    c = confusion([0, 0, 1, 2], [0, 0, 1, 2], 3)
    assert mcc(c) == 1.0 and np.trace(c) == 4
    assert auroc([True, False, True], [0.9, 0.1, 0.8]) == 1.0
    assert auroc([False, True], [0.9, 0.1]) == 0.0
    assert np.isnan(auroc([True, True], [0.3, 0.4]))  # no negatives
    assert auroc([True, False, True, False], [0.5, 0.5, 0.5, 0.5]) == 0.5  # all tied
