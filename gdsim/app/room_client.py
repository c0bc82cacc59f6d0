"""The app's place in a classroom (issue #17; protocol in /work/notes/ROOM.md).

When the server put GDSIM_ROOM in the environment (gdsim/app/runtime/room_link.py), the app joins
the room in the background, then: every participant's app sends its `status` when it changes (at
most 2 a second); a presenter's app sends its `state` (the scene, gdsim/app/runtime/room_scene.py)
when it changes, at most 10 a second, and nothing else while it runs, so followers cost it nothing;
a participant's app follows the presenter's scenes, answers polls and shows reveals. A room that
goes away is said once, and the app carries on alone. Without a room none of this exists.

The model is gdsim/app/runtime/room_state.py (no Textual); the keys are in room_keys.py.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from gdsim.app.runtime.room_scene import (
    SceneRefused, encoded_size, let_go, loaded_of, match_scene, same_scenario, scene_of, session_of, wire_id,
)
from gdsim.app.room_polls import RoomPolls, scenario_screen
from gdsim.app.runtime.room_state import BadMessage, RoomState, status_message
from gdsim.app.text import clean

log = logging.getLogger("gdsim.room")

STATUS_PERIOD = 0.5  # status at most 2 a second
STATE_PERIOD = 0.1  # a presenter's scene at most 10 a second


def active_tab(screen) -> str:
    try:
        return screen.query_one("#tabs").active or "tab-plots"
    except Exception:  # noqa: BLE001 - not mounted yet
        return "tab-plots"


def set_tab(screen, tab: str, tries: int = 10) -> None:
    """Show the presenter's tab, if this terminal has it as a tab (a wide one shows the lesson beside)."""
    if not screen.is_mounted:
        if tries > 1:
            screen.call_after_refresh(set_tab, screen, tab, tries - 1)
        return
    tabs = screen.query_one("#tabs")
    if tabs.active != tab and tabs.get_tab(tab).display:
        tabs.active = tab


class RoomClient(RoomPolls):
    """One app's membership of the room."""

    def __init__(self, app, link) -> None:
        self.app = app
        self.link = link
        self.state = RoomState()
        self.joined = False
        self.gone = ""  # why the room went (said once), "" while in it
        self.panel_wanted = False
        self.poll_window = None  # the RoomPollScreen shown, if any
        self._timers: list = []
        self._status: dict | None = None
        self._scene_key: tuple | None = None
        self._checked: tuple | None = None  # (id of the loaded scenario, refusal or None)
        self._applied: tuple | None = None  # (screen, scene, its loaded scenario) last applied here
        self.sent_states = 0  # states sent (the benchmark reads it)

    # -- the connection -------------------------------------------------------------------------
    @property
    def active(self) -> bool:
        return self.joined and not self.gone

    @property
    def presenter(self) -> bool:
        return self.active and self.state.presenter

    @property
    def participant(self) -> bool:
        return self.active and not self.state.presenter

    async def run(self) -> None:
        """Join, then handle the broker's messages until the room goes (a worker of the app)."""
        try:
            welcome = await self.link.connect()
            actions = self.state.welcome(welcome)
        except BadMessage as exc:
            await self._close()
            self.lose(str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - RoomError, OSError: no room; the app carries on
            self.lose(clean(str(exc), keep_newlines=False)[:200] or "no answer")
            return
        self.joined = True
        self._timers.append(self.app.set_interval(STATUS_PERIOD, self.send_status, name="room-status"))
        if self.state.presenter:
            self._timers.append(self.app.set_interval(STATE_PERIOD, self.send_state, name="room-state"))
        self.app.screen_change_signal.subscribe(self.app, self._screen_changed)
        self.app.refresh_bindings()
        role = "presenter" if self.state.presenter else "participant"
        more = ("ctrl+r: the room panel; H brings everyone here, P opens a poll" if self.state.presenter
                else "you follow the presenter; X explores on your own, F follows again")
        self.app.notify(f"joined the room as {self.state.name} ({role}): {more}", markup=False, timeout=6)
        self.send_status()
        self._act(actions)
        self.refresh_panels()
        try:
            async for message in self.link.messages():
                try:
                    actions = self.state.apply(message)
                except BadMessage as exc:
                    self.notice(str(exc))
                    continue
                self._act(actions)
        except Exception as exc:  # noqa: BLE001 - the link broke: alone from here
            log.warning("room: lost: %s", exc)
        self.lose("the connection to the room ended")

    async def _close(self) -> None:
        try:
            await self.link.close()
        except Exception:  # noqa: BLE001
            pass

    def lose(self, reason: str) -> None:
        """The room went (or never came): say so once; the app carries on alone."""
        if self.gone:
            return
        self.gone = reason or "gone"
        for timer in self._timers:
            timer.stop()
        self._timers = []
        screen = scenario_screen(self.app)
        if screen is not None:
            let_go(screen.session)
        for panel in self._panels():
            panel.remove()
        if self.poll_window is not None and self.poll_window.is_attached:
            self.poll_window.dismiss(None)
        self.app.refresh_bindings()
        self.app.notify(f"no room: {self.gone}. You carry on alone.", severity="warning", markup=False, timeout=8)

    def notice(self, text: str) -> None:
        self.app.notify(clean(text, keep_newlines=False)[:300], severity="warning", markup=False, timeout=6)

    def send(self, message: dict) -> None:
        if self.active:
            self.link.send(message)

    def _act(self, actions: list[tuple[str, Any]]) -> None:
        for what, value in actions:
            try:
                getattr(self, f"_on_{what}")(value)
            except BadMessage as exc:
                self.notice(str(exc))
            except Exception as exc:  # noqa: BLE001 - never a traceback for what the room sent
                log.exception("room: could not act on %s", what)
                self.notice(f"the room's {what} message could not be shown ({type(exc).__name__})")
        if any(what != "follow" for what, _ in actions):  # a follow changes nothing the panel shows
            self.refresh_panels()

    # -- what this session sends --------------------------------------------------------------------
    def send_status(self) -> None:
        """What this session shows, when it changed (every STATUS_PERIOD, and at once after a follow key)."""
        if not self.active:
            return
        screen = scenario_screen(self.app)
        if screen is None:
            message = status_message(None, "", 0, self.state.following_now(), "")
        else:
            session = screen.session
            message = status_message(wire_id(session.loaded.id),
                                     clean(session.loaded.scenario.scenario.title, keep_newlines=False),
                                     session.shown_step, self.state.following_now(), active_tab(screen))
        if message != self._status:
            self._status = message
            self.send(message)

    def current_scene(self, say: bool = False) -> dict | None:
        """The presenter's scene now, or None (at the list, or a scenario that cannot travel)."""
        screen = scenario_screen(self.app)
        if screen is None:
            return None
        session = screen.session
        try:
            if self._checked is None or self._checked[0] != id(session.loaded):
                try:
                    encoded_size(scene_of(session, "tab-plots"))
                    self._checked = (id(session.loaded), None)
                except SceneRefused as exc:
                    self._checked = (id(session.loaded), str(exc))
                    say = True
            if self._checked[1] is not None:
                raise SceneRefused(self._checked[1])
            return scene_of(session, active_tab(screen))
        except SceneRefused as exc:
            if say:
                self.notice(str(exc))
            return None

    def send_state(self) -> None:
        """A presenter's scene, when anything in it changed (every STATE_PERIOD)."""
        if not self.presenter:
            return
        screen = scenario_screen(self.app)
        if screen is None:
            return
        session = screen.session
        key = (id(session.loaded), session.shown_step, session.running, session.speed, active_tab(screen),
               session.selected)
        if key == self._scene_key:
            return
        self._scene_key = key
        scene = self.current_scene()
        if scene is not None:
            self.sent_states += 1
            self.send({"type": "state", "scene": scene})

    # -- following -----------------------------------------------------------------------------------
    def follow(self) -> None:
        if not self.participant:
            return
        if self.state.following:
            self.app.notify("you already follow the presenter (X: explore on your own)", markup=False, timeout=3)
            return
        self.state.following = True
        self._applied = None  # whatever they changed meanwhile, the presenter's scene wins again
        self.send_status()
        if self.state.scene is not None:
            self._on_follow(self.state.scene)
        self.app.notify("following the presenter again", markup=False, timeout=3)
        self.app.refresh_bindings()
        self.refresh_panels()

    def break_away(self, quiet: bool = False, pause: bool | None = None) -> bool:
        """Explore alone from here (X: `pause`; or any key that changes the run: not `pause`, the key
        acts on what the screen shows; see room_scene.let_go); whether this broke away."""
        screen = scenario_screen(self.app)
        if screen is not None:
            let_go(screen.session, pause)
        if not self.participant or not self.state.following:
            return False
        self.state.following = False
        self.send_status()
        if not quiet:
            self.tell_broke_away()
        self.app.refresh_bindings()
        self.refresh_panels()
        return True

    def tell_broke_away(self) -> None:
        """The one-line notice; after the message of the key that broke away, if that is still in
        the status line (where a scenario screen shows messages at every size; both stay readable)."""
        text = "exploring on your own: F follows the presenter again"
        screen = self.app.screen
        status = getattr(screen, "_status", None)
        if status is None:  # the list (after escape), where the filter box takes F
            text += " (ctrl+f at the list)"
        elif status.message and time.monotonic() < status.message_until and "exploring on your own" not in status.message:
            text = f"{text} · {status.message}"  # first: a long message of the key is what gets cut
        self.app.notify(text, markup=False, timeout=6)

    def _on_follow(self, scene: dict) -> None:
        if not self.state.following_now():
            return
        screen = scenario_screen(self.app)
        if screen is not None and self._applied is not None and self._applied[0] is screen and \
                self._applied[2] is not screen.session.loaded:
            self.break_away()  # changed here by other means than a key (the command palette): theirs now
            return
        self.show_scene(scene, playing=True)

    def _on_open(self, scene: dict) -> None:
        """`bring`: the presenter's scene opens here, following or not."""
        self.show_scene(scene, playing=self.state.following_now(), bring=True)
        title = clean(str(scene["raw"].get("scenario", {}).get("title", scene["id"])), keep_newlines=False)[:80]
        tail = "" if self.state.following else " (space runs it; F follows the presenter)"
        self.app.notify(f"the presenter brought you to {title}{tail}", markup=False, timeout=5)

    def show_scene(self, scene: dict, playing: bool, bring: bool = False) -> None:
        """Open (or match) the scene here; `playing`: keep running with the presenter. A bring to a
        session that ran past the presenter's step starts it again, live at their step (a follow
        looks back with the cursor instead)."""
        scene = scene | {"playing": scene["playing"] and playing}
        screen = scenario_screen(self.app)
        if screen is not None and same_scenario(screen.session, scene):
            if bring and screen.session.sim.step_count > scene["step"]:
                screen.session.reset()
            self._match(screen, scene)
            return
        if screen is not None and screen.session.loaded.id == scene["id"]:
            loaded = loaded_of(scene)  # the same scenario with other settings: changed in place
            if screen.change(lambda session: (loaded, "the presenter changed the settings")):
                self._match(screen, scene)
            return
        session = session_of(scene)
        match_scene(session, scene)
        window = self.poll_window is not None and self.poll_window.is_attached
        if not self.app.open_loaded(session):
            return
        screen = self.app.screen
        self._applied = (screen, scene, session.loaded)
        set_tab(screen, scene["tab"])
        if window:  # opening the scenario closed the poll's window: open it again
            self.app.call_after_refresh(self.show_poll)

    def _match(self, screen, scene: dict) -> None:
        before = self._applied[1] if self._applied is not None and self._applied[0] is screen else None
        session = screen.session
        selected = session.selected
        match_scene(session, scene | ({} if before is None or before["selected"] != scene["selected"]
                                      else {"selected": selected}))
        if before is None or before["tab"] != scene["tab"]:
            set_tab(screen, scene["tab"])
        self._applied = (screen, scene, session.loaded)
        if screen.is_mounted:  # else its on_mount starts the ticks and draws
            screen._sync_ticks()
            if not session.running:  # else the next tick steps and draws, within the CPU share
                # (only if what it shows changed: runtime/room_scene.follow_step). Served, it waits
                # for a frame slot: thirty followers drawing the presenter's step at the same instant
                # made every key pressed meanwhile wait behind thirty frames (frame_slots.py)
                screen.in_background(screen.redraw)

    def _on_bye(self, reason: str) -> None:
        self.lose(reason or "the room closed")
