"""Text forms of a loss landscape for the shell: a table, and a plot (plotext for a line, a
character shading map for a plane, readable in a pipe or a CI log)."""

from __future__ import annotations

import math
from typing import IO

import numpy as np

TABLE_COLUMNS = 7  # a plane's table shows at most this many grid columns (csv/jsonl give all)
SHADES = " .:-=+*#%"  # low loss blank, high loss dense; path marks are letters, never a shade
PATH_MARK, START_MARK, POINT_MARK = "o", "S", "X"
MAP_ROWS = 21


def _fmt(value: float) -> str:
    return f"{value:>10.4g}" if math.isfinite(value) else f"{'-':>10}"


def table(result) -> str:
    if result.kind == "line":
        return _line_table(result)
    return _plane_table(result)


def _line_table(result) -> str:
    (t,), loss = result.axes, result.loss
    marks = {result.origin[0]: "  <- t = 0", result.end[0]: "  <- t = 1"}
    lines = [f"{'t':>8} {'loss':>10}"]
    for i, (ti, li) in enumerate(zip(t.tolist(), loss.tolist())):
        lines.append(f"{ti:>8.4f} {_fmt(li)}{marks.get(i, '')}")
    lines.append(_lowest(loss, lambda k: f"t = {t[k]:.4f}"))
    return "\n".join(lines)


def _picks(n: int, zero: int) -> list[int]:
    """At most TABLE_COLUMNS evenly strided indices of 0..n-1 that include `zero`."""
    stride = max(1, math.ceil((n - 1) / (TABLE_COLUMNS - 1)))
    return sorted({k for k in range(zero % stride, n, stride)})


def _plane_table(result) -> str:
    a, b = result.axes
    loss = result.loss
    zero_b, zero_a = result.origin
    cols, rows = _picks(len(a), zero_a), _picks(len(b), zero_b)
    if len(cols) == len(a) and len(rows) == len(b):
        shown = "every grid point"
    else:
        stride = cols[1] - cols[0] if len(cols) > 1 else 1
        shown = f"every {_ordinal(stride)} grid point (csv or jsonl give all {len(a)}x{len(b)})"
    lines = [f"loss at {shown};", "rows b, columns a; * marks the centre (a = b = 0)",
             "b \\ a".rjust(10) + "".join(f"{a[i]:>10.3g}" for i in cols)]
    for j in reversed(rows):
        cells = "".join(_cell(float(loss[j, i]), (j, i) == (zero_b, zero_a)) for i in cols)
        lines.append(f"{b[j]:>10.3g}" + cells)
    flat = loss.ravel()
    lines.append(_lowest(flat, lambda k: f"a = {a[k % len(a)]:.4g}, b = {b[k // len(a)]:.4g}"))
    lines.append(f"at the centre: {float(loss[zero_b, zero_a]):.6g}")
    return "\n".join(lines)


def _cell(value: float, centre: bool) -> str:
    text = f"{value:>9.4g}" if math.isfinite(value) else f"{'-':>9}"
    return text + ("*" if centre else " ")


def _ordinal(k: int) -> str:
    return {1: "", 2: "2nd", 3: "3rd"}.get(k, f"{k}th")


def _lowest(values: np.ndarray, where) -> str:
    finite = np.isfinite(values)
    if not finite.any():
        return "no finite value on the grid"
    k = int(np.nanargmin(np.where(finite, values, np.nan)))
    return f"lowest on the grid: {float(values[k]):.6g} at {where(k)}"


def plot(result, out: IO[str]) -> str:
    from gdsim.commands.terminal_plots import plot_width, use_colour

    width = plot_width()
    if result.kind == "line":
        return _line_plot(result, width, use_colour(out))
    return _plane_map(result, width)


def _line_plot(result, width: int, colour: bool) -> str:
    import plotext as plt

    (t,), loss = result.axes, result.loss
    keep = np.isfinite(loss)
    plt.clear_figure()
    plt.plotsize(width, 17)
    if not colour:
        plt.theme("clear")
    plt.plot(t[keep].tolist(), loss[keep].tolist(), marker="*", color="blue+" if colour else None)
    ends = [k for k in (result.origin[0], result.end[0]) if keep[k]]
    plt.scatter([float(t[k]) for k in ends], [float(loss[k]) for k in ends], marker=POINT_MARK,
                color="red" if colour else None)
    plt.title(f"loss along the line ({POINT_MARK} at t = 0 and t = 1)")
    plt.xlabel("t")
    text = plt.build()
    plt.clear_figure()
    return text if colour else plt.uncolorize(text)


def _plane_map(result, width: int) -> str:
    """The plane as shaded characters (low loss blank), the projected path as o, its start S and
    the centre X; b grows upwards."""
    a, b = result.axes
    cols = max(20, width - 12)
    rows = MAP_ROWS
    ia = np.linspace(0, len(a) - 1, cols).round().astype(int)
    ib = np.linspace(len(b) - 1, 0, rows).round().astype(int)
    grid = result.loss[np.ix_(ib, ia)]
    finite = np.isfinite(grid)
    low = float(grid[finite].min()) if finite.any() else 0.0
    with np.errstate(all="ignore"):
        scaled = np.log1p(np.where(finite, grid - low, np.nan))
    top = float(np.nanpercentile(scaled, 98)) if finite.any() else 1.0
    top = top if top > 0 else 1.0
    level = np.clip(np.nan_to_num(scaled / top, nan=1.0), 0, 1)
    chars = np.array(list(SHADES))[np.minimum((level * len(SHADES)).astype(int), len(SHADES) - 1)]
    canvas = [list(row) for row in chars]

    def place(pa: float, pb: float, mark: str) -> None:
        c = int(round((pa - a[0]) / (a[-1] - a[0]) * (cols - 1)))
        r = int(round((b[-1] - pb) / (b[-1] - b[0]) * (rows - 1)))
        if 0 <= c < cols and 0 <= r < rows:
            canvas[r][c] = mark

    outside = 0
    for pa, pb in result.path.tolist():
        if not (a[0] <= pa <= a[-1] and b[0] <= pb <= b[-1]):
            outside += 1
        place(pa, pb, PATH_MARK)
    if len(result.path):
        place(*result.path[0].tolist(), START_MARK)
    place(0.0, 0.0, POINT_MARK)
    lines = [f"{'b':>10} +" + "-" * cols + "+"]
    for r, row in enumerate(canvas):
        label = f"{b[ib[r]]:>10.3g}" if r in (0, rows // 2, rows - 1) else " " * 10
        lines.append(f"{label} |" + "".join(row) + "|")
    lines.append(" " * 11 + "+" + "-" * cols + "+")
    left, right = f"{a[0]:.3g}", f"{a[-1]:.3g}"
    lines.append(" " * 12 + left + " " * max(1, cols - len(left) - len(right) - 2) + right + "  a")
    lines.append(f"shades: blank = lowest ({low:.4g}) ... {SHADES[-1]} = highest (log scale); "
                 f"{PATH_MARK} the projected path, {START_MARK} its start, {POINT_MARK} the centre")
    if outside:
        lines.append(f"({outside} path points lie outside the grid and are not drawn)")
    return "\n".join(lines)
