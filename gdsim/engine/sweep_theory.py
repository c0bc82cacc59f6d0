"""What theory says a sweep on a quadratic should show: the divergence edges and the best settings.

On a quadratic ½θᵀAθ (constant Hessian A, eigenvalues λmin ≤ … ≤ λmax > 0), each eigen-direction
of A evolves on its own, so the closed forms below are exact for full-batch, noise-free steps:

- plain gradient descent, θ ← θ − α·g: the direction of curvature λ is multiplied by 1 − αλ per
  step, so it is stable for 0 < α < 2/λmax (the steepest curvature sets the edge), and the fastest
  fixed α is 2/(λmin + λmax), with rate (κ − 1)/(κ + 1), κ = λmax/λmin;
- heavy-ball momentum in torch's form, v ← β·v + g, θ ← θ − α·v (the form Goh's article uses):
  stable for 0 < αλ < 2(1 + β), 0 ≤ β < 1, so the edge is α = 2(1 + β)/λmax; the best pair is
  α* = (2/(√λmin + √λmax))², β* = ((√κ − 1)/(√κ + 1))² (Polyak 1964; Goh, "Why Momentum Really
  Works", Distill 2017), where every direction contracts by √β* = (√κ − 1)/(√κ + 1) per step.

Weight decay w adds w to every curvature (the gradient gains w·θ), so λ ← λ + w. Gradient noise
and clipping change the picture (the edges then hold for the mean, and clipping caps steps): the
theory is offered only for SGD without dampening, Nesterov or clipping on a positive-definite
quadratic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class QuadraticTheory:
    """Closed forms for gradient descent and heavy-ball momentum on one quadratic."""

    lambda_min: float
    lambda_max: float

    @property
    def kappa(self) -> float:
        return self.lambda_max / self.lambda_min

    @property
    def gd_edge(self) -> float:
        """The largest stable lr of plain gradient descent: 2/λmax."""
        return 2.0 / self.lambda_max

    @property
    def gd_best_lr(self) -> float:
        """The fastest fixed lr of plain gradient descent: 2/(λmin + λmax)."""
        return 2.0 / (self.lambda_min + self.lambda_max)

    @property
    def gd_rate(self) -> float:
        """Per-step contraction of the slowest direction at gd_best_lr: (κ − 1)/(κ + 1)."""
        return (self.kappa - 1.0) / (self.kappa + 1.0)

    def momentum_edge(self, beta: Any) -> Any:
        """The lr beyond which heavy-ball momentum β diverges: 2(1 + β)/λmax."""
        return 2.0 * (1.0 + np.asarray(beta, dtype=np.float64)) / self.lambda_max

    @property
    def alpha_star(self) -> float:
        """Goh's (Polyak's) optimal step for momentum: (2/(√λmin + √λmax))²."""
        return (2.0 / (math.sqrt(self.lambda_min) + math.sqrt(self.lambda_max))) ** 2

    @property
    def beta_star(self) -> float:
        """Goh's (Polyak's) optimal momentum: ((√κ − 1)/(√κ + 1))²."""
        root = math.sqrt(self.kappa)
        return ((root - 1.0) / (root + 1.0)) ** 2

    @property
    def momentum_rate(self) -> float:
        """Per-step contraction at (α*, β*): √β* = (√κ − 1)/(√κ + 1)."""
        return math.sqrt(self.beta_star)

    def spectral_radius(self, lr: Any, momentum: Any = 0.0) -> Any:
        """Per-step contraction of the slowest direction (the largest |eigenvalue| of the step's
        2x2 map over all curvatures λ): < 1 converges, > 1 diverges. Checks the closed forms."""
        lr = np.asarray(lr, dtype=np.float64)
        beta = np.asarray(momentum, dtype=np.float64)
        worst = np.zeros(np.broadcast(lr, beta).shape)
        for lam in (self.lambda_min, self.lambda_max):
            # (θ, θ₋) ↦ ((1 + β − αλ)θ − βθ₋, θ): roots of z² − (1 + β − αλ)z + β
            b = 1.0 + beta - lr * lam
            disc = (b * b - 4.0 * beta).astype(np.complex128)
            roots = np.stack([(b + np.sqrt(disc)) / 2, (b - np.sqrt(disc)) / 2])
            worst = np.maximum(worst, np.abs(roots).max(axis=0))
        return worst


def quadratic_theory(problem: Any, optimizer: Any = None, clip_norm: float | None = None) -> QuadraticTheory | None:
    """The closed forms for `problem` if it is a positive-definite quadratic and the optimizer
    (an Optimizer, or None for plain SGD) is SGD without dampening or Nesterov; else None."""
    if not getattr(problem, "quadratic", False) or clip_norm is not None:
        return None
    decay = 0.0
    if optimizer is not None:
        hyper = optimizer.hyper
        if optimizer.name != "sgd" or hyper.get("nesterov") or np.any(np.asarray(hyper.get("dampening", 0.0)) != 0):
            return None
        decay = hyper.get("weight_decay", 0.0)
        if np.ndim(decay):
            return None  # one quadratic per run: no single picture
    try:
        hessian = np.asarray(problem.hessian(np.zeros((1, problem.n_params))), dtype=np.float64)[0]
    except (NotImplementedError, AttributeError):
        return None
    eig = np.linalg.eigvalsh((hessian + hessian.T) / 2) + float(decay)
    if not np.all(np.isfinite(eig)) or eig[0] <= 0:
        return None
    return QuadraticTheory(float(eig[0]), float(eig[-1]))


@dataclass(frozen=True)
class Edge:
    """Where a sweep's runs along the lr axis stop converging, for one setting of the other axes."""

    others: dict[str, float]  # the other swept values (e.g. {"momentum": 0.9}); empty for a 1-D sweep
    last_stable: float | None  # the largest lr below the first that did not converge (None: none did)
    first_unstable: float | None  # the first lr that did not converge (None: all converged)
    theory: float | None = None  # the closed-form edge, where theory applies

    @property
    def agrees(self) -> bool | None:
        """Whether the closed form lies in the grid cell the sweep measured (None without theory)."""
        if self.theory is None:
            return None
        low = self.last_stable if self.last_stable is not None else 0.0
        high = self.first_unstable if self.first_unstable is not None else math.inf
        return low < self.theory <= high


def lr_edges(result: Any, theory: QuadraticTheory | None = None, momentum: float = 0.0) -> list[Edge]:
    """Per setting of the other axes, the measured lr edge (result.unstable: diverged or no lower
    than at the start) beside theory's. `momentum` is the run's own when it is not swept."""
    keys = [a.key for a in result.axes]
    if "lr" not in keys:
        return []
    grid = np.moveaxis(result.unstable.reshape(result.shape), keys.index("lr"), 0)
    lrs = result.axes[keys.index("lr")].values
    others = [a for a in result.axes if a.key != "lr"]
    edges = []
    for index in np.ndindex(*grid.shape[1:]):
        column = grid[(slice(None), *index)]
        setting = {a.key: float(a.values[i]) for a, i in zip(others, index)}
        first = int(np.argmax(column)) if column.any() else None
        beta = setting.get("momentum", momentum)
        expected = None
        if theory is not None and set(setting) <= {"momentum"}:
            expected = float(theory.momentum_edge(beta))
        edges.append(Edge(setting, float(lrs[first - 1]) if first else None,
                          float(lrs[first]) if first is not None else None, expected))
    return edges
