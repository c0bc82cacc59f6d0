"""The room's keys, and joining it: a mixin of GdsimApp (issue #17; keys also in /work/notes/R2.md).

Keys exist only in a room (check_action hides them otherwise, so a plain `gdsim` shows nothing of
the room): ctrl+r the room panel, everywhere; a presenter's H (bring everyone here), P (poll the
room with the scenario's [predict] question) and Y (reveal it); a participant's F (follow the
presenter) and X (explore alone; j and k are the run table's down and up); a presenter's C closes
the open poll without revealing it; escape closes the room panel before it goes back. Any key that changes a follower's run also breaks away: it goes
through run_action, which lets go of the presenter first (a one-line notice says how to rejoin).
"""

from __future__ import annotations

import os

from textual.app import App
from textual.binding import Binding

from gdsim.app.text import clean

ROOM_BINDINGS = [
    Binding("ctrl+r", "room_panel", "Room", priority=True),
    # escape closes the room panel first, like a dialog; only then does it go back (or clear the
    # list's filter). Active only while the panel is on the screen shown (check_action): a dialog
    # over it keeps its own escape, and without a panel escape does what it always did. While it is
    # active the footer says "esc close" where it said "esc back".
    Binding("escape", "room_hide_panel", "close", priority=True),
    Binding("H", "room_bring", "Bring all here"),
    Binding("P", "room_poll", "Poll"),
    Binding("Y", "room_reveal", "Reveal"),
    # not in the footer: at 80 columns the command palette's key would cover its words; the room
    # panel, open while a poll is, says "Y reveals it · C closes it", and so does the help screen
    Binding("C", "room_close", "Close poll", show=False),
    Binding("F", "room_follow", "Follow"),
    # at the list the filter box takes letters: there ctrl+f follows the presenter again
    Binding("ctrl+f", "room_rejoin", "Follow", priority=True),
    Binding("ctrl+n", "room_nickname", "Nickname", priority=True, show=False),
    Binding("X", "room_explore", "Explore"),
]
HELP = {  # the help screen's words for them
    "room_panel": "The room: who is connected, the poll (a participant: the open poll)",
    "room_hide_panel": "Close the room panel (with it open, escape closes it before going back)",
    "room_bring": "Bring everyone here: this scenario, its settings, step, tab and run",
    "room_poll": "Poll the room with this scenario's question ([predict])",
    "room_reveal": "Reveal the poll: the answer and the counts everywhere; the scenario runs",
    "room_close": "Close the poll without revealing it (its answers are kept; P opens a new one)",
    "room_follow": "Follow the presenter (their scenario, step, tab and run); ctrl+f at the list",
    "room_explore": "Explore on your own (any key that changes the run does it too)",
    "room_nickname": "Your name in the room, chosen once (else your ssh user name)",
}
PRESENTER_ACTIONS = frozenset({"room_bring", "room_poll", "room_reveal", "room_close"})
PARTICIPANT_ACTIONS = frozenset({"room_follow", "room_explore", "room_rejoin", "room_nickname"})
ROOM_ACTIONS = PRESENTER_ACTIONS | PARTICIPANT_ACTIONS | {"room_panel", "room_hide_panel"}
# The scenario screen's actions that change what a follower's run does: they break away first.
BREAKS_AWAY = frozenset({
    "toggle_run", "step", "step_n", "reset", "speed", "scrub", "scrub_far", "scrub_to_start", "live",
    "lr", "batch", "seed", "momentum", "optimizer", "schedule", "start_point", "add_run", "remove_run",
    "ensemble", "random_starts", "sweep", "jump_event", "back",
})


def help_bindings(presenter: bool) -> list[Binding]:
    wanted = {"room_panel", "room_hide_panel"} | (PRESENTER_ACTIONS if presenter else PARTICIPANT_ACTIONS)
    out = [Binding(b.key, b.action, HELP[b.action], key_display=b.key_display) for b in ROOM_BINDINGS
           if b.action in wanted and b.action in HELP]
    if not presenter:
        out.append(Binding("1", "", "1-9 answer the room's poll, 0 skips (in its window, or the question panel)",
                           key_display="1-9, 0"))
    return out


class RoomKeys(App):
    """Mixed into GdsimApp: `room` is the RoomClient (gdsim/app/room_client.py), None outside a room."""

    BINDINGS = ROOM_BINDINGS
    room = None

    def start_room(self) -> None:
        """Join the room the server named in the environment (GDSIM_ROOM), in the background."""
        if not os.environ.get("GDSIM_ROOM"):
            return  # no room: nothing of it is imported or shown
        from gdsim.app.runtime.room_link import RoomLink

        link = RoomLink.from_environment()
        if link is not None:
            self.join_room(link)

    def join_room(self, link) -> None:
        """Join through `link` (a RoomLink, or a test's stand-in with its methods)."""
        from gdsim.app.room_client import RoomClient

        self.room = RoomClient(self, link)
        self.run_worker(self.room.run(), name="room", group="room", exit_on_error=False)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action not in ROOM_ACTIONS:
            return super().check_action(action, parameters)
        room = self.room
        if room is None or not room.active:
            return False
        if action == "room_panel":
            return True
        if action == "room_hide_panel":
            return room.panel_on(self.screen)
        if action in PRESENTER_ACTIONS:
            from gdsim.app.room_client import scenario_screen

            if not room.presenter or scenario_screen(self) is not self.screen:
                return False
            if action == "room_bring":
                return True
            return (action != "room_poll") == (room.state.poll is not None)  # Y and C need an open poll
        if not room.participant:
            return False
        if action == "room_nickname":
            return not room.state.nicknamed
        if action == "room_rejoin":  # at the list (or a dialog over it), where F is typed into the filter
            from gdsim.app.room_client import scenario_screen

            return not room.state.following and scenario_screen(self) is None
        return (action == "room_explore") == room.state.following

    async def run_action(self, action, default_namespace=None, namespaces=None) -> bool:
        """A key that changes a follower's run breaks away from the presenter first."""
        room = self.room
        broke = False
        if room is not None and room.participant and isinstance(action, str) and hasattr(default_namespace, "session"):
            name = action.split("(", 1)[0].rsplit(".", 1)[-1]
            if name in BREAKS_AWAY:
                broke = room.break_away(quiet=True, pause=False)  # the key acts on what the screen shows
        done = await super().run_action(action, default_namespace, namespaces)
        if broke:  # after the key's own message, which it joins in the status line
            room.tell_broke_away()
        return done

    def on_question_panel_answered(self, message) -> None:
        """The scenario's own question answered: to the room too, if it is the open poll's."""
        if self.room is not None:
            self.room.answered_here(message.answer)

    # -- the actions -------------------------------------------------------------------------------
    def action_room_panel(self) -> None:
        if self.room is not None and self.room.active:
            self.room.toggle_panel()

    def action_room_hide_panel(self) -> None:
        if self.room is not None:
            self.room.hide_panel()

    def action_room_follow(self) -> None:
        if self.room is not None:
            self.room.follow()

    def action_room_rejoin(self) -> None:
        self.action_room_follow()

    def action_room_nickname(self) -> None:
        from gdsim.app.screens.prompt import PromptScreen

        room = self.room
        if room is None or not room.participant or room.state.nicknamed:
            return

        def named(answer: str | None) -> None:
            message = room.state.nickname_message(answer or "") if answer is not None else None
            if message is None:
                if answer is not None:
                    self.notify("not changed: a name needs letters or digits (and . _ -)", markup=False)
                return
            room.send(message)
            self.refresh_bindings()
            room.refresh_panels()
            self.notify(f"the room calls you {message['name']} from now on", markup=False, timeout=4)

        self.push_screen(PromptScreen("Your name in the room (you can choose it once)", room.state.name,
                                      "letters, digits, . _ - (at most 24)"), named)

    def action_room_explore(self) -> None:
        """X: paused where you are (room_scene.let_go: a learner who takes the controls expects the
        screen to stop under them, not to run on alone past a presenter who has paused)."""
        if self.room is not None:
            self.room.break_away(pause=True)

    def action_room_bring(self) -> None:
        room = self.room
        if room is None or not room.presenter:
            return
        scene = room.current_scene(say=True)
        if scene is None:
            return
        room.send({"type": "bring", "scene": scene})
        title = clean(str(scene["raw"].get("scenario", {}).get("title", scene["id"])), keep_newlines=False)[:80]
        self.notify(f"brought everyone to {title}", markup=False, timeout=4)

    def action_room_poll(self) -> None:
        from gdsim.app.room_client import scenario_screen
        from gdsim.app.runtime.room_scene import wire_id

        room = self.room
        screen = scenario_screen(self)
        if room is None or not room.presenter or screen is None:
            return
        flow = screen.flow
        if flow is None:
            self.notify("this scenario asks no question: open one with a [predict] question to poll the room",
                        markup=False, timeout=5)
            return
        if room.state.poll is not None:
            self.notify("a poll is open: Y reveals it first", markup=False, timeout=4)
            return
        room.send({"type": "poll_open", "question": flow.question, "choices": list(flow.choices),
                   "scenario": wire_id(screen.session.loaded.id), "answer": int(flow.predict.answer)})
        room.show_panel()

    def action_room_reveal(self) -> None:
        self._end_poll({"type": "reveal", "text": ""})

    def action_room_close(self) -> None:
        """Close the open poll without revealing it (the answer is not shown; the broker keeps the
        counts); every participant's poll window closes."""
        if self._end_poll({"type": "poll_close"}):
            self.notify("poll closed without revealing it: P opens a new one", markup=False, timeout=4)

    def _end_poll(self, message: dict) -> bool:
        """A presenter's reveal or close of the open poll; whether it was sent."""
        room = self.room
        if room is None or not room.presenter:
            return False
        if room.state.poll is None:
            self.notify("no poll is open: P opens one", markup=False, timeout=4)
            return False
        room.send(message)
        return True
