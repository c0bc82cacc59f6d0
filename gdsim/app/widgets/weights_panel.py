"""WeightsPanel: a network's weights per layer as one-line histograms, with how many are ~zero.

The numbers come from gdsim/engine/internals.py (the same share `sparsity` measures); this
widget only draws them: one row per layer, bins from -max|w| to +max|w| shared by all layers.
"""

from __future__ import annotations

import numpy as np
from rich.style import Style

from gdsim.app.draw import palette
from gdsim.app.draw.axes import tick
from gdsim.app.draw.canvas import Canvas
from gdsim.app.runtime.session import Session
from gdsim.app.widgets.raster import RasterWidget
from gdsim.engine.internals import SPARSE_BELOW, layer_weights

BARS = " ▁▂▃▄▅▆▇█"
DIM, BOLD = Style(dim=True), Style(bold=True)


def has_weights(session: Session) -> bool:
    """Whether the problem is a network (the panel has something to show)."""
    return all(hasattr(c.problem, "network") for c in session.sim.cohorts)


def sparkline(counts: np.ndarray) -> str:
    """Counts as bar glyphs, the tallest bin full height; an empty bin is a space, a non-empty one
    never less than the lowest bar (one weight in a bin still shows)."""
    counts = np.asarray(counts, dtype=np.float64)
    top = counts.max(initial=0)
    if top <= 0:
        return " " * len(counts)
    level = np.where(counts > 0, np.maximum(1, np.ceil(counts / top * (len(BARS) - 1))), 0).astype(np.int64)
    return "".join(BARS[i] for i in level.tolist())


class WeightsPanel(RasterWidget):
    """The selected run's weights; the screen calls show() at its redraw rate."""

    def __init__(self, *, id: str | None = None, classes: str | None = None):
        super().__init__(id=id, classes=classes)
        self.session: Session | None = None
        self.weights = []  # the last frame's LayerWeights (tests read them)
        self._key = None

    def show(self, session: Session) -> None:
        self.session = session
        self._redraw()

    def _rasterise(self) -> None:
        width, height = self.size.width, self.size.height
        canvas = Canvas(width, height)
        session = self.session
        if session is None or not has_weights(session) or width < 24 or height < 2:
            self._strips = canvas.strips(self._base())
            return
        mono = bool(getattr(self.app, "mono", False)) if self.is_attached else False
        run = session.current
        cohort, index = session.cohort_of(int(run.rows[0]))
        network = cohort.problem.network
        names = [f"L{i + 1} {s.fan_in}→{s.fan_out}" for i, s in enumerate(network.layout.layers)]
        label = max(len(name) for name in names) + 1
        counts_width = max(len(f"{s.fan_in * s.fan_out}/{s.fan_in * s.fan_out}") for s in network.layout.layers) + 1
        bins = max(4, min(48, width - label - counts_width))
        layers = self.weights = layer_weights(network, cohort.params[index], bins, SPARSE_BELOW)
        who = f"{run.letter}" + (" (first seed)" if run.ensemble else "")
        small = sum(layer.small for layer in layers)
        total = sum(layer.count for layer in layers)
        title = f"weights of {who}: {small}/{total} |w| < {SPARSE_BELOW:g}"
        if session.cursor is not None:
            title += " (now, not at the cursor)"
        canvas.text(0, 0, title[:width], BOLD)
        style = palette.run_style(run.colour, mono)
        room = height - 2  # the title and the axis row
        rows = list(range(len(layers))) if len(layers) <= room else list(range(room - 1)) + [len(layers) - 1]
        for line, i in enumerate(rows, start=1):
            if len(rows) < len(layers) and line == len(rows) - 1 + 1 and i == len(layers) - 1 and line > 1:
                canvas.text(line - 1, 0, "…" + " " * (label - 1), DIM)
            layer = layers[i]
            canvas.text(line, 0, names[i], DIM)
            canvas.text(line, label, sparkline(layer.counts), style)
            canvas.text(line, label + bins + 1, f"{layer.small}/{layer.count}", DIM)
        if room >= 1 and layers:
            reach = layers[0].edges[-1]
            axis_row = len(rows) + 1
            left, right = tick(-reach, 6), tick(reach, 6)
            canvas.text(axis_row, label, left, DIM)
            canvas.text(axis_row, label + bins - len(right), right, DIM)
            if bins >= len(left) + len(right) + 4:
                canvas.text(axis_row, label + bins // 2, "0", DIM)
        self._strips = canvas.strips(self._base())
        self.draws += 1
