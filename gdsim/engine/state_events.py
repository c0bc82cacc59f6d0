"""When each run's state changed: the events a presenter jumps between (`[` and `]` in the app).

An event is the first step at which a run entered a state worth a notice (diverged, stopped
early, a minimum or saddle reached, stalled, oscillating, growing...): the classification is
gdsim.engine.states' (`run_states(sim, until=step)`), never decided here. Diverged and stopped
early carry their exact step. The others are found by classifying the history at SAMPLES evenly
spaced recorded steps, then bisecting between the last sample before a change and the first after
it, so a history of thousands of records costs a few dozen classifications, not thousands. A
state entered and left between two samples can be missed; the step found is exact to one record.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from gdsim.engine.states import RunState, run_states

SAMPLES = 48  # recorded steps classified before bisecting; each classification is ~1 ms for a few runs


@dataclass(frozen=True)
class Event:
    """Run `row` (index in the simulation) became `state` at `step`."""

    step: int
    row: int
    state: RunState


def state_events(sim: Any, rows: list[int] | None = None, samples: int = SAMPLES) -> list[Event]:
    """The events of runs `rows` (default: every run), by step then row."""
    rows = list(range(sim.n_runs)) if rows is None else [int(r) for r in rows]
    if not rows:
        return []
    history = sim.history
    steps = history.steps[: history.count] if history is not None and history.count else np.array([0])
    cache: dict[int, list[RunState]] = {}

    def at(index: int) -> list[RunState]:
        if index not in cache:
            cache[index] = run_states(sim, until=int(steps[index]))
        return cache[index]

    picked = sorted({int(round(i)) for i in np.linspace(0, len(steps) - 1, min(samples, len(steps)))})
    live = run_states(sim)
    events: list[Event] = []
    for row in rows:
        events += _events_of(row, picked, at, live[row], steps, sim.step_count)
    events.sort(key=lambda e: (e.step, e.row))
    return events


def _events_of(row: int, picked: list[int], at: Callable[[int], list[RunState]], live: RunState,
               steps: np.ndarray, now: int) -> list[Event]:
    out: list[Event] = []
    if live.kind in ("diverged", "stopped") and live.step is not None:
        out.append(Event(int(live.step), row, live))  # exact, and final: the run is frozen from then on
    previous_index, previous = None, "ok"
    for index in picked:
        state = at(index)[row]
        if state.kind in ("diverged", "stopped"):
            break
        if state.kind != previous and state.severity:
            first = index
            if previous_index is not None:  # bisect for the first record in this state
                low, high = previous_index, index
                while high - low > 1:
                    middle = (low + high) // 2
                    if at(middle)[row].kind == state.kind:
                        high = middle
                    else:
                        low = middle
                first = high
            out.append(Event(int(steps[first]), row, at(first)[row]))
        previous_index, previous = index, state.kind
    else:
        if live.kind != previous and live.severity and int(steps[-1]) < now:
            out.append(Event(now, row, live))  # entered after the last record: at the live step
    return out
