"""Lessons whose checks once held on their own seed only hold on others too.

A lesson quotes its own seed's numbers, but its claims ("more than a third die", "L1 ends
sparse", "early stopping restores the best weights") must not be seed luck. Each scenario here
is verified with every run's seed moved by a few offsets, the data set kept (the lesson is about
this data; a learner pressing `s` changes the run's seed, not the data). natural-gradient is
checked on other data sets too: its point is about the units of the inputs, not these points.
"""

from __future__ import annotations

import copy

import pytest

from gdsim.scenario.library import list_entries
from gdsim.scenario.load import load_scenario, validate_raw
from gdsim.scenario.verify import verify

BUILTIN = {e.id: e for e in list_entries() if e.builtin}

# scenario id -> seed offsets (ensembles move by their size or more, so the seed sets do not overlap)
RUN_SEEDS = {
    "overfitting": (1, 2, 3),
    "train-val-test": (1, 3, 4),
    "hinge-vs-bce": (1, 3, 4),
    "batch-size": (10, 30),
    "l1-sparsity": (8, 32),
    "dying-relu": (100,),
}
DATA_SEEDS = {"natural-gradient": (1, 5, 9)}


def shifted(scenario_id: str, offset: int, *, data: bool = False):
    """The scenario with every run's seed moved by `offset`; the data set moves too if `data`."""
    base = load_scenario(BUILTIN[scenario_id].path, id=scenario_id)
    raw = copy.deepcopy(base.raw)
    seed = raw["scenario"].get("seed", 0)
    if data:
        raw["scenario"]["seed"] = seed + offset
        return validate_raw(raw, path=base.path, id=scenario_id)
    raw["problem"].setdefault("data_seed", seed)
    for run in raw.get("runs", [{}]):
        run["seed"] = run.get("seed", seed) + offset
    return validate_raw(raw, path=base.path, id=scenario_id)


def _check(loaded, where: str) -> None:
    result = verify(loaded)
    failed = [f"{o.expectation.id}: {o.measured}" for o in result.outcomes if not o.passed]
    assert not failed, f"{where}: {failed}"
    assert result.predict is not None and result.predict.confirmed, where


@pytest.mark.parametrize("scenario_id, offset", [(s, o) for s, offsets in RUN_SEEDS.items() for o in offsets])
def test_the_lesson_holds_with_other_run_seeds(scenario_id, offset):
    _check(shifted(scenario_id, offset), f"{scenario_id} with run seeds +{offset}")


@pytest.mark.parametrize("scenario_id, offset", [(s, o) for s, offsets in DATA_SEEDS.items() for o in offsets])
def test_the_lesson_holds_on_other_data(scenario_id, offset):
    _check(shifted(scenario_id, offset, data=True), f"{scenario_id} with seed +{offset}")


def test_a_shift_really_changes_the_runs():
    # The check above would pass vacuously if the shift changed nothing.
    from gdsim.build import resolve_runs

    plain = resolve_runs(shifted("overfitting", 0))
    moved = resolve_runs(shifted("overfitting", 3))
    assert [c.seed + 3 for c in plain] == [c.seed for c in moved]
    assert all(c.problem.get("data_seed") == p.problem.get("data_seed") for c, p in zip(moved, plain))
