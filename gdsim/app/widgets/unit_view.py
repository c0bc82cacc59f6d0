"""UnitView: what every hidden unit of the selected run's 2-input network computes, as small maps
of the input plane, a layer per row (TensorFlow Playground's small multiples), dead units marked;
the output's decision map beside them with the training points. u shows the weights as numbers.

The activations come from gdsim/engine/internals.py (unit_maps: one batched forward pass over a
grid and the training points); this widget only samples and colours them.
"""

from __future__ import annotations

import math

import numpy as np
from rich.style import Style

from gdsim.app.draw import map_marks as marks
from gdsim.app.draw import palette
from gdsim.app.draw.canvas import Canvas
from gdsim.app.draw.series import thin
from gdsim.app.draw.tiles import Tiles, levels, pair_rows
from gdsim.app.runtime.data_views import selected_model
from gdsim.app.text import first_fit, short
from gdsim.app.widgets.session_view import SessionView
from gdsim.engine.internals import UnitMaps, unit_maps

DIM, BOLD = Style(dim=True), Style(bold=True)
TILE_SIZES = ((10, 5), (8, 4), (6, 3), (4, 2))  # (cols, rows) of a unit's map, largest first
LABEL = 4  # "L1 " before a layer's maps
DEAD = "✕"


def sample(grid: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """A (rows, cols) picture of an (n, n) grid whose row 0 is the bottom: nearest grid point to
    each pixel centre, top row first."""
    n = grid.shape[0]
    iy = np.rint((1.0 - (np.arange(rows) + 0.5) / rows) * (n - 1)).astype(np.int64)
    ix = np.rint((np.arange(cols) + 0.5) / cols * (n - 1)).astype(np.int64)
    return grid[np.ix_(iy, ix)]


def _by_rows(units: list[int], cols: int, rows: int, w: int, h: int):
    """Layers as rows of maps (a label before each layer): positions per layer, or None if not all fit."""
    per_row = max(1, (cols - LABEL + 1) // (w + 1))
    places, labels, line = [], [], 0
    for u in units:
        labels.append((line, 0))
        places.append([(line + (k // per_row) * (h + 1), LABEL + (k % per_row) * (w + 1)) for k in range(u)])
        line += math.ceil(u / per_row) * (h + 1)
    return places, labels, line <= rows + 1 and LABEL + w <= cols


def _by_columns(units: list[int], cols: int, rows: int, w: int, h: int):
    """Layers as columns of maps, left to right as in TensorFlow Playground (a label above each)."""
    per_col = max(1, rows // (h + 1))
    places, labels, col = [], [], 0
    for u in units:
        labels.append((0, col))
        places.append([(1 + (k % per_col) * (h + 1), col + (k // per_col) * (w + 1)) for k in range(u)])
        col += math.ceil(u / per_col) * (w + 1) + 1
    return places, labels, col <= cols + 2 and 1 + h <= rows


def arrange(units: list[int], cols: int, rows: int):
    """Where each unit's map goes in a `cols` x `rows` area: (w, h, places per layer as (row, col)
    of the map's top-left cell, label (row, col) per layer, columns?). The largest tile size with
    which every unit fits, layers as rows or as columns, whichever allows the larger; if none
    fits, the smallest tiles (the maps that fall outside are not drawn)."""
    for w, h in TILE_SIZES:
        for arranger, columns in ((_by_columns, True), (_by_rows, False)):
            places, labels, fits = arranger(units, cols, rows, w, h)
            if fits:
                return w, h, places, labels, columns
    w, h = TILE_SIZES[-1]
    shown = []
    for arranger, columns in ((_by_columns, True), (_by_rows, False)):
        places, labels, _ = arranger(units, cols, rows, w, h)
        count = sum(1 for layer in places for r, c in layer if r + h <= rows + 1 and c + w <= cols)
        shown.append((count, columns, places, labels))
    count, columns, places, labels = max(shown, key=lambda t: t[0])
    return w, h, places, labels, columns


class UnitView(SessionView):
    """Redrawn from the Session at the screen's rate (show)."""

    def __init__(self, *, id: str | None = None, classes: str | None = None):
        super().__init__(id=id, classes=classes)
        self.numbers = False  # u: the weights as numbers instead of the maps
        self.maps: UnitMaps | None = None  # the last frame's (tests read them)
        self.drawn_units: list[int] = []  # maps drawn per layer
        self.dead: list[int] = []  # dead units per layer

    def toggle_numbers(self) -> None:
        self.numbers = not self.numbers
        self._redraw()

    def _rasterise(self) -> None:
        width, height = self.size.width, self.size.height
        canvas = Canvas(width, height)
        session = self.session
        if session is None or width < 20 or height < 4:
            self._strips = canvas.strips(self._base())
            return
        model = selected_model(session)
        problem = model.problem
        row = model.cohort.params[model.index]
        if getattr(problem, "n_inputs", 0) != 2 or not hasattr(problem, "network"):
            canvas.text(0, 0, short(f"run {model.name} is not a network with 2 inputs", width), DIM)
        elif self.numbers:
            self._weights(canvas, problem, row, model.name)
        else:
            self._maps(canvas, problem, row, model)
        self._strips = canvas.strips(self._base())
        self.draws += 1

    # -- the maps ------------------------------------------------------------------------------
    def _maps(self, canvas: Canvas, problem, row, model) -> None:
        width, height = canvas.cols, canvas.rows
        mono = bool(getattr(self.app, "mono", False)) if self.is_attached else False
        units = list(problem.network.hidden_units)
        # the output's map keeps the inputs' aspect (a cell is twice as tall as wide) as far as
        # half the width allows when there are units beside it; past that it is stretched, but
        # never to less than two thirds of the height
        xs, ys, _ = problem.input_grid(2)
        aspect = (xs[-1] - xs[0]) / (ys[-1] - ys[0]) if ys[-1] > ys[0] else 1.0
        out_rows = height - 2
        out_cols = max(4, min(round(2 * out_rows * aspect), max(12, width // 2) if units else width))
        out_rows = max(2, min(out_rows, max(round(out_cols / (2 * aspect)), 2 * out_rows // 3)))
        left = width - out_cols if units else 0
        n = int(min(64, max(16, 2 * out_rows, out_cols)))
        maps = self.maps = unit_maps(problem, row, n, model.state)
        tiles = Tiles(height, width)
        self.drawn_units, self.dead = [], [int(d.sum()) for d in maps.dead]
        name, letter = model.name, model.short  # "A (seed 3, the first of 20), step 40" / "A, step 40"
        if units:
            canvas.text(0, left, short("output", out_cols), BOLD)
        else:
            titles = [f"run {name} has no hidden layer: its output over the inputs (x1 across, x2 up)",
                      f"run {name}, no hidden layer: its output (x1 across, x2 up)",
                      f"run {letter}, no hidden layer: its output (x1 across, x2 up)",
                      f"output of run {letter} (x1 across, x2 up)", f"output of run {letter}", f"output of {letter}"]
            canvas.text(0, 0, first_fit(titles, width), BOLD)
        if units:
            self._unit_tiles(canvas, tiles, maps, units, left - 2, height - 2, mono)
            # the title, and how many units fit when not all do: both in the columns left of the output
            room = max(8, left - 1)
            titles = [f"units of run {name} over the inputs (x1 across, x2 up)", f"units of run {name} (x1 across, x2 up)",
                      f"units of run {letter} (x1 across, x2 up)", f"units of run {letter}", f"units of {letter}"]
            note = ""
            if sum(self.drawn_units) < sum(units):  # as much of it as the shortest title leaves room for
                counts = f"{sum(self.drawn_units)}/{sum(units)}"
                notes = [f" {counts} units (f: full screen)", f" {counts} units (f)", f" {counts} units", f" {counts}"]
                note = next((n for n in notes if len(n) <= room - len(titles[-1]) - 1), "")
            canvas.text(0, 0, first_fit(titles, room - len(note)), BOLD)
            if note:
                canvas.text(0, room - len(note), note, DIM)
        backs = self._output(canvas, tiles, maps, left, out_rows, out_cols, mono)
        tiles.draw(canvas)
        self._points(canvas, problem, maps, left, out_rows, out_cols, backs, mono)
        scale = "blank −  █ +" if mono else "blue −  red +"  # monochrome shades by value
        legends = [f"{scale}  (each layer's scale)  ✕ dead: 0 at every training point  u: weights",
                   f"{scale}  (each layer's scale)  ✕ dead  u: weights", f"{scale}  ✕ dead  u: weights", scale]
        canvas.text(height - 1, 0, first_fit(legends, width) if units else short("u: weights as numbers", width), DIM)

    def _unit_tiles(self, canvas, tiles: Tiles, maps: UnitMaps, units, cols: int, rows: int, mono: bool) -> None:
        """Each hidden unit's map in the area below the title, `cols` x `rows` cells."""
        w, h, places, labels, columns = arrange(units, cols, rows)
        ramp = palette.CLASS_RAMP
        for layer, (acts, dead) in enumerate(zip(maps.layers, maps.dead)):
            finite = acts[np.isfinite(acts)]
            reach = float(np.abs(finite).max()) if finite.size else 1.0
            reach = reach if reach > 0 else 1.0
            label_row, label_col = labels[layer]
            label = f"L{layer + 1}" + (f" {int(dead.sum())}{DEAD}" if dead.any() and columns else "")
            drawn = 0
            for u, (r, c) in enumerate(places[layer]):
                top, col = 1 + r, c
                if r + h > rows + 1 or c + w > cols:
                    continue
                picture = sample(acts[u], 2 * h, w)
                if mono:
                    tiles.shades(top, col, pair_rows((picture + reach) / (2 * reach)))
                else:
                    tiles.image(top, col, levels(picture, -reach, reach, len(ramp)), ramp)
                if dead[u]:
                    canvas.text(top + (h - 1) // 2, col + (w - 1) // 2, DEAD, Style(bold=True, reverse=True))
                drawn += 1
            self.drawn_units.append(drawn)
            room = min((w + 1) * 2 if columns else LABEL - 1, cols - label_col)
            if label_row + 1 <= rows and room > 0:
                canvas.text(1 + label_row, label_col, label[:room], BOLD)
            if not columns and dead.any() and label_row + 2 <= rows:
                canvas.text(2 + label_row, 0, f"{int(dead.sum())}{DEAD}", DIM)
            if drawn < len(acts) and not columns and label_row + 3 <= rows:
                canvas.text(3 + label_row, 0, f"+{len(acts) - drawn}"[: LABEL - 1], DIM)

    def _output(self, canvas, tiles: Tiles, maps: UnitMaps, left: int, rows: int, cols: int, mono: bool):
        picture = sample(maps.output, 2 * rows, cols)
        if maps.kind == "class":
            ramp = palette.RUN_COLOURS
            index = np.nan_to_num(picture).astype(np.int64) % len(ramp)
        elif maps.kind == "probability":
            ramp = palette.CLASS_RAMP
            index = levels(picture, 0.0, 1.0, len(ramp))
        else:
            ramp = palette.SURFACE_RAMP
            finite = picture[np.isfinite(picture)]
            low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
            index = levels(picture, low, high, len(ramp))
        if mono:
            tiles.shades(1, left, pair_rows(index / max(1, len(ramp) - 1)))
            return None
        tiles.image(1, left, index, ramp)
        return tiles.backs

    def _points(self, canvas, problem, maps: UnitMaps, left: int, rows: int, cols: int, backs, mono: bool) -> None:
        x, y = problem.points
        x0, x1, y0, y1 = maps.xs[0], maps.xs[-1], maps.ys[0], maps.ys[-1]
        keep = thin(len(x), 300)
        px = np.floor((x[keep, 0] - x0) / (x1 - x0) * cols).astype(np.int64)
        py = np.floor((y1 - x[keep, 1]) / (y1 - y0) * rows).astype(np.int64)
        regression = problem.task == "regression"
        for c, r, label in zip(px.tolist(), py.tolist(), np.asarray(y)[keep].tolist()):
            if 0 <= c < cols and 0 <= r < rows:
                cell = (1 + r, left + c)
                back = None if backs is None else backs.get(cell)
                glyph = "·" if regression else marks.class_glyph(int(label))
                canvas.text(cell[0], cell[1], glyph, marks.point_style(back, mono))

    # -- the numbers ---------------------------------------------------------------------------
    def _weights(self, canvas: Canvas, problem, row, letter: str) -> None:
        width, height = canvas.cols, canvas.rows
        layout = problem.network.layout
        params = np.asarray(row, dtype=np.float64).reshape(1, -1)
        canvas.text(0, 0, short(f"weights of run {letter} (u: back to the maps): unit: incoming weights | bias",
                                width), BOLD)
        line = 1
        for i, (w, b) in enumerate(zip(layout.weights(params), layout.biases(params))):
            s = layout.layers[i]
            name = "output" if i == len(layout.layers) - 1 else f"layer {i + 1}"
            if line >= height:
                break
            canvas.text(line, 0, short(f"{name} ({s.fan_in}→{s.fan_out})", width), BOLD)
            line += 1
            for u in range(s.fan_out):
                if line >= height:
                    break
                numbers = " ".join(f"{v:+.2f}" for v in w[0, :, u])
                text = f"{u + 1:>3}: {numbers} | {b[0, u]:+.2f}"
                if len(text) > width:
                    text = f"{u + 1:>3}: " + short(numbers, width - 16) + f" | {b[0, u]:+.2f}"
                canvas.text(line, 0, text[:width], DIM)
                line += 1
