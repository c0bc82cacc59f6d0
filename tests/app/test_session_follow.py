"""A Session following a presenter (Session.hold, gdsim/app/runtime/following.py): it steps without judging every record for `[`/`]`
(98% of a follower's engine time on a 2-D scenario), and breaking away finds the same events as a
session that judged them all along."""

from __future__ import annotations

import time

from gdsim.app.runtime.room_scene import follow_step, let_go
from gdsim.app.runtime.session import Session
from gdsim.engine.state_events import state_events
from gdsim.scenario.library import list_entries
from gdsim.scenario.load import load_scenario


def momentum() -> Session:
    entry = next(e for e in list_entries() if e.id == "momentum-overshoot")
    return Session(load_scenario(entry.path, id=entry.id))


def test_a_follower_steps_without_judging_and_breaking_away_finds_the_same_events():
    alone, follower = momentum(), momentum()
    follow_step(follower, 250, False)
    assert follower.sim.tracker is None  # set aside while following
    cpu = time.process_time()
    while follower.running:  # the ticks of a follower catching up, 5 steps at a time
        follower.advance(0.05, 0.0005)
    untracked = time.process_time() - cpu
    cpu = time.process_time()
    for _ in range(50):
        alone.sim.step(5)
    tracked = time.process_time() - cpu
    assert follower.sim.step_count == alone.sim.step_count == 250
    assert (follower.sim.loss == alone.sim.loss).all()  # the presenter's numbers
    assert untracked < tracked / 3, (untracked, tracked)  # measured 4 ms vs 188 ms for 300 steps
    let_go(follower)
    assert follower.hold is None
    rows = [int(run.rows[0]) for run in alone.display if not run.ensemble]
    follower.tracker_now()  # `]`: what was written meanwhile, judged at once
    assert follower.sim.tracker is not None
    assert state_events(follower.sim, rows) == state_events(alone.sim, rows)  # `]` finds the same steps
    follower.sim.step(20)
    alone.sim.step(20)
    assert state_events(follower.sim, rows) == state_events(alone.sim, rows)  # and judges as it steps again


def test_after_breaking_away_the_records_written_meanwhile_are_judged_in_the_ticks_not_in_a_key():
    alone, follower = momentum(), momentum()
    follow_step(follower, 300, False)
    while follower.running:
        follower.advance(0.05, 0.0005)
    alone.sim.step(300)
    let_go(follower)
    tracker = follower._returning_tracker
    assert follower.sim.tracker is None and tracker is not None and tracker.pending()[0] > 250
    follower.step(1)  # a key ('.'): it steps; what was written meanwhile is not judged in it
    alone.sim.step(1)
    assert tracker.pending()[0] > 250 and follower.sim.tracker is None
    follower.toggle()  # space: running on its own, the ticks judge a slice each
    ticks = 0
    while follower.sim.tracker is None:
        before = tracker.pending()[0]
        follower.advance(0.05, 0.002)
        ticks += 1
        assert tracker.pending()[0] < before or follower.sim.tracker is not None  # slices, never stuck
    assert ticks > 2  # not all in the first tick
    alone.sim.step(follower.sim.step_count - alone.sim.step_count)
    rows = [int(run.rows[0]) for run in alone.display if not run.ensemble]
    assert follower.sim.tracker is tracker
    assert state_events(follower.sim, rows) == state_events(alone.sim, rows)  # the same events, exactly


def test_breaking_away_and_following_again_before_the_tracker_is_back_sets_it_aside_again():
    follower = momentum()
    follow_step(follower, 100, False)
    while follower.running:
        follower.advance(0.05, 0.0005)
    let_go(follower)
    tracker = follower._returning_tracker
    follow_step(follower, 120, False)
    assert follower.sim.tracker is None and follower._resting_tracker is tracker and follower._returning_tracker is None
    follower.rebuild(follower.loaded, replay=follower.sim.step_count)  # a change mid-run while it follows
    let_go(follower)
    follower.tracker_now()
    assert follower.sim.tracker is not None and follower.sim.tracker.sim is follower.sim


def test_a_rebuild_while_following_keeps_the_new_tracker_aside():
    follower = momentum()
    follow_step(follower, 40, True)
    follower.rebuild(follower.loaded)
    assert follower.sim.tracker is None and follower.hold == (40, True)
    let_go(follower)
    follower.tracker_now()
    assert follower.sim.tracker is not None and follower.sim.tracker.sim is follower.sim


def test_a_presenter_back_at_the_live_step_while_paused_is_shown_at_once():
    """A follower at the presenter's step 300, paused; the presenter rewinds to 200 (the follower's
    rewind cursor), then goes back to 300, still paused: nothing runs, but what the screen shows
    changed (the live step again), so the session's version moves and the next redraw draws it."""
    follower = momentum()
    follow_step(follower, 300, False)
    while follower.running:
        follower.advance(0.05, 0.01)
    assert follower.sim.step_count == 300 and not follower.running
    follow_step(follower, 200, False)
    assert follower.cursor is not None and follower.shown_step <= 200
    version = follower.version
    follow_step(follower, 300, False)
    assert follower.cursor is None and follower.shown_step == 300 and not follower.running
    assert follower.version != version
    version = follower.version
    follow_step(follower, 300, False)  # the same scene again: nothing shown changed, no frame
    assert follower.version == version
