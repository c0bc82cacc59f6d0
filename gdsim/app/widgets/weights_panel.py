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
from gdsim.app.widgets.session_view import SessionView
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


class WeightsPanel(SessionView):
    """Every run's weights (one line each, the lesson's point is the difference between runs), then
    the selected run's layers where they fit; the screen calls show() at its redraw rate."""

    def __init__(self, *, id: str | None = None, classes: str | None = None):
        super().__init__(id=id, classes=classes)
        self.weights = []  # the last frame's LayerWeights of the selected run (tests read them)
        self.run_counts: list[tuple[str, int, int]] = []
        self._key = None

    def _rasterise(self) -> None:
        width, height = self.size.width, self.size.height
        canvas = Canvas(width, height)
        session = self.session
        if session is None or not has_weights(session) or width < 24 or height < 2:
            self._strips = canvas.strips(self._base())
            return
        mono = bool(getattr(self.app, "mono", False)) if self.is_attached else False
        runs = list(session.display)
        pooled, per_layer = [], []
        for run in runs:  # an ensemble: its first seed
            cohort, index = session.cohort_of(int(run.rows[0]))
            params = np.asarray(cohort.params[index], dtype=np.float64).reshape(1, -1)
            layers = [w.reshape(-1) for w in cohort.problem.network.layout.weights(params)]
            per_layer.append([w[np.isfinite(w)] for w in layers])
            pooled.append(np.concatenate(per_layer[-1]) if layers else np.zeros(0))
        largest = max((float(np.abs(w).max()) for w in pooled if len(w)), default=0.0)
        reach = largest if largest > 0 else 1.0
        counts_width = max(len(f"{len(w)}/{len(w)}") for w in pooled) + 1
        current = session.current
        selected = next((k for k, run in enumerate(runs) if run is current), 0)
        network = session.cohort_of(int(current.rows[0]))[0].problem.network
        names = [f"L{i + 1} {s.fan_in}→{s.fan_out}" for i, s in enumerate(network.layout.layers)]
        label = max(2, max(len(name) for name in names) + 1)
        bins = max(4, min(48, width - label - counts_width))
        edges = np.linspace(-reach, reach, bins + 1)
        cohort, index = session.cohort_of(int(current.rows[0]))
        self.weights = layer_weights(network, cohort.params[index], bins, SPARSE_BELOW)
        self.run_counts = []  # (letter, small, total) per run (tests read them)
        if any(run.ensemble for run in runs):  # its rows show one network, not the table's median
            titles = (f"weights of every run (an ensemble: its first seed), near 0: |w|<{SPARSE_BELOW:g}",
                      f"weights (ensembles: first seed), |w|<{SPARSE_BELOW:g}", f"first seeds' weights, |w|<{SPARSE_BELOW:g}")
        else:
            titles = (f"weights of every run, near 0: |w|<{SPARSE_BELOW:g}",)
        title = next((t for t in titles if len(t) <= width), f"weights, |w|<{SPARSE_BELOW:g}")
        if session.cursor is not None and len(title) + 6 <= width:
            title += " (now)"
        canvas.text(0, 0, title, BOLD)
        line = 1
        room = height - 2  # less the title and the axis row
        for k, run in enumerate(runs):
            w = pooled[k]
            small = int(np.sum(np.abs(w) < SPARSE_BELOW))
            self.run_counts.append((run.letter, small, int(w.size)))
            if line > room:
                continue
            counts, _ = np.histogram(w, bins=edges)
            canvas.text(line, 0, run.letter, palette.run_style(run.colour, mono) if not mono else BOLD)
            canvas.text(line, label, sparkline(counts), palette.run_style(run.colour, mono))
            canvas.text(line, label + bins + 1, f"{small}/{w.size}", DIM)
            line += 1
        layers = per_layer[selected]
        if len(runs) > 1 and room - line + 1 >= len(layers) + 1 and len(layers) > 1:
            canvas.text(line, 0, f"layers of {current.letter} (↑/↓ picks the run)"[:width], DIM)
            line += 1
        if len(runs) == 1 or room - line + 1 >= len(layers):
            style = palette.run_style(current.colour, mono)
            for i, w in enumerate(layers if len(layers) > 1 else []):
                counts, _ = np.histogram(w, bins=edges)
                canvas.text(line, 0, names[i][: label - 1], DIM)
                canvas.text(line, label, sparkline(counts), style)
                canvas.text(line, label + bins + 1, f"{int(np.sum(np.abs(w) < SPARSE_BELOW))}/{w.size}", DIM)
                line += 1
        if line < height:
            left, right = tick(-reach, 6), tick(reach, 6)
            canvas.text(line, label, left, DIM)
            if label + bins - len(right) > label + len(left):  # never one label over the other
                canvas.text(line, label + bins - len(right), right, DIM)
            middle = label + bins // 2
            if middle > label + len(left) and middle + 1 < label + bins - len(right):
                canvas.text(line, middle, "0", DIM)
        self._strips = canvas.strips(self._base())
        self.draws += 1
