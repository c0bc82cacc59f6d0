"""What a trained model says about its data, computed once for every view that shows it.

- split_predictions: each example of a split with the class the model predicts, how sure it is
  (the probability it gives that class), the confusion counts, and an order that puts the
  misread examples first (the app's digit strip, `gdsim run --format summary`).
- fitted_curve: a 1-input regression model's prediction along the data's range (the data view's
  fitted lines), in the data's own units, also when the model saw standardized inputs.

A DatasetProblem gives the scores; a cohort's runs are taken with their batch-norm state (eval mode).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gdsim.engine.metrics import confusion_matrix


@dataclass(frozen=True)
class SplitPredictions:
    """One run's predictions on one split (n examples, K classes)."""

    split: str
    rows: np.ndarray  # (n,) the data set's rows (problem.data.x[rows] are the raw inputs)
    labels: np.ndarray  # (n,) true classes
    predicted: np.ndarray  # (n,) predicted classes
    sure: np.ndarray  # (n,) the probability the model gives its predicted class
    confusion: np.ndarray  # (K, K): [true, predicted] counts

    @property
    def wrong(self) -> int:
        return int(np.sum(self.predicted != self.labels))

    @property
    def accuracy(self) -> float:
        return float(np.mean(self.predicted == self.labels)) if len(self.labels) else float("nan")

    def misread_first(self) -> np.ndarray:
        """Indices into the split: the misread examples, the surest mistakes first, then the right
        ones, the least sure first (the near misses); ties keep the split's order."""
        right = self.predicted == self.labels
        # lexsort sorts by the last key first: wrong before right, then by how sure (descending
        # for mistakes, ascending for right answers), then by position
        key = np.where(right, self.sure, -self.sure)
        return np.lexsort((np.arange(len(right)), key, right))


def probabilities(scores: np.ndarray) -> np.ndarray:
    """Class probabilities (..., K) from output scores (..., K): softmax, or for one score
    (bce, hinge) [1 − σ(s), σ(s)]."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.shape[-1] == 1:
        with np.errstate(over="ignore"):
            p = 1.0 / (1.0 + np.exp(-scores[..., 0]))
        return np.stack([1.0 - p, p], axis=-1)
    shifted = scores - scores.max(axis=-1, keepdims=True)
    with np.errstate(under="ignore"):
        e = np.exp(shifted)
    return e / e.sum(axis=-1, keepdims=True)


def split_predictions(problem, params: np.ndarray, split: str = "test", state=None) -> SplitPredictions | None:
    """One run's (params (P,) or (1, P)) predictions on a split; None for regression problems."""
    if getattr(problem, "task", "regression") == "regression":
        return None
    params = np.asarray(params, dtype=np.float64).reshape(1, -1)
    x, labels = problem.split_points(split)
    k = problem.data.n_classes
    if len(labels) == 0:
        empty = np.zeros(0)
        return SplitPredictions(split, np.zeros(0, dtype=np.int64), labels, empty.astype(np.int64), empty,
                                np.zeros((k, k), dtype=np.int64))
    with np.errstate(all="ignore"):
        scores = problem.scores(params, x, state)
    predicted = problem.predict_classes(scores)[0]
    probs = probabilities(scores[0])
    sure = np.nan_to_num(probs[np.arange(len(predicted)), predicted], nan=0.0)
    return SplitPredictions(split, np.asarray(problem.split_rows[split]), labels, predicted, sure,
                            confusion_matrix(predicted[None, :], labels, k)[0])


def fitted_curve(problem, params: np.ndarray, points: int = 64, state=None):
    """(xs (m,), ys (R, m)): the predictions of runs (R, P) along the data's x range (raw units,
    padded 5%), for a regression problem with one input; None otherwise."""
    if getattr(problem, "task", None) != "regression" or getattr(problem, "n_inputs", 0) != 1:
        return None
    x = problem.data.x[:, 0]
    low, high = float(x.min()), float(x.max())
    pad = 0.05 * (high - low if high > low else 1.0)
    xs = np.linspace(low - pad, high + pad, max(2, int(points)))
    inputs = ((xs - problem.x_mean[0]) / problem.x_scale[0])[:, None]
    with np.errstate(all="ignore"):
        ys = problem.scores(np.asarray(params, dtype=np.float64), inputs, state)[..., 0]
    return xs, ys
