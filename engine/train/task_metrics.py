"""Classification metrics for task heads (issue 18), from a confusion matrix in NumPy.

Every figure is a few array operations on the confusion matrix ``C`` (rows: true class,
columns: predicted), so one pass over the labels gives them all; scikit-learn computes the
same definitions and is what ``tests/engine/train/test_task_metrics.py`` checks them against:

* accuracy ``trace(C) / sum(C)``;
* per-class F1 ``2 TP / (2 TP + FP + FN)``, macro F1 their mean over the classes present
  (in the labels or the predictions);
* MCC, the multi-class (Gorodkin) form: ``(c s - Σ_k p_k t_k) / sqrt((s² - Σ p_k²)(s² - Σ t_k²))``
  with ``c = trace(C)``, ``s = ΣC``, ``t_k`` the true and ``p_k`` the predicted counts;
* AUROC one class against the rest, by ranks (Mann-Whitney U): ``(R₊ - n₊(n₊+1)/2) / (n₊ n₋)``
  with ``R₊`` the sum of the positives' (tie-averaged) ranks of the scores; NaN when a class
  has no positives or no negatives.
"""

from __future__ import annotations

import numpy as np


def confusion(truth: np.ndarray, predicted: np.ndarray, n_classes: int) -> np.ndarray:
    """``C[i, j]``: how many of class ``i`` were predicted ``j`` (int64)."""
    truth, predicted = np.asarray(truth, np.int64).ravel(), np.asarray(predicted, np.int64).ravel()
    if truth.shape != predicted.shape:
        raise ValueError(f"{truth.size} labels but {predicted.size} predictions")
    return np.bincount(truth * n_classes + predicted,
                       minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def per_class_f1(c: np.ndarray) -> np.ndarray:
    """F1 of each class (NaN for a class neither present nor predicted)."""
    tp = np.diag(c).astype(np.float64)
    fp, fn = c.sum(axis=0) - tp, c.sum(axis=1) - tp
    denominator = 2 * tp + fp + fn
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, 2 * tp / denominator, np.nan)


def mcc(c: np.ndarray) -> float:
    """Matthews correlation, multi-class (module docstring); 0 when undefined."""
    c = c.astype(np.float64)
    s, correct = c.sum(), np.trace(c)
    t, p = c.sum(axis=1), c.sum(axis=0)
    denominator = np.sqrt((s * s - p @ p) * (s * s - t @ t))
    return float((correct * s - p @ t) / denominator) if denominator > 0 else 0.0


def _ranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks, ties given their mean rank."""
    order = np.argsort(x, kind="mergesort")
    sorted_x = x[order]
    starts = np.flatnonzero(np.r_[True, sorted_x[1:] != sorted_x[:-1]])
    ends = np.r_[starts[1:], len(x)]
    mean_rank = (starts + ends + 1) / 2.0  # ranks starts+1 .. ends, averaged
    ranks = np.empty(len(x))
    ranks[order] = np.repeat(mean_rank, ends - starts)
    return ranks


def auroc(positive: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve of ``scores`` for the boolean ``positive`` (NaN if one-sided)."""
    positive = np.asarray(positive, bool).ravel()
    scores = np.asarray(scores, np.float64).ravel()
    n_pos = int(positive.sum())
    n_neg = positive.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    r = _ranks(scores)[positive].sum()
    return float((r - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def classification_metrics(truth: np.ndarray, probabilities: np.ndarray,
                           classes: tuple[str, ...]) -> dict:
    """The figures a task run logs: accuracy, macro F1, MCC, mean AUROC and, per class, F1 and
    AUROC, and the confusion matrix, from true labels ``(N,)`` and probabilities ``(N, C)``."""
    probabilities = np.asarray(probabilities, np.float64)
    truth = np.asarray(truth, np.int64).ravel()
    n = len(classes)
    if probabilities.shape != (truth.size, n):
        raise ValueError(f"probabilities of shape {probabilities.shape} for {truth.size} "
                         f"labels of {n} classes")
    c = confusion(truth, probabilities.argmax(axis=1), n)
    f1 = per_class_f1(c)
    aucs = np.array([auroc(truth == k, probabilities[:, k]) for k in range(n)])
    out = {"accuracy": float(np.trace(c) / max(1, c.sum())),
           "macro_f1": float(np.nanmean(f1)) if np.isfinite(f1).any() else 0.0,
           "mcc": mcc(c),
           "auroc": float(np.nanmean(aucs)) if np.isfinite(aucs).any() else float("nan"),
           "confusion": c}
    for name, value, area in zip(classes, f1, aucs, strict=True):
        out[f"f1/{name}"] = float(value)
        out[f"auroc/{name}"] = float(area)
    return out


__all__ = ["auroc", "classification_metrics", "confusion", "mcc", "per_class_f1"]
