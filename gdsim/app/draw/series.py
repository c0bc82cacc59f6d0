"""From the Simulation's History to what a plot draws: downsampled, finite-only traces per run.

Plots never see more than about twice their width in points, never a non-finite value, and an
ensemble arrives as a percentile band plus a median line rather than one line per seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gdsim.app.runtime.session import DisplayRun, Session


@dataclass(frozen=True)
class Trace:
    """One thing a curve plot draws: a line, dots, or a band (low..high) with its median as `values`."""

    colour: int
    steps: np.ndarray
    values: np.ndarray
    kind: str = "line"  # "line", "dots" or "band"
    low: np.ndarray | None = None
    high: np.ndarray | None = None
    diverged: int = -1  # the step the run diverged at (the trace ends there); -1 if it did not


@dataclass(frozen=True)
class PlotData:
    title: str
    traces: tuple[Trace, ...]
    cursor: int | None = None  # the rewound step, drawn as a vertical line
    log: bool | None = False  # None: the plot decides, with hysteresis (log_wanted)
    note: str = ""
    x_max: float = 0  # the x axis reaches at least this step (the run's planned length)
    legend: tuple[tuple[str, int], ...] = ()  # (text, colour) pieces after the title (e.g. layers)
    x_label: str = "step"  # what the x axis counts
    log_x: bool = False  # a log x axis (from the first positive x): by_epoch.py
    levels: tuple[tuple[float, str], ...] = ()  # (height, name): a dim dotted line across, named on the y axis
    floor: float = 0.0  # a log axis goes no lower (values below are drawn on it, "≤"); 0: LOG_DEPTH decides


def thin(count: int, limit: int) -> np.ndarray:
    """Indices of at most `limit` evenly spaced records out of `count`, first and last kept."""
    if count <= limit:
        return np.arange(count)
    return np.unique(np.linspace(0, count - 1, max(2, limit)).round().astype(np.int64))


def finite_pairs(steps: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keep = np.isfinite(values)
    return steps[keep], values[keep]


def traces_for(session: Session, field: str, points: int, *, component: int | None = None,
               kind: str = "line", skip: int = 0) -> list[Trace]:
    """One trace per display run for a History field (component picks a column of params/velocity);
    `skip` leaves out the first records before thinning (a step length has none at step 0: thinned
    from record 0 the plot would start at its fifth record and miss the first, largest steps)."""
    history = session.sim.history
    if history is None or field not in history.fields:
        return []
    steps, values = history.series(field)
    steps, values = steps[skip:], values[skip:]
    index = thin(len(steps), points)
    steps = steps[index]
    values = values[index]
    if component is not None:
        if values.ndim < 3 or component >= values.shape[2]:
            return []
        values = values[:, :, component]
    return [trace for found in traces_by_run(session, steps, values, kind) for trace in found]


def traces_by_run(session: Session, steps: np.ndarray, values: np.ndarray, kind: str = "line") -> list[list[Trace]]:
    """Per display run (in order), its traces (none for a run without a finite value)."""
    diverged = session.sim.diverged_at
    return [_run_traces(run, steps, values, kind, diverged[run.rows]) for run in session.display]


def _run_traces(run: DisplayRun, steps: np.ndarray, values: np.ndarray, kind: str,
                diverged: np.ndarray | int = -1) -> list[Trace]:
    """A single run's line (ending where it diverged), or an ensemble's band (see _band)."""
    diverged = np.atleast_1d(np.asarray(diverged, dtype=np.int64))
    if not run.ensemble:
        div = int(diverged[0])
        s, v = finite_pairs(steps, values[:, int(run.rows[0])])
        if div >= 0:  # frozen from there on: the trace ends where the run blew up
            keep = s <= div
            s, v = s[keep], v[keep]
        return [Trace(run.colour, s, v, kind, diverged=div)] if len(s) else []
    if len(diverged) != len(run.rows):
        diverged = np.full(len(run.rows), -1, dtype=np.int64)
    return _band(run.colour, steps, values[:, run.rows], diverged)


def _band(colour: int, steps: np.ndarray, block: np.ndarray, diverged: np.ndarray) -> list[Trace]:
    """An ensemble as its median and 10-90 % band, over the seeds that have not diverged: a seed
    that blew up leaves the band at its divergence step (its frozen 1e12 would otherwise be the
    band's top, and the plot's scale). Once more than half the seeds have diverged the median has
    too: the trace ends there, at the blown-up value, and is a diverged trace like a single run's
    (✕, clipped at the top, never sets the scale: cosine-warmup's median of 3.4e12)."""
    gone = (diverged[None, :] >= 0) & (steps[:, None] >= diverged[None, :])
    n = len(diverged)
    order = np.sort(np.where(diverged >= 0, diverged, np.iinfo(np.int64).max))
    half = int(order[n // 2])  # the step by which more than half the seeds had diverged
    median_diverged = half != np.iinfo(np.int64).max
    with np.errstate(all="ignore"):
        low, mid, high = nan_percentiles(np.where(gone, np.nan, block), (10, 50, 90))
    keep = np.isfinite(low) & np.isfinite(mid) & np.isfinite(high)
    if median_diverged:
        keep &= steps < half
    s, lo, mi, hi = steps[keep], low[keep], mid[keep], high[keep]
    if median_diverged:
        after = np.flatnonzero(steps >= half)
        if len(after):  # the blown-up value where the median seed diverged
            at = block[after[0]]
            finite = at[np.isfinite(at)]
            if len(finite):
                top = float(finite.max())
                s = np.append(s, steps[after[0]])
                lo, mi, hi = np.append(lo, top), np.append(mi, top), np.append(hi, top)
    if not len(s):
        return []
    return [Trace(colour, s, mi, "band", lo, hi, diverged=half if median_diverged else -1)]


def nan_percentiles(block: np.ndarray, qs: tuple[float, ...]) -> list[np.ndarray]:
    """Per row of `block` (records x seeds), the percentiles `qs` of its non-NaN values, NaN for a
    row with none: np.nanpercentile's linear method, in a few whole-array calls (NumPy's own
    version loops over the rows in Python when any NaN is present: ~20 ms a frame for a band)."""
    ordered = np.sort(block, axis=1)  # NaN sorts last
    count = (~np.isnan(ordered)).sum(axis=1)
    last = np.maximum(count - 1, 0)
    rows = np.arange(len(ordered))
    out = []
    with np.errstate(invalid="ignore"):  # inf - inf between two infinite neighbours
        for q in qs:
            position = q / 100 * last
            below = np.floor(position).astype(np.int64)
            fraction = position - below
            a, b = ordered[rows, below], ordered[rows, np.minimum(below + 1, last)]
            value = np.where(fraction == 0, a, a + (b - a) * fraction)  # an exact rank: no 0 * inf
            out.append(np.where(count > 0, value, np.nan))
    return out


LOG_ON = 100.0  # a linear axis turns logarithmic when the values span more than two decades
LOG_OFF = 10.0  # and a log axis turns back only below one decade: no flipping during a run


def ranging(traces: list[Trace]) -> list[Trace]:
    """The traces a plot's y range comes from: not those of diverged runs (which are clipped at
    the edge instead), unless every run diverged."""
    drawn = [t for t in traces if len(t.values)]
    calm = [t for t in drawn if t.diverged < 0]
    return calm or drawn


def log_wanted(traces: list[Trace], was_log: bool) -> bool:
    """Log scale for the whole visible range of the calm runs, with hysteresis (LOG_ON/LOG_OFF).

    Exact zeros (Newton's loss at the minimum) do not forbid it: the positive values decide and
    a zero is drawn at the bottom edge; a negative value does (a loss below zero on a surface)."""
    kept = ranging(traces)
    if not kept:
        return was_log
    lows = [t.values if t.low is None else t.low for t in kept]
    highs = [t.values if t.high is None else t.high for t in kept]
    if any(float(np.min(v)) < 0 for v in lows):
        return False
    positive = [v[v > 0] for v in lows]
    positive = [v for v in positive if len(v)]
    if not positive:
        return False
    low = min(float(v.min()) for v in positive)
    high = max(float(np.max(v)) for v in highs)
    return high / low > (LOG_OFF if was_log else LOG_ON)


def wants_log(traces: list[Trace]) -> bool:
    """Log scale when every value is positive and they span more than two decades."""
    lows = [t.values.min() if t.low is None else t.low.min() for t in traces if len(t.values)]
    highs = [t.values.max() if t.high is None else t.high.max() for t in traces if len(t.values)]
    if not lows:
        return False
    low, high = min(lows), max(highs)
    return bool(low > 0 and high / low > 100)


def final_values(session: Session, run: DisplayRun, field: str = "loss") -> np.ndarray:
    """The latest finite values of `field` for the run's seeds (an ensemble's histogram)."""
    values = session.values_at_cursor().get(field)
    if values is None:
        return np.array([])
    chosen = np.asarray(values)[run.rows]
    return chosen[np.isfinite(chosen)]
