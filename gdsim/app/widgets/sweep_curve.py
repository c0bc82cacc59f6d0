"""SweepCurve: a sweep's final loss against the learning rate (both log scales), diverged runs
marked along the top, the best point ringed and, on a quadratic, theory's edge as a dashed line."""

from __future__ import annotations

import numpy as np
from rich.style import Style

from gdsim.app.draw import palette
from gdsim.app.draw.axes import Scale, tick
from gdsim.app.draw.canvas import Canvas
from gdsim.app.widgets.sweep_plot import LABEL_WIDTH, SweepPlot

DIVERGED_MARK = "✕"
BEST_MARK = "●"
EDGE_MARK = "┊"
LOG_DEPTH = 1e-30  # the y axis shows at most 30 decades below its top


class SweepCurve(SweepPlot):
    """Drawn from `show(values, lrs, diverged, best, edge)`; blank (with a note) until then."""

    def __init__(self, *, id: str | None = None, classes: str | None = None):
        super().__init__("final loss against the learning rate", id=id, classes=classes)
        self.points: tuple | None = None

    def show(self, lrs: np.ndarray, values: np.ndarray, diverged: np.ndarray, best: int | None,
             edge: float | None, title: str) -> None:
        self.points = (np.asarray(lrs, dtype=np.float64), np.asarray(values, dtype=np.float64),
                       np.asarray(diverged, dtype=bool), best, edge)
        self.title = title
        self.note = ""
        self._redraw()

    def _rasterise(self) -> None:
        begun = self._begin(self.points is not None, 8, 3)
        if begun is None:
            return
        canvas, mono, cols, rows = begun
        width = self.size.width
        lrs, values, diverged, best, edge = self.points
        ok = np.isfinite(values) & ~diverged & (values > 0)
        xs = Scale(float(lrs[0]), float(lrs[-1]), 2 * (LABEL_WIDTH + 1), 2 * cols - 1, log=True)
        if ok.any():
            y_high = float(values[ok].max())
            y_low = max(float(values[ok].min()), y_high * LOG_DEPTH)
        else:
            y_low, y_high = 1e-3, 1.0
        # rows 2..rows hold the curve (row 1 is kept for ✕): pixels 8 .. 4 * (rows + 1) - 1
        ys = Scale(y_low, y_high, 4 * 2, 4 * rows - 5, log=True, flip=True)
        canvas.clip = (2 * (LABEL_WIDTH + 1), 2 * width, 4, 4 * (rows + 1))
        style = palette.run_style(0, mono)
        if ok.any():
            canvas.line(xs(lrs[ok]), ys(np.maximum(values[ok], y_low)), style)
        if edge is not None and lrs[0] <= edge <= lrs[-1]:
            col = int(xs(np.array([edge]))[0]) // 2
            for row in range(2, rows + 1):
                canvas.text(row, col, EDGE_MARK, Style(bold=True, dim=mono))
            label = "theory's edge"  # beside the line, on the side with room (beyond it, usually)
            where = col + 1 if col + 1 + len(label) <= width else max(LABEL_WIDTH + 1, col - len(label))
            canvas.text(2, where, label, Style(bold=True))
            self.marks["edge"] = (2, col)
        cross = palette.run_style(1, mono, bold=True)
        for x in xs(lrs[diverged]):
            canvas.text(1, int(x) // 2, DIVERGED_MARK, cross)
        if diverged.any():
            self.marks["diverged"] = (1, int(xs(lrs[diverged][:1])[0]) // 2)
        if best is not None and ok[best]:
            row = int(ys(np.array([max(values[best], y_low)]))[0]) // 4
            col = int(xs(lrs[best:best + 1])[0]) // 2
            canvas.text(row, col, BEST_MARK, Style(bold=True))
            self.marks["best"] = (row, col)
        self._axes(canvas, xs, ys, cols, rows)
        self._finish(canvas)

    def _axes(self, canvas: Canvas, xs: Scale, ys: Scale, cols: int, rows: int) -> None:
        dim = Style(dim=True)
        canvas.text(2, 0, tick(ys.label_high()).rjust(LABEL_WIDTH), dim)
        canvas.text(rows, 0, tick(ys.label_low()).rjust(LABEL_WIDTH), dim)
        if rows >= 6:
            canvas.text(1 + rows // 2, 0, tick(10 ** ((ys.low + ys.high) / 2)).rjust(LABEL_WIDTH), dim)
        canvas.text(1, 0, "div.".rjust(LABEL_WIDTH), dim)
        for row in range(1, rows + 1):
            canvas.text(row, LABEL_WIDTH, "│", dim)
        bottom = rows + 1
        left, right = tick(xs.label_low(), 8), tick(xs.label_high(), 9)
        canvas.text(bottom, LABEL_WIDTH, "└" + left, dim)
        label = "learning rate (log)"
        if cols > len(left) + len(right) + len(label) + 2:
            canvas.text(bottom, LABEL_WIDTH + 1 + (cols - len(label)) // 2, label, dim)
        canvas.text(bottom, LABEL_WIDTH + 1 + cols - len(right), right, dim)

    def _finish(self, canvas: Canvas) -> None:
        self._strips = canvas.strips(self._base())
        self.draws += 1
