"""state_events: the first step of each notice-worthy state, checked against classifying every record."""

from __future__ import annotations

from gdsim.build import build
from gdsim.engine.state_events import state_events
from gdsim.engine.states import run_states
from gdsim.scenario.load import validate_raw

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


def _sim():
    sim = build(validate_raw(RAW, path=None, id="t"))
    sim.step(200)
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
    every = state_events(sim, samples=10_000)  # every record classified
    sampled = state_events(sim)  # SAMPLES records, then bisection between them
    for row in range(sim.n_runs):
        truth = brute_force(sim, row)
        assert _changes(every, row) == truth
        # sampling may miss a state entered and left between two samples (documented), but what it
        # finds is a real change, at its exact first step
        assert set(_changes(sampled, row)) <= set(truth)
    assert (19, "global min") in _changes(sampled, 0)  # a lasting state is found, at the exact step
    assert (8, "growing") in _changes(sampled, 2)
    assert [e.step for e in sampled] == sorted(e.step for e in sampled)


def test_a_divergence_is_an_event_at_its_exact_step():
    sim = _sim()
    diverged = [(e.row, e.step) for e in state_events(sim) if e.state.kind == "diverged"]
    assert diverged == [(2, int(sim.diverged_at[2]))] and sim.diverged_at[2] > 0
    kinds = {e.state.kind for e in state_events(sim) if e.row == 0}
    assert "global min" in kinds  # lr 0.15 reaches the minimum


def test_no_history_no_steps():
    sim = build(validate_raw(RAW, path=None, id="t"))
    assert state_events(sim) == []
    assert state_events(sim, rows=[]) == []
