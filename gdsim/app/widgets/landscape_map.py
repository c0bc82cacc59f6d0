"""LandscapeMap: the loss landscape of the selected run, for problems a 2-D map cannot show.

Three kinds (gdsim.engine.landscape): the line from the run's start to its point, the plane of
its path's top two principal directions, a plane of two filter-normalized random directions.
The grid is computed on request, not every frame: when the Map tab shows it first, when the kind,
the run, the split or the seed changes, and on `R` (again, at the shown step). The path is taken
from the simulation on the UI thread (a copy) and the grid is computed in a thread worker, so
the screen never waits; between computations the run's path and point are projected on the
computed picture at every redraw (a few dot products), and the caption says at which step the
grid was computed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from rich.style import Style

from gdsim.app.draw import landscape_draw as draw
from gdsim.app.draw import map_marks as marks
from gdsim.app.draw import palette
from gdsim.app.draw.canvas import Canvas
from gdsim.app.draw.map_view import MapFrame
from gdsim.app.runtime.session import Session
from gdsim.app.text import short
from gdsim.app.widgets.raster import RasterWidget
from gdsim.engine import landscape, landscape_runs

LABEL_WIDTH = 7
KINDS = ("line", "pair", "pca", "random")  # pair: the line from the selected run to the next one


@dataclass
class LandscapeOptions:
    """What the Map tab's landscape shows; one per scenario screen (screens/map_actions.py)."""

    kind: str = ""  # "map" (the problem's own 2-D map), "line", "pca", "random"; "" = the first there is
    split: str = "train"  # "train" or "val"
    seed: int = 0  # the random directions' seed
    again: int = 0  # bumped by R: compute again at the shown step


def has_landscape(session: Session) -> bool:
    """Whether the problem gets landscapes: a model on a data set (every network, any size)."""
    return all(hasattr(c.problem, "network") for c in session.sim.cohorts)


def kinds_for(session: Session, own_map: bool) -> tuple[str, ...]:
    """The kinds `K` cycles through: the problem's own map first where it has one."""
    if not has_landscape(session):
        return ("map",) if own_map else ()
    return (("map",) if own_map else ()) + KINDS


class LandscapeMap(RasterWidget):
    """The landscape of the selected run, drawn from the last computed grid."""

    def __init__(self, session: Session | None = None, *, id: str | None = None, classes: str | None = None):
        super().__init__(id=id, classes=classes)
        self.session = session
        self.options = LandscapeOptions()
        self.result: landscape.Landscape | None = None  # the last computed landscape (tests read it)
        self.error: str | None = None
        self.seconds = 0.0  # how long the last computation took
        self.grid = 0  # its grid points per axis
        self._key: tuple | None = None  # what the result (or error) was computed for
        self._pending: tuple | None = None  # what the worker is computing now
        self._computed: dict = {}  # run label, step, values words of the result
        self.computations = 0  # grids asked for (tests check that redraws alone ask for none)
        self.canvas: Canvas | None = None
        self.frame: MapFrame | None = None

    # -- computing on request ----------------------------------------------------------------
    def show(self, session: Session, options: LandscapeOptions | None = None) -> None:
        self.session = session
        if options is not None:
            self.options = options
        wanted = self._wanted()
        if wanted is not None and wanted != self._key and wanted != self._pending:
            self._start(wanted)
        self._redraw()

    def _wanted(self) -> tuple | None:
        session, options = self.session, self.options
        if session is None or options.kind not in KINDS:
            return None
        row = int(session.current.rows[0])
        other = None
        if options.kind == "pair" and len(session.display) > 1:
            other = int(session.display[(session.selected + 1) % len(session.display)].rows[0])
        return (id(session.sim), options.kind, row, options.split, options.seed, options.again, other)

    def _start(self, key: tuple) -> None:
        """Take the run's path now (on this thread) and compute the grid in a thread worker."""
        session = self.session
        _, kind, row, split, seed, _, other = key
        sim = session.sim
        cohort, _ = session.cohort_of(row)
        problem = cohort.problem
        self._pending = key
        self.computations += 1
        try:
            if split == "val" and getattr(problem, "n_val", 0) == 0:
                raise landscape.LandscapeError("this scenario has no validation split")
            path = landscape_runs.run_path(sim, row, session.shown_step)
            to, to_label = None, None
            if kind == "pair":
                if other is None:
                    raise landscape.LandscapeError("one run only: add another (a) to draw the line between two")
                if session.cohort_of(other)[0].problem.n_params != problem.n_params:
                    raise landscape.LandscapeError("the next run has another model: no line joins them")
                to = landscape_runs.run_path(sim, other, session.shown_step)
                to_run = session.display[(session.selected + 1) % len(session.display)]
                to_label = to_run.label + (" (first seed)" if to_run.ensemble else "")
        except landscape.LandscapeError as exc:
            self._landed(key, None, str(exc), 0.0, {})
            return
        n = landscape_runs.grid_for(problem, "line" if kind == "pair" else kind, split=split)
        current = session.current
        label = current.label + (" (first seed)" if current.ensemble else "")
        info = {"label": label, "step": int(path.steps[-1]) if len(path.steps) else session.shown_step,
                "values": _values(problem, split), "n": n, "to": to_label}
        engine_kind = "line" if kind == "pair" else kind
        self.run_worker(lambda: self._compute(key, problem, engine_kind, path, n, split, seed, info, to),
                        thread=True, exclusive=True, group="landscape", exit_on_error=False)

    def _compute(self, key, problem, kind, path, n, split, seed, info, to=None) -> None:
        """In the worker thread: the grid, then hand it to the UI thread."""
        from textual.worker import get_current_worker

        start = time.perf_counter()
        result, error = None, None
        try:
            result = landscape_runs.for_path(problem, kind, path, other=to, n=n, seed=seed, split=split)
        except landscape.LandscapeError as exc:
            error = str(exc)
        except (ValueError, FloatingPointError, MemoryError, np.linalg.LinAlgError) as exc:
            error = f"could not compute this landscape ({type(exc).__name__}: {exc})"
        seconds = time.perf_counter() - start
        if get_current_worker().is_cancelled:
            return
        try:
            self.app.call_from_thread(self._landed, key, result, error, seconds, info)
        except RuntimeError:
            pass  # the app is closing

    def _landed(self, key, result, error, seconds, info) -> None:
        if key != self._pending:
            return  # a newer request is on its way
        self._pending = None
        self._key = key
        self.result, self.error, self.seconds = result, error, seconds
        self._computed = info
        self.grid = info.get("n", 0)
        self._redraw()

    @property
    def busy(self) -> bool:
        return self._pending is not None

    # -- drawing ---------------------------------------------------------------------------------
    def _rasterise(self) -> None:
        width, height = self.size.width, self.size.height
        canvas = self.canvas = Canvas(width, height)
        mono = bool(getattr(self.app, "mono", False))
        result, session = self.result, self.session
        current = self._key is not None and self._key == self._wanted()
        if session is None or not width or not height:
            self._strips = canvas.strips(self._base())
            return
        if self.error is not None and current:
            canvas.text(0, 0, short(f"no landscape: {self.error}", width), Style(bold=True))
            canvas.text(1, 0, short("K: another kind", width), marks.DIM)
        elif result is None or not current:
            what = draw.KIND_WORDS.get(self.options.kind, "")
            canvas.text(0, 0, short(what, width), Style(bold=True))
            canvas.text(1, 0, "computing the landscape on the whole training set…", marks.DIM)
            if result is not None:  # the old picture stays under the note until the new one lands
                self._picture(canvas, session, result, width, height, mono)
        else:
            self._picture(canvas, session, result, width, height, mono)
        self._strips = canvas.strips(self._base())
        self.draws += 1

    def _picture(self, canvas: Canvas, session: Session, result, width: int, height: int, mono: bool) -> None:
        top = 2 if height >= 10 else 1
        rows = height - top - 2  # x ticks, then the scale and keys
        cols = width - LABEL_WIDTH
        if rows < 2 or cols < 8:
            return
        run = session.current
        row = int(run.rows[0])
        path, latest = self._path_now(session, row, result)
        if self._key == self._wanted():
            info = self._computed
            lines = draw.caption(result, info["label"], info["step"], latest, info["values"], info.get("to"))
            lines[1] += f"; {self.grid}x{self.grid if result.kind != 'line' else 1} grid in {self.seconds:.2f} s"
            canvas.text(0, 0, short(lines[0], width), Style(bold=True))
            if top == 2:
                canvas.text(1, 0, short(lines[1], width), marks.DIM)
        if result.kind == "line":
            frame = self.frame = MapFrame(draw.line_box(result), cols, rows)
            now_t, start = None, None
            if self.options.kind == "pair":  # from the selected run's point to the next run's
                nxt = session.display[(session.selected + 1) % len(session.display)]
                start = (run.letter, run.colour)
                draw.curve(canvas, result, frame, None, nxt.colour, nxt.letter, LABEL_WIDTH, top, mono, start)
            else:
                if len(path) and self._computed.get("step") != latest:
                    now_t = float(path[-1, 0])
                draw.curve(canvas, result, frame, now_t, run.colour, run.letter, LABEL_WIDTH, top, mono)
            scale = None
        else:
            a, b = result.axes
            frame = self.frame = MapFrame((a[0], a[-1], b[0], b[-1]), cols, rows)
            now = path[-1] if len(path) else None
            scale = draw.plane(canvas, result, frame, path, now, run.colour, run.letter, LABEL_WIDTH, top, mono)
        marks.axis_ticks(canvas, frame, LABEL_WIDTH, top)
        bottom = height - 1
        keys = "K kind · R again · V train/val" + ("" if result.kind == "line" else " · shades by rank")
        canvas.text(bottom, 0, short(keys, width), marks.DIM)
        if scale is not None and width >= 60:
            marks.colour_scale(canvas, bottom, width, scale[0], scale[1], palette.SURFACE_RAMP, mono)

    def _path_now(self, session: Session, row: int, result) -> tuple[np.ndarray, int]:
        """The run's path up to the shown step, projected on the computed line or plane, and the
        step of its last point (rewound, the record at or before the shown step: what R computes at)."""
        empty = np.zeros((0, len(result.axes)))
        try:
            path = landscape_runs.run_path(session.sim, row, session.shown_step)
        except landscape.LandscapeError:
            return empty, session.shown_step
        if len(path.params) == 0 or path.params.shape[1] != result.center.shape[0]:
            return empty, session.shown_step
        return landscape.project(result, path.params), int(path.steps[-1])


def _values(problem, split: str) -> str:
    where = "train" if split == "train" else "validation"
    words = f"{where} loss ({problem.loss_name}, whole set"
    if split == "train" and (problem.l1 or problem.l2):
        words += " + penalty"
    if problem.batch_norm or problem.dropout:
        words += ", as at test time"
    return words + ")"
