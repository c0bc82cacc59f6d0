"""A run's bits do not depend on how many runs sit beside it.

Cohort size changes how a run is computed: a few 2-D runs step on Python floats (scalar_step),
more as arrays of R rows, and NumPy picks its SIMD kernels (exp, sin, cos, tanh, pow...) per CPU.
So a run alone, among three (floats) and among twelve (arrays) is compared bit for bit, on every
surface, an expression and networks with each activation. .ci/run runs these at NumPy's best
dispatch and again with AVX2/AVX-512 turned off (NPY_DISABLE_CPU_FEATURES).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gdsim.build import build
from gdsim.engine import scalar_step
from gdsim.engine.optimizers import make_optimizer
from gdsim.engine.schedules import make_schedule
from gdsim.engine.simulation import Cohort, RunInfo, Simulation
from gdsim.engine.surfaces import SURFACE_NAMES, make_surface
from gdsim.scenario.load import load_scenario

BIG = scalar_step.MAX_RUNS + 4  # stepped as arrays
SMALL = 3  # stepped on floats (on the surfaces the fast path takes)
PICK = (0, 2, BIG - 1)  # runs compared: first, inside, last (a SIMD loop's tail)


def surface_sim(surface: str, seeds: list[int], optimizer: str) -> Simulation:
    problem = make_surface(surface, noise=0.3)
    hyper = {"momentum": 0.9} if optimizer == "sgd" else {}
    opt = make_optimizer(optimizer, lr=0.01, **hyper)
    schedule = make_schedule("cosine", 0.01, t_max=50, eta_min=1e-4, warmup=5)
    seeds_ = np.array(seeds)
    cohort = Cohort(problem, opt, schedule, problem.init_params(seeds_), seeds_, np.arange(len(seeds)),
                    clip_norm=5.0)
    return Simulation([cohort], [RunInfo(f"s{s}", s, "g") for s in seeds], history_capacity=64)


def bits(sim: Simulation, row: int) -> dict:
    c = sim.cohorts[0]
    out = {"params": c.params[row], "grad": c.grad[row], "loss": c.loss[row:row + 1],
           "diverged": c.diverged_at[row:row + 1].astype(np.float64)}
    for i, field in enumerate(c.state[1:]):
        if isinstance(field, np.ndarray) and field.ndim and field.shape[0] == len(c.rows):
            out[f"state{i}"] = field[row]
    if sim.history is not None:
        for name in sim.history.fields:
            out[f"history {name}"] = sim.history.series(name)[1][:, row]
    return {k: np.ascontiguousarray(v).tobytes() for k, v in out.items()}


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("surface", SURFACE_NAMES)
def test_a_surface_run_alone_among_a_few_and_among_many_has_the_same_bits(surface, optimizer):
    many = surface_sim(surface, list(range(BIG)), optimizer)
    many.step(150)
    for r in PICK:
        alone = surface_sim(surface, [r], optimizer)
        alone.step(150)
        assert bits(alone, 0) == bits(many, r), f"{surface} seed {r}: alone vs among {BIG}"
    few = surface_sim(surface, [0, 1, 2], optimizer)
    few.step(150)
    assert bits(few, 2) == bits(many, 2)


NETWORK = """
[scenario]
title = "t"
claim = "c"
lesson = "l"
steps = 60
seed = 4

[problem]
dataset = "{dataset}"
samples = 120
model = "{model}"
{extra}
batch_size = 16
eval_every = 20

[optimizer]
name = "adam"
lr = 0.01

[[runs]]
label = "r"
{runs}
"""

EXPRESSION = """
[scenario]
title = "t"
claim = "c"
lesson = "l"
steps = 60

[problem]
expression = "tanh(x) * cos(y) + 0.1*exp(0.3*x) + log(1 + x**2) + sin(x*y)**3 + y**2 / 4"
noise = 0.3

[optimizer]
name = "adam"
lr = 0.05

[[runs]]
label = "r"
{runs}
"""

CASES = {
    "expression": EXPRESSION.format(runs="{runs}"),
    "mlp tanh": NETWORK.format(dataset="moons", model="mlp", extra='hidden = [8, 8]\nactivation = "tanh"', runs="{runs}"),
    "mlp sigmoid dropout": NETWORK.format(dataset="circles", model="mlp",
                                          extra='hidden = [8]\nactivation = "sigmoid"\ndropout = 0.2', runs="{runs}"),
    "logistic": NETWORK.format(dataset="moons", model="logistic", extra="", runs="{runs}"),
    "softmax": NETWORK.format(dataset="blobs", model="softmax", extra="", runs="{runs}"),
}


def scenario_sim(tmp_path: Path, text: str, runs: str) -> Simulation:
    path = tmp_path / f"case{len(list(tmp_path.iterdir()))}.toml"
    path.write_text(text.replace("{runs}", runs))
    sim = build(load_scenario(path))
    assert len(sim.cohorts) == 1
    return sim


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_model_or_expression_run_alone_and_among_many_has_the_same_bits(tmp_path, case):
    many = scenario_sim(tmp_path, CASES[case], f"seed = 10\nseeds = {BIG}")
    many.step(60)
    for r in PICK:
        alone = scenario_sim(tmp_path, CASES[case], f"seed = {10 + r}")
        alone.step(60)
        assert bits(alone, 0) == bits(many, r), f"{case} seed {10 + r}: alone vs among {BIG}"
