"""Changes at step k: per run, "from step k on, these keys have these values", as data.

A [[runs]] entry may hold a list of changes, each a table with `at` (the step, >= 1) and the keys
changed, written as TOML dotted keys (nested tables) or as quoted dotted keys:

    [[runs.changes]]
    at = 150
    optimizer.lr = 0.01          # or "optimizer.lr" = 0.01

A change at step k applies to everything computed for step k on: the batch and gradient of step k
(problem.batch_size, l1, l2, noise), and the update from step k to k+1 (every optimizer key, the
schedule, problem.clip_norm). The optimizer's state carries over with torch's param_groups
semantics; naming another optimizer starts its fresh state (gdsim.engine.cohort). Keys that define
step 0 (the seed, the start point, the problem itself) are refused: changing them restarts the run.

`gdsim run --at STEP:KEY=VALUE` adds a change from the shell (parse_at, with_changes); the app
records the keys pressed mid-run the same way, so a saved session replays byte for byte.
"""

from __future__ import annotations

import copy
from typing import Any

from gdsim.scenario.model import CHANGE_TABLES, RESTARTING, restarts

# ---- adding changes to a raw scenario (the CLI's --at, the app's keys) ----------------------


def add_change(raw: dict[str, Any], entry: int, at: int, keys: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of raw where [[runs]] entry `entry` changes `keys` (dotted) at step `at`,
    merged into a change already at that step; later changes of the entry are kept."""
    new = copy.deepcopy(raw)
    runs = new.get("runs")
    if not isinstance(runs, list) or not runs:
        runs = new["runs"] = [{}]
    run = runs[entry]
    changes = run.get("changes")
    if not isinstance(changes, list):
        changes = run["changes"] = []
    target = next((c for c in changes if isinstance(c, dict) and c.get("at") == at), None)
    if target is None:
        target = {"at": at}
        changes.append(target)
        changes.sort(key=lambda c: c.get("at", 0) if isinstance(c, dict) else 0)
    for dotted, value in keys.items():
        table, _, key = dotted.partition(".")
        node = target.get(table)
        if not isinstance(node, dict):
            node = target[table] = {}
        node[key] = value
    return new


def parse_at(text: str) -> tuple[int, list[str], Any]:
    """'150:optimizer.lr=0.01' -> (150, ['optimizer', 'lr'], 0.01); runs.N. or runs.LABEL. may lead."""
    from gdsim.scenario.load import ScenarioError
    from gdsim.scenario.overrides import parse_assignment

    step, sep, rest = text.partition(":")
    if not sep or not step.strip().isdigit() or int(step) < 1:
        raise ScenarioError(f"--at {text!r}: expected STEP:KEY=VALUE with STEP a whole number >= 1, "
                            "e.g. --at 150:optimizer.lr=0.01")
    parts, value = parse_assignment(rest)
    return int(step), parts, value


def with_changes(loaded, specs: list[str], run: str | None = None):
    """A new validated scenario with each `--at STEP:KEY=VALUE` added as a change.

    KEY is optimizer.lr (every [[runs]] entry, or only the one `run` names: a label or a 0-based
    index) or runs.N.optimizer.lr (entry N)."""
    from gdsim.scenario.load import ScenarioError, validate_raw

    raw = loaded.raw
    entries = raw.get("runs") if isinstance(raw.get("runs"), list) and raw.get("runs") else [{}]
    chosen = list(range(len(entries))) if run is None else [_entry_named(entries, run)]
    for text in specs:
        at, parts, value = parse_at(text)
        targets = chosen
        if parts[0] == "runs":
            if len(parts) < 3:
                raise ScenarioError(f"--at {text}: expected runs.N.KEY=VALUE, e.g. runs.0.optimizer.lr=0.01")
            targets = [_entry_named(entries, parts[1])]
            parts = parts[2:]
        if len(parts) != 2 or parts[0] not in CHANGE_TABLES:
            dotted = ".".join(parts)
            if parts[0] in RESTARTING:
                raise ScenarioError(f"--at {text}: {restarts(parts[0])}")
            raise ScenarioError(f"--at {text}: {dotted!r} is not a key that can change at a step; expected "
                                "optimizer.KEY, schedule.KEY or problem.KEY (e.g. optimizer.lr)")
        for entry in targets:
            raw = add_change(raw, entry, at, {".".join(parts): value})
    try:
        return validate_raw(raw, path=loaded.path, id=loaded.id)
    except ScenarioError as exc:
        raise ScenarioError(f"{exc} (after --at {' '.join(specs)})") from None


def _entry_named(entries: list, name: str) -> int:
    from gdsim.scenario.load import ScenarioError

    labels = [e.get("label") if isinstance(e, dict) else None for e in entries]
    if name in labels:
        return labels.index(name)
    if name.isdigit() and int(name) < len(entries):
        return int(name)
    known = ", ".join(repr(label) for label in labels if label) or "none"
    raise ScenarioError(f"--run/--at: no [[runs]] entry {name!r}: give a label ({known}) or a number "
                        f"from 0 to {len(entries) - 1}")
