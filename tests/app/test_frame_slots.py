"""Frame slots (gdsim/app/runtime/frame_slots.py): served participants' apps draw background frames
in turns, through exclusive locks on a few files the server makes; a slot is waited for, given back,
and taken away from a holder that keeps it past HOLD_MAX. A follower's ticks and its frames for the
presenter's steps wait for a slot; its own keys never do."""

from __future__ import annotations

import threading

import pytest

from gdsim.app.runtime import frame_slots
from gdsim.app.runtime.frame_slots import SLOTS_ENV, FrameSlots, make_slots, shared_slots
from tests.app.room_stand_in import presenter_scene, until
from tests.app.test_room_frames import follower_at


def granted_event(slots: FrameSlots) -> threading.Event:
    event = threading.Event()
    assert slots.acquire(event.set)
    return event


def test_the_server_makes_the_slots_and_an_app_finds_them(tmp_path):
    directory = make_slots(tmp_path / "slots", 2)
    assert sorted(p.name for p in directory.iterdir()) == ["0", "1"]
    assert all((p.stat().st_mode & 0o777) == 0o600 for p in directory.iterdir())
    assert FrameSlots.from_environment({SLOTS_ENV: str(directory)}).paths == [directory / "0", directory / "1"]
    assert FrameSlots.from_environment({}) is None and shared_slots({}) is None
    assert FrameSlots.from_environment({SLOTS_ENV: str(tmp_path / "missing")}) is None


def test_a_held_slot_is_waited_for_until_it_is_given_back(tmp_path, monkeypatch):
    monkeypatch.setattr(frame_slots, "HOLD_MAX", 30.0)
    paths = sorted(make_slots(tmp_path / "slots", 1).iterdir())
    first, second = FrameSlots(paths), FrameSlots(paths)  # two apps
    assert granted_event(first).wait(5) and first.held
    assert not first.acquire(lambda: None)  # one request at a time
    waiting = granted_event(second)
    assert not waiting.wait(0.3) and second.pending and not second.held  # the other app waits...
    first.release()
    assert waiting.wait(5) and second.held and not first.held  # ... until the slot is given back
    second.release()
    assert granted_event(first).wait(5)
    first.release()


def test_a_release_of_an_older_grant_does_not_give_back_a_newer_one(tmp_path, monkeypatch):
    monkeypatch.setattr(frame_slots, "HOLD_MAX", 30.0)
    slots = FrameSlots(sorted(make_slots(tmp_path / "slots", 1).iterdir()))
    assert granted_event(slots).wait(5)
    old = slots.granted_count
    slots.release(old)
    until_free = threading.Event()
    assert slots.acquire(until_free.set) and until_free.wait(5)
    slots.release(old)  # late: the frame of the first grant was written after the second began
    assert slots.held
    slots.release(slots.granted_count)
    assert not slots.held


def test_a_holder_that_never_gives_its_slot_back_loses_it(tmp_path, monkeypatch):
    monkeypatch.setattr(frame_slots, "HOLD_MAX", 0.2)
    paths = sorted(make_slots(tmp_path / "slots", 1).iterdir())
    stuck, other = FrameSlots(paths), FrameSlots(paths)
    assert granted_event(stuck).wait(5)  # and never released (its client stopped reading, say)
    assert granted_event(other).wait(5)
    other.release()


@pytest.fixture
def other_app(tmp_path, monkeypatch):
    """A served participant's environment with one frame slot, and another app that can hold it."""
    monkeypatch.setattr(frame_slots, "HOLD_MAX", 30.0)
    directory = make_slots(tmp_path / "slots", 1)
    monkeypatch.setenv(SLOTS_ENV, str(directory))
    other = FrameSlots(sorted(directory.iterdir()))
    yield other
    other.release()


async def test_a_follower_draws_the_presenters_steps_when_a_slot_is_free(other_app):
    async with follower_at(30) as (app, pilot, link, screen):
        assert screen.slots is not None and screen.slots.granted_count >= 1  # its first steps took a slot
        assert granted_event(other_app).wait(5)  # another app draws now
        drawn = screen.redraws
        link.push({"type": "follow", "scene": presenter_scene(step=30) | {"step": 20}})  # rewound: drawn at once before
        link.push({"type": "follow", "scene": presenter_scene(step=40, playing=False)})
        await pilot.pause(0.5)
        # neither the frame of the rewind nor the ticks that step on to 40 ran while another app drew
        assert screen.redraws == drawn and screen.session.sim.step_count == 30
        other_app.release()
        await until(pilot, lambda: screen.session.sim.step_count == 40 and screen.redraws > drawn)


async def test_a_followers_own_key_does_not_wait_for_a_slot(other_app):
    async with follower_at(30) as (app, pilot, link, screen):
        assert granted_event(other_app).wait(5)  # another app draws now
        drawn, step = screen.redraws, screen.session.sim.step_count
        await pilot.press("full_stop")  # a step of its own: it breaks away and is drawn at once
        await pilot.pause(0.1)
        assert screen.session.sim.step_count == step + 1 and screen.redraws == drawn + 1
        assert not app.room.state.following


async def test_with_slots_a_served_follower_does_not_also_spread_its_frames(other_app, monkeypatch):
    monkeypatch.setenv("GDSIM_CPU_SHARE", "0.5")  # served: a CPU share (Pacer.spread puts frames off)
    async with follower_at(30) as (app, pilot, link, screen):
        spreads = []
        screen.pacer.spread = lambda: spreads.append(1) or 0.6
        link.push({"type": "follow", "scene": presenter_scene(step=60, playing=False)})
        await until(pilot, lambda: screen.session.sim.step_count == 60)
        assert spreads == []  # the slots make followers' frames take turns: a spread only made them later
