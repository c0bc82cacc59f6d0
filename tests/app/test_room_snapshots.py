"""Snapshots of the room at 80x24 (issue #17): a presenter's room panel with a poll's live tally, and
a participant's poll window over the list. Regenerate with --snapshot-update, then look at the SVGs."""

from __future__ import annotations

import pytest
from textual.widgets import Input

from tests.app.conftest import make_app
from tests.app.room_stand_in import StandInLink
from tests.app.room_stand_in import until

MEMBERS = [("alice", "predict", 0, True, True), ("bob", "predict", 0, True, False), ("carol", None, 0, False, False),
           ("dmitri-with-a-long-name", "momentum-overshoot", 1234, False, True), ("eve", "predict", 0, True, True)]
ROSTER = [{"name": name, "role": "participant", "scenario": scenario, "title": "", "step": step, "following": following,
           "tab": "tab-plots", "answered": answered} for name, scenario, step, following, answered in MEMBERS]
ROSTER.append({"name": "teacher", "role": "presenter", "scenario": "predict", "title": "", "step": 0,
               "following": False, "tab": "tab-plots", "answered": False})
QUESTION = {"question": "Which run ends closest to the minimum?", "scenario": "predict",
            "choices": ["the smallest rate", "the middle rate", "the largest rate"]}


@pytest.fixture(autouse=True)
def no_cursor_blink(monkeypatch):
    monkeypatch.setattr(Input, "cursor_blink", False)


def test_presenter_room_panel_with_a_live_tally(snap_compare):
    link = StandInLink(name="teacher", role="presenter")

    async def poll_open(pilot):
        app = pilot.app
        app.join_room(link)
        await until(pilot, lambda: app.room.joined)
        link.push({"type": "roster", "members": ROSTER})
        await pilot.press("P")
        link.push({"type": "poll", "poll": 1, "answer": 2, **QUESTION})
        link.push({"type": "tally", "poll": 1, "answered": 3, "of": 5, "counts": [1, 2, 0], "skipped": 0})
        await until(pilot, lambda: app.room.state.tally is not None and app.screen.query("RoomPanel"))
        app.clear_notifications()
        await pilot.pause(0.2)

    assert snap_compare(make_app("s2/predict"), terminal_size=(80, 24), run_before=poll_open)


def test_participant_poll_window_over_the_list(snap_compare):
    link = StandInLink(name="bob")

    async def asked(pilot):
        app = pilot.app
        app.join_room(link)
        await until(pilot, lambda: app.room.joined)
        app.clear_notifications()  # "joined the room": gone before the window comes
        await pilot.pause(0.2)
        link.push({"type": "poll", "poll": 1, **QUESTION, "scenario": None})
        await until(pilot, lambda: type(app.screen).__name__ == "RoomPollScreen")
        await pilot.pause(0.2)

    assert snap_compare(make_app(None), terminal_size=(80, 24), run_before=asked)
