"""Evaluation metrics for R runs at once: accuracy, precision, recall, the confusion matrix, MAE and MSE.

Precision and recall follow scikit-learn: for two classes they are those of class 1 (the
positive class); for more they are macro averages over the classes that occur in the true
labels or the predictions. A class never predicted has precision 0 (sklearn's zero_division=0).
"""

from __future__ import annotations

import numpy as np


def classification_metrics(pred: np.ndarray, labels: np.ndarray, n_classes: int) -> dict[str, np.ndarray]:
    """accuracy, precision, recall (R,) from predicted classes (R, n) and true classes (n,)."""
    rows = pred.shape[0]
    if labels.size == 0:
        nan = np.full(rows, np.nan)
        return {"accuracy": nan, "precision": nan.copy(), "recall": nan.copy()}
    accuracy = np.mean(pred == labels, axis=1)
    classes = np.arange(n_classes)
    predicted = pred[:, :, None] == classes  # (R, n, K)
    actual = labels[:, None] == classes  # (n, K)
    true_pos = np.sum(predicted & actual, axis=1).astype(np.float64)  # (R, K)
    pred_count = predicted.sum(axis=1)
    true_count = np.broadcast_to(actual.sum(axis=0), pred_count.shape)
    precision = np.divide(true_pos, pred_count, out=np.zeros_like(true_pos), where=pred_count > 0)
    recall = np.divide(true_pos, true_count, out=np.zeros_like(true_pos), where=true_count > 0)
    if n_classes == 2:
        return {"accuracy": accuracy, "precision": precision[:, 1], "recall": recall[:, 1]}
    present = (pred_count > 0) | (true_count > 0)
    count = present.sum(axis=1)
    return {
        "accuracy": accuracy,
        "precision": np.sum(precision * present, axis=1) / count,
        "recall": np.sum(recall * present, axis=1) / count,
    }


def regression_metrics(predicted: np.ndarray, targets: np.ndarray) -> dict[str, np.ndarray]:
    """mae and mse (R,) of predictions (R, n) against targets (n,)."""
    if targets.size == 0:
        nan = np.full(predicted.shape[0], np.nan)
        return {"mae": nan, "mse": nan.copy()}
    diff = predicted - targets
    return {"mae": np.mean(np.abs(diff), axis=1), "mse": np.mean(diff * diff, axis=1)}


def confusion_matrix(pred: np.ndarray, labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts (R, K, K) from predicted classes (R, n) and true classes (n,): entry [r, t, p] is how
    many samples of true class t run r predicted as p (rows true, columns predicted, as sklearn)."""
    pred = np.asarray(pred, dtype=np.int64)
    labels = np.asarray(labels, dtype=np.int64)
    k = int(n_classes)
    rows = pred.shape[0]
    if labels.size == 0:
        return np.zeros((rows, k, k), dtype=np.int64)
    cells = labels * k + pred + (np.arange(rows) * k * k)[:, None]  # one bincount for all runs
    return np.bincount(cells.ravel(), minlength=rows * k * k).reshape(rows, k, k)


def most_confused(confusion: np.ndarray, most: int = 4) -> list[tuple[int, int, int]]:
    """The largest off-diagonal cells of one (K, K) matrix as (true, predicted, count), largest
    first (ties: by true class, then predicted class); at most `most`, none with count 0."""
    confusion = np.asarray(confusion)
    off = confusion.copy()
    np.fill_diagonal(off, 0)
    t, p = np.nonzero(off)
    order = sorted(zip((-off[t, p]).tolist(), t.tolist(), p.tolist()))
    return [(true, predicted, -count) for count, true, predicted in order[:most]]
