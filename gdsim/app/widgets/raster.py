"""RasterWidget: a widget whose lines are pre-drawn Strips, redrawn whole from new data.

The plots and the map draw into a Canvas (gdsim/app/canvas.py) when data arrives or the size
changes; render_line only hands Textual the finished lines, so a redraw costs one rasterise.
"""

from __future__ import annotations

from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget


class RasterWidget(Widget):
    """Subclasses implement _rasterise(), which sets self._strips and counts self.draws."""

    def __init__(self, *, id: str | None = None, classes: str | None = None):
        super().__init__(id=id, classes=classes)
        self._strips: list[Strip] = []
        self.draws = 0  # how many times the widget was rasterised (the benchmark counts these)

    def on_resize(self) -> None:
        self._rasterise()

    def render_line(self, y: int) -> Strip:
        if y < len(self._strips):
            return self._strips[y]
        return Strip.blank(self.size.width, Style())

    def _redraw(self) -> None:
        self._rasterise()
        self.refresh()

    def _rasterise(self) -> None:
        raise NotImplementedError
