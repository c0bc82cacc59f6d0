"""CurvePlot: one live quantity (loss, gradient norm, ...) for every run, drawn in braille dots."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from rich.style import Style

from gdsim.app.draw import palette
from gdsim.app.draw.axes import Scale, tick
from gdsim.app.draw.canvas import Canvas
from gdsim.app.draw.series import PlotData, log_wanted, ranging
from gdsim.app.widgets.raster import RasterWidget

LABEL_WIDTH = 7
DIVERGED_MARK = "✕"


def curve_name(colour: int, legend: tuple[tuple[str, int], ...]) -> str:
    """What tells a curve from the others in monochrome: its legend entry's first word (a layer's
    "1"), else its run's letter in lower case, as its path on the map."""
    for text, entry in legend:
        if entry == colour:
            return text.split("=")[0].strip() or palette.letter(colour).lower()
    return palette.letter(colour).lower()
LOG_DEPTH = 1e-12  # a log axis shows at most 12 decades below its top


class CurvePlot(RasterWidget):
    """A line plot redrawn from PlotData; the screen hands it new data at its redraw rate."""

    def __init__(self, title: str, *, id: str | None = None, classes: str | None = None):
        super().__init__(id=id, classes=classes)
        self.title = title
        self.data: PlotData | None = None
        self._canvas: Canvas | None = None  # the last frame: rows that did not change are reused
        self.y_range: tuple[float, float] | None = None  # the last frame's y axis (tests read it)
        self.log_y = False  # the y axis is logarithmic now (kept between frames: see log_wanted)
        self.floored = False  # a log axis drew values below its floor (zeros) on it (tests read it)

    def show(self, data: PlotData) -> None:
        self.data = data
        self._redraw()

    # -- drawing -------------------------------------------------------------------------------
    def _rasterise(self) -> None:
        width, height = self.size.width, self.size.height
        mono = bool(getattr(self.app, "mono", False)) if self.is_attached else False
        canvas = Canvas(width, height)
        data = self.data
        title = data.title if data else self.title
        if data and data.legend and " (" in title and title.endswith(")"):
            # a hint in brackets ("(↑/↓)") gives way to a legend that would not fit beside it
            legend_width = sum(len(text) + 1 for text, _ in data.legend)
            if len(title) + 1 + legend_width > width:
                title = title[: title.rindex(" (")]
        canvas.text(0, 0, title[:width], Style(bold=True))
        if data and data.legend:
            col = len(title) + 1
            for text, colour in data.legend:
                if col + len(text) + 1 > width:
                    break
                canvas.text(0, col, text, palette.run_style(colour, mono, bold=True))
                col += len(text) + 1
            title = title + " " * (col - len(title))
        if data and data.note and data.traces and len(title) + len(data.note) + 3 <= width:
            canvas.text(0, width - len(data.note), data.note, Style(dim=True, italic=True))
        cols, rows = width - LABEL_WIDTH - 1, height - 2
        if cols < 4 or rows < 1 or data is None:
            self._strips = canvas.strips(self._base(), previous=self._canvas)
            self._canvas = canvas
            self.draws += 1
            return
        traces = [t for t in data.traces if len(t.steps)]
        if not traces:
            canvas.text(1 + rows // 2, LABEL_WIDTH + 2, data.note or "no data yet", Style(dim=True))
            self._strips = canvas.strips(self._base(), previous=self._canvas)
            self._canvas = canvas
            self.draws += 1
            return
        x_high = max(max(float(t.steps[-1]) for t in traces), float(data.x_max))
        x_low = min(float(t.steps[0]) for t in traces)  # on a log x axis the traces hold only x > 0
        scaled = ranging(traces)  # a diverged run is clipped at the edge, never rescales the others
        log = self.log_y = data.log if data.log is not None else log_wanted(traces, self.log_y)
        if log:
            positives = [t.low if t.low is not None else t.values for t in scaled]
            y_low = min(float(np.min(v[v > 0])) if (v > 0).any() else 1.0 for v in positives)
        else:
            y_low = min(float(t.values.min() if t.low is None else t.low.min()) for t in scaled)
        y_high = max(float(t.values.max() if t.high is None else t.high.max()) for t in scaled)
        if log:  # a run at machine zero (1e-300) would squash the rest: below this, on the edge
            y_low = max(y_low, y_high * LOG_DEPTH, data.floor if data.floor < y_high else 0.0)
        # A log axis has no 0: values below its floor (exact zeros: plateau's loss, a hinge loss
        # at its margin; or below LOG_DEPTH) are drawn ON the floor, which is then labelled
        # "≤ floor" and the axis says so, instead of the curve stopping where they begin.
        floored = log and any(bool(np.any((t.values if t.low is None else t.low) < y_low)) for t in traces)
        x0 = 2 * (LABEL_WIDTH + 1)
        xs = Scale(x_low, x_high if data.log_x else max(x_high, x_low + 1), x0, 2 * cols - 1, log=data.log_x)
        ys = Scale(y_low, y_high, 4, 4 * rows - 1, log=log, flip=True)
        self.y_range = (ys.label_low(), ys.label_high())
        canvas.clip = (x0, 2 * width, 4, 4 * (rows + 1))  # nothing over the title or the axis labels
        ends = []
        floor = (lambda v: np.maximum(v, y_low)) if floored else (lambda v: v)
        for level, _ in data.levels:  # under the curves: a run that sits on it covers it
            if y_low <= level <= y_high:
                px = np.arange(x0, 2 * width, 3, dtype=np.float64)
                canvas.dots(px, ys(np.full(len(px), level)), Style(dim=True))
        for trace in traces:
            px = xs(trace.steps)
            if trace.kind == "band" and trace.low is not None and trace.high is not None:
                canvas.vspans(px, ys(floor(trace.low)), ys(floor(trace.high)), palette.band_style(trace.colour, mono))
            style = palette.run_style(trace.colour, mono, bold=trace.kind == "band")
            py = ys(floor(trace.values))
            if trace.kind == "dots":
                canvas.dots(px, py, style)
            else:
                canvas.line(px, py, style)
            if trace.diverged >= 0 and trace.kind != "dots":
                ends.append((px[-1], py[-1], DIVERGED_MARK, palette.run_style(trace.colour, mono, bold=True)))
            elif mono and len(traces) > 1:  # every curve is white: its name at its last point
                ends.append((px[-1], py[-1], curve_name(trace.colour, data.legend), Style(bold=True, reverse=True)))
        taken: set[tuple[int, int]] = set()
        for px, py, mark, style in ends:  # a diverged run's last point, on the edge if beyond it
            row = int(min(max(py, 4), 4 * rows + 3)) // 4
            col = min(int(min(max(px, x0), 2 * width - 1)) // 2, width - len(mark))
            # curves that end together: the next name a row up or down (within the plot), not over it
            row = next((r for r in (row, row - 1, row + 1, row - 2, row + 2)
                        if 1 <= r <= rows and (r, col) not in taken), row)
            taken.add((row, col))
            canvas.text(row, col, mark, style)
        data = replace(data, log=log)
        self.floored = floored
        self._axes(canvas, xs, ys, cols, rows, data, floored)
        self._strips = canvas.strips(self._base(), previous=self._canvas)
        self._canvas = canvas
        self.draws += 1

    def _axes(self, canvas: Canvas, xs: Scale, ys: Scale, cols: int, rows: int, data: PlotData,
              floored: bool = False) -> None:
        dim = Style(dim=True)
        canvas.text(1, 0, tick(ys.label_high()).rjust(LABEL_WIDTH), dim)
        if rows >= 2:
            low = tick(ys.label_low(), LABEL_WIDTH - 1 if floored else LABEL_WIDTH)
            canvas.text(rows, 0, (("≤" + low) if floored else low).rjust(LABEL_WIDTH), dim)
        if rows >= 5:
            mid = (ys.low + ys.high) / 2
            canvas.text(1 + rows // 2, 0, tick(10**mid if ys.log else mid).rjust(LABEL_WIDTH), dim)
        for level, name in data.levels:  # named where the y labels are, on its row (not over the top or bottom one)
            if ys.low <= (np.log10(level) if ys.log and level > 0 else level) <= ys.high:
                row = int(np.rint(ys(np.array([level]))[0])) // 4  # as the dots round
                if 1 < row < rows:
                    canvas.text(row, 0, name[:LABEL_WIDTH].rjust(LABEL_WIDTH), Style(bold=True))
        for row in range(1, rows + 1):
            canvas.text(row, LABEL_WIDTH, "│", dim)
        bottom = rows + 1
        left = tick(xs.label_low(), 8)
        right = tick(xs.label_high(), 9)
        canvas.text(bottom, LABEL_WIDTH, "└", dim)
        canvas.text(bottom, LABEL_WIDTH + 1, left, dim)
        if cols > len(left) + len(right) + 6:
            name = data.x_label
            logs = ", ".join(a for a, on in (("log x", data.log_x), ("log y", data.log)) if on)
            axis = name + (f" ({logs})" if logs else "")
            if floored and cols > len(left) + len(right) + 30:
                axis = f"{name} ({logs}; 0 drawn at the ≤ floor)"
            elif floored:
                axis = f"{name} ({logs}; 0 at ≤)"
            if cols <= len(left) + len(right) + len(axis) + 2:
                axis = name + (f" ({logs})" if logs else "")
            if data.log_x and cols <= len(left) + len(right) + len(axis) + 2:
                axis = f"{name} (log x)"  # a log x axis read as linear misleads more than a log y
            canvas.text(bottom, LABEL_WIDTH + 1 + (cols - len(axis)) // 2, axis, dim)
        canvas.text(bottom, LABEL_WIDTH + 1 + cols - len(right), right, dim)
        if data.cursor is not None:
            col = int(round(float(xs(np.array([data.cursor]))[0]))) // 2
            for row in range(1, rows + 1):
                if 0 <= col < canvas.cols and not canvas.bits[row, col]:
                    canvas.text(row, col, "┊", Style(bold=True))
