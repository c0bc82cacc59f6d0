"""Sweeps: each grid point is the single run with that setting, the same bits; metrics; errors."""

from __future__ import annotations

import numpy as np
import pytest

from gdsim.build import build, build_sweep
from gdsim.engine.sweep import Axis, Condition, SweepError, run_sweep, sweepable
from gdsim.engine.surfaces import make_surface
from gdsim.scenario.load import load_scenario
from gdsim.scenario.overrides import with_overrides

SURFACE = """
[scenario]
title = "t"
claim = "c"
steps = 60
seed = 4

[problem]
surface = "{surface}"
noise = {noise}

[optimizer]
name = "{optimizer}"
lr = 0.01
{extra}

[[runs]]
label = "a"
start = [-1.5, 1.2]
"""

MOONS = """
[scenario]
title = "t"
claim = "c"
steps = 40
seed = 2

[problem]
dataset = "moons"
samples = 120
noise = 0.2
hidden = [8, 8]
activation = "tanh"
loss = "bce"
batch_size = 16

[optimizer]
name = "{optimizer}"
lr = 0.05
{extra}

[[runs]]
label = "net"
"""


def _load(tmp_path, text: str):
    path = tmp_path / "s.toml"
    path.write_text(text)
    return load_scenario(path, id="s")


def _single(loaded, sets: dict, steps: int):
    """The scenario's one run with `sets` overridden, built and stepped as gdsim run does."""
    assignments = [f"optimizer.{k}={v!r}" if not isinstance(v, tuple) else f"optimizer.{k}=[{v[0]!r}, {v[1]!r}]"
                   for k, v in sets.items()]
    sim = build(with_overrides(loaded, assignments), record=False)
    sim.step(steps)
    return sim.cohorts[0]


def _check_points(loaded, axes, steps, picks, to_single):
    sweep = build_sweep(loaded, 0, axes)
    sweep.step(steps)
    result = sweep.result()
    c = sweep.cohort
    for r in picks:
        one = _single(loaded, to_single({k: float(v[r]) for k, v in result.settings.items()}), steps)
        assert c.params[r].tobytes() == one.params[0].tobytes(), f"point {r}: parameters differ"
        assert c.loss[r:r + 1].tobytes() == one.loss[:1].tobytes(), f"point {r}: loss differs"
        assert c.diverged_at[r] == one.diverged_at[0]
    return result


def _as_optimizer_keys(point: dict) -> dict:
    out = {k: v for k, v in point.items() if k not in ("beta1", "beta2")}
    if "beta1" in point or "beta2" in point:
        out["betas"] = (point.get("beta1", 0.9), point.get("beta2", 0.999))
    return out


@pytest.mark.parametrize("surface, noise", [("quadratic", 0.0), ("rosenbrock", 0.0), ("rastrigin", 0.5)])
def test_a_surface_lr_sweep_point_is_the_single_run_bit_for_bit(tmp_path, surface, noise):
    loaded = _load(tmp_path, SURFACE.format(surface=surface, noise=noise, optimizer="sgd", extra="momentum = 0.9"))
    result = _check_points(loaded, [Axis("lr", 1e-4, 2.0, 30)], 60, (0, 11, 25, 29), _as_optimizer_keys)
    # the single runs stepped on Python floats (scalar_step): the bits still agree, diverged or not
    assert result.diverged[-1] and not result.diverged[0]


def test_an_lr_by_momentum_grid_point_is_the_single_run_bit_for_bit(tmp_path):
    loaded = _load(tmp_path, SURFACE.format(surface="quadratic", noise=0.0, optimizer="sgd", extra=""))
    axes = [Axis("lr", 1e-3, 1.0, 9), Axis("momentum", 0.0, 0.99, 7, "lin")]
    result = _check_points(loaded, axes, 60, (0, 8, 30, 62), _as_optimizer_keys)
    assert result.shape == (9, 7)
    # the last axis varies fastest: points 0-6 are the first lr with every momentum
    assert np.all(result.settings["lr"][:7] == 1e-3) and result.settings["lr"][7] > 1e-3
    assert result.settings["momentum"][6] == 0.99 and result.settings["momentum"][7] == 0.0
    assert np.allclose(result.settings["lr"].reshape(9, 7)[:, 0], np.geomspace(1e-3, 1.0, 9), rtol=1e-15)


def test_an_adam_betas_sweep_point_is_the_single_run_bit_for_bit(tmp_path):
    loaded = _load(tmp_path, SURFACE.format(surface="rosenbrock", noise=0.0, optimizer="adam", extra=""))
    axes = [Axis("beta1", 0.0, 0.99, 5, "lin"), Axis("beta2", 0.9, 0.9999, 4, "lin")]
    _check_points(loaded, axes, 60, (0, 7, 19), _as_optimizer_keys)


@pytest.mark.parametrize("optimizer, extra, axes", [
    ("sgd", "momentum = 0.9", [Axis("lr", 1e-3, 30.0, 12)]),
    ("adam", "", [Axis("lr", 1e-3, 1.0, 4), Axis("weight_decay", 0.0, 0.1, 3, "lin")]),
])
def test_a_network_sweep_point_is_the_single_run_bit_for_bit(tmp_path, optimizer, extra, axes):
    """Mini-batches, a tanh network and bce: each point draws the run's own batches (same seed)."""
    loaded = _load(tmp_path, MOONS.format(optimizer=optimizer, extra=extra))
    result = _check_points(loaded, axes, 40, (0, 5, 11), _as_optimizer_keys)
    assert result.ranking == "train_loss"
    for r in (0, 5):
        one = _single(loaded, _as_optimizer_keys({k: float(v[r]) for k, v in result.settings.items()}), 40)
        assert result.evaluation["train_loss"][r] == one.evaluate_split("train")["loss"][0]
        assert result.evaluation["val_loss"][r] == one.evaluate_split("val")["loss"][0]
    start = _single(loaded, {}, 0).evaluate_split("train")["loss"][0]
    assert np.all(result.start_train_loss == start)
    assert np.array_equal(result.unstable, result.diverged | ~(result.evaluation["train_loss"] < start))


def test_metrics_agree_with_a_single_runs_history(tmp_path):
    loaded = _load(tmp_path, SURFACE.format(surface="quadratic", noise=0.0, optimizer="sgd", extra=""))
    cond = Condition.parse("loss<1e-2")
    sweep = build_sweep(loaded, 0, [Axis("lr", 0.01, 0.3, 12)], conditions=(cond, Condition.parse("grad_norm<=0.5")))
    sweep.step(60)
    result = sweep.result()
    for r in (0, 4, 11):
        lr = float(result.settings["lr"][r])
        sim = build(with_overrides(loaded, [f"optimizer.lr={lr!r}"]))
        sim.step(60)
        steps, losses = sim.history.series("loss")
        losses = losses[:, 0]
        _, norms = sim.history.series("grad_norm")
        assert result.best_loss[r] == losses.min()
        assert result.start_loss[r] == losses[0]
        hits = np.flatnonzero(losses < 1e-2)
        assert result.steps_to["loss<0.01"][r] == (steps[hits[0]] if len(hits) else -1)
        hits = np.flatnonzero(norms[:, 0] <= 0.5)
        assert result.steps_to["grad_norm<=0.5"][r] == (steps[hits[0]] if len(hits) else -1)
        if sim.diverged_at[0] < 0:
            assert result.final_loss[r] == losses[-1]
        else:
            assert np.isnan(result.final_loss[r]) and result.diverged_at[r] == sim.diverged_at[0]
    assert result.diverged[-1] and not result.diverged[0]  # 0.3 > 2/10 diverges, 0.01 does not
    assert result.best() is not None and not result.diverged[result.best()]
    assert np.array_equal(result.metric("diverged"), result.diverged.astype(float))
    assert np.isnan(result.metric("steps_to:loss<1e-2")[0])  # lr 0.01 is too slow in 60 steps


def test_a_grid_over_a_whole_problem_steps_only_once_all_are_frozen():
    problem = make_surface("quadratic", condition=10.0)
    result = run_sweep(problem, "sgd", {}, [Axis("lr", 1.0, 10.0, 3)], np.array([-2.5, 1.5]), 0, steps=300)
    assert result.diverged.all() and result.steps == 300
    assert result.best() is None


@pytest.mark.parametrize("axis, message", [
    (lambda: Axis("lr", 0.0, 1.0, 5), "log scale needs low > 0"),
    (lambda: Axis("lr", 1.0, 0.1, 5), "from low to high"),
    (lambda: Axis("lr", 0.1, 0.1, 5), "need low < high"),
    (lambda: Axis("lr", 0.1, 1.0, 0), "number of values"),
    (lambda: Axis("lr", 0.1, float("inf"), 3), "finite"),
    (lambda: Axis("lr", 0.1, 1.0, 3, "cubic"), "log or lin"),
])
def test_bad_axes_say_what_was_expected(axis, message):
    with pytest.raises(SweepError, match=message):
        axis()


def test_keys_that_do_not_apply_are_refused_with_what_can_be_varied():
    problem = make_surface("quadratic")
    start = np.array([1.0, 1.0])
    with pytest.raises(SweepError, match="beta1: not a hyperparameter of sgd.*it can vary: lr, momentum"):
        run_sweep(problem, "sgd", {}, [Axis("beta1", 0.1, 0.9, 3, "lin")], start, 0, steps=1)
    with pytest.raises(SweepError, match="varied twice"):
        run_sweep(problem, "sgd", {}, [Axis("lr", 0.1, 0.9, 3), Axis("lr", 0.1, 0.2, 2)], start, 0, steps=1)
    with pytest.raises(SweepError, match="Invalid beta parameter at index 0: 1"):
        run_sweep(problem, "adam", {}, [Axis("beta1", 0.5, 1.0, 3, "lin")], start, 0, steps=1)
    with pytest.raises(SweepError, match="at most"):
        run_sweep(problem, "sgd", {}, [Axis("lr", 0.1, 0.9, 1000), Axis("momentum", 0.0, 0.9, 1000, "lin")],
                  start, 0, steps=1)
    assert sweepable("adam") == ("lr", "beta1", "beta2", "eps", "weight_decay")
    assert sweepable("cg") == ("lr",)


@pytest.mark.parametrize("text, message", [
    ("loss", "expected METRIC<NUMBER"), ("speed<3", "must be one of loss, grad_norm"),
    ("loss<abc", "is not a number"), ("loss<nan", "finite"),
])
def test_bad_conditions_say_what_was_expected(text, message):
    with pytest.raises(SweepError, match=message):
        Condition.parse(text)


def test_a_swept_lr_follows_the_run_s_schedule_bit_for_bit(tmp_path):
    text = SURFACE.format(surface="rosenbrock", noise=0.0, optimizer="sgd", extra="momentum = 0.5")
    text = text.replace('[[runs]]', '[schedule]\nname = "cosine"\nt_max = 25\neta_min = 1e-5\nwarmup = 5\n\n[[runs]]')
    loaded = _load(tmp_path, text)
    _check_points(loaded, [Axis("lr", 1e-4, 3e-3, 6)], 60, (0, 3, 5), _as_optimizer_keys)


def test_a_plateau_schedule_and_early_stopping_on_a_network_bit_for_bit(tmp_path):
    """ReduceLROnPlateau keeps one lr per point as state and watches the validation loss; early
    stopping freezes points at their own steps: each point still equals its single run."""
    text = MOONS.format(optimizer="sgd", extra="momentum = 0.9")
    text = text.replace('batch_size = 16', 'batch_size = 16\neval_every = 4\npatience = 3')
    text = text.replace('[[runs]]', '[schedule]\nname = "plateau"\npatience = 1\nfactor = 0.5\n\n[[runs]]')
    loaded = _load(tmp_path, text)
    result = _check_points(loaded, [Axis("lr", 1e-3, 3.0, 8)], 40, (0, 4, 7), _as_optimizer_keys)
    assert (result.stopped_at >= 0).any()
