"""The room end to end in one process: a presenter's app and participants' apps joined to a real
broker (gdsim.serve.room.Room) through RoomLink: bring, follow / break away / rejoin, a poll's
answers in the presenter's tally, the reveal on the participants' screens (issue #17)."""

from __future__ import annotations

from contextlib import AsyncExitStack

from gdsim.app.runtime.room_link import RoomLink
from gdsim.app.widgets.room_panel import RoomPanel
from gdsim.serve.room import Room
from tests.app.conftest import make_app
from tests.app.room_stand_in import footer_actions, opened, record_notices, said, until
from tests.serve.room_client import room  # noqa: F401 - the fixture: a started Room in a short directory


async def start(stack: AsyncExitStack, room: Room, name: str, role: str, scenario: str | None, size=(80, 24)):
    """An app joined to the room as `name`: (app, pilot)."""
    app = make_app(scenario)
    record_notices(app)
    pilot = await stack.enter_async_context(app.run_test(size=size))
    app.join_room(RoomLink(str(room.socket_path), room.add_member(name, role)))
    await until(pilot, lambda: app.room is not None and app.room.joined)
    return app, pilot


def on_scenario(app, step: int | None = None) -> bool:
    session = getattr(app.screen, "session", None)
    return opened(app) and (step is None or session.shown_step == step)


def member(app, name: str):
    return next((m for m in app.room.state.roster if m.name == name), None)


async def test_bring_follow_break_away_and_rejoin(room):
    async with AsyncExitStack() as stack:
        presenter, ppilot = await start(stack, room, "alice", "presenter", "three_runs")
        bob, bpilot = await start(stack, room, "bob", "participant", None)
        carol, cpilot = await start(stack, room, "carol", "participant", None)
        await bpilot.press("X")  # bob explores at the list: a bring still reaches him
        await until(ppilot, lambda: member(presenter, "bob") is not None and not member(presenter, "bob").following)
        # the presenter changes a setting and steps, then brings everyone
        await ppilot.press("l", "full_stop", "full_stop", "full_stop")
        await ppilot.press("H")
        mine = presenter.screen.session
        for app, pilot in ((bob, bpilot), (carol, cpilot)):
            await until(pilot, lambda: on_scenario(app, 3))
            assert app.screen.session.loaded.raw == mine.loaded.raw
            assert (app.screen.session.sim.loss == mine.sim.loss).all()
        # carol follows (she never broke away): the presenter's steps and tab
        await ppilot.press("full_stop", "full_stop", "4")
        await until(cpilot, lambda: on_scenario(carol, 5) and carol.screen.query_one("#tabs").active == "tab-maths")
        await until(bpilot, lambda: on_scenario(bob, 3))  # bob explores: still where the bring put him
        # the roster shows who follows and where each is
        await until(ppilot, lambda: member(presenter, "carol") is not None and member(presenter, "carol").step == 5
                    and member(presenter, "carol").following)
        await ppilot.press("ctrl+r")
        await until(ppilot, lambda: presenter.screen.query(RoomPanel))
        shown = str(presenter.screen.query_one(RoomPanel).render())
        assert "2 participants, 1 following" in shown and "carol" in shown and "bob" in shown
        # carol breaks away with a tweak key; the presenter moves on without her
        await cpilot.press("s")
        await until(ppilot, lambda: not member(presenter, "carol").following)
        await ppilot.press("full_stop")
        await until(ppilot, lambda: presenter.screen.session.shown_step == 6)
        await cpilot.pause(0.4)
        assert carol.screen.session.loaded.raw != mine.loaded.raw
        # F: she follows again, and is brought back to the presenter's scene at once
        await cpilot.press("F")
        await until(cpilot, lambda: carol.screen.session.loaded.raw == presenter.screen.session.loaded.raw
                    and on_scenario(carol, 6))


async def test_a_poll_reaches_the_tally_and_the_reveal_reaches_everyone(room):
    async with AsyncExitStack() as stack:
        presenter, ppilot = await start(stack, room, "alice", "presenter", "s2/predict", size=(100, 30))
        bob, bpilot = await start(stack, room, "bob", "participant", None)
        carol, cpilot = await start(stack, room, "carol", "participant", None)
        await ppilot.press("H")
        await until(bpilot, lambda: on_scenario(bob) and bob.screen.flow is not None)
        await bpilot.press("escape")  # bob goes back to the list: the poll comes to him in a window
        await until(bpilot, lambda: type(bob.screen).__name__ == "PickerScreen")
        await until(cpilot, lambda: on_scenario(carol) and carol.screen.flow is not None)
        await ppilot.press("P")
        await until(cpilot, lambda: carol.room.state.poll is not None)
        await until(bpilot, lambda: type(bob.screen).__name__ == "RoomPollScreen")
        await cpilot.press("2")  # carol answers in the question panel
        await bpilot.press("3")  # bob in the window
        await until(ppilot, lambda: presenter.room.state.tally is not None and presenter.room.state.tally.answered == 2)
        await ppilot.pause(0.1)
        shown = str(presenter.screen.query_one(RoomPanel).render())
        assert "2 of 2 answered: 1: 0, 2: 1, 3: 1" in shown
        await ppilot.press("Y")
        await until(cpilot, lambda: carol.screen.flow.phase == "revealed")
        await until(bpilot, lambda: bob.room.state.result is not None)
        for app in (bob, carol):
            assert said(app, "2 of 2 answered: 1: 0, 2: 1 ✓, 3: 1")
        await until(ppilot, lambda: presenter.screen.flow.phase == "revealed" and presenter.screen.session.running)
        # carol follows: the presenter's run plays on her screen too
        await until(cpilot, lambda: carol.screen.session.sim.step_count > 0)


async def test_C_closes_the_poll_without_revealing_it_everywhere(room):
    async with AsyncExitStack() as stack:
        presenter, ppilot = await start(stack, room, "alice", "presenter", "s2/predict", size=(100, 30))
        bob, bpilot = await start(stack, room, "bob", "participant", None)
        await until(bpilot, lambda: on_scenario(bob))  # he follows the presenter there
        await bpilot.press("escape")  # and goes back to the list: the poll comes to him in a window
        await until(bpilot, lambda: not bob.room.state.following and type(bob.screen).__name__ == "PickerScreen")
        await until(ppilot, lambda: on_scenario(presenter) and presenter.screen.flow is not None)
        assert "room_poll" in footer_actions(presenter)
        assert not presenter.check_action("room_close", ())  # no poll open: nothing to close
        await ppilot.press("P")
        await until(bpilot, lambda: type(bob.screen).__name__ == "RoomPollScreen")
        await until(ppilot, lambda: presenter.room.state.poll is not None and presenter.screen.query(RoomPanel))
        assert presenter.check_action("room_close", ())
        assert "C closes it" in str(presenter.screen.query_one(RoomPanel).render())  # where the key is told
        await ppilot.press("C")
        await until(bpilot, lambda: type(bob.screen).__name__ != "RoomPollScreen")  # the window closes
        await until(ppilot, lambda: presenter.room.state.poll is None)
        assert said(bob, "the presenter closed the poll") and said(presenter, "poll closed without revealing it")
        assert bob.room.state.result is None and presenter.screen.flow.phase != "revealed"  # nothing revealed
        await until(ppilot, lambda: "room_poll" in footer_actions(presenter) and "room_reveal" not in footer_actions(presenter))
        assert not presenter.check_action("room_close", ())
        await bpilot.press("ctrl+r")  # no open poll: ctrl+r is the panel again, not the window
        await until(bpilot, lambda: bob.screen.query(RoomPanel))
