"""Polls in the room, with a stand-in broker (tests/app/room_stand_in.py): a participant answers in
the question panel or the poll window, sees the reveal; a presenter polls and reveals; a nickname;
the help screen lists the room's keys (issue #17)."""

from __future__ import annotations

from gdsim.app.widgets.question_panel import QuestionPanel
from gdsim.app.widgets.room_panel import RoomPanel
from tests.app.conftest import make_app
from tests.app.room_stand_in import StandInLink, footer_actions, joined, joined_on, opened, presenter_scene, said, until


async def test_a_poll_on_the_open_scenario_is_answered_in_its_question_panel_and_revealed():
    async with joined_on(presenter_scene("s2/predict", step=0), size=(100, 30)) as (app, pilot, link):
        await until(pilot, lambda: app.screen.flow is not None)
        screen = app.screen
        link.push({"type": "poll", "poll": 7, "question": "Which run ends closest to the minimum?",
                   "choices": ["the smallest rate", "the middle rate", "the largest rate"], "scenario": "predict"})
        await until(pilot, lambda: app.room.state.poll is not None)
        assert app.screen is screen  # no window: the question panel asks it
        await pilot.press("3")
        await until(pilot, lambda: link.of_type("answer"))
        assert link.of_type("answer") == [{"type": "answer", "poll": 7, "choice": 3}]
        link.push({"type": "revealed", "poll": 7, "answer": 2, "text": "", "counts": [1, 5, 3], "answered": 9,
                   "of": 10})
        await until(pilot, lambda: screen.flow.phase == "revealed")
        assert screen.query_one(QuestionPanel).folded  # one line, as after a learner's own answer (w opens it)
        assert said(app, "9 of 10 answered: 1: 1, 2: 5 ✓, 3: 3")


async def test_a_poll_elsewhere_opens_its_window_and_the_answer_goes_to_the_room():
    app = make_app(None)
    link = StandInLink()
    async with app.run_test(size=(80, 24)) as pilot:
        await joined(app, pilot, link)
        link.push({"type": "poll", "poll": 3, "question": "Is a bigger rate always faster?",
                   "choices": ["yes", "no"], "scenario": None})
        await until(pilot, lambda: type(app.screen).__name__ == "RoomPollScreen")
        await pilot.press("escape")  # later
        await until(pilot, lambda: type(app.screen).__name__ == "PickerScreen")
        await pilot.press("ctrl+r")  # brings it back while unanswered
        await until(pilot, lambda: type(app.screen).__name__ == "RoomPollScreen")
        await pilot.press("9", "²")  # not a choice, not an ASCII digit: asked again
        await pilot.press("2")
        await until(pilot, lambda: link.of_type("answer"))
        assert link.of_type("answer") == [{"type": "answer", "poll": 3, "choice": 2}]
        link.push({"type": "revealed", "poll": 3, "answer": 2, "text": "", "counts": [4, 15], "answered": 19,
                   "of": 27})
        await pilot.press("ctrl+r")  # now the panel: the last reveal
        await until(pilot, lambda: app.screen.query(RoomPanel))
        shown = str(app.screen.query_one(RoomPanel).render())
        assert "The answer: 2, no" in shown and "19 of 27 answered: 1: 4, 2: 15 ✓" in shown


async def test_an_answer_given_in_the_poll_window_is_the_question_panels_answer_at_the_reveal():
    """Seen over real ssh: a participant who answered in the window (at the list, or joining late)
    and was then on the scenario read "You skipped." at the reveal, though the room counted the answer."""
    app = make_app(None)
    link = StandInLink()
    async with app.run_test(size=(100, 30)) as pilot:
        await joined(app, pilot, link)
        link.push({"type": "poll", "poll": 5, "question": "Which run ends closest to the minimum?",
                   "choices": ["the smallest rate", "the middle rate", "the largest rate"], "scenario": "predict"})
        await until(pilot, lambda: type(app.screen).__name__ == "RoomPollScreen")
        await pilot.press("3")
        await until(pilot, lambda: link.of_type("answer"))
        link.push({"type": "open", "scene": presenter_scene("s2/predict", step=0)})
        await until(pilot, lambda: opened(app) and app.screen.flow is not None)
        screen = app.screen
        link.push({"type": "revealed", "poll": 5, "answer": 2, "text": "", "counts": [0, 0, 1], "answered": 1,
                   "of": 1})
        await until(pilot, lambda: screen.flow.phase == "revealed")
        await pilot.pause()
        shown = str(screen.query_one(QuestionPanel).render())
        assert "You said 3" in shown and "skipped" not in shown
        assert [a.choice for a in screen.session.answers] == [3]
        assert link.of_type("answer") == [{"type": "answer", "poll": 5, "choice": 3}]  # sent once


async def test_P_polls_the_room_with_the_question_and_Y_reveals_and_runs_it():
    app = make_app("s2/predict")
    link = StandInLink(name="alice", role="presenter")
    async with app.run_test(size=(80, 24)) as pilot:
        await joined(app, pilot, link)
        await pilot.press("P")
        await until(pilot, lambda: link.of_type("poll_open"))
        assert link.of_type("poll_open")[-1] == {
            "type": "poll_open", "question": "Which run ends closest to the minimum?",
            "choices": ["the smallest rate", "the middle rate", "the largest rate"], "scenario": "predict",
            "answer": 2}
        link.push({"type": "poll", "poll": 1, "question": "Which run ends closest to the minimum?",
                   "choices": ["the smallest rate", "the middle rate", "the largest rate"], "scenario": "predict",
                   "answer": 2})
        link.push({"type": "tally", "poll": 1, "answered": 21, "of": 27, "counts": [4, 15, 2], "skipped": 0})
        await until(pilot, lambda: app.room.state.tally is not None)
        await pilot.pause()
        assert "21 of 27 answered: 1: 4, 2: 15, 3: 2" in str(app.screen.query_one(RoomPanel).render())
        assert "room_reveal" in footer_actions(app) and "room_poll" not in footer_actions(app)
        await pilot.press("Y")
        await until(pilot, lambda: link.of_type("reveal"))
        link.push({"type": "revealed", "poll": 1, "answer": 2, "text": "", "counts": [4, 15, 2], "answered": 21,
                   "of": 27})
        await until(pilot, lambda: app.screen.flow.phase == "revealed" and app.screen.session.running)
        await pilot.pause()
        shown = str(app.screen.query_one(QuestionPanel).render())  # on the projector: the presenter asked
        assert "You asked the room." in shown and "skipped" not in shown


async def test_C_closes_the_open_poll_without_revealing_it():
    """C (a presenter, a poll open) sends poll_close, never reveal: the answer stays unshown."""
    app = make_app("s2/predict")
    link = StandInLink(name="alice", role="presenter")
    async with app.run_test(size=(80, 24)) as pilot:
        await joined(app, pilot, link)
        link.push({"type": "poll", "poll": 1, "question": "Which run ends closest to the minimum?",
                   "choices": ["the smallest rate", "the middle rate", "the largest rate"], "scenario": "predict",
                   "answer": 2})
        await until(pilot, lambda: app.room.state.poll is not None)
        await pilot.press("C")
        await until(pilot, lambda: link.of_type("poll_close"))
        assert link.of_type("poll_close") == [{"type": "poll_close"}] and not link.of_type("reveal")
        assert said(app, "poll closed without revealing it")
        assert app.screen.flow.phase != "revealed"


async def test_a_participant_chooses_a_nickname_once():
    app = make_app(None)
    link = StandInLink(name="guest")
    async with app.run_test(size=(80, 24)) as pilot:
        await joined(app, pilot, link)
        await pilot.press("ctrl+n")
        await until(pilot, lambda: type(app.screen).__name__ == "PromptScreen")
        await pilot.press(*["backspace"] * 5)
        await pilot.press(*"Zoë the great", "enter")
        await until(pilot, lambda: link.of_type("nickname"))
        assert link.of_type("nickname") == [{"type": "nickname", "name": "Zothegreat"}]
        assert app.room.state.name == "Zothegreat" and said(app, "the room calls you Zothegreat")
        await pilot.press("ctrl+n")  # once only: the key is gone
        await pilot.pause(0.2)
        assert type(app.screen).__name__ == "PickerScreen" and len(link.of_type("nickname")) == 1


async def test_the_help_screen_lists_the_room_keys_of_the_role_only_in_a_room():
    from gdsim.app.screens.help import describe

    app = make_app("three_runs")
    async with app.run_test(size=(80, 24)) as pilot:
        assert "In the room" not in describe(app.screen, app.BINDINGS).plain
        await joined(app, pilot, StandInLink(name="alice", role="presenter"))
        shown = describe(app.screen, app.BINDINGS).plain
        assert "In the room" in shown and "Bring everyone here" in shown and "Follow the presenter" not in shown
        assert "Close the poll without revealing it" in shown
    app = make_app("three_runs")
    async with app.run_test(size=(80, 24)) as pilot:
        await joined(app, pilot, StandInLink())
        shown = describe(app.screen, app.BINDINGS).plain
        assert "Follow the presenter" in shown and "Explore on your own" in shown and "Bring" not in shown
        assert "1-9 answer the room's poll" in shown


async def test_a_presenter_sees_the_room_panel_at_the_list_too():
    app = make_app(None)
    link = StandInLink(name="alice", role="presenter")
    async with app.run_test(size=(80, 24)) as pilot:
        await joined(app, pilot, link)
        assert "room_panel" in footer_actions(app) and "room_bring" not in footer_actions(app)
        link.push({"type": "roster", "members": [
            {"name": "bob", "role": "participant", "scenario": "three_runs", "title": "", "step": 12,
             "following": True, "tab": "tab-plots", "answered": False}]})
        await pilot.press("ctrl+r")
        await until(pilot, lambda: app.screen.query(RoomPanel))
        await until(pilot, lambda: "bob" in str(app.screen.query_one(RoomPanel).render()))
        shown = str(app.screen.query_one(RoomPanel).render())
        assert "1 participant, 1 following" in shown and "three_runs" in shown and "12" in shown
        await pilot.press("H")  # typed into the filter: no scenario to bring from the list
        assert not link.of_type("bring")
        await pilot.press("backspace", "enter")  # opens a scenario: the panel comes along
        await until(pilot, lambda: opened(app) and app.screen.query(RoomPanel))


async def test_the_reveal_runs_the_scenario_for_someone_brought_there_who_does_not_follow():
    app = make_app(None)
    link = StandInLink()
    async with app.run_test(size=(100, 30)) as pilot:
        await joined(app, pilot, link)
        app.room.break_away()
        link.push({"type": "open", "scene": presenter_scene("s2/predict", step=0)})
        await until(pilot, lambda: opened(app) and app.screen.flow is not None)
        screen = app.screen
        link.push({"type": "poll", "poll": 2, "question": "Which run ends closest to the minimum?",
                   "choices": ["the smallest rate", "the middle rate", "the largest rate"], "scenario": "predict"})
        await until(pilot, lambda: app.room.state.poll is not None)
        await pilot.press("1")
        link.push({"type": "revealed", "poll": 2, "answer": 2, "text": "", "counts": [1, 0, 0], "answered": 1,
                   "of": 1})
        await until(pilot, lambda: screen.flow.phase == "revealed" and screen.session.running)
        await until(pilot, lambda: screen.session.sim.step_count > 0)
