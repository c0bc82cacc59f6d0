"""Keyboard changes to a run's settings, as new scenarios: the file on disk is never touched.

Each function takes the Session, works out the selected run's [[runs]] entry and its current
value, and returns (new LoadedScenario, a short description of the change). Hyperparameters (lr,
momentum, optimizer, schedule, batch size) return a branches.Tweak instead: mid-run they continue
from the shown step, or branch from a rewound one (gdsim.app.branches); seed, start point and
the runs themselves define step 0 and restart. Errors from the
loader or the engine (a ScenarioError with a one-paragraph message) propagate to the screen,
which shows them as a notice.
"""

from __future__ import annotations

import copy
import math
from typing import Any

from gdsim.app import branches
from gdsim.app.branches import Tweak, carried, config_at, phase_at
from gdsim.app.runtime.session import Session
from gdsim.build import problem_has_hessian
from gdsim.engine.fisher import fisher_refusal
from gdsim.engine.optimizers import make_optimizer
from gdsim.engine.schedules import make_schedule
from gdsim.scenario.load import LoadedScenario, ScenarioError, validate_raw

OPTIMIZER_CYCLE = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw", "newton", "cg", "natural")
SCHEDULE_CYCLE = ("constant", "step", "exponential", "cosine", "plateau")
# Optimizers whose lr is a share of a step they compute themselves (1 = all of it), not a step size.
STEP_SHARE = {"newton": "the full Newton step", "cg": "the longest step cg's line search tries",
              "natural": "the full natural-gradient step"}
MOMENTA = (0.0, 0.5, 0.9, 0.99)
ENSEMBLE_SIZE = 200
_LADDER = (1.0, 2.0, 5.0)


def ladder(value: float, direction: int) -> float:
    """The next value up (+1) or down (-1) on the 1-2-5 ladder: 0.01 -> 0.02 -> 0.05 -> 0.1."""
    if value <= 0 or not math.isfinite(value):
        return 1e-3 if direction > 0 else 0.0
    candidates = sorted({m * 10.0**e for e in range(-8, 4) for m in _LADDER})
    if direction > 0:
        bigger = [c for c in candidates if c > value * (1 + 1e-9)]
        return bigger[0] if bigger else value
    smaller = [c for c in candidates if c < value * (1 - 1e-9)]
    return smaller[-1] if smaller else value


def _runs(session: Session) -> list[dict[str, Any]]:
    runs = session.loaded.raw.get("runs")
    return copy.deepcopy(runs) if isinstance(runs, list) and runs else [{}]


def _apply(session: Session, runs: list[dict[str, Any]]) -> LoadedScenario:
    """The scenario with `runs` as its [[runs]]; validated, but not trial-built: the Session's
    rebuild builds it once (and a ScenarioError from that build leaves the old runs in place)."""
    loaded = session.loaded
    raw = {**loaded.raw, "runs": runs}
    return validate_raw(raw, path=loaded.path, id=loaded.id, trial_build=False)


def _selected(session: Session):
    run = session.current
    row = int(run.rows[0])
    cohort, _ = session.cohort_of(row)
    return run, session.configs[row], cohort


def _table(entry: dict[str, Any], name: str) -> dict[str, Any]:
    table = entry.get(name)
    if not isinstance(table, dict):
        table = entry[name] = {}
    return table


def learning_rate(session: Session, direction: int) -> Tweak:
    """One step up or down the 1-2-5 ladder from the run's lr at the shown step. Under a schedule
    that is the schedule's lr there, and the schedule goes on from the new value, as torch's edit
    of param_groups' lr does (gdsim.engine.schedules_chained)."""
    run, _, cohort = _selected(session)
    step = session.shown_step
    phase = phase_at(cohort, step)
    optimizer, schedule = phase.optimizer, phase.schedule
    current = float(optimizer.hyper["lr"])
    why = carried(optimizer)
    if schedule.adaptive is None and (schedule.name != "constant" or schedule.params.get("warmup")):
        current = float(schedule.lr_at(step))
        why += f"; the {schedule.name} schedule goes on from it (torch)"
    new = ladder(current, direction)
    return branches.apply(session, run, {"optimizer.lr": new}, f"learning rate {current:g} → {new:g}", why)


def momentum(session: Session, direction: int = 1) -> Tweak:
    run, config, cohort = _selected(session)
    step = session.shown_step
    optimizer = phase_at(cohort, step).optimizer
    name, hyper = optimizer.name, optimizer.hyper
    keys: dict[str, Any] = {}
    if name in ("sgd", "rmsprop"):
        current = float(hyper["momentum"])
        new = _cycle(MOMENTA, current, direction)
        keys["optimizer.momentum"] = new
        if new == 0 and hyper.get("nesterov"):
            keys["optimizer.nesterov"] = False
        what = f"momentum {current:g} → {new:g}"
        if current == 0 and name == "sgd":
            why = "the velocity starts as the next gradient (torch's rule for a new momentum buffer)"
        elif current == 0:
            why = "its momentum buffer starts at zero"
        else:
            why = "velocity kept" if new else "velocity kept, unused while momentum is 0"
    elif name in ("adam", "adamw"):
        beta1, beta2 = hyper["betas"]
        new = _cycle(MOMENTA, float(beta1), direction)
        keys["optimizer.betas"] = [new, float(beta2)]
        what = f"β₁ (Adam's momentum) {beta1:g} → {new:g}"
        why = carried(optimizer)
    else:
        raise ScenarioError(f"{name} has no momentum setting; try sgd, rmsprop or adam (key o)")
    if name != "sgd":
        keys["optimizer.name"] = config_at(config, step).optimizer.get("name", name)
    return branches.apply(session, run, keys, what, why)


def _cycle(values: tuple, current: Any, direction: int) -> Any:
    try:
        index = values.index(current)
    except ValueError:
        index = -1 if direction > 0 else 0
    return values[(index + direction) % len(values)]


def optimizer(session: Session, name: str | None = None, direction: int = 1) -> Tweak:
    """Switch the selected run to `name`, or to the next optimizer in OPTIMIZER_CYCLE that its
    problem can run (newton needs a Hessian, natural a Fisher matrix: `valid_optimizers`)."""
    run, config, cohort = _selected(session)
    step = session.shown_step
    choices = valid_optimizers(cohort.problem)
    current = str(config_at(config, step).optimizer.get("name", "sgd"))
    if name is None:
        name = _cycle(tuple(choices), current, direction)
    old = phase_at(cohort, step).optimizer
    lr, why = _learning_rate_for(session, run.entry, current, name, float(old.hyper["lr"]))
    keys: dict[str, Any] = {"optimizer.name": name, "optimizer.lr": lr}
    if name == "sgd":
        keys.update({"optimizer.momentum": 0.0, "optimizer.nesterov": False})
    new = make_optimizer(name, lr=lr)
    if new.name != old.name:
        kept = f"{name} starts its fresh state at the current point"
    elif old.hyper.get("momentum") or not new.hyper.get("momentum"):
        kept = carried(old)
    else:
        kept = "the velocity starts as the next gradient (torch's rule for a new momentum buffer)"
    return branches.apply(session, run, keys, f"optimizer {current} → {name}, {why}", kept, replace=("optimizer",))


def valid_optimizers(problem) -> list[str]:
    """OPTIMIZER_CYCLE without what `problem` cannot run: newton needs second derivatives, natural
    the Fisher matrix of a model's predictions (cg's line search works anywhere)."""
    has_hessian = problem_has_hessian(problem)
    has_fisher = fisher_refusal(problem) is None
    return [n for n in OPTIMIZER_CYCLE if (n != "newton" or has_hessian) and (n != "natural" or has_fisher)]


FIRST_ORDER_LR = 0.01  # leaving newton, cg or natural with no earlier rate to go back to


def _learning_rate_for(session: Session, entry: int, current: str, name: str, lr: float) -> tuple[float, str]:
    """The learning rate after switching `current` to `name`, and the words saying why it is that.

    Cycling keeps the rate. The lr of newton, cg and natural is another quantity (the share of a
    step they compute themselves, 1 = all of it), so entering one of them sets 1 and remembers
    the rate, moving among them keeps 1, and leaving them brings the remembered rate back."""
    remembered = session.lr_before_newton
    if name in STEP_SHARE and current not in STEP_SHARE:
        remembered[entry] = lr
        return 1.0, f"lr {lr:g} → 1, {STEP_SHARE[name]} ({lr:g} comes back after {name})"
    if name in STEP_SHARE:
        return 1.0, f"lr 1, {STEP_SHARE[name]}"
    if current in STEP_SHARE:
        if entry in remembered:
            back = remembered.pop(entry)
            return back, f"lr {lr:g} → {back:g} (the rate before {current})"
        return FIRST_ORDER_LR, (f"lr {lr:g} → {FIRST_ORDER_LR:g} ({current}'s lr was a share of its own step, "
                                f"not a step size for {name})")
    return lr, f"lr {lr:g} kept"


def schedule(session: Session, name: str | None = None) -> Tweak:
    run, config, cohort = _selected(session)
    step = session.shown_step
    current = str(config_at(config, step).schedule.get("name", "constant"))
    if name is None:
        name = _cycle(SCHEDULE_CYCLE, current, 1)
    steps = session.loaded.scenario.scenario.steps
    table: dict[str, Any] = {"name": name}
    if name == "step":
        table.update(step_size=max(1, steps // 4), gamma=0.5)
    elif name == "exponential":
        table.update(gamma=round(0.01 ** (1 / max(steps, 1)), 6))  # lr falls 100-fold over the run
    elif name == "cosine":
        table.update(t_max=steps)
    elif name == "plateau":
        table.update(factor=0.5, patience=5)  # torch's 0.1 and 10 would rarely act within a lesson
    detail = ", ".join(f"{k} {v}" for k, v in table.items() if k != "name")
    what = f"schedule {current} → {name}{' (' + detail + ')' if detail else ''}"
    optimizer_now = phase_at(cohort, step).optimizer
    made = make_schedule(name, float(optimizer_now.hyper["lr"]), **{k: v for k, v in table.items() if k != "name"})
    now = "" if made.adaptive is not None else f" (lr now {made.lr_at(step):g})"
    why = f"it continues at step {step:,}{now}; {carried(optimizer_now)}"
    keys = {f"schedule.{k}": v for k, v in table.items()}
    return branches.apply(session, run, keys, what, why, replace=("schedule",))


def seed(session: Session, direction: int) -> tuple[LoadedScenario, str]:
    run, config, _ = _selected(session)
    new = max(0, config.seed + direction)
    runs = _runs(session)
    runs[run.entry]["seed"] = new
    return _apply(session, runs), (f"{run.label}: seed {config.seed} → {new}"
                                   + (" (the seed defines step 0: the runs start again)" if session.sim.step_count else ""))


def batch_size(session: Session, direction: int) -> Tweak:
    run, _, cohort = _selected(session)
    problem = phase_at(cohort, session.shown_step).problem
    if not hasattr(problem, "batch_size"):
        raise ScenarioError("batch size applies to scenarios with a data set; this one is a 2-D surface")
    current = int(problem.batch_size)
    new = max(1, min(problem.n_train, current * 2 if direction > 0 else current // 2))
    return branches.apply(session, run, {"problem.batch_size": new},
                          f"batch size {current} → {new} (of {problem.n_train})",
                          "a new epoch starts; parameters and optimizer state kept")


def start_point(session: Session, point: tuple[float, ...]) -> tuple[LoadedScenario, str]:
    run, _, cohort = _selected(session)
    if cohort.problem.n_params != len(point):
        raise ScenarioError(
            f"a start point here needs {cohort.problem.n_params} numbers; it is set for 2-D surfaces"
        )
    runs = _runs(session)
    runs[run.entry]["start"] = [float(v) for v in point]
    where = ", ".join(f"{v:g}" for v in point)
    again = " (the start defines step 0: the runs start again)" if session.sim.step_count else ""
    return _apply(session, runs), f"{run.label}: start point ({where}){again}"


def add_run(session: Session) -> tuple[LoadedScenario, str]:
    """A copy of the selected run's entry with the next unused seed, as a new [[runs]] entry."""
    run, config, _ = _selected(session)
    runs = _runs(session)
    entry = copy.deepcopy(runs[run.entry])
    entry.pop("seeds", None)
    new_seed = max(c.seed for c in session.configs) + 1
    entry["seed"] = new_seed
    labels = {c.group for c in session.configs}
    base = str(config.group)[:40]
    label, n = f"{base} seed {new_seed}", 2
    while label in labels:
        label, n = f"{base} seed {new_seed} ({n})", n + 1
    entry["label"] = label
    if len(runs) == 1 and "label" not in runs[0]:
        runs[0]["label"] = config.group
    runs.append(entry)
    return _apply(session, runs), f"added {label}"


def remove_run(session: Session) -> tuple[LoadedScenario, str]:
    run, _, _ = _selected(session)
    runs = _runs(session)
    if len(runs) < 2:
        raise ScenarioError("the last run cannot be removed")
    del runs[run.entry]
    return _apply(session, runs), f"removed {run.label}"


def ensemble(session: Session) -> tuple[LoadedScenario, str]:
    """Turn the selected run into an ensemble of ENSEMBLE_SIZE seeds, or an ensemble back into one run."""
    run, _, _ = _selected(session)
    runs = _runs(session)
    entry = runs[run.entry]
    if int(entry.get("seeds", 1)) > 1:
        entry.pop("seeds")
        return _apply(session, runs), f"{run.label}: back to a single run"
    entry["seeds"] = ENSEMBLE_SIZE
    return _apply(session, runs), f"{run.label}: an ensemble of {ENSEMBLE_SIZE} seeds"


def random_starts(session: Session) -> tuple[LoadedScenario, str]:
    """The selected run as an ensemble of ENSEMBLE_SIZE seeds from random starts (its start dropped)."""
    run, _, _ = _selected(session)
    runs = _runs(session)
    entry = runs[run.entry]
    entry.pop("start", None)
    entry["seeds"] = ENSEMBLE_SIZE
    return _apply(session, runs), f"{run.label}: an ensemble of {ENSEMBLE_SIZE} random starts"
