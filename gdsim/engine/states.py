"""Run states in words: ONE classification of where each run stands, for every view that says it.

The run table's status column, the notices, `gdsim run --format summary` and the verdicts all call
`run_states(sim)` (or `classify` on a Window they built) and show `RunState.words` or
`RunState.sentence(label)`; none of them decides a state on its own.

A state is decided from the run's flags (diverged, stopped early), from where it is (a known
minimum or saddle of a surface) and from a WINDOW of its recent steps, never from one step alone:
a run with a tiny gradient whose loss still falls, or whose gradient grows as it leaves a flat
region, is `slow`, not `stalled` (slow is not stuck: GD-FACTS.md). In order of precedence:

    diverged at k          the engine froze it at step k (non-finite, or beyond the bound)
    stopped early at k (best k')   early stopping froze it at k; validation was best at k'
    global min / local min / saddle   within NEAR_FRACTION of the view of a known point
    growing                the loss rose over the window (the later half's median at least
                           doubled above the floor, and the last value not back down; or, with
                           no noise, each quarter's mean above the one before, to STEADY_GROWTH
                           times the first: GD just over its stability limit)
    oscillating            the path reverses direction at most steps, or (no noise) the loss
                           keeps going up and down
    stalled                stationary at a high loss above a known lower minimum (surfaces), or
                           stuck at the start: the loss never fell STUCK_FRACTION of the way
                           from the start and is not falling (a learning rate 0, a network
                           stuck near chance), unless the model is convex and stationary or
                           the loss swings widely (then oscillating: a bouncing run is not stuck)
    converged              stationary (loss flat, gradient small or the run still; or the
                           descent over: the window's later half flat and a sliver of its fall) where no
                           known lower point exists: on a data set without a known optimum a
                           stationary run is converged, whatever its loss (a linear model's MSE
                           at its least-squares minimum is converged, not stalled)
    slow                   small gradient at a high loss, but not stationary (still moving)
    moving                 none of the above, with enough steps to judge
    ok                     too early to say anything (fewer than two records)

The thresholds and the array code that judges a window are in gdsim.engine.state_rules; the
states judged at every record as the engine steps (what `[` and `]` jump between) in
gdsim.engine.state_events. Pure NumPy; vectorised over runs (an ensemble of 1,000 is one pass).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from gdsim.engine.run_state import KINDS, PLACE, SEVERITY, WINDOW_STEPS, RunState, tally, tally_sentence, tally_words
from gdsim.engine.state_facts import (
    NEAR_FRACTION, Known, best_steps, chance_loss, is_convex, is_noisy, known_of,
)
from gdsim.engine.state_rules import MIN_SPAN, Judged, Window, judge  # noqa: F401  (MIN_SPAN: tests read it here)

__all__ = ["KINDS", "NEAR_FRACTION", "PLACE", "SEVERITY", "WINDOW_STEPS", "Known", "RunState", "Window", "best_steps", "chance_loss",
           "classify", "is_convex", "is_noisy", "run_states", "tally", "tally_sentence", "tally_words", "window_of"]

def classify(window: Window, *, diverged_at: np.ndarray | None = None, stopped_at: np.ndarray | None = None,
             best_at: np.ndarray | None = None, known: Known | None = None,
             noisy: np.ndarray | bool = False, floor: float | None = None,
             convex: np.ndarray | bool = False, chance: np.ndarray | float | None = None,
             better: np.ndarray | float | None = None) -> list[RunState]:
    """The state of each of the window's R runs (see the module docstring for the rules).

    diverged_at / stopped_at: the step or -1 per run (flags after the window's last step are
    ignored, so a rewound view is judged as it stood); best_at: the best validation step of runs
    stopped early; known: the surface's known points; noisy: per run, whether its gradient is a
    random sample (noise, mini-batches, dropout): then only direction reversals mean oscillating;
    floor: the lowest loss reachable (default: the global minimum's value if known, else 0);
    convex: per run, whether its model has no hidden layer (a stationary point is its optimum);
    chance: per run, the loss of predicting the label frequencies (classifiers; NaN or None: unknown);
    better: per run, the lowest loss another run of the same model reached (inf or None: none)."""
    runs = window.loss.shape[1]
    if floor is None:
        floor = known.floor if known is not None else None
    floors = np.full(runs, 0.0 if floor is None else float(floor))
    groups = [(np.arange(runs), known)] if known is not None else []
    return _classify(window, diverged_at, stopped_at, best_at, groups,
                     np.broadcast_to(np.asarray(noisy, dtype=bool), (runs,)), floors,
                     np.broadcast_to(np.asarray(convex, dtype=bool), (runs,)),
                     np.full(runs, floor is not None),
                     np.broadcast_to(np.asarray(np.nan if chance is None else chance, dtype=np.float64), (runs,)),
                     np.broadcast_to(np.asarray(np.inf if better is None else better, dtype=np.float64), (runs,)))



def _classify(window: Window, diverged_at, stopped_at, best_at, groups, noisy: np.ndarray,
              floor: np.ndarray, convex: np.ndarray | None = None,
              known_floor: np.ndarray | None = None, chance: np.ndarray | None = None,
              better: np.ndarray | None = None) -> list[RunState]:
    """classify() for runs whose known points differ: `groups` is [(rows, Known)], floor per run."""
    judged = judge(window, groups, noisy, floor, convex, known_floor, chance, better)
    _around(judged, window, groups, noisy)
    n, runs = window.loss.shape
    now = int(window.steps[-1]) if n else 0
    never = np.full(runs, -1, dtype=np.int64)
    diverged_at = never if diverged_at is None else np.asarray(diverged_at)
    stopped_at = never if stopped_at is None else np.asarray(stopped_at)
    last = window.loss[-1] if n else np.full(runs, np.nan)
    return [state_of(judged, r, last, diverged_at, stopped_at, best_at, now, window.span) for r in range(runs)]


AROUND_KINDS = ("moving", "slow", "oscillating", "global min", "local min")


def _around(judged: Judged, window: Window, groups, noisy: np.ndarray) -> None:
    """Noisy runs whose window's later half is a cloud centred on a known minimum but wider than
    the reach of "at" it: "around" that minimum (why "around", ref: the cloud's root-mean-square
    distance from it). At a constant rate the gradient noise keeps such a run bouncing: each record
    it was in reach or out of it by chance, and an ensemble read "11 moving, 9 global min"
    (cosine-warmup's constant rate, 0.17 away at the end, whose lesson says it never settles)."""
    n = len(window.steps)
    if window.params is None or n < 4:
        return
    later = np.asarray(window.params[n // 2 :], dtype=np.float64)
    for rows, known in groups:
        if known is None:
            continue
        minima = np.flatnonzero(np.array([k != "saddle" for k in known.kinds]))
        mine = rows[noisy[rows] & np.isin(judged.kinds[rows], AROUND_KINDS)]
        if not len(minima) or not len(mine):
            continue
        cloud = later[:, mine, : known.points.shape[1]]
        with np.errstate(all="ignore"):
            centre = cloud.mean(axis=0)
            gaps = np.sqrt(((centre[:, None, :] - known.points[None, minima, :]) ** 2).sum(axis=2))
            nearest = minima[np.argmin(gaps, axis=1)]
            rms = np.sqrt(((cloud - known.points[nearest][None]) ** 2).sum(axis=2).mean(axis=0))
        hit = (gaps.min(axis=1) <= known.near) & (rms > known.near) & np.isfinite(rms)
        runs = mine[hit]
        judged.kinds[runs] = np.array([f"{known.kinds[i]} min" for i in nearest[hit]], dtype=object)
        judged.whys[runs], judged.refs[runs], judged.at[runs] = "around", rms[hit], nearest[hit]


def state_of(judged: Judged, r: int, last: np.ndarray, diverged_at: np.ndarray, stopped_at: np.ndarray,
             best_at: np.ndarray | None, now: int, span: int | None = None) -> RunState:
    """Run r's RunState from what judge() found and its flags (which take precedence); `span`: the
    steps the window judged spans (a stall says over how many steps the loss has not fallen)."""
    d, s = int(diverged_at[r]), int(stopped_at[r])
    if 0 <= d <= now:
        return RunState("diverged", step=d)
    if 0 <= s <= now:
        best = None if best_at is None or best_at[r] < 0 else int(best_at[r])
        return RunState("stopped", step=s, best=best, loss=float(last[r]))
    ref = float(judged.refs[r]) if np.isfinite(judged.refs[r]) else None
    kind = str(judged.kinds[r])
    if kind == "stalled" and judged.quiet is not None:
        span = int(judged.quiet[r])
    return RunState(kind, point=judged.point(r), loss=float(last[r]), why=str(judged.whys[r]),
                    ref=ref, value=judged.value(r), span=span if kind == "stalled" else None)


# -- a simulation's runs ---------------------------------------------------------------------------
def window_of(sim: Any, until: int | None = None, span: int = WINDOW_STEPS) -> Window:
    """The last `span` steps of every run of `sim` from its history, ending at `until` (a rewound
    step) or at the live state. Without a history, the window is the live state alone."""
    history = sim.history
    live = until is None or until >= sim.step_count
    fields = ("loss", "grad_norm") + (("params",) if sim.small else ())
    with_lr = history is not None and "lr" in history.fields
    if history is not None and history.count:
        end = history.count if live else history.index_at(until) + 1
        begin = history.index_at(max(0, (sim.step_count if live else until) - span))
        got = history.recent(fields + (("lr",) if with_lr else ()), begin, end)
        first = history.recent(fields, 0, 1)
    else:
        got = {"steps": np.zeros(0, dtype=np.int64), "loss": np.zeros((0, sim.n_runs)),
               "grad_norm": np.zeros((0, sim.n_runs)), "params": np.zeros((0, sim.n_runs, sim.n_params or 0)),
               "lr": np.zeros((0, sim.n_runs))}
        first = None
    if live and (not len(got["steps"]) or got["steps"][-1] < sim.step_count):
        got["steps"] = np.append(got["steps"], sim.step_count)
        got["loss"] = np.concatenate([got["loss"], sim.loss[None]])
        got["grad_norm"] = np.concatenate([got["grad_norm"], sim.grad_norm[None]])
        if sim.small:
            got["params"] = np.concatenate([got["params"], sim.params[None]])
        if "lr" in got:
            got["lr"] = np.concatenate([got["lr"], np.asarray(sim.lr, dtype=np.float64).reshape(1, -1)])
    start_params = None
    if first is not None and int(first["steps"][0]) == 0:
        start_loss, start_grad = first["loss"][0], first["grad_norm"][0]
        start_params = first["params"][0] if sim.small else None
    else:  # no record of step 0: judged from what there is
        start_loss, start_grad = got["loss"][0], got["grad_norm"][0]
    return Window(got["steps"], got["loss"], got["grad_norm"], start_loss, start_grad,
                  got["params"] if sim.small else None, got.get("lr"), start_params)


def run_states(sim: Any, until: int | None = None) -> list[RunState]:
    """The state of every run of `sim` (in scenario order), live or at the rewound step `until`."""
    window = window_of(sim, until)
    facts = facts_of(sim)
    states = _classify(window, sim.diverged_at, sim.stopped_at, facts["best"], facts["groups"], facts["noisy"],
                       facts["floor"], facts["convex"], facts["known_floor"], facts["chance"], _better(sim, window))
    return _arrivals(sim, states, facts["groups"], until)


def facts_of(sim: Any) -> dict[str, Any]:
    """What judging `sim`'s runs needs to know of their problems, per run: groups [(rows, Known)],
    floor, noisy, convex, known_floor, chance, and best (early stopping's best steps, or None)."""
    groups, floor, noisy, best = [], np.zeros(sim.n_runs), np.zeros(sim.n_runs, dtype=bool), None
    convex, known_floor = np.zeros(sim.n_runs, dtype=bool), np.zeros(sim.n_runs, dtype=bool)
    chance = np.full(sim.n_runs, np.nan)
    for cohort in sim.cohorts:
        known = known_of(cohort.problem)
        same = next((i for i, (_, k) in enumerate(groups) if _same_points(k, known)), None)
        if same is None:
            groups.append((cohort.rows, known))
        else:  # cohorts on one surface (runs with their own optimizers): judged as one group
            groups[same] = (np.concatenate([groups[same][0], cohort.rows]), groups[same][1])
        floor[cohort.rows] = (known.floor if known is not None else None) or 0.0
        noisy[cohort.rows] = is_noisy(cohort.problem)
        convex[cohort.rows] = is_convex(cohort.problem)
        chance[cohort.rows] = chance_loss(cohort.problem)
        known_floor[cohort.rows] = known is not None and known.floor is not None
        steps = best_steps(cohort)
        if steps is not None:
            best = np.full(sim.n_runs, -1) if best is None else best
            best[cohort.rows] = steps
    return {"groups": groups, "floor": floor, "noisy": noisy, "convex": convex, "known_floor": known_floor,
            "chance": chance, "best": best}


def _same_points(a: Known | None, b: Known | None) -> bool:
    return a is not None and b is not None and (a is b or (
        a.kinds == b.kinds and a.near == b.near and np.array_equal(a.points, b.points)
        and np.array_equal(a.values, b.values)))


def _arrivals(sim: Any, states: list[RunState], groups, until: int | None) -> list[RunState]:
    """States at a known point with the step from which the run stayed within reach of it
    (`since`), from the recorded path: for runs alone in their [[runs]] entry (an ensemble is
    shown as a tally, which does not say when)."""
    history = sim.history
    if history is None or not history.count or not sim.small:
        return states
    sizes: dict[str, int] = {}
    for run in sim.runs:
        sizes[run.group] = sizes.get(run.group, 0) + 1
    near = np.full(sim.n_runs, np.nan)
    for rows, known in groups:
        if known is not None:
            near[rows] = known.near
    wanted = [r for r, state in enumerate(states) if state.kind in PLACE and state.point is not None
              and sizes.get(sim.runs[r].group, 1) == 1 and np.isfinite(near[r])]
    if not wanted:
        return states
    live = until is None or until >= sim.step_count
    end = history.count if live else history.index_at(until) + 1
    steps, params = history.series("params")
    points = np.array([states[r].point for r in wanted], dtype=np.float64)
    with np.errstate(all="ignore"):
        gaps = np.sqrt(((params[:end, wanted, : points.shape[1]] - points[None]) ** 2).sum(axis=2))
    away = ~(gaps <= near[wanted][None, :])  # NaN (a diverged record) counts as away
    out = list(states)
    for j, r in enumerate(wanted):
        outside = np.flatnonzero(away[:, j])
        if not len(outside):
            since = int(steps[0])
        elif outside[-1] + 1 < end:
            since = int(steps[outside[-1] + 1])
        else:  # not within reach at the last record: it arrived after it (the live step)
            since = int(sim.step_count if live else until)
        out[r] = replace(states[r], since=since, rough=history.stride > 1)
    return out


def _better(sim: Any, window: Window) -> np.ndarray:
    """Per run, the lowest judged loss of the OTHER runs of its group (same settings, other seeds)
    that have not diverged; inf for a run alone in its group."""
    last = np.asarray(window.loss[-1], dtype=np.float64) if len(window.loss) else np.full(sim.n_runs, np.nan)
    now = int(window.steps[-1]) if len(window.steps) else 0
    gone = (np.asarray(sim.diverged_at) >= 0) & (np.asarray(sim.diverged_at) <= now)
    usable = np.where(np.isfinite(last) & ~gone, last, np.inf)
    out = np.full(sim.n_runs, np.inf)
    groups: dict[str, list[int]] = {}
    for r, run in enumerate(sim.runs):
        groups.setdefault(getattr(run, "group", str(r)), []).append(r)
    for rows in groups.values():
        if len(rows) < 2:
            continue
        values = usable[rows]
        order = np.argsort(values)
        lowest, second = values[order[0]], values[order[1]]
        out[rows] = lowest
        out[rows[order[0]]] = second  # the best run's evidence is the next best, never itself
    return out
