"""state_events: the first step of each notice-worthy state, judged at every record as the engine
steps, checked against classifying every record with run_states (the one classification)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gdsim.build import build
from gdsim.engine.history import History
from gdsim.engine.state_events import state_events
from gdsim.engine.states import run_states
from gdsim.scenario.load import load_scenario, validate_raw

RAW = {
    "scenario": {"title": "t", "claim": "c", "steps": 200},
    "problem": {"surface": "quadratic", "condition": 10},
    "optimizer": {"name": "sgd"},
    "runs": [
        {"label": "just right", "start": [-2.5, 1.5], "optimizer": {"lr": 0.15}},
        {"label": "too large", "start": [-2.5, 1.5], "optimizer": {"lr": 0.19}},
        {"label": "far too large", "start": [-2.5, 1.5], "optimizer": {"lr": 0.21}},
    ],
}
# Oscillating from step 5 until its learning rate drops at 30, at the minimum from 37 on: a state
# entered and left between two of 48 records spread over 2,000 steps (0, 43, 85...).
BRIEF = {
    "scenario": {"title": "t", "claim": "c", "steps": 2000},
    "problem": {"surface": "quadratic", "condition": 10},
    "optimizer": {"name": "sgd"},
    "runs": [{"label": "calmed", "start": [-2.5, 1.5], "optimizer": {"lr": 0.19},
              "changes": [{"at": 30, "optimizer": {"lr": 0.02}}]}],
}
THREE_RUNS = Path(__file__).resolve().parents[1] / "app" / "data" / "three_runs.toml"


def _sim(raw=RAW, steps: int = 200, track: bool = True):
    sim = build(validate_raw(raw, path=None, id="t"))
    if track:
        sim.track_states(range(sim.n_runs))
    sim.step(steps)
    return sim


def brute_force(sim, row: int) -> list[tuple[int, str]]:
    """(step, kind) each time run `row`'s kind changes to one worth a notice, classifying every record."""
    steps = sim.history.steps[: sim.history.count]
    out, previous = [], "ok"
    for step in steps:
        state = run_states(sim, until=int(step))[row]
        if state.kind in ("diverged", "stopped"):
            break
        if state.kind != previous and state.severity:
            out.append((int(step), state.kind))
        previous = state.kind
    return out


def _changes(events, row):
    return [(e.step, e.state.kind) for e in events if e.row == row and e.state.kind not in ("diverged", "stopped")]


def test_events_match_classifying_every_record():
    sim = _sim()
    events = state_events(sim)
    for row in range(sim.n_runs):
        assert _changes(events, row) == brute_force(sim, row)
    assert (19, "global min") in _changes(events, 0)  # a lasting state, at the exact step
    assert (8, "growing") in _changes(events, 2)
    assert [e.step for e in events] == sorted(e.step for e in events)


def test_a_brief_state_between_samples_is_found_at_its_step():
    """Sampling 48 records and bisecting between them found the minimum but never the oscillation
    before it; judging every record as the engine steps finds both, each at its first step."""
    for track in (True, False):  # as the engine stepped, or every record judged afterwards
        sim = _sim(BRIEF, 2000, track)
        changes = _changes(state_events(sim), 0)
        assert changes == brute_force(sim, 0)
        assert changes[:2] == [(5, "oscillating"), (37, "global min")]
        assert run_states(sim, until=5)[0].kind == "oscillating" and run_states(sim, until=4)[0].kind != "oscillating"


def test_events_are_judged_before_the_history_drops_records(monkeypatch):
    """A history that halves itself while the engine steps: the events were judged at every step
    before that, so the brief oscillation (steps 5-36) is still found once only every 2nd (and
    later 4th) step is left in the record."""
    monkeypatch.setattr(History, "__init__", _small_history(History.__init__))
    sim = _sim(BRIEF, 2000)
    assert sim.history.stride >= 4
    assert _changes(state_events(sim), 0)[:2] == [(5, "oscillating"), (37, "global min")]


def _small_history(init):
    def small(self, n_runs, fields, capacity=4096, norms=None, steps=None):
        init(self, n_runs, fields, 512, norms, steps)
    return small


def test_flickering_states_on_rosenbrock_match_every_record():
    """Adam near Rosenbrock's minimum flips between states every few steps: each flip is an event,
    at the step the classification flipped (scalar cohorts record a block at a time)."""
    sim = build(load_scenario(THREE_RUNS))
    sim.track_states(range(3))
    sim.step(1200)
    events = state_events(sim)
    for row in range(3):
        assert _changes(events, row) == brute_force(sim, row)
    assert {e.state.kind for e in events} >= {"oscillating", "global min"}


def test_a_divergence_is_an_event_at_its_exact_step():
    sim = _sim()
    diverged = [(e.row, e.step) for e in state_events(sim) if e.state.kind == "diverged"]
    assert diverged == [(2, int(sim.diverged_at[2]))] and sim.diverged_at[2] > 0
    kinds = {e.state.kind for e in state_events(sim) if e.row == 0}
    assert "global min" in kinds  # lr 0.15 reaches the minimum


def test_events_travel_with_the_engine_state():
    """The app's engine worker steps a copy and sends snapshots: the events come with them."""
    stepped = _sim(BRIEF, 300)
    copy = build(validate_raw(BRIEF, path=None, id="t"))
    copy.restore(stepped.snapshot(None))
    assert state_events(copy) == state_events(stepped)
    mark = stepped.snapshot(None)["mark"]
    stepped.step(300)
    copy.restore(stepped.snapshot(mark))
    assert state_events(copy) == state_events(stepped) and copy.tracker.upto == stepped.tracker.upto


def test_no_history_no_steps():
    sim = build(validate_raw(RAW, path=None, id="t"))
    assert state_events(sim) == []
    assert state_events(sim, rows=[]) == []
    assert np.all(sim.diverged_at < 0)


def test_events_say_how_exactly_they_were_placed():
    """An event judged while every step was recorded is exact (earliest None); one judged once the
    history keeps every 4th step says the state began after the record before: 9,009-9,012."""
    late = {**RAW, "scenario": {"title": "t", "claim": "c", "steps": 10000},
            "runs": [{"label": "late", "start": [-2.5, 1.5], "optimizer": {"lr": 0.0001},
                      "changes": [{"at": 9001, "optimizer": {"lr": 0.19}}]}]}
    sim = _sim(late, 10000)
    assert sim.history.stride == 4
    events = state_events(sim)
    assert [(e.step, e.earliest, e.exact) for e in events] == [(100, None, True), (9012, 9009, False)]
    assert run_states(sim, until=9008)[0].kind != "global min" and run_states(sim, until=9012)[0].kind == "global min"
