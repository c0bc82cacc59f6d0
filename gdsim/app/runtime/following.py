"""Following a presenter in a room: a Session's part that runs up to the presenter's step and no
further, and sets the exact state tracker aside meanwhile (gdsim/app/runtime/room_scene.py sets
`hold`; the scenario screen's ticks call advance, which calls _advance_held while following).

Free of Textual, like the Session it is mixed into.
"""

from __future__ import annotations

import time

RETURN_SLICE = 32  # records a tracker handed back after following judges at a time (Following.hold)


class Following:
    """Mixed into Session (which sets `_hold`, `_resting_tracker`, `_returning_tracker` in its
    __init__ and provides sim, running, cursor, version, stop_at and the stepping helpers)."""

    @property
    def hold(self) -> tuple[int, bool] | None:
        return self._hold

    @hold.setter
    def hold(self, value: tuple[int, bool] | None) -> None:
        """Following, the runs are not judged at every record as they step (for `[` and `]`, which
        a follower does not use without breaking away): that judging was 98% of a follower's engine
        time on a 2-D scenario (momentum-overshoot, 300 steps: 188 ms judged as it steps, 4 ms not).
        Breaking away (hold None) hands the tracker back; it judges the records written meanwhile
        in slices of the ticks' budgets (advance, RETURN_SLICE records at a time: judging 300 records
        of momentum-overshoot at once took ~200 ms, inside the learner's first key after breaking
        away), or at once for `[`/`]` (tracker_now): exactly while the history still holds every
        step (the first 4,096), to the record after that."""
        self._hold = value
        sim = getattr(self, "sim", None)
        if sim is None:
            return
        if value is not None and self._returning_tracker is not None:
            self._resting_tracker, self._returning_tracker = self._returning_tracker, None
        if value is not None and sim.tracker is not None:
            self._resting_tracker, sim.tracker = sim.tracker, None
        elif value is None and self._resting_tracker is not None:
            tracker, self._resting_tracker = self._resting_tracker, None
            if tracker.sim is sim:
                self._returning_tracker = tracker

    def _return_tracker(self, seconds: float) -> None:
        """Judge a slice of what was written while following (for at most about `seconds`); once
        caught up, the tracker is the simulation's again and judges as it steps."""
        tracker = self._returning_tracker
        if tracker is None or tracker.sim is not self.sim:
            self._returning_tracker = None
            return
        deadline = time.perf_counter() + seconds
        while tracker.pending()[0] and time.perf_counter() < deadline:
            tracker.catch_up(RETURN_SLICE)
        if not tracker.pending()[0]:
            self.sim.tracker, self._returning_tracker = tracker, None

    def tracker_now(self) -> None:
        """The tracker caught up and judging again at once (`[`/`]` need every event now)."""
        if self._returning_tracker is not None:
            self._return_tracker(float("inf"))

    @property
    def catching_up(self) -> bool:
        """Following a presenter and still short of their step (room_scene.follow_step)."""
        return self.running and self.hold is not None and self.cursor is None and self.sim.step_count < self.hold[0]

    @property
    def waiting(self) -> bool:
        """Following a presenter who plays, at their step: nothing to do until their next scene."""
        return (self.running and self.hold is not None and self.hold[1] and self.cursor is None
                and self.sim.step_count >= self.hold[0])

    def _advance_held(self, budget: float) -> int:
        """Following: up to the presenter's step; there, pause if they are paused, else wait for them."""
        step, playing = self.hold
        wanted = step - self.sim.step_count
        if wanted <= 0:
            if not playing:
                self.running = False
                self.version += 1
            return 0
        if self._synced is not None:
            self._changed_here()
        done = self._advance_here(wanted, budget)
        self.stop_at = max(self.stop_at, self.sim.step_count)
        if self.sim.step_count >= step and not playing:
            self.running = False  # there, and they are paused: paused here too, now (not at the next tick)
        if done:
            self.version += 1
        return done

