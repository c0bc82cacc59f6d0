"""The room's classroom flow: bring, follow, polls (tally, reveal, close), the roster, the room log."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import stat
import tempfile
from pathlib import Path

import pytest

from gdsim.errors import UserError
from gdsim.serve.room import Room
from gdsim.serve.room_log import RoomLog, check_directory
from tests.serve.room_client import Client, joined, next_matching, room, scene, synced, until  # noqa: F401

QUESTION = {"type": "poll_open", "question": "Where does the run end?", "choices": ["left", "right", "centre"],
            "scenario": "momentum-overshoot", "answer": 3}


async def test_bring_opens_everywhere_and_state_reaches_followers_only(room):
    presenter, _ = await joined(room, "teacher", "presenter")
    follower, _ = await joined(room, "ada")
    explorer, _ = await joined(room, "bob")
    follower.send({"type": "status", "following": True})
    await synced(room, follower, "ada")
    presenter.send({"type": "bring", "scene": scene(5)})
    assert (await follower.next("open"))["scene"]["step"] == 5
    assert (await explorer.next("open"))["scene"]["step"] == 5
    presenter.send({"type": "state", "scene": scene(6)})
    assert (await follower.next("follow"))["scene"]["step"] == 6
    assert [m["type"] for m in await explorer.quiet()] == []
    assert not [m for m in await presenter.quiet() if m["type"] in ("open", "follow")]
    # Who starts following gets the latest scene at once; a newcomer gets it in the welcome.
    explorer.send({"type": "status", "following": True})
    assert (await explorer.next("follow"))["scene"]["step"] == 6
    _, welcome = await Client.join(room, room.add_member("carol", "participant"))
    assert welcome["scene"]["step"] == 6 and welcome["poll"] is None


async def test_tally_and_reveal_count_what_participants_answered(room):
    presenter, _ = await joined(room, "teacher", "presenter")
    people = [(await joined(room, name))[0] for name in ("ada", "bob", "carol", "dan")]
    presenter.send(QUESTION)
    polls = [await p.next("poll") for p in people]
    poll_id = polls[0]["poll"]
    assert all("answer" not in p for p in polls)  # the answer stays with the presenters until the reveal
    assert polls[0]["choices"] == ["left", "right", "centre"] and polls[0]["scenario"] == "momentum-overshoot"
    assert (await presenter.next("poll"))["answer"] == 3
    ada, bob, carol, dan = people
    ada.send({"type": "answer", "poll": poll_id, "choice": 2})
    bob.send({"type": "answer", "poll": poll_id, "choice": 0})  # skip
    carol.send({"type": "answer", "poll": poll_id, "choice": 2})
    carol.send({"type": "answer", "poll": poll_id, "choice": 1})  # changes her mind
    dan.send({"type": "answer", "poll": poll_id + 1, "choice": 1})  # no such poll: ignored
    dan.send({"type": "answer", "poll": poll_id, "choice": 4})  # no such choice: ignored
    for name, client in zip(("ada", "bob", "carol", "dan"), people):
        await synced(room, client, name)
    assert room._tally() == {"type": "tally", "poll": poll_id, "answered": 3, "of": 4, "counts": [1, 1, 0],
                             "skipped": 1}
    tally = await next_matching(presenter, "tally", lambda m: m["answered"] == 3 and m["counts"] == [1, 1, 0])
    assert tally == room._tally()
    presenter.send({"type": "reveal", "text": "it ends in the centre"})
    expected = {"type": "revealed", "poll": poll_id, "answer": 3, "text": "it ends in the centre",
                "counts": [1, 1, 0], "answered": 3, "of": 4}
    for client in people + [presenter]:
        assert await client.next("revealed") == expected
    dan.send({"type": "answer", "poll": poll_id, "choice": 3})  # too late
    await synced(room, dan, "dan")
    assert room._tally()["counts"] == [1, 1, 0]
    presenter.send({"type": "reveal"})  # a second reveal of the same poll does nothing
    assert not [m for m in await ada.quiet() if m["type"] == "revealed"]


async def test_answers_count_only_while_the_poll_is_open(room):
    presenter, _ = await joined(room, "teacher", "presenter")
    ada, _ = await joined(room, "ada")
    ada.send({"type": "answer", "poll": 1, "choice": 1})  # before any poll
    presenter.send(QUESTION)
    poll_id = (await ada.next("poll"))["poll"]
    assert poll_id == 1
    await synced(room, ada, "ada")
    assert room._tally()["answered"] == 0
    presenter.send({"type": "poll_close"})
    assert await ada.next("closed") == {"type": "closed", "poll": poll_id}
    ada.send({"type": "answer", "poll": poll_id, "choice": 1})
    await synced(room, ada, "ada")
    assert room._tally()["answered"] == 0
    # Revealing a closed poll is allowed (close, discuss, then reveal): the closed tally, unchanged.
    presenter.send({"type": "reveal"})
    revealed = await ada.next("revealed")
    assert (revealed["answered"], revealed["counts"], revealed["text"]) == (0, [0, 0, 0], "")


async def test_a_new_poll_closes_the_open_one_and_a_leaver_keeps_a_closed_tally(room):
    presenter, _ = await joined(room, "teacher", "presenter")
    ada, ada_token = await joined(room, "ada")
    bob, _ = await joined(room, "bob")
    presenter.send(QUESTION)
    first = (await ada.next("poll"))["poll"]
    await bob.next("poll")
    ada.send({"type": "answer", "poll": first, "choice": 1})
    bob.send({"type": "answer", "poll": first, "choice": 2})
    await synced(room, ada, "ada")
    await synced(room, bob, "bob")
    presenter.send({"type": "poll_close"})
    await ada.next("closed")
    room.remove_member(ada_token)  # leaves after the close: her answer stays in that tally
    presenter.send({"type": "reveal"})
    assert (await bob.next("revealed"))["counts"] == [1, 1, 0]
    presenter.send(dict(QUESTION, question="Again?"))
    second = (await bob.next("poll"))["poll"]
    assert second == first + 1
    bob.send({"type": "answer", "poll": second, "choice": 3})
    presenter.send(dict(QUESTION, question="And again?"))
    assert await bob.next("closed") == {"type": "closed", "poll": second}
    assert (await bob.next("poll"))["poll"] == second + 1


async def test_the_roster_shows_who_is_where_sorted_and_at_most_four_a_second(room):
    presenter, _ = await joined(room, "teacher", "presenter")
    bob, _ = await joined(room, "bob")
    ada, _ = await joined(room, "ada")
    room.add_member("never-connected", "participant")  # its app never said hello: not in the roster
    presenter.send(QUESTION)
    poll_id = (await ada.next("poll"))["poll"]
    ada.send({"type": "status", "scenario": "saddle-point", "title": "A saddle\x1b[31m", "step": 12,
              "following": False, "tab": "map"})
    ada.send({"type": "answer", "poll": poll_id, "choice": 1})
    bob.send({"type": "status", "following": True})
    members = (await next_matching(presenter, "roster", lambda m: len(m["members"]) == 3 and m["members"][0]["answered"]
                                   and m["members"][1]["following"]))["members"]
    assert members == [
        {"name": "ada", "role": "participant", "scenario": "saddle-point", "title": "A saddle[31m",
         "step": 12, "following": False, "tab": "map", "answered": True},
        {"name": "bob", "role": "participant", "scenario": None, "title": "", "step": 0,
         "following": True, "tab": "", "answered": False},
        {"name": "teacher", "role": "presenter", "scenario": None, "title": "", "step": 0,
         "following": False, "tab": "", "answered": False},
    ]
    # A participant moving 100 times a second makes at most 4 rosters a second.
    loop = asyncio.get_running_loop()
    started = loop.time()
    mark = len(presenter.seen)
    for step in range(150):
        ada.send({"type": "status", "step": step})
        await asyncio.sleep(0.01)
    await next_matching(presenter, "roster", lambda m: m["members"][0]["step"] == 149)
    elapsed = loop.time() - started
    rosters = [m for m in presenter.seen[mark:] if m["type"] == "roster"]
    # (+3: rosters of the changes before `started` that were still on their way)
    assert 2 <= len(rosters) <= 4 * elapsed + 3, (len(rosters), elapsed)
    # Participants get no roster.
    assert not [m for m in ada.seen if m["type"] in ("roster", "tally")]


async def test_a_presenter_joining_late_gets_the_open_poll_and_its_tally(room):
    presenter, _ = await joined(room, "teacher", "presenter")
    ada, _ = await joined(room, "ada")
    presenter.send(QUESTION)
    poll_id = (await ada.next("poll"))["poll"]
    ada.send({"type": "answer", "poll": poll_id, "choice": 2})
    await synced(room, ada, "ada")
    token = room.add_member("assistant", "presenter")
    assistant = await Client.connect(room)
    assistant.send({"type": "hello", "token": token})
    welcome = await assistant.next("welcome")
    assert welcome["role"] == "presenter" and welcome["poll"]["answer"] == 3
    assert (await assistant.next("tally"))["counts"] == [0, 1, 0]
    # Co-presenters: the assistant's reveal counts.
    assistant.send({"type": "reveal"})
    assert (await presenter.next("revealed"))["answered"] == 1


@pytest.fixture
def log_dir():
    path = Path(tempfile.mkdtemp(prefix="gdsim-room-log-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


async def run_poll_with_log(log_dir: Path) -> Path:
    run_dir = Path(tempfile.mkdtemp(prefix="gdsim-room-test-"))
    room = Room(run_dir, log_dir=log_dir)
    await room.start()
    try:
        presenter, _ = await joined(room, "teacher", "presenter")
        ada, _ = await joined(room, "ada")
        bob, _ = await joined(room, "bob")
        carol, _ = await joined(room, "carol")  # connected, never answers
        for question in ("First?", "Second?"):
            presenter.send(dict(QUESTION, question=question))
            poll_id = (await ada.next("poll"))["poll"]
            ada.send({"type": "answer", "poll": poll_id, "choice": 3})
            bob.send({"type": "answer", "poll": poll_id, "choice": 0})
            await synced(room, ada, "ada")
            await synced(room, bob, "bob")
            presenter.send({"type": "reveal"})
            await ada.next("revealed")
        return room.log.path
    finally:
        await room.stop()
        shutil.rmtree(run_dir, ignore_errors=True)


async def test_the_room_log_holds_each_revealed_poll_names_and_answers_only(log_dir):
    old = os.umask(0o027)
    try:
        path = await run_poll_with_log(log_dir)
    finally:
        os.umask(old)
    assert path.parent == log_dir and path.name.startswith("gdsim-room-") and path.suffix == ".jsonl"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640  # 0666 less the umask
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["question"] for r in records] == ["First?", "Second?"]
    first = records[0]
    assert set(first) == {"time", "poll", "scenario", "question", "choices", "answer", "answered", "of",
                          "counts", "by"}
    assert first["time"].endswith("Z") and first["poll"] == 1 and first["scenario"] == "momentum-overshoot"
    assert (first["answer"], first["answered"], first["of"], first["counts"]) == (3, 2, 3, [0, 0, 1])
    assert first["by"] == {"ada": 3, "bob": 0}
    assert sorted(os.listdir(log_dir)) == [path.name]  # no temporary file left behind


async def test_the_room_log_never_overwrites_and_follows_the_umask(log_dir):
    started = __import__("datetime").datetime(2026, 12, 2, 23, 0, tzinfo=__import__("datetime").timezone.utc)
    taken = log_dir / "gdsim-room-20261202T230000Z.jsonl"
    taken.write_text("someone else's\n")
    old = os.umask(0o077)
    try:
        log = RoomLog(log_dir)
        path = log.open(started)
        assert path.name == "gdsim-room-20261202T230000Z-2.jsonl"
        assert log.append({"time": "t", "poll": 1, "scenario": None, "question": "q", "choices": ["a", "b"],
                           "answer": None, "answered": 0, "of": 0, "counts": [0, 0], "by": {}})
    finally:
        os.umask(old)
    assert taken.read_text() == "someone else's\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text())["question"] == "q"


def test_a_room_log_directory_must_exist(tmp_path):
    with pytest.raises(UserError, match="--room-log .*no such directory"):
        check_directory(tmp_path / "missing")
    assert check_directory(tmp_path) == tmp_path


async def test_a_room_log_without_a_revealed_poll_is_removed_at_the_end(log_dir):
    run_dir = Path(tempfile.mkdtemp(prefix="gdsim-room-test-"))
    room = Room(run_dir, log_dir=log_dir)
    await room.start()
    path = room.log.path
    assert path.exists()  # created at the start: a directory it cannot write to is found then
    await room.stop()
    shutil.rmtree(run_dir, ignore_errors=True)
    assert list(log_dir.iterdir()) == []
