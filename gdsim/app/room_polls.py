"""The room's polls and panel, for the app's RoomClient (gdsim/app/room_client.py), as a mixin.

A participant answers the open poll in the question panel when it is the open scenario's own
[predict] question, else in the poll window (gdsim/app/screens/room_poll.py); the reveal shows the
answer and the room's counts, and for the scenario's question reveals it there and runs it. The room
panel (gdsim/app/widgets/room_panel.py) is mounted on the screen shown, and follows screen changes.
"""

from __future__ import annotations

from textual.screen import ModalScreen, Screen

from gdsim.app.runtime.room_scene import let_go, wire_id
from gdsim.app.runtime.room_state import Poll, Result, tally_line


def scenario_screen(app) -> Screen | None:
    """The scenario screen shown (under any dialog), or None at the list."""
    for screen in reversed(app.screen_stack):
        if isinstance(screen, ModalScreen):
            continue
        return screen if hasattr(screen, "session") and hasattr(screen, "flow") else None
    return None


class RoomPolls:
    """Mixed into RoomClient, which provides app, state, send, participant, active, notice."""

    poll_window = None  # the RoomPollScreen shown, if any
    panel_wanted = False

    def answer(self, choice: int) -> None:
        """A participant's answer to the open poll (1-based; 0 skips)."""
        message = self.state.answer_message(choice)
        if message is None:
            return
        self.send(message)
        said = "you skipped the poll" if choice == 0 else f"your answer, {choice}, went to the room"
        self.app.notify(f"{said}; the presenter reveals it", markup=False, timeout=4)
        self.refresh_panels()

    # -- polls -----------------------------------------------------------------------------------------
    def _on_poll(self, poll: Poll) -> None:
        self.app.refresh_bindings()
        if self.state.presenter:
            self.show_panel()
            return
        screen = scenario_screen(self.app)
        flow = getattr(screen, "flow", None)
        if screen is not None and flow is not None and poll.scenario == wire_id(screen.session.loaded.id):
            if flow.phase == "asking":
                self.app.notify(f"the presenter asks the room this question: 1-{len(poll.choices)} answers it, "
                                "0 skips", markup=False, timeout=6)
                return
            if flow.answer is not None:  # answered before the poll opened: that answer counts
                self.answer(flow.answer.choice or 0)
                return
        self.show_poll()

    def show_poll(self) -> None:
        """A participant's poll window (ctrl+r, or as the poll opens)."""
        from gdsim.app.screens.room_poll import RoomPollScreen

        poll = self.state.poll
        if poll is None or self.state.answer is not None or self.state.presenter:
            return
        if self.poll_window is not None and self.poll_window.is_attached:
            return
        self.poll_window = RoomPollScreen(self, poll)
        self.app.push_screen(self.poll_window)

    def answered_here(self, answer) -> None:
        """The learner answered the open scenario's own question (QuestionPanel.Answered)."""
        poll = self.state.poll
        if self.participant and poll is not None and self.state.answer is None and \
                poll.scenario == wire_id(answer.scenario):
            self.answer(answer.choice or 0)

    def _on_tally(self, tally) -> None:
        pass  # the panel shows it (refreshed after every message)

    def _on_roster(self, _) -> None:
        pass

    def _on_closed(self, poll_id) -> None:
        self.app.refresh_bindings()
        if self.poll_window is not None and self.poll_window.is_attached and not self.poll_window.revealed:
            self.poll_window.dismiss(None)
        if not self.state.presenter:
            self.app.notify("the presenter closed the poll", markup=False, timeout=4)

    def _on_revealed(self, result: Result) -> None:
        """The answer everywhere; for the open scenario's own question, its reveal, and the run."""
        self.app.refresh_bindings()
        window = self.poll_window
        if window is not None and window.is_attached and window.poll.id == result.poll:
            window.show_result(self.state)
        screen = scenario_screen(self.app)
        flow = getattr(screen, "flow", None)
        if screen is not None and flow is not None and result.scenario == wire_id(screen.session.loaded.id):
            if flow.phase == "asking" and self.participant and self.state.answer is not None:
                # answered in the poll window (on the list, or a late joiner's window over this
                # question): the answer is theirs here too, not "You skipped"
                screen.answer(self.state.answer or None)
            if flow.phase != "revealed":
                flow.asked_room = self.state.presenter  # the projected screen: not "You skipped"
                # folded to its one line ("w: why"), as after a learner's own answer: opened, the
                # measured checks took 7 of 24 rows before the runs had played, and the plots 2
                screen.reveal(asked=False)
            session = screen.session
            if not self.state.following_now():  # a follower runs with the presenter; anyone else runs it here
                let_go(session)
                if not session.running and not session.sim.all_frozen:
                    screen.action_toggle_run()
        line = tally_line(result.answered, result.of, result.counts, answer=result.answer)
        if result.answer is not None and result.answer <= len(result.choices):
            answer = f"the answer: {result.answer}, {result.choices[result.answer - 1].rstrip('.')}"[:80]
        else:
            answer = f"the answer: {result.answer}" if result.answer is not None else "revealed"
        self.app.notify(f"Room: {line}", title=answer, markup=False, timeout=12)

    # -- the panel ---------------------------------------------------------------------------------------
    def _panels(self) -> list:
        from gdsim.app.widgets.room_panel import RoomPanel

        return [panel for screen in self.app.screen_stack for panel in screen.query(RoomPanel)]

    def toggle_panel(self) -> None:
        if self.participant and self.state.poll is not None and self.state.answer is None:
            self.show_poll()  # an unanswered poll: ctrl+r brings its window back
            return
        if self.panel_on(self.app.screen):
            self.hide_panel()
        else:
            self.show_panel()

    def panel_on(self, screen: Screen) -> bool:
        """Whether the room panel is on `screen` (escape then closes it first)."""
        return any(panel.screen is screen for panel in self._panels())

    def hide_panel(self) -> None:
        """Closed (ctrl+r or escape) until ctrl+r, or a presenter's next poll, opens it again."""
        self.panel_wanted = False
        for panel in self._panels():
            panel.remove()
        self.app.call_after_refresh(self.app.refresh_bindings)  # the footer's escape: back again

    def show_panel(self) -> None:
        from gdsim.app.widgets.room_panel import RoomPanel

        self.panel_wanted = True
        screen = self.app.screen
        if isinstance(screen, ModalScreen) or not self.active:
            return
        if not screen.query(RoomPanel):
            panel = RoomPanel(id="room-panel")
            screen.mount(panel)
            panel.show(self.state)
            self.app.call_after_refresh(self.app.refresh_bindings)  # the footer's escape closes it

    def refresh_panels(self) -> None:
        for panel in self._panels():
            panel.show(self.state)

    def _screen_changed(self, screen: Screen) -> None:
        if self.panel_wanted and self.active:
            self.app.call_after_refresh(self.show_panel)
