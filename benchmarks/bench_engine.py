"""Engine speed: gdsim against torch.optim + autograd, and vectorized seeds against a loop over runs.

    python benchmarks/bench_engine.py            # gdsim figures; torch's too where torch is installed
    python benchmarks/bench_engine.py --threshold  # also: the float path against arrays by cohort size

Small cohorts on a 2-D surface step on Python floats (gdsim.engine.scalar_step); the three-runs
line compares that with the array path forced (Simulation.scalar_max_runs = 0) in the same run.

Torch is optional and never a dependency: install it beside gdsim to compare
(`pip install torch==2.13.0`). Both sides run in this one process, one thread each, on the same
problem (Rosenbrock from (-1.5, 2), float64), taking the best of several repeats.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from pathlib import Path

from gdsim.build import build
from gdsim.engine import scalar_step
from gdsim.engine.optimizers import make_optimizer
from gdsim.engine.schedules import make_schedule
from gdsim.engine.simulation import Cohort, RunInfo, Simulation
from gdsim.engine.surfaces import make_surface

from gdsim.scenario.load import load_scenario

OPTIMIZERS = {
    "sgd+momentum": ("sgd", {"lr": 1e-4, "momentum": 0.9}),
    "adam": ("adam", {"lr": 1e-3}),
}
THREE_RUNS = Path(__file__).resolve().parents[1] / "tests" / "app" / "data" / "three_runs.toml"


def simulation(name: str, seeds: np.ndarray, *, record: bool = True, floats: bool = True) -> Simulation:
    opt_name, hyper = THRESHOLD_OPTIMIZERS.get(name) or OPTIMIZERS[name]
    surface = make_surface("rosenbrock")
    optimizer = make_optimizer(opt_name, **hyper)
    schedule = make_schedule("constant", hyper["lr"])
    params = surface.init_params(seeds)
    if len(seeds) == 1:
        params[:] = (-1.5, 2.0)
    cohort = Cohort(surface, optimizer, schedule, params, seeds, np.arange(len(seeds)))
    runs = [RunInfo(f"seed {s}", int(s), "all") for s in seeds]
    sim = Simulation([cohort], runs, record=record)
    if not floats:
        sim.scalar_max_runs = 0
    return sim


def best_of(repeats: int, fn) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def gdsim_single(name: str, steps: int, repeats: int, record: bool) -> float:
    """Seconds per step of one run (with record, also keeping the history the app draws)."""
    return best_of(repeats, lambda: simulation(name, np.array([0]), record=record).step(steps)) / steps


def torch_single(name: str, steps: int, repeats: int) -> float | None:
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    opt_name, hyper = OPTIMIZERS[name]
    cls = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam}[opt_name]

    def loop():
        p = torch.tensor([-1.5, 2.0], dtype=torch.float64, requires_grad=True)
        opt = cls([p], **hyper)
        for _ in range(steps):
            opt.zero_grad()
            x, y = p[0], p[1]
            loss = (1 - x) ** 2 + 100 * (y - x * x) ** 2
            loss.backward()
            opt.step()

    return best_of(repeats, loop) / steps


def vectorized(name: str, runs: int, steps: int, repeats: int) -> float:
    """Seconds per run-step with all runs in one simulation."""
    seeds = np.arange(runs)
    return best_of(repeats, lambda: simulation(name, seeds).step(steps)) / (steps * runs)


def looped(name: str, runs: int, steps: int, repeats: int, floats: bool = False) -> float:
    """Seconds per run-step with one simulation per run, stepped one after another (as arrays,
    or on the float path a single run takes in gdsim)."""
    def loop():
        for seed in range(runs):
            simulation(name, np.array([seed]), floats=floats).step(steps)
    return best_of(repeats, loop) / (steps * runs)


def three_runs(steps: int, repeats: int) -> dict[str, float]:
    """Seconds per simulation step of tests/app/data/three_runs.toml (3 cohorts of one run:
    sgd, sgd + momentum, adam on Rosenbrock) with history, on floats and as arrays."""
    loaded = load_scenario(THREE_RUNS)
    out = {}
    for label, limit in (("floats", scalar_step.MAX_RUNS), ("arrays", 0)):
        def run():
            sim = build(loaded)
            sim.scalar_max_runs = limit
            sim.step(steps)
        out[label] = best_of(repeats, run) / steps
    return out


THRESHOLD_OPTIMIZERS = {
    "sgd": ("sgd", {"lr": 1e-4}),
    "rmsprop centered": ("rmsprop", {"lr": 1e-4, "centered": True, "momentum": 0.5}),
}


def threshold(sizes: list[int], steps: int, repeats: int) -> None:
    """us per cohort step on floats and as arrays by cohort size: where scalar_step.MAX_RUNS sits."""
    print(f"one cohort of R runs, with history: us/step on floats | as arrays "
          f"(scalar_step.MAX_RUNS = {scalar_step.MAX_RUNS})")
    print(f"{'R':<22}" + "".join(f"{r:>14}" for r in sizes))
    for name in ("sgd", "sgd+momentum", "adam", "rmsprop centered"):
        cells = []
        for r in sizes:
            seeds = np.arange(r)
            cost = {}
            for floats in (True, False):
                def run():
                    sim = simulation(name, seeds, floats=floats)
                    sim.scalar_max_runs = r if floats else 0
                    sim.step(steps)
                cost[floats] = best_of(repeats, run) / steps * 1e6
            cells.append(f"{cost[True]:6.0f} |{cost[False]:5.0f}")
        print(f"{name:<22}" + "".join(f"{c:>14}" for c in cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threshold", action="store_true", help="also time floats against arrays by cohort size")
    args = parser.parse_args()
    print(f"numpy {np.__version__}, {os.cpu_count()} cpus; best of {args.repeats}")
    cost = three_runs(args.steps, args.repeats)
    print(f"three_runs.toml (3 runs, with history)   {'steps/s':>9} {'run-steps/s':>12} {'us/step':>8}")
    for label in ("floats", "arrays"):
        print(f"  {label:<38} {1 / cost[label]:9.0f} {3 / cost[label]:12.0f} {cost[label] * 1e6:8.1f}")
    print(f"  {'speed-up':<38} {cost['arrays'] / cost['floats']:8.1f}x")
    print()
    if args.threshold:
        threshold([1, 2, 4, 8, 12, 16], max(200, args.steps // 3), args.repeats)
        print()
    print("single 2-D run (Rosenbrock): gdsim's step alone (like the torch loop, which records nothing),")
    print("and with the bounded history the app draws from")
    print(f"{'':<16} {'gdsim us/step':>14} {'+history':>9} {'torch us/step':>14} {'speed-up':>9} {'+history':>9}")
    for name in OPTIMIZERS:
        bare = gdsim_single(name, args.steps, args.repeats, record=False)
        recorded = gdsim_single(name, args.steps, args.repeats, record=True)
        theirs = torch_single(name, args.steps, args.repeats)
        if theirs:
            print(f"{name:<16} {bare * 1e6:14.1f} {recorded * 1e6:9.1f} {theirs * 1e6:14.1f} "
                  f"{theirs / bare:8.1f}x {theirs / recorded:8.1f}x")
        else:
            print(f"{name:<16} {bare * 1e6:14.1f} {recorded * 1e6:9.1f}   (torch not installed)")
    print()
    print(f"{args.runs} seeds (Rosenbrock, random starts)  {'vectorized us/run-step':>22} {'looped us/run-step':>19} "
          f"{'speed-up':>9} {'looped on floats':>17} {'speed-up':>9}")
    print("(looped: one simulation per seed, one after another, stepped as arrays; and on the float path,")
    print(" which is how gdsim steps a single run since the fast path: vectorizing still wins, by less)")
    loop_runs = max(1, min(args.runs, 50))  # the loop's cost per run-step does not depend on the count
    loop_steps = max(1, args.steps // 10)
    for name in OPTIMIZERS:
        fast = vectorized(name, args.runs, max(1, args.steps // 10), args.repeats)
        slow = looped(name, loop_runs, loop_steps, args.repeats)
        floats = looped(name, loop_runs, loop_steps, args.repeats, floats=True)
        print(f"{name:<34} {fast * 1e6:22.3f} {slow * 1e6:19.2f} {slow / fast:8.0f}x "
              f"{floats * 1e6:17.2f} {floats / fast:8.0f}x")


if __name__ == "__main__":
    main()
