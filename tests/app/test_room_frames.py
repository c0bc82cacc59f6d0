"""What following costs a participant's app: frames are drawn by the scenario screen's ticks (metered
by its CPU share, gdsim/app/runtime/pacing.py), never by the room's messages themselves; a message
that changes nothing on screen costs no frame; catching up draws once, at the presenter's step."""

from __future__ import annotations

import time
from contextlib import asynccontextmanager

from gdsim.app.runtime.pacing import CATCH_UP_FRAME
from gdsim.app.runtime.session import Session
from gdsim.scenario.load import load_scenario
from tests.app.conftest import DATA, make_app
from tests.app.room_stand_in import StandInLink, joined, opened, presenter_scene, until


@asynccontextmanager
async def follower_at(step: int):
    """A participant's app (120x40) following a presenter paused at `step` of three_runs, drawn
    there: (app, pilot, link, its scenario screen)."""
    app = make_app(None)
    link = StandInLink()
    async with app.run_test(size=(120, 40)) as pilot:
        await joined(app, pilot, link)
        link.push({"type": "follow", "scene": presenter_scene(step=step, playing=False)})
        await until(pilot, lambda: opened(app) and app.screen.session.sim.step_count == step
                    and not app.screen.session.running)
        await pilot.pause(0.2)
        yield app, pilot, link, app.screen


async def presenter_plays_at(pilot, link, session, step: int) -> None:
    """The presenter plays from `step`; the follower gets there."""
    link.push({"type": "follow", "scene": presenter_scene(step=step) | {"playing": True}})
    await until(pilot, lambda: session.sim.step_count == step)


async def test_a_scene_that_changes_nothing_here_draws_no_frame():
    async with follower_at(30) as (app, pilot, link, screen):
        drawn, version = screen.redraws, screen.session.version
        for _ in range(20):  # the presenter's scene, again and again (a tab it already shows, its step)
            link.push({"type": "follow", "scene": presenter_scene(step=30, playing=False)})
        await pilot.pause(0.5)
        assert screen.session.version == version
        assert screen.redraws == drawn  # was 20 more: every follow redrew at once, outside the metered ticks


async def test_catching_up_to_the_presenter_draws_from_the_ticks_only_and_few_frames():
    async with follower_at(30) as (app, pilot, link, screen):
        session = screen.session
        stepped = []
        advance = session.advance

        def counting(dt, budget):
            stepped.append(advance(dt, budget))
            return stepped[-1]

        session.advance = counting
        drawn, start = screen.redraws, time.perf_counter()
        for step in (60, 120, 240):  # the presenter steps on while the follower is still at 30
            link.push({"type": "follow", "scene": presenter_scene(step=step, playing=False)})
        await until(pilot, lambda: session.sim.step_count == 240 and not session.running)
        elapsed = time.perf_counter() - start
        await pilot.pause(0.3)
        frames, ticks = screen.redraws - drawn, sum(n > 0 for n in stepped)
        # The messages drew nothing (before: a frame per message, at the old step); the ticks that
        # stepped drew every CATCH_UP_FRAME seconds and once at the presenter's step (before: each one).
        assert 1 <= frames <= 2 + elapsed / CATCH_UP_FRAME, (frames, ticks, elapsed)
        assert ticks < 3 or frames < ticks, (frames, ticks, elapsed)
        reference = Session(load_scenario(DATA / "three_runs.toml"))
        reference.step(240)
        assert (session.sim.loss == reference.sim.loss).all()  # the presenter's numbers


async def test_a_presenter_who_rewinds_is_shown_at_once_without_ticks():
    async with follower_at(80) as (app, pilot, link, screen):
        drawn = screen.redraws
        link.push({"type": "follow", "scene": presenter_scene(step=80) | {"step": 40}})
        await until(pilot, lambda: screen.session.cursor is not None)
        await pilot.pause(0.2)
        assert not screen.session.running and screen.redraws == drawn + 1  # paused: the message draws, once
        link.push({"type": "follow", "scene": presenter_scene(step=80) | {"step": 40}})
        await pilot.pause(0.3)
        assert screen.redraws == drawn + 1  # the same rewound step again: nothing to draw


async def test_a_follower_at_the_step_of_a_presenter_who_plays_does_not_tick_until_their_next_scene():
    async with follower_at(30) as (app, pilot, link, screen):
        session = screen.session
        await presenter_plays_at(pilot, link, session, 40)
        await pilot.pause(0.2)
        ticks = []
        tick = screen._tick
        screen._tick = lambda: (ticks.append(1), tick())
        await pilot.pause(0.5)
        # Running with the presenter, at their step: no wake-ups (20 a second before, each charged to
        # the CPU share of a follower who had nothing to do)
        assert session.running and session.waiting and not screen._ticking
        link.push({"type": "follow", "scene": presenter_scene(step=40) | {"playing": True, "step": 45}})
        await until(pilot, lambda: session.sim.step_count == 45)
        assert session.running and session.sim.step_count == 45


async def test_a_served_follower_draws_a_presenters_new_step_after_its_spread(monkeypatch):
    monkeypatch.setenv("GDSIM_CPU_SHARE", "0.5")  # served: a CPU share
    async with follower_at(30) as (app, pilot, link, screen):
        screen.pacer.spread = lambda: 0.6  # the random part of its frame period (Pacer.spread), fixed here
        start = time.perf_counter()
        link.push({"type": "follow", "scene": presenter_scene(step=60, playing=False)})
        await until(pilot, lambda: screen.session.sim.step_count == 60)
        # not drawn with every other follower at the instant the scene came, but a spread later
        assert time.perf_counter() - start >= 0.6


async def test_a_room_that_goes_while_waiting_for_a_playing_presenter_runs_on_alone():
    async with follower_at(30) as (app, pilot, link, screen):
        session = screen.session
        await presenter_plays_at(pilot, link, session, 40)
        await until(pilot, lambda: not screen._ticking)
        link.push(None)  # the room goes: the session runs on by itself (room_scene.let_go)
        await until(pilot, lambda: app.room.gone != "")
        assert session.running and session.hold is None
        # the ticks come back (they had stopped while it waited for the presenter's next scene)
        await until(pilot, lambda: session.sim.step_count > 40, 3.0)
