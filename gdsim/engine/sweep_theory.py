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


def describe(result: Any, sweep: Any) -> list[str]:
    """Plain lines: the best point, how many diverged, the lr edge, and theory beside them."""
    lines = []
    best = result.best()
    points = len(result.final_loss)
    if best is None:
        lines.append(f"every one of the {points} points diverged")
    else:
        where = ", ".join(f"{k} = {v[best]:.4g}" for k, v in result.settings.items())
        measured = ("loss on the whole training set at the end" if result.ranking == "train_loss"
                    else "final loss")
        lines.append(f"best: {where} ({measured} {result.metric(result.ranking)[best]:.4g})")
    lines.append(f"diverged: {int(result.diverged.sum())} of {points} points (left the bound or went non-finite)")
    cohort = sweep.cohort
    theory = quadratic_theory(cohort.problem, sweep.optimizer, cohort.clip_norm)
    momentum = float(np.asarray(sweep.optimizer.hyper.get("momentum", 0.0)).flat[0]) \
        if "momentum" not in result.settings else 0.0
    edges = lr_edges(result, theory, momentum)
    if len(edges) == 1:
        e = edges[0]
        lines.append("measured edge (the first lr whose run diverged or ended no lower than it started): "
                     + _edge_words(e))
        if e.theory is not None:
            formula = "2/λmax" if momentum == 0 else f"2(1 + β)/λmax with β = {momentum:g}"
            lines.append(f"theory: {formula} = {e.theory:.4g} on this quadratic (curvatures {theory.lambda_min:g} "
                         f"to {theory.lambda_max:g}); {'inside' if e.agrees else 'OUTSIDE'} the measured cell")
    elif edges and theory is not None and edges[0].theory is not None:
        inside = sum(bool(e.agrees) for e in edges)
        lines.append(f"theory's edge 2(1 + β)/λmax (curvatures {theory.lambda_min:g} to {theory.lambda_max:g}) "
                     f"lies in the measured grid cell for {inside} of {len(edges)} momentum values")
    if theory is not None and {"lr", "momentum"} <= set(result.settings):
        lines.append(f"Goh's optimum (Distill 2017): lr α* = {theory.alpha_star:.4g}, momentum β* = "
                     f"{theory.beta_star:.4g}; there every direction shrinks by √β* = {theory.momentum_rate:.4g} a step")
    if sweep.skipped_changes:
        steps = ", ".join(map(str, sweep.skipped_changes))
        lines.append(f"the run's changes (at step {steps}) are not part of the sweep: every point keeps its "
                     "settings from step 0")
    if [a.key for a in result.axes] == ["lr"] and is_network(cohort.problem):
        lines.append("on a network an lr sweep is the idea of the learning-rate range test (Smith 2017), "
                     "here with a whole run per lr instead of one run whose lr grows")
    return lines


def is_network(problem: Any) -> bool:
    """A model with hidden layers (a linear or logistic model is not called a network)."""
    network = getattr(problem, "network", None)
    return network is not None and len(network.layout.sizes) > 2


def _edge_words(e: Any) -> str:
    if e.first_unstable is None:
        return "none: every lr converged"
    if e.last_stable is None:
        return f"none: even the smallest lr ({e.first_unstable:.4g}) did not converge"
    return f"between {e.last_stable:.4g} and {e.first_unstable:.4g}"
