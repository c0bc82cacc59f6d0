"""The vectorized simulation: R runs stepped together, one array operation per step per cohort.

Runs that share a problem, optimizer and schedule form a cohort (gdsim.engine.cohort) and are
stepped as one (R, P) matrix, so 3 runs and an ensemble of 1,000 seeds are the same code.
Diverged and early-stopped runs are frozen there and never raise; the other runs go on.

Step k is the state after k updates: the loss and gradient are evaluated at the parameters of
step k, and the update from k to k+1 uses that gradient and lr_at(k).

A cohort of a few runs on a 2-D surface is stepped on Python floats instead (scalar_step: NumPy's
per-call cost dominates arrays of two numbers), through the same formulas and with the same bits.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial
from typing import Callable

import numpy as np

from gdsim.engine import changes, checkpoints, scalar_step
from gdsim.engine.cohort import LOSS_BOUND, Cohort
from gdsim.engine.history import History
from gdsim.engine.recording import SMALL_P, Recording


@dataclass(frozen=True)
class RunInfo:
    """Who a run is: its label, seed and the [[runs]] entry (group) it came from."""

    label: str
    seed: int
    group: str


class Simulation(Recording):
    """All runs of a scenario; step(n) advances every cohort, history records what the app shows."""

    def __init__(self, cohorts: list[Cohort], runs: list[RunInfo], *, record: bool = True,
                 history_capacity: int = 4096):
        self.cohorts = cohorts
        self.runs = runs
        self.n_runs = len(runs)
        self.step_count = 0
        sizes = {c.n_params for c in cohorts}
        self.n_params = sizes.pop() if len(sizes) == 1 else None
        self.small = self.n_params is not None and self.n_params <= SMALL_P
        self.changing = any(len(c.phases) > 1 for c in cohorts)  # whether any run changes mid-run
        self.has_velocity = any(c.velocity() is not None for c in cohorts) or any(
            p.optimizer.velocity(p.optimizer.init(c.params[:1])) is not None for c in cohorts for p in c.phases[1:])
        self.eval_names = sorted({name for c in cohorts for name in c.evaluation})
        # Cohorts of at most this many runs on a 2-D surface step on Python floats (scalar_step),
        # bit for bit as their arrays would; 0 steps every cohort as arrays.
        self.scalar_max_runs = scalar_step.MAX_RUNS
        self._scalar: tuple[tuple, list] = ((), [])  # (for which limit and cohorts, the list)
        self.n_layers = max((len(c.problem.network.layout.layers) for c in cohorts
                             if hasattr(c.problem, "layer_grad_norms")), default=0)
        self.history: History | None = None
        self.paths: History | None = None  # a network's parameter path (see recording.PATH_RECORDS)
        self.path_rows = np.zeros(0, dtype=np.int64)
        if record:
            self._start_history(history_capacity)
            if not self.small:
                self._start_paths()
        self.checkpoints: checkpoints.Checkpoints | None = None  # see keep_checkpoints
        self.tracker = None  # a StateTracker judging runs at every record (track_states), or None

    def track_states(self, rows) -> None:
        """Judge runs `rows` at every history record as it is written (gdsim.engine.state_events)."""
        from gdsim.engine.state_events import StateTracker

        self.tracker = StateTracker.attach(self, rows)

    # -- current state, one entry per run in scenario order ---------------------------------
    def _gather(self, get: Callable[[Cohort], np.ndarray | float | None], fill=np.nan,
                trailing: tuple[int, ...] = ()) -> np.ndarray:
        out = np.full((self.n_runs, *trailing), fill, dtype=np.float64)
        for cohort in self.cohorts:
            value = get(cohort)
            if value is not None:
                out[cohort.rows] = value
        return out

    @property
    def loss(self) -> np.ndarray:
        return self._gather(lambda c: c.loss)

    @property
    def grad_norm(self) -> np.ndarray:
        return self._gather(lambda c: np.sqrt(np.einsum("rp,rp->r", c.grad, c.grad)))

    @property
    def velocity_norm(self) -> np.ndarray:
        """Norm of the momentum buffer / first moment; NaN for runs whose optimizer has none."""
        def norm(c: Cohort):
            v = c.velocity()
            return None if v is None else np.sqrt(np.einsum("rp,rp->r", v, v))
        return self._gather(norm)

    @property
    def lr(self) -> np.ndarray:
        return self._gather(lambda c: c.lr)

    @property
    def params(self) -> np.ndarray | None:
        if self.n_params is None:
            return None
        return self._gather(lambda c: c.params, trailing=(self.n_params,))

    @property
    def velocity(self) -> np.ndarray | None:
        if self.n_params is None:
            return None
        return self._gather(lambda c: c.velocity(), trailing=(self.n_params,))

    @property
    def diverged_at(self) -> np.ndarray:
        return self._gather(lambda c: c.diverged_at, fill=-1).astype(np.int64)

    @property
    def stopped_at(self) -> np.ndarray:
        return self._gather(lambda c: c.stopped_at, fill=-1).astype(np.int64)

    @property
    def frozen(self) -> np.ndarray:
        return self._gather(lambda c: c.frozen, fill=0).astype(bool)

    def evaluation(self) -> dict[str, np.ndarray]:
        """Metrics evaluated at this step (NaN for runs not evaluated now); empty if none were."""
        if not any(c.evaluation for c in self.cohorts):
            return {}
        return {name: self._gather(lambda c: c.evaluation.get(name)) for name in self.eval_names}

    def epoch(self) -> np.ndarray | None:
        if not all(hasattr(c.problem, "epoch_at") for c in self.cohorts):
            return None
        return self._gather(lambda c: c.problem.epoch_at(self.step_count))

    # -- stepping ----------------------------------------------------------------------------
    def step(self, n: int = 1) -> None:
        """Advance all runs by n updates (frozen runs stay where they are), applying the
        scenario's changes at their steps (gdsim.engine.changes); with checkpoints kept, one is
        saved whenever the steps reach the next one due (gdsim.engine.checkpoints)."""
        kept = self.checkpoints
        if kept is None:
            self._advance(n)
            return
        while n > 0:
            due = kept.next_due()
            if due is None:
                self._advance(n)
                return
            if due <= self.step_count:
                kept.save(self.step_count, self.cohorts)
                continue
            chunk = min(n, due - self.step_count)
            self._advance(chunk)
            n -= chunk
            if self.step_count == due:
                kept.save(due, self.cohorts)

    def keep_checkpoints(self, budget: int = checkpoints.BUDGET, min_kept: int = checkpoints.MIN_KEPT) -> None:
        """Save checkpoints from now on (the app's simulations do: branches and rewinds use them;
        a shared server's sessions with checkpoints.SERVED)."""
        self.checkpoints = checkpoints.Checkpoints(budget, min_kept=min_kept)
        self.checkpoints.save(self.step_count, self.cohorts)

    def cohort_at(self, index: int, step: int) -> Cohort | None:
        """A copy of cohort number `index` as it was at `step` (<= the current step), stepped from
        the checkpoint before it; None when no checkpoint holds it. The simulation is untouched."""
        cohort = self.cohorts[index]
        if step == self.step_count:
            return cohort
        found = None if self.checkpoints is None or step > self.step_count else self.checkpoints.before(step, index)
        if found is None:
            return None
        at, state = found
        copy = object.__new__(Cohort)
        vars(copy).update({k: v for k, v in vars(cohort).items() if k in checkpoints.FIXED | checkpoints.IDENTITY})
        vars(copy).pop("params_before", None)
        vars(copy)["phase"] = -1  # restore_into sets the phase's objects
        checkpoints.restore_into(copy, state)
        vars(copy)["keep_before"] = False
        if step > at:
            alone = Simulation([copy], self.runs, record=False)
            alone.step_count = at
            alone.step(step - at)
        return copy

    def _advance(self, n: int) -> None:
        if not self.changing:
            if n > 0:
                self._run(n)
            return
        while n > 0:
            upcoming = self.next_change()
            if upcoming is None or upcoming > self.step_count + n:
                self._run(n)
                return
            before = upcoming - 1 - self.step_count
            if before > 0:
                self._run(before)
                n -= before
            self._step_into_change(upcoming)
            n -= 1

    def next_change(self) -> int | None:
        """The step of the next change of any cohort after the current step, or None."""
        steps = [s for s in map(changes.next_change, self.cohorts) if s is not None and s > self.step_count]
        return min(steps) if steps else None

    def _step_into_change(self, k: int) -> None:
        """The update to step k where some cohort changes: every cohort steps as arrays (the same
        bits as on floats), a changed problem draws the batch of step k, then the new optimizer,
        schedule and clip norm take over and the record of step k is written."""
        self._scalar = ((), [])  # float steppers are made afresh for the new optimizers
        entering = [changes.next_change(c) == k for c in self.cohorts]
        with np.errstate(all="ignore"):
            for cohort, enters in zip(self.cohorts, entering):
                cohort.step(k - 1, changes.switch_problem if enters else None)
            self.step_count = k
            for cohort, enters in zip(self.cohorts, entering):
                if enters:
                    changes.enter(cohort, k)
        if self.paths is not None and not k % self.paths.stride:
            self._record_path(k)  # as _run records it: a change's step is on the path too
        history = self.history
        if history is not None and k % history.stride == 0:
            if self.tracker is not None and history.count == history.capacity:
                self.tracker.catch_up()
            row = history.start(k)
            if row is not None:
                for cohort in self.cohorts:
                    self._record_cohort(row, cohort)

    def _run(self, n: int) -> None:
        """Advance all runs by n updates with no change among them.

        A cohort steps as arrays (Cohort.step), or on floats when it is a few 2-D runs
        (scalar_step.ScalarCohort): those gather their history records as floats, written a block
        at a time (before a compaction, which moves rows, and at the end), and write their arrays
        back at the end, so afterwards every cohort is as the array path leaves it."""
        history = self.history
        paths = self.paths
        fast = self._scalar_cohorts() or [None] * len(self.cohorts)
        scalars = [s for s in fast if s is not None]
        steppers = [c.step if s is None else s.step for c, s in zip(self.cohorts, fast)]
        recorders = [partial(self._record_cohort, cohort=c) if s is None else s.remember
                     for c, s in zip(self.cohorts, fast)]
        first = None  # the history row of the first float record not yet written
        for s in scalars:
            s.load()
        try:
            with np.errstate(all="ignore"):
                for _ in range(n):
                    k = self.step_count
                    for step in steppers:
                        step(k)
                    self.step_count = k = k + 1
                    if paths is not None and not k % paths.stride:
                        self._record_path(k)
                    if history is None or k % history.stride:
                        continue
                    if history.count == history.capacity:  # the next record halves the history
                        if first is not None:
                            for s in scalars:
                                s.flush(history, first)
                            first = None
                        if self.tracker is not None:  # judge every record before half are dropped
                            for s in scalars:
                                s.store()
                            self.tracker.catch_up()
                    row = history.start(k)
                    if row is not None:
                        if first is None and scalars:
                            first = row
                        for record in recorders:
                            record(row)
        finally:
            for s in scalars:
                if first is not None:
                    s.flush(history, first)
                s.store()
            if self.tracker is not None:
                self.tracker.stepped()

    def _scalar_cohorts(self) -> list:
        """Per cohort its ScalarCohort, or None where it steps as arrays; empty if none is fast."""
        key = (self.scalar_max_runs, *map(id, self.cohorts))
        if self._scalar[0] != key:
            limit = self.scalar_max_runs
            fast = [scalar_step.ScalarCohort(c, LOSS_BOUND) if self.small and scalar_step.takes(c, limit)
                    else None for c in self.cohorts]
            self._scalar = (key, fast if any(fast) else [])
        return self._scalar[1]

    def step_for(self, seconds: float, limit: int, step_cost: float) -> tuple[int, float]:
        """Step until `limit` steps are taken, `seconds` have passed or every run has stopped.

        Chunks are sized from `step_cost` (seconds a step) so the clock is read a few times, not
        at every step; returns the steps taken and the step cost learnt on the way. The app steps
        this way in its timer ticks, and its engine worker in each slice."""
        done, start = 0, time.perf_counter()
        while done < limit and not self.all_frozen:
            left = seconds - (time.perf_counter() - start)
            if left <= 0 and done:
                break
            chunk = max(1, min(limit - done, int(left / step_cost / 2), 4096))
            t0 = time.perf_counter()
            self.step(chunk)
            step_cost = 0.7 * step_cost + 0.3 * max(1e-7, (time.perf_counter() - t0) / chunk)
            done += chunk
        return done, step_cost

    # -- copying the state to another process (the app's engine worker) ----------------------
    # Problems, optimizers and schedules are rebuilt from the same scenario on both sides and
    # never change while stepping, and the learning-rate table is a cache either side refills
    # (37 KB a cohort, most of a reply); everything else a cohort holds is its state.
    # A cohort's phases (its settings from each change on) are built from the scenario too; which
    # phase it is in is state.
    _FIXED = checkpoints.FIXED  # with params_before: the last step's parameters, for the history only, not sent

    def snapshot(self, since: tuple | None = None) -> dict:
        """The mutable state, picklable; with `since` (a previous snapshot's "mark") the history
        part holds only what was recorded after it (the parameter path likewise)."""
        history_since, paths_since, events_since = (*since, None)[:3] if since is not None else (None, None, None)
        tracker = self.tracker
        return {
            "step_count": self.step_count,
            "cohorts": [{k: v for k, v in vars(c).items() if k not in self._FIXED} for c in self.cohorts],
            "history": None if self.history is None else self.history.delta(history_since),
            "paths": None if self.paths is None else self.paths.delta(paths_since),
            "tracker": None if tracker is None else tracker.delta(events_since),
            "mark": (None if self.history is None else self.history.mark(),
                     None if self.paths is None else self.paths.mark(),
                     None if tracker is None else tracker.mark()),
        }

    def restore(self, snapshot: dict) -> None:
        """Take on the state of a simulation built from the same scenario (see snapshot)."""
        for cohort, state in zip(self.cohorts, snapshot["cohorts"], strict=True):
            phase = cohort.phase
            vars(cohort).update(state)
            vars(cohort).pop("params_before", None)  # not the step before the restored state: no step length next
            if cohort.phase != phase:
                changes.use_phase(cohort)
                self._scalar = ((), [])
        self.step_count = snapshot["step_count"]
        if self.history is not None and snapshot["history"] is not None:
            self.history.apply(snapshot["history"])
        if self.paths is not None and snapshot.get("paths") is not None:
            self.paths.apply(snapshot["paths"])
        if self.checkpoints is not None and self.checkpoints.due(self.step_count):
            self.checkpoints.save(self.step_count, self.cohorts)  # the engine worker's state, kept here
        if snapshot.get("tracker") is not None:  # the states judged where it stepped
            from gdsim.engine.state_events import StateTracker

            self.tracker = StateTracker.received(self, snapshot["tracker"])

    @property
    def all_frozen(self) -> bool:
        return all(c.frozen.all() for c in self.cohorts)
