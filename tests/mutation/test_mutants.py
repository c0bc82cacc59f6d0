"""Mutation tests: each deliberately broken engine (tests/mutation/mutants.py) must change what the
engine computes on both stepping paths, and make at least one expectation of its killer scenarios
fail, while those scenarios pass on the real engine. `python -m tests.mutation.score` prints the score."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from gdsim.build import build
from gdsim.scenario.load import parse_toml_bytes, validate_raw
from tests.mutation.mutants import MUTANTS, Mutant, applied
from tests.mutation.score import failed_expectations, run_under


def _final_params(probe: str, arrays: bool, observe: str = "params") -> tuple[np.ndarray, bool]:
    """The probe's parameters after its steps (observe="val": its validation loss and metrics),
    and whether a cohort stepped on floats."""
    loaded = validate_raw(parse_toml_bytes(probe.encode(), "probe"), path=None, id="probe", trial_build=False)
    sim = build(loaded, record=False)
    if arrays:
        sim.scalar_max_runs = 0
    floats = bool(sim._scalar_cohorts())
    sim.step(loaded.scenario.scenario.steps)
    if observe == "val":
        return np.concatenate([np.ravel(v) for c in sim.cohorts for v in c.evaluate_split("val").values()]), floats
    return np.concatenate([c.params.ravel() for c in sim.cohorts]), floats


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.name)
def test_the_mutant_changes_the_engine_on_both_paths(mutant: Mutant):
    surface = "surface =" in mutant.probe
    for arrays in (True, False) if surface else (True,):
        clean, clean_floats = _final_params(mutant.probe, arrays, mutant.observe)
        with applied(mutant):
            broken, floats = _final_params(mutant.probe, arrays, mutant.observe)
        if arrays or not mutant.floats:
            assert not clean_floats, "the probe steps on arrays"
        else:
            assert clean_floats and floats, "the probe steps on floats (gdsim.engine.scalar_step)"
        assert np.all(np.isfinite(clean))
        assert not np.array_equal(clean, broken), f"{mutant.name} leaves the {'arrays' if arrays else 'floats'} unchanged"


@functools.lru_cache(maxsize=None)
def _clean_failures(scenario_id: str) -> tuple[str, ...]:
    result = run_under(None, scenario_id)
    return tuple(o.measured for o in result.outcomes if not o.passed)


KILLS = [(m, s) for m in MUTANTS for s in m.killers]


@pytest.mark.parametrize(("mutant", "scenario_id"), KILLS, ids=[f"{m.name}-by-{s}" for m, s in KILLS])
def test_the_killer_scenario_catches_the_mutant(mutant: Mutant, scenario_id: str):
    assert _clean_failures(scenario_id) == (), f"{scenario_id} fails on the real engine"
    result = run_under(mutant, scenario_id)  # an exception here fails the test: a kill must be an expectation
    assert failed_expectations(result), f"{mutant.name} survives {scenario_id}: every expectation still holds"


def test_the_mutant_table_is_well_formed():
    from gdsim.scenario.library import list_entries

    names = [m.name for m in MUTANTS]
    assert len(names) == len(set(names)) and len(names) >= 15
    builtin = {e.id for e in list_entries() if e.builtin}
    for mutant in MUTANTS:
        assert set(mutant.killers) <= builtin, f"{mutant.name}: unknown killer"
