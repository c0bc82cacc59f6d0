"""A key that changes a setting mid-run: continue from the current step, or branch from a past one.

The change is data in the scenario (gdsim.scenario.changes): at the live step k the selected
[[runs]] entry gets a [[runs.changes]] at k; rewound to step k, a new entry `A′ @k` is added (A's
entry, its changes up to k, and the new one at k) and A goes on as it was. The Session rebuilds
the simulation from that scenario and replays it to the step it had reached: replay is
deterministic, so every run has exactly the bits it had, and the branch starts from A's exact
state at k (parameters, optimizer state, sampler streams, schedule, batch-norm statistics): the
state a fresh run of the saved file reaches at k. Before any step (step 0), the keys are set on
the entry itself, which restarts nothing that has run.
"""

from __future__ import annotations

import copy
from typing import Any, NamedTuple

from gdsim.scenario.changes import add_change
from gdsim.scenario.load import LoadedScenario, validate_raw

BRANCH_MARK = "′"


class Tweak(NamedTuple):
    """A changed scenario, what to say, and how far to replay it (0: from step 0, as a restart)."""

    loaded: LoadedScenario
    message: str
    replay: int = 0
    select_entry: int | None = None  # the [[runs]] entry to select afterwards (a new branch)


def phase_at(cohort, step: int):
    """The cohort's settings (gdsim.engine.changes.Phase) in effect at `step`."""
    phases = [p for p in cohort.phases if p.at <= step]
    return phases[-1] if phases else cohort.phases[0]


def config_at(config, step: int):
    """A run's RunConfig in effect at `step`: its own, or that of its latest change up to `step`."""
    changes = [c for c in config.changes if c.at <= step]
    return changes[-1] if changes else config


def carried(optimizer: Any, same_optimizer: bool = True) -> str:
    """What a change of hyperparameters keeps, in words, for `optimizer` (an engine Optimizer)."""
    if not same_optimizer:
        return f"{optimizer.name} starts its fresh state at the current point"
    name, hyper = optimizer.name, optimizer.hyper
    if name == "sgd" and hyper.get("momentum"):
        return "momentum buffer kept"
    if name in ("adam", "adamw"):
        return "Adam's moments and step count kept"
    if name == "rmsprop":
        return "square average kept" + (" and momentum buffer" if hyper.get("momentum") else "")
    if name == "adagrad":
        return "sum of squared gradients kept"
    return "parameters kept"


def apply(session, run, keys: dict[str, Any], what: str, why: str, replace: tuple[str, ...] = ()) -> Tweak:
    """The scenario with `keys` (dotted) changed for the selected run at the shown step, as a
    restart (nothing has run), a change at the live step, or a branch from a rewound step.
    Set before step 0, the tables named in `replace` are replaced, not merged (another optimizer)."""
    sim = session.sim
    step = session.shown_step
    raw = session.loaded.raw
    if sim.step_count == 0:
        raw = copy.deepcopy(raw)
        set_keys(_runs(raw)[run.entry], keys, replace)
        return Tweak(_validated(session, raw), f"{run.label}: {what}")
    if session.cursor is None:
        raw = add_change(raw, run.entry, step, keys)
        return Tweak(_validated(session, raw), f"{run.label}: {what} from step {step:,}; {why}", replay=step)
    raw, _, entry = branch(session, run, step, keys, replace)  # its label is shown as "run D′ @k" while neutral
    return Tweak(_validated(session, raw),
                 f"{run.label}{BRANCH_MARK} @{step}: a branch of {run.label} from its state at step {step:,}, {what}; "
                 f"{why}; "
                 f"{run.label} goes on as it was", replay=sim.step_count, select_entry=entry)


def branch(session, run, step: int, keys: dict[str, Any], replace: tuple[str, ...] = ()) -> tuple[dict, str, int]:
    """The raw scenario with a new [[runs]] entry: run's entry and its changes up to `step`, then
    `keys` changed at `step`; its label and index."""
    raw = copy.deepcopy(session.loaded.raw)
    runs = _runs(raw)
    entry = copy.deepcopy(runs[run.entry])
    kept = [c for c in entry.get("changes", []) if isinstance(c, dict) and c.get("at", 0) <= step]
    entry.pop("changes", None)
    if kept:
        entry["changes"] = kept
    group = str(session.configs[int(run.rows[0])].group)
    taken = {c.group for c in session.configs}
    base = f"{group[:40]}{BRANCH_MARK} @{step}"
    label, n = base, 2
    while label in taken:
        label, n = f"{base} ({n})", n + 1
    entry["label"] = label
    if len(runs) == 1 and "label" not in runs[0]:
        runs[0]["label"] = group
    runs.append(entry)
    raw["runs"] = runs
    index = len(runs) - 1
    if step == 0:
        set_keys(entry, keys, replace)
        return raw, label, index
    return add_change(raw, index, step, keys), label, index


def set_keys(entry: dict[str, Any], keys: dict[str, Any], replace: tuple[str, ...] = ()) -> None:
    """Set dotted `keys` on a [[runs]] entry; the tables in `replace` start empty."""
    for table in replace:
        entry.pop(table, None)
    for dotted, value in keys.items():
        table, _, key = dotted.partition(".")
        _table(entry, table)[key] = value


def _runs(raw: dict) -> list[dict]:
    runs = raw.get("runs")
    if not isinstance(runs, list) or not runs:
        runs = raw["runs"] = [{}]
    return runs


def _table(entry: dict[str, Any], name: str) -> dict[str, Any]:
    table = entry.get(name)
    if not isinstance(table, dict):
        table = entry[name] = {}
    return table


def _validated(session, raw: dict) -> LoadedScenario:
    loaded = session.loaded
    return validate_raw(raw, path=loaded.path, id=loaded.id, trial_build=False)
