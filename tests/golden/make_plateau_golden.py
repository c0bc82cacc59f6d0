"""Makes the torch ReduceLROnPlateau reference data that gdsim's "plateau" schedule is tested against.

Run with a venv that has torch 2.13.0 (never a test or runtime dependency of gdsim):

    python3 -m venv /tmp/torchvenv && /tmp/torchvenv/bin/pip install torch==2.13.0 numpy
    /tmp/torchvenv/bin/python tests/golden/make_plateau_golden.py

It writes plateau_golden.json beside itself, with two kinds of case:
- metric cases: a fixed sequence of metrics (plateaus, ties, noise, NaN, negative values) handed
  to scheduler.step(metric) one by one; the lr after each step is recorded.
- trajectory cases: torch.optim.SGD on Rosenbrock from several starts, one optimizer and one
  scheduler per start (so each run has its own lr, as a gdsim cohort does), in gdsim's order:
  measure the loss at θ_k, scheduler.step(loss), then the update θ_k → θ_{k+1} with the lr it
  leaves. Gradients and losses are computed in NumPy by the functions the tests import too.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def rosenbrock_loss(p: np.ndarray) -> np.ndarray:
    x, y = p[:, 0], p[:, 1]
    r = y - x * x
    return (1.0 - x) * (1.0 - x) + 100.0 * (r * r)


def rosenbrock_grad(p: np.ndarray) -> np.ndarray:
    x, y = p[:, 0], p[:, 1]
    r = y - x * x
    return np.stack([-2.0 * (1.0 - x) - 400.0 * x * r, 200.0 * r], axis=1)


def _metrics() -> dict[str, list[float]]:
    rng = np.random.default_rng(13)
    noisy = (1.0 / np.sqrt(np.arange(1, 121)) + 0.05 * rng.standard_normal(120)).tolist()
    steps = [1.0] * 5 + [0.9] * 15 + [0.5] * 12 + [0.49995] * 8 + [0.3] * 20
    negative = (np.linspace(0.5, -2.0, 30).tolist() + [-2.0] * 25 + [-2.5, -2.4999] * 10)
    with_nan = [1.0, 0.8, float("nan"), 0.7, float("nan"), float("nan"), 0.7, 0.69, float("nan")] * 6
    return {"noisy": noisy, "steps": steps, "negative": negative, "with_nan": with_nan}


# (case id, base lr, settings as [schedule] takes them (name = "plateau" implied), metric sequence)
METRIC_CASES = [
    ("defaults_noisy", 0.1, {}, "noisy"),
    ("patience0_steps", 1.0, {"patience": 0, "factor": 0.5}, "steps"),
    ("patience2_cooldown3_noisy", 0.5, {"patience": 2, "cooldown": 3, "factor": 0.3}, "noisy"),
    ("abs_threshold_steps", 1.0, {"patience": 1, "threshold": 0.05, "threshold_mode": "abs"}, "steps"),
    ("rel_threshold_big_steps", 1.0, {"patience": 1, "threshold": 0.2, "factor": 0.5}, "steps"),
    ("min_lr_noisy", 1.0, {"patience": 1, "factor": 0.5, "min_lr": 0.05}, "noisy"),
    ("eps_blocks_small_cuts", 1e-6, {"patience": 0, "factor": 0.5, "eps": 1e-7}, "noisy"),
    ("negative_rel", 0.2, {"patience": 3, "factor": 0.5}, "negative"),
    ("negative_abs_cooldown", 0.2, {"patience": 1, "factor": 0.5, "threshold": 1e-3,
                                    "threshold_mode": "abs", "cooldown": 2}, "negative"),
    ("nan_metrics", 0.3, {"patience": 1, "factor": 0.7}, "with_nan"),
    ("factor0", 0.3, {"patience": 2, "factor": 0.0, "min_lr": 1e-3}, "steps"),
]

# (case id, base lr, settings, starts, steps)
TRAJECTORY_CASES = [
    ("rosenbrock_sgd", 1.5e-3, {"patience": 3, "factor": 0.5, "threshold": 1e-2},
     [[-1.2, 1.0], [0.0, 0.0], [1.5, 2.0]], 200),
    ("rosenbrock_sgd_cooldown_abs", 2e-3, {"patience": 2, "factor": 0.3, "threshold": 0.02,
                                           "threshold_mode": "abs", "cooldown": 5, "min_lr": 1e-5},
     [[-1.2, 1.0], [-0.5, 1.5]], 250),
]


def torch_plateau(opt, settings):
    from torch.optim.lr_scheduler import ReduceLROnPlateau

    return ReduceLROnPlateau(opt, mode="min", **settings)


def run_metric_case(lr, settings, metrics):
    import torch

    p = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([p], lr=lr)
    sched = torch_plateau(opt, settings)
    lrs = []
    for m in metrics:
        sched.step(m)
        lrs.append(opt.param_groups[0]["lr"])
    return lrs


def run_trajectory_case(lr, settings, starts, steps):
    import torch

    runs = []
    for start in starts:
        p = torch.tensor([start], dtype=torch.float64, requires_grad=True)
        opt = torch.optim.SGD([p], lr=lr, foreach=False)
        sched = torch_plateau(opt, settings)
        traj, lrs, losses = [p.detach().numpy()[0].copy()], [], []
        for _ in range(steps):
            now = p.detach().numpy().copy()
            loss = float(rosenbrock_loss(now)[0])
            losses.append(loss)
            sched.step(loss)
            lrs.append(opt.param_groups[0]["lr"])
            p.grad = torch.from_numpy(rosenbrock_grad(now))
            opt.step()
            traj.append(p.detach().numpy()[0].copy())
        runs.append({"params": np.stack(traj).tolist(), "lrs": lrs, "losses": losses})
    return runs


def main() -> None:
    import torch

    metrics = _metrics()
    metric_cases = [
        {"id": cid, "lr": lr, "settings": settings, "metrics": metrics[seq],
         "lrs": run_metric_case(lr, settings, metrics[seq])}
        for cid, lr, settings, seq in METRIC_CASES
    ]
    trajectory_cases = [
        {"id": cid, "lr": lr, "settings": settings, "starts": starts, "steps": steps,
         "runs": run_trajectory_case(lr, settings, starts, steps)}
        for cid, lr, settings, starts, steps in TRAJECTORY_CASES
    ]
    out = {"torch": torch.__version__, "metric_cases": metric_cases, "trajectory_cases": trajectory_cases}
    # NaN metrics are written as JSON's NaN (Python's json reads it back).
    (HERE / "plateau_golden.json").write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote plateau_golden.json: {len(metric_cases)} metric cases, {len(trajectory_cases)} trajectories")


if __name__ == "__main__":
    main()
