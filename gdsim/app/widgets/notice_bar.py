"""NoticeBar: plain-language notices about the runs (diverged, stalled, minimum reached)."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.widgets import Static

from gdsim.app.notices import notices
from gdsim.app.runtime.session import Session

ICONS = {"error": "✖", "warning": "▲", "info": "●"}
COLOURS = {"error": "red", "warning": "yellow", "info": "green"}


class NoticeBar(Static):
    """Hidden when there is nothing to say."""

    _shown: tuple = ()

    def show(self, session: Session) -> None:
        items = tuple(notices(session, limit=3))
        mono = bool(getattr(self.app, "mono", False))
        if (items, mono) == self._shown:
            return  # unchanged: an update would re-lay out the screen
        self._shown = (items, mono)
        self.display = bool(items)
        if not items:
            return
        text = Text(no_wrap=True, overflow="ellipsis")
        for i, (severity, sentence) in enumerate(items):
            if i:
                text.append("\n")
            icon_style = Style(bold=True) if mono else Style(color=COLOURS[severity], bold=True)
            text.append(f" {ICONS[severity]} ", icon_style)
            text.append(sentence)
        self.update(text)
