"""Batch normalization in the MLP: hand-written backprop against torch.autograd (train and eval mode,
golden files) and finite differences; running statistics as per-run state the simulation keeps."""

from __future__ import annotations

import json
import pickle
import tomllib
from pathlib import Path

import numpy as np
import pytest

from gdsim.build import build
from gdsim.engine.activations import ACTIVATIONS, make_activation
from gdsim.engine.learning import make_dataset_problem
from gdsim.engine.losses import make_loss
from gdsim.engine.models import Network, NormStats
from gdsim.engine.problem import ProblemError
from gdsim.scenario.load import ScenarioError, validate_raw

GOLDEN = Path(__file__).parent.parent / "golden"
INDEX = json.loads((GOLDEN / "bn_golden.json").read_text())["cases"]
ARRAYS = np.load(GOLDEN / "bn_golden.npz")


def golden(name):
    meta = INDEX[name]
    arrays = {key.split("/", 1)[1]: ARRAYS[key] for key in ARRAYS.files if key.startswith(name + "/")}
    net = Network(meta["sizes"], make_activation(meta["activation"]), batch_norm=True)
    loss = make_loss(meta["loss"])
    targets = loss.encode_targets(arrays["y"], meta["sizes"][-1])
    masks = tuple(arrays[f"mask{i}"] for i in range(meta["masks"])) or None
    return meta, arrays, net, loss, targets, masks


def loss_and_grad(net, loss, params, x, targets, masks=None, stats=None):
    scores, cache = net.forward(params, x, masks, stats=stats)
    value, dscores = loss.grad(scores, targets)
    return value, net.backward(params, cache, dscores), cache


def numeric_grad(net, loss, params, x, targets, masks=None, stats=None, eps=1e-6):
    """Central differences of every parameter, each perturbed copy of a row a row of its own."""
    rows, n = params.shape
    shifts = eps * np.eye(n)[:, None, :]
    stacked = np.concatenate([params[None] + shifts, params[None] - shifts]).reshape(2 * n * rows, n)

    def tile(a):
        return None if a is None else np.tile(a, (2 * n,) + (1,) * (a.ndim - 1))

    x_rows = tile(x) if x.ndim == 3 else x
    masks_rows = None if masks is None else tuple(tile(m) for m in masks)
    stats_rows = None if stats is None else NormStats(tile(stats.mean), tile(stats.var))
    values = loss_and_grad(net, loss, stacked, x_rows, targets, masks_rows, stats_rows)[0]
    up, down = values.reshape(2, n, rows)
    return ((up - down) / (2 * eps)).T


def test_golden_covers_every_activation_both_modes_dropout_and_per_run_inputs():
    assert {m["activation"] for m in INDEX.values()} == set(ACTIVATIONS)
    assert any(m["masks"] for m in INDEX.values()) and any(not m["shared_x"] for m in INDEX.values())
    assert json.loads((GOLDEN / "bn_golden.json").read_text())["torch"].startswith("2.13.0")


@pytest.mark.parametrize("name", sorted(INDEX))
def test_train_mode_matches_torch_autograd_and_running_statistics(name):
    meta, arrays, net, loss, targets, masks = golden(name)
    value, grad, cache = loss_and_grad(net, loss, arrays["params"], arrays["x"], targets, masks)
    np.testing.assert_allclose(value, arrays["train_loss"], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(grad, arrays["train_grad"], rtol=1e-9, atol=1e-12)
    stats = net.updated_stats(NormStats(arrays["mean0"], arrays["var0"]), cache)
    np.testing.assert_allclose(stats.mean, arrays["train_mean"], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(stats.var, arrays["train_var"], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", sorted(INDEX))
def test_eval_mode_matches_torch_autograd(name):
    meta, arrays, net, loss, targets, masks = golden(name)
    stats = NormStats(arrays["mean0"], arrays["var0"])
    value, grad, _ = loss_and_grad(net, loss, arrays["params"], arrays["x"], targets, masks, stats)
    np.testing.assert_allclose(value, arrays["eval_loss"], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(grad, arrays["eval_grad"], rtol=1e-9, atol=1e-12)
    assert not np.allclose(arrays["eval_loss"], arrays["train_loss"])  # the two modes differ


# Finite differences only where the loss is smooth (no relu kink or hinge/mae corner within a step
# of 1e-6); the torch golden covers the others.
SMOOTH = sorted(n for n, m in INDEX.items()
                if m["activation"] in ("tanh", "sigmoid") and m["loss"] in ("bce", "mse", "cce"))


def test_smooth_cases_exist():
    assert len(SMOOTH) >= 2


@pytest.mark.parametrize("name", SMOOTH)
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_grad_matches_central_differences(name, mode):
    meta, arrays, net, loss, targets, masks = golden(name)
    stats = NormStats(arrays["mean0"], arrays["var0"]) if mode == "eval" else None
    _, grad, _ = loss_and_grad(net, loss, arrays["params"], arrays["x"], targets, masks, stats)
    numeric = numeric_grad(net, loss, arrays["params"], arrays["x"], targets, masks, stats)
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-7)


def test_train_mode_is_invariant_to_shifting_the_inputs():
    """Batch statistics subtract the batch mean, so adding the same vector to every sample's input
    leaves the train-mode loss unchanged; eval mode (fixed running statistics) is not invariant."""
    meta, arrays, net, loss, targets, masks = golden("bn_tanh_bce")
    x = arrays["x"]
    a = loss_and_grad(net, loss, arrays["params"], x, targets)[0]
    b = loss_and_grad(net, loss, arrays["params"], x + np.array([3.0, -2.0, 1.0]), targets)[0]
    np.testing.assert_allclose(a, b, rtol=1e-10)
    stats = NormStats(arrays["mean0"], arrays["var0"])  # eval mode is not invariant
    a = loss_and_grad(net, loss, arrays["params"], x, targets, stats=stats)[0]
    b = loss_and_grad(net, loss, arrays["params"], x + np.array([3.0, -2.0, 1.0]), targets, stats=stats)[0]
    assert not np.allclose(a, b)


def _problem(**kw):
    settings = dict(dataset="moons", samples=120, model="mlp", hidden=(6, 5), batch_size=20, batch_norm=True,
                    data_seed=1)
    settings.update(kw)
    return make_dataset_problem(**settings)


def test_problem_state_moves_only_in_train_step_and_evaluation_needs_it():
    p = _problem()
    assert p.has_state and "batch norm" in p.description
    params = p.init_params([0, 1])
    assert (params[:, -11:] == 1.0).all()  # γ start at 1
    plain = _problem(batch_norm=False)
    # the same weights as without batch norm (the γ block is extra), drawn from the same stream
    np.testing.assert_array_equal(params[:, : plain.n_params], plain.init_params([0, 1]))
    state = p.init_state(2)
    assert (state.mean == 0).all() and (state.var == 1).all() and state.mean.shape == (2, 11)
    batch = p.sampler([0, 1]).next()
    loss, grad = p.loss_and_grad(params, batch)
    loss2, grad2, new = p.train_step(params, batch, state)
    np.testing.assert_array_equal(loss, loss2)
    np.testing.assert_array_equal(grad, grad2)
    assert (state.mean == 0).all() and not np.allclose(new.mean, 0)  # a new state; the old one kept
    with pytest.raises(ValueError, match="running statistics"):
        p.evaluate(params, "val")
    a, b = p.evaluate(params, "val", state)["loss"], p.evaluate(params, "val", new)["loss"]
    assert not np.allclose(a, b)  # eval mode really uses the statistics it is given
    assert p.decision_grid(params, 10, new)[2].shape == (2, 10, 10)


SCENARIO = """
[scenario]
title = "t"
claim = "c"
steps = 120

[problem]
dataset = "moons"
samples = 200
model = "mlp"
hidden = [8, 8]
batch_size = 20
batch_norm = true
eval_every = 10

[optimizer]
name = "sgd"
lr = 0.5

[[runs]]
seeds = 3
"""


def load_text(text):
    return validate_raw(tomllib.loads(text), path=None, id="t.toml", text=text)


def test_running_statistics_follow_the_batches_and_survive_the_engine_worker():
    a, b = build(load_text(SCENARIO)), build(load_text(SCENARIO))
    c = a.cohorts[0]
    assert c.problem_state is not None and c.problem_state.mean.shape == (3, 16)
    a.step(60)
    b.restore(pickle.loads(pickle.dumps(a.snapshot(None))))  # as the engine worker sends it
    np.testing.assert_array_equal(b.cohorts[0].problem_state.var, c.problem_state.var)
    a.step(60)
    b.step(60)
    np.testing.assert_array_equal(a.loss, b.loss)
    np.testing.assert_array_equal(a.cohorts[0].problem_state.mean, b.cohorts[0].problem_state.mean)
    # the evaluation used the running statistics: recompute it
    val = a.cohorts[0].problem.evaluate(a.cohorts[0].params, "val", a.cohorts[0].problem_state)["loss"]
    np.testing.assert_array_equal(a.evaluation()["val_loss"], val)
    _, recorded = a.history.series("val_loss")
    assert (recorded[-1] < recorded[0]).all()


def test_frozen_runs_keep_their_running_statistics():
    text = SCENARIO.replace("lr = 0.5", "lr = 0.5\n\n[[runs]]\nlabel = \"huge\"\noptimizer = { lr = 1e9 }\n"
                            "problem = { bound = 50 }")
    sim = build(load_text(text))
    sim.step(40)
    huge = [c for c in sim.cohorts if c.optimizer.hyper["lr"] == 1e9][0]
    assert huge.frozen.all()
    held = huge.problem_state.mean.copy()
    sim.step(20)
    np.testing.assert_array_equal(huge.problem_state.mean, held)


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"model": "logistic", "hidden": ()}, "batch_norm"),
        ({"batch_size": 1}, "batch_size = 1"),
        ({"samples": 100, "batch_size": 23}, "last batch"),
        ({"batch_norm": "yes"}, "batch_norm must be true or false"),
    ],
)
def test_bad_settings(settings, message):
    with pytest.raises(ProblemError, match=message):
        _problem(**settings)


@pytest.mark.parametrize(
    "change, key",
    [
        (("batch_norm = true", 'batch_norm = "maybe"'), "problem.batch_norm"),
        (("batch_size = 20", "batch_size = 1"), "problem.batch_norm: batch_norm needs at least 2 samples"),
        (('model = "mlp"\nhidden = [8, 8]', 'model = "logistic"'), "problem.batch_norm"),
    ],
)
def test_scenario_errors_name_the_key(change, key, tmp_path, capsys):
    from gdsim.cli import main

    text = SCENARIO.replace(*change)
    with pytest.raises(ScenarioError, match=key.replace(".", r"\.")):
        load_text(text)
    path = tmp_path / "bn.toml"
    path.write_text(text)
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert key in err and "Traceback" not in err


def test_restore_best_brings_back_the_running_statistics_of_the_best_step():
    """A run stopped early returns to its best parameters *and* the running statistics it had
    there: evaluating the restored parameters with later statistics would be a different model."""
    text = SCENARIO.replace("eval_every = 10", "eval_every = 5\npatience = 3\nrestore_best = true")
    text = text.replace("lr = 0.5", "lr = 2.0").replace("steps = 120", "steps = 400")
    sim = build(load_text(text))
    sim.step(400)
    cohort = sim.cohorts[0]
    stopped = np.flatnonzero(cohort.stopped_at >= 0)
    assert len(stopped), "no run stopped early: the test needs one"
    r = int(stopped[0])
    best = int(cohort.best_at[r])
    assert 0 < best < cohort.stopped_at[r]
    reference = build(load_text(SCENARIO.replace("lr = 0.5", "lr = 2.0").replace("steps = 120", "steps = 400")))
    reference.step(best)
    ref = reference.cohorts[0]
    np.testing.assert_array_equal(cohort.params[r], ref.params[r])
    np.testing.assert_array_equal(cohort.problem_state.mean[r], ref.problem_state.mean[r])
    np.testing.assert_array_equal(cohort.problem_state.var[r], ref.problem_state.var[r])
    val = ref.problem.evaluate(ref.params[r : r + 1], "val", NormStats(ref.problem_state.mean[r : r + 1],
                                                                       ref.problem_state.var[r : r + 1]))["loss"]
    np.testing.assert_array_equal(cohort.best_val[r], val[0])
