"""Checkpoints (engine/checkpoints.py): a run continued from any checkpoint equals the uninterrupted
run bit for bit, for every optimizer, schedule, batching, dropout, batch norm, early stopping,
gradient noise and change at a step; a checkpoint is never changed by what is restored from it;
cohort_at gives a rewound step's exact state; the budget thins them."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from gdsim.build import build
from gdsim.engine import checkpoints
from gdsim.scenario.load import validate_raw

NET = {"dataset": "moons", "samples": 120, "model": "mlp", "hidden": [6, 5], "eval_every": 5,
       "split": [0.6, 0.2, 0.2]}

CASES = {
    "sgd momentum, step, mini-batches, dropout": {
        "problem": {**NET, "batch_size": 16, "dropout": 0.3},
        "optimizer": {"name": "sgd", "lr": 0.2, "momentum": 0.9, "nesterov": True},
        "schedule": {"name": "step", "step_size": 20, "gamma": 0.5, "warmup": 5}},
    "adam, cosine, batch norm, early stopping with restore_best": {
        "problem": {**NET, "batch_size": 32, "batch_norm": True, "patience": 3, "restore_best": True},
        "optimizer": {"name": "adamw", "lr": 0.05, "amsgrad": True},
        "schedule": {"name": "cosine", "t_max": 40}},
    "rmsprop, plateau, clip_norm, l2": {
        "problem": {**NET, "batch_size": 20, "clip_norm": 0.5, "l2": 0.01},
        "optimizer": {"name": "rmsprop", "lr": 0.01, "momentum": 0.5, "centered": True},
        "schedule": {"name": "plateau", "patience": 1, "factor": 0.5}},
    "adagrad, exponential, full batch": {
        "problem": {**NET},
        "optimizer": {"name": "adagrad", "lr": 0.3, "lr_decay": 0.01},
        "schedule": {"name": "exponential", "gamma": 0.99}},
    "cg line search keeps its batch": {
        "problem": {**NET, "batch_size": 30},
        "optimizer": {"name": "cg"}},
    "natural gradient, logistic": {
        "problem": {"dataset": "moons", "samples": 80, "model": "logistic", "batch_size": 20},
        "optimizer": {"name": "natural", "lr": 0.5}},
    "noisy surface, newton and sgd": {
        "problem": {"surface": "rosenbrock", "noise": 0.5, "bound": 1e9},
        "optimizer": {"name": "sgd", "lr": 5e-4, "momentum": 0.9}},
    "changes across checkpoints": {
        "problem": {**NET, "batch_size": 16},
        "optimizer": {"name": "sgd", "lr": 0.2, "momentum": 0.5},
        "changes": [{"at": 21, "problem": {"batch_size": 40, "l2": 0.01}},
                    {"at": 50, "optimizer": {"name": "adam", "lr": 0.01}, "schedule": {"name": "cosine", "t_max": 30}},
                    {"at": 70, "optimizer": {"lr": 0.02}}]},
}


def raw_of(case: dict, seeds: int = 3) -> dict:
    raw = {"scenario": {"title": "t", "claim": "c", "steps": 100},
           **{k: copy.deepcopy(v) for k, v in case.items() if k != "changes"}}
    run = {"label": "A", "seed": 2, "seeds": seeds}
    if "changes" in case:
        run["changes"] = copy.deepcopy(case["changes"])
    raw["runs"] = [run, {"label": "B", "seed": 7}]
    return raw


def sim_of(raw: dict, record: bool = True):
    return build(validate_raw(raw, path=None, id="t"), record=record)


def state_of(cohort) -> dict:
    """A cohort's captured state without keep_before (set on recording simulations' cohorts only)."""
    state = checkpoints.capture(cohort)
    state.pop("keep_before", None)
    return state


def same(a, b, where="state") -> None:
    """Bit-for-bit equality of two captured states (arrays by bytes, generators by state)."""
    if isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.shape == b.shape and a.tobytes() == b.tobytes(), where
    elif isinstance(a, np.random.Generator):
        assert a.bit_generator.state == b.bit_generator.state, where
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            same(x, y, f"{where}[{i}]")
    elif hasattr(a, "__dict__") and not isinstance(a, type):
        assert type(a) is type(b), where
        same(vars(a), vars(b), where)
    elif isinstance(a, float) and np.isnan(a):
        assert isinstance(b, float) and np.isnan(b), where
    else:
        assert a == b, where


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_run_continued_from_any_checkpoint_equals_the_uninterrupted_run(name):
    raw = raw_of(CASES[name])
    whole = sim_of(raw)
    whole.keep_checkpoints()
    whole.checkpoints.every = 16
    whole.step(37)
    whole.step(63)  # in two calls, across checkpoints
    kept = whole.checkpoints
    assert kept.steps == list(range(0, 100, 16))
    end = [state_of(c) for c in whole.cohorts]
    for at, states in zip(kept.steps, kept.states):
        again = sim_of(raw, record=False)
        for cohort, state in zip(again.cohorts, states, strict=True):
            checkpoints.restore_into(cohort, state)
        again.step_count = at
        again.step(100 - at)
        for c, expected in zip(again.cohorts, end, strict=True):
            same(state_of(c), expected, f"{name} from {at}")


def test_restoring_never_changes_the_checkpoint():
    raw = raw_of(CASES["sgd momentum, step, mini-batches, dropout"])
    sim = sim_of(raw)
    sim.keep_checkpoints()
    sim.checkpoints.every = 10
    sim.step(30)
    before = copy.deepcopy(sim.checkpoints.states[1])
    other = sim_of(raw, record=False)
    for cohort, state in zip(other.cohorts, sim.checkpoints.states[1]):
        checkpoints.restore_into(cohort, state)
    other.step(25)
    same(sim.checkpoints.states[1], before)


@pytest.mark.parametrize("name", ["adam, cosine, batch norm, early stopping with restore_best",
                                  "changes across checkpoints", "noisy surface, newton and sgd"])
def test_cohort_at_a_rewound_step_is_that_steps_state(name):
    raw = raw_of(CASES[name])
    sim = sim_of(raw)
    sim.keep_checkpoints()
    sim.step(90)
    for step in (0, 7, 33, 64, 89):
        fresh = sim_of(raw, record=False)
        fresh.step(step)
        for index, cohort in enumerate(fresh.cohorts):
            rewound = sim.cohort_at(index, step)
            assert rewound is not sim.cohorts[index]
            assert rewound.params.tobytes() == cohort.params.tobytes()
            assert rewound.phase == cohort.phase and rewound.optimizer is sim.cohorts[index].phases[cohort.phase].optimizer
            assert rewound.loss.tobytes() == cohort.loss.tobytes() and rewound.frozen.tobytes() == cohort.frozen.tobytes()
            if cohort.problem_state is not None:
                same(rewound.problem_state, cohort.problem_state)
    sim.step(1)  # the simulation goes on untouched by the copies
    fresh = sim_of(raw, record=False)
    fresh.step(91)
    for mine, theirs in zip(sim.cohorts, fresh.cohorts):
        same(state_of(mine), state_of(theirs))


def test_take_rows_gives_the_state_of_those_runs_alone():
    raw = raw_of(CASES["sgd momentum, step, mini-batches, dropout"], seeds=4)
    many = sim_of(raw, record=False)
    many.step(23)
    state = checkpoints.capture(many.cohorts[0])
    alone_raw = copy.deepcopy(raw)
    alone_raw["runs"] = [{"label": "A", "seed": 4}]  # the third seed of A (2, 3, 4, 5)
    alone = sim_of(alone_raw, record=False)
    cohort = alone.cohorts[0]
    n = len(many.cohorts[0].rows)  # A's 4 seeds and B share settings, so one cohort
    assert n == 5
    vars(cohort).update(checkpoints.take_rows(state, np.array([2]), n))
    alone.step_count = 23
    alone.step(30)
    many.step(30)
    assert cohort.params.tobytes() == many.cohorts[0].params[2:3].tobytes()
    assert cohort.sampler.next().indices.tobytes() == many.cohorts[0].sampler.next().indices[2:3].tobytes()


def test_the_budget_thins_checkpoints_and_a_too_big_one_turns_them_off():
    raw = raw_of(CASES["adagrad, exponential, full batch"])
    sim = sim_of(raw)
    sim.keep_checkpoints()
    size = sim.checkpoints.nbytes
    sim.checkpoints = checkpoints.Checkpoints(budget=5 * size, every=4)
    sim.step(100)
    kept = sim.checkpoints
    assert 0 < len(kept.steps) <= 5 and kept.nbytes <= 5 * size and kept.every > 4
    assert kept.steps[0] == 0 and all(b - a == kept.every for a, b in zip(kept.steps, kept.steps[1:]))
    small = sim_of(raw)
    small.keep_checkpoints(budget=2 * size)
    small.step(10)
    assert small.checkpoints.off and small.checkpoints.steps == [] and small.cohort_at(0, 5) is None


def test_the_app_side_of_the_engine_worker_keeps_checkpoints_from_the_snapshots_it_restores():
    """With the engine worker, the app's simulation never steps: it restores snapshots, and keeps
    a checkpoint from one whenever one is due; rewound states from them are exact."""
    import pickle

    raw = raw_of(CASES["changes across checkpoints"])
    worker, app = sim_of(raw), sim_of(raw)
    app.keep_checkpoints()
    app.checkpoints.every = 16
    mark = None
    for chunk in (10, 30, 25, 20):
        worker.step(chunk)
        snapshot = pickle.loads(pickle.dumps(worker.snapshot(mark)))
        mark = snapshot["mark"]
        app.restore(snapshot)
    assert app.checkpoints.steps == [0, 40, 65, 85]
    fresh = sim_of(raw, record=False)
    fresh.step(70)
    for index, cohort in enumerate(fresh.cohorts):
        same(state_of(app.cohort_at(index, 70)), state_of(cohort))


def test_a_checkpoint_packs_the_data_order_and_dropout_masks_exactly():
    """A sampler's pre-drawn data order (int64) is kept in the narrowest type that holds it (int8 for
    72 training samples) and its dropout masks (0 or 1/keep, float64) as bits: the dropout lesson's
    checkpoints took 2 MiB each, 1.9 of them masks."""
    raw = raw_of({"problem": {**NET, "batch_size": 16, "dropout": 0.3},
                  "optimizer": {"name": "sgd", "lr": 0.2}})
    sim = sim_of(raw, record=False)
    sim.step(7)
    sampler = sim.cohorts[0].sampler
    state = checkpoints.capture(sim.cohorts[0])
    masks, orders = state["sampler"]._masks, state["sampler"]._orders
    assert isinstance(masks, checkpoints.Packed) and isinstance(orders, checkpoints.Packed)
    assert masks.nbytes * 60 < sampler._masks.nbytes and orders.nbytes * 8 == sampler._orders.nbytes
    assert checkpoints.nbytes(state) < checkpoints.nbytes(vars(sim.cohorts[0])) / 4
    back = sim_of(raw, record=False).cohorts[0]
    checkpoints.restore_into(back, state)
    for name in ("_masks", "_orders"):
        mine, theirs = getattr(back.sampler, name), getattr(sampler, name)
        assert mine.dtype == theirs.dtype and mine.shape == theirs.shape and mine.tobytes() == theirs.tobytes()


def test_packing_is_never_lossy():
    wide = np.arange(3000, dtype=np.int64) * 2**40  # beyond int32: kept as it is
    assert checkpoints.pack(wide) is wide
    small = np.arange(3000, dtype=np.int64) - 1500
    packed = checkpoints.pack(small)
    assert packed.data.dtype == np.int16 and packed.unpack().tobytes() == small.tobytes()
    not_a_mask = np.full((40, 40), 0.5)  # not 0 or 1/keep for a dropout of 0.3: kept as it is
    assert checkpoints.pack(not_a_mask, 0.3) is not_a_mask
    mask = (np.random.default_rng(1).random((40, 40)) < 0.7) / 0.7
    assert checkpoints.pack(mask, 0.3).unpack().tobytes() == mask.tobytes()
    floats = np.linspace(0, 1, 4000)
    assert checkpoints.pack(floats) is floats  # parameters and gradients are not packed


def test_a_served_budget_keeps_down_to_two_checkpoints_where_four_would_not_fit():
    raw = raw_of(CASES["adagrad, exponential, full batch"])
    sim = sim_of(raw)
    sim.keep_checkpoints()
    size = sim.checkpoints.nbytes
    local = sim_of(raw)
    local.keep_checkpoints(budget=3 * size)
    served = sim_of(raw)
    served.keep_checkpoints(budget=3 * size, min_kept=2)
    for one in (local, served):
        one.step(100)
    assert local.checkpoints.off and local.cohort_at(0, 50) is None
    kept = served.checkpoints
    assert not kept.off and 2 <= len(kept.steps) <= 3 and kept.nbytes <= 3 * size
    fresh = sim_of(raw, record=False)
    fresh.step(50)
    same(state_of(served.cohort_at(0, 50)), state_of(fresh.cohorts[0]))
