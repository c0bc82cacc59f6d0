"""The grid that holds the plot panels; it tells its screen when its height changes.

Its height is what the rest of the screen leaves it (the question, notices and the run table come
and go), so the screen decides how many panels fit from this size, not the terminal's.
"""

from __future__ import annotations

from textual import events
from textual.containers import Grid
from textual.message import Message


class PanelGrid(Grid):
    """A Grid that posts `PanelGrid.Resized` when its size changes."""

    class Resized(Message):
        """The grid has a new size; `height` rows are there for its panels."""

        def __init__(self, height: int) -> None:
            super().__init__()
            self.height = height

    def on_resize(self, event: events.Resize) -> None:
        self.post_message(self.Resized(event.size.height))
