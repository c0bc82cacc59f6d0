"""Changes at step k in the engine: the same bits alone, among a few and in an ensemble, across a
snapshot/restore (the app's engine worker), and on data sets (batch size, l2, clip norm)."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

from gdsim.build import build
from gdsim.engine import scalar_step
from gdsim.scenario.load import validate_raw

BIG = scalar_step.MAX_RUNS + 4

SURFACE = {
    "scenario": {"title": "t", "claim": "c", "steps": 120},
    "problem": {"surface": "rosenbrock", "noise": 0.5, "bound": 1e9},
    "optimizer": {"name": "sgd", "lr": 5e-4, "momentum": 0.9},
    "schedule": {"name": "step", "step_size": 25, "gamma": 0.7},
    "runs": [{"label": "A", "seed": 0, "changes": [
        {"at": 30, "optimizer": {"lr": 2e-4}, "problem": {"noise": 0.1, "clip_norm": 5.0}},
        {"at": 60, "optimizer": {"name": "adam", "lr": 0.02}, "schedule": {"name": "cosine", "t_max": 100}},
        {"at": 90, "optimizer": {"betas": [0.5, 0.99]}, "problem": {"noise": 0.0}},
    ]}],
}


def sim_of(raw: dict, record: bool = True):
    return build(validate_raw(raw, path=None, id="t"), record=record)


def with_seeds(raw: dict, seeds: int, first: int = 0) -> dict:
    raw = copy.deepcopy(raw)
    raw["runs"][0].update(seeds=seeds, seed=first)
    return raw


def row_bits(sim, row: int) -> dict:
    h = sim.history
    out = {name: h.series(name)[1][:, row].tobytes() for name in h.fields}
    c = sim.cohorts[0]
    out["params"] = c.params[row].tobytes()
    out["state"] = [f[row].tobytes() if isinstance(f, np.ndarray) else f for f in c.state]
    return out


def test_a_changing_run_has_the_same_bits_alone_among_a_few_and_in_an_ensemble():
    many = sim_of(with_seeds(SURFACE, BIG))
    many.step(120)
    few = sim_of(with_seeds(SURFACE, 3))
    assert scalar_step.takes(few.cohorts[0]) and not scalar_step.takes(many.cohorts[0])
    few.step(120)
    for r in (0, 2):
        alone = sim_of(with_seeds(SURFACE, 1, first=r))
        alone.step(45)
        alone.step(75)  # stepped in two calls, across changes
        assert row_bits(alone, 0) == row_bits(many, r) == row_bits(few, r)
    assert many.cohorts[0].optimizer.name == "adam" and many.cohorts[0].phase == 3


def test_the_change_takes_effect_at_its_step_and_not_before():
    changed, plain = sim_of(SURFACE), sim_of({**SURFACE, "runs": [{"label": "A", "seed": 0}]})
    changed.step(120)
    plain.step(120)
    steps, lr = changed.history.series("lr")
    _, lr_plain = plain.history.series("lr")
    assert np.array_equal(lr[:30], lr_plain[:30])
    # torch's param_groups edit under a running StepLR: the lr is 2e-4 from step 30, and StepLR
    # multiplies that by gamma at its next multiple of step_size (50), not the base 2e-4 rebuilt
    assert lr[30, 0] == lr[49, 0] == 2e-4 and lr[50, 0] == pytest.approx(2e-4 * 0.7, rel=1e-15)
    assert lr[60, 0] == pytest.approx(0.02 * (1 + np.cos(np.pi * 60 / 100)) / 2)
    params = changed.history.series("params")[1]
    params_plain = plain.history.series("params")[1]
    assert np.array_equal(params[:31], params_plain[:31])  # the update from 30 is the first to differ
    assert not np.array_equal(params[31], params_plain[31])


def test_a_restored_snapshot_goes_on_in_the_phase_it_was_in():
    """The engine worker builds from the scenario and restores the state: after a change it must
    use the changed optimizer and schedule (they are built, not sent)."""
    source = sim_of(SURFACE)
    source.step(70)
    copy_ = sim_of(SURFACE)
    copy_.restore(pickle.loads(pickle.dumps(source.snapshot(None))))  # as it travels to the worker
    assert copy_.cohorts[0].optimizer.name == "adam"
    source.step(50)
    copy_.step(50)
    assert row_bits(copy_, 0) == row_bits(source, 0)


MOONS = {
    "scenario": {"title": "t", "claim": "c", "steps": 80},
    "problem": {"dataset": "moons", "samples": 120, "model": "mlp", "hidden": [6], "batch_size": 16,
                "eval_every": 10},
    "optimizer": {"name": "sgd", "lr": 0.2, "momentum": 0.5},
    "runs": [{"label": "net", "seed": 1, "changes": [
        {"at": 20, "problem": {"batch_size": 40, "l2": 0.01}},
        {"at": 50, "problem": {"clip_norm": 0.5}, "optimizer": {"name": "rmsprop", "lr": 0.01}},
    ]}],
}


def test_data_set_changes_apply_from_their_step_the_same_in_a_cohort_of_many():
    plain_raw = copy.deepcopy(MOONS)
    plain_raw["runs"][0].pop("changes")
    changed, plain = sim_of(MOONS), sim_of(plain_raw)
    changed.step(19)
    plain.step(19)
    assert row_bits(changed, 0) == row_bits(plain, 0)
    changed.step(61)
    plain.step(61)
    assert changed.cohorts[0].problem.batch_size == 40 and changed.cohorts[0].clip_norm == 0.5
    loss, loss_plain = changed.history.series("loss")[1], plain.history.series("loss")[1]
    assert np.array_equal(loss[:20], loss_plain[:20]) and loss[20, 0] != loss_plain[20, 0]
    assert np.isfinite(loss).all()
    many = sim_of(with_seeds(MOONS, 5, first=0))
    many.step(80)
    assert row_bits(many, 1) == row_bits(changed, 0)


def test_runs_with_different_changes_are_separate_cohorts_and_the_same_changes_share_one():
    raw = copy.deepcopy(SURFACE)
    raw["runs"] = [dict(raw["runs"][0], label="A"), dict(raw["runs"][0], label="B", seed=4),
                   {"label": "C", "seed": 0}]
    sim = sim_of(raw)
    assert [list(c.rows) for c in sim.cohorts] == [[0, 1], [2]]
