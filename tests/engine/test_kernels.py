"""The hand-made numeric kernels (tanh and sigmoid from exp, log1p from log) against NumPy's own."""

from __future__ import annotations

import warnings

import numpy as np

from gdsim.engine.activations import sigmoid, tanh
from gdsim.engine.losses import log1p_small, make_loss


def ulps(got: np.ndarray, exact: np.ndarray) -> np.ndarray:
    return np.abs(got - exact) / np.spacing(np.abs(exact))


def dense_grid() -> np.ndarray:
    tiny = np.geomspace(1e-300, 1.0, 20001)
    return np.concatenate([np.linspace(-25, 25, 200001), tiny, -tiny, [0.0, -0.0, 5e-324, -5e-324]])


def test_tanh_is_within_half_an_ulp_of_one_absolutely_and_a_few_ulp_away_from_zero():
    z = dense_grid()
    got, exact = tanh(z), np.tanh(z)
    assert np.max(np.abs(got - exact)) <= 4.5e-16
    # 2 / (1 + e^-2z) - 1 cancels near 0, so relative accuracy holds where |tanh z| >= 1/2.
    away = np.abs(exact) >= 0.5
    assert np.max(ulps(got[away], exact[away])) <= 4


def test_tanh_and_sigmoid_reach_their_limits_without_warnings():
    z = np.array([np.inf, -np.inf, 1e308, -1e308, 800.0, -800.0, 0.0, -0.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the silenced overflow must not leak out as a RuntimeWarning
        t, s = tanh(z), sigmoid(z)
    np.testing.assert_array_equal(t, [1, -1, 1, -1, 1, -1, 0, 0])
    np.testing.assert_array_equal(s, [1, 0, 1, 0, 1, 0, 0.5, 0.5])
    assert np.isnan(tanh(np.array([np.nan]))).all() and np.isnan(sigmoid(np.array([np.nan]))).all()


def test_sigmoid_matches_the_exact_formula():
    z = dense_grid()
    with np.errstate(over="ignore"):
        exact = 1.0 / (1.0 + np.exp(-z))
    np.testing.assert_array_equal(sigmoid(z), exact)  # the same operations in the same order


def test_log1p_small_is_within_one_ulp_of_log1p_on_zero_to_one():
    e = np.concatenate([np.linspace(0.0, 1.0, 200001), np.geomspace(5e-324, 1.0, 20001), [0.0, 2**-53, 2**-52]])
    got, exact = log1p_small(e, e + 1.0), np.log1p(e)
    assert got[e == 0].tolist() == [0.0] * int((e == 0).sum())
    positive = exact > 0
    assert np.max(ulps(got[positive], exact[positive])) <= 1.0


def test_bce_agrees_with_the_log1p_formula():
    rng = np.random.default_rng(5)
    scores = np.concatenate([rng.normal(0, 4, 300), [0.0, 40.0, -40.0, 800.0, -800.0, 1e-9]]).reshape(2, -1, 1)
    bce = make_loss("bce")
    targets = bce.encode_targets(rng.integers(0, 2, scores.shape[1]), 1)
    value, grad = bce.grad(scores, targets)
    per = np.maximum(scores, 0) - scores * targets + np.log1p(np.exp(-np.abs(scores)))
    np.testing.assert_allclose(value, per.mean(axis=(1, 2)), rtol=1e-15)
    prob = np.where(scores >= 0, 1 / (1 + np.exp(-np.abs(scores))), np.exp(-np.abs(scores)) / (1 + np.exp(-np.abs(scores))))
    np.testing.assert_allclose(grad, (prob - targets) / scores.shape[1], rtol=1e-15, atol=1e-300)
    np.testing.assert_array_equal(bce.value(scores, targets), value)
