"""Predictions on a split (confusion counts, misread first) and a 1-input regression's fitted curve."""

from __future__ import annotations

import numpy as np

from gdsim.engine.learning import make_dataset_problem
from gdsim.engine.metrics import classification_metrics, confusion_matrix, most_confused
from gdsim.engine.predictions import SplitPredictions, fitted_curve, probabilities, split_predictions


def test_confusion_counts_rows_true_columns_predicted_per_run():
    labels = np.array([0, 0, 1, 2, 2, 2])
    pred = np.array([[0, 1, 1, 2, 0, 2],
                     [2, 2, 2, 2, 2, 2]])
    counts = confusion_matrix(pred, labels, 3)
    assert counts.shape == (2, 3, 3)
    assert counts[0].tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]
    assert counts[1].tolist() == [[0, 0, 2], [0, 0, 1], [0, 0, 3]]
    # the diagonal over the total is the accuracy the metrics report
    acc = classification_metrics(pred, labels, 3)["accuracy"]
    np.testing.assert_allclose(np.trace(counts, axis1=1, axis2=2) / len(labels), acc)
    assert confusion_matrix(np.zeros((1, 0)), np.zeros(0), 4).shape == (1, 4, 4)


def test_most_confused_is_largest_first_off_the_diagonal():
    counts = np.array([[9, 1, 0], [3, 8, 0], [0, 3, 5]])
    assert most_confused(counts) == [(1, 0, 3), (2, 1, 3), (0, 1, 1)]
    assert most_confused(counts, most=1) == [(1, 0, 3)]
    assert most_confused(np.eye(3, dtype=int) * 4) == []


def test_probabilities_sum_to_one_and_one_score_is_a_sigmoid():
    p = probabilities(np.array([[1000.0, 0.0, -1000.0], [0.0, 0.0, 0.0]]))
    np.testing.assert_allclose(p.sum(axis=-1), 1.0)
    np.testing.assert_allclose(p[1], 1 / 3)
    two = probabilities(np.array([[0.0], [np.log(3.0)]]))
    np.testing.assert_allclose(two, [[0.5, 0.5], [0.25, 0.75]])


def test_misread_first_puts_surest_mistakes_first_then_least_sure_right():
    preds = SplitPredictions("test", np.arange(5), np.array([0, 1, 1, 0, 1]), np.array([0, 0, 1, 1, 1]),
                             np.array([0.9, 0.6, 0.55, 0.8, 0.99]), np.zeros((2, 2), dtype=int))
    assert preds.misread_first().tolist() == [3, 1, 2, 0, 4]
    assert preds.wrong == 2 and preds.accuracy == 0.6


def test_split_predictions_agree_with_the_evaluation_metrics():
    problem = make_dataset_problem(dataset="spirals", classes=3, samples=200, model="mlp", hidden=(8,), loss="cce")
    params = problem.init_params(np.array([4]))
    preds = split_predictions(problem, params[0], "test")
    x, y = problem.split_points("test")
    assert len(preds.labels) == len(y) and preds.confusion.sum() == len(y)
    assert preds.confusion.trace() == int(np.sum(preds.predicted == y))
    np.testing.assert_allclose(preds.accuracy, problem.evaluate(params, "test")["accuracy"][0])
    np.testing.assert_array_equal(problem.data.y[preds.rows], y)
    assert ((preds.sure >= 1 / 3 - 1e-12) & (preds.sure <= 1)).all()  # the predicted class is the likeliest
    regression = make_dataset_problem(dataset="line", model="linear")
    assert split_predictions(regression, regression.init_params(np.array([0]))[0]) is None


def test_fitted_curve_is_in_raw_units_also_when_standardized():
    for standardize in (False, True):
        problem = make_dataset_problem(dataset="line", model="linear", standardize=standardize, noise=0.0)
        # the parameters that give y = 2x + 1 in the model's units
        w = 2.0 * problem.x_scale[0]
        b = 1.0 + 2.0 * problem.x_mean[0]
        xs, ys = fitted_curve(problem, np.array([[w, b], [0.0, 0.0]]))
        np.testing.assert_allclose(ys[0], 2 * xs + 1, atol=1e-12)
        np.testing.assert_allclose(ys[1], 0.0)
        x = problem.data.x[:, 0]
        assert xs[0] < x.min() and xs[-1] > x.max()
    assert fitted_curve(make_dataset_problem(dataset="plane", model="linear"), np.zeros((1, 3))) is None
    assert fitted_curve(make_dataset_problem(dataset="moons"), np.zeros((1, 65))) is None
