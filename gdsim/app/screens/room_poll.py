"""The room's poll, for a participant: the presenter's question with its choices, answered with a
key (1-9; 0 skips); escape puts it aside (ctrl+r brings it back while the poll is open). When the
presenter reveals it, the window shows the answer and the room's counts, and any key closes it.

Used where the poll is not the open scenario's own question (the list, another scenario, a
question with no scenario); on the scenario it asks about, the question panel asks it
(gdsim/app/room_client.py decides).
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from gdsim.app.runtime.room_state import Poll, RoomState
from gdsim.app.screens.prompt import OnceModal
from gdsim.app.widgets.room_panel import result_lines

BOLD = Style(bold=True)


def poll_text(poll: Poll) -> Text:
    text = Text()
    text.append(poll.question + "\n", BOLD)
    for i, choice in enumerate(poll.choices, 1):
        text.append(f"  {i} ", BOLD)
        text.append(choice + "\n")
    text.rstrip()
    return text


class RoomPollScreen(OnceModal):
    """Asks the open poll; `client` is the RoomClient that sends the answer."""

    def __init__(self, client, poll: Poll) -> None:
        super().__init__(classes="dialog")
        self.client = client
        self.poll = poll
        self.revealed = False

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box room-poll-box"):
            yield Static(Text("The presenter asks the room", style=BOLD), classes="dialog-question")
            yield Static(poll_text(self.poll), id="room-poll-body")
            yield Static(self._hint(), classes="dialog-hint", id="room-poll-hint")

    def _hint(self) -> Text:
        if self.revealed:
            return Text("any key closes this")
        return Text(f"1-{len(self.poll.choices)} answer · 0 skip · escape: later (ctrl+r brings it back)")

    def on_key(self, event: events.Key) -> None:
        event.stop()
        event.prevent_default()
        if self.revealed:
            self.dismiss(None)
            return
        if event.key == "escape":
            self.dismiss(None)
        elif event.character is not None and len(event.character) == 1 and event.character in "0123456789":
            choice = int(event.character)
            if choice <= len(self.poll.choices):
                self.client.answer(choice)
                self.dismiss(choice)
            else:
                self.notify(f"choose 1 to {len(self.poll.choices)}, or 0 to skip", markup=False)

    def show_result(self, state: RoomState) -> None:
        """The presenter revealed the poll: the answer and the counts, in place of the choices."""
        self.revealed = True
        body = Text()
        body.append(self.poll.question + "\n", BOLD)
        body.append_text(result_lines(state))
        body.rstrip()
        if self.is_mounted:
            self.query_one("#room-poll-body", Static).update(body)
            self.query_one("#room-poll-hint", Static).update(self._hint())
