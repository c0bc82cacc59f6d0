"""Plots of runs in the shell with plotext: loss, |grad|, |velocity| and learning rate over steps.

Used after a headless run (`gdsim run ... --plot`) and for a saved run (`gdsim plot FILE`), where
plotext's ~20 ms a plot does not matter (the app draws its own canvas for live redraws). Each
panel is one plotext figure built to a string: a log y axis where the values span two decades or
more, each diverged run cut at its divergence and marked with an X there (and named in the
legend). An ensemble of more than MAX_LINES runs is drawn as each group's median. Colour only on a
terminal and without NO_COLOR; otherwise plain characters, one marker per line, readable in a
pipe, a CI log or over `ssh host gdsim run ...`.
"""

from __future__ import annotations

import math
import os
import shutil
from dataclasses import dataclass
from typing import IO

import numpy as np

METRICS = (("loss", "loss"), ("grad_norm", "|grad|"), ("velocity_norm", "|velocity|"), ("lr", "learning rate"))
MAX_LINES = 8  # more runs than this: one median line per group
MARKERS = ("*", "+", "o", "#", "@", "%", "=", "~")  # lines differ by their marker (and colour on a terminal)
COLOURS = ("blue+", "green+", "magenta+", "cyan+", "yellow+", "blue", "green", "magenta")
DIVERGED_MARK = "X"
PANEL_HEIGHT = 13
LABEL_WIDTH = 28


@dataclass
class Trace:
    """One run's (or one group's median) series over the recorded steps."""

    label: str
    group: str
    steps: np.ndarray
    values: dict[str, np.ndarray]
    diverged_at: int | None = None  # the step at which the run was found diverged
    stopped_at: int | None = None
    note: str = ""  # e.g. "median of 100, 12 diverged"
    members: int = 1


def use_colour(out: IO[str]) -> bool:
    """Colour only on a terminal, with NO_COLOR unset or empty (no-color.org) and TERM not dumb."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(out, "isatty", None)
    return bool(isatty and isatty())


def plot_width() -> int:
    """The terminal's width (COLUMNS in a pipe, else 80), kept between 40 and 120 columns."""
    return max(40, min(120, shutil.get_terminal_size((80, 24)).columns))


def median_traces(traces: list[Trace]) -> list[Trace]:
    """One trace per group: the median at each step over the runs still going (a diverged run
    leaves the median at its divergence)."""
    groups: dict[str, list[Trace]] = {}
    for t in traces:
        groups.setdefault(t.group, []).append(t)
    out = []
    for name, members in groups.items():
        if len(members) == 1:
            out.append(members[0])
            continue
        steps = members[0].steps
        values = {}
        for key in members[0].values:
            stack = np.full((len(members), len(steps)), np.nan)
            for i, t in enumerate(members):
                same_steps = len(t.steps) == len(steps) and np.array_equal(t.steps, steps)
                v = t.values[key] if same_steps else np.interp(steps, t.steps, t.values[key])
                if t.diverged_at is not None:
                    v = np.where(steps < t.diverged_at, v, np.nan)
                stack[i] = v
            with np.errstate(all="ignore"):
                alive = np.isfinite(stack).any(axis=0)
                med = np.full(len(steps), np.nan)
                if alive.any():
                    med[alive] = np.nanmedian(stack[:, alive], axis=0)
            values[key] = med
        diverged = [t.diverged_at for t in members if t.diverged_at is not None]
        note = f"median of {len(members)}"
        if diverged:
            note += f", {len(diverged)} diverged"
        out.append(Trace(name, name, steps, values, note=note, members=len(members)))
    return out


def legend_label(t: Trace) -> str:
    label = t.label if len(t.label) <= LABEL_WIDTH else t.label[: LABEL_WIDTH - 1] + "…"
    if t.note:
        label += f" ({t.note})"
    if t.diverged_at is not None:
        label += f", diverged at step {t.diverged_at}"
    elif t.stopped_at is not None:
        label += f", stopped early at step {t.stopped_at}"
    return label


def _ticks(low: float, high: float, log: bool) -> tuple[list[float], list[str]]:
    if log:
        first, last = math.ceil(math.log10(low)), math.floor(math.log10(high))
        stride = max(1, (last - first) // 4 + 1)
        exponents = range(first, last + 1, stride)
        plain = all(-2 <= e <= 3 for e in exponents)
        return [10.0**e for e in exponents], [f"{10.0**e:g}" if plain else f"1e{e:+03d}" for e in exponents]
    ticks = np.linspace(low, high, 5).tolist() if high > low else [low]
    return ticks, [f"{v:.3g}" for v in ticks]


def draw_panel(traces: list[Trace], key: str, title: str, width: int, colour: bool) -> str | None:
    """One panel as text (trace i drawn with MARKERS[i] / COLOURS[i]), or None when no trace has a
    finite value for `key`. The legend is written once, by write_plots: plotext's own would
    cover the first steps of every panel."""
    import plotext as plt

    series = []
    for i, t in enumerate(traces):
        steps, values = t.steps, t.values.get(key)
        if values is None:
            continue
        keep = np.isfinite(values)
        if t.diverged_at is not None:
            keep &= steps < t.diverged_at
        if keep.any():
            series.append((i, t, steps[keep], values[keep]))
    if not series:
        return None
    finite = np.concatenate([v for *_, v in series])
    low, high = float(finite.min()), float(finite.max())
    log = low > 0 and high / low >= 100
    plt.clear_figure()
    plt.plotsize(width, PANEL_HEIGHT)
    if not colour:
        plt.theme("clear")
    for i, t, s, v in series:
        plt.plot(s.tolist(), v.tolist(), marker=MARKERS[i % len(MARKERS)],
                 color=COLOURS[i % len(COLOURS)] if colour else None)
    marks = [(int(s[-1]), float(v[-1])) for _, t, s, v in series if t.diverged_at is not None]
    if marks:
        plt.scatter([m[0] for m in marks], [m[1] for m in marks], marker=DIVERGED_MARK,
                    color="red" if colour else None)
    if log:
        plt.yscale("log")
    ticks, labels = _ticks(low, high, log)
    plt.yticks(ticks, labels)
    last = max(int(s[-1]) for _, _, s, _ in series)
    xt = sorted({int(round(x)) for x in np.linspace(0, last, 5)})
    plt.xticks(xt, [str(x) for x in xt])
    plt.title(f"{title} (log scale)" if log else title)
    plt.xlabel("step")
    text = plt.build()
    plt.clear_figure()
    return text if colour else plt.uncolorize(text)


def legend(traces: list[Trace], width: int, colour: bool) -> list[str]:
    """'* label' for each line, wrapped to `width`, and what X means if a run diverged."""
    import plotext as plt

    items = []
    for i, t in enumerate(traces):
        marker = MARKERS[i % len(MARKERS)]
        items.append((f"{marker} {legend_label(t)}", plt.colorize(marker, COLOURS[i % len(COLOURS)]) if colour else marker))
    if any(t.diverged_at is not None for t in traces):
        items.append((f"{DIVERGED_MARK} where a run diverged (its last finite value)",
                      plt.colorize(DIVERGED_MARK, "red") if colour else DIVERGED_MARK))
    lines, line, used = [], "", 0
    for plain, shown_marker in items:
        piece = shown_marker + plain[1:]
        if used and used + 3 + len(plain) > width:
            lines.append(line)
            line, used = "", 0
        line += ("   " if used else "") + piece
        used += (3 if used else 0) + len(plain)
    if line:
        lines.append(line)
    return ["Lines: " + lines[0]] + ["       " + rest for rest in lines[1:]] if lines else []


def write_plots(traces: list[Trace], out: IO[str], *, source: str, width: int | None = None,
                colour: bool | None = None) -> None:
    """The four panels of `traces` and a line per diverged run, written to `out`."""
    width = plot_width() if width is None else width
    colour = use_colour(out) if colour is None else colour
    shown = traces if len(traces) <= MAX_LINES else median_traces(traces)
    dropped = 0
    if len(shown) > MAX_LINES:
        dropped, shown = len(shown) - MAX_LINES, shown[:MAX_LINES]
    runs = sum(t.members for t in traces)
    out.write(f"{source}: {runs} run{'s' if runs != 1 else ''}\n")
    if shown is not traces:
        out.write("Each group is drawn as its median over its runs still going.\n")
    if dropped:
        out.write(f"({dropped} more group{'s' if dropped != 1 else ''} not drawn: at most {MAX_LINES} lines a plot)\n")
    for line in legend(shown, width - 7, colour):
        out.write(line + "\n")
    for key, title in METRICS:
        panel = draw_panel(shown, key, title, width, colour)
        if panel is None:
            reason = "no run has a momentum buffer or first moment" if key == "velocity_norm" else "no finite values"
            out.write(f"\n{title}: not drawn ({reason})\n")
            continue
        out.write("\n" + panel.rstrip() + "\n")
    diverged = [t for t in traces if t.diverged_at is not None]
    if diverged:
        out.write(f"\n{len(diverged)} of {runs} run{'s' if runs != 1 else ''} diverged (marked {DIVERGED_MARK}): "
                  + ", ".join(f"{t.label} at step {t.diverged_at}" for t in diverged[:10])
                  + (", ..." if len(diverged) > 10 else "") + "\n")


def traces_from_simulation(sim) -> list[Trace]:
    """The runs of a simulation stepped with history, as traces."""
    history = sim.history
    steps = None
    values: dict[str, np.ndarray] = {}
    for key, _ in METRICS:
        if key not in history.fields:
            continue
        s, v = history.series(key)
        steps = np.asarray(s)
        values[key] = np.asarray(v, dtype=np.float64)
    diverged, stopped = sim.diverged_at, sim.stopped_at
    traces = []
    for r, run in enumerate(sim.runs):
        traces.append(Trace(
            run.label, run.group, steps, {k: v[:, r] for k, v in values.items()},
            diverged_at=int(diverged[r]) if diverged[r] >= 0 else None,
            stopped_at=int(stopped[r]) if stopped[r] >= 0 else None,
        ))
    return traces
