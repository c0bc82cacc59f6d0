"""Engine speed: gdsim against torch.optim + autograd, and vectorized seeds against a loop over runs.

    python benchmarks/bench_engine.py            # gdsim figures; torch's too where torch is installed

Torch is optional and never a dependency: install it beside gdsim to compare
(`pip install torch==2.13.0`). Both sides run in this one process, one thread each, on the same
problem (Rosenbrock from (-1.5, 2), float64), taking the best of several repeats.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from gdsim.engine.optimizers import make_optimizer
from gdsim.engine.schedules import make_schedule
from gdsim.engine.simulation import Cohort, RunInfo, Simulation
from gdsim.engine.surfaces import make_surface

OPTIMIZERS = {
    "sgd+momentum": ("sgd", {"lr": 1e-4, "momentum": 0.9}),
    "adam": ("adam", {"lr": 1e-3}),
}


def simulation(name: str, seeds: np.ndarray, *, record: bool = True) -> Simulation:
    opt_name, hyper = OPTIMIZERS[name]
    surface = make_surface("rosenbrock")
    optimizer = make_optimizer(opt_name, **hyper)
    schedule = make_schedule("constant", hyper["lr"])
    params = surface.init_params(seeds)
    if len(seeds) == 1:
        params[:] = (-1.5, 2.0)
    cohort = Cohort(surface, optimizer, schedule, params, seeds, np.arange(len(seeds)))
    runs = [RunInfo(f"seed {s}", int(s), "all") for s in seeds]
    return Simulation([cohort], runs, record=record)


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


def looped(name: str, runs: int, steps: int, repeats: int) -> float:
    """Seconds per run-step with one simulation per run, stepped one after another."""
    def loop():
        for seed in range(runs):
            simulation(name, np.array([seed])).step(steps)
    return best_of(repeats, loop) / (steps * runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"numpy {np.__version__}, {os.cpu_count()} cpus; best of {args.repeats}")
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
    print(f"{args.runs} seeds (Rosenbrock, random starts)  {'vectorized us/run-step':>22} {'looped us/run-step':>19} {'speed-up':>9}")
    loop_runs = max(1, min(args.runs, 50))  # the loop's cost per run-step does not depend on the count
    loop_steps = max(1, args.steps // 10)
    for name in OPTIMIZERS:
        fast = vectorized(name, args.runs, max(1, args.steps // 10), args.repeats)
        slow = looped(name, loop_runs, loop_steps, args.repeats)
        print(f"{name:<34} {fast * 1e6:22.3f} {slow * 1e6:19.2f} {slow / fast:8.0f}x")


if __name__ == "__main__":
    main()
