"""The metrics [[expect]] can use beyond loss: precision, recall, MAE, MSE, per-layer gradients,
sparsity with a tolerance, epochs, best-so-far validation loss, stationarity (loss_change, last = N).

Each value is recomputed here independently of gdsim.scenario.measure."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from gdsim.build import build
from gdsim.scenario.load import ScenarioError, parse_toml_bytes, validate_raw
from gdsim.scenario.verify import verify

MOONS = """
[scenario]
title = "t"
claim = "c"
steps = 60

[problem]
dataset = "moons"
samples = 100
noise = 0.6
split = [0.7, 0.15, 0.15]
hidden = [8]
batch_size = 16
eval_every = 5

[optimizer]
name = "sgd"
lr = 0.3

[[runs]]
label = "net"
"""

LINE = """
[scenario]
title = "t"
claim = "c"
steps = 40

[problem]
dataset = "line"
samples = 100
model = "linear"

[optimizer]
name = "sgd"
lr = 0.05

[[runs]]
label = "fit"
"""


def load(text: str):
    return validate_raw(parse_toml_bytes(text.encode(), "t.toml"), path=None, id="t", text=text)


def outcome(base: str, expect: str):
    (result,) = verify(load(base + textwrap.dedent(expect))).outcomes
    return result


def final_sim(base: str, steps: int | None = None):
    loaded = load(base)
    sim = build(loaded, record=False)
    sim.step(steps if steps is not None else loaded.scenario.scenario.steps)
    return sim


@pytest.mark.parametrize("split", ["train", "val", "test"])
def test_precision_and_recall_are_those_of_class_1(split):
    sim = final_sim(MOONS)
    cohort = sim.cohorts[0]
    problem = cohort.problem
    x, y, _ = problem._splits[split]
    predicted = (problem.scores(cohort.params, x)[0, :, 0] > 0).astype(int)
    true_pos = np.sum((predicted == 1) & (y == 1))
    precision, recall = true_pos / np.sum(predicted == 1), true_pos / np.sum(y == 1)
    p = outcome(MOONS, f'[[expect]]\nid = "p"\nbecause = "b"\nmetric = "{split}_precision"\nabove = 0.0\n')
    r = outcome(MOONS, f'[[expect]]\nid = "r"\nbecause = "b"\nmetric = "{split}_recall"\nabove = 0.0\n')
    assert p.value == pytest.approx(precision) and r.value == pytest.approx(recall)
    assert 0 < precision < 1 or 0 < recall < 1  # a trained, imperfect classifier: the test can tell them apart


@pytest.mark.parametrize("split", ["train", "test"])
def test_mae_and_mse_on_a_regression(split):
    sim = final_sim(LINE)
    cohort = sim.cohorts[0]
    x, y, _ = cohort.problem._splits[split]
    predicted = cohort.problem.scores(cohort.params, x)[0, :, 0]
    mae = outcome(LINE, f'[[expect]]\nbecause = "b"\nmetric = "{split}_mae"\nbelow = 100.0\n')
    mse = outcome(LINE, f'[[expect]]\nbecause = "b"\nmetric = "{split}_mse"\nbelow = 100.0\n')
    assert mae.value == pytest.approx(np.mean(np.abs(predicted - y)))
    assert mse.value == pytest.approx(np.mean((predicted - y) ** 2))
    assert mse.value != pytest.approx(mae.value)


def test_a_metric_for_the_other_task_cannot_be_checked():
    result = outcome(MOONS, '[[expect]]\nbecause = "b"\nmetric = "val_mae"\nbelow = 1.0\n')
    assert not result.passed and "is for regression" in result.measured
    result = outcome(LINE, '[[expect]]\nbecause = "b"\nmetric = "val_recall"\nbelow = 1.0\n')
    assert not result.passed and "is for classification" in result.measured


def test_layer_grad_norm_reads_one_layer():
    sim = final_sim(MOONS)
    cohort = sim.cohorts[0]
    layers = cohort.problem.network.layout.layers
    grad = cohort.grad[0]
    first = np.linalg.norm(grad[layers[0].start:layers[0].end])
    last = np.linalg.norm(grad[layers[-1].start:layers[-1].end])
    a = outcome(MOONS, '[[expect]]\nbecause = "b"\nmetric = "layer_grad_norm"\nlayer = 0\nabove = 0.0\n')
    b = outcome(MOONS, '[[expect]]\nbecause = "b"\nmetric = "layer_grad_norm"\nlayer = -1\nabove = 0.0\n')
    assert a.value == pytest.approx(first) and b.value == pytest.approx(last) and first != last
    assert "gradient norm of layer 0" in a.text
    bad = outcome(MOONS, '[[expect]]\nbecause = "b"\nmetric = "layer_grad_norm"\nlayer = 2\nabove = 0.0\n')
    assert not bad.passed and "the network has 2 layers" in bad.measured


def test_sparsity_tolerance():
    sim = final_sim(MOONS)
    cohort = sim.cohorts[0]
    weights = np.concatenate([w.reshape(-1) for w in cohort.problem.network.layout.weights(cohort.params)])
    tol = float(np.median(np.abs(weights)))
    result = outcome(MOONS, f'[[expect]]\nbecause = "b"\nmetric = "sparsity"\ntolerance = {tol!r}\nabove = 0.0\n')
    assert result.value == pytest.approx(np.mean(np.abs(weights) < tol))
    default = outcome(MOONS, '[[expect]]\nbecause = "b"\nmetric = "sparsity"\nat_least = 0.0\n')
    assert default.value == pytest.approx(np.mean(np.abs(weights) < 0.01))
    assert result.value != default.value


def test_epochs_count_passes_through_the_training_set():
    # 70 training points in batches of 16: 5 steps per epoch (the last batch has 6 points)
    result = outcome(MOONS, '[[expect]]\nbecause = "b"\nmetric = "epochs"\nat = 35\nat_least = 7\nat_most = 7\n')
    assert result.passed and result.value == 7.0
    assert outcome(MOONS, '[[expect]]\nbecause = "b"\nmetric = "epochs"\nbelow = 100\n').value == 12.0


def test_epochs_of_a_stopped_run_stop_with_it():
    stopping = MOONS.replace("eval_every = 5", "eval_every = 5\npatience = 1").replace("steps = 60", "steps = 400")
    sim = final_sim(stopping)
    stopped = int(sim.stopped_at[0])
    assert 0 < stopped < 400
    result = outcome(stopping, '[[expect]]\nbecause = "b"\nmetric = "epochs"\nbelow = 1000\n')
    assert result.value == pytest.approx(stopped / 5)


def test_best_val_loss_is_the_lowest_so_far():
    loaded = load(MOONS)
    sim = build(loaded, record=False)
    vals = [sim.cohorts[0].problem.evaluate(sim.cohorts[0].params, "val")["loss"][0]]
    for k in range(1, 61):
        sim.step(1)
        if k % 5 == 0:
            vals.append(sim.cohorts[0].problem.evaluate(sim.cohorts[0].params, "val")["loss"][0])
    final = outcome(MOONS, '[[expect]]\nbecause = "b"\nmetric = "best_val_loss"\nbelow = 100\n')
    assert final.value == pytest.approx(min(vals))
    early = outcome(MOONS, '[[expect]]\nbecause = "b"\nmetric = "best_val_loss"\nat = 22\nbelow = 100\n')
    assert early.value == pytest.approx(min(vals[:5]))  # steps 0, 5, 10, 15, 20


BOWL = """
[scenario]
title = "t"
claim = "c"
steps = 50

[problem]
surface = "bowl"

[optimizer]
name = "sgd"
lr = 0.1

[[runs]]
label = "a"
start = [2.0, 1.0]
"""


def test_loss_change_and_last_n_steps_measure_stationarity():
    sim = build(load(BOWL), record=False)
    losses = [float(sim.loss[0])]
    norms = [float(sim.grad_norm[0])]
    for _ in range(50):
        sim.step(1)
        losses.append(float(sim.loss[0]))
        norms.append(float(sim.grad_norm[0]))
    changes = np.abs(np.diff(losses))
    final = outcome(BOWL, '[[expect]]\nbecause = "b"\nmetric = "loss_change"\nbelow = 1\n')
    assert final.value == pytest.approx(changes[-1])
    window = outcome(BOWL, '[[expect]]\nbecause = "b"\nmetric = "loss_change"\nat = "max"\nlast = 10\nbelow = 1\n')
    assert window.value == pytest.approx(changes[-10:].max()) and "over the last 10 steps" in window.text
    grad = outcome(BOWL, '[[expect]]\nbecause = "b"\nmetric = "grad_norm"\nat = "max"\nlast = 10\nbelow = 1\n')
    assert grad.value == pytest.approx(max(norms[-10:])) and max(norms[-11:]) > grad.value
    at_step = outcome(BOWL, '[[expect]]\nbecause = "b"\nmetric = "loss_change"\nat = 3\nbelow = 100\n')
    assert at_step.value == pytest.approx(changes[2])


@pytest.mark.parametrize(
    ("expect", "message"),
    [
        ('metric = "loss"\nlayer = 1\nbelow = 1', "layer picks the layer"),
        ('metric = "layer_grad_norm"\nbelow = 1', "needs layer = N"),
        ('metric = "loss"\ntolerance = 0.1\nbelow = 1', "tolerance is the zero threshold"),
        ('metric = "loss"\nlast = 10\nbelow = 1', "last only applies"),
        ('metric = "loss"\nat = "max"\nlast = 10\nduring = [0, 5]\nbelow = 1', "not both"),
    ],
)
def test_keys_of_the_new_metrics_are_checked(expect, message):
    with pytest.raises(ScenarioError, match=message):
        load(BOWL + '[[expect]]\nbecause = "b"\n' + expect + "\n")


def test_data_set_metrics_on_a_surface_cannot_be_checked():
    for metric in ("epochs", "best_val_loss"):
        result = outcome(BOWL, f'[[expect]]\nbecause = "b"\nmetric = "{metric}"\nbelow = 1\n')
        assert not result.passed and "needs a data set" in result.measured


ENSEMBLE = """
[scenario]
title = "t"
claim = "c"
steps = 60

[problem]
surface = "double_well"

[optimizer]
name = "sgd"
lr = 0.05

[[runs]]
label = "many"
seed = 1
seeds = 40
"""


def test_also_counts_runs_meeting_both_comparisons():
    sim = final_sim(ENSEMBLE)
    loss, grad = sim.loss, sim.grad_norm
    both = np.mean((loss > 0.0) & (grad < 1e-3))
    assert 0 < both < np.mean(loss > 0.0)  # the condition changes the count
    result = outcome(ENSEMBLE, """
        [[expect]]
        id = "stuck"
        because = "Some runs end stationary in the shallow (higher) well."
        run = "many"
        metric = "loss"
        above = 0.0
        also = { metric = "grad_norm", below = 1e-3 }
        fraction_below = 0.1
    """)
    assert result.value == pytest.approx(both)
    assert result.passed and both < 0.1 < np.mean(loss > 0.0)  # without `also` it would fail
    assert "and grad_norm at the end < 0.001" in result.text
    assert f"also grad_norm: {int(np.sum(grad < 1e-3))} of 40 runs meet it" in result.measured


@pytest.mark.parametrize(
    ("also", "message"),
    [
        ('{ metric = "params", below = 1 }', "not a metric"),
        ('{ metric = "grad_norm" }', "needs a comparison"),
        ('{ metric = "grad_norm", below = 1, last = 5 }', "only apply when"),
        ('{ metric = "grad_norm", below = 1, bogus = 5 }', "also.bogus"),
    ],
)
def test_also_is_checked_when_loading(also, message):
    with pytest.raises(ScenarioError, match=message):
        load(ENSEMBLE + f'[[expect]]\nbecause = "b"\nmetric = "loss"\nbelow = 1\nalso = {also}\n')
    with pytest.raises(ScenarioError, match="also goes with a metric"):
        load(ENSEMBLE + '[[expect]]\nbecause = "b"\ndiverges = false\nalso = { metric = "loss", below = 1 }\n')
