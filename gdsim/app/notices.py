"""Plain-language notices about the runs: divergence, early stops, stalls and which minimum was reached."""

from __future__ import annotations

import numpy as np

from gdsim.app.runtime.session import Session

STALL_GRAD = 1e-6
STALL_STEPS = 200


def notices(session: Session, limit: int = 4) -> list[tuple[str, str]]:
    """(severity, sentence) pairs, most important first; severity is "error", "warning" or "info"."""
    sim = session.sim
    out: list[tuple[str, str]] = []
    diverged = sim.diverged_at
    stopped = sim.stopped_at
    loss = sim.loss
    for run in session.display:
        rows = run.rows
        if run.ensemble:
            n_div = int((diverged[rows] >= 0).sum())
            if n_div:
                first = int(diverged[rows][diverged[rows] >= 0].min())
                out.append(("error", f"{run.label}: {n_div} of {len(rows)} runs diverged (first at step {first})"))
            continue
        r = int(rows[0])
        if diverged[r] >= 0:
            out.append(("error", f"{run.label} diverged at step {int(diverged[r])}: the loss blew up; try a smaller learning rate (key l)"))
            continue
        if stopped[r] >= 0:
            out.append(("info", f"{run.label} stopped early at step {int(stopped[r])}: validation loss stopped improving"))
            continue
        stalled_for = _small_grad_steps(session, r)
        if stalled_for < STALL_STEPS:
            continue
        reached = _minimum_reached(session, r, float(loss[r]))
        if reached:
            out.append(reached)
        else:
            out.append(("warning", f"{run.label} stalled: gradient norm below {STALL_GRAD:g} for "
                                   f"{stalled_for} steps (loss {float(loss[r]):.4g})"))
    order = {"error": 0, "warning": 1, "info": 2}
    out.sort(key=lambda item: order[item[0]])
    return out[:limit]


def _small_grad_steps(session: Session, row: int) -> int:
    """How many steps the gradient norm of run `row` has stayed below STALL_GRAD up to now."""
    history = session.sim.history
    if history is None or history.count == 0:
        return 0
    steps, values = history.series("grad_norm")
    column = values[:, row]
    big = np.flatnonzero(~(column < STALL_GRAD))
    if len(big) == len(column):
        return 0
    if len(big) == 0:
        since = int(steps[0])
    else:
        last = int(big[-1])
        if last == len(column) - 1:
            return 0
        since = int(steps[last + 1])
    return session.sim.step_count - since


def _minimum_reached(session: Session, row: int, loss: float) -> tuple[str, str] | None:
    cohort, index = session.cohort_of(row)
    problem = cohort.problem
    minima = getattr(problem, "minima", None)
    label = session.sim.runs[row].label
    if not minima or not hasattr(problem, "nearest_minimum"):
        return None
    which, distance = problem.nearest_minimum(cohort.params[index : index + 1])
    which, distance = int(which[0]), float(distance[0])
    xmin, xmax, ymin, ymax = problem.view
    if which < 0 or distance > 0.02 * max(xmax - xmin, ymax - ymin):
        return None
    minimum = minima[which]
    best = min(m.value for m in minima if m.kind != "saddle") if any(m.kind != "saddle" for m in minima) else None
    if minimum.kind == "saddle":
        return ("warning", f"{label} is stuck at a saddle point (loss {loss:.4g}): the gradient vanishes but it is not a minimum")
    if minimum.kind == "global":
        return ("info", f"{label} reached the global minimum (loss {loss:.4g})")
    global_part = f", global minimum {best:.4g}" if best is not None else ""
    return ("warning", f"{label} reached a local minimum (loss {loss:.4g}{global_part})")
