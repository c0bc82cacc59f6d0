"""The "plateau" schedule: torch's ReduceLROnPlateau replayed, fed by the simulation, per-run lr, errors."""

from __future__ import annotations

import importlib.util
import json
import pickle
from pathlib import Path

import numpy as np
import pytest

from gdsim.build import build
from gdsim.engine.optimizers import make_optimizer
from gdsim.engine.schedules import Plateau, ScheduleError, make_schedule
from gdsim.engine.simulation import Cohort, RunInfo, Simulation
from gdsim.scenario.load import ScenarioError, validate_raw

GOLDEN_DIR = Path(__file__).resolve().parents[1] / "golden"
GOLDEN = json.loads((GOLDEN_DIR / "plateau_golden.json").read_text())
_spec = importlib.util.spec_from_file_location("make_plateau_golden", GOLDEN_DIR / "make_plateau_golden.py")
maker = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(maker)


def load_scenario_text(text: str, name: str):
    import tomllib

    return validate_raw(tomllib.loads(text), path=None, id=name, text=text)


def _plateau(lr, settings):
    return make_schedule("plateau", lr, **settings)


@pytest.mark.parametrize("case", GOLDEN["metric_cases"], ids=lambda c: c["id"])
def test_lr_after_each_metric_matches_torch(case):
    schedule = _plateau(case["lr"], case["settings"])
    state = schedule.adaptive.init(case["lr"], 1)
    ours = []
    for metric in case["metrics"]:
        state = schedule.adaptive.step(state, np.array([metric]))
        ours.append(float(state.lr[0]))
    np.testing.assert_allclose(ours, case["lrs"], rtol=1e-12, atol=0)


def test_golden_cases_exercise_every_setting():
    assert GOLDEN["torch"].startswith("2.13.0")
    cut = [c for c in GOLDEN["metric_cases"] if len(set(c["lrs"])) > 2]
    assert len(cut) >= 8  # the lr really changes in most cases
    keys = {k for c in GOLDEN["metric_cases"] for k in c["settings"]}
    assert keys == {"factor", "patience", "threshold", "threshold_mode", "cooldown", "min_lr", "eps"}
    assert any(np.isnan(c["metrics"]).any() for c in GOLDEN["metric_cases"])


def test_runs_are_independent_rows():
    """One state for several runs steps each row exactly as a state of its own would."""
    cases = [c for c in GOLDEN["metric_cases"] if c["settings"] == {"patience": 1, "factor": 0.7}]
    assert cases
    schedule = _plateau(0.3, {"patience": 1, "factor": 0.7})
    rng = np.random.default_rng(0)
    metrics = rng.random((40, 4)) + np.linspace(1, 0, 40)[:, None]
    state = schedule.adaptive.init(np.array([0.3, 0.1, 0.3, 1.0]), 4)
    rows = [schedule.adaptive.init(lr, 1) for lr in (0.3, 0.1, 0.3, 1.0)]
    for m in metrics:
        state = schedule.adaptive.step(state, m)
        rows = [schedule.adaptive.step(s, m[i : i + 1]) for i, s in enumerate(rows)]
    for i, s in enumerate(rows):
        for a, b in zip(state, s):
            assert a[i] == b[0]
    assert len(set(state.lr.tolist())) == 4


class Rosenbrock:
    """The golden script's Rosenbrock, as a problem (no noise, no evaluation)."""

    n_params = 2

    def init_params(self, seeds):
        return np.zeros((len(seeds), 2))

    def sampler(self, seeds):
        class Quiet:
            def next(self):
                return None

        return Quiet()

    def loss_and_grad(self, params, batch):
        return maker.rosenbrock_loss(params), maker.rosenbrock_grad(params)

    def hessian(self, params):
        raise NotImplementedError


@pytest.mark.parametrize("case", GOLDEN["trajectory_cases"], ids=lambda c: c["id"])
def test_cohort_trajectory_matches_torch_with_one_lr_per_run(case):
    """SGD with a plateau schedule per run: the cohort feeds each run's loss at step k before the
    update k -> k+1, as torch's loop measure / scheduler.step(loss) / optimizer.step() does."""
    n = len(case["starts"])
    cohort = Cohort(Rosenbrock(), make_optimizer("sgd", lr=case["lr"]), _plateau(case["lr"], case["settings"]),
                    np.array(case["starts"], dtype=float), np.arange(n), np.arange(n))
    lrs, params = [], [cohort.params.copy()]
    for k in range(case["steps"]):
        lrs.append(np.array(cohort.lr, copy=True))
        cohort.step(k)
        params.append(cohort.params.copy())
    for r, run in enumerate(case["runs"]):
        np.testing.assert_allclose([lr[r] for lr in lrs], run["lrs"], rtol=1e-12, atol=0)
        np.testing.assert_allclose([p[r] for p in params], run["params"], rtol=1e-12, atol=1e-15)
    # the runs' lrs differ: a cohort holds one lr per run
    assert len({tuple(lr) for lr in lrs[-1:]}) == 1 and len(set(lrs[-1].tolist())) > 1


SURFACE = """
[scenario]
title = "t"
claim = "c"
steps = 60

[problem]
surface = "rosenbrock"

[optimizer]
name = "sgd"
lr = 0.0015

[schedule]
name = "plateau"
patience = 2
factor = 0.5
threshold = 0.01

[[runs]]
start = [-1.2, 1.0]

[[runs]]
start = [1.5, 2.0]
"""

DATA = """
[scenario]
title = "t"
claim = "c"
steps = 200

[problem]
dataset = "moons"
samples = 200
model = "mlp"
hidden = [8]
batch_size = 16
eval_every = 5

[optimizer]
name = "sgd"
lr = 0.5

[schedule]
name = "plateau"
patience = 1
factor = 0.5
threshold = 0.05

[[runs]]
seeds = 3
"""


def _replay(schedule, metrics, n):
    state = schedule.adaptive.init(schedule.params["lr"], n)
    out = []
    for m in metrics:
        state = schedule.adaptive.step(state, m)
        out.append(state.lr)
    return np.array(out)


def test_surface_runs_watch_the_loss_at_every_step():
    sim = build(load_scenario_text(SURFACE, "t.toml"))
    sim.step(60)
    _, lr = sim.history.series("lr")
    _, loss = sim.history.series("loss")
    cohort = sim.cohorts[0]
    # lr of update k is the schedule after the losses at steps 0..k
    expected = _replay(cohort.schedule, loss, 2)
    np.testing.assert_array_equal(lr, expected)
    assert (lr[-1] < lr[0]).all()  # both runs had their lr cut


def test_dataset_runs_watch_the_validation_loss_at_each_evaluation():
    sim = build(load_scenario_text(DATA, "t.toml"))
    sim.step(200)
    history = sim.history
    steps, lr = history.series("lr")
    _, val = history.series("val_loss")
    evaluated = steps % 5 == 0
    assert np.isfinite(val[evaluated]).all()
    expected = _replay(sim.cohorts[0].schedule, val[evaluated], 3)
    np.testing.assert_array_equal(lr[evaluated], expected)
    # between evaluations the lr holds
    changes = np.nonzero((np.diff(lr, axis=0) != 0).any(axis=1))[0] + 1
    assert len(changes) > 0 and (steps[changes] % 5 == 0).all()
    assert sim.cohorts[0].plateau_metric() is None or sim.cohorts[0].plateau_metric()[0] == "val_loss"


def test_plateau_state_survives_snapshot_and_restore():
    a = build(load_scenario_text(DATA, "t.toml"))
    b = build(load_scenario_text(DATA, "t.toml"))
    a.step(120)
    b.restore(pickle.loads(pickle.dumps(a.snapshot(None))))  # as the engine worker sends it
    a.step(80)
    b.step(80)
    np.testing.assert_array_equal(a.lr, b.lr)
    np.testing.assert_array_equal(a.loss, b.loss)
    assert (a.lr < 0.5).any()


@pytest.mark.parametrize(
    "settings, key",
    [
        ({"factor": 1.0}, "factor"),
        ({"factor": -0.1}, "factor"),
        ({"patience": -1}, "patience"),
        ({"patience": 1.5}, "patience"),
        ({"threshold_mode": "relative"}, "threshold_mode"),
        ({"threshold": -1e-3}, "threshold"),
        ({"min_lr": -1.0}, "min_lr"),
        ({"cooldown": -2}, "cooldown"),
        ({"eps": float("nan")}, "eps"),
        ({"gamma": 0.5}, "gamma"),
        ({"warmup": 5}, "warmup"),
        ({"mode": "max"}, "mode"),
    ],
)
def test_bad_settings_name_the_key(settings, key):
    with pytest.raises(ScheduleError, match=f"'{key}'"):
        make_schedule("plateau", 0.1, **settings)


def test_plateau_keys_refused_for_other_schedules():
    with pytest.raises(ScheduleError, match="'patience' does not apply to step"):
        make_schedule("step", 0.1, step_size=3, patience=2)


@pytest.mark.parametrize(
    "line, key",
    [
        ("factor = 1.5", "schedule.factor"),
        ('threshold_mode = "relative"', "schedule.threshold_mode"),
        ("patience = -1", "schedule.patience"),
        ("gamma = 0.5", "schedule.gamma"),
    ],
)
def test_scenario_errors_name_the_key(line, key):
    text = SURFACE.replace("factor = 0.5\n", "").replace("patience = 2\n", "")
    text = text.replace("threshold = 0.01", f"threshold = 0.01\n{line}")
    with pytest.raises(ScenarioError, match=key.replace(".", r"\.")):
        load_scenario_text(text, "t.toml")


def test_defaults_are_torchs():
    from gdsim.engine.schedules import PLATEAU_DEFAULTS

    params = make_schedule("plateau", 0.1).params
    assert {k: params[k] for k in PLATEAU_DEFAULTS} == {
        "factor": 0.1, "patience": 10, "threshold": 1e-4, "threshold_mode": "rel", "cooldown": 0,
        "min_lr": 0.0, "eps": 1e-8,
    }
    assert isinstance(make_schedule("plateau", 0.1).adaptive, Plateau)


def test_check_exits_2_naming_the_key(tmp_path, capsys):
    from gdsim.cli import main

    bad = tmp_path / "plateau.toml"
    bad.write_text(SURFACE.replace('threshold = 0.01', 'threshold = 0.01\nthreshold_mode = "relative"'))
    assert main(["check", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "schedule.threshold_mode" in err and "Traceback" not in err
    bad.write_text(SURFACE.replace('name = "plateau"', 'name = "plateau"\nwarmup = 5'))
    assert main(["check", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "schedule.warmup" in err and "does not apply to plateau" in err
