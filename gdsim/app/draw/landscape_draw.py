"""Drawing a loss landscape (gdsim.engine.landscape) into a Canvas: a plane as a shaded heat map
with the projected path, a line as a curve; and the captions that say what the picture is.

No widgets here: gdsim/app/widgets/landscape_map.py decides what to compute and when.
"""

from __future__ import annotations

import numpy as np
from rich.style import Style

from gdsim.app.draw import map_marks as marks
from gdsim.app.draw import palette
from gdsim.app.draw.canvas import Canvas
from gdsim.app.draw.map_view import MapFrame

DIM = Style(dim=True)
KIND_WORDS = {
    "map": "the problem's own map",
    "line": "line: loss along (1−t)·start + t·now",
    "pair": "line: loss between two runs' points",
    "pca": "plane of the path's top 2 PCA directions",
    "random": "plane of 2 random filter-normalized directions",
}


def percent(share: float | None) -> str:
    if share is None:
        return "-"
    value = 100 * share
    return f"{value:.1f}%" if value >= 1 or value == 0 else f"{value:.2g}%"


def loss_levels(z: np.ndarray, n: int) -> tuple[np.ndarray, tuple[float, float]]:
    """Losses to n colour bands by rank: each band holds an equal share of the grid's cells, so a
    plane whose far side is a hundred times higher still shows the valley the run is in (a log
    scale left that valley one flat colour); also the lowest and highest loss. Non-finite: top."""
    finite = np.isfinite(z)
    if not finite.any():
        return np.full(z.shape, n - 1, dtype=np.int64), (0.0, 1.0)
    values = z[finite]
    edges = np.quantile(values, np.linspace(0.0, 1.0, n + 1)[1:-1])
    levels = np.where(finite, np.searchsorted(edges, np.where(finite, z, 0.0), side="right"), n - 1)
    return np.minimum(levels, n - 1).astype(np.int64), (float(values.min()), float(values.max()))


def resample(loss: np.ndarray, axes, frame: MapFrame, per_cell_y: int = 2) -> np.ndarray:
    """The plane's losses at each cell's sample points (nearest grid point): (per_cell_y·rows, cols),
    top row first."""
    a, b = axes
    x0, x1, y0, y1 = frame.sample_box(per_cell_y)
    xs = np.linspace(x0, x1, frame.cols)
    ys = np.linspace(y1, y0, per_cell_y * frame.rows)
    ia = np.clip(np.rint((xs - a[0]) / (a[-1] - a[0]) * (len(a) - 1)), 0, len(a) - 1).astype(np.int64)
    ib = np.clip(np.rint((ys - b[0]) / (b[-1] - b[0]) * (len(b) - 1)), 0, len(b) - 1).astype(np.int64)
    return loss[np.ix_(ib, ia)]


def shade(canvas: Canvas, levels: np.ndarray, row: int, col: int, mono: bool,
          ramp: tuple[str, ...] | list[str] = palette.SURFACE_RAMP) -> np.ndarray | None:
    """Half-block shading (two levels a cell) of (2·rows, cols) levels of `ramp` from cell (row,
    col); returns each cell's back colour index into `ramp` (the lower half), for what is drawn
    over it; None in monochrome. The map tab's surfaces and decision maps, and the landscapes."""
    rows = levels.shape[0] // 2
    top, bottom = levels[0::2][:rows], levels[1::2][:rows]
    if mono:
        shades = palette.MONO_SHADES
        index = np.minimum(len(shades) - 1, (top + bottom) * len(shades) // (2 * len(ramp)))  # as mono_fill
        codes = np.array([ord(c) for c in shades], dtype=np.uint32)[index]
        canvas.ground(row, col, codes, np.zeros(codes.shape, dtype=np.int32), [DIM])
        return None
    pairs, looks = np.unique(top * len(ramp) + bottom, return_inverse=True)
    styles = [palette.half_block(ramp[p // len(ramp)], ramp[p % len(ramp)]) for p in pairs.tolist()]
    codes = np.full(top.shape, ord("▀"), dtype=np.uint32)
    canvas.ground(row, col, codes, looks.reshape(top.shape), styles, bottom, list(ramp))
    return bottom


def mono_fill(level: int, ramp_size: int) -> str:
    """The shade glyph shade() fills a monochrome cell with where both its halves are at `level`
    of a ramp of `ramp_size` (a decision map's pure region of one class): what its legend names."""
    shades = palette.MONO_SHADES
    return shades[min(len(shades) - 1, 2 * level * len(shades) // (2 * ramp_size))]


def mark(canvas: Canvas, frame: MapFrame, point, text: str, style: Style, left: int, top: int,
         taken: set) -> tuple[int, int] | None:
    """`text` at the cell of `point` (clamped to the edge), unless a mark holds that cell."""
    cell = frame.cell(point, clamp=True)
    if cell is None or cell in taken:
        return None
    canvas.text(cell[1] + top, cell[0] + left, text, style)
    taken.add(cell)
    return cell


def plane(canvas: Canvas, result, frame: MapFrame, path: np.ndarray, now, colour: int, letter: str,
          left: int, top: int, mono: bool) -> tuple[float, float]:
    """A plane: shading, the projected path (braille), ○ at its start and the run's letter at its
    projected point now; returns the loss scale's two ends."""
    levels, scale = loss_levels(resample(result.loss, result.axes, frame), len(palette.SURFACE_RAMP))
    backs = shade(canvas, levels, top, left, mono)
    style = palette.run_style(colour, mono, bold=True)
    if len(path) > 1:
        px, py = frame.pixels(path)
        canvas.line(px + 2 * left, py + 4 * top, style)
    taken: set = set()
    if now is not None:  # first: where the run is matters more than where it began
        mark(canvas, frame, now, letter, marks.head_style(colour, mono), left, top, taken)
    if len(path):
        mark(canvas, frame, path[0], marks.START_MARK, _over(backs, frame, path[0], mono), left, top, taken)
    return scale


def _over(backs, frame: MapFrame, point, mono: bool) -> Style:
    if mono or backs is None:
        return Style(bold=True)
    cell = frame.cell(point, clamp=True)
    back = palette.SURFACE_RAMP[int(backs[cell[1], cell[0]])]
    return palette.over("#ffffff", back, True)


def curve(canvas: Canvas, result, frame: MapFrame, now_t: float | None, colour: int, letter: str,
          left: int, top: int, mono: bool, start: tuple[str, int] | None = None) -> None:
    """A line: the loss along t as a braille curve, ○ at t = 0 and the run's letter at t = 1 (or
    where the run's point now projects, if it moved on), a dim rule at t = 0 and t = 1."""
    (t,), loss = result.axes, result.loss
    finite = np.isfinite(loss)
    for k in (result.origin[0], result.end[0]):
        px, _ = frame.pixels(np.array([[t[k], frame.ymin]]))
        col = int((px[0] + 0.5) // 2)
        for row in range(frame.rows):
            canvas.text(top + row, left + col, "│", DIM)
    points = np.stack([t[finite], np.clip(loss[finite], frame.ymin, frame.ymax)], axis=1)
    px, py = frame.pixels(points)
    canvas.line(px + 2 * left, py + 4 * top, palette.run_style(colour, mono, bold=True))
    taken: set = set()
    i0 = result.origin[0]
    if finite[i0]:  # ○ the run's start, or (a line between two runs) the first run's letter
        text, style = (marks.START_MARK, Style(bold=True)) if start is None else \
            (start[0], marks.head_style(start[1], mono))
        mark(canvas, frame, (t[i0], loss[i0]), text, style, left, top, taken)
    where = result.end[0]
    if now_t is None and finite[where]:
        mark(canvas, frame, (t[where], loss[where]), letter, marks.head_style(colour, mono), left, top, taken)
    elif now_t is not None:
        k = int(np.clip(np.searchsorted(t, now_t), 0, len(t) - 1))
        y = loss[k] if finite[k] else frame.ymin
        mark(canvas, frame, (now_t, y), letter, marks.head_style(colour, mono), left, top, taken)


def line_box(result) -> tuple[float, float, float, float]:
    """The (t, loss) box of a line: all of t, the loss from its lowest to its 98th percentile
    (an end far above the rest, past t = 1 + span, would flatten the part that matters)."""
    (t,), loss = result.axes, result.loss
    finite = loss[np.isfinite(loss)]
    if len(finite) == 0:
        return float(t[0]), float(t[-1]), 0.0, 1.0
    low, high = float(finite.min()), float(np.percentile(finite, 98))
    pad = 0.05 * (high - low) or max(abs(low) * 0.05, 1e-12)
    return float(t[0]), float(t[-1]), low - pad, high + pad


def caption(result, run_label: str, step: int, shown_step: int, values: str, to_label: str | None = None) -> list[str]:
    """What the picture is, in words: [title, detail]. The title alone must stay honest (a short
    map shows only it): a plane's title carries the share of the path's variance it holds."""
    kind = result.kind
    if kind == "line" and to_label is not None:
        title = f"line from {run_label} (t = 0) to {to_label} (t = 1) · step {step:,}"
        detail = (f"{values}, {run_label}'s objective at both ends; a rise between the ends is a "
                  "barrier on the straight line")
    elif kind == "line":
        title = f"{KIND_WORDS[kind]} · {run_label} · step {step:,}"
        detail = f"{values}; ○ start (t = 0), now at t = 1"
        if result.variance is not None:
            detail += f"; the line holds {percent(result.variance)} of the path's variance"
    else:
        name = "PCA plane" if kind == "pca" else "random plane (filter-normalized)"
        title = f"{name}: {percent(result.variance)} of the path's variance · {run_label} · step {step:,}"
        detail = f"{values}; the path projected: a projection, not the real path"
    if shown_step != step:
        detail = f"computed at step {step:,} (R: again at step {shown_step:,}); " + detail
    return [title, detail]
