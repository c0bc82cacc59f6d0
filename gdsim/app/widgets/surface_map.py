"""SurfaceMap: a shaded height map of a 2-D surface with each run's path and the known minima,
or, for a 2-input classifier, its decision map with the training points."""

from __future__ import annotations

import numpy as np
from rich.style import Style

from gdsim.app.draw import palette
from gdsim.app.draw.axes import tick
from gdsim.app.draw.canvas import Canvas, interpolate
from gdsim.app.draw.series import thin
from gdsim.app.runtime.session import Session
from gdsim.app.text import short
from gdsim.app.widgets.raster import RasterWidget

LABEL_WIDTH = 6
MINIMUM_MARKS = {"global": "◆", "local": "◇", "saddle": "×"}


def map_kind(session: Session) -> str | None:
    """"surface" for 2-D surfaces, "decision" for 2-input classifiers, None when there is no map."""
    problem = session.sim.cohorts[0].problem
    if hasattr(problem, "grid") and getattr(problem, "n_params", 0) == 2:
        return "surface"
    if getattr(problem, "task", "regression") != "regression" and getattr(problem, "n_inputs", 0) == 2:
        return "decision"
    return None


class SurfaceMap(RasterWidget):
    """The map of the selected run's problem, redrawn from the Session at the screen's rate."""

    def __init__(self, session: Session | None = None, *, id: str | None = None, classes: str | None = None):
        super().__init__(id=id, classes=classes)
        self.session = session
        self._background_key: tuple | None = None
        self._levels: np.ndarray | None = None

    def show(self, session: Session) -> None:
        self.session = session
        self._redraw()

    def _rasterise(self) -> None:
        width, height = self.size.width, self.size.height
        canvas = Canvas(width, height)
        session = self.session
        cols, rows = width - LABEL_WIDTH, height - 2
        kind = map_kind(session) if session else None
        if session is None or kind is None or cols < 4 or rows < 2:
            if session is not None and kind is None:
                canvas.text(0, 0, "no map: this problem has more than two parameters", Style(dim=True))
            self._strips = canvas.strips()
            return
        mono = bool(getattr(self.app, "mono", False))
        run = session.current
        cohort, index = session.cohort_of(int(run.rows[0]))
        problem = cohort.problem
        if kind == "surface":
            view = problem.view
            title = f"{problem.title or 'surface'}: {problem.formula}"
            levels = self._surface_levels(problem, cols, rows)
            ramp = palette.SURFACE_RAMP
        else:
            xs, ys, probs = problem.decision_grid(cohort.params[index : index + 1], 48)
            view = (xs[0], xs[-1], ys[0], ys[-1])
            title = f"decision map of {run.label}"
            levels, ramp = _decision_levels(probs[0], cols, rows, problem)
        canvas.text(0, 0, short(title, width), Style(bold=True))
        colours = self._background(canvas, levels, ramp, cols, rows, mono)
        to_cell = _CellMap(view, cols, rows)
        if kind == "surface":
            for minimum in getattr(problem, "minima", ()):  # first: a run sitting on a minimum hides it
                col, row = to_cell.one(minimum.point)
                if col is not None:
                    mark = MINIMUM_MARKS.get(minimum.kind, "◇")
                    canvas.text(row + 1, col + LABEL_WIDTH, mark, _over(colours, row, col, "#ffffff", mono, True))
            self._paths(canvas, session, problem, to_cell, colours, mono)
        else:
            self._points(canvas, problem, to_cell, colours, mono)
        dim = Style(dim=True)
        canvas.text(1, 0, tick(view[3], LABEL_WIDTH - 1).rjust(LABEL_WIDTH - 1), dim)
        canvas.text(rows, 0, tick(view[2], LABEL_WIDTH - 1).rjust(LABEL_WIDTH - 1), dim)
        right = tick(view[1], 8)
        canvas.text(rows + 1, LABEL_WIDTH, tick(view[0], 8), dim)
        canvas.text(rows + 1, width - len(right), right, dim)
        self._strips = canvas.strips()
        self.draws += 1

    # -- layers --------------------------------------------------------------------------------
    def _surface_levels(self, problem, cols: int, rows: int) -> np.ndarray:
        key = (id(problem), cols, rows)
        if key != self._background_key or self._levels is None:
            _, _, z = problem.grid(cols, 2 * rows)
            self._levels = _height_levels(z[::-1], len(palette.SURFACE_RAMP))
            self._background_key = key
        return self._levels

    def _background(self, canvas: Canvas, levels: np.ndarray, ramp, cols: int, rows: int, mono: bool) -> np.ndarray:
        """Paint half-block cells (two heights per cell); returns each cell's colour for overlays."""
        top, bottom = levels[0::2][:rows], levels[1::2][:rows]
        for row in range(rows):
            for col in range(cols):
                t, b = int(top[row, col]), int(bottom[row, col])
                if mono:
                    shade = palette.MONO_SHADES[min(len(palette.MONO_SHADES) - 1, (t + b) * len(palette.MONO_SHADES) // (2 * len(ramp)))]
                    canvas.chars[(row + 1, col + LABEL_WIDTH)] = (shade, Style(dim=True))
                else:
                    canvas.chars[(row + 1, col + LABEL_WIDTH)] = ("▀", palette.half_block(ramp[t], ramp[b]))
        return np.vectorize(lambda t: ramp[int(t)], otypes=[object])(bottom) if not mono else np.full((rows, cols), None)

    def _paths(self, canvas: Canvas, session: Session, problem, to_cell, colours, mono: bool) -> None:
        history = session.sim.history
        shown = session.shown_step
        heads = []
        for run in session.display:
            cohort, index = session.cohort_of(int(run.rows[0]))
            if cohort.problem is not problem:
                continue
            if run.ensemble:
                points = session.values_at_cursor().get("params")
                if points is None:
                    continue
                for point in np.asarray(points)[run.rows]:
                    col, row = to_cell.one(point)
                    if col is not None:
                        canvas.text(row + 1, col + LABEL_WIDTH, "•", _over(colours, row, col, palette.RUN_COLOURS[run.colour % 8], mono))
                continue
            if history is None or "params" not in history.fields:
                continue
            steps, params = history.series("params")
            upto = int(np.searchsorted(steps, shown, side="right"))
            path = params[:upto, int(run.rows[0])]
            path = path[np.isfinite(path).all(axis=1)]
            if len(path) == 0:
                continue
            path = path[thin(len(path), 8 * to_cell.cols)]
            cx, cy = to_cell.many(path)
            if len(cx) > 1:
                cx, cy = interpolate(cx, cy)
            cells = {(int(round(r)), int(round(c))) for c, r in zip(cx, cy)}
            colour = palette.RUN_COLOURS[run.colour % len(palette.RUN_COLOURS)]
            for row, col in cells:
                if 0 <= row < to_cell.rows and 0 <= col < to_cell.cols:
                    canvas.text(row + 1, col + LABEL_WIDTH, "·", _over(colours, row, col, colour, mono, True))
            col, row = to_cell.one(path[-1], clamp=True)
            head = Style(reverse=True, bold=True) if mono else Style(color="#000000", bgcolor=colour, bold=True)
            heads.append((row + 1, col + LABEL_WIDTH, run.letter, head))
        for row, col, letter, head in heads:  # last, so no other run's path hides a run's position
            canvas.text(row, col, letter, head)

    def _points(self, canvas: Canvas, problem, to_cell, colours, mono: bool) -> None:
        x, y = problem.points
        keep = thin(len(x), 400)
        for point, label in zip(x[keep], y[keep]):
            col, row = to_cell.one(point[:2])
            if col is not None:
                mark = "o" if int(label) == 0 else ("x" if int(label) == 1 else str(int(label) % 10))
                canvas.text(row + 1, col + LABEL_WIDTH, mark, _over(colours, row, col, "#ffffff", mono, True))


def _over(colours: np.ndarray, row: int, col: int, colour: str, mono: bool, bold: bool = False) -> Style:
    if mono or colours[row, col] is None:
        return Style(bold=True)
    return palette.over(colour, colours[row, col], bold)


def _height_levels(z: np.ndarray, n: int) -> np.ndarray:
    """Heights to n colour bands on a log-like scale, so valleys show detail; banding reads as contours."""
    finite = np.isfinite(z)
    if not finite.any():
        return np.zeros(z.shape, dtype=np.int64)
    low = float(z[finite].min())
    with np.errstate(all="ignore"):
        scaled = np.log1p(np.where(finite, z - low, np.nan))
    top = float(np.nanpercentile(scaled, 98)) or 1.0
    fraction = np.clip(np.nan_to_num(scaled / top, nan=1.0), 0.0, 1.0)
    return np.minimum((fraction * n).astype(np.int64), n - 1)


def _decision_levels(probs: np.ndarray, cols: int, rows: int, problem):
    n = probs.shape[0]
    iy = np.linspace(n - 1, 0, 2 * rows).round().astype(np.int64)
    ix = np.linspace(0, n - 1, cols).round().astype(np.int64)
    grid = probs[np.ix_(iy, ix)]
    if getattr(problem.data, "n_classes", 2) > 2:
        ramp = palette.RUN_COLOURS
        return np.nan_to_num(grid).astype(np.int64) % len(ramp), ramp
    ramp = palette.CLASS_RAMP
    levels = np.clip((np.nan_to_num(grid, nan=0.5) * len(ramp)).astype(np.int64), 0, len(ramp) - 1)
    return levels, ramp


class _CellMap:
    """Data coordinates (x, y) to map cells (col, row), row 0 at the top (largest y)."""

    def __init__(self, view, cols: int, rows: int):
        self.xmin, self.xmax, self.ymin, self.ymax = (float(v) for v in view)
        self.cols, self.rows = cols, rows

    def many(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        col = (points[:, 0] - self.xmin) / (self.xmax - self.xmin) * (self.cols - 1)
        row = (self.ymax - points[:, 1]) / (self.ymax - self.ymin) * (self.rows - 1)
        return np.clip(col, -1, self.cols), np.clip(row, -1, self.rows)

    def one(self, point, clamp: bool = False) -> tuple[int | None, int | None]:
        col, row = self.many(np.asarray(point, dtype=np.float64).reshape(1, 2))
        c, r = int(round(float(col[0]))), int(round(float(row[0])))
        if clamp:
            return max(0, min(self.cols - 1, c)), max(0, min(self.rows - 1, r))
        if 0 <= c < self.cols and 0 <= r < self.rows:
            return c, r
        return None, None
