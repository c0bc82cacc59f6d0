"""Makes the torch.optim reference trajectories and lr sequences that gdsim's optimizers are tested against.

Run with a venv that has torch 2.13.0 (never a test or runtime dependency of gdsim):

    python3 -m venv /tmp/torchvenv && /tmp/torchvenv/bin/pip install torch==2.13.0 numpy
    /tmp/torchvenv/bin/python tests/golden/make_optim_golden.py

It writes optim_trajectories.json and optim_schedules.json beside itself. Gradients are computed
here in NumPy by the functions below (the tests import the same functions from this file), and
handed to torch as p.grad, so torch and gdsim see bit-identical gradients and any difference
comes from the optimizer arithmetic alone. Everything is float64; torch's single-tensor code
path is forced with foreach=False.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

# ---- test functions: (R, 2) -> (R, 2) gradients, written elementwise (no BLAS, no FMA) ----

# Rotated ill-conditioned quadratic 0.5 (θ - c)ᵀ A (θ - c): eigenvalues 1 and 10, axes at 30°.
_C, _S = math.cos(math.pi / 6), math.sin(math.pi / 6)
QUAD_A = ((_C * _C * 1.0 + _S * _S * 10.0, _C * _S * (1.0 - 10.0)),
          (_C * _S * (1.0 - 10.0), _S * _S * 1.0 + _C * _C * 10.0))
QUAD_CENTER = (1.0, -0.5)


def rosenbrock_grad(p: np.ndarray) -> np.ndarray:
    x, y = p[:, 0], p[:, 1]
    r = y - x * x
    return np.stack([-2.0 * (1.0 - x) - 400.0 * x * r, 200.0 * r], axis=1)


def quadratic_grad(p: np.ndarray) -> np.ndarray:
    d0, d1 = p[:, 0] - QUAD_CENTER[0], p[:, 1] - QUAD_CENTER[1]
    (a, b), (c, d) = QUAD_A
    return np.stack([a * d0 + b * d1, c * d0 + d * d1], axis=1)


def beale_grad(p: np.ndarray) -> np.ndarray:
    x, y = p[:, 0], p[:, 1]
    y2 = y * y
    y3 = y2 * y
    t1 = 1.5 - x + x * y
    t2 = 2.25 - x + x * y2
    t3 = 2.625 - x + x * y3
    dx = 2.0 * t1 * (y - 1.0) + 2.0 * t2 * (y2 - 1.0) + 2.0 * t3 * (y3 - 1.0)
    dy = 2.0 * t1 * x + 2.0 * t2 * (2.0 * x * y) + 2.0 * t3 * (3.0 * x * y2)
    return np.stack([dx, dy], axis=1)


GRADS = {"rosenbrock": rosenbrock_grad, "quadratic": quadratic_grad, "beale": beale_grad}

ROSEN = [[-1.2, 1.0]]
QUAD = [[-2.0, 1.5]]
BEALE = [[1.0, 1.5]]

# (case id, optimizer, hyper, function, starts, steps, schedule or None)
OPTIM_CASES = [
    ("sgd_default", "sgd", {}, "beale", BEALE, 100, None),
    ("sgd_plain", "sgd", {"lr": 1e-3}, "rosenbrock", ROSEN, 150, None),
    ("sgd_momentum", "sgd", {"lr": 5e-4, "momentum": 0.9}, "rosenbrock", ROSEN, 150, None),
    ("sgd_dampening", "sgd", {"lr": 0.05, "momentum": 0.9, "dampening": 0.5}, "quadratic", QUAD, 100, None),
    ("sgd_nesterov", "sgd", {"lr": 0.05, "momentum": 0.9, "nesterov": True}, "quadratic", QUAD, 100, None),
    ("sgd_weight_decay", "sgd", {"lr": 1e-2, "momentum": 0.5, "weight_decay": 0.1}, "beale", BEALE,
     100, None),
    ("adagrad_default", "adagrad", {}, "quadratic", QUAD, 100, None),
    ("adagrad_rosen", "adagrad", {"lr": 0.5}, "rosenbrock", ROSEN, 150, None),
    ("adagrad_decay_init", "adagrad",
     {"lr": 0.5, "lr_decay": 0.01, "initial_accumulator_value": 0.1}, "quadratic", QUAD, 100, None),
    ("adagrad_weight_decay", "adagrad", {"lr": 0.1, "weight_decay": 0.1, "eps": 1e-6}, "beale", BEALE,
     100, None),
    ("rmsprop_plain", "rmsprop", {"lr": 1e-2}, "rosenbrock", ROSEN, 150, None),
    ("rmsprop_momentum", "rmsprop", {"lr": 1e-3, "momentum": 0.9}, "quadratic", QUAD, 100, None),
    ("rmsprop_centered", "rmsprop", {"lr": 1e-2, "centered": True}, "beale", BEALE, 100, None),
    ("rmsprop_centered_momentum_wd", "rmsprop",
     {"lr": 5e-3, "alpha": 0.9, "momentum": 0.5, "centered": True, "weight_decay": 0.05},
     "rosenbrock", ROSEN, 150, None),
    ("rmsprop_low_alpha", "rmsprop", {"lr": 1e-2, "alpha": 0.3, "centered": True, "eps": 1e-4},
     "quadratic", QUAD, 100, None),
    ("adam_default", "adam", {}, "beale", BEALE, 100, None),
    ("adam_plain", "adam", {"lr": 0.05}, "rosenbrock", ROSEN, 200, None),
    ("adam_amsgrad", "adam", {"lr": 0.1, "amsgrad": True}, "beale", BEALE, 100, None),
    ("adam_weight_decay", "adam", {"lr": 0.05, "weight_decay": 0.1}, "quadratic", QUAD, 100, None),
    ("adam_low_betas", "adam", {"lr": 0.02, "betas": (0.3, 0.5), "eps": 1e-6}, "quadratic", QUAD, 100, None),
    ("adamw_default", "adamw", {"lr": 0.05}, "rosenbrock", ROSEN, 200, None),
    ("adamw_amsgrad", "adamw", {"lr": 0.05, "weight_decay": 0.1, "amsgrad": True}, "quadratic", QUAD,
     100, None),
    # Several starts at once: one (R, 2) tensor, as gdsim holds them (R*P >= 8 also takes
    # torch's vectorized kernels).
    ("multi_adam", "adam", {"lr": 0.05}, "rosenbrock",
     [[-1.2, 1.0], [0.0, 0.0], [1.5, 2.0], [-0.5, -0.5], [2.0, 3.0]], 120, None),
    ("multi_sgd_nesterov", "sgd", {"lr": 0.02, "momentum": 0.8, "nesterov": True}, "quadratic",
     [[-2.0, 1.5], [3.0, 3.0], [0.0, -4.0], [1.0, -0.5]], 100, None),
    ("multi_rmsprop", "rmsprop", {"lr": 1e-2, "momentum": 0.3, "centered": True}, "beale",
     [[1.0, 1.5], [2.0, 0.0], [-1.0, 1.0], [3.5, 0.2]], 100, None),
    # Option paths the cases above leave out (session 5 review): each term of torch's update
    # with the others that share its lines (weight decay without momentum, under Nesterov, with
    # lr_decay, in plain and momentum RMSprop, with AMSGrad's max), and AdamW/Adagrad on several rows.
    ("sgd_weight_decay_plain", "sgd", {"lr": 1e-2, "weight_decay": 0.1}, "beale", BEALE, 100, None),
    ("sgd_nesterov_weight_decay", "sgd", {"lr": 0.02, "momentum": 0.9, "nesterov": True, "weight_decay": 0.05},
     "quadratic", QUAD, 100, None),
    ("adagrad_decay_weight_decay", "adagrad", {"lr": 0.3, "lr_decay": 0.01, "weight_decay": 0.1},
     "rosenbrock", ROSEN, 150, None),
    ("rmsprop_weight_decay", "rmsprop", {"lr": 1e-2, "weight_decay": 0.1}, "quadratic", QUAD, 100, None),
    ("rmsprop_momentum_weight_decay", "rmsprop", {"lr": 1e-3, "momentum": 0.9, "weight_decay": 0.05},
     "beale", BEALE, 100, None),
    ("adam_amsgrad_weight_decay", "adam", {"lr": 0.05, "amsgrad": True, "weight_decay": 0.1}, "rosenbrock",
     ROSEN, 150, None),
    ("multi_adamw", "adamw", {"lr": 0.05, "weight_decay": 0.05}, "beale",
     [[1.0, 1.5], [2.0, 0.0], [-1.0, 1.0], [3.5, 0.2]], 100, None),
    # (on the quadratic: on Rosenbrock from (0, 0) a last-bit difference of torch's vectorized kernel at
    # step 2, 5.6e-17, grew to 3.8e-3 by step 100; a golden must not depend on which kernel ran)
    ("multi_adagrad", "adagrad", {"lr": 0.5, "initial_accumulator_value": 0.1}, "quadratic",
     [[-2.0, 1.5], [3.0, 3.0], [0.0, -4.0], [1.0, -0.5]], 100, None),
    # With a schedule stepped after every optimizer step.
    ("sched_sgd_step", "sgd", {"lr": 0.05, "momentum": 0.9}, "quadratic", QUAD, 100,
     {"name": "step", "step_size": 20, "gamma": 0.5}),
    ("sched_adam_cosine_warmup", "adam", {"lr": 0.1}, "beale", BEALE, 100,
     {"name": "cosine", "t_max": 60, "eta_min": 1e-3, "warmup": 10, "warmup_start_factor": 0.1}),
    ("sched_rmsprop_exp", "rmsprop", {"lr": 2e-2}, "rosenbrock", ROSEN, 100,
     {"name": "exponential", "gamma": 0.97, "warmup": 5}),
]

# (case id, base lr, schedule settings as make_schedule takes them, number of scheduler steps)
SCHEDULE_CASES = [
    ("step_10_half", 0.1, {"name": "step", "step_size": 10, "gamma": 0.5}, 60),
    ("step_7_default_gamma", 1.0, {"name": "step", "step_size": 7}, 40),
    ("step_warmup", 0.2, {"name": "step", "step_size": 10, "gamma": 0.5, "warmup": 5,
                          "warmup_start_factor": 0.1}, 60),
    ("exponential_095", 0.1, {"name": "exponential", "gamma": 0.95}, 80),
    ("exponential_warmup", 0.3, {"name": "exponential", "gamma": 0.9, "warmup": 3}, 40),
    ("cosine_20", 0.1, {"name": "cosine", "t_max": 20}, 70),
    ("cosine_15_eta_min", 0.5, {"name": "cosine", "t_max": 15, "eta_min": 0.01}, 50),
    ("cosine_warmup", 0.1, {"name": "cosine", "t_max": 30, "eta_min": 1e-3, "warmup": 5,
                            "warmup_start_factor": 0.25}, 60),
    ("constant_warmup", 0.05, {"name": "constant", "warmup": 8, "warmup_start_factor": 0.5}, 20),
]


def torch_optimizer(name, params, hyper):
    import torch

    cls = {"sgd": torch.optim.SGD, "adagrad": torch.optim.Adagrad, "rmsprop": torch.optim.RMSprop,
           "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[name]
    return cls(params, foreach=False, **hyper)


def torch_scheduler(opt, settings):
    """The torch scheduler gdsim's make_schedule(**settings) claims to reproduce."""
    from torch.optim import lr_scheduler as ls

    s = dict(settings)
    name = s.pop("name")
    warmup = s.pop("warmup", 0)
    factor = s.pop("warmup_start_factor", 1 / 3)
    schedulers = []
    if warmup:
        schedulers.append(ls.LinearLR(opt, start_factor=factor, end_factor=1.0, total_iters=warmup))
    if name == "step":
        schedulers.append(ls.StepLR(opt, step_size=s["step_size"], gamma=s.get("gamma", 0.1)))
    elif name == "exponential":
        schedulers.append(ls.ExponentialLR(opt, gamma=s["gamma"]))
    elif name == "cosine":
        schedulers.append(ls.CosineAnnealingLR(opt, T_max=s["t_max"], eta_min=s.get("eta_min", 0.0)))
    if not schedulers:
        return None  # constant without warmup: no scheduler at all
    if len(schedulers) == 1:
        return schedulers[0]
    return ls.SequentialLR(opt, schedulers, milestones=[warmup])


def torch_defaults() -> dict:
    """Each torch optimizer's defaults for the hyperparameters gdsim exposes."""
    import torch

    keep = {"lr", "momentum", "dampening", "weight_decay", "nesterov", "lr_decay", "eps",
            "initial_accumulator_value", "alpha", "centered", "betas", "amsgrad"}
    p = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    out = {}
    for name in ("sgd", "adagrad", "rmsprop", "adam", "adamw"):
        defaults = torch_optimizer(name, [p], {}).defaults
        out[name] = {k: v for k, v in defaults.items() if k in keep}
    return out


def run_optim_case(name, hyper, fn, starts, steps, schedule):
    import torch

    p = torch.tensor(np.array(starts, dtype=np.float64), dtype=torch.float64, requires_grad=True)
    opt = torch_optimizer(name, [p], hyper)
    sched = torch_scheduler(opt, schedule) if schedule else None
    traj = [p.detach().numpy().copy()]
    lrs = []
    for _ in range(steps):
        lrs.append(opt.param_groups[0]["lr"])
        p.grad = torch.from_numpy(GRADS[fn](p.detach().numpy().copy()))
        opt.step()
        if sched is not None:
            sched.step()
        traj.append(p.detach().numpy().copy())
    return np.stack(traj), lrs


def run_schedule_case(lr, settings, steps):
    import torch

    p = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([p], lr=lr)
    sched = torch_scheduler(opt, settings)
    lrs = [opt.param_groups[0]["lr"]]
    for _ in range(steps):
        p.grad = torch.zeros(1, dtype=torch.float64)
        opt.step()
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    return lrs


def main() -> None:
    import torch

    optim = {"torch": torch.__version__, "defaults": torch_defaults(), "cases": []}
    for case_id, name, hyper, fn, starts, steps, schedule in OPTIM_CASES:
        traj, lrs = run_optim_case(name, hyper, fn, starts, steps, schedule)
        optim["cases"].append({
            "id": case_id, "optimizer": name, "hyper": hyper, "function": fn, "schedule": schedule,
            "lrs": lrs, "trajectory": traj.tolist(),
        })
    scheds = {"torch": torch.__version__, "cases": []}
    for case_id, lr, settings, steps in SCHEDULE_CASES:
        scheds["cases"].append({"id": case_id, "lr": lr, "settings": settings,
                                "lrs": run_schedule_case(lr, settings, steps)})
    (HERE / "optim_trajectories.json").write_text(json.dumps(optim, separators=(",", ":")) + "\n")
    (HERE / "optim_schedules.json").write_text(json.dumps(scheds, indent=1) + "\n")
    print(f"{len(optim['cases'])} optimizer cases, {len(scheds['cases'])} schedule cases")


if __name__ == "__main__":
    main()
