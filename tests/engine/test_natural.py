"""The natural gradient: the Fisher matrix against finite differences and the Hessian, damping,
one step on least squares, invariance to rescaling an input, and the problems it refuses."""

from __future__ import annotations

import tomllib

import numpy as np
import pytest

from gdsim.build import build
from gdsim.engine.fisher import linear_fisher, output_curvature
from gdsim.engine.learning import Batch, make_dataset_problem
from gdsim.engine.optimizers import RULES, explain_step, make_optimizer
from gdsim.scenario.load import ScenarioError, validate_raw


def problem(**settings):
    merged = {**dict(dataset="blobs", model="logistic", noise=1.5, samples=120, init="zeros"), **settings}
    if merged["dataset"] == "blobs":
        merged.setdefault("classes", 2)
    return make_dataset_problem(**merged)


def fd_hessian(p, params, batch=None, eps=1e-5):
    """(R, P, P) central differences of the analytic gradient."""
    rows, n = params.shape
    h = np.empty((rows, n, n))
    for j in range(n):
        e = np.zeros(n)
        e[j] = eps
        h[:, :, j] = (p.loss_and_grad(params + e, batch)[1] - p.loss_and_grad(params - e, batch)[1]) / (2 * eps)
    return h


def random_params(p, rows=3, seed=0):
    return np.random.default_rng(seed).normal(0.0, 0.7, (rows, p.n_params))


@pytest.mark.parametrize("settings", [
    dict(),  # logistic regression, bce
    dict(dataset="blobs", classes=3, model="softmax"),  # softmax regression, cce
    dict(dataset="moons", model="softmax"),  # two classes through softmax
    dict(dataset="plane", model="linear"),  # linear regression, mse
    dict(l2=0.3),  # the penalty's curvature on the weights, not the bias
])
def test_the_fisher_of_a_model_without_hidden_layers_is_its_loss_hessian(settings):
    # For the canonical links here (identity, sigmoid, softmax) and a model linear in θ the
    # Gauss-Newton matrix, the Fisher and the Hessian are one matrix.
    p = problem(**settings)
    params = random_params(p)
    fisher = p.fisher(params, None)
    hessian = fd_hessian(p, params)
    assert fisher.shape == (3, p.n_params, p.n_params)
    np.testing.assert_allclose(fisher, hessian, atol=1e-7 * max(1.0, np.abs(hessian).max()))
    np.testing.assert_allclose(fisher, fisher.transpose(0, 2, 1), atol=1e-14)
    assert (np.linalg.eigvalsh(fisher) > -1e-12).all()


def test_linear_regression_fisher_is_the_exact_hessian_the_engine_already_has():
    p = problem(dataset="plane", model="linear", l2=0.1)
    params = random_params(p)
    np.testing.assert_allclose(p.fisher(params, None), p.hessian(params), rtol=1e-12, atol=1e-12)


def test_the_fisher_has_no_labels_in_it_unlike_the_empirical_fisher():
    p = problem()
    params = random_params(p, rows=1)
    fisher = p.fisher(params, None)[0]
    # The same inputs with every label flipped: the true Fisher does not change...
    flipped = problem()
    flipped._t_train = 1.0 - flipped._t_train
    np.testing.assert_allclose(flipped.fisher(params, None)[0], fisher, rtol=1e-13)
    assert not np.allclose(flipped.loss_and_grad(params, None)[1], p.loss_and_grad(params, None)[1])
    # ...while the empirical Fisher, the mean of per-sample gradient outer products, is another matrix.
    x = p._x_train_ones
    prob = 1.0 / (1.0 + np.exp(-(x @ params[0])))
    per_sample = (prob - p._t_train[:, 0])[:, None] * x
    empirical = per_sample.T @ per_sample / len(x)
    assert np.abs(empirical - fisher).max() > 0.05 * np.abs(fisher).max()


def test_the_fisher_on_a_mini_batch_uses_that_batch_s_inputs():
    p = problem(batch_size=16)
    params = random_params(p, rows=2)
    indices = np.stack([np.arange(16), np.arange(16, 32)])
    fisher = p.fisher(params, Batch(indices, None))
    for r in range(2):
        x = p._x_train_ones[indices[r]]
        scores = (x @ params[r])[None, :, None]
        expected = linear_fisher(x, scores, "bce")[0]
        np.testing.assert_allclose(fisher[r], expected, rtol=1e-12)
    whole = p.fisher(params, None)
    assert not np.allclose(fisher, whole)


def test_damping_adds_lambda_to_the_diagonal_before_the_solve():
    p = problem()
    params = random_params(p, rows=2)
    grads = p.loss_and_grad(params, None)[1]
    fisher = p.fisher(params, None)
    for damping in (0.0, 0.5, 1e6):
        opt = make_optimizer("natural", lr=1.0, damping=damping)
        new, state = opt.update(grads, opt.init(params), params, 1.0, fisher=fisher)
        expected = params - np.linalg.solve(fisher + damping * np.eye(p.n_params), grads[..., None])[..., 0]
        np.testing.assert_allclose(new, expected, rtol=1e-10, atol=1e-14)
        assert state.step == 1
    # Huge damping is plain gradient descent with lr 1/damping.
    np.testing.assert_allclose(new, params - grads / 1e6, rtol=1e-5)
    assert make_optimizer("natural").hyper == {"lr": 1.0, "damping": 1e-2}


def test_one_natural_step_on_linear_regression_lands_on_the_least_squares_fit():
    p = problem(dataset="plane", model="linear", samples=200, noise=0.3)
    params = random_params(p, rows=2)
    opt = make_optimizer("natural", lr=1.0, damping=0.0)
    grads = p.loss_and_grad(params, None)[1]
    new, _ = opt.update(grads, opt.init(params), params, 1.0, fisher=p.fisher(params, None))
    a = p._x_train_ones
    fit = np.linalg.lstsq(a, p._y_train, rcond=None)[0]
    np.testing.assert_allclose(new, np.broadcast_to(fit, new.shape), atol=1e-10)
    assert np.abs(p.loss_and_grad(new, None)[1]).max() < 1e-10
    # ...and plain gradient descent at lr 1 does not.
    gd = make_optimizer("sgd", lr=1.0)
    moved, _ = gd.update(grads, gd.init(params), params, 1.0)
    assert np.abs(moved - fit).max() > 0.1


def _path(optimizer: str, scale: float, steps: int = 12, lr: float = 1.0, **settings):
    """The training-set scores after each step, with input 2 multiplied by `scale`."""
    p = problem(feature_scale=[1.0, scale], **settings)
    opt = make_optimizer(optimizer, lr=lr, **({"damping": 0.0} if optimizer == "natural" else {}))
    params = p.init_params(np.array([0]))
    state = opt.init(params)
    scores = []
    for _ in range(steps):
        grads = p.loss_and_grad(params, None)[1]
        inputs = {"fisher": p.fisher(params, None)} if opt.needs_fisher else {}
        params, state = opt.update(grads, state, params, lr, **inputs)
        scores.append(p.scores(params, p._x_train)[0, :, 0])
    return np.array(scores), params


@pytest.mark.parametrize("settings", [dict(), dict(dataset="blobs", classes=3, model="softmax")])
def test_rescaling_an_input_leaves_the_natural_gradient_s_predictions_unchanged(settings):
    plain, params_plain = _path("natural", 1.0, **settings)
    scaled, params_scaled = _path("natural", 100.0, **settings)
    assert np.abs(plain[0] - plain[-1]).max() > 0.1  # the predictions really move
    np.testing.assert_allclose(scaled, plain, atol=1e-9, rtol=0)
    # The weights themselves differ: input 2's weights are 100 times smaller.
    assert not np.allclose(params_scaled, params_plain)
    # Plain gradient descent's path changes with the units (here lr 0.5 on both).
    gd_plain, _ = _path("sgd", 1.0, lr=0.5, **settings)
    gd_scaled, _ = _path("sgd", 100.0, lr=0.5, **settings)
    assert np.nanmax(np.abs(gd_scaled - gd_plain)) > 1.0


def test_feature_scale_multiplies_the_input_columns_and_names_its_key_when_wrong():
    p = problem(feature_scale=[2.0, 100.0])
    q = problem()
    np.testing.assert_allclose(p._x_train, q._x_train * [2.0, 100.0])
    line = make_dataset_problem(dataset="line", model="linear", feature_scale=[10.0])
    assert line.true_coefficients[0] == pytest.approx(0.2)
    with pytest.raises(Exception, match="feature_scale must be 2 numbers > 0"):
        problem(feature_scale=[1.0])


HEAD = '[scenario]\ntitle = "t"\nclaim = "c"\nsteps = 5\n\n'


def load(text: str):
    return validate_raw(tomllib.loads(text), path=None, id="t.toml", text=text)


@pytest.mark.parametrize("problem_text, why", [
    ('surface = "bowl"', "no model behind it"),
    ('dataset = "moons"\nmodel = "logistic"\nloss = "hinge"', "loss 'hinge' is not the negative log-likelihood"),
    ('dataset = "line"\nmodel = "linear"\nloss = "mae"', "loss 'mae' is not the negative log-likelihood"),
    ('dataset = "moons"\nhidden = [4]\ndropout = 0.5', "with dropout or batch norm"),
    ('dataset = "moons"\nhidden = [4]\nbatch_norm = true', "with dropout or batch norm"),
    ('dataset = "moons"\nhidden = [64, 64]', "its Fisher matrix would have"),
])
def test_natural_is_refused_where_there_is_no_fisher_with_the_key_named(problem_text, why):
    with pytest.raises(ScenarioError) as info:
        load(HEAD + f"[problem]\n{problem_text}\n\n[optimizer]\nname = \"natural\"\n")
    message = str(info.value)
    assert "optimizer.name" in message and why in message and "Traceback" not in message


def test_a_natural_run_steps_in_a_simulation_and_explains_its_step():
    loaded = load(HEAD + '[problem]\ndataset = "blobs"\nclasses = 2\nmodel = "logistic"\nbatch_size = 32\n\n'
                  '[optimizer]\nname = "natural"\nlr = 0.5\n\n[[runs]]\nseeds = 3\n')
    sim = build(loaded)
    before = sim.cohorts[0].loss.copy()
    sim.step(5)
    cohort = sim.cohorts[0]
    assert np.isfinite(cohort.params).all() and (cohort.loss < before).all()
    parts = dict(explain_step(cohort.optimizer, cohort.grad[:1], cohort.state, cohort.params[:1], 0.5,
                              **cohort.update_inputs(slice(0, 1))))
    assert set(parts) == {"g", "F", "d", "step", "params"}
    assert parts["F"].shape == (1, 3, 3)
    np.testing.assert_allclose(parts["step"], -0.5 * parts["d"])
    assert "(F + λ·I)⁻¹" in RULES["natural"]


def test_a_wrong_feature_scale_in_a_scenario_names_the_key():
    with pytest.raises(ScenarioError) as info:
        load(HEAD + '[problem]\ndataset = "moons"\nmodel = "logistic"\nfeature_scale = [1, 2, 3]\n')
    assert "problem.feature_scale" in str(info.value) and "2 numbers > 0" in str(info.value)


def test_damping_may_be_one_value_per_run():
    p = problem()
    params = random_params(p, rows=2)
    grads = p.loss_and_grad(params, None)[1]
    fisher = p.fisher(params, None)
    both = make_optimizer("natural", damping=np.array([0.0, 2.0]))
    new, _ = both.update(grads, both.init(params), params, 1.0, fisher=fisher)
    for r, damping in enumerate((0.0, 2.0)):
        one = make_optimizer("natural", damping=damping)
        alone, _ = one.update(grads[r:r + 1], one.init(params[r:r + 1]), params[r:r + 1], 1.0, fisher=fisher[r:r + 1])
        np.testing.assert_allclose(new[r], alone[0], rtol=1e-12)


@pytest.mark.parametrize("loss, data", [("bce", dict(dataset="moons")), ("cce", dict(dataset="blobs", classes=3)),
                                        ("mse", dict(dataset="line")), ("cce", dict(dataset="moons"))])
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_a_network_s_fisher_is_its_gauss_newton_matrix_from_finite_difference_jacobians(loss, data, activation):
    p = make_dataset_problem(hidden=[5, 4], activation=activation, loss=loss, samples=60, l2=0.1, **data)
    params = np.random.default_rng(1).normal(0.0, 0.8, (2, p.n_params))
    x = p._x_train
    eps = 1e-6
    jac = np.empty((2, len(x), p.n_outputs, p.n_params))
    for j in range(p.n_params):
        e = np.zeros(p.n_params)
        e[j] = eps
        jac[..., j] = (p.scores(params + e, x) - p.scores(params - e, x)) / (2 * eps)
    h = output_curvature(loss, p.scores(params, x))
    if loss == "cce":
        expected = np.einsum("rnkp,rnkl,rnlq->rpq", jac, h, jac)
    else:
        expected = np.einsum("rnp,rn,rnq->rpq", jac[:, :, 0], h, jac[:, :, 0])
    for layer in p.network.layout.layers:  # l2 on the weights, not the biases
        idx = np.arange(layer.start, layer.bias)
        expected[:, idx, idx] += 0.1
    fisher = p.fisher(params, None)
    np.testing.assert_allclose(fisher, expected, atol=1e-8 * np.abs(expected).max())
    assert (np.linalg.eigvalsh(fisher) > -1e-10).all()
    # it is not the Hessian once there is a hidden layer (the network's own curvature is left out)
    if loss == "bce" and activation == "tanh":
        assert np.abs(fisher - fd_hessian(p, params)).max() > 1e-3


def test_with_damping_the_natural_gradient_trains_a_small_network_fast():
    p = make_dataset_problem(dataset="moons", hidden=[16], activation="tanh", samples=300)
    natural = make_optimizer("natural", lr=1.0)  # damping 0.01
    adam = make_optimizer("adam", lr=0.01)
    results = []
    for opt in (natural, adam):
        params = p.init_params(np.array([0, 1, 2]))
        state = opt.init(params)
        for _ in range(100):
            grads = p.loss_and_grad(params, None)[1]
            inputs = {"fisher": p.fisher(params, None)} if opt.needs_fisher else {}
            params, state = opt.update(grads, state, params, opt.hyper["lr"], **inputs)
        results.append(p.evaluate(params, "train")["loss"])
    assert (results[0] < 0.1).all() and (results[0] < 0.5 * results[1]).all()
