"""StatusLine: one line saying what the simulation is doing (running, step, speed, rewound)."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.widgets import Static

from gdsim.app.session import Session, speed_label
from gdsim.app.text import clean


class StatusLine(Static):
    """Title, state, step and speed; updated by the screen at its redraw rate."""

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
        text.append(clean(session.loaded.scenario.scenario.title, keep_newlines=False), Style(dim=True))
        self.update(text)
