"""A bare client for the room broker's tests: speaks raw JSON lines, so it can also break the rules."""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
from pathlib import Path

import pytest

from gdsim.serve.room import Room


class Client:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.seen: list[dict] = []

    @classmethod
    async def connect(cls, room: Room) -> Client:
        reader, writer = await asyncio.open_unix_connection(str(room.socket_path), limit=2**22)
        return cls(reader, writer)

    @classmethod
    async def join(cls, room: Room, token: str) -> tuple[Client, dict]:
        client = await cls.connect(room)
        client.send({"type": "hello", "token": token})
        return client, await client.next("welcome")

    def send(self, message: dict) -> None:
        self.send_raw(json.dumps(message).encode() + b"\n")

    def send_raw(self, data: bytes) -> None:
        self.writer.write(data)

    async def read(self, timeout: float = 5.0) -> dict | None:
        """The next message (None at the end of the connection)."""
        line = await asyncio.wait_for(self.reader.readline(), timeout)
        if not line:
            return None
        message = json.loads(line)
        self.seen.append(message)
        return message

    async def next(self, kind: str, timeout: float = 5.0) -> dict:
        """The next message of type `kind` (others before it are skipped, kept in `seen`)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            message = await self.read(max(0.01, deadline - asyncio.get_running_loop().time()))
            assert message is not None, f"the connection ended before a {kind!r}; saw {self.seen[-5:]}"
            if message["type"] == kind:
                return message

    async def quiet(self, seconds: float = 0.4) -> list[dict]:
        """Everything that arrives within `seconds` (stops at the end of the connection)."""
        got: list[dict] = []
        deadline = asyncio.get_running_loop().time() + seconds
        while (left := deadline - asyncio.get_running_loop().time()) > 0:
            try:
                message = await self.read(left)
            except asyncio.TimeoutError:
                break
            if message is None:
                break
            got.append(message)
        return got

    async def ended(self, timeout: float = 5.0) -> list[dict]:
        """Read until the broker closes the connection; returns what came before the end."""
        got: list[dict] = []
        while (message := await self.read(timeout)) is not None:
            got.append(message)
        return got

    def close(self) -> None:
        self.writer.close()


@pytest.fixture
async def room():
    """A started Room in a short private directory (Unix socket paths are limited to ~100 bytes)."""
    directory = Path(tempfile.mkdtemp(prefix="gdsim-room-test-"))
    room = Room(directory)
    await room.start()
    yield room
    await room.stop()
    shutil.rmtree(directory, ignore_errors=True)


async def joined(room: Room, name: str, role: str = "participant") -> tuple[Client, str]:
    token = room.add_member(name, role)
    client, _ = await Client.join(room, token)
    return client, token


def scene(step: int = 0, pad: int = 0, **extra) -> dict:
    return {"id": "momentum-overshoot", "raw": {"pad": "x" * pad}, "original_id": "momentum-overshoot",
            "step": step, "playing": False, "speed": 10, "tab": "loss", "selected": 0, **extra}


async def until(condition, timeout: float = 10.0) -> None:
    """Wait until condition() is true (an AssertionError after `timeout` s)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out waiting"
        await asyncio.sleep(0.01)


_markers = iter(range(10**6, 10**9))


async def synced(room: Room, client: Client, name: str) -> None:
    """Wait until the broker has handled everything `client` (member `name`) sent so far: a connection's
    lines are handled in order, so once a status sent now is seen, all before it were too. (It sets
    that member's status step to a large marker number.)"""
    marker = next(_markers)
    client.send({"type": "status", "step": marker})
    await until(lambda: any(m.name == name and m.status["step"] == marker for m in room.members))


async def next_matching(client: Client, kind: str, condition, timeout: float = 10.0) -> dict:
    """The next message of type `kind` for which condition(message) holds (others are skipped)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        message = await client.next(kind, max(0.01, deadline - asyncio.get_running_loop().time()))
        if condition(message):
            return message
