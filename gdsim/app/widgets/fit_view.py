"""FitView: a regression with one input in data space: the selected run's training points and
every run's fitted line (or curve), in the data's own units, at the shown step (from the history's
parameters for linear models, from the checkpoints for networks).

The lines come from gdsim/engine/predictions.py (fitted_curve); this widget only draws them.
"""

from __future__ import annotations

import numpy as np
from rich.style import Style

from gdsim.app.draw import map_marks as marks
from gdsim.app.draw import palette
from gdsim.app.draw.canvas import Canvas
from gdsim.app.draw.map_view import MapFrame
from gdsim.app.draw.series import thin
from gdsim.app.runtime.data_views import rewound_cohort, selected_model
from gdsim.app.text import first_fit, short
from gdsim.app.widgets.session_view import SessionView
from gdsim.engine.predictions import fitted_curve

DIM, BOLD = Style(dim=True), Style(bold=True)
LABEL_WIDTH = 7


def fits_one_input(problem) -> bool:
    return getattr(problem, "task", None) == "regression" and getattr(problem, "n_inputs", 0) == 1


def run_params(session, run) -> np.ndarray:
    """The run's parameter row (its first seed for an ensemble) at the shown step: the history's
    record, else the run stepped again from the checkpoint before it, else the live one."""
    row = int(run.rows[0])
    cohort, index = session.cohort_of(row)
    if session.cursor is not None:
        params = session.values_at_cursor().get("params")
        if params is not None:
            return np.asarray(params[row], dtype=np.float64)
        rewound = rewound_cohort(session.sim, session.sim.cohorts.index(cohort), session.cursor)
        if rewound is not None:  # a network: from the checkpoint before the shown step
            return np.asarray(rewound.params[index], dtype=np.float64)
    return np.asarray(cohort.params[index], dtype=np.float64)


class FitView(SessionView):
    """Redrawn from the Session at the screen's rate (show)."""

    def __init__(self, *, id: str | None = None, classes: str | None = None):
        super().__init__(id=id, classes=classes)
        self.lines: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # run letter -> (xs, ys) drawn (tests read it)
        self.frame: MapFrame | None = None

    def _rasterise(self) -> None:
        width, height = self.size.width, self.size.height
        canvas = Canvas(width, height)
        session = self.session
        self.lines = {}
        cols, rows = width - LABEL_WIDTH, height - 3
        if session is None or cols < 8 or rows < 3:
            self._strips = canvas.strips(self._base())
            return
        model = selected_model(session)
        problem = model.problem
        if not fits_one_input(problem):
            canvas.text(0, 0, short(f"run {model.letter} is not a regression with one input", width), DIM)
            self._strips = canvas.strips(self._base())
            return
        mono = bool(getattr(self.app, "mono", False)) if self.is_attached else False
        rows_train = problem.split_rows["train"]
        x, y = problem.data.x[rows_train, 0], problem.data.y[rows_train]
        frame = self.frame = MapFrame(_box(x, y), cols, rows)
        canvas.clip = (2 * LABEL_WIDTH, 2 * width, 4, 4 * (rows + 1))
        keep = thin(len(x), 2000)
        px, py = frame.pixels(np.column_stack([x[keep], y[keep]]))
        canvas.dots(px + 2 * LABEL_WIDTH, py + 4, Style(bold=True) if mono else Style(color="#c8c8c8"))
        drawn = []
        current = session.current  # drawn last, on top: two fits that coincide still show the selected one
        for run in [r for r in session.display if r is not current] + [current]:
            cohort, _ = session.cohort_of(int(run.rows[0]))
            if not fits_one_input(cohort.problem):
                continue
            curve = fitted_curve(cohort.problem, run_params(session, run)[None, :], points=2 * cols)
            xs, ys = curve[0], curve[1][0]
            finite = np.isfinite(ys)
            self.lines[run.letter] = (xs, ys)
            if finite.sum() < 2:
                continue
            lx, ly = frame.pixels(np.column_stack([xs[finite], ys[finite]]))
            bold = run is session.current
            canvas.line(lx + 2 * LABEL_WIDTH, ly + 4, palette.run_style(run.colour, mono, bold))
            drawn.append(run)
        if mono and len(drawn) > 1:
            _name_line_ends(canvas, self.lines, drawn, frame, rows, width)
        marks.axis_ticks(canvas, frame, LABEL_WIDTH, 1)
        step = "" if session.cursor is None else f" at step {session.shown_step}"
        titles = [f"training points of run {model.letter} (x across, y up) and every run's fit{step}",
                  f"training points of run {model.letter} and every run's fit{step}",
                  f"points of {model.letter}, every run's fit{step}"]
        canvas.text(0, 0, first_fit(titles, width), BOLD)
        pieces = [("· points  ", DIM)]
        for run in sorted(drawn, key=lambda r: r.colour):
            pieces.append((run.letter, marks.head_style(run.colour, mono)))
            pieces.append((f" {short(run.label, 24)}  ", DIM))
        marks.legend(canvas, height - 1, pieces)
        self._strips = canvas.strips(self._base())
        self.draws += 1


def _name_line_ends(canvas: Canvas, lines: dict, drawn: list, frame: MapFrame, rows: int, width: int) -> None:
    """Monochrome: every fit is white, so each carries its run's letter (lower case, reverse
    video, as a curve plot's) at its right end; lines that end in one cell (mae-vs-mse's MAE fit
    under the clean one) put their letters side by side on that row ("cb"), never on another
    line's row. The MSE and MAE lines could not be told apart at any size."""
    taken: set[tuple[int, int]] = set()
    for run in sorted(drawn, key=lambda r: r.colour):
        xs, ys = lines[run.letter]
        finite = np.isfinite(ys)
        lx, ly = frame.pixels(np.column_stack([xs[finite], ys[finite]]))
        row = int(min(max(ly[-1] + 4, 4), 4 * rows + 3)) // 4
        col = min(int(lx[-1] + 2 * LABEL_WIDTH) // 2, width - 1)
        col = next((c for c in range(col, max(LABEL_WIDTH, col - 8), -1) if (row, c) not in taken), col)
        taken.add((row, col))
        canvas.text(row, col, run.letter.lower(), Style(bold=True, reverse=True))


def _box(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float, float]:
    """The points' box, padded 5% (a flat direction gets a unit span)."""
    box = []
    for values in (x, y):
        low, high = float(np.min(values)), float(np.max(values))
        pad = 0.05 * (high - low) if high > low else 0.5
        box += [low - pad, high + pad]
    return tuple(box)
