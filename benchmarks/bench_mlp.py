"""Benchmark: training steps per second of an MLP 2-16-16-1 (tanh, bce, batch 32) on moons.

Compares, in one run on one machine:
  1. gdsim (loss_and_grad + optimizer update, one run) against the same model in PyTorch on the
     CPU with torch.set_num_threads(1), for SGD and Adam. PyTorch is optional: without it only
     gdsim's figures are printed. Torch runs in float64 like gdsim, and float32 (its default) too.
  2. 100 seeds vectorized in one (100, P) problem against 100 separate single-run loops; then,
     for information only, the same with relu (no exp) unless --no-info.

Usage (torch lives in a separate venv; gdsim never depends on it):
    PYTHONPATH=/path/to/gdsim python benchmarks/bench_mlp.py [--steps 2000] [--rounds 5]

Each figure is the best of several interleaved rounds, so a busy machine disturbs both sides alike.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from gdsim.engine.learning import make_dataset_problem
from gdsim.engine.optimizers import make_optimizer

LR = {"sgd": 0.1, "adam": 0.01}
SETTINGS = dict(dataset="moons", samples=300, noise=0.2, hidden=[16, 16], activation="tanh", loss="bce",
                batch_size=32)


def gdsim_loop(problem, seeds, steps: int, optimizer: str) -> tuple[float, np.ndarray]:
    """Seconds for `steps` steps of len(seeds) runs at once, and the final parameters."""
    opt = make_optimizer(optimizer, lr=LR[optimizer])
    params = problem.init_params(seeds)
    state = opt.init(params)
    sampler = problem.sampler(seeds)
    lr = LR[optimizer]
    start = time.perf_counter()
    for _ in range(steps):
        _, grad = problem.loss_and_grad(params, sampler.next())
        params, state = opt.update(grad, state, params, lr)
    return time.perf_counter() - start, params


def torch_loop(torch, x: np.ndarray, y: np.ndarray, steps: int, optimizer: str, dtype) -> float:
    """Seconds for `steps` steps of the same model, data, batch size and optimizer in PyTorch."""
    nn = torch.nn
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 1)).to(dtype)
    xt = torch.tensor(x, dtype=dtype)
    yt = torch.tensor(y, dtype=dtype).reshape(-1, 1)
    make = torch.optim.SGD if optimizer == "sgd" else torch.optim.Adam
    opt = make(model.parameters(), lr=LR[optimizer])
    loss_fn = nn.BCEWithLogitsLoss()
    n, batch = len(x), SETTINGS["batch_size"]
    generator = torch.Generator().manual_seed(0)
    order, pos = torch.randperm(n, generator=generator), 0
    start = time.perf_counter()
    for _ in range(steps):
        if pos >= n:
            order, pos = torch.randperm(n, generator=generator), 0
        idx = order[pos : pos + batch]
        pos += batch
        opt.zero_grad()
        loss = loss_fn(model(xt[idx]), yt[idx])
        loss.backward()
        opt.step()
    return time.perf_counter() - start


def single_run(args, torch) -> None:
    problem = make_dataset_problem(**SETTINGS)
    x, y = problem.points
    print(f"1) one run, {problem.description}, batch 32, {args.steps} steps, best of {args.rounds} rounds")
    for optimizer in ("sgd", "adam"):
        best: dict[str, float] = {}
        for _ in range(args.rounds):
            timings = {"gdsim": gdsim_loop(problem, np.array([0]), args.steps, optimizer)[0]}
            if torch is not None:
                timings["torch float64"] = torch_loop(torch, x, y, args.steps, optimizer, torch.float64)
                timings["torch float32"] = torch_loop(torch, x, y, args.steps, optimizer, torch.float32)
            for key, seconds in timings.items():
                best[key] = min(best.get(key, np.inf), seconds)
        ours = args.steps / best["gdsim"]
        line = f"   {optimizer:5s} gdsim {ours:9,.0f} steps/s ({1e6 / ours:6.1f} us/step)"
        for key in ("torch float64", "torch float32"):
            if key in best:
                theirs = args.steps / best[key]
                line += f" | {key} {theirs:8,.0f} steps/s -> gdsim {ours / theirs:4.1f}x"
        print(line)


def many_seeds(args, activation: str, label: str = "") -> None:
    problem = make_dataset_problem(**{**SETTINGS, "activation": activation})
    runs, steps = args.seeds, args.seed_steps
    seeds = np.arange(runs)
    print(f"2) {runs} seeds x {steps} steps, {activation}, adam: one ({runs}, {problem.n_params}) problem vs {runs} "
          f"separate single-run loops, best of {args.rounds} rounds{label}")
    best_vec = best_sep = np.inf
    for _ in range(args.rounds):
        seconds, vec_params = gdsim_loop(problem, seeds, steps, "adam")
        best_vec = min(best_vec, seconds)
        total, rows = 0.0, []
        for seed in seeds:
            seconds, params = gdsim_loop(problem, np.array([seed]), steps, "adam")
            total += seconds
            rows.append(params[0])
        best_sep = min(best_sep, total)
    same = np.allclose(np.array(rows), vec_params, rtol=1e-9, atol=1e-12)
    print(f"   vectorized {runs * steps / best_vec:9,.0f} run-steps/s ({best_vec:.2f} s) | separate "
          f"{runs * steps / best_sep:9,.0f} run-steps/s ({best_sep:.2f} s) -> vectorized "
          f"{best_sep / best_vec:4.1f}x faster; same final parameters: {same}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000, help="steps per timing (part 1)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds; the best is kept")
    parser.add_argument("--seeds", type=int, default=100, help="runs in part 2")
    parser.add_argument("--seed-steps", type=int, default=200, help="steps per run in part 2")
    parser.add_argument("--activation", default="tanh", help="hidden activation in part 2 (tanh, relu, ...)")
    parser.add_argument("--only-seeds", action="store_true", help="skip part 1")
    parser.add_argument("--no-info", action="store_true",
                        help="skip part 2's extra line for information (the same with relu)")
    args = parser.parse_args()
    try:
        import torch

        torch.set_num_threads(1)
        print(f"numpy {np.__version__}, torch {torch.__version__} (1 thread)")
    except ImportError:
        torch = None
        print(f"numpy {np.__version__}; torch is not importable: only gdsim's figures are printed")
    if not args.only_seeds:
        single_run(args, torch)
    many_seeds(args, args.activation)
    if not args.no_info and args.activation != "relu":
        # Not the target: relu needs no exp, the largest per-value cost of a tanh step (np.exp
        # took about 8 ns per float64 value on the reference machine, a multiply 0.4 ns), so
        # this line shows what the rest of the step costs.
        many_seeds(args, "relu", " (for information only: relu instead of tanh)")


if __name__ == "__main__":
    main()
