"""Nonlinear conjugate gradient: n steps on an n-dimensional quadratic, line searches, restarts, errors."""

from __future__ import annotations

import pickle
import tomllib

import numpy as np
import pytest

from gdsim.build import build
from gdsim.engine.optimizers import OptimizerError, explain_step, make_optimizer, state_rows
from gdsim.engine.optimizers_cg import ARMIJO_C
from gdsim.engine.schedules import make_schedule
from gdsim.engine.simulation import Cohort
from gdsim.engine.surfaces import make_surface
from gdsim.scenario.load import ScenarioError, validate_raw


def load_text(text: str):
    return validate_raw(tomllib.loads(text), path=None, id="t.toml", text=text)


class QuadraticND:
    """0.5 (θ − c)ᵀ A (θ − c) in n dimensions, A symmetric positive definite with eigenvalues
    from 1 to `kappa`, rotated by a random orthogonal matrix."""

    quadratic = True

    def __init__(self, n: int, kappa: float = 100.0, seed: int = 0):
        rng = np.random.default_rng(seed)
        q, _ = np.linalg.qr(rng.standard_normal((n, n)))
        self.a = q @ np.diag(np.geomspace(1.0, kappa, n)) @ q.T
        self.a = 0.5 * (self.a + self.a.T)
        self.center = rng.standard_normal(n)
        self.n_params = n

    def init_params(self, seeds):
        return np.stack([np.random.default_rng(int(s)).uniform(-3, 3, self.n_params) for s in seeds])

    def sampler(self, seeds):
        class Quiet:
            def next(self):
                return None

        return Quiet()

    def loss_and_grad(self, params, batch):
        e = params - self.center
        g = e @ self.a
        return 0.5 * np.einsum("rp,rp->r", e, g), g

    def hessian(self, params):
        return np.broadcast_to(self.a, (params.shape[0], self.n_params, self.n_params))


def _cohort(problem, optimizer, seeds=(0, 1, 2), lr=None, params0=None):
    seeds = np.asarray(seeds)
    schedule = make_schedule("constant", optimizer.hyper["lr"] if lr is None else lr)
    p0 = problem.init_params(seeds) if params0 is None else params0
    return Cohort(problem, optimizer, schedule, p0, seeds, np.arange(len(seeds)))


@pytest.mark.parametrize("n, kappa", [(2, 1000.0), (6, 100.0), (20, 10.0)])
@pytest.mark.parametrize("variant", ["polak_ribiere", "fletcher_reeves"])
def test_n_steps_solve_an_n_dimensional_quadratic(n, kappa, variant):
    problem = QuadraticND(n, kappa=kappa, seed=n)
    cohort = _cohort(problem, make_optimizer("cg", variant=variant, line_search="exact"))
    start = np.linalg.norm(cohort.params - problem.center, axis=1)
    for k in range(n - 1):
        cohort.step(k)
    # one step short, it is not there yet: the n-th step does the work
    assert (np.linalg.norm(cohort.params - problem.center, axis=1) > 1e-9 * start).all()
    cohort.step(n - 1)
    error = np.linalg.norm(cohort.params - problem.center, axis=1)
    assert (error <= 1e-10 * start).all(), error / start


def test_rounding_delays_the_n_step_finish_when_curvatures_spread_widely():
    """In floating point the directions lose conjugacy (Greenbaum 1997): with curvatures spread
    geometrically from 1 to 100 in 20-D, step 20 is still ~1e-4 away; a few steps more finish."""
    n = 20
    problem = QuadraticND(n, kappa=100.0, seed=n)
    cohort = _cohort(problem, make_optimizer("cg", line_search="exact"))
    start = np.linalg.norm(cohort.params - problem.center, axis=1)
    for k in range(n):
        cohort.step(k)
    assert (np.linalg.norm(cohort.params - problem.center, axis=1) > 1e-6 * start).all()
    for k in range(n, n + 10):
        cohort.step(k)
    assert (np.linalg.norm(cohort.params - problem.center, axis=1) <= 1e-10 * start).all()


def test_gradient_descent_with_the_same_exact_line_search_is_far_slower():
    """The rival with its best step (steepest descent, exact α each step) is still far away
    after n steps: conjugacy, not the line search, is what reaches the minimum."""
    n = 6
    problem = QuadraticND(n, kappa=100.0, seed=n)
    cohort = _cohort(problem, make_optimizer("cg", line_search="exact"))
    a = problem.a
    p = cohort.params.copy()
    for _ in range(n):
        g = (p - problem.center) @ a
        alpha = np.einsum("rp,rp->r", g, g) / np.einsum("rp,pq,rq->r", g, a, g)
        p = p - alpha[:, None] * g
    assert (np.linalg.norm(p - problem.center, axis=1) > 1e-2).all()


def test_directions_are_conjugate_and_gradients_orthogonal():
    n = 8
    problem = QuadraticND(n, kappa=50.0, seed=3)
    cohort = _cohort(problem, make_optimizer("cg", line_search="exact"), seeds=(4,))
    directions, grads = [], []
    for k in range(n):
        grads.append(cohort.grad[0].copy())
        cohort.step(k)
        directions.append(cohort.state.direction[0].copy())
    d = np.array(directions)
    g = np.array(grads)
    conj = d @ problem.a @ d.T
    scale = np.sqrt(np.outer(np.diag(conj), np.diag(conj)))
    off = np.abs(conj / scale)[~np.eye(n, dtype=bool)]
    assert off.max() < 1e-6
    gram = g @ g.T / np.outer(np.linalg.norm(g, axis=1), np.linalg.norm(g, axis=1))
    assert np.abs(gram[~np.eye(n, dtype=bool)]).max() < 1e-6


def test_exact_step_minimizes_along_the_line_finite_differences():
    """On the engine's rotated quadratic, the exact α is where the loss along d stops falling:
    a central difference of L(θ + αd) in α is ~0 there, and L is larger either side."""
    surface = make_surface("quadratic", condition=30.0, angle=25.0)
    opt = make_optimizer("cg", line_search="exact")
    params = np.array([[-2.5, 1.5], [1.0, 2.0]])
    state = opt.init(params)
    loss, grad = surface.loss_and_grad(params, None)
    for _ in range(2):
        record = explain_step(opt, grad, state, params, 1.0, hessian=surface.hessian(params))
        parts = dict(record)
        d, alpha = parts["d"], parts["α"][:, 0]
        h = 1e-5 * alpha
        along = lambda a: surface.value(params + a[:, None] * d)  # noqa: E731
        slope = (along(alpha + h) - along(alpha - h)) / (2 * h)
        start_slope = np.einsum("rp,rp->r", grad, d)
        assert (np.abs(slope) < 1e-6 * np.abs(start_slope)).all()
        assert (along(alpha * 0.9) > along(alpha)).all() and (along(alpha * 1.1) > along(alpha)).all()
        params, state = opt.update(grad, state, params, 1.0, hessian=surface.hessian(params))
        loss, grad = surface.loss_and_grad(params, None)
    assert np.abs(params).max() < 1e-10  # two steps on a 2-D quadratic


QUAD = """
[scenario]
title = "t"
claim = "c"
steps = 5

[problem]
surface = "quadratic"
condition = 50
angle = 30

[optimizer]
name = "cg"

[[runs]]
label = "cg"
start = [-2.5, 1.5]

[[runs]]
label = "fr"
start = [-2.5, 1.5]
optimizer = { name = "cg", variant = "fletcher_reeves" }

[[runs]]
label = "gd"
start = [-2.5, 1.5]
optimizer = { name = "sgd", lr = 0.039 }
"""


def test_engine_quadratic_surface_two_steps():
    sim = build(load_text(QUAD))
    assert sim.cohorts[0].optimizer.hyper["line_search"] == "exact"  # chosen for a quadratic
    sim.step(2)
    params = sim.params
    assert np.abs(params[:2]).max() < 1e-10
    assert np.abs(params[2]).max() > 0.5  # plain GD at its best stable lr is nowhere near


def test_armijo_on_rosenbrock_always_decreases_and_converges():
    text = QUAD.replace('surface = "quadratic"\ncondition = 50\nangle = 30', 'surface = "rosenbrock"')
    text = text.replace("steps = 5", "steps = 800").replace("[-2.5, 1.5]", "[-1.2, 1.0]")
    text = text.replace("lr = 0.039", "lr = 0.001")
    sim = build(load_text(text))
    assert sim.cohorts[0].optimizer.hyper["line_search"] == "armijo"
    sim.step(800)
    _, loss = sim.history.series("loss")
    cg = loss[:, :2]
    assert (np.diff(cg, axis=0) <= 0).all()  # sufficient decrease: never up
    assert (cg[-1] < 1e-10).all()
    assert np.abs(sim.params[:2] - 1.0).max() < 1e-4
    assert loss[-1, 2] > 1e-3  # GD at the same lr is still in the valley


def test_armijo_steps_satisfy_sufficient_decrease_and_halve_from_lr():
    surface = make_surface("rosenbrock")
    opt = make_optimizer("cg", lr=1.0)
    params = np.array([[-1.2, 1.0], [0.5, -0.5], [2.0, 2.0]])
    state = opt.init(params)
    for _ in range(30):
        loss, grad = surface.loss_and_grad(params, None)
        parts = dict(explain_step(opt, grad, state, params, 1.0, loss=loss,
                                  loss_at=lambda p: surface.loss_and_grad(p, None)[0]))
        alpha, d = parts["α"][:, 0], parts["d"]
        slope = np.einsum("rp,rp->r", grad, d)
        assert (slope < 0).all()
        new = surface.value(params + alpha[:, None] * d)
        assert (new <= loss + ARMIJO_C * alpha * slope).all()
        # α is a power of one half of the lr, and twice α would not have been accepted
        assert np.allclose(np.log2(alpha), np.round(np.log2(alpha)))
        bigger = surface.value(params + 2 * alpha[:, None] * d)
        assert ((alpha == 1.0) | (bigger > loss + ARMIJO_C * 2 * alpha * slope)).all()
        params, state = opt.update(grad, state, params, 1.0, loss=loss,
                                   loss_at=lambda p: surface.loss_and_grad(p, None)[0])


def test_pr_plus_restarts_when_beta_would_be_negative():
    opt = make_optimizer("cg", variant="polak_ribiere", line_search="exact")
    fr = make_optimizer("cg", variant="fletcher_reeves", line_search="exact")
    g_prev = np.array([[1.0, 0.0]])
    d_prev = np.array([[-1.0, 0.0]])
    g = np.array([[0.5, 0.1]])  # gᵀ(g − g₋) = −0.24 < 0
    h = np.eye(2)[None]
    state = opt.init(g)._replace(step=1, direction=d_prev, prev_grad=g_prev)
    parts = dict(explain_step(opt, g, state, np.zeros((1, 2)), 1.0, hessian=h))
    assert parts["β"][0, 0] == 0.0 and np.array_equal(parts["d"], -g)
    parts = dict(explain_step(fr, g, state, np.zeros((1, 2)), 1.0, hessian=h))
    assert parts["β"][0, 0] == pytest.approx(0.26)  # Fletcher–Reeves: gᵀg / g₋ᵀg₋
    np.testing.assert_allclose(parts["d"], -g + 0.26 * d_prev)


def test_uphill_direction_restarts_from_minus_gradient():
    fr = make_optimizer("cg", variant="fletcher_reeves", line_search="exact")
    g_prev = np.array([[0.1, 0.0]])
    d_prev = np.array([[5.0, 0.0]])  # β = 100: −g + β d₋ points uphill
    g = np.array([[1.0, 0.0]])
    state = fr.init(g)._replace(step=1, direction=d_prev, prev_grad=g_prev)
    parts = dict(explain_step(fr, g, state, np.zeros((1, 2)), 1.0, hessian=np.eye(2)[None]))
    assert np.array_equal(parts["d"], -g) and parts["β"][0, 0] == 0.0


def test_per_run_learning_rates_scale_the_exact_step():
    problem = QuadraticND(3, seed=1)
    opt = make_optimizer("cg", line_search="exact")
    params = np.tile(problem.init_params([5]), (2, 1))
    loss, grad = problem.loss_and_grad(params, None)
    new, _ = opt.update(grad, opt.init(params), params, np.array([1.0, 0.5]), hessian=problem.hessian(params))
    np.testing.assert_allclose(new[1] - params[1], 0.5 * (new[0] - params[0]), rtol=1e-14)


DATA = """
[scenario]
title = "t"
claim = "c"
steps = 60

[problem]
dataset = "moons"
samples = 200
model = "mlp"
hidden = [8]
batch_size = 32

[optimizer]
name = "cg"

[[runs]]
seeds = 3
"""


def test_cg_trains_a_network_on_mini_batches_and_survives_the_worker():
    a, b = build(load_text(DATA)), build(load_text(DATA))
    first = a.loss.copy()
    a.step(30)
    b.restore(pickle.loads(pickle.dumps(a.snapshot(None))))
    a.step(30)
    b.step(30)
    np.testing.assert_array_equal(a.loss, b.loss)
    _, val = a.history.series("val_loss")
    assert np.isfinite(a.loss).all() and (val[-1] < val[0]).all() and (a.loss < first).all()


def test_update_inputs_for_one_row_reproduce_that_rows_update():
    sim = build(load_text(DATA))
    sim.step(7)
    cohort = sim.cohorts[0]
    before = cohort.params.copy()
    row = slice(1, 2)
    parts = explain_step(cohort.optimizer, cohort.grad[row], state_rows(cohort.state, row), cohort.params[row],
                         cohort.lr, **cohort.update_inputs(row))
    sim.step(1)
    assert not np.array_equal(before[1], cohort.params[1])
    np.testing.assert_array_equal(dict(parts)["params"][0], cohort.params[1])


@pytest.mark.parametrize(
    "hyper, key",
    [({"variant": "hestenes"}, "variant"), ({"line_search": "wolfe"}, "line_search"),
     ({"momentum": 0.9}, "momentum"), ({"lr": -1.0}, "lr")],
)
def test_bad_hyperparameters_name_the_key(hyper, key):
    with pytest.raises(OptimizerError, match=f"'{key}'"):
        make_optimizer("cg", **hyper)


@pytest.mark.parametrize(
    "change, key",
    [
        (('name = "cg"', 'name = "cg"\nvariant = "hestenes"'), "optimizer.variant"),
        (('name = "cg"', 'name = "cg"\nline_search = "exact"'), "optimizer.line_search"),
        (('name = "cg"', 'name = "cg"\nbetas = [0.9, 0.99]'), "optimizer.betas"),
    ],
)
def test_scenario_errors_name_the_key(change, key):
    text = QUAD.replace('surface = "quadratic"\ncondition = 50\nangle = 30', 'surface = "rosenbrock"')
    text = text.replace(*change, 1)
    with pytest.raises(ScenarioError, match=key.replace(".", r"\.")):
        load_text(text)


def test_check_exits_2_naming_the_key(tmp_path, capsys):
    from gdsim.cli import main

    bad = tmp_path / "cg.toml"
    bad.write_text(QUAD.replace('surface = "quadratic"\ncondition = 50\nangle = 30', 'surface = "rosenbrock"')
                   .replace('name = "cg"\n', 'name = "cg"\nline_search = "exact"\n', 1))
    assert main(["check", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "optimizer.line_search" in err and "Traceback" not in err


# ---- the engine's own n-dimensional quadratic: full-batch linear regression with MSE ----------

LINEAR = """
[scenario]
title = "t"
claim = "c"
steps = 6

[problem]
dataset = "csv"
path = "wide.csv"
target = "y"
model = "linear"

[optimizer]
name = "cg"

[[runs]]
label = "cg"
"""


def _wide_csv(tmp_path, n_features=7, rows=80):
    """A regression data set with features of different scales: an 8-dimensional quadratic (seven
    weights and the bias) with curvatures spread over a factor of about 16. (With a far wider
    spread, rounding delays the finish by a step or two: see the 20-D test above.)"""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((rows, n_features)) * np.geomspace(1.0, 3.0, n_features)
    y = x @ rng.standard_normal(n_features) + 0.3 * rng.standard_normal(rows) + 1.5
    lines = [",".join([f"x{i}" for i in range(n_features)] + ["y"])]
    lines += [",".join(f"{v:.6f}" for v in row) for row in np.column_stack([x, y])]
    (tmp_path / "wide.csv").write_text("\n".join(lines) + "\n")


def _load_in(tmp_path, text):
    path = tmp_path / "linear.toml"
    path.write_text(text)
    from gdsim.scenario.load import load_scenario

    return load_scenario(path)


@pytest.mark.parametrize("l2", [0.0, 0.3])
def test_linear_regression_hessian_matches_finite_differences_of_the_gradient(tmp_path, l2):
    _wide_csv(tmp_path)
    sim = build(_load_in(tmp_path, LINEAR.replace('model = "linear"', f'model = "linear"\nl2 = {l2}')))
    problem = sim.cohorts[0].problem
    assert problem.quadratic
    rng = np.random.default_rng(1)
    params = rng.standard_normal((2, problem.n_params))
    h = problem.hessian(params)
    for v in np.eye(problem.n_params):
        eps = 1e-4  # the gradient is linear in the parameters: central differences are exact up to rounding
        up = problem.loss_and_grad(params + eps * v, None)[1]
        down = problem.loss_and_grad(params - eps * v, None)[1]
        np.testing.assert_allclose((up - down) / (2 * eps), h @ v, rtol=1e-7, atol=1e-8)


def test_cg_solves_linear_regression_in_as_many_steps_as_parameters(tmp_path):
    _wide_csv(tmp_path)
    text = LINEAR.replace("steps = 6", "steps = 8") + '\n[[runs]]\nlabel = "newton"\noptimizer = { name = "newton" }\n'
    sim = build(_load_in(tmp_path, text))
    cohorts = {c.optimizer.name: c for c in sim.cohorts}
    problem = cohorts["cg"].problem
    assert cohorts["cg"].optimizer.hyper["line_search"] == "exact" and problem.n_params == 8
    a = problem._x_train_ones
    solution = np.linalg.lstsq(a, problem._y_train, rcond=None)[0]
    kappa = np.linalg.cond(problem.hessian(np.zeros((1, 8)))[0])
    assert kappa > 10  # an elongated bowl, not a round one
    start = np.linalg.norm(cohorts["cg"].params[0] - solution)
    sim.step(1)
    assert np.linalg.norm(cohorts["newton"].params[0] - solution) < 1e-10 * start  # Newton: one step
    sim.step(6)
    assert np.linalg.norm(cohorts["cg"].params[0] - solution) > 1e-9 * start  # 7 steps: not yet
    sim.step(1)
    assert np.linalg.norm(cohorts["cg"].params[0] - solution) < 1e-10 * start  # 8 steps: there


def test_mini_batch_or_l1_linear_regression_has_no_hessian(tmp_path):
    _wide_csv(tmp_path)
    for extra in ("batch_size = 10", "l1 = 0.01"):
        text = LINEAR.replace('model = "linear"', f'model = "linear"\n{extra}')
        sim = build(_load_in(tmp_path, text))
        assert sim.cohorts[0].optimizer.hyper["line_search"] == "armijo"
        with pytest.raises(ScenarioError, match="optimizer.name: newton needs second derivatives"):
            _load_in(tmp_path, text.replace('name = "cg"', 'name = "newton"'))
