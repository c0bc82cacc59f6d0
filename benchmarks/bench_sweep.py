"""Benchmark: hyperparameter sweeps as one vectorized cohort (gdsim.engine.sweep).

In one run on one machine:
  1. A 200-point learning-rate sweep (log, 1e-3 to 10) of the moons MLP 2-16-16-1 (tanh, bce,
     batch 32, plain SGD), 1,000 steps each:
       a. gdsim's sweep: one (200, P) cohort with one lr per row;
       b. a loop of 200 single runs (one Cohort each, the same engine path `gdsim run` takes);
       c. PyTorch's batched form (when torch is importable): the 200 networks' weights stacked
          into (200, fan_in, fan_out) float64 tensors, forward with matmul, one backward for all,
          SGD with one lr per network (θ ← θ − η_r·g, torch.optim.SGD's rule), one thread.
     Targets: a >= 5x faster than b, and faster than c. Every network sees the same mini-batches
     (one seed), in gdsim and in torch alike. Whether a's rows equal b's runs bit for bit is printed.
  2. A 40 x 40 lr x momentum grid on the quadratic (condition 100), 500 steps: target < 1 s; for
     information, the same 1,600 settings as 1,600 single runs (the float fast path, scalar_step).

Usage (torch lives in a separate venv; gdsim never depends on it):
    flock /tmp/gdsim-bench.lock env PYTHONPATH=/path/to/gdsim python benchmarks/bench_sweep.py [--rounds 3]

Each figure is the best of several interleaved rounds, so a busy machine disturbs every side alike.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as the gdsim command sets it (gdsim/cli.py)

import numpy as np  # noqa: E402

from gdsim.engine.cohort import Cohort  # noqa: E402
from gdsim.engine.learning import make_dataset_problem  # noqa: E402
from gdsim.engine.optimizers import make_optimizer  # noqa: E402
from gdsim.engine.schedules import make_schedule  # noqa: E402
from gdsim.engine.simulation import RunInfo, Simulation  # noqa: E402
from gdsim.engine.surfaces import make_surface  # noqa: E402
from gdsim.engine.sweep import Axis, Sweep  # noqa: E402

SETTINGS = dict(dataset="moons", samples=300, noise=0.2, hidden=[16, 16], activation="tanh", loss="bce",
                batch_size=32)
SEED = 0


def gdsim_sweep(problem, lrs_axis: Axis, steps: int) -> tuple[float, Sweep]:
    start = problem.init_params(np.array([SEED]))[0]
    t0 = time.perf_counter()
    sweep = Sweep(problem, "sgd", {}, [lrs_axis], start, SEED)
    sweep.step(steps)
    return time.perf_counter() - t0, sweep


def gdsim_single_runs(problem, lrs: np.ndarray, steps: int) -> tuple[float, np.ndarray]:
    """One cohort per lr, stepped as Cohort.step steps a lone run; (seconds, final params (R, P))."""
    seeds = np.array([SEED])
    params0 = problem.init_params(seeds)
    finals = np.empty((len(lrs), problem.n_params))
    t0 = time.perf_counter()
    with np.errstate(all="ignore"):
        for r, lr in enumerate(lrs.tolist()):
            opt = make_optimizer("sgd", lr=lr)
            cohort = Cohort(problem, opt, make_schedule("constant", lr), params0, seeds, np.arange(1), bound=1e6)
            for k in range(steps):
                cohort.step(k)
            finals[r] = cohort.params[0]
    return time.perf_counter() - t0, finals


def torch_sweep(torch, problem, lrs: np.ndarray, steps: int, dtype) -> float:
    """Seconds for the same sweep in PyTorch's batched form (stacked weights, one backward)."""
    x, y = problem.split_points("train")
    runs = len(lrs)
    sizes = [2, *SETTINGS["hidden"], 1]
    gen = torch.Generator().manual_seed(0)
    weights, biases = [], []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = (6.0 / (fan_in + fan_out)) ** 0.5  # Xavier uniform, gdsim's default for tanh
        w = (torch.rand(1, fan_in, fan_out, generator=gen, dtype=dtype) * 2 - 1) * bound
        weights.append(w.repeat(runs, 1, 1).requires_grad_())  # every lr starts from the same network
        biases.append(torch.zeros(runs, 1, fan_out, dtype=dtype, requires_grad=True))
    lr = torch.tensor(lrs, dtype=dtype).reshape(runs, 1, 1)
    xt, yt = torch.tensor(x, dtype=dtype), torch.tensor(y, dtype=dtype)
    n, batch = len(x), SETTINGS["batch_size"]
    order, pos = torch.randperm(n, generator=gen), 0
    loss_fn = torch.nn.BCEWithLogitsLoss(reduction="none")
    params = [*weights, *biases]
    t0 = time.perf_counter()
    for _ in range(steps):
        if pos + batch > n:
            order, pos = torch.randperm(n, generator=gen), 0
        idx = order[pos:pos + batch]
        pos += batch
        h = xt[idx]  # (batch, 2): the same batch for every network, as in the gdsim sweep
        for layer, (w, b) in enumerate(zip(weights, biases)):
            h = torch.matmul(h, w) + b  # (runs, batch, out)
            if layer < len(weights) - 1:
                h = torch.tanh(h)
        loss = loss_fn(h.squeeze(-1), yt[idx].expand(runs, -1)).mean(dim=1).sum()
        for p in params:
            p.grad = None
        loss.backward()
        with torch.no_grad():
            for p in params:
                p.sub_(lr * p.grad)  # θ ← θ − η_r·g (torch.optim.SGD without momentum)
    return time.perf_counter() - t0


def part1(args, torch) -> None:
    problem = make_dataset_problem(**SETTINGS)
    axis = Axis("lr", 1e-3, 10.0, args.points, "log")
    lrs = axis.values
    steps = args.steps
    print(f"1) lr sweep, {args.points} values (log 1e-3..10) x {steps} steps, {problem.description}, "
          f"batch 32, sgd; best of {args.rounds} rounds")
    best = {"sweep": np.inf, "single": np.inf, "torch float64": np.inf}
    for _ in range(args.rounds):
        seconds, sweep = gdsim_sweep(problem, axis, steps)
        best["sweep"] = min(best["sweep"], seconds)
        seconds, finals = gdsim_single_runs(problem, lrs, steps)
        best["single"] = min(best["single"], seconds)
        if torch is not None:
            best["torch float64"] = min(best["torch float64"], torch_sweep(torch, problem, lrs, steps, torch.float64))
    same = finals.tobytes() == sweep.cohort.params.tobytes()
    diverged = int((sweep.cohort.diverged_at >= 0).sum())
    rs = args.points * steps
    print(f"   gdsim sweep (one cohort)   {rs / best['sweep']:10,.0f} run-steps/s ({best['sweep']:.2f} s)")
    print(f"   {args.points} single runs (a loop)   {rs / best['single']:10,.0f} run-steps/s ({best['single']:.2f} s)"
          f" -> sweep {best['single'] / best['sweep']:.1f}x faster (target >= 5x)")
    if torch is not None:
        theirs = best["torch float64"]
        print(f"   torch batched, float64     {rs / theirs:10,.0f} run-steps/s ({theirs:.2f} s)"
              f" -> sweep {theirs / best['sweep']:.2f}x as fast (target > 1x)")
    else:
        print("   torch not installed: the PyTorch comparison is skipped")
    print(f"   sweep rows = single runs, bit for bit: {same}; {diverged} of {args.points} lrs diverged")


def part2(args) -> None:
    problem = make_surface("quadratic", condition=100.0)
    start = np.array([-2.5, 1.5])
    axes = [Axis("lr", 1e-3, 0.1, 40, "log"), Axis("momentum", 0.0, 0.99, 40, "lin")]
    steps = 500
    print(f"2) lr x momentum grid, 40 x 40 on the quadratic (condition 100), {steps} steps; best of {args.rounds}")
    best_grid = best_single = np.inf
    for _ in range(args.rounds):
        t0 = time.perf_counter()
        sweep = Sweep(problem, "sgd", {}, axes, start, SEED)
        sweep.step(steps)
        result = sweep.result()
        best_grid = min(best_grid, time.perf_counter() - t0)
        if args.no_single:
            continue
        lrs, momenta = result.settings["lr"], result.settings["momentum"]
        t0 = time.perf_counter()
        finals = np.empty((len(lrs), 2))
        for r in range(len(lrs)):
            opt = make_optimizer("sgd", lr=float(lrs[r]), momentum=float(momenta[r]))
            cohort = Cohort(problem, opt, make_schedule("constant", float(lrs[r])), start[None], np.array([SEED]),
                            np.arange(1))
            sim = Simulation([cohort], [RunInfo("r", SEED, "r")], record=False)
            sim.step(steps)  # a lone 2-D run steps on Python floats (scalar_step)
            finals[r] = cohort.params[0]
        best_single = min(best_single, time.perf_counter() - t0)
    print(f"   grid (one cohort of 1,600)  {best_grid:.3f} s (target < 1 s); "
          f"{int(result.diverged.sum())} of 1,600 diverged")
    if not args.no_single:
        same = finals.tobytes() == sweep.cohort.params.tobytes()
        print(f"   1,600 single runs (floats)  {best_single:.3f} s -> grid {best_single / best_grid:.1f}x faster; "
              f"same bits: {same}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the best is kept")
    parser.add_argument("--points", type=int, default=200, help="lr values in part 1")
    parser.add_argument("--steps", type=int, default=1000, help="steps per run in part 1")
    parser.add_argument("--no-single", action="store_true", help="part 2 without the 1,600 single runs")
    args = parser.parse_args()
    try:
        import torch

        torch.set_num_threads(1)
        print(f"numpy {np.__version__}, torch {torch.__version__} (1 thread)")
    except ImportError:
        torch = None
        print(f"numpy {np.__version__}; torch not installed: gdsim's figures only")
    part1(args, torch)
    part2(args)


if __name__ == "__main__":
    main()
