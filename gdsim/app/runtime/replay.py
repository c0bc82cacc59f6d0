"""The simulation of a changed scenario at the step the old one reached, without re-running it all.

A key mid-run (gdsim.app.branches) makes a new scenario whose runs are the old ones, some with a
new change at the current step N, plus perhaps a branch. Its simulation must be exactly what
building it and stepping to N gives (what `gdsim run` of the saved file computes). Stepping is
deterministic and a run's bits never depend on the runs beside it, so:

- a cohort whose runs have the same settings and changes before N as in the old simulation, and
  no change of their problem at N (a changed batch, l1, l2 or noise draws step N's batch
  differently), takes over the old cohort's state at N; a change of optimizer, schedule or clip
  norm at N is then applied to it as stepping into N would (gdsim.engine.changes.enter), and its
  record at N is written again (it holds the lr of the update from N);
- the other cohorts (a branch, a run whose batch size changed) are stepped from 0 to N alone, in
  a simulation with the same history layout, and their history columns copied over;
- anything else (the history's layout changed) falls back to stepping everything from 0.
tests/app/test_midrun.py checks the results against fresh simulations of the saved file, bit for bit.
"""

from __future__ import annotations

import json

import numpy as np

from gdsim.build import RunConfig, build, resolve_runs
from gdsim.engine import changes
from gdsim.engine.simulation import Simulation
from gdsim.scenario.load import LoadedScenario

PROBLEM_AT_STEP = ("problem.batch_size", "problem.l1", "problem.l2", "problem.noise")


def replay(old: Simulation, old_configs: list[RunConfig], loaded: LoadedScenario, step: int) -> Simulation:
    """The simulation of `loaded` stepped to `step` (= old.step_count), reusing `old`'s state."""
    new = build(loaded)
    if step <= 0:
        return new
    configs = resolve_runs(loaded)
    ok = (old.step_count == step and old.history is not None and new.history is not None
          and old.history.fields == new.history.fields and old.history.capacity == new.history.capacity
          and new.n_runs >= old.n_runs)
    if not ok:
        new.step(step)
        return new
    taken, fresh = [], []
    for cohort in new.cohorts:
        source, enter = _same_cohort(old, old_configs, configs, cohort, step)
        (taken if source is not None else fresh).append((cohort, source, enter))
    if fresh:
        alone = Simulation([c for c, _, _ in fresh], new.runs, history_capacity=new.history.capacity)
        alone.step(step)
        h = alone.history
        if h.fields != new.history.fields or h.capacity != new.history.capacity:
            new = build(loaded)
            new.step(step)
            return new
    _take_history(new, old)
    for cohort, source, enter in taken:
        vars(cohort).update({k: v for k, v in vars(source).items() if k not in Simulation._FIXED and k not in ("phase", "_keeps_batch")})
        cohort.phase = sum(1 for p in cohort.phases[1:] if p.at < step + (not enter))
        changes.use_phase(cohort)
        if enter:
            changes.enter(cohort, step)
            h = new.history
            if h.count and h.steps[h.count - 1] == step:
                new._record_cohort(h.count - 1, cohort)
    if fresh:
        _copy_columns(new, alone, np.concatenate([c.rows for c, _, _ in fresh]))
    new.step_count = step
    return new


def _prefix(config: RunConfig, step: int) -> str:
    """A run's settings and its changes before `step`, as a comparable key."""
    phases = [config.settings()] + [[c.at, *c.settings()] for c in config.changes if c.at < step]
    return json.dumps([config.seed, config.start, phases], sort_keys=True, default=str)


def _same_cohort(old: Simulation, old_configs, configs, cohort, step: int) -> tuple:
    """(the old cohort whose state at `step` is this new cohort's, whether the new one then enters
    its change at `step`), or (None, False)."""
    rows = cohort.rows
    if rows.max() >= old.n_runs:
        return None, False
    source = next((c for c in old.cohorts if np.array_equal(c.rows, rows)), None)
    if source is None or source._keeps_batch != cohort._keeps_batch:  # a line search needs the batch kept
        return None, False
    pairs = [(old_configs[row], configs[row]) for row in rows.tolist()]
    if all(_prefix(before, step + 1) == _prefix(after, step + 1) for before, after in pairs):
        return source, False  # the same up to and with step: the old state is the new one
    for before, after in pairs:
        if _prefix(before, step) != _prefix(after, step) or any(c.at == step for c in before.changes):
            return None, False
        if any(c.at == step and set(PROBLEM_AT_STEP) & c.change_keys for c in after.changes):
            return None, False
    return source, True


def _take_history(new: Simulation, old: Simulation) -> None:
    """The old history's records in the new simulation's (which may have more runs: a branch)."""
    h, o = new.history, old.history
    h.stride, h.count = o.stride, o.count
    h.steps[:] = o.steps
    n = old.n_runs
    for name, data in o._data.items():
        h._data[name][:, :n] = data


def _copy_columns(new: Simulation, alone: Simulation, rows: np.ndarray) -> None:
    h, a = new.history, alone.history
    if (a.stride, a.count) != (h.stride, h.count) or not np.array_equal(a.steps[: a.count], h.steps[: h.count]):
        raise AssertionError("a replayed history must be recorded at the same steps")
    for name, data in a._data.items():
        h._data[name][:, rows] = data[:, rows]
