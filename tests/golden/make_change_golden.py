"""Make the golden file for changes at step k: whole scenarios with [[runs.changes]], run in torch.

Run once with torch installed (never in CI; torch is not a test or runtime dependency):
    PYTHONPATH=. /work/venvs/torch/bin/python tests/golden/make_change_golden.py
It writes tests/data/golden/changes-*.toml and tests/golden/change_golden.json; tests/test_change_golden.py
replays the scenarios through `gdsim run --format jsonl` (and the same changes given as `--at`) and
demands agreement to 1e-9 relative.

How each change is made in torch, at the top of iteration k (before the gradient of step k):
- a hyperparameter of the same optimizer: `opt.param_groups[0][key] = value` (state kept: the
  momentum buffer, Adam's moments and step count);
- another optimizer: a new torch optimizer object on the same parameter (fresh state);
- a schedule: the new scheduler is built at step 0 on a stand-in optimizer with the run's base lr
  and stepped every iteration; from step k its lr is written into the real param group, i.e. the
  new schedule continues at the global step count (gdsim's schedules are closed forms of it);
- a new lr under the same optimizer and schedule: `param_groups[0]["lr"] = value` under the
  running scheduler (the stand-in's group if the schedule was replaced), which goes on from it;
  ReduceLROnPlateau is stepped with the loss of step k before the update of step k.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_run_golden import DATA, HERE, OPTIMIZERS, SURFACES, inline, toml_value, torch_schedule  # noqa: E402

torch.set_default_dtype(torch.float64)

# (file id, surface, steps, [(label, start, optimizer, schedule or None, {step: {dotted key: value}})])
CASES = [
    ("changes-sgd", "rosenbrock", 150, [
        ("lr drop", (-1.2, 1.0), {"name": "sgd", "lr": 5e-4, "momentum": 0.9}, None,
         {60: {"optimizer.lr": 2e-4}, 110: {"optimizer.lr": 1e-3}}),
        ("momentum", (-0.5, 1.5), {"name": "sgd", "lr": 1e-3}, None,
         {40: {"optimizer.momentum": 0.9}, 80: {"optimizer.momentum": 0.0}, 100: {"optimizer.momentum": 0.5}}),
        ("dampening nesterov", (0.5, -0.5), {"name": "sgd", "lr": 5e-4, "momentum": 0.9}, None,
         {30: {"optimizer.dampening": 0.3}, 70: {"optimizer.dampening": 0.0, "optimizer.nesterov": True}}),
        ("weight decay", (-1.5, 2.0), {"name": "sgd", "lr": 1e-3, "momentum": 0.5}, None,
         {50: {"optimizer.weight_decay": 0.1}, 100: {"optimizer.weight_decay": 0.0}}),
    ]),
    ("changes-adam", "beale", 150, [
        ("lr betas", (1.0, 1.5), {"name": "adam", "lr": 0.05}, None,
         {60: {"optimizer.lr": 0.01, "optimizer.betas": [0.5, 0.9]}, 100: {"optimizer.eps": 1e-4}}),
        ("adamw decay", (2.0, 2.0), {"name": "adamw", "lr": 0.01, "weight_decay": 0.01}, None,
         {50: {"optimizer.weight_decay": 0.2, "optimizer.lr": 0.02}}),
        ("rmsprop", (-1.0, -1.0), {"name": "rmsprop", "lr": 0.01, "momentum": 0.5}, None,
         {40: {"optimizer.alpha": 0.9, "optimizer.lr": 0.005}}),
    ]),
    ("changes-swap", "himmelblau", 150, [
        ("sgd to adam", (0.0, 0.0), {"name": "sgd", "lr": 0.002, "momentum": 0.9}, None,
         {50: {"optimizer.name": "adam", "optimizer.lr": 0.05}}),
        ("adam to sgd", (-1.0, 1.0), {"name": "adam", "lr": 0.05}, None,
         {40: {"optimizer.name": "sgd", "optimizer.lr": 0.003, "optimizer.momentum": 0.8}}),
        ("adagrad to rmsprop", (1.0, -1.0), {"name": "adagrad", "lr": 0.5}, None,
         {60: {"optimizer.name": "rmsprop", "optimizer.lr": 0.01}}),
    ]),
    ("changes-schedule", "rosenbrock", 150, [
        ("to cosine", (-1.2, 1.0), {"name": "sgd", "lr": 5e-4, "momentum": 0.9}, None,
         {50: {"schedule.name": "cosine", "schedule.t_max": 100, "schedule.eta_min": 1e-5}}),
        ("step gamma", (-0.5, 1.5), {"name": "sgd", "lr": 1e-3, "momentum": 0.5},
         {"name": "step", "step_size": 20, "gamma": 0.5, "warmup": 10},
         {50: {"schedule.gamma": 0.8}}),
        ("exp to constant", (0.5, -0.5), {"name": "adam", "lr": 0.02}, {"name": "exponential", "gamma": 0.98},
         {70: {"schedule.name": "constant"}}),
    ]),
    ("changes-lr-schedule", "rosenbrock", 200, [
        ("step", (-1.2, 1.0), {"name": "sgd", "lr": 5e-4, "momentum": 0.9}, {"name": "step", "step_size": 30, "gamma": 0.5},
         {45: {"optimizer.lr": 8e-4}, 100: {"optimizer.momentum": 0.5}, 130: {"optimizer.lr": 3e-4}}),
        ("exponential", (-0.5, 1.5), {"name": "sgd", "lr": 1e-3, "momentum": 0.5}, {"name": "exponential", "gamma": 0.99},
         {60: {"optimizer.lr": 2e-3}}),
        ("cosine", (0.5, -0.5), {"name": "adam", "lr": 0.02}, {"name": "cosine", "t_max": 60, "eta_min": 1e-4},
         {25: {"optimizer.lr": 0.05}, 150: {"optimizer.lr": 0.005}}),
        ("cosine at its minimum", (-1.0, 0.5), {"name": "sgd", "lr": 5e-4, "momentum": 0.9}, {"name": "cosine", "t_max": 50},
         {50: {"optimizer.lr": 5e-7}, 150: {"optimizer.lr": 2e-7}}),
        ("cosine warm-up", (1.5, 1.5), {"name": "adam", "lr": 0.02},
         {"name": "cosine", "t_max": 100, "eta_min": 1e-3, "warmup": 20, "warmup_start_factor": 0.25},
         {8: {"optimizer.lr": 0.05}, 60: {"optimizer.lr": 0.01}}),
        ("step warm-up", (-1.5, 2.0), {"name": "sgd", "lr": 5e-4, "momentum": 0.8},
         {"name": "step", "step_size": 40, "gamma": 0.5, "warmup": 10}, {5: {"optimizer.lr": 2e-4}, 30: {"optimizer.lr": 1e-3}}),
        ("constant warm-up", (0.0, 0.0), {"name": "adam", "lr": 0.02}, {"name": "constant", "warmup": 30, "warmup_start_factor": 0.2},
         {12: {"optimizer.lr": 0.05}, 80: {"optimizer.lr": 0.01}}),
        ("lr and betas", (2.0, 2.0), {"name": "adam", "lr": 0.02}, {"name": "exponential", "gamma": 0.98},
         {50: {"optimizer.lr": 0.03, "optimizer.betas": [0.8, 0.99]}}),
        ("settings then lr", (-0.8, 0.8), {"name": "sgd", "lr": 5e-4, "momentum": 0.9}, {"name": "step", "step_size": 25, "gamma": 0.5},
         {40: {"schedule.gamma": 0.8}, 90: {"optimizer.lr": 1e-3}}),
    ]),
    ("changes-plateau", "rosenbrock", 120, [
        # step 15 is one where ReduceLROnPlateau cuts (its counters do not depend on the lr set there):
        # torch sets the lr first, so the cut at 15 halves the new lr
        ("cut at the change", (-1.2, 1.0), {"name": "sgd", "lr": 1e-3, "momentum": 0.9},
         {"name": "plateau", "factor": 0.5, "patience": 2, "threshold": 0.05}, {15: {"optimizer.lr": 2e-3}, 80: {"optimizer.lr": 5e-4}}),
        ("cooldown, abs", (-0.5, 1.5), {"name": "sgd", "lr": 1e-3, "momentum": 0.5},
         {"name": "plateau", "factor": 0.3, "patience": 1, "cooldown": 3, "threshold": 0.02, "threshold_mode": "abs"},
         {40: {"optimizer.lr": 2e-3}}),
    ]),
]


def resolve(settings: dict, table: str, change: dict) -> dict:
    """A table's settings after a change: another name starts from {} (gdsim's rule), else merged."""
    given = {k.split(".", 1)[1]: v for k, v in change.items() if k.startswith(table + ".")}
    if not given:
        return settings
    base = {} if given.get("name", settings.get("name")) != settings.get("name") else dict(settings)
    return {**base, **given}


def canonical(optimizer: dict) -> str:
    """torch's optimizer class for gdsim's name (momentum and nesterov are torch's SGD)."""
    name = optimizer.get("name", "sgd")
    return "sgd" if name in ("momentum", "nesterov") else name


def scheduler(opt, schedule):
    """make_run_golden's torch_schedule, plus a constant schedule with warm-up (LinearLR alone)
    and plateau (ReduceLROnPlateau, mode min, watching the loss at every step as on a surface)."""
    if schedule and schedule.get("name") == "plateau":
        settings = {k: v for k, v in schedule.items() if k != "name"}
        return torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", **settings)
    if schedule and schedule.get("name", "constant") == "constant":
        warmup = schedule.get("warmup", 0)
        if not warmup:
            return None
        return torch.optim.lr_scheduler.LinearLR(
            opt, start_factor=schedule.get("warmup_start_factor", 1 / 3), total_iters=warmup)
    return torch_schedule(opt, schedule)


def make_optimizer(p, optimizer):
    hyper = {k: (tuple(v) if k == "betas" else v) for k, v in optimizer.items() if k != "name"}
    return OPTIMIZERS[optimizer["name"]]([p], foreach=False, **hyper)


def trajectory(surface, start, optimizer, schedule, changes, steps):
    f = SURFACES[surface]
    p = torch.tensor(start, requires_grad=True)
    opt = make_optimizer(p, optimizer)
    sched = scheduler(opt, schedule)
    stand_in = None  # (optimizer, scheduler) of a schedule that replaced the first one
    params, losses, lrs = [], [], []
    for k in range(steps + 1):
        change = changes.get(k)
        if change:
            new_optimizer = resolve(optimizer, "optimizer", change)
            swapped = canonical(new_optimizer) != canonical(optimizer)
            if swapped:
                opt = make_optimizer(p, new_optimizer)  # another optimizer: fresh state
                sched = None
            else:
                for key, value in new_optimizer.items():
                    if key not in ("name", "lr"):
                        opt.param_groups[0][key] = tuple(value) if key == "betas" else value
            new_schedule = resolve(schedule or {}, "schedule", change)
            if swapped or new_schedule != (schedule or {}):
                # another optimizer or other schedule settings: a new scheduler with the new base
                # lr, built at step 0 and stepped k times (it continues at the step count)
                sched = None
                if new_schedule.get("name", "constant") != "constant" or new_schedule.get("warmup"):
                    dummy = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=new_optimizer["lr"])
                    stand_in = (dummy, scheduler(dummy, new_schedule))
                    for _ in range(k):
                        dummy.step()
                        stand_in[1].step()
                else:
                    stand_in = None
                    opt.param_groups[0]["lr"] = new_optimizer["lr"]
            elif new_optimizer["lr"] != optimizer["lr"]:
                # the same optimizer and schedule: torch's edit of the param group's lr under the
                # running scheduler, which goes on from it
                (stand_in[0] if stand_in is not None else opt).param_groups[0]["lr"] = new_optimizer["lr"]
            optimizer, schedule = new_optimizer, new_schedule
        if stand_in is not None:
            opt.param_groups[0]["lr"] = stand_in[0].param_groups[0]["lr"]
        opt.zero_grad()
        loss = f(p[0], p[1])
        loss.backward()
        if isinstance(sched, torch.optim.lr_scheduler.ReduceLROnPlateau):
            sched.step(loss.item())  # torch's order for plateau: the metric, then the update it sets
        params.append(p.detach().tolist())
        losses.append(loss.item())
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        if sched is not None and not isinstance(sched, torch.optim.lr_scheduler.ReduceLROnPlateau):
            sched.step()
        if stand_in is not None:
            stand_in[0].step()
            stand_in[1].step()
    return {"params": params, "loss": losses, "lr": lrs}


def scenario_toml(case_id, surface, steps, runs):
    lines = [
        "# Generated by tests/golden/make_change_golden.py: replayed against torch.optim in tests/test_change_golden.py",
        "[scenario]", f'title = "golden {case_id}"', 'claim = "Changes at a step agree with torch.optim."',
        f"steps = {steps}", "", "[problem]", f'surface = "{surface}"', "bound = 1e12", "",
    ]
    for label, start, optimizer, schedule, changes in runs:
        lines += ["[[runs]]", f'label = "{label}"', f"start = {toml_value(list(start))}",
                  f"optimizer = {inline(optimizer)}"]
        if schedule:
            lines.append(f"schedule = {inline(schedule)}")
        lines.append("")
        for i, (at, keys) in enumerate(sorted(changes.items())):
            lines += ["[[runs.changes]]", f"at = {at}"]
            # both spellings of a dotted key: bare (nested tables) and quoted
            lines += [(f'"{key}"' if i % 2 else key) + f" = {toml_value(value)}" for key, value in keys.items()]
            lines.append("")
    return "\n".join(lines)


def main():
    DATA.mkdir(parents=True, exist_ok=True)
    golden = {"torch": torch.__version__, "cases": {}}
    for case_id, surface, steps, runs in CASES:
        (DATA / f"{case_id}.toml").write_text(scenario_toml(case_id, surface, steps, runs))
        golden["cases"][case_id] = {
            label: trajectory(surface, start, optimizer, schedule, changes, steps)
            for label, start, optimizer, schedule, changes in runs
        }
    (HERE / "change_golden.json").write_text(json.dumps(golden))
    print(f"wrote {len(CASES)} scenarios and change_golden.json with torch {torch.__version__}")


if __name__ == "__main__":
    main()
