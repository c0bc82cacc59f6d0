"""The app's model of the room and its scenes, headless (gdsim/app/runtime/room_state.py, room_scene.py)."""

from __future__ import annotations

import json

import pytest

from gdsim.app.runtime.room_scene import (
    SceneRefused, encoded_size, follow_step, let_go, loaded_of, reads_a_file, same_scenario, scene_of, session_of,
    wire_id,
)
from gdsim.app.runtime.room_state import BadMessage, RoomState, check_scene, tally_line
from gdsim.app.runtime.session import Session
from gdsim.scenario.load import load_scenario
from tests.app.conftest import DATA


def session(name: str = "three_runs") -> Session:
    return Session(load_scenario(DATA / f"{name}.toml"))


def wire(scene: dict) -> dict:
    return json.loads(json.dumps(scene))


# -- scenes ---------------------------------------------------------------------------------------
def test_a_scene_carries_the_tweaked_scenario_and_what_is_shown():
    s = session()
    s.step(12)
    s.select(2)
    scene = scene_of(s, "tab-maths")
    assert scene == {"id": "three_runs", "raw": s.loaded.raw, "original_id": "three_runs", "step": 12,
                     "playing": False, "speed": s.speed, "tab": "tab-maths", "selected": 2}
    assert check_scene(wire(scene)) == wire(scene)
    assert 0 < encoded_size(scene) < 250 * 1024


def test_a_followers_session_from_a_scene_computes_the_same_numbers():
    s = session()
    s.step(25)
    follower = session_of(wire(scene_of(s, "tab-plots")))
    follow_step(follower, 25, False)
    while follower.running:
        follower.advance(0.05, 0.05)
    assert follower.sim.step_count == 25 and follower.cursor is None
    assert (follower.sim.loss == s.sim.loss).all() and (follower.sim.params == s.sim.params).all()
    assert same_scenario(follower, wire(scene_of(s, "tab-plots")))
    assert not follower.events  # no "paused at the scenario's length" on the way


def test_following_a_playing_presenter_waits_at_their_step_and_rewinds_behind_it():
    s = session()
    follow_step(s, 40, True)
    for _ in range(50):
        s.advance(0.05, 0.05)
    assert s.sim.step_count == 40 and s.running  # at their step, still running with them
    follow_step(s, 60, True)
    s.advance(0.05, 0.05)
    assert s.sim.step_count == 60
    follow_step(s, 20, False)  # the presenter rewound (or reset): the cursor, no recomputing
    assert s.sim.step_count == 60 and s.cursor is not None and s.cursor <= 20 and not s.running
    follow_step(s, 60, False)
    assert s.cursor is None
    let_go(s)
    s.toggle()
    s.advance(0.1, 0.05)
    assert s.sim.step_count > 60  # alone again: runs at its own speed, past the presenter


def test_a_scenario_that_names_a_file_never_travels_nor_opens():
    s = session()
    raw = {**s.loaded.raw, "problem": {"path": "data.csv", "target": "y"}}
    s.loaded = type(s.loaded)(s.loaded.scenario, raw, None, "mine")
    with pytest.raises(SceneRefused, match="data file"):
        scene_of(s, "tab-plots")
    assert reads_a_file({"runs": [{"problem": {"path": "/etc/passwd"}}]})
    assert not reads_a_file(session().loaded.raw)
    with pytest.raises(BadMessage, match="data file"):
        loaded_of({"id": "x", "raw": raw})


def test_a_scene_with_an_invalid_scenario_is_one_line():
    with pytest.raises(BadMessage) as caught:
        loaded_of({"id": "x", "raw": {"scenario": {"title": 3}}})
    assert "\n" not in str(caught.value) and "cannot be opened here" in str(caught.value)


@pytest.mark.parametrize("field, value", [("step", -1), ("step", "3"), ("playing", 1), ("tab", "tab-evil"),
                                          ("selected", -2), ("raw", []), ("id", None), ("speed", 1.5)])
def test_a_malformed_scene_is_refused(field, value):
    scene = wire(scene_of(session(), "tab-plots"))
    with pytest.raises(BadMessage):
        check_scene(scene | {field: value})


def test_wire_ids_are_what_the_broker_accepts():
    assert wire_id("momentum-overshoot") == "momentum-overshoot"
    assert wire_id("my scenario") == "my-scenario"
    assert wire_id("_x") == "x"
    assert wire_id("???") is None and wire_id(None) is None


# -- the model ------------------------------------------------------------------------------------
POLL = {"type": "poll", "poll": 4, "question": "Which?", "choices": ["a", "b", "c"], "scenario": "predict"}


def test_a_participant_starts_following_and_the_welcome_brings_scene_and_poll():
    state = RoomState()
    scene = wire(scene_of(session(), "tab-plots"))
    actions = state.welcome({"type": "welcome", "name": "bob", "role": "participant", "scene": scene,
                             "poll": POLL | {"type": None}})
    assert state.following and state.name == "bob" and not state.presenter
    assert [a for a, _ in actions] == ["follow", "poll"] and state.poll.choices == ("a", "b", "c")


def test_a_presenter_does_not_follow_and_answers_nothing():
    state = RoomState()
    state.welcome({"type": "welcome", "name": "alice", "role": "presenter", "scene": None, "poll": None})
    assert not state.following_now()
    state.apply(POLL)
    assert state.answer_message(1) is None


def test_answers_tally_and_reveal():
    state = RoomState()
    state.welcome({"type": "welcome", "name": "bob", "role": "participant"})
    assert state.answer_message(1) is None  # no poll open
    state.apply(POLL)
    assert state.answer_message(4) is None  # not a choice
    assert state.answer_message(2) == {"type": "answer", "poll": 4, "choice": 2}
    [(what, result)] = state.apply({"type": "revealed", "poll": 4, "answer": 2, "text": "", "counts": [4, 15, 2],
                                    "answered": 21, "of": 27})
    assert what == "revealed" and state.poll is None and result.choices == ("a", "b", "c")
    assert result.scenario == "predict"
    assert tally_line(21, 27, (4, 15, 2)) == "21 of 27 answered: 1: 4, 2: 15, 3: 2"
    assert tally_line(21, 27, (4, 15, 2), 1, answer=2) == "21 of 27 answered: 1: 4, 2: 15 ✓, 3: 2 (1 skipped)"


def test_a_follow_after_breaking_away_is_kept_but_not_applied():
    state = RoomState()
    state.welcome({"type": "welcome", "name": "bob", "role": "participant"})
    state.following = False
    scene = wire(scene_of(session(), "tab-plots"))
    assert state.apply({"type": "follow", "scene": scene}) == [] and state.scene == scene
    assert state.apply({"type": "open", "scene": scene}) == [("open", scene)]


@pytest.mark.parametrize("message", [
    {"type": "poll", "poll": 1, "question": "q", "choices": ["one"]},
    {"type": "poll", "poll": True, "question": "q", "choices": ["a", "b"]},
    {"type": "poll", "poll": 1, "question": 5, "choices": ["a", "b"]},
    {"type": "tally", "poll": 1, "answered": -1, "of": 2, "counts": [1, 1]},
    {"type": "tally", "poll": 1, "answered": 1, "of": 2, "counts": "11"},
    {"type": "revealed", "poll": 1, "answer": 0, "counts": [], "answered": 0, "of": 0},
    {"type": "roster", "members": [["bob"]]},
    {"type": "roster", "members": [{"name": 3, "role": "participant"}]},
    {"type": "follow", "scene": None},
    {"type": "launch-the-missiles"},
])
def test_malformed_messages_raise_bad_message_with_one_line(message):
    state = RoomState()
    with pytest.raises(BadMessage) as caught:
        state.apply(message)
    assert "\n" not in str(caught.value)


def test_text_from_the_room_is_shown_inert():
    state = RoomState()
    state.apply(POLL | {"question": "Which \x1b[31mred\x1b[0m?", "choices": ["[b]a[/b]", "b\x07"]})
    assert "\x1b" not in state.poll.question and "\x07" not in state.poll.choices[1]
    state.apply({"type": "roster", "members": [{"name": "eve\x1b]0;x\x07", "role": "participant", "scenario": None,
                                                "title": "", "step": 0, "following": False, "tab": ""}]})
    assert "\x1b" not in state.roster[0].name and "\x07" not in state.roster[0].name


def test_the_room_model_and_scenes_import_no_textual():
    import subprocess
    import sys

    code = ("import sys, gdsim.app.runtime.room_state, gdsim.app.runtime.room_scene; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'textual'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_breaking_away_while_catching_up_with_a_paused_presenter_stops_there():
    s = session()
    follow_step(s, 10**6, False)
    s.advance(0.05, 1e-3)  # part of the way
    assert s.running and 0 < s.sim.step_count < 10**6
    let_go(s)
    assert not s.running and s.hold is None
    follow_step(s, 20, False)
    while s.running:
        s.advance(0.05, 0.05)
    follow_step(s, 60, True)  # the presenter plays: breaking away keeps it running, on its own
    let_go(s)
    assert s.running


def test_letting_go_to_explore_pauses_and_for_a_key_keeps_what_is_shown():
    s = session()
    follow_step(s, 10**6, True)  # catching up with a presenter who plays (or so the last news said)
    s.advance(0.05, 1e-3)
    assert s.running
    let_go(s, pause=True)  # X: paused where it is
    assert not s.running and s.hold is None
    follow_step(s, 10**6, False)  # catching up with a paused presenter
    s.advance(0.05, 1e-3)
    assert s.running
    let_go(s, pause=False)  # a key: running as shown; the key (space) then pauses it
    assert s.running and s.hold is None


def test_a_follower_reaching_a_paused_presenters_step_pauses_in_the_same_tick():
    s = session()
    follow_step(s, 10, False)
    s.advance(0.05, 0.05)
    assert s.sim.step_count == 10 and not s.running
