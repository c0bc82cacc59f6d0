"""SurfaceMap: a shaded height map of a 2-D surface with each run's path and the known minima,
or, for a 2-input classifier, its decision map with the training (and held-out) points.

Paths are braille lines over the half-block shading: a cell holds 2x4 dots, so a zig-zag in a
valley one cell wide still reads as a zig-zag at 80x24 (one mark per cell turned it into a
smear), and segments join consecutive recorded points, so no step is missing however far it
jumps. Surfaces are drawn with equal aspect (see map_view.py).
"""

from __future__ import annotations

import numpy as np
from rich.style import Style

from gdsim.app.draw import map_marks as marks
from gdsim.app.draw import palette
from gdsim.app.draw.canvas import Canvas
from gdsim.app.draw.landscape_draw import mono_fill, shade
from gdsim.app.draw.map_view import DENSITY_GLYPHS, MapFrame, around, arrow_head, density_glyphs, readable_aspect
from gdsim.app.draw.series import thin
from gdsim.app.runtime.session import Session
from gdsim.app.text import short
from gdsim.app.widgets.raster import RasterWidget

LABEL_WIDTH = 6
ARROW_SHARE = 0.3  # the longer arrow spans this share of the map's smaller side
NEAR_MINIMUM = 0.01  # a seed within this share of the view's diagonal counts as at a minimum


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
        self._scale = (0.0, 1.0)
        self.frame: MapFrame | None = None  # the last frame's data-to-screen mapping (tests read it)
        self.canvas: Canvas | None = None  # the last frame's canvas (tests read it)
        self.options = marks.MapOptions()  # the screen hands its own (shared by its maps)

    def show(self, session: Session, options: marks.MapOptions | None = None) -> None:
        self.session = session
        if options is not None:
            self.options = options
        self._redraw()

    def _rasterise(self) -> None:
        width, height = self.size.width, self.size.height
        canvas = Canvas(width, height)
        session = self.session
        legend_rows = 1 if height >= 9 else 0
        cols, rows = width - LABEL_WIDTH, height - 2 - legend_rows
        kind = map_kind(session) if session else None
        if session is None or kind is None or cols < 4 or rows < 2:
            if session is not None and kind is None:
                canvas.text(0, 0, "no map: this problem has more than two parameters", Style(dim=True))
            self._strips = canvas.strips(self._base())
            return
        self.options.notes = []
        mono = bool(getattr(self.app, "mono", False))
        run = session.current
        cohort, index = session.cohort_of(int(run.rows[0]))
        problem = cohort.problem
        canvas.clip = (2 * LABEL_WIDTH, 2 * width, 4, 4 * (rows + 1))
        if kind == "surface":
            self._surface(canvas, session, problem, cols, rows, mono)
        else:
            self._decision(canvas, session, cohort, index, cols, rows, mono)
        marks.axis_ticks(canvas, self.frame, LABEL_WIDTH, 1)
        self.canvas = canvas
        self._strips = canvas.strips(self._base())
        self.draws += 1

    # -- surfaces ------------------------------------------------------------------------------
    def _surface(self, canvas: Canvas, session: Session, problem, cols: int, rows: int, mono: bool) -> None:
        runs = [r for r in session.display if same_picture(session.cohort_of(int(r.rows[0]))[0].problem, problem)]
        box = problem.view
        if not self.options.whole:
            box = fit_box(self._run_points(session, runs), _named_minima(problem), problem.view)
        view, across, up = readable_aspect(box, cols, rows)
        frame = self.frame = MapFrame(view, cols, rows)
        stretched = ""
        if across > 1 or up > 1:  # equal aspect would leave a thin strip: say the picture is not to scale
            stretched = f"{'x' if across > 1 else 'y'} ×{max(across, up):.1f}: not to scale"
            self.options.notes.append(stretched)
        levels = self._surface_levels(problem, frame)
        ramp = palette.SURFACE_RAMP
        backs = shade(canvas, levels, 1, LABEL_WIDTH, mono, ramp)
        title = f"{problem.title or 'surface'}: {problem.formula}" + (" (whole: z)" if self.options.whole else "")
        if stretched and canvas.rows < 9:  # no legend line: the title says it, first
            title = f"({stretched}) {title}"
        start = marks.colour_scale(canvas, 0, canvas.cols, *self._scale, ramp, mono) if canvas.cols >= 60 else canvas.cols
        canvas.text(0, 0, short(title, max(8, start - 1)), Style(bold=True))
        taken: set[tuple[int, int]] = set()  # cells holding a marker: no run letter goes there
        kinds = set()
        minima = list(getattr(problem, "minima", ()))
        for minimum in minima:
            cell = frame.cell(minimum.point)
            if cell is not None:
                kinds.add(minimum.kind)
                self._mark(canvas, cell, marks.MINIMUM_MARKS.get(minimum.kind, "◇"), "#ffffff", backs, ramp, mono)
                taken.add(cell)
        heads = []
        self._counts: list = []  # ensemble counts with no room beside their minimum
        # the selected run's path last, on top: a diverging run's zig-zag or a 0.99 spiral no longer
        # buries the path the learner picked (learning-rate's 'just right' under 'far too large')
        for run in sorted(runs, key=lambda r: r is session.current):
            if run.ensemble:
                densest = self._density(canvas, session, problem, run, frame, minima, backs, ramp, mono, taken)
                if mono and densest is not None:  # clouds look alike in monochrome: each carries its letter
                    heads.append((run, densest, None))
                continue
            path = self._path(session, int(run.rows[0]))
            if len(path) == 0:
                continue
            px, py = frame.pixels(path)
            style = palette.run_style(run.colour, mono)
            canvas.line(px + 2 * LABEL_WIDTH, py + 4, style)
            start_cell = frame.cell(path[0])
            if start_cell is not None and start_cell not in taken:
                self._mark(canvas, start_cell, marks.START_MARK, palette.RUN_COLOURS[run.colour % 8], backs, ramp, mono)
                taken.add(start_cell)
            if mono:  # one colour for every path: its run's letter (lower case) along it tells them apart
                self._path_letters(canvas, frame, path, run.letter.lower(), taken)
            heads.append((run, frame.cell(path[-1], clamp=True), path[-1]))
        heads.sort(key=lambda head: runs.index(head[0]))  # letters placed in the runs' order, as before
        if self.options.arrows:
            self._arrows(canvas, session, frame, taken)
        for run, cell, _ in heads:  # last, so no path hides where a run is; never over a marker
            cell = _free_cell(cell, taken, frame)
            taken.add(cell)
            canvas.text(cell[1] + 1, cell[0] + LABEL_WIDTH, run.letter, marks.head_style(run.colour, mono))
        if canvas.rows >= 9:
            legend_runs = [(r.letter, r.label, r.colour, r.ensemble) for r in runs]
            pieces = marks.surface_legend(kinds, legend_runs, self.options.arrows, mono, canvas.cols,
                                          stretched=stretched)
            marks.legend(canvas, canvas.rows - 1, self._counts + pieces)
        elif self._counts:
            self.options.notes.append("counts: " + "".join(text for text, _ in self._counts).strip())

    @staticmethod
    def _path_letters(canvas: Canvas, frame: MapFrame, path: np.ndarray, letter: str, taken: set) -> None:
        """In monochrome, `letter` on a few cells along the path (every 8 cells it crosses, at most
        about four), on cells no marker, letter or count holds."""
        col, row = frame.cells(path)
        seen, last = [], None
        for c, r in zip(col.tolist(), row.tolist()):
            if 0 <= c < frame.cols and 0 <= r < frame.rows and (c, r) != last:
                seen.append((c, r))
                last = (c, r)
        if len(seen) < 3:
            return
        for k in range(1, len(seen) - 1, max(8, len(seen) // 4)):
            cell = seen[k]
            if cell in taken:
                continue
            canvas.text(cell[1] + 1, cell[0] + LABEL_WIDTH, letter, Style(bold=True))
            taken.add(cell)

    def _path(self, session: Session, row: int) -> np.ndarray:
        """The run's recorded points up to the shown step (finite ones), at most a few per pixel."""
        history = session.sim.history
        if history is None or "params" not in history.fields:
            return np.zeros((0, 2))
        steps, params = history.series("params")
        upto = int(np.searchsorted(steps, session.shown_step, side="right"))
        path = params[:upto, row]
        path = path[np.isfinite(path).all(axis=1)]
        return path[thin(len(path), 4096)]

    def _run_points(self, session: Session, runs) -> np.ndarray:
        """Every point the map draws for the runs: single runs' paths (start and recorded points),
        ensembles' seeds where they are at the shown step (only those are drawn)."""
        parts = []
        now = _params_now(session)
        for run in runs:
            if run.ensemble:
                if now is not None:
                    parts.append(np.asarray(now)[run.rows])
            else:
                parts.append(self._path(session, int(run.rows[0])))
        return np.concatenate(parts) if parts else np.zeros((0, 2))

    def _surface_levels(self, problem, frame: MapFrame) -> np.ndarray:
        key = (id(problem), frame.cols, frame.rows, frame.view)
        if key != self._background_key or self._levels is None:
            _, _, z = problem.grid(frame.cols, 2 * frame.rows, frame.sample_box(2))
            self._levels, self._scale = _height_levels(z[::-1], len(palette.SURFACE_RAMP))
            self._background_key = key
        return self._levels

    def _mark(self, canvas: Canvas, cell, text: str, colour: str, backs, ramp, mono: bool) -> None:
        col, row = cell
        back = None if backs is None else ramp[int(backs[row, col])]
        style = Style(bold=True) if mono or back is None else palette.over(colour, back, True)
        canvas.text(row + 1, col + LABEL_WIDTH, text, style)

    def _density(self, canvas, session, problem, run, frame: MapFrame, minima, backs, ramp, mono, taken) -> None:
        """An ensemble's current points as counts per cell, shaded; the count at each minimum beside
        it. Returns the (col, row) cell holding most of its points (None: none on the map)."""
        points = _params_now(session)
        if points is None:
            return None
        points = np.asarray(points)[run.rows]
        points = points[np.isfinite(points).all(axis=1)]
        col, row = frame.cells(points)
        inside = (col >= 0) & (col < frame.cols) & (row >= 0) & (row < frame.rows)
        counts = np.zeros((frame.rows, frame.cols), dtype=np.int64)
        np.add.at(counts, (row[inside], col[inside]), 1)
        cells = np.argwhere(counts > 0)
        densest = None if not len(cells) else tuple(int(v) for v in cells[int(np.argmax(counts[counts > 0]))][::-1])
        glyphs = density_glyphs(counts[counts > 0])
        colour = palette.RUN_COLOURS[run.colour % len(palette.RUN_COLOURS)]
        for (r, c), g in zip(cells.tolist(), glyphs.tolist()):
            if (c, r) not in taken:
                self._mark(canvas, (c, r), DENSITY_GLYPHS[g], colour, backs, ramp, mono)
        if not minima or len(points) == 0 or run is not _counted(session):
            return densest
        view = problem.view
        near = NEAR_MINIMUM * float(np.hypot(view[1] - view[0], view[3] - view[2]))
        nearest, distance = problem.nearest_minimum(points)
        for i, minimum in enumerate(minima):
            cell = frame.cell(minimum.point)
            n = int(np.sum((nearest == i) & (distance <= near)))
            label = f"{n}/{len(points)}"
            place = None if cell is None else label_place(cell, len(label), taken, frame.cols, frame.rows)
            if place is None:  # no free room beside the marker: the count goes to the legend line
                mark = marks.MINIMUM_MARKS.get(minimum.kind, "◇")
                self._counts.append((f"{mark} {label} ", marks.head_style(run.colour, mono)))
                continue
            col, row = place
            canvas.text(row + 1, col + LABEL_WIDTH, label, marks.head_style(run.colour, mono))
            taken.update((col + k, row) for k in range(len(label)))
        return densest

    def _arrows(self, canvas: Canvas, session: Session, frame: MapFrame, taken: set) -> None:
        """The selected run's −gradient and velocity at the shown step, from its current point."""
        run = session.current
        if run.ensemble:
            self.options.notes.append("arrows: select a single run, not an ensemble")
            return
        row = int(run.rows[0])
        point, grad, velocity = _state_at(session, row)
        if point is None or grad is None:
            return
        mono = bool(getattr(self.app, "mono", False))
        px, py = frame.pixels(point)
        vectors = [(-grad, marks.GRADIENT_COLOUR)]
        if velocity is not None and np.isfinite(velocity).all():
            vectors.append((velocity, marks.VELOCITY_COLOUR))
        ends = [frame.pixels(point + v) for v, _ in vectors]
        lengths = [float(np.hypot(ex[0] - px[0], ey[0] - py[0])) for ex, ey in ends]
        longest = max(lengths)
        if not np.isfinite(longest) or longest == 0:
            return
        reach = ARROW_SHARE * min(2 * frame.cols, 4 * frame.rows) / longest
        for (vector, colour), (ex, ey), length in zip(vectors, ends, lengths):
            if length * reach < 1:
                continue
            dx, dy = (ex[0] - px[0]) * reach, (ey[0] - py[0]) * reach
            style = Style(bold=True) if mono else Style(color=colour, bold=True)
            xs = np.array([px[0], px[0] + dx]) + 2 * LABEL_WIDTH
            ys = np.array([py[0], py[0] + dy]) + 4
            canvas.line(xs, ys, style)
            col, row_ = int((xs[1] + 0.5) // 2), int((ys[1] + 0.5) // 4)  # the cell frame.cell() gives
            cell = (col - LABEL_WIDTH, row_ - 1)
            if LABEL_WIDTH <= col < canvas.cols and 1 <= row_ <= frame.rows and cell not in taken:
                canvas.text(row_, col, arrow_head(dx, dy), style)  # never over a marker

    # -- decision maps ---------------------------------------------------------------------------
    def _decision(self, canvas: Canvas, session: Session, cohort, index: int, cols: int, rows: int, mono: bool) -> None:
        problem = cohort.problem
        xs, ys, probs = cohort.decision_grid(slice(index, index + 1), 48)  # batch norm: eval mode
        frame = self.frame = MapFrame((xs[0], xs[-1], ys[0], ys[-1]), cols, rows)
        levels, ramp = _decision_levels(probs[0], cols, rows, problem)
        backs = shade(canvas, levels, 1, LABEL_WIDTH, mono, ramp)
        canvas.text(0, 0, short(f"decision map of {session.current.label}", canvas.cols), Style(bold=True))
        x, y = problem.points
        self._points(canvas, frame, x, y, backs, ramp, mono, held=False)
        held = self.options.held_out
        if held:
            hx, hy = problem.split_points(held)
            if len(hx) == 0:
                self.options.notes.append(f"no {held} points in this scenario")
            self._points(canvas, frame, hx, hy, backs, ramp, mono, held=True)
        if canvas.rows >= 9:
            n = getattr(problem.data, "n_classes", 2)
            if n > 2:
                shades = [ramp[k % len(ramp)] for k in range(n)]
            else:
                shades = [ramp[0], ramp[-1]]
            names = getattr(problem, "class_names", ()) or tuple(f"class {k}" for k in range(n))
            pure = [k % len(ramp) for k in range(n)] if n > 2 else [0, len(ramp) - 1]
            fills = [mono_fill(level, len(ramp)) for level in pure]
            marks.legend(canvas, canvas.rows - 1, marks.decision_legend(names, shades, held, mono, fills))

    def _points(self, canvas: Canvas, frame: MapFrame, x, y, backs, ramp, mono: bool, held: bool) -> None:
        keep = thin(len(x), 400)
        col, row = frame.cells(np.asarray(x)[keep][:, :2])
        for c, r, label in zip(col.tolist(), row.tolist(), np.asarray(y)[keep].tolist()):
            if 0 <= c < frame.cols and 0 <= r < frame.rows:
                back = None if backs is None else ramp[int(backs[r, c])]
                canvas.text(r + 1, c + LABEL_WIDTH, marks.class_glyph(int(label)), marks.point_style(back, mono, held))


def same_picture(problem, other) -> bool:
    """Whether two runs' surfaces draw the same map: the same surface, parameters and view. Gradient
    noise changes the steps, not the surface (saddle-point's `noisy` run was left off its map)."""
    if problem is other:
        return True
    return (type(problem) is type(other) and getattr(problem, "formula", None) is not None
            and problem.formula == getattr(other, "formula", None)
            and getattr(problem, "params", None) == getattr(other, "params", None)
            and tuple(problem.view) == tuple(other.view))


def fit_box(points: np.ndarray, minima: np.ndarray, view) -> tuple[float, float, float, float]:
    """The map's default box: around where the runs have been (start points and recorded points)
    and the global minima, with a margin, cut to the surface's view box. A surface's view box is
    often ten times wider than the runs, which left their paths a few columns at 80x24. Points
    outside the view (a diverging run) do not count: its path runs off the box's edge."""
    xmin, xmax, ymin, ymax = (float(v) for v in view)
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    inside = points[(points[:, 0] >= xmin) & (points[:, 0] <= xmax) & (points[:, 1] >= ymin) & (points[:, 1] <= ymax)]
    chosen = np.concatenate([inside, np.asarray(minima, dtype=np.float64).reshape(-1, 2)])
    box = around(chosen, view)
    box = (max(box[0], xmin), min(box[1], xmax), max(box[2], ymin), min(box[3], ymax))
    if len(chosen) == 0 or box[0] >= box[1] or box[2] >= box[3]:
        return xmin, xmax, ymin, ymax
    return box


def _named_minima(problem) -> np.ndarray:
    """The global minima the lesson's runs are measured against (distance_to_global)."""
    points = [m.point for m in getattr(problem, "minima", ()) if m.kind == "global"]
    return np.asarray(points, dtype=np.float64).reshape(-1, 2)


def _params_now(session: Session) -> np.ndarray | None:
    """Every run's parameters (R, 2) at the shown step."""
    if session.cursor is None:
        return session.sim.params
    return session.values_at_cursor().get("params")


def _counted(session: Session):
    """The ensemble whose seeds are counted at the minima: the selected one, else the first."""
    current = session.current
    if current.ensemble:
        return current
    return next((run for run in session.display if run.ensemble), None)


def _state_at(session: Session, row: int):
    """(point, gradient, velocity) of run `row` at the shown step; None parts when unknown."""
    sim = session.sim
    if session.cursor is None:
        cohort, i = session.cohort_of(row)
        velocity = cohort.velocity()
        return cohort.params[i], cohort.grad[i], None if velocity is None else velocity[i]
    if sim.history is None or "grad" not in sim.history.fields:
        return None, None, None
    _, values = sim.history.at(session.cursor)
    velocity = values.get("velocity")
    v = None if velocity is None else velocity[row]
    return values["params"][row], values["grad"][row], v


def label_place(cell, length: int, taken: set, cols: int, rows: int) -> tuple[int, int] | None:
    """Where a `length`-cell label beside the marker at `cell` overlaps no marker, letter or other
    label: right of it, left, above, below (centred); None when none of the four is free."""
    col, row = cell
    above_below = col - (length - 1) // 2
    for c, r in ((col + 1, row), (col - length, row), (above_below, row - 1), (above_below, row + 1)):
        span = [(c + k, r) for k in range(length)]
        if c >= 0 and c + length <= cols and 0 <= r < rows and not any(p in taken for p in span):
            return c, r
    return None


def _free_cell(cell, taken: set, frame: MapFrame):
    """`cell`, or the nearest neighbour not taken by a marker (so a letter never hides one)."""
    col, row = cell
    for dc, dr in ((0, 0), (1, 0), (-1, 0), (0, -1), (0, 1), (2, 0), (-2, 0), (1, -1), (-1, 1)):
        c, r = col + dc, row + dr
        if 0 <= c < frame.cols and 0 <= r < frame.rows and (c, r) not in taken:
            return c, r
    return cell


def _height_levels(z: np.ndarray, n: int) -> tuple[np.ndarray, tuple[float, float]]:
    """Heights to n colour bands on a log-like scale, so valleys show detail (banding reads as
    contours); also the heights at the two ends of the scale."""
    finite = np.isfinite(z)
    if not finite.any():
        return np.zeros(z.shape, dtype=np.int64), (0.0, 1.0)
    low = float(z[finite].min())
    with np.errstate(all="ignore"):
        scaled = np.log1p(np.where(finite, z - low, np.nan))
    top = float(np.nanpercentile(scaled, 98)) or 1.0
    fraction = np.clip(np.nan_to_num(scaled / top, nan=1.0), 0.0, 1.0)
    return np.minimum((fraction * n).astype(np.int64), n - 1), (low, low + float(np.expm1(top)))


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
