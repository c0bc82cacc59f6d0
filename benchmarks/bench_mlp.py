"""Benchmark: training steps per second of an MLP 2-16-16-1 (tanh, bce, batch 32) on moons.

Compares, in one run on one machine:
  1. gdsim (loss_and_grad + optimizer update, one run) against the same model in PyTorch on the
     CPU with torch.set_num_threads(1), for SGD and Adam. PyTorch is optional: without it only
     gdsim's figures are printed. Torch runs in float64 like gdsim, and float32 (its default) too.
  2. 100 seeds vectorized in one (100, P) problem against 100 separate single-run loops; then,
     for information only, the same with relu (no exp) unless --no-info.
  3. The same 100 seeds against PyTorch's batched form of an ensemble (one thread): the 100
     networks' weights stacked into (100, fan_in, fan_out) tensors, forward and backward with
     torch.bmm, each network on its own mini-batch, one torch.optim step for all of them.
     float64 (gdsim's precision) and float32 (torch's default). This replaces the retired
     "100 seeds >= 20x faster than 100 single runs" target: the fair rival of a vectorized
     ensemble is another vectorized ensemble.

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


def torch_ensemble_loop(torch, x: np.ndarray, y: np.ndarray, runs: int, steps: int, dtype) -> float:
    """Seconds for `steps` Adam steps of `runs` stacked 2-16-16-1 tanh networks, each on its own batch."""
    torch.manual_seed(0)
    sizes = [2, *SETTINGS["hidden"], 1]
    weights, biases = [], []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = (6.0 / (fan_in + fan_out)) ** 0.5  # Xavier uniform, as gdsim's default init
        weights.append(((torch.rand(runs, fan_in, fan_out, dtype=dtype) * 2 - 1) * bound).requires_grad_())
        biases.append(torch.zeros(runs, 1, fan_out, dtype=dtype, requires_grad=True))
    opt = torch.optim.Adam([*weights, *biases], lr=LR["adam"])
    xt = torch.tensor(x, dtype=dtype)
    yt = torch.tensor(y, dtype=dtype)
    n, batch = len(x), SETTINGS["batch_size"]
    generator = torch.Generator().manual_seed(0)
    order, pos = torch.argsort(torch.rand(runs, n, generator=generator), dim=1), 0
    loss_fn = torch.nn.BCEWithLogitsLoss(reduction="none")
    start = time.perf_counter()
    for _ in range(steps):
        if pos >= n:
            order, pos = torch.argsort(torch.rand(runs, n, generator=generator), dim=1), 0
        idx = order[:, pos : pos + batch]  # (runs, batch): every network its own mini-batch
        pos += batch
        h = xt[idx]
        for layer, (w, b) in enumerate(zip(weights, biases)):
            h = torch.baddbmm(b, h, w)
            if layer < len(weights) - 1:
                h = torch.tanh(h)
        # Each network's loss is its own batch mean; summing them keeps the networks' gradients apart.
        loss = loss_fn(h.squeeze(-1), yt[idx]).mean(dim=1).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return time.perf_counter() - start


def ensemble_vs_torch(args, torch) -> None:
    problem = make_dataset_problem(**SETTINGS)
    x, y = problem.points
    runs, steps = args.seeds, args.seed_steps
    print(f"3) {runs} seeds x {steps} steps, tanh, adam: gdsim's ({runs}, {problem.n_params}) problem vs "
          f"PyTorch's batched ensemble (stacked weights, bmm, 1 thread), best of {args.rounds} rounds")
    best = {"gdsim": np.inf, "torch float64": np.inf, "torch float32": np.inf}
    for _ in range(args.rounds):
        best["gdsim"] = min(best["gdsim"], gdsim_loop(problem, np.arange(runs), steps, "adam")[0])
        best["torch float64"] = min(best["torch float64"],
                                    torch_ensemble_loop(torch, x, y, runs, steps, torch.float64))
        best["torch float32"] = min(best["torch float32"],
                                    torch_ensemble_loop(torch, x, y, runs, steps, torch.float32))
    ours = runs * steps / best["gdsim"]
    line = f"   gdsim {ours:9,.0f} run-steps/s ({best['gdsim']:.2f} s)"
    for key in ("torch float64", "torch float32"):
        theirs = runs * steps / best[key]
        line += f" | {key} {theirs:9,.0f} run-steps/s -> gdsim {ours / theirs:4.1f}x"
    print(line)


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
    if torch is not None and args.activation == "tanh":
        ensemble_vs_torch(args, torch)


if __name__ == "__main__":
    main()
