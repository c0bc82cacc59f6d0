"""Escape and the room's overlays (issue #17, found over real ssh): with the room panel open (ctrl+r),
escape closed the scenario and the panel stayed open over the list (at 80x24 it covered it). Escape
closes what is on top first, like a modal: the poll window, then the room panel (the presenter's
tally included), and only then does it go back."""

from __future__ import annotations

from gdsim.app.widgets.room_panel import RoomPanel
from tests.app.conftest import make_app
from tests.app.room_stand_in import StandInLink, footer_actions, joined, joined_on, opened, presenter_scene, until

QUESTION = {"question": "Which run ends closest to the minimum?",
            "choices": ["the smallest rate", "the middle rate", "the largest rate"]}


def screen_name(app) -> str:
    return type(app.screen).__name__


def panel_shown(app) -> bool:
    return bool(app.screen.query(RoomPanel))


async def escape(pilot) -> None:
    await pilot.press("escape")
    await pilot.pause(0.1)


async def test_a_presenters_escape_closes_the_room_panel_before_it_leaves_the_scenario():
    app = make_app("three_runs")
    async with app.run_test(size=(80, 24)) as pilot:
        await joined(app, pilot, StandInLink(name="alice", role="presenter"))
        scenario = app.screen
        assert "back" in footer_actions(app)
        await pilot.press("ctrl+r")
        await until(pilot, lambda: panel_shown(app))
        # the footer says what escape does now: "esc close" in the place of "esc back"
        await until(pilot, lambda: "room_hide_panel" in footer_actions(app))
        assert "back" not in footer_actions(app)
        await escape(pilot)
        assert app.screen is scenario and not panel_shown(app)
        await until(pilot, lambda: "back" in footer_actions(app) and "room_hide_panel" not in footer_actions(app))
        await escape(pilot)
        await until(pilot, lambda: screen_name(app) == "PickerScreen")
        await pilot.pause(0.2)  # the panel does not come back over the list
        assert not panel_shown(app) and not app.room.panel_wanted
        await pilot.press("ctrl+r")  # and ctrl+r still opens it there
        await until(pilot, lambda: panel_shown(app))


async def test_a_followers_escape_closes_the_room_panel_without_breaking_away():
    async with joined_on(presenter_scene(step=10)) as (app, pilot, link):
        scenario = app.screen
        await pilot.press("ctrl+r")
        await until(pilot, lambda: panel_shown(app))
        await escape(pilot)
        assert app.screen is scenario and not panel_shown(app)
        assert app.room.state.following  # closing the panel changes nothing of the run
        await escape(pilot)  # the second one goes back to the list (and breaks away, as before)
        await until(pilot, lambda: screen_name(app) == "PickerScreen")
        assert not panel_shown(app) and not app.room.state.following


async def test_escape_closes_the_presenters_live_tally_and_a_new_tally_does_not_reopen_it():
    app = make_app("s2/predict")
    link = StandInLink(name="alice", role="presenter")
    async with app.run_test(size=(80, 24)) as pilot:
        await joined(app, pilot, link)
        scenario = app.screen
        await pilot.press("P")  # opens the panel with the tally
        await until(pilot, lambda: link.of_type("poll_open") and panel_shown(app))
        link.push({"type": "poll", "poll": 1, "scenario": "predict", "answer": 2, **QUESTION})
        link.push({"type": "tally", "poll": 1, "answered": 1, "of": 3, "counts": [1, 0, 0], "skipped": 0})
        await until(pilot, lambda: "1 of 3 answered" in str(app.screen.query_one(RoomPanel).render()))
        await escape(pilot)
        assert app.screen is scenario and not panel_shown(app)
        link.push({"type": "tally", "poll": 1, "answered": 2, "of": 3, "counts": [1, 1, 0], "skipped": 0})
        await until(pilot, lambda: app.room.state.tally.answered == 2)
        await pilot.pause(0.1)
        assert not panel_shown(app)
        await pilot.press("ctrl+r")  # back on demand, with the live count
        await until(pilot, lambda: panel_shown(app))
        assert "2 of 3 answered" in str(app.screen.query_one(RoomPanel).render())
        await escape(pilot)
        await escape(pilot)
        await until(pilot, lambda: screen_name(app) == "PickerScreen")
        await pilot.pause(0.2)
        assert not panel_shown(app)


async def test_escape_puts_the_poll_window_aside_then_closes_the_panel_then_goes_back():
    async with joined_on(presenter_scene(step=10)) as (app, pilot, link):
        scenario = app.screen
        await pilot.press("ctrl+r")
        await until(pilot, lambda: panel_shown(app))
        link.push({"type": "poll", "poll": 4, "scenario": None, **QUESTION})
        await until(pilot, lambda: screen_name(app) == "RoomPollScreen")
        await escape(pilot)  # the window, put aside
        assert app.screen is scenario and panel_shown(app) and app.room.state.following
        await escape(pilot)  # the panel
        assert app.screen is scenario and not panel_shown(app) and app.room.state.following
        await escape(pilot)  # back to the list
        await until(pilot, lambda: screen_name(app) == "PickerScreen")
        await pilot.pause(0.2)
        assert not panel_shown(app)


async def test_at_the_list_escape_closes_the_panel_before_it_clears_the_filter():
    from textual.widgets import Input

    app = make_app(None)
    async with app.run_test(size=(80, 24)) as pilot:
        await joined(app, pilot, StandInLink())
        await pilot.press(*"three")
        await pilot.press("ctrl+r")
        await until(pilot, lambda: panel_shown(app))
        await escape(pilot)
        assert not panel_shown(app) and app.screen.query_one(Input).value == "three"
        await escape(pilot)
        assert app.screen.query_one(Input).value == ""


async def test_a_presenters_escape_in_a_dialog_over_the_panel_closes_the_dialog_only():
    """The panel is on the screen beneath: a dialog's own escape still answers the dialog."""
    app = make_app("three_runs")
    async with app.run_test(size=(80, 24)) as pilot:
        await joined(app, pilot, StandInLink(name="alice", role="presenter"))
        await pilot.press("ctrl+r")
        await until(pilot, lambda: panel_shown(app))
        await pilot.press("question_mark")
        await until(pilot, lambda: screen_name(app) == "HelpScreen")
        await escape(pilot)
        assert opened(app) and panel_shown(app)
