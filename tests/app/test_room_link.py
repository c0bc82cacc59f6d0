"""RoomLink, the app's end of the classroom, against the real broker (gdsim.serve.room.Room) in-process."""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
from pathlib import Path

import pytest

from gdsim.app.runtime.room_link import ROOM_ENV, TOKEN_ENV, RoomError, RoomLink
from tests.serve.room_client import room, scene  # noqa: F401


def link_for(room, name: str, role: str = "participant") -> RoomLink:
    token = room.add_member(name, role)
    link = RoomLink.from_environment({ROOM_ENV: str(room.socket_path), TOKEN_ENV: token})
    assert link is not None
    return link


def test_no_room_in_the_environment_means_no_link():
    assert RoomLink.from_environment({}) is None
    assert RoomLink.from_environment({ROOM_ENV: "/tmp/x.sock"}) is None
    assert RoomLink.from_environment({ROOM_ENV: "", TOKEN_ENV: "t"}) is None
    assert RoomLink.from_environment({ROOM_ENV: "/tmp/x.sock", TOKEN_ENV: "t"}).socket_path == "/tmp/x.sock"


async def collect(link: RoomLink, into: list[dict]) -> None:
    async for message in link.messages():
        into.append(message)


async def wait_until(condition, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_a_participant_joins_follows_and_answers(room):
    presenter = link_for(room, "teacher", "presenter")
    assert (await presenter.connect())["role"] == "presenter"
    link = link_for(room, "ada")
    welcome = await link.connect()
    assert welcome == {"type": "welcome", "name": "ada", "role": "participant", "poll": None, "scene": None}
    assert (link.name, link.role, link.connected) == ("ada", "participant", True)
    got: list[dict] = []
    reading = asyncio.create_task(collect(link, got))
    to_presenter: list[dict] = []
    presenter_reading = asyncio.create_task(collect(presenter, to_presenter))
    assert link.send({"type": "status", "following": True, "scenario": "saddle-point", "step": 2, "tab": "map"})
    presenter.send({"type": "state", "scene": scene(4)})
    await wait_until(lambda: any(m["type"] == "follow" and m["scene"]["step"] == 4 for m in got))
    presenter.send({"type": "poll_open", "question": "q?", "choices": ["a", "b"], "scenario": None, "answer": 2})
    await wait_until(lambda: any(m["type"] == "poll" for m in got))
    poll_id = next(m for m in got if m["type"] == "poll")["poll"]
    link.send({"type": "answer", "poll": poll_id, "choice": 2})
    await wait_until(lambda: any(m["type"] == "tally" and m["answered"] == 1 for m in to_presenter))
    await wait_until(lambda: any(m["type"] == "roster" and m["members"][0]["step"] == 2 for m in to_presenter))
    await link.close()
    await reading
    assert not link.connected and link.send({"type": "status", "step": 3}) is False
    await presenter.close()
    await presenter_reading


async def test_status_and_state_coalesce_to_the_newest_and_others_keep_their_order(tmp_path):
    """Against a fake broker that records every line: 200 statuses sent in one go arrive as one."""
    lines: list[dict] = []
    arrived = asyncio.Event()

    async def broker(reader, writer):
        hello = json.loads(await reader.readline())
        writer.write(json.dumps({"type": "welcome", "name": "ada", "role": "participant", "poll": None,
                                 "scene": None, "token_seen": hello["token"]}).encode() + b"\n")
        while line := await reader.readline():
            lines.append(json.loads(line))
            if lines[-1]["type"] == "nickname":
                arrived.set()

    directory = Path(tempfile.mkdtemp(prefix="gdsim-link-"))
    path = str(directory / "b.sock")
    server = await asyncio.start_unix_server(broker, path)
    try:
        link = RoomLink(path, "tok")
        assert (await link.connect())["token_seen"] == "tok"
        for step in range(200):
            link.send({"type": "status", "step": step})
        link.send({"type": "answer", "poll": 1, "choice": 1})
        link.send({"type": "status", "step": 500})
        link.send({"type": "nickname", "name": "grace"})
        await asyncio.wait_for(arrived.wait(), 5)
        assert lines == [{"type": "answer", "poll": 1, "choice": 1}, {"type": "status", "step": 500},
                         {"type": "nickname", "name": "grace"}]
        await link.close()
    finally:
        server.close()
        shutil.rmtree(directory, ignore_errors=True)


async def test_the_room_going_away_ends_messages(room):
    link = link_for(room, "ada")
    await link.connect()
    got: list[dict] = []
    reading = asyncio.create_task(collect(link, got))
    await room.stop()
    await asyncio.wait_for(reading, 5)
    assert got[-1] == {"type": "bye", "reason": "the workshop server is stopping"}
    assert not link.connected


async def test_a_dropped_connection_ends_messages_without_a_bye(tmp_path):
    async def broker(reader, writer):
        await reader.readline()
        writer.write(b'{"type":"welcome","name":"a","role":"participant","poll":null,"scene":null}\n')
        writer.write(b'{"type":"open","scene":{}}\nnot json\n')
        await writer.drain()
        writer.transport.abort()

    directory = Path(tempfile.mkdtemp(prefix="gdsim-link-"))
    server = await asyncio.start_unix_server(broker, str(directory / "b.sock"))
    try:
        link = RoomLink(str(directory / "b.sock"), "tok")
        await link.connect()
        got = [m async for m in link.messages()]
        assert [m["type"] for m in got] == ["open"]
        assert not link.connected
    finally:
        server.close()
        shutil.rmtree(directory, ignore_errors=True)


async def test_a_refused_token_or_no_broker_is_a_room_error(room):
    link = link_for(room, "ada")
    await link.connect()
    again = RoomLink(str(room.socket_path), link._token)
    with pytest.raises(RoomError, match="did not let this session in: the room does not know"):
        await again.connect()
    nowhere = RoomLink(str(room.socket_path) + ".missing", "tok")
    with pytest.raises(RoomError, match="cannot join the room"):
        await nowhere.connect()
    await link.close()
