"""Make the end-to-end golden file: whole scenarios run in torch.optim, float64.

Run once with torch installed (never in CI):
    python tests/golden/make_run_golden.py
It writes tests/data/golden/*.toml (hand-written scenarios covering every optimizer and
schedule through the scenario format) and tests/golden/run_golden.json (their trajectories as
torch.optim + autograd compute them). tests/test_run_golden.py replays the scenarios through
`gdsim run --format jsonl` and demands agreement to 1e-9 relative.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch

torch.set_default_dtype(torch.float64)
HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "data" / "golden"

SURFACES = {
    "rosenbrock": lambda x, y: (1 - x) ** 2 + 100 * (y - x * x) ** 2,
    "himmelblau": lambda x, y: (x * x + y - 11) ** 2 + (x + y * y - 7) ** 2,
    "beale": lambda x, y: (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2,
    "rastrigin": lambda x, y: 20 + x * x - 10 * torch.cos(2 * math.pi * x) + y * y - 10 * torch.cos(2 * math.pi * y),
    "expression": lambda x, y: x**2 + 3 * torch.sin(y) + 0.1 * y**2,
}
EXPRESSION = "x**2 + 3*sin(y) + 0.1*y**2"

# (file id, surface, steps, [(label, start, optimizer dict, schedule dict or None)])
CASES = [
    ("sgd-family", "rosenbrock", 120, [
        ("plain", (-1.5, 2.0), {"name": "sgd", "lr": 1e-3}, None),
        ("momentum", (-1.2, 1.0), {"name": "sgd", "lr": 5e-4, "momentum": 0.9}, {"name": "step", "step_size": 30, "gamma": 0.5}),
        ("dampened", (0.5, -0.5), {"name": "sgd", "lr": 1e-3, "momentum": 0.8, "dampening": 0.3, "weight_decay": 0.01}, None),
        ("nesterov", (-0.5, 1.5), {"name": "sgd", "lr": 5e-4, "momentum": 0.9, "nesterov": True}, {"name": "exponential", "gamma": 0.99}),
    ]),
    ("adam-family", "beale", 150, [
        ("adam", (1.0, 1.5), {"name": "adam", "lr": 0.05}, {"name": "cosine", "t_max": 100, "eta_min": 0.001, "warmup": 10, "warmup_start_factor": 0.2}),
        ("amsgrad", (-1.0, -1.0), {"name": "adam", "lr": 0.02, "betas": [0.8, 0.99], "amsgrad": True, "weight_decay": 0.01}, None),
        ("adamw", (2.0, 2.0), {"name": "adamw", "lr": 0.01, "weight_decay": 0.1, "eps": 1e-6}, {"name": "step", "step_size": 40, "gamma": 0.3, "warmup": 5}),
    ]),
    ("adaptive", "himmelblau", 150, [
        ("rmsprop", (0.0, 0.0), {"name": "rmsprop", "lr": 0.01}, None),
        ("rmsprop centered", (-1.0, 1.0), {"name": "rmsprop", "lr": 0.01, "alpha": 0.9, "centered": True, "momentum": 0.5, "weight_decay": 0.001}, {"name": "exponential", "gamma": 0.995}),
        ("adagrad", (1.0, -1.0), {"name": "adagrad", "lr": 0.5, "lr_decay": 0.01, "initial_accumulator_value": 0.1}, None),
        ("adagrad wd", (-3.0, -3.0), {"name": "adagrad", "lr": 0.3, "weight_decay": 0.05, "eps": 1e-8}, {"name": "cosine", "t_max": 50}),
    ]),
    ("rugged", "rastrigin", 100, [
        ("sgd", (0.7, -1.3), {"name": "sgd", "lr": 0.002, "momentum": 0.5}, None),
        ("adam", (2.2, 1.4), {"name": "adam", "lr": 0.05, "betas": [0.95, 0.9]}, {"name": "step", "step_size": 25, "gamma": 0.5}),
    ]),
    ("expression", "expression", 100, [
        ("sgd", (2.0, 1.0), {"name": "sgd", "lr": 0.05, "momentum": 0.7}, None),
        ("rmsprop", (-2.0, -1.0), {"name": "rmsprop", "lr": 0.02, "momentum": 0.3}, {"name": "cosine", "t_max": 80, "eta_min": 0.001, "warmup": 8}),
    ]),
]

OPTIMIZERS = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW,
              "rmsprop": torch.optim.RMSprop, "adagrad": torch.optim.Adagrad}


def torch_schedule(opt, schedule):
    from torch.optim import lr_scheduler as S

    if schedule is None:
        return None
    name = schedule["name"]
    main = {
        "step": lambda: S.StepLR(opt, step_size=schedule["step_size"], gamma=schedule["gamma"]),
        "exponential": lambda: S.ExponentialLR(opt, gamma=schedule["gamma"]),
        "cosine": lambda: S.CosineAnnealingLR(opt, T_max=schedule["t_max"], eta_min=schedule.get("eta_min", 0.0)),
    }
    warmup = schedule.get("warmup", 0)
    if not warmup:
        return main[name]()
    linear = S.LinearLR(opt, start_factor=schedule.get("warmup_start_factor", 1 / 3), total_iters=warmup)
    return S.SequentialLR(opt, [linear, main[name]()], milestones=[warmup])


def trajectory(surface, start, optimizer, schedule, steps):
    f = SURFACES[surface]
    p = torch.tensor(start, requires_grad=True)
    hyper = {k: (tuple(v) if k == "betas" else v) for k, v in optimizer.items() if k != "name"}
    opt = OPTIMIZERS[optimizer["name"]]([p], **hyper)
    sched = torch_schedule(opt, schedule)
    params, losses, lrs = [], [], []
    for _ in range(steps + 1):
        opt.zero_grad()
        loss = f(p[0], p[1])
        loss.backward()
        params.append(p.detach().tolist())
        losses.append(loss.item())
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        if sched is not None:
            sched.step()
    return {"params": params, "loss": losses, "lr": lrs}


def toml_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return repr(value)


def inline(table):
    return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in table.items()) + " }"


def scenario_toml(case_id, surface, steps, runs):
    problem = f'expression = "{EXPRESSION}"\nview = [-3.0, 3.0, -3.0, 3.0]' if surface == "expression" else f'surface = "{surface}"'
    lines = [
        "# Generated by tests/golden/make_run_golden.py: replayed against torch.optim in tests/test_run_golden.py",
        "[scenario]", f'title = "golden {case_id}"', 'claim = "gdsim agrees with torch.optim."',
        f"steps = {steps}", "", "[problem]", problem, "bound = 1e12", "",
    ]
    for label, start, optimizer, schedule in runs:
        lines += ["[[runs]]", f'label = "{label}"', f"start = {toml_value(list(start))}",
                  f"optimizer = {inline(optimizer)}"]
        if schedule:
            lines.append(f"schedule = {inline(schedule)}")
        lines.append("")
    return "\n".join(lines)


def main():
    DATA.mkdir(parents=True, exist_ok=True)
    golden = {"torch": torch.__version__, "cases": {}}
    for case_id, surface, steps, runs in CASES:
        (DATA / f"{case_id}.toml").write_text(scenario_toml(case_id, surface, steps, runs))
        golden["cases"][case_id] = {
            label: trajectory(surface, start, optimizer, schedule, steps)
            for label, start, optimizer, schedule in runs
        }
    (HERE / "run_golden.json").write_text(json.dumps(golden))
    print(f"wrote {len(CASES)} scenarios and run_golden.json with torch {torch.__version__}")


if __name__ == "__main__":
    main()
