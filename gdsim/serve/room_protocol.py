"""The room's wire (see /work/notes/ROOM.md): JSON lines, who may send what, the checks, the Outbox.

Everything an app sends passes through `parse()`, which returns only the fields the broker uses, of
the types it expects, for the types that role may send. A field that says who the sender is (a
name, a role) is never read: the broker knows that from the token the server gave the session.

An Outbox holds what one side has yet to send to the other. A reader that does not keep up must
never hold anyone else up: the sender only ever puts lines there (never waits); one task per
connection writes them out. Of the coalesced types only the newest unsent message is kept (it goes
where a message sent now would go, behind anything queued earlier); other messages queue, and a
reader more than QUEUE_LIMIT of them behind is given up on (`on_overflow`).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from collections import OrderedDict
from typing import Callable

PRESENTER = "presenter"
PARTICIPANT = "participant"
ROLES = (PRESENTER, PARTICIPANT)

# Longest line (bytes, without the newline) the broker reads from each role; the hello comes
# before the role is known and gets the participant's limit.
LINE_LIMIT = {PRESENTER: 256 * 1024, PARTICIPANT: 4 * 1024}
HELLO_LIMIT = LINE_LIMIT[PARTICIPANT]
# Messages that replace an older unsent one of their type instead of queueing behind it.
COALESCED = frozenset({"follow", "roster", "tally"})
QUEUE_LIMIT = 64  # other messages waiting for one reader; past it the reader is dropped

ALLOWED = {
    PRESENTER: frozenset({"status", "bring", "state", "poll_open", "reveal", "poll_close"}),
    PARTICIPANT: frozenset({"status", "nickname", "answer"}),
}

NAME_CHARS = re.compile(r"[^A-Za-z0-9._-]")
NAME_LENGTH = 24
SCENARIO_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
TAB_ID = re.compile(r"[A-Za-z0-9_-]{0,40}")
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
TITLE_LENGTH = 120
MAX_CHOICES = 10
CHOICE_LENGTH = 200
QUESTION_LENGTH = 2000


class ProtocolError(ValueError):
    """A line the broker refuses: the connection that sent it is dropped."""


def clean_name(text: object) -> str:
    """A member's name: letters, digits, '.', '_', '-' only, at most 24 ('guest' if nothing is left)."""
    name = NAME_CHARS.sub("", text if isinstance(text, str) else "")[:NAME_LENGTH]
    return name or "guest"


def encode(message: dict) -> bytes:
    """One JSON line."""
    return (json.dumps(message, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


def decode(line: bytes, limit: int) -> dict:
    """The JSON object on `line` (a ProtocolError when too long, not JSON, or not an object with a type)."""
    body = line.rstrip(b"\n")
    if len(body) > limit:
        raise ProtocolError(f"a line of {len(body)} bytes (at most {limit})")
    try:
        message = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ProtocolError("a line that is not JSON") from None
    except RecursionError:
        raise ProtocolError("a line nested too deeply") from None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise ProtocolError("a line that is not a JSON object with a 'type'")
    return message


def parse_hello(message: dict) -> str:
    """The token of a hello (nothing else of it is read)."""
    token = message.get("token")
    if message["type"] != "hello" or not isinstance(token, str) or not 0 < len(token) <= 200:
        raise ProtocolError("the first message must be a hello with a token")
    return token


def parse(role: str, message: dict) -> dict:
    """The checked message from a member of `role`: only known fields, of the expected types."""
    kind = message["type"]
    if kind not in ALLOWED[role]:
        raise ProtocolError(f"a {kind[:40]!r} message, which a {role} may not send")
    return {"type": kind, **_PARSERS[kind](message)}


def _status(m: dict) -> dict:
    out: dict = {}
    if "scenario" in m:
        out["scenario"] = _scenario_id(m["scenario"], "scenario")
    if "title" in m:
        out["title"] = _text(m["title"], "title", TITLE_LENGTH)
    if "step" in m:
        out["step"] = _int(m["step"], "step")
    if "following" in m:
        out["following"] = _bool(m["following"], "following")
    if "tab" in m:
        tab = m["tab"]
        if not isinstance(tab, str) or not TAB_ID.fullmatch(tab):
            raise ProtocolError("status: 'tab' must be a tab id")
        out["tab"] = tab
    return out


def _nickname(m: dict) -> dict:
    if not isinstance(m.get("name"), str):
        raise ProtocolError("nickname: 'name' must be a string")
    return {"name": clean_name(m["name"])}


def _answer(m: dict) -> dict:
    return {"poll": _int(m.get("poll"), "poll"), "choice": _int(m.get("choice"), "choice")}


def _scene(m: dict) -> dict:
    scene = m.get("scene")
    if not isinstance(scene, dict):
        raise ProtocolError("'scene' must be an object")
    return {"scene": scene}


def _poll_open(m: dict) -> dict:
    choices = m.get("choices")
    if (not isinstance(choices, list) or not 2 <= len(choices) <= MAX_CHOICES
            or not all(isinstance(c, str) for c in choices)):
        raise ProtocolError(f"poll_open: 'choices' must be 2 to {MAX_CHOICES} strings")
    answer = m.get("answer")
    if answer is not None and (_int(answer, "answer") < 1 or answer > len(choices)):
        raise ProtocolError("poll_open: 'answer' must be a choice number (1-based) or null")
    return {
        "question": _text(m.get("question"), "question", QUESTION_LENGTH, keep_lines=True),
        "choices": [_text(c, "choice", CHOICE_LENGTH) for c in choices],
        "scenario": _scenario_id(m.get("scenario"), "scenario"),
        "answer": answer,
    }


def _reveal(m: dict) -> dict:
    text = m.get("text")
    return {"text": "" if text is None else _text(text, "text", QUESTION_LENGTH, keep_lines=True)}


def _nothing(m: dict) -> dict:
    return {}


_PARSERS = {
    "status": _status, "nickname": _nickname, "answer": _answer, "bring": _scene, "state": _scene,
    "poll_open": _poll_open, "reveal": _reveal, "poll_close": _nothing,
}


def _int(value: object, field: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not -2**53 < value < 2**53:
        raise ProtocolError(f"'{field}' must be a whole number")
    return value


def _bool(value: object, field: str) -> bool:
    if not isinstance(value, bool):
        raise ProtocolError(f"'{field}' must be true or false")
    return value


def _scenario_id(value: object, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not SCENARIO_ID.fullmatch(value):
        raise ProtocolError(f"'{field}' must be a scenario id or null")
    return value


def _text(value: object, field: str, length: int, *, keep_lines: bool = False) -> str:
    """Shown on other people's screens: control characters (escape sequences) removed, cut to `length`."""
    if not isinstance(value, str):
        raise ProtocolError(f"'{field}' must be a string")
    if keep_lines:
        return "\n".join(CONTROL.sub("", line) for line in value.split("\n"))[:length]
    return CONTROL.sub("", value)[:length]


class Outbox:
    """The lines waiting for one connection's writer."""

    def __init__(self, writer: asyncio.StreamWriter, on_overflow: Callable[[], None], *,
                 coalesced: frozenset[str] = COALESCED, limit: int = QUEUE_LIMIT) -> None:
        self._writer = writer
        self._coalesced = coalesced
        self._on_overflow = on_overflow
        self._limit = limit
        self._items: OrderedDict[object, bytes] = OrderedDict()
        self._queued = 0  # items that are not coalesced
        self._counter = itertools.count()
        self._wake = asyncio.Event()
        self._closed = False
        self._task = asyncio.get_running_loop().create_task(self._run())

    def put(self, kind: str, line: bytes) -> None:
        """Send `line` (a message of type `kind`) when the reader is ready; never waits."""
        if self._closed:
            return
        if kind in self._coalesced:
            self._items.pop(kind, None)
            self._items[kind] = line
        else:
            if self._queued >= self._limit:
                self._closed = True
                self._on_overflow()
                return
            self._items[next(self._counter)] = line
            self._queued += 1
        self._wake.set()

    @property
    def pending(self) -> int:
        return len(self._items)

    async def _run(self) -> None:
        writer = self._writer
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                while self._items:
                    key, line = self._items.popitem(last=False)
                    if not isinstance(key, str):
                        self._queued -= 1
                    writer.write(line)
                    await writer.drain()
        except (ConnectionError, OSError):
            self._closed = True

    async def flush(self, timeout: float) -> None:
        """Wait (at most `timeout` s) until everything put so far has been handed to the socket."""
        deadline = asyncio.get_running_loop().time() + timeout
        while (self._items or self._writer.transport.get_write_buffer_size()) and not self._task.done():
            if asyncio.get_running_loop().time() >= deadline:
                return
            await asyncio.sleep(0.01)

    def close(self) -> None:
        self._closed = True
        self._task.cancel()
