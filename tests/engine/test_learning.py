"""DatasetProblem: gradients through real batches, per-run streams, training outcomes, validation."""

from __future__ import annotations

import numpy as np
import pytest

from gdsim.engine.learning import Batch, make_dataset_problem
from gdsim.engine.metrics import classification_metrics, regression_metrics
from gdsim.engine.optimizers import make_optimizer
from gdsim.engine.problem import ProblemError


def central_differences(problem, params, batch, eps=1e-6):
    """Central differences of every parameter of every row in one call (see test_models)."""
    rows, n = params.shape
    shifts = eps * np.eye(n)[:, None, :]
    stacked = np.concatenate([params[None] + shifts, params[None] - shifts]).reshape(2 * n * rows, n)
    indices = np.tile(batch.indices, (2 * n, 1))
    masks = None if batch.masks is None else tuple(np.tile(m, (2 * n, 1, 1)) for m in batch.masks)
    up, down = problem.loss_and_grad(stacked, Batch(indices, masks))[0].reshape(2, n, rows)
    return ((up - down) / (2 * eps)).T


def train(problem, seeds, steps, optimizer="adam", lr=0.01):
    opt = make_optimizer(optimizer, lr=lr)
    params = problem.init_params(seeds)
    state = opt.init(params)
    sampler = problem.sampler(seeds)
    for _ in range(steps):
        _, grad = problem.loss_and_grad(params, sampler.next())
        params, state = opt.update(grad, state, params, lr)
    return params


SETTINGS = [
    dict(dataset="line", model="linear", l2=0.1),
    dict(dataset="plane", model="mlp", loss="mae", hidden=[4], activation="leaky_relu", l1=0.05),
    dict(dataset="moons", model="logistic", loss="hinge", l1=0.02, l2=0.02),
    dict(dataset="iris", model="softmax", standardize=True, l2=0.1),
    dict(dataset="blobs", model="mlp", hidden=[5, 4], activation="sigmoid", dropout=0.3, l2=0.01),
    dict(dataset="xor", model="mlp", loss="cce", hidden=[6], activation="relu", dropout=0.2),
    dict(dataset="spirals", model="mlp", hidden=[4, 4], activation="tanh", l1=0.01, l2=0.01),
]


@pytest.mark.parametrize("settings", SETTINGS, ids=lambda s: f"{s['dataset']}-{s['model']}")
def test_minibatch_gradient_matches_central_differences(settings):
    problem = make_dataset_problem(samples=60, batch_size=8, init="normal", init_scale=0.5, **settings)
    seeds = np.array([1, 2, 3])
    params = problem.init_params(seeds) + 0.1  # nonzero biases, away from l1's kink at 0
    batch = problem.sampler(seeds).next()
    assert batch.indices.shape == (3, 8)
    assert (batch.masks is not None) == (settings.get("dropout", 0) > 0)
    loss, grad = problem.loss_and_grad(params, batch)
    assert loss.shape == (3,) and grad.shape == (3, problem.n_params)
    np.testing.assert_allclose(grad, central_differences(problem, params, batch), rtol=1e-6, atol=1e-8)


def test_problem_reports_its_shape():
    p = make_dataset_problem(dataset="moons", hidden=[16, 16], batch_size=32)
    assert (p.task, p.n_inputs, p.n_outputs) == ("binary", 2, 1)
    assert (p.n_train, p.n_val, p.n_test) == (210, 45, 45)
    assert p.n_params == 2 * 16 + 16 + 16 * 16 + 16 + 16 + 1
    assert p.steps_per_epoch == 7 and p.epoch_at(14) == 2.0 and p.epoch_at(3) == pytest.approx(3 / 7)
    assert p.layer_names == ("layer 1", "layer 2", "output")
    assert p.points[0].shape == (210, 2) and p.points[1].shape == (210,)
    assert p.description == "mlp 2-16-16-1 tanh, loss bce, 337 parameters"
    with pytest.raises(NotImplementedError):
        p.hessian(p.init_params([0]))
    iris = make_dataset_problem(dataset="iris")
    assert (iris.task, iris.n_outputs, iris.loss_name) == ("multiclass", 3, "cce")
    assert make_dataset_problem(dataset="line", model="linear").loss_name == "mse"
    assert make_dataset_problem(dataset="moons", batch_size=10_000).batch_size == 210


def test_same_seed_same_batches_and_masks_other_seed_different():
    p = make_dataset_problem(dataset="moons", batch_size=16, dropout=0.5, hidden=[8])
    first = [p.sampler([4, 9]).next() for _ in range(1)][0]
    a, b = p.sampler([4, 9]), p.sampler([4, 9])
    for _ in range(40):
        x, y = a.next(), b.next()
        np.testing.assert_array_equal(x.indices, y.indices)
        np.testing.assert_array_equal(x.masks[0], y.masks[0])
    assert not np.array_equal(first.indices[0], first.indices[1])
    assert not np.array_equal(first.masks[0][0], first.masks[0][1])


def test_a_runs_stream_does_not_depend_on_the_other_runs():
    p = make_dataset_problem(dataset="moons", batch_size=32, dropout=0.25, hidden=[8, 8])
    together, alone = p.sampler([5, 6, 7]), p.sampler([6])
    params = p.init_params([5, 6, 7])
    for _ in range(30):  # crosses several epochs and mask chunks
        t, s = together.next(), alone.next()
        np.testing.assert_array_equal(t.indices[1], s.indices[0])
        for mt, ms in zip(t.masks, s.masks):
            np.testing.assert_array_equal(mt[1], ms[0])
        loss_t, grad_t = p.loss_and_grad(params, t)
        loss_s, grad_s = p.loss_and_grad(params[1:2], s)
        np.testing.assert_allclose(loss_s, loss_t[1:2], rtol=1e-13)
        np.testing.assert_allclose(grad_s, grad_t[1:2], rtol=1e-12, atol=1e-15)


def test_each_epoch_visits_every_training_sample_once_in_a_new_order():
    p = make_dataset_problem(dataset="moons", samples=100, batch_size=30)  # 70 training samples
    assert p.steps_per_epoch == 3
    sampler = p.sampler([0])
    epochs = [np.concatenate([sampler.next().indices[0] for _ in range(3)]) for _ in range(3)]
    for order in epochs:
        assert sorted(order.tolist()) == list(range(70))
    assert not np.array_equal(epochs[0], epochs[1])


def test_full_batch_shares_the_data_and_dropout_averages_to_one():
    p = make_dataset_problem(dataset="circles", hidden=[50], dropout=0.2)
    batch = p.sampler([1, 2]).next()
    assert batch.indices is None and batch.masks[0].shape == (2, 210, 50)
    assert abs(batch.masks[0].mean() - 1.0) < 0.02
    assert set(np.unique(batch.masks[0])) == {0.0, 1.25}


def test_line_and_plane_regression_recover_the_true_coefficients():
    for name, lr in (("line", 0.1), ("plane", 0.05)):
        p = make_dataset_problem(dataset=name, model="linear", samples=1000, noise=0.05)
        params = train(p, [0], 1500, optimizer="sgd", lr=lr)
        np.testing.assert_allclose(params[0], p.true_coefficients, atol=1e-2)
        x, y = p.points
        exact = np.linalg.lstsq(np.column_stack([x, np.ones(len(x))]), y, rcond=None)[0]
        np.testing.assert_allclose(params[0], exact, atol=1e-6)  # gradient descent reached least squares


def test_moons_mlp_with_adam_reaches_95_percent_validation_accuracy():
    p = make_dataset_problem(dataset="moons", samples=300, noise=0.2, hidden=[16, 16], activation="tanh",
                             batch_size=32)
    params = train(p, np.array([0, 1, 2]), 2000, optimizer="adam", lr=0.01)
    result = p.evaluate(params, "val")
    assert result["accuracy"].min() >= 0.95, result
    assert set(result) == {"loss", "accuracy", "precision", "recall"}


def test_deep_sigmoid_gradients_vanish_toward_the_input_but_relu_he_do_not():
    seeds = np.arange(5)
    ratios = {}
    for act, init in (("sigmoid", "xavier"), ("relu", "he")):
        p = make_dataset_problem(dataset="moons", hidden=[32] * 6, activation=act, init=init)
        norms = p.layer_grad_norms(p.loss_and_grad(p.init_params(seeds), None)[1])
        assert norms.shape == (5, 7)
        ratios[act] = norms[:, 0] / norms[:, 5]  # first hidden layer against the last
    assert ratios["sigmoid"].max() < 0.01
    assert ratios["relu"].min() > 0.2


def test_batch_size_sets_the_noise_of_the_training_loss():
    noise = {}
    for size in (1, 32, None):
        p = make_dataset_problem(dataset="moons", hidden=[8], batch_size=size)
        params = p.init_params([3])
        sampler = p.sampler([3])
        losses = [p.loss_and_grad(params, sampler.next())[0][0] for _ in range(50)]
        noise[size] = np.std(losses) if np.ptp(losses) > 0 else 0.0
    assert noise[None] == 0.0  # full batch: the same loss every step
    assert noise[1] > 3 * noise[32] > 0


def test_evaluate_ignores_dropout_and_penalty():
    plain = make_dataset_problem(dataset="moons", hidden=[8])
    regular = make_dataset_problem(dataset="moons", hidden=[8], dropout=0.5, l2=1.0, l1=1.0)
    params = plain.init_params([0, 1])
    for split in ("train", "val", "test"):
        a, b = plain.evaluate(params, split), regular.evaluate(params, split)
        assert all(np.array_equal(a[k], b[k]) for k in a)
    assert np.all(regular.loss_and_grad(params, None)[0] > plain.loss_and_grad(params, None)[0])
    with pytest.raises(ValueError, match="split must be"):
        plain.evaluate(params, "dev")


def test_regression_metrics_and_decision_grids():
    line = make_dataset_problem(dataset="line", model="linear")
    params = np.array([[2.0, 1.0]])
    result = line.evaluate(params, "test")
    assert set(result) == {"loss", "mae", "mse"} and result["mse"][0] == pytest.approx(result["loss"][0])
    assert result["mae"][0] < 0.25
    assert line.decision_grid(params) is None
    moons = make_dataset_problem(dataset="moons", hidden=[4])
    xs, ys, grid = moons.decision_grid(moons.init_params([0, 1]), n=12)
    x = moons.points[0]
    assert grid.shape == (2, 12, 12) and np.all((grid > 0) & (grid < 1))
    assert xs[0] < x[:, 0].min() and xs[-1] > x[:, 0].max() and ys[0] < x[:, 1].min()
    blobs = make_dataset_problem(dataset="blobs", model="softmax")
    assert set(np.unique(blobs.decision_grid(blobs.init_params([0]), n=30)[2])) <= {0.0, 1.0, 2.0}
    assert make_dataset_problem(dataset="iris").decision_grid(np.zeros((1, 4 * 16 + 16 + 16 * 3 + 3))) is None


def test_metric_definitions():
    pred = np.array([[1, 1, 0, 0], [1, 1, 1, 1]])
    labels = np.array([1, 0, 1, 0])
    m = classification_metrics(pred, labels, 2)
    np.testing.assert_allclose(m["accuracy"], [0.5, 0.5])
    np.testing.assert_allclose(m["precision"], [0.5, 0.5])
    np.testing.assert_allclose(m["recall"], [0.5, 1.0])
    multi = classification_metrics(np.array([[0, 1, 1, 2]]), np.array([0, 1, 2, 2]), 3)
    np.testing.assert_allclose(multi["precision"], [(1 + 0.5 + 1) / 3])
    np.testing.assert_allclose(multi["recall"], [(1 + 1 + 0.5) / 3])
    reg = regression_metrics(np.array([[1.0, 3.0]]), np.array([2.0, 2.0]))
    assert reg["mae"][0] == 1.0 and reg["mse"][0] == 1.0


@pytest.mark.parametrize(
    "settings, message",
    [
        (dict(dataset="line", model="logistic"), "model 'logistic' is for classification, but dataset 'line'"),
        (dict(dataset="line", loss="bce"), "loss 'bce' is for classification, but dataset 'line'"),
        (dict(dataset="moons", model="linear"), "model 'linear' predicts a number, but dataset 'moons' has 2"),
        (dict(dataset="iris", model="logistic"), "model 'logistic' separates 2 classes, but dataset 'iris' has 3"),
        (dict(dataset="iris", loss="bce"), "loss 'bce' needs 2 classes, but dataset 'iris' has 3"),
        (dict(dataset="moons", loss="mse"), "loss 'mse' is for regression, but dataset 'moons' has 2 classes"),
        (dict(dataset="moons", model="softmax", loss="bce"), "loss 'bce' does not fit model 'softmax'"),
        (dict(dataset="moons", model="perceptron"), "model 'perceptron' is not known"),
        (dict(dataset="moons", loss="huber"), "loss 'huber' is not known; choose one of: mse"),
        (dict(dataset="moons", activation="gelu"), "activation 'gelu' is not known"),
        (dict(dataset="moons", init="glorot"), "init 'glorot' is not known"),
        (dict(dataset="moons", hidden=[16, 0]), "hidden must be a list of layer widths"),
        (dict(dataset="moons", batch_size=0), "batch_size must be a whole number >= 1"),
        (dict(dataset="moons", dropout=1.0), "dropout must be a number from 0 to below 1"),
        (dict(dataset="moons", l2=-0.1), "l2 must be a number >= 0"),
        (dict(dataset="moons", model="logistic", dropout=0.1), "dropout applies to hidden layers"),
    ],
)
def test_bad_settings_get_one_line_messages(settings, message):
    with pytest.raises(ProblemError, match=message.replace("(", r"\(")):
        make_dataset_problem(**settings)


def test_csv_problem_uses_model_and_loss_to_read_the_target(tmp_path):
    lines = ["a,b,t"] + [f"{i},{(i * 7) % 5},{i % 2}" for i in range(40)]
    (tmp_path / "d.csv").write_text("\n".join(lines) + "\n")
    common = dict(dataset="csv", path="d.csv", target="t", base_dir=str(tmp_path))
    assert make_dataset_problem(**common).task == "binary"
    assert make_dataset_problem(model="linear", **common).task == "regression"
    assert make_dataset_problem(loss="cce", **common).n_outputs == 2
    assert isinstance(Batch(None, None), tuple)


def test_evaluation_in_blocks_of_runs_matches_one_pass(monkeypatch):
    import gdsim.engine.learning as learning

    p = make_dataset_problem(dataset="blobs", hidden=[8])
    params = p.init_params(np.arange(7))
    whole = p.evaluate(params, "train")
    grid = p.decision_grid(params, n=10)[2]
    monkeypatch.setattr(learning, "_CHUNK_ENTRIES", 3 * p.n_train * 8)  # blocks of 3 runs
    blocked = p.evaluate(params, "train")
    assert all(np.array_equal(whole[k], blocked[k]) for k in whole)
    np.testing.assert_array_equal(grid, p.decision_grid(params, n=10)[2])


def test_standardize_fits_the_training_split_only():
    raw = make_dataset_problem(dataset="plane", model="linear")
    scaled = make_dataset_problem(dataset="plane", model="linear", standardize=True)
    x = scaled.points[0]
    np.testing.assert_allclose(x.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(x.std(axis=0), 1.0, rtol=1e-12)
    mean, std = raw.points[0].mean(axis=0), raw.points[0].std(axis=0)
    np.testing.assert_allclose(scaled._splits["val"][0], (raw._splits["val"][0] - mean) / std, rtol=1e-12)
    spread = raw.points[0].std(axis=0)  # unscaled: x1 spans +-1, x2 spans +-5
    assert spread[0] < 0.7 and spread[1] > 2.5
