"""RasterWidget: a widget whose lines are pre-drawn Strips, redrawn whole from new data.

The plots and the map draw into a Canvas (gdsim/app/draw/canvas.py) when data arrives or the size
changes; render_line only hands Textual the finished lines, so a redraw costs one rasterise.
"""

from __future__ import annotations

from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget


class RasterWidget(Widget):
    """Subclasses implement _rasterise(), which sets self._strips and counts self.draws."""

    def __init__(self, *, id: str | None = None, classes: str | None = None):
        super().__init__(id=id, classes=classes)
        self._strips: list[Strip] = []
        self._drawn_for = None  # the size the strips were drawn at
        self._base_style = None  # see _base
        self.draws = 0  # how many times the widget was rasterised (the benchmark counts these)

    def fit(self) -> bool:
        """Draw the strips again if the widget's size changed since they were drawn; True if so.

        render_line calls this, so the first render at a new size already shows the content (it
        does not wait for the Resize event), and the compositor never caches lines of the old
        strips at the new size."""
        if self._drawn_for == self.size:
            return False
        self._rasterise()
        self._drawn_for = self.size
        return True

    def notify_style_update(self) -> None:
        """The styles changed (a new theme): the strips carry the old colours, draw them again."""
        super().notify_style_update()
        self._base_style = None
        self._drawn_for = None
        self.refresh()

    def on_resize(self) -> None:
        if self.fit():  # not drawn at this size yet: lines painted before may be the old strips
            self.refresh()

    def on_focus(self) -> None:
        self._redraw()  # a focused panel's background (gdsim.tcss) is baked into its strips

    def on_blur(self) -> None:
        self._redraw()

    def render_line(self, y: int) -> Strip:
        self.fit()
        if y < len(self._strips):
            return self._strips[y]
        return Strip.blank(self.size.width, self.rich_style)

    def _redraw(self) -> None:
        old = self._strips
        self._rasterise()
        self._drawn_for = self.size
        refresh_changed(self, old, self._strips)

    def _rasterise(self) -> None:
        raise NotImplementedError

    def _base(self):
        """The widget's own colours (the theme's), under everything drawn: a cell left blank is
        the panel's background, and a theme change gives new strips (so they are repainted).
        Kept until the styles change: Textual computes rich_style afresh (~1 ms) on each read."""
        from rich.style import Style

        if not self.is_attached:
            return Style()
        if self._base_style is None:
            self._base_style = self.rich_style
        return self._base_style


def refresh_changed(widget: Widget, old: list[Strip], new: list[Strip]) -> None:
    """Repaint only the lines of `widget` that differ between its old and new strips."""
    rows = changed_rows(old, new, widget.size.width)
    if rows is None:
        widget.refresh()
    elif rows:
        widget.refresh(*rows)


def changed_rows(old: list[Strip], new: list[Strip], width: int) -> list[Region] | None:
    """The rows of `new` that differ from `old`, as one region per run of rows ([] if none);
    None when the line count changed (everything is repainted).

    Only these lines are re-rendered, re-composited and sent to the terminal: on a step most
    rows of the status line, run table and flat curves are unchanged, and over SSH every line
    not sent is CPU saved for the other participants."""
    if len(old) != len(new) or not old:
        return None
    regions: list[Region] = []
    start = None
    for y, (a, b) in enumerate(zip(old, new)):
        if a is not b and a != b:
            if start is None:
                start = y
        elif start is not None:
            regions.append(Region(0, start, width, y - start))
            start = None
    if start is not None:
        regions.append(Region(0, start, width, len(new) - start))
    return regions
