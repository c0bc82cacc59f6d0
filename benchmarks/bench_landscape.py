"""Benchmark: a 41x41 loss landscape of the moons MLP 2-16-16-1 (tanh, bce) on 210 training points.

Compares, in one run on one machine:
  1. gdsim.engine.landscape: the 1,681 grid points as one (1681, P) batch (blocks of rows) through
     the batched forward pass, for a random plane (filter-normalized directions), a PCA plane
     through a recorded path, and a 41-point line. Target: the plane in <= 0.5 s.
  2. The same plane as a loop over grid points: each point's parameter vector evaluated alone
     (the same forward pass and loss on one row), as a tool that evaluates one network at a time
     would. Both sides give the same losses bit for bit (checked here).

Usage (run it alone; on the shared machine under the lock):
    flock /tmp/gdsim-bench.lock python benchmarks/bench_landscape.py [--rounds 5]

Each figure is the best of several interleaved rounds, so a busy machine disturbs both sides alike.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as gdsim's command line sets it

import numpy as np  # noqa: E402

from gdsim.engine import landscape  # noqa: E402
from gdsim.engine.learning import make_dataset_problem  # noqa: E402
from gdsim.engine.optimizers import make_optimizer  # noqa: E402

GRID = 41


def trained(steps: int = 300):
    """The moons MLP [16, 16] after `steps` full-batch Adam steps, with its path (every 5th step)."""
    problem = make_dataset_problem(dataset="moons", samples=300, noise=0.2, hidden=[16, 16],
                                   activation="tanh", loss="bce")
    assert problem.n_train == 210, problem.n_train
    opt = make_optimizer("adam", lr=0.01)
    params = problem.init_params(np.array([0]))
    state = opt.init(params)
    path = [params[0].copy()]
    for k in range(steps):
        _, grad = problem.loss_and_grad(params, None)
        params, state = opt.update(grad, state, params, 0.01)
        if (k + 1) % 5 == 0:
            path.append(params[0].copy())
    return problem, np.array(path)


def loop_plane(problem, centre, d1, d2, axis) -> np.ndarray:
    out = np.empty((len(axis), len(axis)))
    for j, b in enumerate(axis):
        for i, a in enumerate(axis):
            point = centre + a * d1 + b * d2
            out[j, i] = landscape.evaluate_points(problem, point[None])[0]
    return out


def best(fn, rounds: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(rounds):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    problem, path = trained()
    centre = path[-1]
    print(f"moons MLP 2-16-16-1 tanh, bce: {problem.n_params} parameters, {problem.n_train} training points, "
          f"{GRID}x{GRID} = {GRID * GRID} grid points; best of {args.rounds} rounds")
    d1, d2 = landscape.random_directions(problem, centre, seed=0)
    axis, _ = landscape.centred_axis(-1.0, 1.0, GRID)
    batch_times, loop_times = [], []
    batch = looped = None
    for _ in range(args.rounds):  # interleaved: a busy moment slows both sides alike
        start = time.perf_counter()
        batch = landscape.random_plane(problem, centre, n=GRID, seed=0)
        batch_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        looped = loop_plane(problem, centre, d1, d2, axis)
        loop_times.append(time.perf_counter() - start)
    same = np.array_equal(batch.loss, looped)
    t_batch, t_loop = min(batch_times), min(loop_times)
    print(f"random plane, one batch:       {t_batch:.3f} s  (target <= 0.5 s: {'met' if t_batch <= 0.5 else 'MISSED'})")
    print(f"random plane, loop of points:  {t_loop:.3f} s  ({t_loop / t_batch:.1f}x slower; "
          f"same losses bit for bit: {same})")
    t_pca, pca = best(lambda: landscape.pca_plane(problem, path, n=GRID), args.rounds)
    print(f"pca plane through {len(path)} recorded points, one batch: {t_pca:.3f} s "
          f"(the plane holds {100 * pca.variance:.1f}% of the path's variance)")
    t_line, _ = best(lambda: landscape.line(problem, path[0], centre, n=GRID), args.rounds)
    print(f"line of {GRID} points, one batch: {1000 * t_line:.1f} ms")


if __name__ == "__main__":
    main()
