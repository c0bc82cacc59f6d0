"""Where a map's data sits on the screen: view boxes with equal aspect, zoom to the runs, round ticks.

A terminal cell is about twice as tall as it is wide (CELL_ASPECT), so a view box stretched over
the cells as they come makes a round bowl look like a flat ellipse whose shape changes with the
window. MapFrame fixes the data-to-pixel mapping once per frame; equal_aspect widens the box so
one unit across and one unit up have the same length on screen at every size.
"""

from __future__ import annotations

import math

import numpy as np

CELL_ASPECT = 2.0  # cell height / cell width of a usual terminal font
ZOOM_PAD = 0.12  # the zoomed box leaves this share of its span around the runs
DENSITY_GLYPHS = "░▒▓█"  # one seed .. the most crowded cell


class MapFrame:
    """Data (x, y) to the map's braille pixels (2 per cell across, 4 down) and cells; y grows up."""

    def __init__(self, view, cols: int, rows: int):
        self.xmin, self.xmax, self.ymin, self.ymax = (float(v) for v in view)
        self.cols, self.rows = int(cols), int(rows)

    @property
    def view(self) -> tuple[float, float, float, float]:
        return self.xmin, self.xmax, self.ymin, self.ymax

    @property
    def per_col(self) -> float:
        """Data units one cell spans across."""
        return (self.xmax - self.xmin) / self.cols

    @property
    def per_row(self) -> float:
        """Data units one cell spans up."""
        return (self.ymax - self.ymin) / self.rows

    def pixels(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pixel coordinates (px, py) of points (n, 2), pixel centres at integers, map-relative."""
        points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        px = (points[:, 0] - self.xmin) / (self.xmax - self.xmin) * (2 * self.cols) - 0.5
        py = (self.ymax - points[:, 1]) / (self.ymax - self.ymin) * (4 * self.rows) - 0.5
        return px, py

    def cells(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(col, row) integer cells of points (n, 2); outside the map they fall out of range."""
        points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        with np.errstate(all="ignore"):
            col = np.floor((points[:, 0] - self.xmin) / (self.xmax - self.xmin) * self.cols)
            row = np.floor((self.ymax - points[:, 1]) / (self.ymax - self.ymin) * self.rows)
        col = np.nan_to_num(col, nan=-1, posinf=self.cols, neginf=-1).clip(-1, self.cols)
        row = np.nan_to_num(row, nan=-1, posinf=self.rows, neginf=-1).clip(-1, self.rows)
        return col.astype(np.int64), row.astype(np.int64)

    def cell(self, point, clamp: bool = False) -> tuple[int, int] | None:
        """The (col, row) of one point; None when off the map (unless clamp puts it on the edge)."""
        x, y = float(point[0]), float(point[1])
        if not (math.isfinite(x) and math.isfinite(y)):
            return None
        fx = (x - self.xmin) / (self.xmax - self.xmin) * self.cols
        fy = (self.ymax - y) / (self.ymax - self.ymin) * self.rows
        c = int(math.floor(max(-1.0, min(float(self.cols), fx))))
        r = int(math.floor(max(-1.0, min(float(self.rows), fy))))
        if clamp:
            return max(0, min(self.cols - 1, c)), max(0, min(self.rows - 1, r))
        if 0 <= c < self.cols and 0 <= r < self.rows:
            return c, r
        return None

    def sample_box(self, per_cell_y: int = 2) -> tuple[float, float, float, float]:
        """The box whose linspace grid (cols x per_cell_y * rows) samples each cell's centre(s)."""
        dx = (self.xmax - self.xmin) / self.cols
        dy = (self.ymax - self.ymin) / (per_cell_y * self.rows)
        return (self.xmin + dx / 2, self.xmax - dx / 2, self.ymin + dy / 2, self.ymax - dy / 2)


def equal_aspect(view, cols: int, rows: int, aspect: float = CELL_ASPECT) -> tuple[float, float, float, float]:
    """The smallest box holding `view`, with the same centre, in which a unit across and a unit up
    are equally long on screen (cells `aspect` times taller than wide)."""
    xmin, xmax, ymin, ymax = (float(v) for v in view)
    unit = max((xmax - xmin) / cols, (ymax - ymin) / (rows * aspect))  # data units per cell width
    cx, cy = (xmin + xmax) / 2, (ymin + ymax) / 2
    half_w, half_h = unit * cols / 2, unit * rows * aspect / 2
    return (cx - half_w, cx + half_w, cy - half_h, cy + half_h)


MIN_SPAN = 10  # a picture narrower than this many columns (or lower than MIN_SPAN / 4 rows)... (a round
# bowl in a 7-row map is 14 columns wide: to scale)
MAX_STRETCH = 4.0  # ...is stretched across (or up) by at most this factor, toward FILL of the map
FILL = 0.6


def readable_aspect(view, cols: int, rows: int, aspect: float = CELL_ASPECT) -> tuple[tuple[float, float, float, float], float, float]:
    """equal_aspect's box, unless equal aspect leaves the picture a thin strip: learning-rate's tall
    zig-zag in a 7-row map came out 6 columns wide. Then the thin direction is stretched (at most
    MAX_STRETCH times, so it takes about FILL of the map) and the map must say so. Returns (box,
    stretch across, stretch up); a stretch of 1 is to scale."""
    xmin, xmax, ymin, ymax = (float(v) for v in view)
    xspan, yspan = xmax - xmin, ymax - ymin
    if not (xspan > 0 and yspan > 0 and cols > 0 and rows > 0):
        return equal_aspect(view, cols, rows, aspect), 1.0, 1.0
    unit = max(xspan / cols, yspan / (rows * aspect))
    used_cols, used_rows = xspan / unit, yspan / (unit * aspect)
    across = up = 1.0
    if used_cols < min(MIN_SPAN, cols / 2):
        across = min(MAX_STRETCH, FILL * cols / used_cols)
    elif used_rows < min(MIN_SPAN / 4, rows / 2):
        up = min(MAX_STRETCH, FILL * rows / used_rows)
    across, up = max(1.0, across), max(1.0, up)
    return equal_aspect(view, cols, rows, aspect * across / up), across, up


def around(points: np.ndarray, view) -> tuple[float, float, float, float]:
    """A box around the finite points (n, 2), padded; never smaller than 2% of `view` across."""
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    points = points[np.isfinite(points).all(axis=1)]
    xmin, xmax, ymin, ymax = (float(v) for v in view)
    if len(points) == 0:
        return xmin, xmax, ymin, ymax
    low, high = points.min(axis=0), points.max(axis=0)
    least = 0.02 * np.array([xmax - xmin, ymax - ymin])
    span = np.maximum(high - low, least)
    centre = (low + high) / 2
    half = span * (0.5 + ZOOM_PAD)
    return (float(centre[0] - half[0]), float(centre[0] + half[0]),
            float(centre[1] - half[1]), float(centre[1] + half[1]))


def round_ticks(low: float, high: float, most: int) -> list[float]:
    """At most `most` round values (1, 2 or 5 times a power of ten apart) inside [low, high]."""
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low or most < 1:
        return []
    raw = (high - low) / max(1, most)
    power = 10.0 ** math.floor(math.log10(raw))
    for step in (m * power for m in (1, 2, 5, 10, 20, 50, 100)):
        first, last = math.ceil(low / step - 1e-9), math.floor(high / step + 1e-9)
        if last - first + 1 <= most:
            break
    return [0.0 if k == 0 else round(k * step, 12) for k in range(first, last + 1)]


def density_glyphs(counts: np.ndarray) -> np.ndarray:
    """Per cell with seeds, a shade glyph index 0..3: 1 seed is the lightest, the busiest the darkest
    (log scale: 100 seeds in one cell and 1 in another both show)."""
    counts = np.asarray(counts, dtype=np.float64)
    top = max(1.0, float(counts.max(initial=0)))
    if top <= 1:
        return np.zeros(counts.shape, dtype=np.int64)
    level = np.log(np.maximum(counts, 1)) / math.log(top) * (len(DENSITY_GLYPHS) - 1)
    return np.clip(np.ceil(level - 1e-9), 0, len(DENSITY_GLYPHS) - 1).astype(np.int64)


def arrow_head(dx: float, dy: float) -> str:
    """The arrow glyph closest to the screen direction (dx right, dy down)."""
    angle = math.degrees(math.atan2(-dy, dx)) % 360
    return "→↗↑↖←↙↓↘"[int((angle + 22.5) // 45) % 8]
