"""A stand-in for gdsim.app.runtime.room_link.RoomLink: the app's side of the room without a broker.

The test plays the broker: it reads what the app sent (`sent`, JSON round-tripped as on the wire)
and pushes what the broker would send (`push`). The tests with the real broker are in
tests/app/test_room_broker.py.
"""

from __future__ import annotations

import asyncio
import json


class StandInLink:
    def __init__(self, name: str = "bob", role: str = "participant", scene: dict | None = None,
                 poll: dict | None = None, refuse: str | None = None) -> None:
        self.welcome = {"type": "welcome", "name": name, "role": role, "poll": poll, "scene": scene}
        self.refuse = refuse
        self.sent: list[dict] = []
        self.inbox: asyncio.Queue = asyncio.Queue()
        self.closed = False

    async def connect(self) -> dict:
        if self.refuse:
            raise OSError(self.refuse)
        return self.welcome

    def send(self, message: dict) -> bool:
        if self.closed:
            return False
        self.sent.append(json.loads(json.dumps(message)))
        return True

    async def messages(self):
        while not self.closed:
            message = await self.inbox.get()
            if message is None:
                break
            yield message
        self.closed = True

    async def close(self) -> None:
        self.closed = True

    def push(self, message: dict | None) -> None:
        """What the broker sends next (None: the connection ends)."""
        self.inbox.put_nowait(json.loads(json.dumps(message)) if message is not None else None)

    def of_type(self, kind: str) -> list[dict]:
        return [m for m in self.sent if m.get("type") == kind]
