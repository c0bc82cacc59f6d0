"""Loss landscapes (gdsim/engine/landscape.py): recorded points give exactly their step's loss, the
batch equals a loop over grid points, PCA of a planar path holds all its variance, filter-wise
normalization matches the weights' norms, and seeds reproduce."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from gdsim.build import build
from gdsim.engine import landscape as L
from gdsim.engine import landscape_runs as R
from gdsim.engine.models import NormStats
from gdsim.scenario.library import resolve
from gdsim.scenario.load import load_scenario


def stepped(name: str, steps: int):
    sim = build(load_scenario(resolve(name)))
    sim.step(steps)
    return sim


def recorded_loss(sim, row: int, step: int) -> float:
    steps, losses = sim.history.series("loss")
    index = int(np.flatnonzero(steps == step)[0])
    return float(losses[index, row])


# -- exactness ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["overfitting", "local-minima-networks", "mae-vs-mse", "global-minimum"])
def test_a_recorded_point_gives_exactly_its_full_batch_step_loss(name):
    """Full-batch runs without batch norm: the recorded step loss is loss_and_grad's value at that
    step's parameters, and the landscape evaluates the same forward pass and loss (with the l2
    penalty of local-minima-networks): bit for bit, at t = 0 and t = 1 of a line, at a plane's centre."""
    sim = stepped(name, 37)
    problem = sim.cohorts[0].problem
    assert getattr(problem, "batch_size", 1) >= getattr(problem, "n_train", 1)  # full batch
    path = R.run_path(sim, 0)
    assert path.steps[0] == 0 and path.steps[-1] == 37
    k = 3  # some recorded step inside the path
    step = int(path.steps[k])
    line = L.line(problem, path.params[k], path.params[-1], n=41, span=0.5)
    assert line.loss[line.origin[0]] == recorded_loss(sim, 0, step)
    assert line.loss[line.end[0]] == recorded_loss(sim, 0, 37) == sim.loss[0]
    for kind in ("pca", "random"):
        plane = R.for_run(sim, kind, 0, n=21)
        assert plane.loss[plane.origin] == sim.loss[0], kind


def test_batch_norm_points_give_exactly_the_eval_mode_loss_with_their_recorded_statistics():
    """With batch norm the step loss is train mode on a mini-batch; a landscape is eval mode, so a
    recorded point (with the running statistics recorded beside it) gives exactly what
    DatasetProblem.evaluate computes there: the same code, bit for bit."""
    sim = stepped("batch-norm", 40)
    row = sim.n_runs - 1
    cohort, i = R._cohort_of(sim, row)
    problem = cohort.problem
    assert problem.batch_norm
    path = R.run_path(sim, row)
    assert path.stats is not None and len(path.stats.mean) == len(path.params)
    for k in (0, len(path.params) // 2, len(path.params) - 1):
        stats = NormStats(path.stats.mean[k : k + 1], path.stats.var[k : k + 1])
        expected = problem.evaluate(path.params[k : k + 1], "train", stats)["loss"][0]
        other = 0 if k == len(path.params) - 1 else len(path.params) - 1
        line = L.line(problem, path.params[k], path.params[other], stats_a=R._point_stats(path, k),
                      stats_b=R._point_stats(path, other))
        assert line.loss[line.origin[0]] == expected
    assert np.array_equal(path.stats.mean[-1], cohort.problem_state.mean[i])
    fresh = build(load_scenario(resolve("batch-norm")))  # step 0's statistics: after the first forward pass
    start_cohort, j = R._cohort_of(fresh, row)
    assert np.array_equal(path.stats.mean[0], start_cohort.problem_state.mean[j])


def test_the_batch_equals_a_loop_over_grid_points():
    """One (M, P) batch gives each row the bits that row evaluated alone gives."""
    sim = stepped("overfitting", 60)
    problem = sim.cohorts[0].problem
    rng = np.random.default_rng(5)
    points = sim.cohorts[0].params[0] + 0.3 * rng.standard_normal((50, problem.n_params))
    together = L.evaluate_points(problem, points)
    alone = np.array([L.evaluate_points(problem, points[m : m + 1])[0] for m in range(len(points))])
    assert np.array_equal(together, alone)


def test_validation_split_is_the_data_loss_of_evaluate():
    sim = stepped("overfitting", 30)
    problem = sim.cohorts[0].problem
    params = sim.cohorts[0].params[:1]
    value = L.evaluate_points(problem, params, "val")[0]
    assert value == pytest.approx(problem.evaluate(params, "val")["loss"][0], rel=1e-12)
    with pytest.raises(L.LandscapeError, match="split"):
        L.evaluate_points(problem, params, "test")


# -- grids -------------------------------------------------------------------------------------
@pytest.mark.parametrize("n, span", [(41, 0.5), (41, 0.25), (40, 0.5), (3, 0.0), (101, 2.0), (7, 0.1)])
def test_line_axis_holds_zero_and_one_exactly(n, span):
    t, i0, i1 = L.line_axis(n, span)
    assert len(t) == n and t[i0] == 0.0 and t[i1] == 1.0
    assert np.all(np.diff(t) > 0)
    if span > 0 and n >= 11:
        assert t[0] < 0 and t[-1] > 1


def test_line_ends_are_exactly_the_two_points_even_where_a_plus_t_times_b_minus_a_is_not():
    a = np.array([0.1, 1e-17, 3.3])
    b = np.array([0.7, 0.3, -2.9])
    assert not np.array_equal(a + 1.0 * (b - a), b)  # why the convex form is used
    t, i0, i1 = L.line_axis(41, 0.5)
    points = (1.0 - t)[:, None] * a + t[:, None] * b
    assert np.array_equal(points[i0], a) and np.array_equal(points[i1], b)


# -- PCA ---------------------------------------------------------------------------------------
def test_pca_of_a_path_lying_in_a_plane_recovers_all_its_variance():
    rng = np.random.default_rng(1)
    P, K = 60, 40
    u, v = np.linalg.qr(rng.standard_normal((P, 2)))[0].T
    x, y = np.cumsum(rng.standard_normal(K)), np.cumsum(rng.standard_normal(K))
    centre = rng.standard_normal(P)
    path = centre + x[:, None] * u + y[:, None] * v
    directions, coords, share = L.pca_directions(path)
    assert share == pytest.approx(1.0, abs=1e-12)
    assert np.allclose(directions @ directions.T, np.eye(2), atol=1e-12)
    for d in directions:  # each direction lies in span(u, v)
        assert np.linalg.norm(d - (d @ u) * u - (d @ v) * v) < 1e-10
    # the projection keeps every distance to the end point (the path lies in the plane)
    true = np.stack([x - x[-1], y - y[-1]], axis=1)
    assert np.allclose(np.linalg.norm(coords, axis=1), np.linalg.norm(true, axis=1), atol=1e-9)
    assert coords[0, 0] <= 0 and coords[0, 1] <= 0  # oriented: the path runs towards +a, +b


def test_pca_of_a_path_off_the_plane_reports_the_share_it_holds():
    rng = np.random.default_rng(2)
    P, K = 30, 50
    basis = np.linalg.qr(rng.standard_normal((P, 3)))[0].T
    scales = np.array([3.0, 2.0, 1.0])
    coeffs = rng.standard_normal((K, 3)) * scales
    path = coeffs @ basis
    _, _, share = L.pca_directions(path)
    centred = coeffs - coeffs.mean(axis=0)
    s = np.linalg.svd(centred, compute_uv=False)
    assert share == pytest.approx((s[0] ** 2 + s[1] ** 2) / np.sum(s**2), rel=1e-10)
    assert share < 0.99


def test_a_path_that_never_moved_is_a_message_not_a_crash():
    with pytest.raises(L.LandscapeError, match="not moved"):
        L.pca_directions(np.ones((5, 4)))


# -- random directions -------------------------------------------------------------------------
def test_filter_normalized_directions_match_each_units_weight_norm_and_skip_biases():
    sim = stepped("overfitting", 20)
    problem = sim.cohorts[0].problem
    centre = sim.cohorts[0].params[0]
    d1, d2 = L.random_directions(problem, centre, seed=3)
    for d in (d1, d2):
        for s in problem.network.layout.layers:
            w = centre[s.start : s.bias].reshape(s.fan_in, s.fan_out)
            dw = d[s.start : s.bias].reshape(s.fan_in, s.fan_out)
            assert np.allclose(np.linalg.norm(dw, axis=0), np.linalg.norm(w, axis=0), rtol=1e-8)
            assert not np.any(d[s.bias : s.end])  # biases get no direction (Li et al.'s biasbn)


def test_batch_norm_gammas_get_no_direction():
    sim = stepped("batch-norm", 5)
    cohort, i = R._cohort_of(sim, sim.n_runs - 1)
    problem = cohort.problem
    d1, _ = L.random_directions(problem, cohort.params[i], seed=0)
    for a, b in problem.network.layout.gamma_slices:
        assert not np.any(d1[a:b])
    assert np.any(d1)


def test_seeds_reproduce_and_differ():
    sim = stepped("overfitting", 20)
    problem, centre = sim.cohorts[0].problem, sim.cohorts[0].params[0]
    first = L.random_directions(problem, centre, seed=7)
    assert np.array_equal(first, L.random_directions(problem, centre, seed=7))
    assert not np.array_equal(first, L.random_directions(problem, centre, seed=8))
    a = R.for_run(sim, "random", 0, n=11, seed=7)
    b = R.for_run(sim, "random", 0, n=11, seed=7)
    assert np.array_equal(a.loss, b.loss)


# -- the recorded path -------------------------------------------------------------------------
def test_the_path_survives_the_engine_workers_snapshot_and_restore():
    a, b = build(load_scenario(resolve("overfitting"))), build(load_scenario(resolve("overfitting")))
    a.step(300)  # past compactions of the path's 64 records (and b's arrays, growing, must follow)
    snapshot = pickle.loads(pickle.dumps(a.snapshot(None)))
    b.restore(snapshot)
    assert np.array_equal(a.paths.series("params")[1], b.paths.series("params")[1], equal_nan=True)
    a.step(50)
    b.restore(pickle.loads(pickle.dumps(a.snapshot(snapshot["mark"]))))
    steps_a, values_a = a.paths.series("params")
    steps_b, values_b = b.paths.series("params")
    assert np.array_equal(steps_a, steps_b) and np.array_equal(values_a, values_b, equal_nan=True)
    assert a.paths.stride == 8 and steps_a[-1] == 344 and len(b.paths.steps) == b.paths.capacity == 64


def test_the_path_records_the_parameters_the_run_had():
    sim = build(load_scenario(resolve("overfitting")))
    params = [sim.cohorts[0].params[0].copy()]
    for _ in range(5):
        sim.step()
        params.append(sim.cohorts[0].params[0].copy())
    path = R.run_path(sim, 0)
    assert path.steps.tolist() == [0, 1, 2, 3, 4, 5]
    assert np.array_equal(path.params, np.array(params))


def test_a_line_between_equal_points_and_projection_onto_it_are_messages_not_crashes():
    sim = build(load_scenario(resolve("overfitting")))
    with pytest.raises(L.LandscapeError, match="not moved"):
        R.for_run(sim, "line", 0)  # step 0: start and point are the same
    sim.step(3)
    result = R.for_run(sim, "line", 0, n=11)
    coords = L.project(result, R.run_path(sim, 0).params)
    assert coords[0, 0] == pytest.approx(0.0, abs=1e-12) and coords[-1, 0] == pytest.approx(1.0)


def test_a_model_without_hidden_layers_keeps_its_bias_in_the_filter():
    """With the bias left out, a one-input linear model's two random directions would be parallel."""
    sim = stepped("mae-vs-mse", 30)
    problem, centre = sim.cohorts[0].problem, sim.cohorts[0].params[0]
    assert problem.network.n_hidden == 0 and problem.n_params == 2
    d1, d2 = L.random_directions(problem, centre, seed=0)
    assert np.linalg.norm(d1) == pytest.approx(np.linalg.norm(centre), rel=1e-9)
    cosine = abs(d1 @ d2) / (np.linalg.norm(d1) * np.linalg.norm(d2))
    assert cosine < 0.999


def test_a_run_whose_path_is_not_kept_says_so_and_still_has_a_random_plane():
    """600 networks: the simulation keeps the paths of as many runs as fit (the first of each
    [[runs]] entry first); a line or PCA plane of another run is a message, not a flat line."""
    sim = stepped("local-minima-networks", 10)
    assert 0 < len(sim.path_rows) < sim.n_runs
    groups = {run.group for run in sim.runs}
    kept_groups = {sim.runs[r].group for r in sim.path_rows.tolist()}
    assert kept_groups == groups
    row = next(r for r in range(sim.n_runs) if r not in set(sim.path_rows.tolist()))
    for kind in ("line", "pca"):
        with pytest.raises(L.LandscapeError, match="path is not recorded"):
            R.for_run(sim, kind, row, n=5)
    plane = R.for_run(sim, "random", row, n=5)
    assert plane.loss[plane.origin] == sim.loss[row]


def test_a_rewound_path_ends_at_the_exact_parameters_of_the_shown_step():
    """Between two records (every 8th step by step 300), the path of a simulation with checkpoints
    (the app's) ends at the run's parameters at that step, stepped again from a checkpoint."""
    sim = build(load_scenario(resolve("overfitting")))
    sim.keep_checkpoints()
    sim.step(300)
    path = R.run_path(sim, 0, upto=203)
    fresh = build(load_scenario(resolve("overfitting")), record=False)
    fresh.step(203)
    assert path.steps[-1] == 203 and path.steps[-2] == 200
    assert path.params[-1].tobytes() == fresh.cohorts[0].params[0].tobytes()
