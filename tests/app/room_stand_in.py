"""A stand-in for gdsim.app.runtime.room_link.RoomLink: the app's side of the room without a broker.

The test plays the broker: it reads what the app sent (`sent`, JSON round-tripped as on the wire)
and pushes what the broker would send (`push`). The tests with the real broker are in
tests/app/test_room_broker.py.
"""

from __future__ import annotations

import asyncio
import json
from contextlib import asynccontextmanager

from gdsim.app.runtime.room_scene import scene_of
from gdsim.app.runtime.session import Session
from gdsim.scenario.load import load_scenario
from tests.app.conftest import DATA


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


def presenter_scene(name: str = "three_runs", step: int = 30, tab: str = "tab-plots", **changes) -> dict:
    session = Session(load_scenario(DATA / f"{name}.toml"))
    session.step(step)
    for key, value in changes.items():
        setattr(session, key, value)
    return scene_of(session, tab)


async def until(pilot, condition, seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError("timed out waiting")


async def joined(app, pilot, link) -> None:
    record_notices(app)
    app.join_room(link)
    await until(pilot, lambda: app.room is not None and app.room.joined)
    await pilot.pause()


@asynccontextmanager
async def joined_on(scene: dict, size: tuple[int, int] = (80, 24)):
    """A participant's app (at the list) that joins a stand-in room whose welcome carries the
    presenter's `scene`, and has opened it: (app, pilot, link)."""
    from tests.app.conftest import make_app

    app = make_app(None)
    link = StandInLink(scene=scene)
    async with app.run_test(size=size) as pilot:
        await joined(app, pilot, link)
        await until(pilot, lambda: opened(app))
        yield app, pilot, link


def record_notices(app) -> list[str]:
    """Every message the app gives the user from now on (a toast, or on a short scenario screen its
    status line: GdsimApp.notify decides)."""
    told: list[str] = []
    notify = app.notify

    def recording(message, **kwargs):
        told.append(f"{kwargs.get('title', '')}: {message}")
        return notify(message, **kwargs)

    app.notify = recording
    app.told = told
    return told


def said(app, words: str) -> bool:
    return any(words in line for line in app.told)


def opened(app) -> bool:
    """A scenario screen is shown and has drawn (a test that ended while one mounts broke its mount)."""
    screen = app.screen
    return getattr(screen, "session", None) is not None and screen.is_mounted and screen.redraws > 0


def footer_actions(app) -> set[str]:
    from gdsim.app.widgets.key_footer import KeyFooter

    return {key.action for key in app.screen.query_one(KeyFooter).keys}
