"""The room broker's rules: who is who, who may send what, line limits, slow readers, the socket."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import stat

import pytest

from gdsim.serve.room_protocol import LINE_LIMIT, QUEUE_LIMIT, clean_name
from tests.serve.room_client import Client, joined, room, scene, until  # noqa: F401


async def test_socket_is_private_and_removed_at_stop(room):
    assert stat.S_IMODE(room.socket_path.stat().st_mode) == 0o600
    client, _ = await joined(room, "ada")
    await room.stop()
    assert (await client.ended())[-1] == {"type": "bye", "reason": "the workshop server is stopping"}
    assert not room.socket_path.exists()


async def test_identity_comes_from_the_token_only(room):
    presenter, _ = await joined(room, "teacher", "presenter")
    token = room.add_member("ada", "participant")
    ada = await Client.connect(room)
    # A hello that claims to be the presenter is still the participant the server made.
    ada.send({"type": "hello", "token": token, "role": "presenter", "name": "teacher"})
    welcome = await ada.next("welcome")
    assert (welcome["name"], welcome["role"]) == ("ada", "participant")
    ada.send({"type": "status", "scenario": "momentum-overshoot", "step": 7, "following": True,
              "name": "teacher", "role": "presenter"})
    await asyncio.sleep(0.4)
    members = (await presenter.next("roster"))["members"]
    while not any(m["step"] == 7 for m in members):
        members = (await presenter.next("roster"))["members"]
    assert [(m["name"], m["role"]) for m in members] == [("ada", "participant"), ("teacher", "presenter")]
    # ...and claiming to be the presenter gives no presenter powers.
    ada.send({"type": "bring", "scene": scene()})
    assert (await ada.ended())[-1]["type"] == "bye"
    assert {m.name: m.role for m in room.members} == {"teacher": "presenter", "ada": "participant"}


async def test_a_token_works_once_and_unknown_tokens_get_nothing(room):
    token = room.add_member("ada", "participant")
    first, _ = await Client.join(room, token)
    again = await Client.connect(room)
    again.send({"type": "hello", "token": token})
    got = await again.ended()
    assert [m["type"] for m in got] == ["bye"]
    stranger = await Client.connect(room)
    stranger.send({"type": "hello", "token": "made-up-token"})
    assert [m["type"] for m in await stranger.ended()] == ["bye"]
    assert [m.name for m in room.members if m.connected] == ["ada"]  # still the first connection
    first.send({"type": "status", "step": 5})
    await until(lambda: room.members[0].status["step"] == 5)
    # A removed member's token opens nothing either.
    room.remove_member(token)
    assert (await first.ended())[-1] == {"type": "bye", "reason": "you were removed from the room"}
    late = await Client.connect(room)
    late.send({"type": "hello", "token": token})
    assert [m["type"] for m in await late.ended()] == ["bye"]


async def test_the_first_message_must_be_a_hello(room):
    room.add_member("ada", "participant")
    client = await Client.connect(room)
    client.send({"type": "status", "step": 1})
    assert [m["type"] for m in await client.ended()] == ["bye"]


@pytest.mark.parametrize("message", [
    {"type": "bring", "scene": scene()},
    {"type": "state", "scene": scene()},
    {"type": "poll_open", "question": "q?", "choices": ["a", "b"], "scenario": None, "answer": 1},
    {"type": "reveal", "text": "it was a"},
    {"type": "poll_close"},
    {"type": "welcome", "name": "x", "role": "presenter", "poll": None, "scene": None},
    {"type": "hello", "token": "again"},
])
async def test_a_participant_sending_room_commands_is_dropped_and_nobody_hears_it(room, message):
    presenter, _ = await joined(room, "teacher", "presenter")
    other, _ = await joined(room, "bob")
    other.send({"type": "status", "following": True})
    rogue, _ = await joined(room, "mallory")
    await until(lambda: any(m.name == "bob" and m.status["following"] for m in room.members))
    rogue.send(message)
    got = await rogue.ended()
    assert got[-1]["type"] == "bye" and "may not send" in got[-1]["reason"]
    heard = [m["type"] for m in await other.quiet(0.5)]
    assert not set(heard) & {"open", "follow", "poll", "revealed", "closed"}
    assert room._poll is None and room._scene is None
    assert sorted(m.name for m in room.members if m.connected) == ["bob", "teacher"]


@pytest.mark.parametrize("line", [b"not json\n", b"[1, 2]\n", b"[" * 2000 + b"]" * 2000 + b"\n", b'{"no": "type"}\n', b'{"type": "dance"}\n',
                                  b'{"type": "status", "step": "seven"}\n', b'{"type": "answer", "poll": 1}\n'],
                         ids=["not-json", "array", "nested", "no-type", "unknown-type", "bad-field", "missing-field"])
async def test_malformed_lines_drop_the_connection(room, line, caplog):
    client, _ = await joined(room, "ada")
    client.send_raw(line)
    bye = (await client.ended())[-1]
    assert bye["type"] == "bye" and "failed" not in bye["reason"]  # refused by the rules, not by a broker bug
    assert not any(m.connected for m in room.members)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize("role", ["participant", "presenter"])
async def test_lines_over_the_role_limit_are_dropped_and_those_at_it_are_read(room, role):
    limit = LINE_LIMIT[role]
    client, _ = await joined(room, "ada", role)

    def status_line(length: int) -> bytes:
        head = b'{"type":"status","title":"'
        tail = b'","step":%d}' % length
        return head + b"x" * (length - len(head) - len(tail)) + tail

    at_limit = status_line(limit)
    assert len(at_limit) == limit and json.loads(at_limit)["step"] == limit
    client.send_raw(at_limit + b"\n")
    await until(lambda: room.members[0].status["step"] == limit)  # read, not dropped
    client.send_raw(status_line(limit + 1) + b"\n")
    got = await client.ended()
    assert got[-1]["type"] == "bye" and f"at most {limit}" in got[-1]["reason"]


async def test_a_presenter_scene_of_200_kib_reaches_the_participants(room):
    presenter, _ = await joined(room, "teacher", "presenter")
    ada, _ = await joined(room, "ada")
    presenter.send({"type": "bring", "scene": scene(3, pad=200 * 1024)})
    opened = await ada.next("open")
    assert len(opened["scene"]["raw"]["pad"]) == 200 * 1024 and opened["scene"]["step"] == 3


async def test_a_follower_that_never_reads_delays_nobody(room):
    """A follower that stops reading fills its socket; the presenter's states keep reaching the others
    promptly (the broker never waits for a reader), and the stuck one is kept only to the newest follow."""
    presenter, _ = await joined(room, "teacher", "presenter")
    stuck_token = room.add_member("stuck", "participant")
    stuck = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stuck.connect(str(room.socket_path))
    stuck.sendall(json.dumps({"type": "hello", "token": stuck_token}).encode() + b"\n"
                  + b'{"type":"status","following":true}\n')
    reader, _ = await joined(room, "reader")
    reader.send({"type": "status", "following": True})
    await until(lambda: all(m.status["following"] for m in room.members if m.role == "participant"))
    loop = asyncio.get_running_loop()
    started = loop.time()
    last = 0
    for step in range(400):  # 400 x 20 KiB = 8 MiB: far more than any socket buffer
        presenter.send({"type": "state", "scene": scene(step, pad=20 * 1024)})
        if step % 50 == 49:
            await presenter.writer.drain()
            while last < step:  # the reader sees each batch's newest state before the next batch
                last = (await reader.next("follow", timeout=10))["scene"]["step"]
    elapsed = loop.time() - started
    assert last == 399
    assert elapsed < 30, f"400 states to a reading follower took {elapsed:.1f}s"
    stuck_member = next(m for m in room.members if m.name == "stuck")
    assert stuck_member.connected  # coalesced follows never overflow its queue
    assert stuck_member.outbox.pending <= 1
    stuck.close()


async def test_a_reader_too_far_behind_on_queued_messages_is_dropped(room):
    presenter, _ = await joined(room, "teacher", "presenter")
    stuck_token = room.add_member("stuck", "participant")
    stuck = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stuck.connect(str(room.socket_path))
    stuck.sendall(json.dumps({"type": "hello", "token": stuck_token}).encode() + b"\n")
    ada, _ = await joined(room, "ada")
    big = scene(0, pad=100 * 1024)
    for _ in range(QUEUE_LIMIT + 40):  # `open` messages queue (they are not coalesced)
        presenter.send({"type": "bring", "scene": big})
    await presenter.writer.drain()
    opened = 0
    while opened < QUEUE_LIMIT + 40:
        await ada.next("open", timeout=10)
        opened += 1
    stuck_member = next(m for m in room.members if m.name == "stuck")
    assert not stuck_member.connected
    assert next(m for m in room.members if m.name == "ada").connected
    stuck.close()


def test_names_are_cleaned():
    assert clean_name("Ada Lovelace!") == "AdaLovelace"
    assert clean_name("émile") == "mile"
    assert clean_name("\x1b[31m") == "31m"
    assert clean_name("") == "guest" and clean_name("???") == "guest"
    assert clean_name("a" * 40) == "a" * 24


async def test_same_names_get_numbers_and_a_nickname_once(room):
    tokens = [room.add_member("ada", "participant") for _ in range(3)]
    assert [m.name for m in room.members] == ["ada", "ada-2", "ada-3"]
    room.remove_member(tokens[1])
    assert room.add_member("x" * 30, "participant") and room.add_member("x" * 24, "participant")
    assert [m.name for m in room.members][-2:] == ["x" * 24, "x" * 22 + "-2"]
    client, _ = await Client.join(room, tokens[2])
    client.send({"type": "nickname", "name": "ada"})  # taken: numbered
    client.send({"type": "nickname", "name": "grace"})  # a second nickname is ignored
    client.send({"type": "status", "step": 1})
    member = next(m for m in room.members if m.token == tokens[2])
    await until(lambda: member.status["step"] == 1)
    assert member.name == "ada-2"


class _HeldWriter:
    """A StreamWriter stand-in whose drain() waits until the test lets it go (a reader not reading)."""

    def __init__(self) -> None:
        self.lines: list[bytes] = []
        self.release = asyncio.Event()

    def write(self, line: bytes) -> None:
        self.lines.append(line)

    async def drain(self) -> None:
        await self.release.wait()


async def test_the_outbox_keeps_the_newest_follow_behind_what_was_queued_before_it():
    from gdsim.serve.room_protocol import Outbox

    writer, overflowed = _HeldWriter(), []
    outbox = Outbox(writer, lambda: overflowed.append(True), limit=3)
    outbox.put("welcome", b"welcome\n")
    await asyncio.sleep(0.05)  # written; its drain now waits
    outbox.put("follow", b"follow 1\n")
    outbox.put("open", b"open 2\n")
    outbox.put("follow", b"follow 3\n")  # replaces follow 1, and goes after open 2
    outbox.put("roster", b"roster\n")
    assert outbox.pending == 3 and not overflowed
    writer.release.set()
    await until(lambda: outbox.pending == 0)
    assert writer.lines == [b"welcome\n", b"open 2\n", b"follow 3\n", b"roster\n"]
    writer.release.clear()
    for n in range(5):  # queued (not coalesced) messages past the limit give the reader up
        outbox.put("poll", b"poll %d\n" % n)
    assert overflowed == [True]
    outbox.close()


async def test_a_connection_that_never_says_hello_is_closed(room, monkeypatch):
    monkeypatch.setattr("gdsim.serve.room.HELLO_TIMEOUT", 0.2)
    silent = await Client.connect(room)
    assert await silent.ended(timeout=5) == []


async def test_a_participant_leaving_an_open_poll_leaves_its_tally(room):
    presenter, _ = await joined(room, "teacher", "presenter")
    ada, ada_token = await joined(room, "ada")
    bob, _ = await joined(room, "bob")
    presenter.send({"type": "poll_open", "question": "q?", "choices": ["a", "b"], "scenario": None, "answer": 1})
    poll_id = (await ada.next("poll"))["poll"]
    ada.send({"type": "answer", "poll": poll_id, "choice": 1})
    await until(lambda: room._tally()["answered"] == 1)
    room.remove_member(ada_token)
    assert room._tally() == {"type": "tally", "poll": poll_id, "answered": 0, "of": 1, "counts": [0, 0], "skipped": 0}
    assert [m["name"] for m in room.roster()] == ["bob", "teacher"]
