"""What `gdsim sweep` writes: records (JSON lines, CSV), a table, a terminal plot, and notes saying
what the sweep measured beside what theory says (on a quadratic)."""

from __future__ import annotations

import csv
import json
import math
from typing import IO, Any

import numpy as np

from gdsim.records import fmt

SHADES = "@%#*+=-:."  # lowest value first: dark is good (a low loss, few steps)
DIVERGED, BEST, OPTIMUM, EDGE = "X", "B", "T", "|"
PLOT_HEIGHT = 16


def point_records(result: Any, metrics: list[str]) -> list[dict[str, Any]]:
    """One dict per grid point: the swept values, then each metric (None where it has no value)."""
    values = {name: result.metric(name) for name in metrics if name != "diverged"}
    records = []
    for r in range(len(result.final_loss)):
        record: dict[str, Any] = {key: float(v[r]) for key, v in result.settings.items()}
        for name in metrics:
            if name == "diverged":
                record["diverged"] = bool(result.diverged[r])
                record["diverged_at"] = int(result.diverged_at[r]) if result.diverged[r] else None
                continue
            value = float(values[name][r])
            if not math.isfinite(value):
                record[name] = None
            elif name.startswith("steps_to:"):
                record[name] = int(value)
            else:
                record[name] = value
        records.append(record)
    return records


def write_jsonl(result: Any, metrics: list[str], out: IO[str]) -> None:
    for record in point_records(result, metrics):
        out.write(json.dumps(record, allow_nan=False, separators=(", ", ": ")) + "\n")


def write_csv(result: Any, metrics: list[str], out: IO[str]) -> None:
    writer = csv.writer(out, lineterminator="\n")
    records = point_records(result, metrics)
    writer.writerow(list(records[0]))
    for record in records:
        writer.writerow(["" if v is None else ("true" if v is True else "false" if v is False else repr(v))
                         for v in record.values()])


def write_table(result: Any, metrics: list[str], out: IO[str], source: str) -> None:
    """A row per point; the best point (gdsim.engine.sweep.SweepResult.best: the lowest final loss,
    or whole-training-set loss on a data set, among points that did not diverge) marked."""
    out.write(f"{source}\n")
    records = point_records(result, metrics)
    names = list(records[0])
    widths = [max(11, len(n)) for n in names]
    out.write(" ".join(f"{n:>{w}}" for n, w in zip(names, widths)) + "\n")
    best = result.best()
    for r, record in enumerate(records):
        cells = []
        for (name, value), width in zip(record.items(), widths):
            if name == "diverged":
                cells.append(f"{'yes' if value else 'no':>{width}}")
            elif name == "diverged_at" or name.startswith("steps_to:"):
                cells.append(f"{'-' if value is None else value:>{width}}")
            else:
                cells.append(fmt(value, width))
        out.write(" ".join(cells) + ("  <- best" if r == best else "") + "\n")


def write_notes(result: Any, sweep: Any, metrics: list[str], out: IO[str]) -> None:
    from gdsim.engine.sweep_theory import describe

    out.write("\n")
    for line in describe(result, sweep):
        out.write(line + "\n")


def write_plot(result: Any, sweep: Any, metric: str, out: IO[str], source: str) -> None:
    out.write(f"{source}\n")
    if len(result.axes) == 1:
        out.write(plot_1d(result, sweep, metric) + "\n")
    elif len(result.axes) == 2:
        for line in heat_map(result, sweep, metric):
            out.write(line + "\n")
    else:
        out.write(f"(a plot shows one or two varied keys; this sweep varies {len(result.axes)}: "
                  "use --format table, csv or jsonl)\n")


def plot_1d(result: Any, sweep: Any, metric: str, width: int | None = None) -> str:
    """The metric against the swept value (plotext); diverged points as X along the top."""
    import plotext as plt

    from gdsim.commands.terminal_plots import _ticks, plot_width
    from gdsim.engine.sweep_theory import quadratic_theory

    axis = result.axes[0]
    x = axis.values
    y = result.metric(metric)
    ok = np.isfinite(y) & ~result.diverged
    plt.clear_figure()
    plt.plotsize(width or plot_width(), PLOT_HEIGHT)
    plt.theme("clear")
    log_y = bool(ok.any()) and bool(np.all(y[ok] > 0)) and y[ok].max() / y[ok].min() >= 100
    top = float(y[ok].max()) if ok.any() else 1.0
    if ok.any():
        plt.scatter(x[ok].tolist(), y[ok].tolist(), marker="*")
    if result.diverged.any():
        plt.scatter(x[result.diverged].tolist(), [top] * int(result.diverged.sum()), marker=DIVERGED)
    if axis.scale == "log":
        plt.xscale("log")
    if log_y:
        plt.yscale("log")
    if ok.any():
        ticks, labels = _ticks(float(y[ok].min()), top, log_y)
        plt.yticks(ticks, labels)
    theory = quadratic_theory(sweep.cohort.problem, sweep.optimizer, sweep.cohort.clip_norm)
    if theory is not None and axis.key == "lr":
        beta = float(np.asarray(sweep.optimizer.hyper.get("momentum", 0.0)).flat[0])
        edge = float(theory.momentum_edge(beta))
        if axis.low <= edge <= axis.high:
            plt.vline(edge)
    plt.xlabel(axis.key + (" (log scale)" if axis.scale == "log" else ""))
    plt.title(f"{metric}{' (log scale)' if log_y else ''}")
    text = plt.uncolorize(plt.build())
    plt.clear_figure()
    key = f"* a run's {metric}   {DIVERGED} diverged (drawn at the top)"
    if theory is not None and axis.key == "lr":
        key += "   | theory's edge"
    return text.rstrip() + "\n" + key


def heat_map(result: Any, sweep: Any, metric: str) -> list[str]:
    """The metric over two keys as characters: the first key across, the second up; darker is
    lower (SHADES), X diverged, B the best point, and on a quadratic T theory's optimum and |
    theory's edge (the first cell beyond it in each row)."""
    from gdsim.engine.sweep_theory import quadratic_theory

    ax, ay = result.axes
    grid = result.metric(metric).reshape(result.shape)  # [i (x), j (y)]
    diverged = result.diverged.reshape(result.shape)
    ok = np.isfinite(grid) & ~diverged
    levels = np.full(grid.shape, -1)
    if ok.any():
        values = grid[ok]
        scaled = np.log10(values) if np.all(values > 0) else values
        low, high = float(scaled.min()), float(scaled.max())
        span = high - low or 1.0
        levels[ok] = np.minimum(len(SHADES) - 1, ((scaled - low) / span * len(SHADES)).astype(int))
    theory = quadratic_theory(sweep.cohort.problem, sweep.optimizer, sweep.cohort.clip_norm)
    marks: dict[tuple[int, int], str] = {}
    if theory is not None and {ax.key, ay.key} == {"lr", "momentum"}:
        lr_axis, m_axis = (ax, ay) if ax.key == "lr" else (ay, ax)
        for j, beta in enumerate(m_axis.values):
            beyond = np.flatnonzero(lr_axis.values >= theory.momentum_edge(beta))
            if len(beyond):
                marks[(beyond[0], j) if ax.key == "lr" else (j, beyond[0])] = EDGE
        i = _nearest(lr_axis, theory.alpha_star)
        j = _nearest(m_axis, theory.beta_star)
        if i is not None and j is not None:
            marks[(i, j) if ax.key == "lr" else (j, i)] = OPTIMUM
    best = result.best(metric) if metric != "diverged" else None
    if best is not None:
        marks[np.unravel_index(best, result.shape)] = BEST
    label_width = 10
    lines = [f"{metric} over {ax.key} (across) and {ay.key} (up)"]
    for j in reversed(range(ay.n)):
        row = "".join(marks.get((i, j)) or (DIVERGED if diverged[i, j] else SHADES[levels[i, j]] if levels[i, j] >= 0
                                             else "?") for i in range(ax.n))
        label = f"{ay.values[j]:.3g}" if j in (0, ay.n - 1, ay.n // 2) else ""
        lines.append(f"{label:>{label_width}} {row}")
    lines.append(f"{'':>{label_width}} {ax.values[0]:<.3g}".ljust(label_width + 1 + ax.n - 8) + f"{ax.values[-1]:.3g}")
    lines.append(f"{'':>{label_width}} {ax.key} ({ax.scale} scale) ->")
    legend = f"{SHADES[0]} lowest ... {SHADES[-1]} highest {metric}"
    legend += f" ({'log' if ok.any() and np.all(grid[ok] > 0) else 'linear'} scale), {DIVERGED} diverged, {BEST} best"
    if marks and theory is not None:
        legend += f", {OPTIMUM} Goh's optimum, {EDGE} theory's edge 2(1 + β)/λmax"
    lines.append(legend)
    return lines


def _nearest(axis: Any, value: float) -> int | None:
    if not axis.low <= value <= axis.high:
        return None
    values = axis.values
    if axis.scale == "log":
        return int(np.argmin(np.abs(np.log(values) - math.log(value))))
    return int(np.argmin(np.abs(values - value)))
