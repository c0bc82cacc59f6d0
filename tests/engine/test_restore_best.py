"""Early stopping with restore_best: a stopped run goes back to its best validation loss (DL book §7.8)."""

from __future__ import annotations

import numpy as np
import pytest

from gdsim.engine.simulation import Cohort, RunInfo, Simulation
from tests.engine.test_simulation import Constant, HeavyBall, Learner


def make(restore_best: bool, patience: int | None = 3, seeds=(0, 1), starts=None):
    problem = Learner()
    seeds = np.array(seeds)
    params0 = problem.init_params(seeds) if starts is None else np.array(starts, dtype=float)
    cohort = Cohort(problem, HeavyBall(), Constant(0.05), params0, seeds, np.arange(len(seeds)),
                    eval_every=2, patience=patience, restore_best=restore_best)
    return Simulation([cohort], [RunInfo(f"r{s}", int(s), "g") for s in seeds])


def reference(steps: int, starts):
    """Every step's parameters, loss and validation loss, without early stopping."""
    sim = make(False, patience=None, starts=starts)
    params, losses = [sim.params.copy()], [sim.loss.copy()]
    for _ in range(steps):
        sim.step(1)
        params.append(sim.params.copy())
        losses.append(sim.loss.copy())
    problem = sim.cohorts[0].problem
    val = np.array([problem.evaluate(p, "val")["loss"] for p in params])
    return np.array(params), np.array(losses), val


# Run 0 starts where the validation loss bottoms early and rises (it stops); run 1 starts far
# away and keeps improving for longer.
STARTS = [[1.0, 1.0], [40.0, 40.0]]


def test_a_stopped_run_returns_to_its_best_parameters_and_shows_their_loss():
    sim = make(True, starts=STARTS)
    sim.step(60)
    stop = int(sim.stopped_at[0])
    assert stop > 0
    params, losses, val = reference(60, STARTS)
    evals = np.arange(0, stop + 1, 2)
    best = int(evals[np.argmin(val[evals, 0])])
    assert best < stop  # the best point lies before the stop: restoring changes something
    assert sim.cohorts[0].best_at[0] == best
    np.testing.assert_array_equal(sim.params[0], params[best, 0])
    assert sim.loss[0] == losses[best, 0]
    # the history shows, at the stopping step, the restored parameters' validation loss
    steps, recorded = sim.history.series("val_loss")
    at_stop = recorded[list(steps).index(stop), 0]
    assert at_stop == pytest.approx(val[best, 0]) and at_stop < val[stop, 0]
    _, loss_series = sim.history.series("loss")
    assert loss_series[list(steps).index(stop), 0] == losses[best, 0]
    # frozen afterwards
    sim.step(10)
    np.testing.assert_array_equal(sim.params[0], params[best, 0])


def test_without_restore_best_the_last_parameters_are_kept():
    sim = make(False, starts=STARTS)
    sim.step(60)
    stop = int(sim.stopped_at[0])
    params, _, _ = reference(60, STARTS)
    np.testing.assert_array_equal(sim.params[0], params[stop, 0])


def test_other_runs_of_the_cohort_are_untouched():
    with_restore, without = make(True, starts=STARTS), make(False, starts=STARTS)
    with_restore.step(13)  # run 0 stops at step 12, run 1 at 14
    without.step(13)
    assert with_restore.stopped_at[0] >= 0 and with_restore.stopped_at[1] == -1
    np.testing.assert_array_equal(with_restore.params[1], without.params[1])
    assert with_restore.stopped_at[0] == without.stopped_at[0]


def test_restore_best_is_a_scenario_key_that_needs_patience(tmp_path):
    from gdsim.build import build
    from gdsim.scenario.load import ScenarioError, load_scenario

    text = """
[scenario]
title = "t"
claim = "c"
steps = 400

[problem]
dataset = "moons"
samples = 100
noise = 0.3
split = [0.3, 0.7, 0.0]
hidden = [32, 32]
eval_every = 10

[optimizer]
name = "adam"
lr = 0.01

[[runs]]
label = "last"
problem = { patience = 5 }

[[runs]]
label = "best"
problem = { patience = 5, restore_best = true }
"""
    path = tmp_path / "s.toml"
    path.write_text(text)
    sim = build(load_scenario(path), record=False)
    sim.step(400)
    assert sim.stopped_at[0] == sim.stopped_at[1] >= 0
    val = {}
    for cohort in sim.cohorts:
        val[int(cohort.rows[0])] = float(cohort.problem.evaluate(cohort.params, "val")["loss"][0])
        if cohort.restore_best:
            assert val[int(cohort.rows[0])] == pytest.approx(float(cohort.best_val[0]))
    assert val[1] < val[0]
    path.write_text(text.replace("problem = { patience = 5, restore_best = true }", "problem = { restore_best = true }"))
    with pytest.raises(ScenarioError, match=r"runs\.1\.problem\.restore_best: .*set patience"):
        load_scenario(path)
