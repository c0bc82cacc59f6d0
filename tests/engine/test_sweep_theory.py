"""Theory overlays on a quadratic: the closed forms, and a sweep's measured edges and optimum agree."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gdsim.engine.optimizers import make_optimizer
from gdsim.engine.surfaces import make_surface
from gdsim.engine.sweep import Axis, run_sweep
from gdsim.engine.sweep_theory import QuadraticTheory, quadratic_theory

START = np.array([-2.5, 1.5])


def test_the_closed_forms_by_hand():
    t = QuadraticTheory(1.0, 100.0)
    assert t.kappa == 100.0
    assert t.gd_edge == 0.02 and t.gd_best_lr == 2 / 101
    assert t.momentum_edge(0.5) == pytest.approx(0.03)
    assert t.alpha_star == pytest.approx(4 / 121)  # (2/(1 + 10))²
    assert t.beta_star == pytest.approx((9 / 11) ** 2)
    assert t.momentum_rate == pytest.approx(9 / 11)
    assert t.gd_rate == pytest.approx(99 / 101)


def test_the_closed_forms_agree_with_the_spectral_radius():
    """The edges are where the step map's spectral radius crosses 1; at (α*, β*) it is √β*, and
    no pair on a fine grid does better."""
    t = QuadraticTheory(0.5, 40.0)
    for beta in (0.0, 0.3, 0.9):
        edge = float(t.momentum_edge(beta))
        assert t.spectral_radius(edge * 0.999, beta) < 1 < t.spectral_radius(edge * 1.001, beta)
    assert t.spectral_radius(t.gd_edge * 0.999) < 1 < t.spectral_radius(t.gd_edge * 1.001)
    assert t.spectral_radius(t.alpha_star, t.beta_star) == pytest.approx(t.momentum_rate, rel=1e-6)
    lr, beta = np.meshgrid(np.geomspace(1e-3, 0.2, 300), np.linspace(0, 0.99, 300))
    assert t.spectral_radius(lr, beta).min() >= t.momentum_rate * (1 - 1e-9)
    assert t.spectral_radius(t.gd_best_lr) == pytest.approx(t.gd_rate)


@pytest.mark.parametrize("condition, angle", [(10.0, 0.0), (0.1, 0.0), (30.0, 25.0)])
def test_quadratic_theory_reads_the_surfaces_curvatures(condition, angle):
    t = quadratic_theory(make_surface("quadratic", condition=condition, angle=angle))
    assert t.lambda_min == pytest.approx(min(1.0, condition)) and t.lambda_max == pytest.approx(max(1.0, condition))
    decayed = quadratic_theory(make_surface("quadratic", condition=condition), make_optimizer("sgd", weight_decay=0.5))
    assert decayed.lambda_max == pytest.approx(max(1.0, condition) + 0.5)


def test_no_theory_where_it_does_not_apply():
    quad = make_surface("quadratic", condition=10.0)
    assert quadratic_theory(make_surface("rosenbrock")) is None
    assert quadratic_theory(make_surface("saddle")) is None  # not positive definite
    assert quadratic_theory(quad, make_optimizer("adam")) is None
    assert quadratic_theory(quad, make_optimizer("nesterov")) is None
    assert quadratic_theory(quad, clip_norm=1.0) is None


@pytest.mark.parametrize("condition", [10.0, 100.0])
def test_the_measured_lr_edge_of_plain_gd_is_two_over_lambda_max(condition):
    problem = make_surface("quadratic", condition=condition)
    t = quadratic_theory(problem)
    result = run_sweep(problem, "sgd", {}, [Axis("lr", 1e-3, 1.0, 200)], START, 0, steps=500)
    lr, unstable = result.settings["lr"], result.unstable
    first = int(np.argmax(unstable))
    assert unstable[first:].all() and not unstable[:first].any(), "one edge, stable below it"
    assert lr[first - 1] < t.gd_edge <= lr[first], "the edge lies in the grid cell the sweep measured"
    # beyond the edge by a grid step the runs leave the bound: divergence, not just a slow rise
    assert result.diverged[first + 1:].all()
    assert not result.diverged[:first].any()


def test_the_measured_momentum_edge_and_optimum_agree_with_goh():
    """A 40 x 40 lr x momentum grid on a quadratic with κ = 100: in every momentum column the
    first lr that does not converge is the first beyond 2(1 + β)/λmax; the best cell is within a
    grid step of (α*, β*) on each axis, and no cell converges faster than √β* per step."""
    problem = make_surface("quadratic", condition=100.0)
    t = quadratic_theory(problem)
    steps = 300
    axes = [Axis("lr", 1e-3, 0.1, 40), Axis("momentum", 0.0, 0.99, 40, "lin")]
    result = run_sweep(problem, "sgd", {}, axes, START, 0, steps=steps)
    lr = result.settings["lr"].reshape(40, 40)
    beta = result.settings["momentum"].reshape(40, 40)
    unstable = result.unstable.reshape(40, 40)
    for j in range(40):
        column = unstable[:, j]
        first = int(np.argmax(column))
        assert column.any() and column[first:].all() and not column[:first].any()
        assert lr[first - 1, j] < t.momentum_edge(beta[0, j]) <= lr[first, j], f"momentum {beta[0, j]}"
    best = result.best()
    lr_step = math.log(lr[1, 0] / lr[0, 0])
    beta_step = beta[0, 1] - beta[0, 0]
    assert abs(math.log(result.settings["lr"][best] / t.alpha_star)) <= lr_step
    assert abs(result.settings["momentum"][best] - t.beta_star) <= beta_step
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = (result.final_loss / result.start_loss) ** (1 / (2 * steps))  # loss ∝ distance²
    assert np.nanmin(rate) >= t.momentum_rate * 0.99
    assert rate[best] <= t.momentum_rate * 1.03
