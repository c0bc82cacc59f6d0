"""The room in the app (issue #17), with a stand-in for the broker (tests/app/room_stand_in.py):
following, breaking away and rejoining, bring, polls and reveals, a presenter's state and keys,
bad messages, a lost room. With the real broker: tests/app/test_room_broker.py."""

from __future__ import annotations

import asyncio

from gdsim.app.runtime.session import Session
from gdsim.app.widgets.room_panel import RoomPanel
from gdsim.scenario.load import load_scenario
from tests.app.conftest import DATA, make_app
from tests.app.room_stand_in import (
    StandInLink, footer_actions, joined, joined_on, opened, presenter_scene, record_notices, said, until,
)


# -- no room ---------------------------------------------------------------------------------------
async def test_without_a_room_nothing_of_it_is_on_screen_and_its_keys_do_nothing(monkeypatch):
    monkeypatch.delenv("GDSIM_ROOM", raising=False)
    app = make_app("three_runs")
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.room is None
        assert not {"room_panel", "room_follow", "room_explore"} & footer_actions(app)
        step = app.screen.session.sim.step_count
        for key in ("ctrl+r", "H", "P", "Y", "F", "X"):
            await pilot.press(key)
        await pilot.pause()
        assert not app.screen.query(RoomPanel)
        assert app.screen.session.sim.step_count == step and app.room is None


# -- a participant -----------------------------------------------------------------------------------
async def test_joining_at_the_list_is_said_in_its_hint_line_not_in_a_toast_over_the_list():
    """The "joined the room" toast covered the list's titles and claims at 80x24 for 6 s."""
    from textual.widgets import Static

    app = make_app(None)
    async with app.run_test(size=(80, 24)) as pilot:
        await joined(app, pilot, StandInLink())
        screen = app.screen
        assert type(screen).__name__ == "PickerScreen"
        hint = str(screen.query_one("#picker-hint", Static).render())
        assert "joined the room as bob (participant)" in hint and "Type to filter" not in hint
        assert not app._notifications  # no toast
        app.notify("a short one", timeout=0.3)  # the newest message wins; when its time is up, the hint
        await until(pilot, lambda: "Type to filter" in str(screen.query_one("#picker-hint", Static).render()))
        assert not app._notifications


async def test_a_follower_opens_the_presenters_scene_then_follows_its_step_and_tab():
    app = make_app(None)
    link = StandInLink()
    async with app.run_test(size=(80, 24)) as pilot:
        await joined(app, pilot, link)
        assert link.of_type("status")[-1] == {"type": "status", "scenario": None, "title": "", "step": 0,
                                              "following": True, "tab": ""}
        link.push({"type": "follow", "scene": presenter_scene(step=30)})
        await until(pilot, lambda: opened(app)
                    and app.screen.session.sim.step_count == 30)
        session = app.screen.session
        assert session.loaded.id == "three_runs" and session.cursor is None
        # the same numbers as the presenter's own engine computed
        reference = Session(load_scenario(DATA / "three_runs.toml"))
        reference.step(30)
        assert (session.sim.loss == reference.sim.loss).all()
        # the presenter runs on: the follower's engine catches up to their step and no further
        link.push({"type": "follow", "scene": presenter_scene(step=80, playing=False)})
        await until(pilot, lambda: session.sim.step_count == 80 and not session.running)
        # the presenter rewinds: the follower looks at that step with the cursor
        link.push({"type": "follow", "scene": presenter_scene(step=80, tab="tab-maths") | {"step": 40}})
        await until(pilot, lambda: session.cursor is not None)
        assert session.sim.step_count == 80 and session.shown_step <= 40
        await until(pilot, lambda: app.screen.query_one("#tabs").active == "tab-maths")
        # the presenter selects run C: so does the follower; the follower's own choice stays until then
        session.select(1)
        link.push({"type": "follow", "scene": presenter_scene(step=80, tab="tab-maths") | {"step": 40}})
        await pilot.pause(0.3)
        assert session.selected == 1
        link.push({"type": "follow", "scene": presenter_scene(step=80, tab="tab-maths") | {"step": 40, "selected": 2}})
        await until(pilot, lambda: session.selected == 2)
        assert app.screen.session is session  # the same scenario: no new screen
        await until(pilot, lambda: link.of_type("status")[-1]["tab"] == "tab-maths")


async def test_a_tweak_key_breaks_away_with_a_notice_and_F_rejoins():
    # joining late: the welcome carries the scene
    async with joined_on(presenter_scene(step=20)) as (app, pilot, link):
        await until(pilot, lambda: app.screen.session.sim.step_count == 20)
        assert "room_explore" in footer_actions(app) and "room_follow" not in footer_actions(app)
        await pilot.press("l")  # learning rate up: the follower explores from here
        await pilot.pause()
        assert not app.room.state.following and app.screen.session.hold is None
        assert link.of_type("status")[-1]["following"] is False
        assert said(app, "exploring on your own: F follows the presenter again")
        changed = app.screen.session.loaded.raw
        # a follow on its way is not applied to someone exploring
        link.push({"type": "follow", "scene": presenter_scene(step=50)})
        await pilot.pause(0.3)
        assert app.screen.session.loaded.raw == changed and app.screen.session.sim.step_count != 50
        assert "room_follow" in footer_actions(app)
        await pilot.press("F")
        await until(pilot, lambda: app.screen.session.loaded.raw != changed)  # back to the presenter's
        assert app.room.state.following and link.of_type("status")[-1]["following"] is True
        await until(pilot, lambda: app.screen.session.sim.step_count == 50)


async def test_back_to_the_list_breaks_away_and_ctrl_f_rejoins_there_where_F_is_typed():
    async with joined_on(presenter_scene(step=10)) as (app, pilot, link):
        await pilot.press("escape")
        await until(pilot, lambda: type(app.screen).__name__ == "PickerScreen")
        assert not app.room.state.following and link.of_type("status")[-1]["following"] is False
        assert "room_rejoin" in footer_actions(app)
        await pilot.press("F")  # the filter box takes it
        assert not app.room.state.following
        await pilot.press("ctrl+f")
        await until(pilot, lambda: opened(app)
                    and app.screen.session.sim.step_count == 10)
        assert app.room.state.following and "room_rejoin" not in footer_actions(app)


async def test_X_breaks_away_and_a_bring_still_opens_the_scene():
    app = make_app("three_runs")
    link = StandInLink()
    async with app.run_test(size=(80, 24)) as pilot:
        await joined(app, pilot, link)
        await pilot.press("X")
        await pilot.pause()
        assert not app.room.state.following
        scene = presenter_scene("s2/predict", step=0)
        scene["raw"]["optimizer"]["lr"] = 0.03  # the presenter's tweak travels in the raw
        link.push({"type": "open", "scene": scene})
        await until(pilot, lambda: opened(app) and app.screen.session.loaded.id == "predict")
        assert app.screen.session.loaded.raw["optimizer"]["lr"] == 0.03
        assert app.screen.session.modified is False  # not a built-in here: its own original
        assert not app.room.state.following


# -- a presenter ----------------------------------------------------------------------------------------
async def test_a_presenter_sends_its_state_as_it_changes_and_H_brings_everyone():
    app = make_app("three_runs")
    link = StandInLink(name="alice", role="presenter")
    async with app.run_test(size=(80, 24)) as pilot:
        await joined(app, pilot, link)
        await until(pilot, lambda: link.of_type("state"))
        scene = link.of_type("state")[-1]["scene"]
        assert scene["id"] == "three_runs" and scene["step"] == 0 and scene["raw"] == app.screen.session.loaded.raw
        assert not app.screen.query(RoomPanel)
        await pilot.press("ctrl+r")
        await until(pilot, lambda: app.screen.query(RoomPanel))
        assert "0 participants" in str(app.screen.query_one(RoomPanel).render())
        await pilot.press("ctrl+r")
        await until(pilot, lambda: not app.screen.query(RoomPanel))
        await pilot.press("full_stop", "full_stop", "2")
        await until(pilot, lambda: link.of_type("state")[-1]["scene"]["step"] == 2)
        sent = len(link.of_type("state"))
        await pilot.pause(0.5)  # nothing changes: nothing is sent
        assert len(link.of_type("state")) == sent
        await pilot.press("l")
        await pilot.press("H")
        await until(pilot, lambda: link.of_type("bring"))
        bring = link.of_type("bring")[-1]["scene"]
        assert bring["raw"] == app.screen.session.loaded.raw and bring["raw"] != scene["raw"]
        assert bring["original_id"] == "three_runs"
        # what the broker passes to a participant opens the same scenario with the same numbers
        follower = make_app(None)
        flink = StandInLink()
        async with follower.run_test(size=(80, 24)) as fpilot:
            await joined(follower, fpilot, flink)
            flink.push({"type": "open", "scene": bring})
            await until(fpilot, lambda: opened(follower)
                        and follower.screen.session.sim.step_count == bring["step"])
            assert follower.screen.session.loaded.raw == bring["raw"]
            assert (follower.screen.session.sim.loss == app.screen.session.sim.loss).all()


async def test_a_scene_that_reads_a_data_file_is_not_sent_and_the_presenter_is_told(tmp_path):
    app = make_app("three_runs")
    link = StandInLink(name="alice", role="presenter")
    async with app.run_test(size=(80, 24)) as pilot:
        await joined(app, pilot, link)
        await until(pilot, lambda: link.of_type("state"))
        session = app.screen.session
        raw = {**session.loaded.raw, "problem": {"path": "secret.csv", "target": "y"}}
        session.loaded = type(session.loaded)(session.loaded.scenario, raw, None, "mine")
        await pilot.press("H")
        await pilot.pause(0.3)
        assert not link.of_type("bring")
        assert said(app, "reads a data file")


# -- bad messages, a lost room ----------------------------------------------------------------------
async def test_malformed_messages_are_a_one_line_notice_and_the_room_carries_on():
    app = make_app(None)
    link = StandInLink()
    async with app.run_test(size=(80, 24)) as pilot:
        await joined(app, pilot, link)
        bad_raw = presenter_scene() | {"raw": {"scenario": {"title": 3}}}
        for message in ({"type": "follow", "scene": "nope"}, {"type": "follow", "scene": bad_raw},
                        {"type": "follow", "scene": presenter_scene() | {"raw": {"problem": {"path": "/etc/passwd"}}}},
                        {"type": "poll", "poll": 1, "question": "q", "choices": ["only one"]},
                        {"type": "revealed", "poll": 1, "answer": "two", "counts": [], "answered": 0, "of": 0},
                        {"type": "mystery"}):
            link.push(message)
        await pilot.pause(0.5)
        notices = list(app.told)
        assert sum("room" in n or "presenter" in n for n in notices) >= 6, notices
        assert all("\n" not in n and "Traceback" not in n for n in notices)
        assert type(app.screen).__name__ == "PickerScreen" and app.room.active
        link.push({"type": "follow", "scene": presenter_scene(step=5)})  # still following
        await until(pilot, lambda: opened(app))


async def test_a_lost_room_is_said_once_and_the_app_carries_on_alone():
    async with joined_on(presenter_scene(step=10, playing=True)) as (app, pilot, link):
        link.push(None)
        await until(pilot, lambda: bool(app.room.gone))
        await pilot.pause()
        app.room.lose("again")
        assert len([line for line in app.told if "carry on alone" in line]) == 1
        assert app.screen.session.hold is None
        assert "room_panel" not in footer_actions(app)
        await pilot.press("space")  # the app works on its own
        await pilot.pause(0.3)
        assert app.screen.session.sim.step_count > 10


async def test_a_room_that_cannot_be_joined_says_so_once():
    app = make_app(None)
    async with app.run_test(size=(80, 24)) as pilot:
        record_notices(app)
        app.join_room(StandInLink(refuse="no broker at /tmp/x"))
        await until(pilot, lambda: app.room is not None and bool(app.room.gone))
        assert [line for line in app.told if "no room" in line] == [": no room: no broker at /tmp/x. You carry on alone."]
        await asyncio.sleep(0)


async def test_a_burst_of_scenes_opens_the_last_one_without_an_error():
    app = make_app(None)
    link = StandInLink()
    scenes = [presenter_scene("three_runs", step=3), presenter_scene("s2/predict", step=2),
              presenter_scene("three_runs", step=7), presenter_scene("s2/predict", step=4)]
    async with app.run_test(size=(80, 24)) as pilot:
        await joined(app, pilot, link)
        for scene in scenes:
            link.push({"type": "follow", "scene": scene})
        await until(pilot, lambda: opened(app)
                    and app.screen.session.loaded.id == "predict" and app.screen.session.sim.step_count == 4
                    and app.screen.redraws > 0)
        await pilot.pause(0.3)
        assert not [line for line in app.told if "could not be shown" in line]


async def test_a_second_scene_before_the_first_screen_has_mounted_is_applied_to_it():
    app = make_app(None)
    link = StandInLink()
    async with app.run_test(size=(80, 24)) as pilot:
        await joined(app, pilot, link)
        link.push({"type": "follow", "scene": presenter_scene("three_runs", step=3)})
        link.push({"type": "follow", "scene": presenter_scene("three_runs", step=7, tab="tab-maths")})
        await until(pilot, lambda: opened(app) and app.screen.session.sim.step_count == 7
                    and app.screen.query_one("#tabs").active == "tab-maths")
        assert not [line for line in app.told if "could not be shown" in line]


async def test_a_bring_to_someone_who_ran_past_the_presenter_puts_them_live_at_the_presenters_step():
    app = make_app("three_runs")
    link = StandInLink()
    async with app.run_test(size=(80, 24)) as pilot:
        await joined(app, pilot, link)
        await pilot.press("X")
        app.screen.session.step(50)  # exploring: ran ahead on the same scenario
        link.push({"type": "open", "scene": presenter_scene(step=30)})
        session = app.screen.session
        await until(pilot, lambda: session.sim.step_count == 30 and not session.running)
        assert session.cursor is None and session.shown_step == 30
        await until(pilot, lambda: link.of_type("status")[-1]["step"] == 30)


async def test_a_change_made_from_the_command_palette_breaks_away_at_the_next_follow():
    from gdsim.app import tweaks

    async with joined_on(presenter_scene(step=5)) as (app, pilot, link):
        await until(pilot, lambda: app.screen.session.sim.step_count == 5)
        app.screen.change(tweaks.learning_rate, 1)  # what the palette's "Learning rate up" calls
        mine = app.screen.session.loaded.raw
        link.push({"type": "follow", "scene": presenter_scene(step=9)})
        await until(pilot, lambda: not app.room.state.following)
        await pilot.pause(0.2)
        assert app.screen.session.loaded.raw == mine and said(app, "exploring on your own")


async def test_the_break_away_notice_stays_readable_after_a_long_message_of_the_key():
    from gdsim.app.widgets.status_line import StatusLine, arrange

    async with joined_on(presenter_scene(step=5)) as (app, pilot, link):
        await until(pilot, lambda: app.screen.session.sim.step_count == 5)
        status = app.screen.query_one(StatusLine)
        app.screen.say("a long message the key gave before: " + "words " * 30)
        await pilot.press("X")
        await pilot.pause(0.2)
        rows = len(arrange(status._pieces, status.size.width))
        shown = " ".join("".join(seg.text for seg in status.render_line(y)).strip() for y in range(rows))
        assert "exploring on your own: F follows the presenter again" in shown, shown


async def test_X_while_catching_up_pauses_where_the_participant_is():
    """R3 (session 3, over real ssh): a follower pressed X while its app was still running up to the
    presenter's step, before the presenter's pause had reached it, and went on running alone far
    past the paused presenter. X now pauses at the step on the learner's screen, whatever the
    presenter's last news said; a late follow does not move them."""
    far = presenter_scene(step=30) | {"step": 10**6, "playing": True}  # the presenter, far ahead and playing
    async with joined_on(far) as (app, pilot, link):
        await until(pilot, lambda: app.screen.session.sim.step_count > 100)
        session = app.screen.session
        assert session.running and session.sim.step_count < 10**6  # still catching up
        await pilot.press("X")
        await pilot.pause()
        assert not session.running and session.hold is None and not app.room.state.following
        here = session.sim.step_count
        await pilot.pause(0.3)
        link.push({"type": "follow", "scene": far | {"playing": False}})  # the presenter's pause, late
        await pilot.pause(0.3)
        assert session.sim.step_count == here and not session.running
        assert said(app, "exploring on your own: F follows the presenter again")


async def test_space_while_catching_up_with_a_paused_presenter_pauses():
    """A key that breaks away acts on what the screen shows: space on a screen still running up to
    a paused presenter's step pauses it (it used to stop it first, then space ran it on alone)."""
    async with joined_on(presenter_scene(step=30) | {"step": 10**6, "playing": False}) as (app, pilot, link):
        await until(pilot, lambda: app.screen.session.sim.step_count > 100)
        session = app.screen.session
        assert session.running and session.sim.step_count < 10**6
        await pilot.press("space")
        await pilot.pause()
        here = session.sim.step_count
        await pilot.pause(0.3)
        assert not session.running and session.sim.step_count == here and not app.room.state.following
        await pilot.press("space")  # and space runs it on, alone
        await until(pilot, lambda: session.sim.step_count > here)
