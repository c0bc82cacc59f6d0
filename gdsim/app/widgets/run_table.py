"""RunTable: the legend and readout of every run (colour, settings, loss, status); selects a run.

A DataTable re-measured and re-styled every cell on every frame, which was the most expensive
thing on the screen while a scenario ran (about half of each redraw, measured with cProfile in
benchmarks/bench_app.py). This table holds a handful of rows, so it is drawn as finished Strips
once per redraw; columns that do not fit the width are dropped, least useful first, instead of
being cut off at the right edge.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.color import Color
from textual.message import Message
from textual.strip import Strip

from gdsim.app.draw import palette
from gdsim.app.draw.panels import lr_changes
from gdsim.app.draw.contrast import component_style, readable
from gdsim.app.draw.axes import value
from gdsim.app.runtime.key_columns import KeyColumns
from gdsim.app.runtime.run_settings import differing_settings, seeds_are_the_lesson
from gdsim.app.runtime.session import Session
from gdsim.app.text import short
from gdsim.app.widgets.raster import RasterWidget
from gdsim.engine.states import tally_words
from gdsim.scenario.columns import Column as KeyColumn
from gdsim.scenario.columns import cell as key_cell


@dataclass(frozen=True)
class Column:
    name: str
    min_width: int  # readings change every frame: a fixed minimum keeps the columns from jittering
    right: bool = False  # numbers are right-aligned
    drop: int = 0  # dropped when the table is too wide, highest first; 0 = always shown


COLUMNS = (
    Column("", 3),
    Column("run", 3),
    Column("seed", 4, drop=7),
    Column("optimizer", 9, drop=3),
    Column("lr", 6, right=True, drop=2),
    Column("schedule", 8, drop=8),
    Column("batch", 5, right=True, drop=9),
    Column("differs", 6, drop=5),  # the settings the runs differ in (init, activation, damping...); named in the header
    Column("loss", 9, right=True),
    # here: the scenario's key-metric columns (gdsim.scenario.columns), drop KEY_DROP, KEY_DROP + 1 ...
    Column("|grad|", 9, right=True, drop=6),
    Column("status", 6),  # never dropped: the state words are what a learner reads first
)
KEY_DROPS = (1, 4, 4)  # the first key column goes last of all droppable columns, the others before the optimizer
NEUTRAL_DROP = 0.5  # while labels are neutral, the differing settings go after every other column
KEY_AT = 9  # where the key columns are inserted (after the loss)
GAP = 1  # blank cells between columns
SEED = 2  # the seed column's index: kept (never dropped) where only the seeds tell the runs apart
LR = 4  # the lr column's index: the rate in effect at the shown step ("lr now") where a rate moves
DIFFERS = 7  # the "differs" column's index; its header names the settings
SETTINGS = {2, 5, 6, DIFFERS}  # seed, schedule, batch, differs: settings that may tell the runs apart
SAME_GOES = SETTINGS | {3, 4}  # optimizer and lr too: a setting every run shares tells no run apart
MIN_RUN = 8  # an overflowing table cuts the run label to this width before the status words
MIN_STATUS = 10


class RunTable(RasterWidget, can_focus=True):
    """One row per displayed run (an ensemble is one row); the highlighted row is the selected run."""

    BINDINGS = [
        # first in the footer while the table has the focus; page up/down scroll the lesson (the screen's)
        Binding("up,k", "move(-1)", "Select run", key_display="↑/↓"),
        Binding("down,j", "move(1)", "Next run", show=False),
    ]
    COMPONENT_CLASSES = {"run-table--header", "run-table--cursor", "run-table--stripe",
                         "run-table--error", "run-table--warning", "run-table--info"}
    DEFAULT_CSS = """
    RunTable {
        height: auto;
        background: $surface;
    }
    RunTable > .run-table--header {
        text-style: bold;
        color: $text-accent;
        background: $panel;
    }
    RunTable > .run-table--cursor {
        background: $block-cursor-blurred-background;
        text-style: bold;
    }
    RunTable:focus > .run-table--cursor {
        background: $block-cursor-background;
        color: $block-cursor-foreground;
    }
    RunTable > .run-table--stripe {
        background: $surface-darken-1 40%;
    }
    """

    class Selected(Message):
        """The user moved the highlight to row `index` (a key or a click)."""

        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index

    def __init__(self, *, id: str | None = None, classes: str | None = None):
        super().__init__(id=id, classes=classes)
        self.rows: list[list[str]] = []  # the cells shown, as plain text (tests read these)
        self._marks: list[Style] = []
        self._status_styles: list[Style] = []
        self.selected = 0
        self._top = 0  # the first row shown when there are more rows than lines
        self._static_key: tuple | None = None
        self._static: list[tuple[list[str], Style]] = []
        self._differs = ""  # the header of the "differs" column: the names of the settings
        self._seeds_matter = False
        self._neutral = False  # labels are "run A" ... (a [predict] question open): settings tell runs apart
        self._status_cache: dict[tuple, Style] = {}
        self.key = KeyColumns()  # the scenario's key-metric columns and their values
        self.columns: tuple[Column, ...] = COLUMNS  # in row order: COLUMNS with the key columns after the loss
        self._medians = False  # every row is an ensemble: readings are medians, said once in the header
        self._lr_moves = False  # a schedule or a change moves some run's rate: the lr column is a reading
        self.lr_now = False  # the lr column shows the rate at the shown step, headed "lr now" (tests read it)

    # -- data ----------------------------------------------------------------------------------
    def show(self, session: Session) -> None:
        mono = bool(getattr(self.app, "mono", False))
        key = (id(session.sim), id(session.configs), len(session.display), session.neutral, mono, self.app.theme)
        if key != self._static_key:  # settings change only on a rebuild; readings at every frame
            self._static_key = key
            self._differs, differing = differing_settings(session)
            self._seeds_matter = seeds_are_the_lesson(session)
            self._neutral = bool(session.neutral)
            self._medians = bool(session.display) and all(run.ensemble for run in session.display)
            self._lr_moves = lr_changes(session)
            self._static = []
            for i in range(len(session.display)):
                cells, mark = _settings(session, i, mono)
                self._static.append((cells + [differing[i]], mark))
        keys = self.key.of(session)
        self.columns = (COLUMNS[:KEY_AT] + tuple(Column(c.header, 6, right=True, drop=KEY_DROPS[i])
                                                 for i, c in enumerate(keys)) + COLUMNS[KEY_AT:])
        values = session.values_at_cursor()
        states = session.states()
        rates = _rates(session, values)
        # Under a schedule the rate a run started with says nothing about the rate it steps with now
        # (reduce-on-plateau's "plateau 0.1" at step 400 steps with 0.005): the column reads it live.
        self.lr_now = self._lr_moves or any(rate not in ("-", cells[LR]) for rate, (cells, _) in zip(rates, self._static))
        # A [predict] question still open: the key readings would answer it; shown once answered or skipped.
        flow = getattr(self.screen, "flow", None) if self.is_attached else None
        hidden = flow is not None and flow.phase == "asking"
        readings = None if hidden else self.key.values(session)
        count = len(self.rows)
        self.rows, self._marks, self._status_styles = [], [], []
        for i, (cells, mark) in enumerate(self._static):
            loss, grad, status, severity = _readings(session, i, values, states, self._medians)
            run = session.display[i]
            extra = (["?"] * len(keys) if readings is None else
                     [_key_cell(column, column_values, run, self._medians) for column, column_values in zip(keys, readings)])
            if self.lr_now:
                cells = cells[:LR] + [rates[i]] + cells[LR + 1:]
            self.rows.append(cells + [loss] + extra + [grad, status])
            self._marks.append(mark)
            self._status_styles.append(self._status_style(severity, mono))
        self.selected = min(session.selected, max(0, len(self.rows) - 1))
        if len(self.rows) != count:
            self.refresh(layout=True)  # height: auto follows the number of rows
        self._redraw()

    def _status_style(self, severity: str, mono: bool) -> Style:
        """The status cell's style for a state's severity: the theme's error / warning / success
        colour (gdsim.tcss), bold for errors; no colour in monochrome."""
        if not severity:
            return Style()
        key = (severity, mono, self.app.theme)
        style = self._status_cache.get(key)
        if style is None:  # a component style is computed afresh at each read (~1 ms): once per theme
            colour = None if mono else self.get_component_rich_style(f"run-table--{severity}", partial=True).color
            style = self._status_cache[key] = Style(bold=severity == "error", color=colour)
        return style

    def get_content_height(self, container, viewport, width: int) -> int:
        return 1 + len(self.rows)

    # -- drawing (RasterWidget: _rasterise sets the strips; _redraw repaints the changed lines) ----
    def _columns(self, width: int) -> list[tuple[int, Column, int]]:
        """(index, column, width) of the columns that fit in `width` cells.

        Dropped first: settings columns with the same value in every row (they tell no run from
        another); then by Column.drop, highest first. While the labels are neutral ("run A"), a
        setting that differs between the runs (batch, schedule, the "differs" column) is what tells
        them apart: it is kept, like the seeds where only the seeds differ. The run label, loss and
        status are never dropped: a table still too wide cuts the run label (to MIN_RUN), then the
        status words (to MIN_STATUS), with an ellipsis."""
        chosen = []
        last = max(c.drop for c in COLUMNS) + 1
        for index, column in enumerate(self.columns):
            cells = [row[index] for row in self.rows]
            if column.drop and cells and all(cell in ("-", "") for cell in cells) and index < KEY_AT:
                continue  # e.g. batch on a surface: nothing to read
            differs = len(set(cells)) > 1
            if index == DIFFERS:
                column = Column(self._differs, column.min_width, drop=column.drop)
            if index == LR and self.lr_now:
                column = Column("lr now", column.min_width, column.right, column.drop)  # not the rate it started with
            if index == 1 and self._medians:
                column = Column("run (medians)", column.min_width)  # every reading is a median over seeds
            if index == SEED and self._seeds_matter:
                column = Column(column.name, column.min_width)  # the lesson: never dropped
            elif index in SETTINGS and index != SEED and differs and self._neutral:
                column = Column(column.name, column.min_width, drop=NEUTRAL_DROP)  # what tells "run A" from "run B"
            elif index in SAME_GOES and len(self.rows) > 1 and not differs:
                column = Column(column.name, column.min_width, column.right, drop=last)
            chosen.append((index, column, max([column.min_width, cell_len(column.name)] + [cell_len(c) for c in cells])))
        total = lambda: sum(w for _, _, w in chosen) + GAP * (len(chosen) - 1)  # noqa: E731
        for level in sorted({c.drop for _, c, _ in chosen if c.drop}, reverse=True):
            if total() <= width:
                break
            chosen = [entry for entry in chosen if entry[1].drop != level]
        status = len(self.columns) - 1
        for index, least in ((1, MIN_RUN), (status, MIN_STATUS)):  # still too wide: the label, then the words
            overflow = total() - width
            if overflow > 0:
                chosen = [(i, c, max(min(least, w), w - overflow) if i == index else w) for i, c, w in chosen]
        return chosen

    def _rasterise(self) -> None:
        width, height = self.size.width, self.size.height
        if width <= 0:
            self._strips = []
            return
        base = self.rich_style
        # Blended as they look, and readable (gdsim/app/draw/contrast.py); in monochrome (and with
        # NO_COLOR, whose filter removes every colour) the selected row is shown in reverse video.
        header = base + component_style(self, "run-table--header")
        mono = bool(getattr(self.app, "mono", False))
        cursor = base + (Style(reverse=True, bold=True) if mono else component_style(self, "run-table--cursor"))
        stripe = base + component_style(self, "run-table--stripe")
        columns = self._columns(width)
        shown_rows = max(0, height - 1) if height else len(self.rows)
        if self.selected < self._top:
            self._top = self.selected
        elif shown_rows and self.selected >= self._top + shown_rows:
            self._top = self.selected - shown_rows + 1
        self._top = max(0, min(self._top, len(self.rows) - shown_rows))
        hidden = len(self.rows) - shown_rows if height else 0
        hint = more_runs(hidden, self._top, len(self.rows) - self._top - shown_rows)
        lines = [self._line([(c.name, w, c.right) for _, c, w in columns], header, [], width, tail=hint)]
        for r in range(self._top, len(self.rows)):
            style = cursor if r == self.selected else (stripe if r % 2 else base)
            cells = [(self.rows[r][i], w, c.right) for i, c, w in columns]
            status = self._status_styles[r]
            if r == self.selected:  # a status colour (red) on the cursor's background can be unreadable
                status = Style(bold=status.bold)
            elif status.color is not None and style.bgcolor is not None:  # the stripe is darker than the
                status = _on(status, style.bgcolor)  # grounds the theme's colours were made to read on
            special = [(pos, base + self._marks[r] if i == 0 else style + status)
                       for pos, (i, c, w) in enumerate(columns) if i in (0, len(self.columns) - 1)]
            lines.append(self._line(cells, style, special, width))
        self._strips = lines

    @staticmethod
    def _line(cells, style: Style, special, width: int, tail: str = "") -> Strip:
        overrides = dict(special)
        segments = []
        for pos, (text, w, right) in enumerate(cells):
            text = text if cell_len(text) <= w else short(text, w)
            pad = " " * (w - cell_len(text))
            cell = pad + text if right else text + pad
            if pos:
                segments.append(Segment(" " * GAP, style))
            segments.append(Segment(cell, overrides.get(pos, style)))
        used = sum(w for _, w, _ in cells) + GAP * max(0, len(cells) - 1)
        if tail:  # right-aligned at the end of the line; where the headers leave no room, short (" +1↓ ")
            if width - used < cell_len(tail):
                tail = tail.replace(" more runs", "").replace(" more run", "").replace(" (", "").replace(") ", " ")
            strip = Strip(segments + [Segment(" " * max(0, width - used), style)]).crop(0, max(0, width - cell_len(tail)))
            return Strip(list(strip) + [Segment(tail, style + Style(reverse=True))]).crop(0, width)
        if used < width:
            segments.append(Segment(" " * (width - used), style))
        return Strip(segments).crop(0, width)

    def on_focus(self) -> None:
        self._redraw()  # the cursor row's style depends on focus, and is baked into the strips

    def on_blur(self) -> None:
        self._redraw()

    # -- input ---------------------------------------------------------------------------------
    def action_move(self, delta: int) -> None:
        self._choose(self.selected + delta)

    def on_click(self, event: events.Click) -> None:
        if event.y >= 1:
            self._choose(self._top + event.y - 1)

    def _choose(self, index: int) -> None:
        if not self.rows:
            return
        index = max(0, min(index, len(self.rows) - 1))
        if index != self.selected:
            self.selected = index
            self._redraw()
            self.post_message(self.Selected(index))


def _settings(session: Session, i: int, mono: bool) -> tuple[list[str], Style]:
    """The cells of displayed run `i` that change only when the runs are rebuilt, and its mark style."""
    run = session.display[i]
    row = int(run.rows[0])
    config = session.configs[row]
    cohort, _ = session.cohort_of(row)
    hyper = cohort.optimizer.hyper
    opt = str(config.optimizer.get("name", cohort.optimizer.name))
    if opt in ("sgd", "rmsprop") and hyper.get("momentum"):
        opt += f" μ={hyper['momentum']:g}"
    mark = (Style(reverse=True, bold=True) if mono
            else palette.over("#000000", palette.RUN_COLOURS[run.colour % len(palette.RUN_COLOURS)], True))
    cells = [
        f" {run.letter} ",
        short(run.label, 28),
        f"{config.seed}+{len(run.rows) - 1}" if run.ensemble else str(config.seed),
        short(opt, 16),
        value(float(hyper["lr"])),
        str(config.schedule.get("name", "constant")),
        str(getattr(cohort.problem, "batch_size", "-")),
    ]
    return cells, mark


@lru_cache(maxsize=64)
def _on(status: Style, ground) -> Style:
    """A state's style with its colour readable (AA) on the row's background: on textual-light's
    striped row "local min at 26" was 4.47:1."""
    shown = readable(Color.from_rich_color(status.color), Color.from_rich_color(ground))
    return status + Style(color=shown.rich_color)


def _rates(session: Session, values: dict) -> list[str]:
    """Per displayed run, the learning rate in effect at the shown step (the one its next update
    uses), as the lr column writes it: an ensemble's median over its seeds (a plateau schedule
    cuts each seed's rate on its own). A diverged run steps no more: "-", not the rate its
    schedule would have reached (cosine-warmup's run without warm-up read "0")."""
    lr = np.atleast_1d(np.asarray(values.get("lr", ()), dtype=np.float64))
    diverged = np.asarray(session.sim.diverged_at)
    gone = (diverged >= 0) & (diverged <= session.shown_step)
    out = []
    for run in session.display:
        rows = np.asarray(run.rows)
        mine = lr[rows[~gone[rows]]] if lr.size > int(np.max(rows)) and len(gone) > int(np.max(rows)) else np.array([])
        finite = mine[np.isfinite(mine)]
        out.append(value(float(np.median(finite))) if len(finite) else "-")
    return out


def _readings(session: Session, i: int, values: dict, states: list, medians: bool) -> tuple[str, str, str, str]:
    """Loss, gradient norm and state of displayed run `i` at the shown step, and the state's
    severity; an ensemble's readings are medians over its seeds (said in the cell unless `medians`
    says it once for the whole table)."""
    run = session.display[i]
    losses = np.asarray(values["loss"])[run.rows]
    grads = np.asarray(values["grad_norm"])[run.rows]
    if run.ensemble:
        finite = losses[np.isfinite(losses)]
        loss = value(float(np.median(finite))) + ("" if medians else " (median)") if len(finite) else "-"
        grad = value(float(np.median(grads[np.isfinite(grads)]))) if np.isfinite(grads).any() else "-"
        mine = [states[int(r)] for r in run.rows]
        worst = min((s.severity for s in mine if s.severity), key=lambda v: ("error", "warning", "info").index(v),
                    default="")
        return loss, grad, tally_words(mine), worst
    state = states[int(run.rows[0])]
    return value(float(losses[0])), value(float(grads[0])), state.words, state.severity


def _key_cell(column: KeyColumn, values: np.ndarray, run, medians: bool) -> str:
    """A key-metric reading of a displayed run: an ensemble's median over its seeds."""
    mine = np.asarray(values, dtype=np.float64)[run.rows]
    if not run.ensemble:
        return key_cell(column, float(mine[0]))
    finite = mine[np.isfinite(mine)]
    if not len(finite):
        return "-"
    return key_cell(column, float(np.median(finite))) + ("" if medians else " (median)")


def more_runs(hidden: int, above: int, below: int) -> str:
    """The header's hint when the table has fewer lines than runs: " +2 more runs (↓) "."""
    if hidden <= 0:
        return ""
    keys = "/".join(k for k, n in (("↑", above), ("↓", below)) if n > 0)
    return f" +{hidden} more run{'s' if hidden > 1 else ''} ({keys}) "
