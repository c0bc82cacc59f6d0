"""When each run's state changed: the events a presenter jumps between (`[` and `]` in the app).

An event is the first step at which a run entered a state worth a notice (diverged, stopped
early, a minimum or saddle reached, stalled, oscillating, growing...). The classification is
gdsim.engine.states' (each record judged exactly as `run_states(sim, until=its step)` judges it),
never decided here. A StateTracker attached to a simulation (`Simulation.track_states`) judges
every history record as it is written, before a compaction can drop it, so a state entered and
left between any two steps is found at the step it was entered (to the record: every step while
the history keeps every step, every `stride`-th after). Diverged and stopped early carry the
exact step of their flag.

Judging a record costs a window of up to WINDOW_STEPS records per run, so the windows of many
records are judged in one pass (`judge_records`: the runs of every window side by side, as one
ensemble); a few runs judged at every step cost about a tenth of what stepping them costs once
the history thins out, more while it still holds every step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from gdsim.engine.run_state import WINDOW_STEPS, RunState
from gdsim.engine.state_rules import Path, Window, judge, moves_of
from gdsim.engine.states import facts_of, state_of

CHUNK_VALUES = 2_000_000  # judge at most about this many window values at once (memory: 8 bytes each)
BATCH = 256  # records judged together while stepping (all that wait are judged before a compaction or a read)
MAX_EVENTS = 10_000  # per simulation; a run flipping between two states for ever stops adding events


@dataclass(frozen=True)
class Event:
    """Run `row` (index in the simulation) became `state` at `step`: exactly there where the history
    recorded every step when it was judged, else somewhere from `earliest` (the step after the record
    before) to `step`."""

    step: int
    row: int
    state: RunState
    earliest: int | None = None  # None: exactly at `step` (a flag's step, or a record of every step)

    @property
    def exact(self) -> bool:
        return self.earliest is None or self.earliest >= self.step


def _entries(sim: Any, rows) -> np.ndarray:
    """`rows` and every other run of their [[runs]] entries (a run is judged against its group's seeds)."""
    groups = {sim.runs[int(r)].group for r in rows}
    return np.array([r for r, run in enumerate(sim.runs) if run.group in groups], dtype=np.int64)


def judge_records(sim: Any, rows: np.ndarray, first: int, end: int, span: int = WINDOW_STEPS):
    """Judge runs `rows` (whole [[runs]] entries, ascending) at history records first..end-1, each
    as run_states(sim, until=its step) does. Yields (record steps (T,), kinds (T, len(rows)) with
    the flags applied, state(t, j) -> RunState) for consecutive blocks of records."""
    history = sim.history
    steps = history.steps[: history.count]
    facts = facts_of(sim)
    local = {int(r): j for j, r in enumerate(rows)}
    groups = []
    for cohort_rows, known in facts["groups"]:
        mine = np.array([local[int(r)] for r in cohort_rows if int(r) in local], dtype=np.int64)
        if len(mine):
            groups.append((mine, known))
    seeds: dict[str, list[int]] = {}
    for j, r in enumerate(rows):
        seeds.setdefault(sim.runs[int(r)].group, []).append(j)
    entries = [np.array(js) for js in seeds.values() if len(js) >= 2]
    per_run = {name: np.asarray(facts[name])[rows] for name in ("floor", "noisy", "convex", "known_floor", "chance")}
    best = None if facts["best"] is None else np.asarray(facts["best"])[rows]
    diverged, stopped = np.asarray(sim.diverged_at)[rows], np.asarray(sim.stopped_at)[rows]
    fields = ("loss", "grad_norm") + (("params",) if sim.small else ()) + (("lr",) if "lr" in history.fields else ())
    start = history.recent(fields, 0, 1) if int(steps[0]) == 0 else None
    indices = np.arange(first, end)
    begins = np.maximum(0, np.searchsorted(steps, np.maximum(0, steps[indices] - span), side="right") - 1)
    widths = indices - begins + 1
    size = len(rows) * (1 + (sim.n_params or 0) if sim.small else 1)
    at = 0
    while at < len(indices):  # blocks of windows of one width and one span, at most CHUNK_VALUES values
        width, spread = widths[at], steps[indices[at]] - steps[begins[at]]
        stop = at + 1
        limit = max(1, CHUNK_VALUES // (width * size))
        while (stop < len(indices) and stop - at < limit and widths[stop] == width
               and steps[indices[stop]] - steps[begins[stop]] == spread):
            stop += 1
        with np.errstate(all="ignore"):
            block = _judge_block(history, steps, fields, start, indices[at:stop], begins[at:stop], int(width), rows,
                                 groups, entries, per_run, best, diverged, stopped)
        yield block
        at = stop


def _judge_block(history, steps, fields, start, indices, begins, width, rows, groups, entries, per_run, best,
                 diverged, stopped):
    """judge_records for windows of one shape: their runs side by side (run j of window t is t*R + j)."""
    count, runs = len(indices), len(rows)
    low = int(begins.min())
    got = {name: values[:, rows] for name, values in history.recent(fields, low, int(indices.max()) + 1).items()
           if name != "steps"}
    window_rows = begins[None, :] - low + np.arange(width)[:, None]  # (n, T) positions in `got`

    def side_by_side(name):  # (n, T, R, ...) -> (n, T*R, ...), window t's runs at t*R...
        values = got[name][window_rows]
        return values.reshape(width, count * runs, *values.shape[3:])

    tile = lambda a: np.tile(np.asarray(a), count)  # noqa: E731  (per run -> per run of each window)
    at_steps = steps[indices]
    now = int(at_steps[-1])
    loss_now = got["loss"][indices - low]  # (T, R)
    gone = (diverged >= 0)[None, :] & (diverged[None, :] <= at_steps[:, None])
    better = np.full((count, runs), np.inf)
    usable = np.where(np.isfinite(loss_now) & ~gone, loss_now, np.inf)
    for js in entries:  # the lowest loss of the OTHER seeds of the entry (states._better, per window)
        values = usable[:, js]
        order = np.argsort(values, axis=1, kind="stable")
        lowest = np.take_along_axis(values, order[:, :1], axis=1)[:, 0]
        second = np.take_along_axis(values, order[:, 1:2], axis=1)[:, 0]
        better[:, js] = lowest[:, None]
        better[np.arange(count), js[order[:, 0]]] = second
    first_at, last_at = begins - low, indices - low  # each window's first and last record in `got`
    loss = side_by_side("loss")
    grad = np.stack([got["grad_norm"][first_at], got["grad_norm"][last_at]]).reshape(2, count * runs)
    params = path = None
    if "params" in got:  # the moves of the path once per record, then summed per window
        params = got["params"][last_at].reshape(1, count * runs, -1)
        lengths, valid, reverses = moves_of(got["params"])
        before = lambda flags: np.concatenate([np.zeros((1, runs), np.int64), np.cumsum(flags, axis=0)])  # noqa: E731
        pairs, turns = before(valid), before(reverses)
        ends = np.maximum(last_at - 1, first_at)  # pairs first_at .. last_at-2 (none in a window of < 3 records)
        path = Path(lengths[window_rows[:-1]].reshape(width - 1, count * runs),
                    (pairs[ends] - pairs[first_at]).ravel(), (turns[ends] - turns[first_at]).ravel())
    lr = None
    if "lr" in got:  # only whether it was 0 throughout each window
        moved = np.concatenate([np.zeros((1, runs), np.int64), np.cumsum(got["lr"] != 0, axis=0)])
        lr = np.where(moved[last_at + 1] - moved[first_at] == 0, 0.0, 1.0).reshape(1, count * runs)
    if start is not None:
        start_loss, start_grad = tile(start["loss"][0][rows]), tile(start["grad_norm"][0][rows])
        start_params = np.tile(start["params"][0][rows], (count, 1)) if params is not None else None
    else:  # no record of step 0: each window is judged from its own first record
        start_loss, start_grad, start_params = loss[0], grad[0], None
    window = Window(steps[begins[-1] : indices[-1] + 1].copy(), loss, grad, start_loss, start_grad, params, lr,
                    start_params, path)
    offsets = (np.arange(count) * runs)[:, None]
    judged = judge(window, [((offsets + mine[None, :]).ravel(), known) for mine, known in groups],
                   tile(per_run["noisy"]), tile(per_run["floor"]), tile(per_run["convex"]),
                   tile(per_run["known_floor"]), tile(per_run["chance"]), better.ravel())
    flag = lambda a: np.where((a >= 0)[None, :] & (a[None, :] <= at_steps[:, None]), a[None, :], -1).ravel()  # noqa: E731
    diverged_v, stopped_v = flag(diverged), flag(stopped)
    best_v = None if best is None else tile(best)
    kinds = judged.kinds.reshape(count, runs).copy()
    kinds[(diverged_v >= 0).reshape(count, runs)] = "diverged"
    kinds[((stopped_v >= 0) & (diverged_v < 0)).reshape(count, runs)] = "stopped"
    last = loss_now.ravel()

    def state(t: int, j: int) -> RunState:
        return state_of(judged, t * runs + j, last, diverged_v, stopped_v, best_v, now, window.span)

    return at_steps, kinds, state


class StateTracker:
    """Judges runs `rows` of `sim` at every history record as it is written (catch_up(), which the
    simulation calls after stepping and before its history drops records) and keeps their events."""

    def __init__(self, sim: Any, rows) -> None:
        self.sim = sim
        self.rows = sorted({int(r) for r in rows})
        self.judged = _entries(sim, self.rows) if self.rows else np.zeros(0, dtype=np.int64)
        self.upto = -1  # the last step judged
        self.previous = {r: "ok" for r in self.rows}  # each run's kind at that step
        self.ended: set[int] = set()  # runs judged up to their divergence or early stop
        self.flagged: set[int] = set()  # runs whose divergence or early stop is an event already
        self.events: list[Event] = []

    @classmethod
    def attach(cls, sim: Any, rows) -> "StateTracker | None":
        """A tracker of `sim`'s runs `rows`, caught up with the records already there (None without a history)."""
        if sim.history is None:
            return None
        tracker = cls(sim, rows)
        tracker.catch_up()
        return tracker

    @classmethod
    def received(cls, sim: Any, delta: dict) -> "StateTracker | None":
        """`sim`'s tracker brought up to date with delta() of a copy's (the app's engine worker)."""
        tracker = sim.tracker
        if sim.history is None:
            return tracker
        if tracker is None or tracker.rows != delta["rows"]:
            tracker = cls(sim, delta["rows"])
        tracker.apply(delta)
        return tracker

    def pending(self) -> tuple[int, int]:
        """(records not judged yet, the step of the first of them or -1)."""
        history = self.sim.history
        if not self.rows or history is None or not history.count:
            return 0, -1
        first = int(np.searchsorted(history.steps[: history.count], self.upto, side="right"))
        return history.count - first, int(history.steps[first]) if first < history.count else -1

    def stepped(self) -> None:
        """After the simulation stepped: judge now what would cost the same later (windows of the first
        WINDOW_STEPS steps, each of its own width), else only once BATCH records wait (one pass
        over many windows costs much less per record than many passes over a few)."""
        waiting, first = self.pending()
        if waiting >= BATCH or 0 <= first <= WINDOW_STEPS:
            self.catch_up()
        else:
            self._frozen()

    def catch_up(self, limit: int | None = None) -> None:
        """Judge the records written since the last call (at most `limit` of them, the oldest: the
        app hands a tracker back in slices, gdsim/app/runtime/session.py), and note runs frozen since."""
        sim, history = self.sim, self.sim.history
        if not self.rows or history is None or not history.count:
            return
        steps = history.steps[: history.count]
        first = int(np.searchsorted(steps, self.upto, side="right"))
        end = history.count if limit is None else min(history.count, first + max(1, limit))
        if first < end:
            position = {int(r): j for j, r in enumerate(self.judged)}
            for at_steps, kinds, state in judge_records(sim, self.judged, first, end):
                # the record before each (a state seen at a record was entered after the one before it)
                previous = steps[np.maximum(np.searchsorted(steps, at_steps) - 1, 0)]
                for row in self.rows:
                    if row not in self.ended:
                        self._changes(row, at_steps, previous, kinds[:, position[row]], state, position[row])
            self.upto = int(steps[end - 1])
        self._frozen()

    def _changes(self, row: int, at_steps: np.ndarray, previous: np.ndarray, kinds: np.ndarray, state, j: int) -> None:
        frozen = np.flatnonzero((kinds == "diverged") | (kinds == "stopped"))
        if len(frozen):  # judged no further: its flag's event (exact step) is added by _frozen
            kinds = kinds[: frozen[0]]
            self.ended.add(row)
        if not len(kinds):
            return
        before = np.concatenate([[self.previous[row]], kinds[:-1]])
        for t in np.flatnonzero(kinds != before):
            found = state(int(t), j)
            if found.severity and len(self.events) < MAX_EVENTS:
                step, gap = int(at_steps[t]), int(at_steps[t] - previous[t])
                self.events.append(Event(step, row, found, None if gap <= 1 else step - gap + 1))
        self.previous[row] = str(kinds[-1])

    def _frozen(self) -> None:
        sim = self.sim
        diverged, stopped = sim.diverged_at, sim.stopped_at
        best = None
        for row in self.rows:
            if row in self.flagged:
                continue
            d, s = int(diverged[row]), int(stopped[row])
            if 0 <= d <= sim.step_count:
                self.events.append(Event(d, row, RunState("diverged", step=d)))
            elif 0 <= s <= sim.step_count:
                best = facts_of(sim)["best"] if best is None else best
                b = None if best is None or best[row] < 0 else int(best[row])
                self.events.append(Event(s, row, RunState("stopped", step=s, best=b, loss=float(sim.loss[row]))))
            else:
                continue
            self.flagged.add(row)

    def sorted_events(self, rows=None) -> list[Event]:
        wanted = None if rows is None else {int(r) for r in rows}
        return sorted((e for e in self.events if wanted is None or e.row in wanted), key=lambda e: (e.step, e.row))

    # -- copying to another process (the app's engine worker), as the history is -------------------
    def mark(self) -> int:
        return len(self.events)

    def delta(self, since: int | None) -> dict:
        start = 0 if since is None or since > len(self.events) else since
        return {"rows": self.rows, "upto": self.upto, "previous": dict(self.previous), "ended": set(self.ended),
                "flagged": set(self.flagged), "start": start, "events": self.events[start:]}

    def apply(self, delta: dict) -> None:
        self.upto, self.previous, self.ended = delta["upto"], dict(delta["previous"]), set(delta["ended"])
        self.flagged = set(delta["flagged"])
        self.events[delta["start"]:] = delta["events"]


def state_events(sim: Any, rows: list[int] | None = None) -> list[Event]:
    """The events of runs `rows` (default: every run), by step then row: the simulation's tracker's
    where it tracks them, else found now by judging every record the history holds."""
    rows = list(range(sim.n_runs)) if rows is None else [int(r) for r in rows]
    if not rows:
        return []
    tracker = getattr(sim, "tracker", None)
    if tracker is not None and set(rows) <= set(tracker.rows):
        tracker.catch_up()
        return tracker.sorted_events(rows)
    fresh = StateTracker(sim, rows)
    fresh.catch_up()
    return fresh.sorted_events()
