"""SweepHeat: a sweep's final loss over lr (across) and momentum (up) as coloured cells, with the
diverged cells crossed, the best cell marked and, on a quadratic, theory drawn on the same map:
the edge lr = 2(1 + β)/λmax in each row and Goh's optimum (α*, β*) — Distill's picture."""

from __future__ import annotations

import math

import numpy as np
from rich.style import Style

from gdsim.app.draw import palette
from gdsim.app.draw.axes import tick
from gdsim.app.draw.canvas import Canvas
from gdsim.app.widgets.sweep_plot import LABEL_WIDTH, SweepPlot

DIVERGED_MARK = "✕"
BEST_MARK = "●"
OPTIMUM_MARK = "◆"
EDGE_MARK = "│"
UNKNOWN_MARK = "?"


class SweepHeat(SweepPlot):
    """Drawn from `show(...)`; each screen cell shows the nearest grid point."""

    def __init__(self, *, id: str | None = None, classes: str | None = None):
        super().__init__("final loss over learning rate and momentum", id=id, classes=classes)
        self.grid: tuple | None = None

    def show(self, lrs: np.ndarray, momenta: np.ndarray, values: np.ndarray, diverged: np.ndarray,
             best: tuple[int, int] | None, optimum: tuple[float, float] | None, edges: np.ndarray | None,
             title: str, y_name: str) -> None:
        """values, diverged: (len(lrs), len(momenta)); edges: theory's edge lr per momentum or None."""
        self.grid = (np.asarray(lrs), np.asarray(momenta), np.asarray(values, dtype=np.float64),
                     np.asarray(diverged, dtype=bool), best, optimum, edges, y_name)
        self.title = title
        self.note = ""
        self._redraw()

    def _rasterise(self) -> None:
        begun = self._begin(self.grid is not None, 4, 2)
        if begun is None:
            return
        canvas, mono, cols, rows = begun
        lrs, momenta, values, diverged, best, optimum, edges, y_name = self.grid
        nx, ny = len(lrs), len(momenta)
        # at most four cells across and two down a grid point (a cell is about twice as tall as wide)
        cols, rows = min(cols, 4 * nx), min(rows, 2 * ny)
        gx = np.minimum((np.arange(cols) * nx) // cols, nx - 1)  # screen column -> grid index
        gy = np.minimum(((rows - 1 - np.arange(rows)) * ny) // rows, ny - 1)  # screen row -> grid index (up)
        ramp = palette.SURFACE_RAMP
        levels = _levels(values, diverged, len(ramp))[np.ix_(gx, gy)].T  # (rows, cols)
        crossed = diverged[np.ix_(gx, gy)].T
        unknown = (levels < 0) & ~crossed  # no finite value (never diverged): drawn as "?"
        if mono:
            shades = palette.MONO_SHADES
            chars = np.array([ord(shades[min(len(shades) - 1, max(0, lv * len(shades) // len(ramp)))])
                              for lv in levels.ravel()], dtype=np.uint32).reshape(levels.shape)
            chars = np.where(crossed, ord(DIVERGED_MARK), np.where(unknown, ord(UNKNOWN_MARK), chars))
            canvas.ground(1, LABEL_WIDTH + 1, chars, np.zeros(chars.shape, dtype=np.int32), [Style()])
        else:
            styles = [Style(bgcolor=c) for c in ramp] + [Style(color="grey50")]
            looks = np.where(crossed | unknown, len(ramp), np.maximum(levels, 0))
            chars = np.where(crossed, ord(DIVERGED_MARK), np.where(unknown, ord(UNKNOWN_MARK), ord(" ")))
            canvas.ground(1, LABEL_WIDTH + 1, chars.astype(np.uint32), looks.astype(np.int32), styles)
        mark = Style(bold=True, color=None if mono else "white")
        if edges is not None:
            for r in range(rows):
                beyond = np.flatnonzero(lrs[gx] >= edges[gy[r]])
                if len(beyond):
                    canvas.text(1 + r, LABEL_WIDTH + 1 + int(beyond[0]), EDGE_MARK, mark)
        if optimum is not None:
            cell = _cell(lrs, momenta, gx, gy, optimum[0], optimum[1], log_x=True)
            if cell is not None:
                canvas.text(1 + cell[0], LABEL_WIDTH + 1 + cell[1], OPTIMUM_MARK, mark)
                self.marks["optimum"] = cell
        if best is not None:
            cell = _cell(lrs, momenta, gx, gy, lrs[best[0]], momenta[best[1]], log_x=True)
            if cell is not None:
                canvas.text(1 + cell[0], LABEL_WIDTH + 1 + cell[1], BEST_MARK, mark)
                self.marks["best"] = cell
        dim = Style(dim=True)
        canvas.text(1, 0, tick(float(momenta[-1])).rjust(LABEL_WIDTH), dim)
        canvas.text(rows, 0, tick(float(momenta[0])).rjust(LABEL_WIDTH), dim)
        if rows >= 5:
            canvas.text(1 + rows // 2, 0, y_name.rjust(LABEL_WIDTH), dim)
        left, right = tick(float(lrs[0]), 8), tick(float(lrs[-1]), 9)
        canvas.text(rows + 1, LABEL_WIDTH, "└" + left, dim)
        label = "learning rate (log)"
        if cols > len(left) + len(right) + len(label) + 2:
            canvas.text(rows + 1, LABEL_WIDTH + 1 + (cols - len(label)) // 2, label, dim)
        canvas.text(rows + 1, LABEL_WIDTH + 1 + cols - len(right), right, dim)
        self._finish(canvas)

    def _finish(self, canvas: Canvas) -> None:
        self._strips = canvas.strips(self._base())
        self.draws += 1


def _levels(values: np.ndarray, diverged: np.ndarray, n: int) -> np.ndarray:
    """Ramp index per grid point: log10 of the loss from the lowest (0) to the highest (n - 1); -1
    where there is no finite value (diverged runs are drawn crossed instead)."""
    ok = np.isfinite(values) & ~diverged
    levels = np.full(values.shape, -1, dtype=np.int64)
    if not ok.any():
        return levels
    scaled = np.log10(np.maximum(values, 1e-300)) if np.all(values[ok] > 0) else values
    low, high = float(scaled[ok].min()), float(scaled[ok].max())
    span = (high - low) or 1.0
    levels[ok] = np.clip(((scaled[ok] - low) / span * n).astype(np.int64), 0, n - 1)
    return levels


def _cell(lrs, momenta, gx, gy, lr: float, momentum: float, log_x: bool) -> tuple[int, int] | None:
    """The screen cell (row, col) nearest to a point of the plane, or None outside the grid."""
    if not (lrs[0] <= lr <= lrs[-1] and momenta[0] <= momentum <= momenta[-1]):
        return None
    xs = np.log(lrs[gx]) if log_x else lrs[gx]
    col = int(np.argmin(np.abs(xs - (math.log(lr) if log_x else lr))))
    row = int(np.argmin(np.abs(momenta[gy] - momentum)))
    return row, col
