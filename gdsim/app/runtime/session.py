"""The app's model of one open scenario: the Simulation, its run/pause state, speed and rewind cursor.

Free of Textual so it can be driven and tested headless. The screen calls `advance(dt, budget)` on
a steady timer: the engine is stepped in chunks until either the speed's share of steps for `dt`
seconds is done or `budget` seconds of work are spent, so input is never blocked for longer than
one budget, and there is no message per engine step.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from gdsim.build import RunConfig, build, resolve_runs
from gdsim.engine.checkpoints import SERVED as SERVED_CHECKPOINTS
from gdsim.engine.simulation import Cohort, Simulation
from gdsim.engine.states import RunState, run_states
from gdsim.scenario.library import served
from gdsim.scenario.load import LoadedScenario
from gdsim.app.text import clean
from gdsim.app.runtime.following import Following

SPEEDS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 0)  # steps/s; 0 = flat out
IN_FLIGHT = 3  # worker requests kept in flight: 75 ms of work queued, so a tick late by 25 ms still finds the worker busy
ENSEMBLE_MIN = 8  # an entry with at least this many seeds is drawn as a band, not as lines
STATE_PERIOD = 0.25  # while running, run states are judged again at most this often (seconds)


@dataclass(frozen=True)
class DisplayRun:
    """What the screen shows as one run: a single run, or an ensemble's seeds as one band."""

    label: str
    rows: np.ndarray
    colour: int
    entry: int
    ensemble: bool

    @property
    def letter(self) -> str:
        from gdsim.app.draw.palette import letter

        return letter(self.colour)


def speed_label(speed: int) -> str:
    return "max" if speed == 0 else f"{speed:,}/s"


def default_speed_index(steps: int) -> int:
    """A speed that plays the scenario's default length in about eight seconds."""
    wanted = max(1.0, steps / 8)
    finite = [i for i, s in enumerate(SPEEDS) if s]
    return min(finite, key=lambda i: abs(np.log(SPEEDS[i] / wanted)))


class Session(Following):
    """One open scenario and everything the screen needs to draw it."""

    def __init__(self, loaded: LoadedScenario, original: LoadedScenario | None = None):
        self.original = original or loaded
        self.running = False
        self.cursor: int | None = None  # a recorded step being looked at; None = the live step
        self.selected = 0  # index into self.display
        self.version = 0  # bumped on every change the screen must redraw
        self.events: list[str] = []  # plain-language news for the screen to show once
        self.speed_index = default_speed_index(loaded.scenario.scenario.steps)
        self._carry = 0.0
        self._step_cost = 2e-4  # seconds per step, learnt as we go
        self.worker = None  # an EngineWorker stepping for us at full speed, when the screen gives one
        self.lr_before_newton: dict[int, float] = {}  # [[runs]] entry -> its lr when `o` switched it to newton
        self._synced: int | None = None  # the worker token under which it holds our current state
        # While a [predict] question is not revealed, runs are shown as "run A", "run B": the
        # scenario's own labels ("too small", "just right") would give the answer away.
        self.neutral = False
        self.answers: list = []  # the learner's answers (gdsim.scenario.predict.PredictAnswer), oldest first
        self._states: tuple | None = None  # (key, step, time, states): see states()
        # Following a presenter in a room (room_scene.follow_step): (their step, whether they play).
        # advance() then runs up to their step as fast as the budget allows, never past it.
        self._hold: tuple[int, bool] | None = None
        self._resting_tracker = None  # the state tracker, set aside while following (see hold)
        self._returning_tracker = None  # ... and after breaking away, until it has judged what was written meanwhile
        self.rebuild(loaded)

    # -- building ------------------------------------------------------------------------------
    def rebuild(self, loaded: LoadedScenario, replay: int = 0, select_entry: int | None = None) -> None:
        """Start over with `loaded` (the same settings for reset, new ones after a change); with
        `replay`, stepped to that step again (a change mid-run or a branch, gdsim.app.branches:
        replay is deterministic, so every run has the bits it had, and a branch starts from its
        parent's exact state)."""
        old = getattr(self, "sim", None)
        if replay:
            from gdsim.app.runtime.replay import replay as replayed

            sim = replayed(self.sim, self.configs, loaded, replay)
        else:
            sim = build(loaded)
            if not sim.small:  # networks: branches, batch-size changes and the Data tab rewound start
                # from them (2-D surfaces step again from 0 in a blink); a served one in a smaller budget
                sim.keep_checkpoints(**(SERVED_CHECKPOINTS if served() else {}))
        stop_at = max(loaded.scenario.scenario.steps, getattr(self, "stop_at", 0) if replay else 0)
        self.loaded = loaded
        self.sim: Simulation = sim
        self.configs: list[RunConfig] = resolve_runs(loaded)
        self.display = self._display_runs()
        self._track_states(old if replay else None)
        self.selected = min(self.selected, len(self.display) - 1)
        if select_entry is not None:
            self.selected = next((i for i, run in enumerate(self.display) if run.entry == select_entry), self.selected)
        self.cursor = None
        self.stop_at = stop_at
        self._carry = 0.0
        self._changed_here()
        self.version += 1

    def _track_states(self, old: Simulation | None) -> None:
        """Have the engine judge the runs shown alone (not an ensemble's seeds) at every record as it
        steps, for `[` and `]` (gdsim.engine.state_events). A replay to the step the old simulation
        reached repeats its records bit for bit, so the old judgements carry over where the runs did."""
        rows = [int(run.rows[0]) for run in self.display if not run.ensemble]
        tracker = getattr(old, "tracker", None)
        returning = self._returning_tracker
        if tracker is None and returning is not None and old is not None and returning.sim is old:
            tracker = returning  # handed back after following, not caught up yet: it goes on in slices
        self._returning_tracker = None
        if (tracker is not None and tracker.rows == sorted(rows) and old.n_runs == self.sim.n_runs
                and [r.group for r in old.runs] == [r.group for r in self.sim.runs]
                and tracker.upto <= self.sim.step_count):
            tracker.sim = self.sim
            if tracker is returning:
                self._returning_tracker = tracker
            else:
                self.sim.tracker = tracker
                tracker.catch_up()
        else:
            self.sim.track_states(rows)
        self._resting_tracker = None
        self.hold = self._hold  # following: set the new tracker aside too

    def _changed_here(self) -> None:
        """The simulation changed in this process: the worker's copy and any reply in flight are stale."""
        self._synced = None
        if self.worker is not None:
            self.worker.invalidate()

    def reset(self) -> None:
        self.rebuild(self.loaded)

    def _display_runs(self) -> list[DisplayRun]:
        by_entry: dict[int, list[int]] = {}
        for row, config in enumerate(self.configs):
            by_entry.setdefault(config.entry, []).append(row)
        display = []
        for entry, rows in by_entry.items():
            if len(rows) >= ENSEMBLE_MIN:
                label = clean(self.configs[rows[0]].group, keep_newlines=False)
                display.append(DisplayRun(self._shown_label(label, len(display)), np.array(rows),
                                          len(display), entry, True))
            else:
                for row in rows:
                    label = clean(self.sim.runs[row].label, keep_newlines=False)
                    display.append(DisplayRun(self._shown_label(label, len(display)), np.array([row]),
                                              len(display), entry, False))
        return display

    def _shown_label(self, label: str, colour: int) -> str:
        if not self.neutral:
            return label
        from gdsim.app.draw.palette import letter

        return f"run {letter(colour)}"

    def set_neutral(self, neutral: bool) -> None:
        """Show neutral run labels ("run A") or the scenario's own ones (at the reveal)."""
        if neutral != self.neutral:
            self.neutral = neutral
            self.display = self._display_runs()
            self.version += 1

    def states(self) -> list[RunState]:
        """Every run's state in words (gdsim.engine.states) at the shown step. While running they
        are judged again at most every STATE_PERIOD seconds (about 1 ms for a few runs, a few ms
        for an ensemble: not at every redraw); at once after a key, a pause or a rewind."""
        key = (id(self.sim), self.cursor)
        now = time.monotonic()
        cached = self._states
        if cached is not None and cached[0] == key and (
                cached[1] == self.sim.step_count or (self.running and now - cached[2] < STATE_PERIOD)):
            return cached[3]
        states = run_states(self.sim, self.cursor)
        self._states = (key, self.sim.step_count, now, states)
        return states

    @property
    def modified(self) -> bool:
        return self.loaded.raw != self.original.raw

    # -- the selected run ----------------------------------------------------------------------
    @property
    def current(self) -> DisplayRun:
        return self.display[self.selected]

    def select(self, index: int) -> None:
        index = max(0, min(index, len(self.display) - 1))
        if index != self.selected:
            self.selected = index
            self.version += 1

    def cohort_of(self, row: int) -> tuple[Cohort, int]:
        """The cohort holding run `row` and the run's index inside it."""
        for cohort in self.sim.cohorts:
            hits = np.flatnonzero(cohort.rows == row)
            if len(hits):
                return cohort, int(hits[0])
        raise IndexError(row)

    # -- stepping ------------------------------------------------------------------------------
    @property
    def speed(self) -> int:
        return SPEEDS[self.speed_index]

    def change_speed(self, delta: int) -> None:
        self.speed_index = max(0, min(len(SPEEDS) - 1, self.speed_index + delta))
        self._carry = 0.0
        self.version += 1

    def toggle(self) -> None:
        """Run or pause; running from a rewound view goes back to the live step first."""
        if self.running:
            self.running = False
            self._changed_here()  # pause at the step shown: a reply still on its way is dropped
        else:
            if self.sim.all_frozen:
                self.events.append("every run has stopped (diverged or stopped early); press r to reset")
                return
            self.cursor = None
            if self.sim.step_count >= self.stop_at:
                self.stop_at = self.sim.step_count + self.loaded.scenario.scenario.steps
            self.running = True
        self._carry = 0.0
        self.version += 1

    def step(self, n: int = 1) -> int:
        """Take n steps now (n is capped so a key press never blocks for long); returns steps taken."""
        self.cursor = None
        self._changed_here()
        n = max(0, int(n))
        start = self.sim.step_count
        deadline = time.perf_counter() + 2.0
        while n > 0 and not self.sim.all_frozen and time.perf_counter() < deadline:
            chunk = min(n, 500)
            self.sim.step(chunk)
            n -= chunk
        self.version += 1
        return self.sim.step_count - start

    def advance(self, dt: float, budget: float) -> int:
        """Step for one timer tick of `dt` seconds, spending at most `budget` seconds; steps taken."""
        if not self.running:
            return 0
        if self.sim.all_frozen:
            self.running = False
            self.events.append("every run has stopped; press r to reset")
            self.version += 1
            return 0
        if self._returning_tracker is not None:  # just broke away: judge what was written meanwhile, in slices
            self._return_tracker(budget / 2)
        if self.hold is not None:
            return self._advance_held(budget)
        if self.speed:
            self._carry += self.speed * dt
            wanted = int(self._carry)
            self._carry -= wanted
        else:
            wanted = 1 << 30
        wanted = min(wanted, self.stop_at - self.sim.step_count)
        if self.worker is not None and self.speed == 0 and self.worker.alive and self.worker.ready:
            done = self._advance_in_worker()
        else:
            if self._synced is not None:
                self._changed_here()  # stepping here from now on: the worker's replies are stale
            done = self._advance_here(wanted, budget)
        if self.speed:
            self._carry = min(self._carry, self.speed * dt)  # never bank a backlog of steps
        if self.sim.step_count >= self.stop_at:
            self.running = False
            self._changed_here()
            self.events.append(
                f"paused at step {self.sim.step_count:,}, the scenario's length; space runs on"
            )
        if done:
            self.version += 1
        return done

    def _advance_in_worker(self) -> int:
        """Flat out: apply the worker's replies, and keep IN_FLIGHT requests in flight."""
        worker = self.worker
        done = 0
        for steps, snapshot in worker.replies():
            self.sim.restore(snapshot)
            done += steps
        if self.sim.all_frozen or self.sim.step_count >= self.stop_at:
            return done
        if self._synced != worker.token:
            if worker.outstanding:
                return done  # stale replies still on their way: let them drain before starting afresh
            self._synced = worker.load(self.loaded, self.sim.snapshot(None))
        while worker.outstanding < IN_FLIGHT:
            worker.request(self.stop_at)
        return done

    def _advance_here(self, wanted: int, budget: float) -> int:
        done, self._step_cost = self.sim.step_for(budget, wanted, self._step_cost)
        return done

    # -- rewinding -----------------------------------------------------------------------------
    @property
    def shown_step(self) -> int:
        return self.sim.step_count if self.cursor is None else self.cursor

    def scrub(self, delta: int) -> None:
        """Move the rewind cursor `delta` records (negative = back); pauses the run."""
        history = self.sim.history
        if history is None or history.count == 0:
            return
        self.running = False
        index = history.index_at(self.shown_step) + delta
        index = max(0, min(history.count - 1, index))
        step = int(history.steps[index])
        self.cursor = None if step >= self.sim.step_count else step
        self.version += 1

    def scrub_fraction(self, fraction: float) -> None:
        """Move the cursor by a fraction of the recorded history (e.g. -0.1 = back a tenth)."""
        history = self.sim.history
        if history is not None:
            self.scrub(int(round(fraction * history.count)) or (1 if fraction > 0 else -1))

    def cursor_for(self, step: int | None) -> int | None:
        """Where the rewind cursor goes to show `step`: the record at or before it (None: live)."""
        if step is not None and self.sim.history is not None:
            step = int(self.sim.history.steps[self.sim.history.index_at(step)])
            if step >= self.sim.step_count:
                step = None
        return step

    def scrub_to(self, step: int | None) -> None:
        self.running = False if step is not None else self.running
        self.cursor = self.cursor_for(step)
        self.version += 1

    def values_at_cursor(self) -> dict[str, np.ndarray]:
        """Per-run values at the shown step: the live state, or the history record when rewound."""
        sim = self.sim
        if self.cursor is None or sim.history is None:
            values = {"loss": sim.loss, "grad_norm": sim.grad_norm, "velocity_norm": sim.velocity_norm,
                      "lr": sim.lr}
            if sim.small:
                values["params"] = sim.params
                values["velocity"] = sim.velocity
            return values
        _, values = sim.history.at(self.cursor)
        return values
