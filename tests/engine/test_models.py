"""Hand-written backpropagation against finite differences and torch.autograd (golden files)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from gdsim.engine.activations import ACTIVATIONS, make_activation
from gdsim.engine.losses import LOSSES, make_loss
from gdsim.engine.models import Layout, Network
from gdsim.engine.problem import ProblemError

GOLDEN = Path(__file__).parent.parent / "golden"
INDEX = json.loads((GOLDEN / "model_golden.json").read_text())["cases"]
ARRAYS = np.load(GOLDEN / "model_golden.npz")


def loss_and_grad(net, loss, params, x, targets, masks=None, l1=0.0, l2=0.0):
    scores, cache = net.forward(params, x, masks)
    value, dscores = loss.grad(scores, targets)
    grad = net.backward(params, cache, dscores)
    net.add_penalty_grad(params, grad, l1, l2)
    return value + net.penalty(params, l1, l2), grad


def numeric_grad(net, loss, params, x, targets, masks=None, l1=0.0, l2=0.0, eps=1e-6):
    """Central differences of every parameter of every row, all in one batched call: rows are
    independent, so each perturbed copy of a row becomes a row of its own."""
    rows, n = params.shape
    shifts = eps * np.eye(n)[:, None, :]  # (P, 1, P): parameter j moved in copy j
    stacked = np.concatenate([params[None] + shifts, params[None] - shifts]).reshape(2 * n * rows, n)

    def tile(a):  # per-row arrays follow their row into every copy
        return None if a is None else np.tile(a, (2 * n,) + (1,) * (a.ndim - 1))

    x_rows = tile(x) if x.ndim == 3 else x
    masks_rows = None if masks is None else tuple(tile(m) for m in masks)
    values = loss_and_grad(net, loss, stacked, x_rows, targets, masks_rows, l1, l2)[0]
    up, down = values.reshape(2, n, rows)
    return ((up - down) / (2 * eps)).T


def golden_case(name):
    meta = INDEX[name]
    arrays = {key.split("/", 1)[1]: ARRAYS[key] for key in ARRAYS.files if key.startswith(name + "/")}
    net = Network(meta["sizes"], make_activation(meta["activation"]))
    loss = make_loss(meta["loss"])
    targets = loss.encode_targets(arrays["y"], meta["sizes"][-1])
    masks = tuple(arrays[f"mask{i}"] for i in range(meta["masks"])) or None
    return meta, arrays, net, loss, targets, masks


def test_golden_covers_every_activation_and_loss():
    used = {(m["activation"], m["loss"]) for m in INDEX.values() if len(m["sizes"]) > 2}
    assert used >= {(a, l) for a in ACTIVATIONS for l in LOSSES}
    assert any(m["l1"] > 0 and m["l2"] > 0 for m in INDEX.values())


@pytest.mark.parametrize("name", sorted(INDEX))
def test_loss_and_grad_match_torch_autograd(name):
    meta, arrays, net, loss, targets, masks = golden_case(name)
    value, grad = loss_and_grad(net, loss, arrays["params"], arrays["x"], targets, masks, meta["l1"], meta["l2"])
    np.testing.assert_allclose(value, arrays["loss"], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(grad, arrays["grad"], rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("name", sorted(INDEX))
def test_grad_matches_central_differences(name):
    meta, arrays, net, loss, targets, masks = golden_case(name)
    args = (arrays["params"], arrays["x"], targets, masks, meta["l1"], meta["l2"])
    grad = loss_and_grad(net, loss, *args)[1]
    numeric = numeric_grad(net, loss, *args)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


def test_layout_views_share_memory_with_the_parameter_matrix():
    layout = Layout([3, 4, 2])
    params = np.arange(2 * layout.n_params, dtype=np.float64).reshape(2, -1)
    w1, w2 = layout.weights(params)
    b1, b2 = layout.biases(params)
    assert layout.n_params == 3 * 4 + 4 + 4 * 2 + 2
    assert w1.shape == (2, 3, 4) and b2.shape == (2, 2)
    assert np.shares_memory(w1, params) and np.shares_memory(b2, params)
    w2[1, 0, 1] = -1.0
    assert params[1, 16 + 1] == -1.0  # W2 starts after W1 (12) and b1 (4), row-major
    assert b1[0, 0] == params[0, 12]


def test_shared_inputs_give_the_same_result_as_copied_inputs():
    rng = np.random.default_rng(1)
    net = Network([2, 8, 3], make_activation("relu"))
    params = rng.normal(size=(4, net.n_params))
    x = rng.normal(size=(6, 2))
    loss = make_loss("cce")
    targets = loss.encode_targets(np.arange(6) % 3, 3)
    shared = loss_and_grad(net, loss, params, x, targets)
    copied = loss_and_grad(net, loss, params, np.broadcast_to(x, (4, 6, 2)).copy(), targets)
    np.testing.assert_allclose(shared[0], copied[0], rtol=1e-14)
    np.testing.assert_allclose(shared[1], copied[1], rtol=1e-12, atol=1e-15)


def test_a_row_is_unaffected_by_the_other_rows():
    rng = np.random.default_rng(2)
    net = Network([2, 5, 5, 1], make_activation("tanh"))
    params = rng.normal(size=(5, net.n_params))
    x = rng.normal(size=(5, 7, 2))
    loss = make_loss("bce")
    targets = loss.encode_targets(np.arange(7) % 2, 1)
    together = loss_and_grad(net, loss, params, x, targets, l1=0.1, l2=0.2)
    shared = loss_and_grad(net, loss, params, x[0], targets)  # one input batch for every run
    for r in range(5):
        alone = loss_and_grad(net, loss, params[r : r + 1], x[r : r + 1], targets, l1=0.1, l2=0.2)
        np.testing.assert_allclose(alone[0], together[0][r : r + 1], rtol=1e-14)
        np.testing.assert_allclose(alone[1], together[1][r : r + 1], rtol=1e-13, atol=1e-16)
        alone = loss_and_grad(net, loss, params[r : r + 1], x[0], targets)
        np.testing.assert_allclose(alone[0], shared[0][r : r + 1], rtol=1e-14)
        np.testing.assert_allclose(alone[1], shared[1][r : r + 1], rtol=1e-13, atol=1e-16)


def test_stable_losses_stay_finite_for_huge_scores():
    scores = np.array([[[800.0, -800.0, 0.0]]]).reshape(1, 3, 1)
    bce = make_loss("bce")
    value, grad = bce.grad(scores, bce.encode_targets(np.array([0, 1, 1]), 1))
    assert np.isfinite(value).all() and np.isfinite(grad).all()
    np.testing.assert_allclose(value, [(800 + 800 + np.log(2)) / 3])
    cce = make_loss("cce")
    logits = np.array([[[1000.0, -1000.0, 0.0]]])
    value, grad = cce.grad(logits, cce.encode_targets(np.array([1]), 3))
    np.testing.assert_allclose(value, [2000.0])
    np.testing.assert_allclose(grad[0, 0], [1.0, -1.0, 0.0], atol=1e-300)


def test_inits_follow_their_scales_and_leave_biases_at_zero():
    net = Network([100, 200, 1], make_activation("relu"))
    seeds = np.array([3, 4])
    w1 = net.layout.weights(net.init_params(seeds, "xavier"))[0]
    bound = np.sqrt(6 / 300)
    assert np.abs(w1).max() <= bound and np.abs(w1).max() > 0.95 * bound
    he = net.layout.weights(net.init_params(seeds, "he"))[0]
    assert abs(he.std() - np.sqrt(2 / 100)) < 0.01 * np.sqrt(2 / 100) * 10
    normal = net.init_params(seeds, "normal", scale=0.3)
    assert abs(net.layout.weights(normal)[0].std() - 0.3) < 0.01
    assert all(np.all(b == 0) for b in net.layout.biases(normal))
    assert not net.init_params(seeds, "zeros").any()
    one = net.init_params(seeds[1:], "he")
    np.testing.assert_array_equal(one[0], net.init_params(seeds, "he")[1])
    with pytest.raises(ProblemError, match="init 'glorot' is not known"):
        net.init_params(seeds, "glorot")


def test_layer_grad_norms_split_the_gradient_by_layer():
    net = Network([2, 3, 1], make_activation("tanh"))
    grad = np.ones((2, net.n_params))
    norms = net.layer_grad_norms(grad)
    np.testing.assert_allclose(norms, [[3.0, 2.0], [3.0, 2.0]])  # sqrt(6 + 3) and sqrt(3 + 1)
    assert net.layer_names == ("layer 1", "output")


def test_fast_activations_match_the_exact_functions():
    z = np.concatenate([np.linspace(-40, 40, 4001), [-800.0, 800.0, 0.0, 1e-12, -1e-12]])
    with np.errstate(over="ignore"):
        exact_sigmoid = 1.0 / (1.0 + np.exp(-z))
    np.testing.assert_allclose(make_activation("tanh").forward(z), np.tanh(z), rtol=0, atol=5e-16)
    np.testing.assert_allclose(make_activation("sigmoid").forward(z), exact_sigmoid, rtol=0, atol=5e-16)
    np.testing.assert_array_equal(make_activation("relu").forward(z), np.maximum(z, 0))
    np.testing.assert_array_equal(make_activation("leaky_relu").forward(z), np.where(z > 0, z, 0.01 * z))


@pytest.mark.parametrize("sizes", [[3, 5, 4, 2], [3, 1]])
def test_a_ones_column_on_the_inputs_gives_the_same_scores_and_gradient(sizes):
    rng = np.random.default_rng(11)
    net = Network(sizes, make_activation("tanh"))
    params = rng.normal(size=(4, net.n_params))
    for x in (rng.normal(size=(6, 3)), rng.normal(size=(4, 6, 3))):  # shared, then per-run inputs
        x_ones = np.concatenate([x, np.ones(x.shape[:-1] + (1,))], axis=-1)
        scores, cache = net.forward(params, x)
        scores_ones, cache_ones = net.forward(params, x_ones, ones=True)
        np.testing.assert_allclose(scores_ones, scores, rtol=1e-13, atol=1e-15)
        dscores = rng.normal(size=scores.shape)
        np.testing.assert_allclose(net.backward(params, cache_ones, dscores), net.backward(params, cache, dscores),
                                   rtol=1e-12, atol=1e-15)
