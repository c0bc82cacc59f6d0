"""The app's model of the classroom (issue #17; the protocol is /work/notes/ROOM.md): who is in the
room, the open poll and its tally, the last reveal, whether this session follows the presenter, and
the presenter's latest scene. Free of Textual: the app feeds it the broker's messages and acts on
what `apply` returns; tested headless.

Every message from the broker is checked before it is believed: a field of the wrong type or size
raises BadMessage, whose text is the one-line notice the app shows (never a traceback).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from gdsim.app.text import clean

PRESENTER, PARTICIPANT = "presenter", "participant"
TABS = ("tab-plots", "tab-map", "tab-lesson", "tab-maths", "tab-data")
MAX_CHOICES = 9  # answered with the keys 1-9
MAX_MEMBERS = 1000


def member_name(text: str) -> str:
    """A name as the room keeps it: letters, digits, '.', '_', '-', at most 24 ("" if none is left)."""
    return re.sub(r"[^A-Za-z0-9._-]", "", text)[:24]


class BadMessage(ValueError):
    """A message from the broker that cannot be used; str() is a one-line notice."""


@dataclass(frozen=True)
class Member:
    name: str
    role: str
    scenario: str | None
    title: str
    step: int
    following: bool
    tab: str
    answered: bool


@dataclass(frozen=True)
class Poll:
    id: Any  # the broker's id (an int or a short string), sent back with an answer
    question: str
    choices: tuple[str, ...]
    scenario: str | None


@dataclass(frozen=True)
class Tally:
    poll: Any
    answered: int
    of: int
    counts: tuple[int, ...]
    skipped: int


@dataclass(frozen=True)
class Result:
    """A revealed poll: the answer (1-based, None when the question has none) and the room's counts."""

    poll: Any
    answer: int | None
    text: str
    counts: tuple[int, ...]
    answered: int
    of: int
    question: str = ""
    choices: tuple[str, ...] = ()
    scenario: str | None = None  # the poll's scenario, when it was a scenario's [predict] question


# -- checking what the broker sends ---------------------------------------------------------------
def _get(message: dict, key: str, kind: type | tuple, what: str) -> Any:
    value = message.get(key)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise BadMessage(f"the room sent a {message.get('type', '?')!s:.20} message whose {key} is not {what}")
    return value


def _text(message: dict, key: str, limit: int = 2000, optional: bool = False) -> str:
    if optional and message.get(key) is None:
        return ""
    return clean(_get(message, key, str, "text")[:limit], keep_newlines=key == "question")


def _count(message: dict, key: str) -> int:
    value = _get(message, key, int, "a count")
    if not 0 <= value <= 10**9:
        raise BadMessage(f"the room sent a count out of range ({key})")
    return value


def _counts(message: dict, key: str = "counts") -> tuple[int, ...]:
    values = _get(message, key, list, "a list of counts")
    if len(values) > MAX_CHOICES or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in values):
        raise BadMessage("the room sent counts that are not numbers")
    return tuple(values)


def _poll_id(message: dict, key: str = "poll") -> Any:
    value = message.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, str)) or (isinstance(value, str) and len(value) > 64):
        raise BadMessage("the room sent a poll without a usable id")
    return value


def parse_poll(message: dict) -> Poll:
    """A `poll` message (or the welcome's poll)."""
    choices = _get(message, "choices", list, "a list of choices")
    if not 2 <= len(choices) <= MAX_CHOICES or not all(isinstance(c, str) for c in choices):
        raise BadMessage(f"the room sent a poll with {len(choices)} choices (2 to {MAX_CHOICES} expected)")
    scenario = message.get("scenario")
    if scenario is not None and not isinstance(scenario, str):
        raise BadMessage("the room sent a poll whose scenario is not a name")
    return Poll(_poll_id(message, "poll" if "poll" in message else "id"), _text(message, "question"),
                tuple(clean(c[:300], keep_newlines=False) for c in choices), scenario)


def parse_member(item: Any) -> Member:
    if not isinstance(item, dict):
        raise BadMessage("the room sent a roster entry that is not a member")
    scenario = item.get("scenario")
    if scenario is not None and not isinstance(scenario, str):
        raise BadMessage("the room sent a member whose scenario is not a name")
    role = _text(item | {"type": "roster"}, "role", 20)
    return Member(_text(item | {"type": "roster"}, "name", 40), role,
                  None if scenario is None else clean(scenario[:80], keep_newlines=False),
                  _text(item | {"type": "roster"}, "title", 120, optional=True),
                  int(item.get("step") or 0) if isinstance(item.get("step"), int) else 0,
                  item.get("following") is True, _text(item | {"type": "roster"}, "tab", 20, optional=True),
                  item.get("answered") is True)


def check_scene(scene: Any) -> dict:
    """A scene (ROOM.md) with the types it must have; BadMessage otherwise. The scenario in it is
    checked when it is opened (room_scene.loaded_of)."""
    if not isinstance(scene, dict):
        raise BadMessage("the room sent a scene that is not a table")
    scene = scene | {"type": "scene"}
    _get(scene, "id", str, "a scenario name")
    _get(scene, "raw", dict, "a scenario")
    step = _get(scene, "step", int, "a step")
    if not 0 <= step <= 10**9:
        raise BadMessage("the room sent a scene with a step out of range")
    _get(scene, "playing", bool, "true or false")
    _get(scene, "speed", int, "a speed")
    if scene.get("tab") not in TABS:
        raise BadMessage("the room sent a scene with an unknown tab")
    if _get(scene, "selected", int, "a run number") < 0:
        raise BadMessage("the room sent a scene with a negative run number")
    original = scene.get("original_id")
    if original is not None and not isinstance(original, str):
        raise BadMessage("the room sent a scene whose original is not a name")
    scene.pop("type")
    return scene


# -- the model ---------------------------------------------------------------------------------------
@dataclass
class RoomState:
    """What this session knows of the room. `apply` returns what the app must do, as (what, value)
    pairs: ("open", scene), ("follow", scene), ("poll", Poll), ("revealed", Result), ("closed", id),
    ("roster", None), ("tally", Tally), ("bye", reason)."""

    name: str = ""
    role: str = PARTICIPANT
    following: bool = True  # participants follow the presenter from the start; k breaks away
    roster: list[Member] = field(default_factory=list)
    poll: Poll | None = None
    tally: Tally | None = None
    result: Result | None = None
    scene: dict | None = None  # the presenter's latest scene (followers) or the last brought
    answer: int | None = None  # this participant's answer to the open poll (0 = skipped), None = not yet
    nicknamed: bool = False  # a participant names themself once (the broker ignores a second nickname)

    @property
    def presenter(self) -> bool:
        return self.role == PRESENTER

    def welcome(self, message: dict) -> list[tuple[str, Any]]:
        """The broker's `welcome`: who we are, and the open poll and the scene, if any."""
        if message.get("type") != "welcome":
            raise BadMessage("the room did not start with a welcome")
        self.name = _text(message, "name", 40)
        role = message.get("role")
        if role not in (PRESENTER, PARTICIPANT):
            raise BadMessage("the room gave this session no role")
        self.role = role
        self.following = role == PARTICIPANT
        actions: list[tuple[str, Any]] = []
        if message.get("scene") is not None and not self.presenter:
            self.scene = check_scene(message["scene"])
            actions.append(("follow", self.scene))
        if message.get("poll") is not None:  # presenters get it too (with the answer): the panel's tally
            poll = message["poll"]
            if not isinstance(poll, dict):
                raise BadMessage("the room sent a poll that is not a table")
            actions.append(self._open_poll(parse_poll(poll | {"type": "poll"})))
        return actions

    def apply(self, message: dict) -> list[tuple[str, Any]]:
        kind = message.get("type")
        if kind == "roster":
            members = _get(message, "members", list, "a list of members")[:MAX_MEMBERS]
            self.roster = [parse_member(m) for m in members]
            return [("roster", None)]
        if kind == "tally":
            counts = _counts(message)
            self.tally = Tally(_poll_id(message), _count(message, "answered"), _count(message, "of"), counts,
                               _count(message, "skipped") if "skipped" in message else 0)
            return [("tally", self.tally)]
        if kind in ("open", "follow"):
            scene = check_scene(message.get("scene"))
            self.scene = scene
            if kind == "follow" and not self.following:
                return []  # a follow on its way as we broke away
            return [(kind, scene)]
        if kind == "poll":
            return [self._open_poll(parse_poll(message))]
        if kind == "revealed":
            return [("revealed", self._reveal(message))]
        if kind == "closed":
            poll = _poll_id(message)
            if self.poll is not None and self.poll.id == poll:
                self.poll = None
                self.answer = None
            return [("closed", poll)]
        if kind == "bye":
            return [("bye", _text(message, "reason", 200, optional=True))]
        if kind == "welcome":
            return []
        raise BadMessage(f"the room sent a message of an unknown type ({clean(str(kind), keep_newlines=False)[:30]})")

    def _open_poll(self, poll: Poll) -> tuple[str, Any]:
        self.poll = poll
        self.answer = None
        self.tally = None
        return ("poll", poll)

    def _reveal(self, message: dict) -> Result:
        answer = message.get("answer")
        if answer is not None and (not isinstance(answer, int) or isinstance(answer, bool) or not 1 <= answer <= MAX_CHOICES):
            raise BadMessage("the room revealed an answer that is not a choice")
        poll = self.poll if self.poll is not None and self.poll.id == message.get("poll") else None
        result = Result(_poll_id(message), answer, _text(message, "text", 2000, optional=True), _counts(message),
                        _count(message, "answered"), _count(message, "of"),
                        poll.question if poll else "", poll.choices if poll else (), poll.scenario if poll else None)
        self.result = result
        self.poll = None
        self.tally = None
        return result

    # -- what this session sends ---------------------------------------------------------------------
    def answer_message(self, choice: int) -> dict | None:
        """The `answer` for the open poll (choice 1-based, 0 = skip), or None if there is none to answer."""
        if self.presenter or self.poll is None or not 0 <= choice <= len(self.poll.choices):
            return None
        self.answer = choice
        return {"type": "answer", "poll": self.poll.id, "choice": choice}

    def nickname_message(self, text: str) -> dict | None:
        """The participant's one `nickname`, or None (a presenter, already named, or no usable letter)."""
        name = member_name(text)
        if self.presenter or self.nicknamed or not name:
            return None
        self.nicknamed = True
        self.name = name
        return {"type": "nickname", "name": name}

    def following_now(self) -> bool:
        return self.following and not self.presenter


def status_message(scenario: str | None, title: str, step: int, following: bool, tab: str) -> dict:
    return {"type": "status", "scenario": scenario, "title": title[:120], "step": int(step),
            "following": bool(following), "tab": tab}


def letter_counts(counts: tuple[int, ...], answer: int | None = None) -> str:
    """ "1: 4, 2: 15 ✓, 3: 2": each choice's key and count, the right one marked."""
    return ", ".join(f"{i}: {n}{' ✓' if answer == i else ''}" for i, n in enumerate(counts, 1))


def tally_line(answered: int, of: int, counts: tuple[int, ...], skipped: int = 0, answer: int | None = None) -> str:
    """ "21 of 27 answered: 1: 4, 2: 15, 3: 2" (the issue's line, with the keys people press)."""
    line = f"{answered} of {of} answered"
    if counts:
        line += ": " + letter_counts(counts, answer)
    if skipped:
        line += f" ({skipped} skipped)"
    return line
