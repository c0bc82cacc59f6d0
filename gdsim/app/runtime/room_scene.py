"""A presenter's scene (ROOM.md): built from a Session, and applied to a participant's.

A scene is what the presenter shows: the scenario as its raw dict (tweaks and mid-run changes
included: they are data in it), the step shown, playing or not, the speed, the tab and the selected
run. A participant's app never receives numbers: it opens the same scenario and its own engine
computes the same runs (same scenario, same seeds, same numbers). A step ahead of what it has
computed is run up to (Following.hold, a part of Session: as fast as the tick's budget allows, never past it); a step
behind is looked at with the rewind cursor.

Free of Textual; the app applies scenes in gdsim/app/room_client.py.
"""

from __future__ import annotations

import json
import re
from typing import Any

from gdsim.app.runtime.room_state import TABS, BadMessage
from gdsim.errors import UserError

MAX_SCENE_BYTES = 250 * 1024  # the broker takes a presenter's line up to 256 KiB
WIRE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")  # a scenario id as the broker accepts it


class SceneRefused(UserError):
    """The presenter's scenario cannot travel to the room (it reads a data file, or is too large)."""


def wire_id(scenario_id: str | None) -> str | None:
    """`scenario_id` as the broker accepts it (letters, digits, '.', '_', '-'; others become '-')."""
    if scenario_id is None:
        return None
    text = re.sub(r"[^A-Za-z0-9_.-]", "-", scenario_id)[:100].lstrip("_.-")
    return text if WIRE_ID.fullmatch(text) else None


def reads_a_file(raw: Any) -> bool:
    """Whether the scenario names a file anywhere (a CSV data set: `path`). Participants cannot read
    the presenter's files, and must never read files of the server's that a scene names."""
    if isinstance(raw, dict):
        return any(key == "path" or reads_a_file(value) for key, value in raw.items())
    if isinstance(raw, list):
        return any(reads_a_file(value) for value in raw)
    return False


def scene_of(session: Any, tab: str) -> dict:
    """The presenter's scene now; SceneRefused if it cannot be sent to the room."""
    loaded = session.loaded
    if reads_a_file(loaded.raw):
        raise SceneRefused(f"{loaded.id} reads a data file, which participants cannot open: "
                           "choose a scenario with a built-in data set to bring or follow")
    return {
        "id": wire_id(loaded.id) or "scenario",
        "raw": loaded.raw,
        "original_id": wire_id(session.original.id),
        "step": int(session.shown_step),
        "playing": bool(session.running),
        "speed": int(session.speed),
        "tab": tab if tab in TABS else "tab-plots",
        "selected": int(session.selected),
    }


def encoded_size(scene: dict) -> int:
    """The scene's size as JSON (SceneRefused if it is not JSON-able or over the broker's limit)."""
    try:
        size = len(json.dumps(scene, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
    except (TypeError, ValueError):
        raise SceneRefused("this scenario holds values the room cannot send") from None
    if size > MAX_SCENE_BYTES:
        raise SceneRefused(f"this scenario is too large to send to the room ({size // 1024} KiB)")
    return size


def same_scenario(session: Any, scene: dict) -> bool:
    """Whether the session already shows the scene's scenario with the same settings."""
    return session.loaded.id == scene["id"] and session.loaded.raw == scene["raw"]


def loaded_of(scene: dict):
    """The scene's scenario, validated as a file would be (BadMessage: one line saying why not)."""
    from gdsim.scenario.load import validate_raw

    if reads_a_file(scene["raw"]):
        raise BadMessage("the presenter's scenario reads a data file; it was not opened")
    try:
        return validate_raw(scene["raw"], path=None, id=scene["id"], trial_build=False)
    except UserError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "invalid"
        raise BadMessage(f"the presenter's scenario cannot be opened here: {first[:200]}") from None


def original_of(scene: dict, loaded):
    """The built-in (or listed) scenario the scene came from, for 'changed' to mean what it does for
    the presenter; the scene's own scenario if there is none."""
    from gdsim.scenario.library import list_entries
    from gdsim.scenario.load import load_scenario

    wanted = scene.get("original_id")
    for entry in list_entries() if wanted else ():
        if entry.id == wanted:
            try:
                return load_scenario(entry.path, id=entry.id, trial_build=False)
            except UserError:
                break
    return loaded


def session_of(scene: dict):
    """A new Session for the scene's scenario (BadMessage if it cannot be built)."""
    from gdsim.app.runtime.session import Session

    loaded = loaded_of(scene)
    try:
        return Session(loaded, original_of(scene, loaded))
    except UserError as exc:
        raise BadMessage(f"the presenter's scenario cannot be run here: {str(exc).splitlines()[0][:200]}") from None


def follow_step(session: Any, step: int, playing: bool) -> None:
    """Match the presenter's step: ahead of what this session computed, run up to it (and keep
    running with them while they play); behind, look at it with the rewind cursor.

    Nothing is drawn here: the screen's next tick (metered by its CPU share, runtime/pacing.py)
    steps and draws. The session's version moves only when what it shows changes, so a scene that
    changes nothing here (the presenter's step, already reached; a repeat) costs no frame."""
    live = session.sim.step_count
    session.hold = (step, playing)
    if step >= live:
        session.stop_at = max(session.stop_at, step)
        running = step > live or playing
        if session.cursor is not None:
            session.cursor = None
            session.version += 1
    else:
        if session.cursor != session.cursor_for(step) or session.running:
            session.scrub_to(step)  # pauses, moves the cursor (to the record at or before the step)
        running = False
    if running != session.running:
        session.running = running
        session.version += 1


def match_scene(session: Any, scene: dict) -> None:
    """The session's side of a scene it already has the scenario of: the speed, the selected run
    and the step (the tab is the screen's)."""
    from gdsim.app.runtime.session import SPEEDS

    if scene["speed"] in SPEEDS and SPEEDS.index(scene["speed"]) != session.speed_index:
        session.speed_index = SPEEDS.index(scene["speed"])
        session.version += 1
    session.select(scene["selected"])
    follow_step(session, scene["step"], scene["playing"])


def let_go(session: Any, pause: bool | None = None) -> None:
    """Stop following. `pause=True` (X, explore on your own): paused where it is, whatever the
    presenter does: the learner takes the controls at the step on their screen, and news of the
    presenter's own pause may still be on its way. `pause=False` (a key that changes the run):
    running or paused as the screen shows it, so the key acts on what the learner sees (space
    pauses a run still catching up). None (the room went, a reveal): runs on by itself from where it
    is if the presenter was playing; if they were paused, it stops (it was only catching up)."""
    if session.running and (pause or (pause is None and session.hold is not None and not session.hold[1])):
        session.running = False
        session.version += 1
    session.hold = None
