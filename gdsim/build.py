"""From a validated scenario to a running Simulation: resolve each run's settings, then build.

Each [[runs]] entry inherits [problem], [optimizer] and [schedule] and overrides what it sets.
A run that names a different optimizer starts from that optimizer's torch defaults (the base
optimizer's hyperparameters would not apply to it); the base `lr` is kept only if the run's
optimizer is the same. `seeds = N` expands an entry into N runs with consecutive seeds.
Runs with identical settings (seeds and starts aside) share one cohort: one array operation
per step for all of them.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from gdsim.engine.changes import Phase
from gdsim.engine.fisher import fisher_refusal
from gdsim.engine.optimizers import make_optimizer
from gdsim.engine.problem import ProblemError
from gdsim.engine.schedules import make_schedule
from gdsim.engine.schedules_chained import continue_from
from gdsim.engine.simulation import Cohort, RunInfo, Simulation
from gdsim.scenario.load import LoadedScenario, ScenarioError

PROBLEM_KINDS = ("surface", "expression", "dataset")
TRAINING_KEYS = ("clip_norm", "eval_every", "patience", "restore_best", "bound")
DEFAULT_BOUND = 1e6
DEFAULT_EVAL_EVERY = 10
FIXED_DATASETS = ("iris", "digits", "csv")  # read from a file: nothing to generate


@dataclass(frozen=True)
class RunConfig:
    """One run's fully resolved settings."""

    label: str
    seed: int
    group: str
    entry: int  # index of its [[runs]] entry
    start: tuple[float, ...] | None
    problem: dict[str, Any]
    optimizer: dict[str, Any]
    schedule: dict[str, Any]
    run_keys: frozenset[str] = frozenset()  # dotted keys this run's [[runs]] entry set itself
    # The run's settings from each [[runs.changes]] on: RunConfigs with `at` and `change` set.
    changes: tuple["RunConfig", ...] = ()
    at: int = 0  # for a change: the step it applies from
    change: int | None = None  # for a change: its index in the entry's changes
    change_keys: frozenset[str] = frozenset()  # for a change: the dotted keys it sets

    def key(self, dotted: str) -> str:
        """Where a key of this run was written: `runs.N.changes.I.optimizer.lr`, `runs.N.optimizer.lr`
        or `optimizer.lr`."""
        if self.change is not None and dotted in self.change_keys:
            return f"runs.{self.entry}.changes.{self.change}.{dotted}"
        return f"runs.{self.entry}.{dotted}" if dotted in self.run_keys else dotted

    def settings(self) -> list:
        return [self.problem, self.optimizer, self.schedule]

    def cohort_key(self) -> str:
        phases = [self.settings()] + [[c.at, *c.settings()] for c in self.changes]
        return json.dumps(phases, sort_keys=True, default=str)


def resolve_runs(loaded: LoadedScenario) -> list[RunConfig]:
    scenario = loaded.scenario
    base_problem = scenario.problem.explicit()
    base_optimizer = scenario.optimizer.explicit()
    base_optimizer.setdefault("name", "sgd")
    base_schedule = scenario.schedule.explicit() if scenario.schedule else {}
    configs = []
    for index, run in enumerate(scenario.runs):
        problem = dict(base_problem)
        if run.problem is not None:
            override = run.problem.explicit()
            if any(k in override for k in PROBLEM_KINDS):
                for kind in PROBLEM_KINDS:
                    problem.pop(kind, None)
            problem.update(override)
        optimizer = dict(base_optimizer)
        if run.optimizer is not None:
            override = run.optimizer.explicit()
            if "name" in override and override["name"] != base_optimizer["name"]:
                optimizer = {}
            optimizer.update(override)
        schedule = dict(base_schedule)
        if run.schedule is not None:
            override = run.schedule.explicit()
            if "name" in override and override["name"] != base_schedule.get("name"):
                schedule = {}
            schedule.update(override)
        run_keys = frozenset(
            f"{table}.{key}"
            for table, spec in (("problem", run.problem), ("optimizer", run.optimizer), ("schedule", run.schedule))
            if spec is not None
            for key in spec.explicit()
        )
        changed = _resolve_changes(run.changes, problem, optimizer, schedule)
        label = run.label or (f"run {index + 1}" if len(scenario.runs) > 1 else "run")
        first_seed = scenario.scenario.seed if run.seed is None else run.seed
        for k in range(run.seeds):
            seed = first_seed + k
            configs.append(
                RunConfig(
                    label=label if run.seeds == 1 else f"{label} (seed {seed})",
                    seed=seed,
                    group=label,
                    entry=index,
                    start=run.start,
                    problem=problem,
                    optimizer=optimizer,
                    schedule=schedule,
                    run_keys=run_keys,
                    changes=tuple(dataclasses.replace(c, label=label, seed=seed, group=label, entry=index,
                                                      run_keys=run_keys) for c in changed),
                )
            )
    return configs


def _resolve_changes(changes, problem: dict, optimizer: dict, schedule: dict) -> list[RunConfig]:
    """A run's full settings from each change on (a change naming another optimizer or schedule
    starts from that one's defaults, as a [[runs]] entry does)."""
    out = []
    for index, change in enumerate(changes):
        problem = {**problem, **(change.problem.explicit() if change.problem else {})}
        if change.optimizer is not None:
            given = change.optimizer.explicit()
            optimizer = {**({} if given.get("name", optimizer.get("name")) != optimizer.get("name") else optimizer),
                         **given}
        if change.schedule is not None:
            given = change.schedule.explicit()
            schedule = {**({} if given.get("name", schedule.get("name")) != schedule.get("name") else schedule),
                        **given}
        out.append(RunConfig("", 0, "", 0, None, problem, optimizer, schedule, at=change.at, change=index,
                             change_keys=frozenset(change.keys())))
    return out


def make_problem(settings: dict[str, Any], loaded: LoadedScenario, seed: int):
    """The engine problem for a run's [problem] settings."""
    settings = {k: v for k, v in settings.items() if k not in TRAINING_KEYS}
    if "dataset" in settings:
        from gdsim.engine.learning import make_dataset_problem

        if settings["dataset"] in FIXED_DATASETS:
            for key in ("samples", "noise"):
                if key in settings:
                    raise ProblemError(
                        f"'{key}' does not apply to the {settings['dataset']} data set, which is read as it is "
                        f"(it applies to generated data sets such as moons or line)"
                    )

        settings.setdefault("data_seed", seed)
        return make_dataset_problem(base_dir=str(loaded.base_dir), **settings)
    from gdsim.engine.surfaces import make_surface

    name = settings.pop("surface", None)
    expression = settings.pop("expression", None)
    noise = settings.pop("noise", None) or 0.0
    view = settings.pop("view", None)
    return make_surface(name, expression=expression, noise=noise, view=view, **settings)


def build(loaded: LoadedScenario, *, record: bool = True) -> Simulation:
    """The Simulation for a scenario; ScenarioError (naming the file and key) if a setting does not fit."""
    configs = resolve_runs(loaded)
    where = loaded.where
    groups: dict[str, list[int]] = {}
    for row, config in enumerate(configs):
        groups.setdefault(config.cohort_key(), []).append(row)
    problems: dict[str, Any] = {}
    cohorts = []
    for rows in groups.values():
        first = configs[rows[0]]
        problem, optimizer, schedule = _objects(first, problems, loaded)
        phases = []
        before = (first, optimizer, schedule)
        for change in first.changes:
            if "problem.noise" in change.change_keys and "dataset" in change.problem:
                raise ScenarioError(f"{where}: {change.key('problem.noise')}: the noise of a data set is in its "
                                    "generated points, which define step 0: changing it restarts the run")
            objects = _objects(change, problems, loaded)
            objects = (*objects[:2], _schedule_after(before, change, *objects[1:]))
            phases.append(Phase(change.at, *objects, change.problem.get("clip_norm")))
            before = (change, objects[1], objects[2])
        seeds = np.array([configs[r].seed for r in rows], dtype=np.int64)
        params0 = _starts(problem, [configs[r] for r in rows], seeds, where)
        cohorts.append(
            Cohort(
                problem,
                optimizer,
                schedule,
                params0,
                seeds,
                np.array(rows),
                clip_norm=first.problem.get("clip_norm"),
                eval_every=first.problem.get("eval_every", DEFAULT_EVAL_EVERY),
                patience=first.problem.get("patience"),
                restore_best=first.problem.get("restore_best", False),
                bound=first.problem.get("bound", DEFAULT_BOUND),
                changes=tuple(phases),
            )
        )
    runs = [RunInfo(c.label, c.seed, c.group) for c in configs]
    return Simulation(cohorts, runs, record=record)


def _objects(config: RunConfig, problems: dict[str, Any], loaded: LoadedScenario):
    """The problem (shared between runs with the same settings), optimizer and schedule of a run,
    or of a run from one of its changes on."""
    where = loaded.where
    problem_key = json.dumps(config.problem, sort_keys=True, default=str)
    if problem_key not in problems:
        try:
            problems[problem_key] = make_problem(config.problem, loaded, loaded.scenario.scenario.seed)
        except ProblemError as exc:
            raise ScenarioError(f"{where}: {config.key(_problem_key(str(exc), config))}: {exc}") from None
    problem = problems[problem_key]
    if config.problem.get("restore_best") and config.problem.get("patience") is None:
        raise ScenarioError(f"{where}: {config.key('problem.restore_best')}: restore_best applies to early "
                            "stopping; set patience too")
    optimizer = _make_optimizer(config, problem, where)
    return problem, optimizer, _make_schedule(config, optimizer, where)


def _schedule_after(before: tuple, change: RunConfig, optimizer: Any, schedule: Any):
    """The schedule from a change on. The same optimizer under the same schedule settings keeps
    the schedule as it was (a chain of earlier lr changes included); a new lr there is set as
    torch's param_groups edit sets it, and the schedule goes on from it (schedules_chained). Another
    optimizer or other schedule settings: the schedule as built for them (a closed form of the
    step count, with the new base lr; plateau keeps its state in changes.enter)."""
    config, old_optimizer, old_schedule = before
    if old_optimizer.name != optimizer.name or config.schedule != change.schedule:
        return schedule
    lr = float(optimizer.hyper["lr"])
    if lr == float(old_optimizer.hyper["lr"]):
        return old_schedule
    if schedule.adaptive is not None or (schedule.name == "constant" and not schedule.params["warmup"]):
        return schedule
    return continue_from(old_schedule, change.at, lr)


def check_buildable(loaded: LoadedScenario) -> None:
    """Raise ScenarioError if the scenario validates but cannot be built (used by load and check)."""
    from gdsim.scenario.columns import check_columns

    check_columns(loaded, build(loaded, record=False))


def _problem_key(message: str, config: RunConfig) -> str:
    """The [problem] key a problem error is about: a quoted key name first, then a leading one."""
    for key in config.problem:
        if f"'{key}'" in message:
            return f"problem.{key}"
    for key in config.problem:
        if message.startswith(key):
            return f"problem.{key}"
    return "problem"


def _make_optimizer(config: RunConfig, problem: Any, where: str):
    settings = dict(config.optimizer)
    name = settings.pop("name")
    if "betas" in settings:
        settings["betas"] = tuple(settings["betas"])
    quadratic = bool(getattr(problem, "quadratic", False))
    if name == "cg" and "line_search" not in settings:
        settings["line_search"] = "exact" if quadratic else "armijo"
    if name == "cg" and settings["line_search"] == "exact" and not quadratic:
        raise ScenarioError(
            f"{where}: {config.key('optimizer.line_search')}: the exact line search (α = −gᵀd / dᵀHd) "
            "needs a positive-definite quadratic (the quadratic or bowl surface, or full-batch linear regression); "
            "use line_search = "
            "\"armijo\" (the default elsewhere)"
        )
    try:
        optimizer = make_optimizer(name, **settings)
    except ValueError as exc:
        key = next((k for k in settings if f"'{k}'" in str(exc)), "name" if "name" in str(exc).lower() else None)
        dotted = config.key(f"optimizer.{key}") if key else "optimizer"
        raise ScenarioError(f"{where}: {dotted}: {exc}") from None
    if optimizer.needs_hessian and not problem_has_hessian(problem):
        raise ScenarioError(
            f"{where}: {config.key('optimizer.name')}: {name} needs second derivatives, which only 2-D surfaces, "
            "expressions and full-batch linear regression (model 'linear', loss 'mse', no batch_size, no l1) "
            "provide; choose a first-order optimizer for this data set"
        )
    if optimizer.needs_fisher:
        reason = fisher_refusal(problem)
        if reason is not None:
            raise ScenarioError(
                f"{where}: {config.key('optimizer.name')}: natural (the natural gradient) needs the Fisher matrix "
                f"of a model's predictions, and here {reason}; choose another optimizer"
            )
    return optimizer


def problem_has_hessian(problem: Any) -> bool:
    """Whether the problem gives second derivatives (2-D surfaces, expressions and full-batch
    linear regression do)."""
    try:
        problem.hessian(np.zeros((1, problem.n_params)))
    except NotImplementedError:
        return False
    return True


def _make_schedule(config: RunConfig, optimizer: Any, where: str):
    settings = dict(config.schedule)
    name = settings.pop("name", "constant")
    try:
        return make_schedule(name, optimizer.hyper["lr"], **settings)
    except ValueError as exc:
        message = str(exc).removeprefix("schedule: ")
        key = next((k for k in ("step_size", "gamma", "t_max", "eta_min", "warmup_start_factor", "warmup",
                                "factor", "patience", "threshold_mode", "threshold", "cooldown", "min_lr", "eps")
                    if f"'{k}'" in message), None)
        dotted = config.key(f"schedule.{key}") if key else "schedule"
        raise ScenarioError(f"{where}: {dotted}: {message}") from None


def _starts(problem: Any, configs: list[RunConfig], seeds: np.ndarray, where: str) -> np.ndarray:
    params = problem.init_params(seeds)
    for i, config in enumerate(configs):
        if config.start is None:
            continue
        if len(config.start) != problem.n_params:
            raise ScenarioError(
                f"{where}: runs.{config.entry}.start: expected {problem.n_params} numbers "
                f"(one per parameter), got {len(config.start)}"
            )
        params[i] = config.start
    return params


def build_sweep(loaded: LoadedScenario, row: int, axes: list, *, conditions: tuple = ()):
    """A gdsim.engine.sweep.Sweep over run `row` (an index into resolve_runs) of a scenario: its
    problem, start, seed, schedule and training settings, with `axes` varied. ScenarioError if the
    run's own settings do not build; SweepError if an axis does not fit its optimizer."""
    from gdsim.engine.sweep import Sweep

    config = resolve_runs(loaded)[row]
    where = loaded.where
    try:
        problem = make_problem(config.problem, loaded, loaded.scenario.scenario.seed)
    except ProblemError as exc:
        raise ScenarioError(f"{where}: {config.key(_problem_key(str(exc), config))}: {exc}") from None
    optimizer = _make_optimizer(config, problem, where)
    schedule = _make_schedule(config, optimizer, where)  # checks the run's own schedule
    start = _starts(problem, [config], np.array([config.seed], dtype=np.int64), where)[0]
    hyper = {k: v for k, v in optimizer.hyper.items() if k != "lr" or not any(a.key == "lr" for a in axes)}
    settings = {k: v for k, v in schedule.params.items() if k != "lr"}
    if schedule.adaptive is not None:
        settings = {k: v for k, v in settings.items() if k not in ("warmup", "warmup_start_factor")}
    # Evaluations change a run only through early stopping and the plateau schedule; without them
    # the sweep skips them (a whole-split pass every few steps) and evaluates once at the end.
    patience = config.problem.get("patience")
    watches = patience is not None or schedule.adaptive is not None
    sweep = Sweep(
        problem, optimizer.name, hyper, axes, start, config.seed,
        schedule=(schedule.name, settings), conditions=tuple(conditions),
        clip_norm=config.problem.get("clip_norm"),
        eval_every=config.problem.get("eval_every", DEFAULT_EVAL_EVERY) if watches else None,
        patience=patience,
        restore_best=config.problem.get("restore_best", False),
        bound=config.problem.get("bound", DEFAULT_BOUND),
    )
    # A sweep varies the run's settings from step 0; its [[runs.changes]] would overwrite them.
    sweep.skipped_changes = tuple(change.at for change in config.changes)
    return sweep
