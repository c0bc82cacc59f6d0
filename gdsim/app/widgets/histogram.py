"""LossHistogram: how an ensemble's final losses are spread, as horizontal bars (log bins if wide)."""

from __future__ import annotations

import numpy as np
from rich.style import Style
from rich.text import Text
from textual.widget import Widget

from gdsim.app import palette
from gdsim.app.axes import tick


class LossHistogram(Widget):
    """Bars of the selected ensemble's current losses; the screen calls show() at its redraw rate."""

    def __init__(self, *, id: str | None = None, classes: str | None = None):
        super().__init__(id=id, classes=classes)
        self.values = np.array([])
        self.label = ""
        self.colour = 0
        self.draws = 0

    def show(self, values: np.ndarray, label: str, colour: int) -> None:
        self.values, self.label, self.colour = np.asarray(values, dtype=np.float64), label, colour
        self.draws += 1
        self.refresh()

    def render(self) -> Text:
        width, height = self.size.width, self.size.height
        values = self.values[np.isfinite(self.values)]
        text = Text(no_wrap=True, overflow="crop")
        text.append(f"final loss over {len(values)} seeds of {self.label}"[:width], Style(bold=True))
        bins = max(1, min(height - 1, 12))
        if len(values) == 0 or width < 20:
            return text
        low, high = float(values.min()), float(values.max())
        log = low > 0 and high / low > 100
        edges = (np.logspace(np.log10(low), np.log10(high), bins + 1) if log
                 else np.linspace(low, high if high > low else low + 1, bins + 1))
        counts, _ = np.histogram(values, bins=edges)
        bar_width = max(1, width - 20)
        peak = max(1, int(counts.max()))
        mono = bool(getattr(self.app, "mono", False))
        style = palette.run_style(self.colour, mono)
        for i, count in enumerate(counts):
            text.append("\n")
            text.append(f"{tick(edges[i]):>7}–{tick(edges[i + 1]):<7} ", Style(dim=True))
            length = int(round(count / peak * bar_width))
            text.append("█" * length, style)
            text.append(f" {count}" if count else "", Style(dim=True))
        return text
