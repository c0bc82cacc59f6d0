"""What the state classification needs to know about a problem: its known stationary points
(surfaces), the chance loss of a classifier, whether it is convex or noisy, and where early
stopping kept the best validation loss. Pure NumPy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

NEAR_FRACTION = 0.02  # within this fraction of the view's longer side: "at" a known point

@dataclass(frozen=True)
class Known:
    """The known stationary points of a surface: (K, 2) points, their kinds, and what counts as near."""

    points: np.ndarray
    kinds: tuple[str, ...]
    values: np.ndarray
    near: float

    @classmethod
    def of(cls, problem: Any) -> "Known | None":
        """From a problem's `minima` and `view` (surfaces); None for problems without them."""
        minima = getattr(problem, "minima", None)
        view = getattr(problem, "view", None)
        if not minima or view is None:
            return None
        xmin, xmax, ymin, ymax = view
        return cls(np.array([m.point for m in minima], dtype=np.float64).reshape(len(minima), -1),
                   tuple(m.kind for m in minima), np.array([m.value for m in minima], dtype=np.float64),
                   NEAR_FRACTION * max(xmax - xmin, ymax - ymin))

    @property
    def floor(self) -> float | None:
        """The lowest known minimum's value (saddles excluded), the floor "high loss" is measured from."""
        values = [v for v, k in zip(self.values, self.kinds) if k != "saddle"]
        return min(values) if values else None

    @property
    def size(self) -> float:
        """The view's longer side (what "still" is measured against)."""
        return self.near / NEAR_FRACTION

    def nearest(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per row of xy: index of the nearest point (-1 if none is finite) and its distance."""
        xy = np.asarray(xy, dtype=np.float64).reshape(len(xy), -1)[:, : self.points.shape[1]]
        with np.errstate(all="ignore"):
            dist = np.sqrt(((xy[:, None, :] - self.points[None, :, :]) ** 2).sum(axis=2))
        dist = np.where(np.isnan(dist), np.inf, dist)
        index = np.argmin(dist, axis=1)
        nearest = dist[np.arange(len(xy)), index]
        return np.where(np.isfinite(nearest), index, -1), nearest


_KNOWN: dict[int, tuple[Any, Known | None]] = {}


def known_of(problem: Any) -> Known | None:
    """Known.of(problem), kept per problem object (a problem never changes its minima)."""
    hit = _KNOWN.get(id(problem))
    if hit is None or hit[0] is not problem:
        if len(_KNOWN) > 64:
            _KNOWN.clear()
        hit = _KNOWN[id(problem)] = (problem, Known.of(problem))
    return hit[1]


def best_steps(cohort: Any) -> np.ndarray | None:
    """Per run of a cohort stopped early, the step of its best validation loss (-1 where not stopped)."""
    stopped = cohort.stopped_at
    if not (stopped >= 0).any():
        return None
    best = getattr(cohort, "best_at", None)
    if best is not None:
        return np.where(stopped >= 0, np.asarray(best), -1)
    if cohort.patience is None or not cohort.eval_every:
        return None
    # It stops at the patience-th evaluation without improvement: the best came that many evaluations before.
    return np.where(stopped >= 0, stopped - cohort.patience * cohort.eval_every, -1)


_CHANCE: dict[int, tuple[Any, float]] = {}


def chance_loss(problem: Any) -> float:
    """A classifier's loss when it predicts the training labels' frequencies (their entropy: ln 2
    for balanced BCE, ln 3 for three balanced classes); NaN for other problems."""
    hit = _CHANCE.get(id(problem))
    if hit is not None and hit[0] is problem:
        return hit[1]
    value = float("nan")
    labels = getattr(problem, "_y_train", None)
    if getattr(problem, "loss_name", None) in ("bce", "cce") and labels is not None and len(labels):
        _, counts = np.unique(np.asarray(labels).ravel(), return_counts=True)
        p = counts / counts.sum()
        value = float(-(p * np.log(p)).sum())
    if len(_CHANCE) > 64:
        _CHANCE.clear()
    _CHANCE[id(problem)] = (problem, value)
    return value


def is_convex(problem: Any) -> bool:
    """Whether the problem is a model without hidden layers on a data set (linear, logistic,
    softmax regression, hinge; L1/L2 keep them convex): any stationary point is its optimum."""
    network = getattr(problem, "network", None)
    return network is not None and getattr(network, "n_hidden", 1) == 0 and not getattr(problem, "batch_norm", False)


def is_noisy(problem: Any) -> bool:
    """Whether the problem's gradient is a random sample: surface noise, mini-batches or dropout."""
    if float(getattr(problem, "noise", 0.0) or 0.0) > 0:
        return True
    if getattr(problem, "batch_size", 0) and getattr(problem, "n_train", 0) and problem.batch_size < problem.n_train:
        return True
    return float(getattr(problem, "dropout", 0.0) or 0.0) > 0
