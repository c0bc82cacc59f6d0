"""The simulation with stand-in problems and optimizers: stepping, divergence, freezing, early stopping."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from gdsim.engine.problem import ChunkedNormal, STREAM_NOISE
from gdsim.engine.simulation import Cohort, RunInfo, Simulation


class Bowl:
    """f = 0.5 * a * |x|^2 in P dimensions, optional gradient noise."""

    def __init__(self, a=1.0, p=2, noise=0.0):
        self.a, self.n_params, self.noise = a, p, noise

    def init_params(self, seeds):
        return np.ones((len(seeds), self.n_params))

    def sampler(self, seeds):
        if self.noise:
            return ChunkedNormal(seeds, (self.n_params,), STREAM_NOISE)

        class Quiet:
            def next(self):
                return None

        return Quiet()

    def loss_and_grad(self, params, batch):
        grad = self.a * params
        if batch is not None:
            grad = grad + self.noise * batch
        return 0.5 * self.a * (params**2).sum(axis=1), grad

    def hessian(self, params):
        raise NotImplementedError


class State(NamedTuple):
    step: int
    velocity: np.ndarray


class HeavyBall:
    name, hyper, needs_hessian = "sgd", {"lr": 0.1}, False

    def init(self, params):
        return State(0, np.zeros_like(params))

    def update(self, grads, state, params, lr, hessian=None):
        velocity = 0.9 * state.velocity + grads
        return params - lr * velocity, State(state.step + 1, velocity)

    def velocity(self, state):
        return state.velocity


class Constant:
    def __init__(self, lr):
        self.lr = lr

    def lr_at(self, k):
        return np.full(np.shape(k), self.lr) if np.ndim(k) else self.lr


def make_sim(lrs=(0.1,), a=1.0, noise=0.0, seeds=None, **kw):
    cohorts, runs = [], []
    row = 0
    for lr in lrs:
        n = len(seeds) if seeds is not None else 1
        s = np.array(seeds if seeds is not None else [0])
        problem = Bowl(a=a, noise=noise)
        cohorts.append(Cohort(problem, HeavyBall(), Constant(lr), problem.init_params(s), s,
                              np.arange(row, row + n), **kw))
        runs += [RunInfo(f"lr {lr} #{i}", int(x), f"lr {lr}") for i, x in enumerate(s)]
        row += n
    return Simulation(cohorts, runs)


def test_step_zero_is_the_start():
    sim = make_sim()
    assert sim.step_count == 0
    assert np.allclose(sim.params, [[1.0, 1.0]])
    assert np.allclose(sim.loss, [1.0])
    assert np.allclose(sim.velocity_norm, [0.0])


def test_matches_a_plain_loop():
    sim = make_sim(lrs=(0.1, 0.05))
    sim.step(25)
    for r, lr in enumerate((0.1, 0.05)):
        x, v = np.ones(2), np.zeros(2)
        for _ in range(25):
            v = 0.9 * v + x
            x = x - lr * v
        assert np.allclose(sim.params[r], x, rtol=1e-14)
        assert np.isclose(sim.velocity_norm[r], np.linalg.norm(v))
    assert sim.lr.tolist() == [0.1, 0.05]


def test_divergence_freezes_only_that_run():
    sim = make_sim(lrs=(0.1, 5.0))
    sim.step(200)
    diverged = sim.diverged_at
    assert diverged[0] == -1 and diverged[1] > 0
    frozen_params = sim.params[1].copy()
    assert np.all(np.isfinite(frozen_params)) and np.all(np.isfinite(sim.loss))
    assert np.abs(frozen_params).max() <= 1e6
    sim.step(10)
    assert np.array_equal(sim.params[1], frozen_params)
    assert sim.loss[0] < 1e-6


def test_nan_diverges_without_warnings():
    sim = make_sim(lrs=(1e300,))
    with np.errstate(all="raise"):
        sim.step(5)
    assert sim.diverged_at[0] >= 1


def test_history_records_every_step_while_it_fits():
    sim = make_sim(lrs=(0.1,))
    sim.step(30)
    steps, loss = sim.history.series("loss")
    assert steps.tolist() == list(range(31))
    assert np.isclose(loss[-1, 0], sim.loss[0])
    _, params = sim.history.series("params")
    assert params.shape == (31, 1, 2)


def test_noisy_runs_reproducible_and_independent_of_neighbours():
    a = make_sim(noise=0.5, seeds=[1, 2, 3])
    b = make_sim(noise=0.5, seeds=[3])
    c = make_sim(noise=0.5, seeds=[1, 2, 3])
    for sim in (a, b, c):
        sim.step(300)
    assert np.array_equal(a.params, c.params)
    assert np.array_equal(a.params[2], b.params[0])
    assert not np.allclose(a.params[0], a.params[1])


def test_clipping_limits_the_step():
    sim = make_sim(lrs=(1.0,), a=1000.0, clip_norm=1.0)
    before = sim.params.copy()
    sim.step(1)
    assert np.linalg.norm(sim.params - before) <= 1.0 + 1e-9


class Learner(Bowl):
    """A bowl with a validation loss that rises after step 20 (to test early stopping)."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    def evaluate(self, params, split):
        self.calls += 1
        distance = np.abs(params).sum(axis=1)
        return {"loss": distance if split == "train" else np.abs(distance - 0.5)}


def test_early_stopping_freezes_after_patience():
    problem = Learner()
    seeds = np.array([0])
    cohort = Cohort(problem, HeavyBall(), Constant(0.05), problem.init_params(seeds), seeds,
                    np.array([0]), eval_every=2, patience=3)
    sim = Simulation([cohort], [RunInfo("a", 0, "a")])
    sim.step(300)
    stopped = sim.stopped_at[0]
    assert stopped > 0 and stopped % 2 == 0
    assert sim.diverged_at[0] == -1
    _, val = sim.history.series("val_loss")
    assert np.isnan(val[1, 0]) and np.isfinite(val[2, 0])


def test_step_for_keeps_to_its_limit_and_stops_with_the_runs():
    sim = make_sim()
    done, cost = sim.step_for(10.0, 37, 1e-3)
    assert done == 37 and sim.step_count == 37  # the limit, long before the time is up
    assert 0 < cost < 1e-3  # the step cost was learnt from the chunks taken
    done, _ = sim.step_for(0.0, 1000, cost)
    assert done >= 1  # no time left still takes a step, so a tick always makes progress
    diverging = make_sim(lrs=(5.0,))  # diverges, as in test_divergence_freezes_only_that_run
    done, _ = diverging.step_for(10.0, 100_000, 1e-4)
    assert diverging.all_frozen and done == diverging.step_count < 100_000


def test_weight_length_and_step_length_are_recorded_for_surfaces_and_networks():
    """|θ| and |θ_k+1 − θ_k|: a surface's come from its recorded parameters, a network's are
    recorded at each recorded step (its parameters one step back are kept, not copied)."""
    sim = make_sim(lrs=(0.1, 0.3))
    sim.step(30)
    steps, params = sim.history.series("params")
    _, norms = sim.history.series("param_norm")
    _, lengths = sim.history.series("step_norm")
    assert np.allclose(norms, np.linalg.norm(params, axis=2))
    assert np.allclose(lengths[1:], np.linalg.norm(np.diff(params, axis=0), axis=2))

    from gdsim.build import build
    from gdsim.scenario.load import validate_raw

    source = {"scenario": {"title": "t", "claim": "c", "steps": 20},
              "problem": {"dataset": "moons", "samples": 60, "model": "mlp", "hidden": [5]},
              "optimizer": {"name": "sgd", "lr": 0.5}, "runs": [{"label": "a"}, {"label": "b", "seeds": 3}]}
    net = build(validate_raw(source, path=None, id="net"))
    cohort = net.cohorts[0]
    before = []
    for _ in range(12):
        before.append(cohort.params.copy())
        net.step(1)
    _, norms = net.history.series("param_norm")
    _, lengths = net.history.series("step_norm")
    assert np.isnan(lengths[0]).all()
    rows = cohort.rows
    assert np.allclose(norms[-1, rows], np.linalg.norm(cohort.params, axis=1))
    assert np.allclose(lengths[-1, rows], np.linalg.norm(cohort.params - before[-1], axis=1))
    assert np.allclose(lengths[5, rows], np.linalg.norm(before[5] - before[4], axis=1))
    snap = net.snapshot()
    assert all("params_before" not in c for c in snap["cohorts"])  # not sent to the app's worker
