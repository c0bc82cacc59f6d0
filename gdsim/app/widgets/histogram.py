"""LossHistogram: how an ensemble's final losses are spread, as horizontal bars (log bins if wide)."""

from __future__ import annotations

import numpy as np
from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from gdsim.app.draw import palette
from gdsim.app.draw.axes import tick
from gdsim.app.text import short
from gdsim.app.widgets.raster import RasterWidget

DIM, BOLD = Style(dim=True), Style(bold=True)


class LossHistogram(RasterWidget):
    """Bars of the selected ensemble's current losses; the screen calls show() at its redraw rate.

    Drawn as finished Strips (the Line API): rendering it as Rich Text cost ~10 ms a frame."""

    def __init__(self, *, id: str | None = None, classes: str | None = None):
        super().__init__(id=id, classes=classes)
        self.values = np.array([])
        self.label = ""
        self.colour = 0

    def show(self, values: np.ndarray, label: str, colour: int) -> None:
        self.values, self.label, self.colour = np.asarray(values, dtype=np.float64), label, colour
        self._redraw()

    def title(self, seeds: int, width: int) -> str:
        """"final loss over 20 seeds of cosine, no warm-up"; where that is too wide, the run's letter
        before its label, which is cut ("final loss, 20 seeds of A: cosine, n…"), not the seeds."""
        full = f"final loss over {seeds} seeds of {self.label}"
        if len(full) <= width:
            return full
        return short(f"final loss, {seeds} seeds of {palette.letter(self.colour)}: {self.label}", width)

    def lines(self) -> list[list[tuple[str, Style]]]:
        """The histogram as rows of (text, style) pieces (tests read these)."""
        width, height = self.size.width, self.size.height
        values = self.values[np.isfinite(self.values)]
        rows = [[(self.title(len(values), width), BOLD)]]
        bins = max(1, min(height - 1, 12))
        if len(values) == 0 or width < 20:
            return rows
        low, high = float(values.min()), float(values.max())
        mono = bool(getattr(self.app, "mono", False)) if self.is_attached else False
        style = palette.run_style(self.colour, mono)
        if tick(low) == tick(high):  # one value (20 seeds diverged to the same loss): said once, not as a range
            words = f"all at {tick(low)}" if low == high else f"all ≈ {tick(low)}"
            rows.append([(f"{words:>15} ", DIM), ("█" * max(1, width - 20), style), (f" {len(values)}", DIM)])
            return rows
        log = low > 0 and high / low > 100
        edges = (np.logspace(np.log10(low), np.log10(high), bins + 1) if log
                 else np.linspace(low, high if high > low else low + 1, bins + 1))
        counts, _ = np.histogram(values, bins=edges)
        bar_width = max(1, width - 20)
        peak = max(1, int(counts.max()))
        for i, count in enumerate(counts.tolist()):
            rows.append([
                (f"{tick(edges[i]):>7}–{tick(edges[i + 1]):<7} ", DIM),
                ("█" * int(round(count / peak * bar_width)), style),
                (f" {count}" if count else "", DIM),
            ])
        return rows

    def _rasterise(self) -> None:
        width = self.size.width
        base = self._base()
        strips = []
        for row in self.lines():
            segments = [Segment(text, base + style) for text, style in row if text]
            used = sum(cell_len(text) for text, _ in row)
            if used < width:
                segments.append(Segment(" " * (width - used), base))
            strips.append(Strip(segments).crop(0, width))
        self._strips = strips
        self.draws += 1
