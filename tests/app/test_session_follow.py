"""A Session following a presenter (Session.hold): it steps without judging every record for `[`/`]`
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
    assert follower.sim.tracker is not None and follower.hold is None
    rows = [int(run.rows[0]) for run in alone.display if not run.ensemble]
    assert state_events(follower.sim, rows) == state_events(alone.sim, rows)  # `]` finds the same steps
    follower.sim.step(20)
    alone.sim.step(20)
    assert state_events(follower.sim, rows) == state_events(alone.sim, rows)  # and judges as it steps again


def test_a_rebuild_while_following_keeps_the_new_tracker_aside():
    follower = momentum()
    follow_step(follower, 40, True)
    follower.rebuild(follower.loaded)
    assert follower.sim.tracker is None and follower.hold == (40, True)
    let_go(follower)
    assert follower.sim.tracker is not None and follower.sim.tracker.sim is follower.sim
