"""The scalar fast path (gdsim.engine.scalar_step) against the array path, compared bit for bit.

Each case builds the same simulation twice, one with the fast path off (scalar_max_runs = 0),
steps both in the same chunks and compares every cohort attribute, the optimizer state, the
sampler and the history down to the bytes (NaN payloads and signed zeros included). Below them,
each optimizer's per-element rule is compared with its array update on any floats.
"""

from __future__ import annotations

import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gdsim.build import build
from gdsim.engine import scalar_step
from gdsim.engine.optimizers import make_optimizer
from gdsim.engine.schedules import make_schedule
from gdsim.engine.simulation import Cohort, RunInfo, Simulation
from gdsim.engine.surfaces import make_surface
from gdsim.scenario.load import load_scenario

THREE_RUNS = Path(__file__).resolve().parents[1] / "app" / "data" / "three_runs.toml"
FAST_SURFACES = sorted(c.name for c in scalar_step.PURE_SURFACES | scalar_step.UFUNC_SURFACES)


def same(a, b, where="") -> None:
    """Assert a and b are identical down to the bits of every float."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        assert isinstance(a, np.ndarray) and isinstance(b, np.ndarray), where
        assert (a.dtype, a.shape) == (b.dtype, b.shape), where
        assert a.tobytes() == b.tobytes(), f"{where}: {a!r} != {b!r}"
    elif isinstance(a, float) or isinstance(b, float):
        assert type(a) is type(b), f"{where}: {type(a)} != {type(b)}"
        assert struct.pack("<d", a) == struct.pack("<d", b), f"{where}: {a!r} != {b!r}"
    elif isinstance(a, (tuple, list)):
        assert type(a) is type(b) and len(a) == len(b), where
        if len(a) > 16 and {type(x) for x in a} == {type(x) for x in b} == {float}:  # the lr table
            assert np.array(a).tobytes() == np.array(b).tobytes(), where
            return
        for i, (x, y) in enumerate(zip(a, b)):
            same(x, y, f"{where}[{i}]")
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            same(a[key], b[key], f"{where}.{key}")
    else:
        assert type(a) is type(b) and a == b, f"{where}: {a!r} != {b!r}"


def sampler_state(sampler) -> dict:
    """A sampler's attributes, its generators as their states (ChunkedNormal: buffer, position)."""
    state = dict(vars(sampler))
    if "_rngs" in state:
        state["_rngs"] = [rng.bit_generator.state for rng in state["_rngs"]]
    return state


def same_simulation(fast: Simulation, slow: Simulation) -> None:
    assert fast.step_count == slow.step_count
    skip = {"problem", "optimizer", "schedule", "sampler", "phases"}
    for i, (a, b) in enumerate(zip(fast.cohorts, slow.cohorts, strict=True)):
        same({k: v for k, v in vars(a).items() if k not in skip},
             {k: v for k, v in vars(b).items() if k not in skip}, f"cohort {i}")
        same(*(sampler_state(c.sampler) for c in (a, b)), f"cohort {i} sampler")
    if fast.history is not None:
        h, g = fast.history, slow.history
        same((h.stride, h.count, h.steps), (g.stride, g.count, g.steps), "history")
        for name in h.fields:
            same(h.series(name)[1].copy(), g.series(name)[1].copy(), f"history {name}")


OPTIMIZERS = {
    "sgd": lambda d: dict(
        momentum=(m := d.draw(st.sampled_from([0.0, 0.5, 0.9]))),
        nesterov=(n := m > 0 and d.draw(st.booleans())),
        dampening=0.0 if n else d.draw(st.sampled_from([0.0, 0.3])),
        weight_decay=d.draw(st.sampled_from([0.0, 0.01]))),
    "adagrad": lambda d: dict(
        lr_decay=d.draw(st.sampled_from([0.0, 0.01])), weight_decay=d.draw(st.sampled_from([0.0, 0.1])),
        initial_accumulator_value=d.draw(st.sampled_from([0.0, 0.1])), eps=d.draw(st.sampled_from([1e-10, 0.0]))),
    "rmsprop": lambda d: dict(
        alpha=d.draw(st.sampled_from([0.99, 0.9, 0.3])), momentum=d.draw(st.sampled_from([0.0, 0.5])),
        centered=d.draw(st.booleans()), weight_decay=d.draw(st.sampled_from([0.0, 0.01])),
        eps=d.draw(st.sampled_from([1e-8, 0.0]))),
    "adam": lambda d: dict(
        betas=d.draw(st.sampled_from([(0.9, 0.999), (0.3, 0.6), (0.0, 0.9)])), amsgrad=d.draw(st.booleans()),
        weight_decay=d.draw(st.sampled_from([0.0, 0.01])), eps=d.draw(st.sampled_from([1e-8, 0.0]))),
}
OPTIMIZERS["adamw"] = OPTIMIZERS["adam"]
SCHEDULES = [("constant", {}), ("step", {"step_size": 7, "gamma": 0.5}), ("exponential", {"gamma": 0.97}),
             ("cosine", {"t_max": 20, "eta_min": 1e-4})]


def cohort_configs(data, n_cohorts: int, max_runs: int = 4) -> list[dict]:
    configs = []
    for _ in range(n_cohorts):
        name = data.draw(st.sampled_from(sorted(OPTIMIZERS)))
        schedule, settings_ = data.draw(st.sampled_from(SCHEDULES))
        configs.append(dict(
            surface=data.draw(st.sampled_from(FAST_SURFACES)),
            noise=data.draw(st.sampled_from([0.0, 0.0, 0.5])),
            optimizer=name, hyper=OPTIMIZERS[name](data),
            lr=data.draw(st.sampled_from([1e-3, 1e-2, 0.1, 0.5, 3.0])),
            schedule=schedule, settings=dict(settings_, warmup=data.draw(st.sampled_from([0, 0, 5]))),
            clip_norm=data.draw(st.sampled_from([None, None, 1.0, 0.0])),
            bound=data.draw(st.sampled_from([1e6, 4.0])),
            runs=data.draw(st.integers(1, max_runs)),
        ))
    return configs


def make_simulation(configs: list[dict], order: list[int], *, fast: bool, seed: int = 0) -> Simulation:
    """One cohort per config; rows given out in `order` (so a cohort's rows need not be contiguous)."""
    cohorts, rows = [], iter(order)
    for c in configs:
        surface = make_surface(c["surface"], noise=c["noise"])
        optimizer = make_optimizer(c["optimizer"], lr=c["lr"], **c["hyper"])
        schedule = make_schedule(c["schedule"], c["lr"], **c["settings"])
        seeds = np.arange(seed, seed + c["runs"])
        mine = np.array(sorted(next(rows) for _ in range(c["runs"])))
        cohorts.append(Cohort(surface, optimizer, schedule, surface.init_params(seeds), seeds, mine,
                              clip_norm=c["clip_norm"], bound=c["bound"]))
        seed += c["runs"]
    runs = [RunInfo(f"run {i}", i, "g") for i in range(len(order))]
    sim = Simulation(cohorts, runs, history_capacity=64)
    if not fast:
        sim.scalar_max_runs = 0
    return sim


def step_both(configs, order, chunks) -> tuple[Simulation, Simulation]:
    fast, slow = make_simulation(configs, order, fast=True), make_simulation(configs, order, fast=False)
    assert all(s is not None for s in fast._scalar_cohorts()) and not slow._scalar_cohorts()
    same_simulation(fast, slow)
    for n in chunks:
        fast.step(n)
        slow.step(n)
        same_simulation(fast, slow)
    return fast, slow


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_fast_path_is_bit_for_bit_the_array_path(data):
    configs = cohort_configs(data, data.draw(st.integers(1, 3)))
    total = sum(c["runs"] for c in configs)
    order = data.draw(st.permutations(range(total)))
    chunks = data.draw(st.lists(st.sampled_from([1, 2, 7, 40, 90]), min_size=1, max_size=4))
    step_both(configs, list(order), chunks + [140 - sum(chunks) % 140])  # past a compaction


# NaN as the hardware makes it (inf - inf): every NaN in a simulation is this one, as starts and
# settings are finite. NaNs of other payloads would not compare: where two NaNs meet in an
# addition, which one comes out is the compiler's choice of operand order.
DEFAULT_NAN = float("inf") - float("inf")
ANY_FLOAT = st.one_of(st.floats(-1e3, 1e3), st.floats(allow_nan=False, allow_infinity=True),
                      st.sampled_from([0.0, -0.0, 1e-300, 1e300, 5e-324, DEFAULT_NAN, np.inf, -np.inf]))


def same_rule(opt, grads, state, params, lr) -> tuple:
    """Assert opt's per-element rule on each float gives the bits of its (R, P) update; where
    floats raise (x/0) the array must hold a non-finite value. Returns the update's result."""
    with np.errstate(all="ignore"):
        new_params, new_state = opt.update(grads, state, params, lr)
    rule = opt.elementwise
    coefs = rule.prepare(state.step + 1, lr)
    for (r, i), g in np.ndenumerate(grads):
        fields = [None if f is None else float(f[r, i]) for f in state[1:]]
        try:
            out = rule.rule(coefs, float(g), float(params[r, i]), *fields)
        except ZeroDivisionError:
            assert not np.isfinite(new_params[r, i])
            continue
        want = [float(new_params[r, i]), *(None if f is None else float(f[r, i]) for f in new_state[1:])]
        same([None if v is None else float(v) for v in out], want, f"{opt.name} {opt.hyper} [{r}, {i}]")
    assert new_state.step == state.step + 1
    return new_params, new_state


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_each_rule_on_floats_is_its_update_on_arrays(data):
    """Every optimizer's per-element rule on random floats (zeros, subnormals, huge, inf, NaN)."""
    name = data.draw(st.sampled_from(sorted(OPTIMIZERS)))
    opt = make_optimizer(name, lr=0.1, **OPTIMIZERS[name](data))
    draw = lambda: np.array(data.draw(st.lists(ANY_FLOAT, min_size=6, max_size=6))).reshape(3, 2)  # noqa: E731
    params, state, lr = draw(), None, data.draw(st.sampled_from([0.1, 1e-3, 0.0, 1e300]))
    state = opt.init(params)
    for _ in range(data.draw(st.integers(1, 3))):
        params, state = same_rule(opt, draw(), state, params, lr)


SPECIAL = np.array([0.0, -0.0, 5e-324, -1e-300, 1.5, -2.0, 1e300, -1e300, np.inf, -np.inf, DEFAULT_NAN, 0.3])
VARIANTS = [
    ("sgd", {}), ("sgd", {"momentum": 0.9, "dampening": 0.3, "weight_decay": 0.1}),
    ("sgd", {"momentum": 0.9, "nesterov": True, "weight_decay": 0.1}),
    ("adagrad", {"lr_decay": 0.1, "weight_decay": 0.1, "initial_accumulator_value": 0.1}), ("adagrad", {"eps": 0.0}),
    ("rmsprop", {"weight_decay": 0.1}), ("rmsprop", {"centered": True, "momentum": 0.5, "eps": 0.0}),
    ("rmsprop", {"centered": True}), ("adam", {"amsgrad": True, "weight_decay": 0.1}), ("adam", {"eps": 0.0}),
    ("adamw", {"amsgrad": True}), ("adamw", {"betas": (0.0, 0.5), "weight_decay": 0.5}),
]


@pytest.mark.parametrize("name,hyper", VARIANTS)
def test_each_rule_on_every_pair_of_special_values(name, hyper):
    """Each special value meets each other one, as gradient and as parameter, over three updates."""
    opt = make_optimizer(name, **hyper)
    grads, params = (a.reshape(-1, 2) for a in np.meshgrid(SPECIAL, SPECIAL))
    state = opt.init(params)
    for lr in (0.1, 1e300, 0.0):
        params, state = same_rule(opt, grads, state, params, lr)
        grads = np.roll(grads, 5)


def test_every_optimizer_variant_and_surface_on_a_grid():
    """The same comparison over a fixed grid, so no variant depends on hypothesis' draws."""
    variants = [("sgd", {}), ("sgd", {"momentum": 0.9, "dampening": 0.3, "weight_decay": 0.1}),
                ("sgd", {"momentum": 0.9, "nesterov": True}), ("adagrad", {"lr_decay": 0.1}),
                ("rmsprop", {"centered": True, "momentum": 0.5}), ("rmsprop", {"weight_decay": 0.1}),
                ("adam", {"amsgrad": True, "weight_decay": 0.1}), ("adamw", {"amsgrad": True})]
    diverged = []
    for i, surface in enumerate(FAST_SURFACES):
        name, hyper = variants[i % len(variants)]
        for lr in (0.01, 2.0):  # 2.0 diverges on most surfaces
            config = dict(surface=surface, noise=0.5 * (i % 2), optimizer=name, hyper=hyper, lr=lr,
                          schedule="step", settings={"step_size": 5, "warmup": 3}, clip_norm=[None, 1.0][i % 2],
                          bound=1e3, runs=3)
            # 301 steps: past a compaction of 64 records and a refill of the 256-step noise chunk
            fast, _ = step_both([config, dict(config, runs=1, clip_norm=None)], [0, 2, 3, 1], [1, 30, 270])
            diverged += fast.diverged_at.tolist()
    # the grid does exercise freezing, at various steps, and not for every run
    assert 10 < sum(d > 0 for d in diverged) < len(diverged) and len(set(diverged)) >= 4


def test_a_division_by_zero_steps_that_cohort_as_arrays():
    """eps = 0 at a zero gradient: 0/0 raises on floats; the step is taken as arrays (NaN, frozen)."""
    for name in ("adagrad", "rmsprop", "adam"):
        config = dict(surface="bowl", noise=0.0, optimizer=name, hyper={"eps": 0.0}, lr=0.1,
                      schedule="constant", settings={}, clip_norm=None, bound=1e6, runs=2)
        fast, slow = make_simulation([config], [0, 1], fast=True), make_simulation([config], [0, 1], fast=False)
        for sim in (fast, slow):
            sim.cohorts[0].params[0] = 0.0  # run 0 at the minimum: g = 0; run 1 moves on
            sim.cohorts[0].loss, sim.cohorts[0].grad = sim.cohorts[0].problem.loss_and_grad(sim.cohorts[0].params, None)
        fast.step(20)
        slow.step(20)
        same_simulation(fast, slow)
        assert fast.cohorts[0].diverged_at.tolist() == [1, -1]


def test_mixed_with_array_cohorts_large_and_unlisted():
    """A cohort too large for the fast path and a surface it does not take step as arrays beside it."""
    small = dict(surface="rosenbrock", noise=0.5, optimizer="adam", hyper={}, lr=0.05, schedule="constant",
                 settings={}, clip_norm=None, bound=1e6, runs=2)
    configs = [small, dict(small, runs=scalar_step.MAX_RUNS + 1), dict(small, surface="hills", runs=1)]
    order = list(range(sum(c["runs"] for c in configs)))
    fast, slow = make_simulation(configs, order, fast=True), make_simulation(configs, order, fast=False)
    assert [s is not None for s in fast._scalar_cohorts()] == [True, False, False]
    for n in (1, 50, 100):
        fast.step(n)
        slow.step(n)
        same_simulation(fast, slow)


def test_three_runs_takes_the_fast_path(monkeypatch):
    sim = build(load_scenario(THREE_RUNS))
    assert [s is not None for s in sim._scalar_cohorts()] == [True, True, True]

    def refuse(self, k):
        raise AssertionError("the array path was taken")

    monkeypatch.setattr(Cohort, "step", refuse)
    sim.step(200)
    assert sim.step_count == 200 and sim.history.count == 201


def test_three_runs_snapshot_restore_and_step_for():
    """The engine worker's round trip: a snapshot of a fast simulation restored into a fresh one."""
    fast, slow = build(load_scenario(THREE_RUNS)), build(load_scenario(THREE_RUNS))
    slow.scalar_max_runs = 0
    taken, _ = fast.step_for(0.05, 300, 1e-5)
    slow.step(taken)
    same_simulation(fast, slow)
    copy = build(load_scenario(THREE_RUNS))
    mark = None
    snapshot = pickle.loads(pickle.dumps(fast.snapshot(mark)))
    copy.restore(snapshot)
    same_simulation(copy, slow)
    for sim in (fast, slow, copy):
        sim.step(5000)  # past a compaction of the default 4096 records
    same_simulation(fast, slow)
    same_simulation(copy, slow)
    delta = fast.snapshot(snapshot["mark"])
    copy.restore(pickle.loads(pickle.dumps(delta)))
    same_simulation(copy, slow)


def test_rewinding_by_restore_is_not_hidden_by_the_floats_kept_between_calls():
    """The floats are reused across step(n) calls only while the cohort holds the arrays written
    back; restoring an earlier snapshot (new arrays) must be stepped from, not the kept floats."""
    fast, slow = build(load_scenario(THREE_RUNS)), build(load_scenario(THREE_RUNS))
    slow.scalar_max_runs = 0
    for sim in (fast, slow):
        sim.step(50)
    earlier = pickle.loads(pickle.dumps(slow.snapshot()))
    for sim in (fast, slow):
        sim.step(70)
    same_simulation(fast, slow)
    fast.restore(pickle.loads(pickle.dumps(earlier)))
    slow.restore(earlier)
    for sim in (fast, slow):
        sim.step(30)
    same_simulation(fast, slow)


@pytest.mark.parametrize("surface", sorted(c.name for c in scalar_step.UFUNC_SURFACES))
def test_ufunc_surfaces_on_floats_match_their_arrays(surface):
    """np.exp / np.sin on one float and inside a row of 8 values round the same (the SIMD loops)."""
    problem = make_surface(surface)
    xy = np.random.default_rng(1).uniform(-4, 4, (8, 2))
    with np.errstate(all="ignore"):
        loss, grad = problem.loss_and_grad(xy, None)
    for r, (x, y) in enumerate(xy.tolist()):
        value, gx, gy = problem._value_and_gradient(x, y)
        same([float(value), float(gx), float(gy)], [float(loss[r]), float(grad[r, 0]), float(grad[r, 1])])
