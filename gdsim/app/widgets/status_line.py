"""StatusLine: one line saying what the simulation is doing (running, step, speed, rewound)."""

from __future__ import annotations

import time

from rich.style import Style
from rich.text import Text
from textual.widget import Widget

from gdsim.app.session import Session, speed_label
from gdsim.app.text import clean


class StatusLine(Widget):
    """Title, state, step and speed; updated by the screen at its redraw rate.

    A plain Widget rather than a Static: Static.update re-lays out the whole screen, and this
    line changes at every redraw without ever changing size."""

    def __init__(self, *, id: str | None = None):
        super().__init__(id=id)
        self.text = Text()
        self.message = ""
        self.message_until = 0.0

    def render(self) -> Text:
        return self.text

    SAY_SECONDS = 4.0

    def say(self, message: str, seconds: float = SAY_SECONDS) -> None:
        """Show `message` in place of the title for a few seconds (cheaper than a toast per key)."""
        self.message = clean(message, keep_newlines=False)
        self.message_until = time.monotonic() + seconds

    def show(self, session: Session) -> None:
        sim = session.sim
        text = Text(no_wrap=True, overflow="ellipsis")
        state = "▶ running" if session.running else "⏸ paused"
        text.append(f" {state} ", Style(bold=True, reverse=True))
        text.append(f" step {sim.step_count:,}", Style(bold=True))
        text.append(f" / {session.stop_at:,}", Style(dim=True))
        text.append(f"  speed {speed_label(session.speed)}")
        if session.cursor is not None:
            text.append(f"  ⏪ viewing step {session.cursor:,}", Style(bold=True))
        if session.modified:
            text.append("  changed (file untouched)", Style(italic=True))
        text.append("  · ")
        if self.message and time.monotonic() < self.message_until:
            text.append(self.message, Style(bold=True))
        else:
            text.append(clean(session.loaded.scenario.scenario.title, keep_newlines=False), Style(dim=True))
        if text.plain != self.text.plain:
            self.text = text
            self.refresh()
