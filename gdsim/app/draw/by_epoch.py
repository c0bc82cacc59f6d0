"""The training loss against epochs, for scenarios whose runs have epochs of different lengths.

An epoch is one pass over the training set: (training examples) / (batch size) steps. Runs with
other data sizes or batch sizes then sit at other epochs after the same step, and "after N
epochs" and "after N steps" are different comparisons (epochs-vs-steps, batch-size). The loss
plot draws steps; this panel draws each run at its own epochs, on a log axis: a run whose epoch
is ten times longer is the same curve shifted one decade, which a linear axis would squeeze into
its first tenth. Epochs are counted as the run table's `epochs` column counts them (the step over
the problem's steps per epoch), so the plot and the table agree.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from gdsim.app.draw.series import PlotData, traces_by_run
from gdsim.app.runtime.session import Session

TITLE = "training loss by epoch"
X_LABEL = "epochs"


def steps_per_epoch(session: Session) -> dict[int, int]:
    """Per run row, its problem's steps per epoch (rows of problems without epochs left out)."""
    out: dict[int, int] = {}
    for cohort in session.sim.cohorts:
        per = getattr(cohort.problem, "steps_per_epoch", None)
        if per:
            out.update({int(row): int(per) for row in cohort.rows})
    return out


def epochs_differ(session: Session) -> bool:
    """Whether the runs' epochs have different lengths (else epochs are steps rescaled: no panel)."""
    return len(set(steps_per_epoch(session).values())) > 1


def epoch_plot(session: Session, points: int) -> PlotData:
    """Each display run's training loss (the whole training set, where it is measured; else the
    mini-batch loss) at its epochs; the cursor at the selected run's epoch."""
    history = session.sim.history
    field = "train_loss" if history is not None and "train_loss" in history.fields else "loss"
    per = steps_per_epoch(session)
    traces = []
    for run, found in zip(session.display, _per_run(session, field, points)):
        length = per.get(int(run.rows[0]))
        for trace in found if length else ():
            traces.append(replace(trace, steps=trace.steps / length))
    planned = max((session.stop_at / n for n in per.values()), default=0.0)
    cursor = None
    selected = per.get(int(session.current.rows[0])) if session.display else None
    if session.cursor is not None and selected and session.cursor > 0:
        cursor = session.cursor / selected
    return PlotData(TITLE, tuple(traces), cursor, None, x_max=planned, x_label=X_LABEL, log_x=True)


def _per_run(session: Session, field: str, points: int) -> list[list]:
    """Per display run, its traces of `field` (thinned to `points` records, as traces_for does)."""
    history = session.sim.history
    if history is None or field not in history.fields:
        return [[] for _ in session.display]
    steps, values = history.series(field)
    # the training loss is measured every few steps (NaN between): thinned first, most points
    # would fall between measurements (epochs-vs-steps: 7 of 71 left)
    measured = np.isfinite(values.reshape(len(steps), -1)).any(axis=1) & (steps > 0)  # epoch 0: not on a log axis
    steps, values = steps[measured], values[measured]
    index = log_thin(steps, points)
    return traces_by_run(session, steps[index], values[index])


def log_thin(steps: np.ndarray, points: int) -> np.ndarray:
    """Indices of at most about `points` records, evenly spaced on a log axis (the first and last
    kept): thinned evenly in steps, the first decade of a log axis would get one point or none."""
    if len(steps) <= points:
        return np.arange(len(steps))
    targets = np.geomspace(float(steps[0]), float(steps[-1]), points)
    return np.unique(np.clip(np.searchsorted(steps, targets), 0, len(steps) - 1))
