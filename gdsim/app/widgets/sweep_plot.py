"""SweepPlot: what the sweep screen's two plots (SweepCurve, SweepHeat) share: a bold title on the
first row, a dim note ("computing…") in the middle until there is something to draw, and `marks`,
where things were drawn (tests read them)."""

from __future__ import annotations

from rich.style import Style

from gdsim.app.draw.canvas import Canvas
from gdsim.app.widgets.raster import RasterWidget

LABEL_WIDTH = 7  # the y axis's labels, left of the plot


class SweepPlot(RasterWidget):
    """A plot that is blank, with a note, until its sweep has results."""

    def __init__(self, title: str, *, id: str | None = None, classes: str | None = None):
        super().__init__(id=id, classes=classes)
        self.title = title
        self.note = "computing…"
        self.marks: dict[str, tuple[int, int]] = {}

    def wait(self, note: str) -> None:
        self.note = note
        self._redraw()

    def _begin(self, drawable: bool, min_cols: int, min_rows: int) -> tuple[Canvas, bool, int, int] | None:
        """The canvas with the title drawn, whether the theme is mono, and the columns and rows the
        plot has right of the labels; None when there is nothing to draw yet (or no room for it):
        then the note is drawn instead and the canvas finished."""
        width, height = self.size.width, self.size.height
        mono = bool(getattr(self.app, "mono", False)) if self.is_attached else False
        canvas = Canvas(width, height)
        canvas.text(0, 0, self.title[:width], Style(bold=True))
        self.marks = {}
        cols, rows = width - LABEL_WIDTH - 1, height - 2
        if not drawable or cols < min_cols or rows < min_rows:
            if self.note:
                canvas.text(min(height - 1, 1 + max(rows, 0) // 2), LABEL_WIDTH + 2, self.note[: max(0, width - 9)],
                            Style(dim=True))
            self._finish(canvas)
            return None
        return canvas, mono, cols, rows
