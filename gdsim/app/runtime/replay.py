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
- the other cohorts (a branch, a run whose batch size changed) are stepped alone to N, each in
  a simulation with the same history layout, and their history columns copied over. They start
  from the old simulation's latest checkpoint (gdsim.engine.checkpoints) before the step where
  their settings part from the runs they copy (a branch of A at k: A's state at the checkpoint
  before k, its history records up to there), else from 0;
- anything else (the history's layout changed) falls back to stepping everything from 0.
A network's parameter path (Simulation.paths, for the landscapes) is carried the same way: the old
records for runs taken over, the parent's up to the checkpoint and then the replayed ones for the
others, at the old records' steps. The new simulation keeps the old one's checkpoints that still hold (all of a cohort taken over,
those before the parting step of a branch). tests/app/test_midrun.py checks the results against
fresh simulations of the saved file, bit for bit.
"""

from __future__ import annotations

import json

import numpy as np

from gdsim.build import RunConfig, build, resolve_runs
from gdsim.engine import changes, checkpoints
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
    _take_history(new, old)
    alone = []
    for cohort, _, _ in fresh:
        start = _from_checkpoint(old, old_configs, configs, cohort, step)
        sim = Simulation([cohort], new.runs, history_capacity=new.history.capacity)
        h = sim.history
        if h.fields != new.history.fields or h.capacity != new.history.capacity:
            new = build(loaded)
            new.step(step)
            return new
        if start is not None:
            _continue_at(sim, new, cohort, start)
        if _paths_fit(old, sim):
            _align_path(sim, old, cohort, start)
        if old.checkpoints is not None:  # checkpoints on the way, at the steps the old ones are due
            sim.checkpoints = checkpoints.Checkpoints(1 << 62, old.checkpoints.every, 1 << 30)
            sim.checkpoints.steps, sim.checkpoints.states, sim.checkpoints.sizes = [sim.step_count], [[None]], [0]
        sim.step(step - sim.step_count)
        alone.append((sim, cohort, start))
    for cohort, source, enter in taken:
        vars(cohort).update({k: v for k, v in vars(source).items() if k not in Simulation._FIXED and k not in ("phase", "_keeps_batch")})
        cohort.phase = sum(1 for p in cohort.phases[1:] if p.at < step + (not enter))
        changes.use_phase(cohort)
        if enter:
            changes.enter(cohort, step)
            h = new.history
            if h.count and h.steps[h.count - 1] == step:
                new._record_cohort(h.count - 1, cohort)
    for sim, cohort, _ in alone:
        _copy_columns(new, sim, cohort.rows)
    if _paths_fit(old, new):
        _carry_paths(old, new, alone)
    new.step_count = step
    if old.checkpoints is not None:
        _carry_checkpoints(old, new, taken, alone, step)
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


def _parting(before: RunConfig, after: RunConfig) -> int:
    """The first step at which run `after` may differ from run `before`: 0 if their seed, start or
    settings differ, else the step of their first differing change (or the end: a huge number)."""
    if _prefix(before, 0) != _prefix(after, 0):
        return 0
    mine = [[c.at, *c.settings()] for c in before.changes]
    theirs = [[c.at, *c.settings()] for c in after.changes]
    for a, b in zip(mine, theirs):
        if json.dumps(a, sort_keys=True, default=str) != json.dumps(b, sort_keys=True, default=str):
            return min(a[0], b[0])
    longer = mine[len(theirs):] or theirs[len(mine):]
    return longer[0][0] if longer else 1 << 62


def _from_checkpoint(old: Simulation, old_configs, configs, cohort, step: int):
    """Where a cohort that is not taken over can start: (the checkpoint's step, its state for this
    cohort's runs, the old cohort's rows they come from, whether to enter a change there), or None.

    Each run is matched with an old run of the same seed, start and settings that parts from it
    latest; all must come from one old cohort, and the checkpoint lie before the parting step (at
    it, if neither changes its problem there and the old run has no change there)."""
    kept = old.checkpoints
    if kept is None or not kept.steps:
        return None
    by_start: dict[str, list[int]] = {}  # old runs by seed, start and settings of step 0
    for r in range(old.n_runs):
        by_start.setdefault(_prefix(old_configs[r], 0), []).append(r)
    old_rows, parting = [], []
    for row in cohort.rows.tolist():
        candidates = by_start.get(_prefix(configs[row], 0), [])
        best = max(((_parting(old_configs[r], configs[row]), r) for r in candidates), default=(0, -1))
        if best[0] <= 0:
            return None
        parting.append(best[0])
        old_rows.append(best[1])
    part = min(min(parting), step)
    sources = {i for i, c in enumerate(old.cohorts) if np.isin(old_rows, c.rows).all()}
    if len(sources) != 1:
        return None
    index = sources.pop()
    source = old.cohorts[index]
    positions = np.searchsorted(source.rows, old_rows) if np.all(np.diff(source.rows) > 0) else np.array(
        [int(np.flatnonzero(source.rows == r)[0]) for r in old_rows])
    found = kept.before(part, index)
    if found is None:
        return None
    at, state = found
    enter = False
    if at == part:
        here = [c for c in configs[int(cohort.rows[0])].changes if c.at == at]
        there = [c for r in old_rows for c in old_configs[r].changes if c.at == at]
        if there or any(set(PROBLEM_AT_STEP) & c.change_keys for c in here):
            found = kept.before(at - 1, index) if at > 0 else None
            if found is None:
                return None
            at, state = found
        else:
            enter = bool(here)
    return at, checkpoints.take_rows(state, positions, len(source.rows)), np.asarray(old_rows), enter


def _continue_at(sim: Simulation, new: Simulation, cohort, start) -> None:
    """Put `cohort` (alone in `sim`) at the checkpoint `start`: its state, and its history records
    up to there from the old runs it copies (in `new`'s history, taken over from the old one)."""
    at, state, old_rows, enter = start
    vars(cohort).update(state)
    vars(cohort).pop("params_before", None)
    cohort.phase = sum(1 for p in cohort.phases[1:] if p.at <= at - enter)
    changes.use_phase(cohort)
    h, source = sim.history, new.history
    h.stride = source.stride
    h.count = int(np.searchsorted(source.steps[: source.count], at, side="right"))
    h.steps[:] = source.steps
    for name, data in source._data.items():
        h._data[name][: h.count, cohort.rows] = data[: h.count, old_rows]
    sim.step_count = at
    if enter:
        changes.enter(cohort, at)
        if h.count and h.steps[h.count - 1] == at:
            sim._record_cohort(h.count - 1, cohort)


def _carry_checkpoints(old: Simulation, new: Simulation, taken, alone, step: int) -> None:
    """The checkpoints that hold for the new cohorts: a taken cohort's old ones up to the step
    (before it if it enters a change there); a replayed cohort's old ones before its start (its
    runs' part of them) and those saved while it was stepped to the step."""
    kept = old.checkpoints
    index = {id(c): i for i, c in enumerate(old.cohorts)}
    where = {id(c): i for i, c in enumerate(new.cohorts)}
    rows: dict[int, list] = {}

    def row(at: int) -> list:
        return rows.setdefault(at, [None] * len(new.cohorts))

    for at, states in zip(kept.steps, kept.states):
        if at > step:
            break
        for cohort, source, enter in taken:
            if at < step or not enter:
                row(at)[where[id(cohort)]] = states[index[id(source)]]
        for sim, cohort, start in alone:
            if start is None or at > start[0] or at >= step:
                continue
            i = next((i for i, c in enumerate(old.cohorts) if np.isin(start[2], c.rows).all()), None)
            if i is not None and states[i] is not None:
                source = old.cohorts[i]
                positions = np.array([int(np.flatnonzero(source.rows == r)[0]) for r in start[2]])
                part = checkpoints.take_rows(states[i], positions, len(source.rows), packed=True)
                part["phase"] = sum(1 for p in cohort.phases[1:] if p.at <= at)  # its own phases, the same so far
                row(at)[where[id(cohort)]] = part
    for sim, cohort, _ in alone:
        saved = sim.checkpoints
        for at, states in zip(saved.steps[1:], saved.states[1:]):
            if at <= step:
                row(at)[where[id(cohort)]] = states[0]
    carried = checkpoints.Checkpoints(kept.budget, kept.every, kept.limit, kept.min_kept)
    for at in sorted(rows):
        carried.steps.append(at)
        carried.states.append(rows[at])
        carried.sizes.append(checkpoints.nbytes(rows[at]))
    while len(carried.steps) > carried.limit or carried.nbytes > carried.budget:
        carried._thin()
    new.checkpoints = carried


def _paths_fit(old: Simulation, new: Simulation) -> bool:
    """Whether `new`'s parameter path can hold `old`'s records as they are (same fields and widths,
    the same capacity, so it thins at the same steps as a fresh simulation's would)."""
    o, n = old.paths, new.paths
    return (o is not None and n is not None and o.fields == n.fields and o.capacity == n.capacity
            and all(o._data[k].shape[2:] == n._data[k].shape[2:] for k in o._data))


def _align_path(sim: Simulation, old: Simulation, cohort, start) -> None:
    """A replayed cohort's path at the old path's steps: its parent runs' records up to the
    checkpoint it starts from (only step 0 when it starts there), then recorded at the old stride."""
    p, o = sim.paths, old.paths
    at = 0 if start is None else start[0]
    count = int(np.searchsorted(o.steps[: o.count], at, side="right"))
    p._grow(count)
    p.stride, p.count = o.stride, count
    p.steps[:count] = o.steps[:count]
    if start is None:
        return
    slots = {int(row): i for i, row in enumerate(old.path_rows)}
    parents = dict(zip(cohort.rows.tolist(), start[2].tolist()))
    for j, row in enumerate(sim.path_rows.tolist()):
        slot = slots.get(parents.get(row, -1))
        for name, data in p._data.items():
            data[:count, j] = np.nan if slot is None else o._data[name][:count, slot]


def _carry_paths(old: Simulation, new: Simulation, alone) -> None:
    """`new`'s path: the old records for runs taken over, the replayed simulations' for the others
    (NaN where neither has them, which the landscapes leave out)."""
    o, n = old.paths, new.paths
    count = o.count
    n._grow(count)
    n.stride, n.count = o.stride, count
    n.steps[:count] = o.steps[:count]
    slots = {int(row): i for i, row in enumerate(old.path_rows)}
    replayed = {int(row): sim for sim, cohort, _ in alone for row in cohort.rows}
    for j, row in enumerate(new.path_rows.tolist()):
        source, slot = o, slots.get(row)
        if row in replayed:
            p = replayed[row].paths
            hits = [] if p is None else np.flatnonzero(replayed[row].path_rows == row)
            same = p is not None and p.count == count and np.array_equal(p.steps[:count], o.steps[:count])
            source, slot = (p, int(hits[0])) if same and len(hits) else (None, None)
        for name, data in n._data.items():
            data[:count, j] = np.nan if slot is None else source._data[name][:count, slot]
