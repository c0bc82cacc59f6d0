"""The app's end of the classroom: a connection to the room broker of `gdsim serve ssh` (no Textual here).

The server puts GDSIM_ROOM (the broker's Unix socket) and GDSIM_ROOM_TOKEN (this session's
single-use token) into a served app's environment; without them there is no room and
`RoomLink.from_environment()` is None. The protocol is in /work/notes/ROOM.md.

    link = RoomLink.from_environment()
    welcome = await link.connect()          # {"type": "welcome", "name", "role", "poll", "scene"}
    link.send({"type": "status", ...})      # never waits; status and state coalesce to the newest
    async for message in link.messages():   # ends when the room goes (bye, broker gone, dropped)
        ...
    await link.close()
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import AsyncIterator, Mapping

from gdsim.serve.room_protocol import Outbox, encode

log = logging.getLogger("gdsim.room")

ROOM_ENV = "GDSIM_ROOM"
TOKEN_ENV = "GDSIM_ROOM_TOKEN"
READ_LIMIT = 4 * 2**20  # the longest line read from the broker (a scene is at most 256 KiB)
CONNECT_TIMEOUT = 5.0
COALESCED = frozenset({"status", "state"})
SEND_QUEUE = 64  # other messages waiting for the broker; past it the link gives up


class RoomError(Exception):
    """The room could not be joined (no broker there, token refused, no welcome)."""


class RoomLink:
    """One app's connection to the room."""

    def __init__(self, socket_path: str, token: str) -> None:
        self.socket_path = socket_path
        self._token = token
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._outbox: Outbox | None = None
        self.welcome: dict | None = None
        self.closed = False

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> RoomLink | None:
        """The link this served session may open; None when there is no room (plain gdsim, serve web)."""
        env = os.environ if environ is None else environ
        path, token = env.get(ROOM_ENV), env.get(TOKEN_ENV)
        return cls(path, token) if path and token else None

    @property
    def connected(self) -> bool:
        return self._outbox is not None and not self.closed

    @property
    def role(self) -> str | None:
        return self.welcome["role"] if self.welcome else None

    @property
    def name(self) -> str | None:
        return self.welcome["name"] if self.welcome else None

    async def connect(self, timeout: float = CONNECT_TIMEOUT) -> dict:
        """Join: say hello with the token and return the broker's welcome (RoomError if none comes)."""
        try:
            self._reader, self._writer = await asyncio.wait_for(
                asyncio.open_unix_connection(self.socket_path, limit=READ_LIMIT), timeout)
            self._writer.write(encode({"type": "hello", "token": self._token}))
            line = await asyncio.wait_for(self._reader.readline(), timeout)
        except (OSError, asyncio.TimeoutError, ValueError) as exc:
            await self.close()
            raise RoomError(f"cannot join the room at {self.socket_path}: {exc or 'no answer'}") from None
        message = _decode(line)
        if message is None or message.get("type") != "welcome":
            await self.close()
            reason = message.get("reason") if message else None
            raise RoomError(f"the room did not let this session in{': ' + reason if reason else ''}")
        self.welcome = message
        self._outbox = Outbox(self._writer, self._overflow, coalesced=COALESCED, limit=SEND_QUEUE)
        return message

    def send(self, message: dict) -> bool:
        """Queue `message` for the broker (never waits); False when the link is not connected."""
        if not self.connected:
            return False
        self._outbox.put(message["type"], encode(message))
        return True

    async def messages(self) -> AsyncIterator[dict]:
        """The broker's messages as they come; ends (after yielding a `bye`, if one came) when the room goes."""
        reader = self._reader
        if reader is None:
            return
        try:
            while not self.closed:
                try:
                    line = await reader.readline()
                except (ConnectionError, OSError, ValueError):
                    break
                if not line:
                    break
                message = _decode(line)
                if message is None:
                    log.warning("room: ignored a line that is not a message")
                    continue
                yield message
                if message.get("type") == "bye":
                    break
        finally:
            await self.close()

    def _overflow(self) -> None:
        log.warning("room: the broker stopped reading; leaving the room")
        if self._writer is not None:
            self._writer.transport.abort()
        self.closed = True

    async def close(self) -> None:
        """Leave the room (idempotent)."""
        self.closed = True
        if self._outbox is not None:
            await self._outbox.flush(0.5)
            self._outbox.close()
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()
            try:
                await writer.wait_closed()
            except (ConnectionError, OSError):
                pass


def _decode(line: bytes) -> dict | None:
    try:
        message = json.loads(line)
    except ValueError:
        return None
    return message if isinstance(message, dict) and isinstance(message.get("type"), str) else None
