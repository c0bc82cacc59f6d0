"""What each hidden unit of a 2-input network computes over the input plane, and which are dead."""

from __future__ import annotations

import numpy as np
import pytest

from gdsim.engine.internals import unit_maps
from gdsim.engine.learning import make_dataset_problem


def relu_net(**extra):
    return make_dataset_problem(dataset="moons", samples=100, model="mlp", hidden=(3,), activation="relu", **extra)


def test_each_unit_is_its_activation_of_the_grid_and_a_unit_off_everywhere_is_dead():
    problem = relu_net()
    layout = problem.network.layout
    params = np.zeros((1, problem.n_params))
    w1, b1 = layout.weights(params)[0], layout.biases(params)[0]
    w1[0] = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]  # unit 0 = relu(x1), unit 1 = relu(x2)
    b1[0] = [0.0, 0.0, -100.0]  # unit 2: weights 0, bias -100: negative for every input
    layout.weights(params)[1][0] = [[1.0], [-1.0], [5.0]]
    maps = unit_maps(problem, params[0], n=9)
    xs, ys, grid = problem.input_grid(9)
    gx, gy = np.meshgrid(xs, ys)
    np.testing.assert_array_equal(maps.layers[0][0], np.maximum(gx, 0))
    np.testing.assert_array_equal(maps.layers[0][1], np.maximum(gy, 0))
    np.testing.assert_array_equal(maps.layers[0][2], 0)
    # moons has points left and right of 0 and above and below it: units 0 and 1 are alive
    assert maps.dead[0].tolist() == [False, False, True]
    expected = 1 / (1 + np.exp(-(np.maximum(gx, 0) - np.maximum(gy, 0))))
    np.testing.assert_allclose(maps.output, expected, rtol=1e-12)
    assert maps.kind == "probability"


def test_dead_means_zero_on_the_training_points_not_on_the_grid():
    problem = relu_net()
    params = np.zeros((1, problem.n_params))
    layout = problem.network.layout
    x_train, _ = problem.split_points("train")
    layout.weights(params)[0][0, 0, 0] = 1.0  # unit 0 = relu(x1 - b): zero on every training point
    layout.biases(params)[0][0, 0] = -float(x_train[:, 0].max()) - 1e-9
    maps = unit_maps(problem, params[0], n=9)
    assert maps.dead[0][0]
    assert maps.layers[0][0].max() > 0  # the padded grid reaches past the data: the unit is on there


@pytest.mark.parametrize("extra", [dict(hidden=(8, 5), activation="tanh"),
                                   dict(hidden=(6,), batch_norm=True, batch_size=32),
                                   dict(dataset="spirals", classes=3, loss="cce", hidden=(7,))])
def test_the_output_map_is_the_decision_map(extra):
    settings = dict(dataset="moons", samples=120, model="mlp")
    settings.update(extra)
    problem = make_dataset_problem(**settings)
    params = problem.init_params(np.array([3]))
    state = problem.init_state(1)
    if state is not None:  # running statistics that are not the defaults
        state = type(state)(state.mean + 0.3, state.var * 2.0)
    maps = unit_maps(problem, params[0], n=11, state=state)
    _, _, values = problem.decision_grid(params, 11, state)
    np.testing.assert_allclose(maps.output, values[0], rtol=1e-12, atol=1e-15)
    assert [a.shape for a in maps.layers] == [(u, 11, 11) for u in problem.network.hidden_units]
    assert maps.kind == ("class" if problem.n_outputs > 2 else "probability")


def test_only_two_input_networks_have_unit_maps():
    iris = make_dataset_problem(dataset="iris", model="mlp")
    assert unit_maps(iris, np.zeros(iris.n_params)) is None
    flat = make_dataset_problem(dataset="moons", model="logistic")
    maps = unit_maps(flat, np.zeros(flat.n_params), n=5)
    assert maps.layers == [] and maps.output.shape == (5, 5)
