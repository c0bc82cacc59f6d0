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
                           doubled above the floor, and the last value not back down)
    oscillating            the path reverses direction at most steps, or (no noise) the loss
                           keeps going up and down
    stalled                stationary at a high loss above a known lower minimum (surfaces), or
                           stuck at the start: the loss never fell STUCK_FRACTION of the way
                           from the start and is not falling (a learning rate 0, a network
                           stuck near chance), unless the model is convex and stationary
    converged              stationary (loss flat, gradient small or the run still) where no
                           known lower point exists: on a data set without a known optimum a
                           stationary run is converged, whatever its loss (a linear model's MSE
                           at its least-squares minimum is converged, not stalled)
    slow                   small gradient at a high loss, but not stationary (still moving)
    moving                 none of the above, with enough steps to judge
    ok                     too early to say anything (fewer than two records)

Thresholds (module constants, each tested on a constructed case in tests/engine/test_states.py):
a window is the last WINDOW_STEPS steps (at least MIN_SPAN steps must be recorded before a run
can be called stationary); "small" gradient is below STALL_GRAD_REL of the run's gradient at step
0 (or STALL_GRAD_ABS); "flat" loss changed by less than STALL_LOSS_REL of the loss's scale over
the window; "high" loss is more than HIGH_LOSS_FRACTION of the way from the floor (the global
minimum's value where known, else 0, as for every data-set loss) to the starting loss.
Pure NumPy; vectorised over runs (an ensemble of 1,000 is one pass).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from gdsim.engine.run_state import KINDS, PLACE, SEVERITY, WINDOW_STEPS, RunState, tally, tally_sentence, tally_words
from gdsim.engine.state_facts import (
    NEAR_FRACTION, Known, best_steps, chance_loss, is_convex, is_noisy, known_of,
)

__all__ = ["KINDS", "NEAR_FRACTION", "PLACE", "SEVERITY", "WINDOW_STEPS", "Known", "RunState", "Window", "best_steps", "chance_loss",
           "classify", "is_convex", "is_noisy", "run_states", "tally", "tally_sentence", "tally_words", "window_of"]

MIN_SPAN = 50  # a window spanning fewer steps cannot call a run stationary (too early to tell)
STALL_GRAD_REL = 1e-3  # "small" gradient: below this fraction of the run's gradient at step 0 ...
STALL_GRAD_ABS = 1e-6  # ... or below this, whichever is larger
STALL_LOSS_REL = 1e-4  # "flat": the loss moved less than this fraction of its scale over the window
GRAD_LEAVING = 1.05  # the gradient grew by more than this factor over the window: leaving, not stuck
HIGH_LOSS_FRACTION = 0.1  # "high" loss: above floor + this fraction of (start loss - floor)
GROWTH = 1.0  # "growing": the later half's median is above the earlier half's by this multiple (of their
#                distance to the floor), and the last value is no lower than the later half's median
REVERSAL_COS = -0.5  # two consecutive moves whose cosine is below this reverse direction
REVERSAL_SHARE = 0.6  # "oscillating": at least this share of consecutive moves reverse ...
RISE_SHARE = 0.2  # ... or (noiseless runs) the loss rises in this share of the intervals,
RISE_SIZE = 0.1  # with rises adding up to at least this fraction of the falls
MIN_PAIRS = 4  # oscillation needs at least this many consecutive pairs of moves in the window
AT_GRAD_REL = 1e-2  # "at" a known point (noiseless runs with a history): also a gradient below this
#                     fraction of the one at step 0 (a run still sliding past the point is not at it)
STILL_PATH = 1e-6  # "still": the path over the window is shorter than this fraction of the known
#                    points' view (a run parked at an L2-penalised optimum, whose raw gradient is not 0)
STUCK_FRACTION = 0.9  # "stuck at the start": the window's median loss is still above floor + this
STUCK_FALL = 0.01  # fraction of (start - floor), and its fitted trend over the window fell by less
#                    than this fraction of it, or by less than STUCK_T standard errors (noise)
STUCK_T = 3.0
BETTER_GAP = 0.05  # a stationary run whose loss is above another run of its group (same settings,
#                    other seeds) by more than this fraction of (start - floor) is stalled: a better
#                    point of the same model exists (local-minima-networks' stuck seeds)
CHANCE_FRACTION = 0.9  # "stuck at chance" (classifiers): the window's median loss is at least this
#                        fraction of the chance loss (the entropy of the training labels: ln 2 for
#                        balanced BCE) and its trend is not falling (as above)
SLOW_GRAD_REL = 0.05  # "slow" also: below this fraction of the starting gradient while the loss is
SLOW_LOSS_FRACTION = 0.5  # still above floor + this fraction of (start - floor) (noiseless runs)
GROW_NOISY_REL = 0.05  # noisy runs: "growing" also needs the later half's median up by this fraction
#                        of (start - floor): gradient noise near a minimum is not growth
CHANCE_WORDS = 0.97  # "at chance" in words: the window's median loss is at least this fraction of the chance
#                      loss (a classifier no better than guessing; 0.9 of it already counts as stuck)
ROUNDING_MOVE = 1e-12  # a step shorter than this (relative to |θ|) is rounding, not a move (oscillation)
ROUNDING_LOSS = 1e-12  # a loss constant to this fraction of its scale is at rest (stationarity)
CHANCE_ABOVE = 1.05  # ...and at most this fraction of it: further above, the run is worse than guessing
#                      ("above chance"; natural-gradient's over-the-limit GD stalls at 2.6x ln 2)
JITTER_REL = 1e-4  # "converged (jitter)": the path reverses but the loss stays within this fraction of its
#                    scale over the window (sub-gradient steps bouncing at an MAE / L1 optimum)
BARELY_STEPS = 100  # "barely moved" (surfaces): after at least this many steps the run is still within
BARELY_SHARE = 0.2  # this share of its start's distance to the nearest known minimum from where it began

# kind -> severity for notices: "error", "warning", "info" or "" (nothing worth a notice)


@dataclass(frozen=True)
class Window:
    """The recent records of R runs: steps (n,), loss and grad_norm (n, R), params (n, R, P) or None.

    Rows are in step order and the last row is the step judged. `start_loss` and `start_grad` are
    the values at step 0 (R,), which "high loss" and "small gradient" are measured against."""

    steps: np.ndarray
    loss: np.ndarray
    grad_norm: np.ndarray
    start_loss: np.ndarray
    start_grad: np.ndarray
    params: np.ndarray | None = None
    lr: np.ndarray | None = None  # (n, R) learning rates, where recorded
    start_params: np.ndarray | None = None  # (R, P) at step 0, where recorded

    @property
    def span(self) -> int:
        return int(self.steps[-1] - self.steps[0]) if len(self.steps) else 0


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
    loss, grad = window.loss, window.grad_norm
    n, runs = loss.shape
    now = int(window.steps[-1]) if n else 0
    never = np.full(runs, -1, dtype=np.int64)
    diverged_at = never if diverged_at is None else np.asarray(diverged_at)
    stopped_at = never if stopped_at is None else np.asarray(stopped_at)
    last = loss[-1] if n else np.full(runs, np.nan)
    kinds = np.full(runs, "ok" if n < 2 else "moving", dtype=object)
    whys = np.full(runs, "", dtype=object)
    refs = np.full(runs, np.nan)
    at = np.full(runs, -1)
    with np.errstate(all="ignore"):
        if n >= 2:
            start_scale = np.abs(np.asarray(window.start_loss, dtype=np.float64) - floor)
            size = np.full(runs, np.nan)
            for rows, known in groups:
                if known is not None:
                    size[rows] = known.size
            _judge_window(window, loss, grad, kinds, whys, refs, noisy, floor, start_scale,
                          np.zeros(runs, bool) if convex is None else convex,
                          np.zeros(runs, bool) if known_floor is None else known_floor, size,
                          np.full(runs, np.nan) if chance is None else chance,
                          np.full(runs, np.inf) if better is None else better)
        if window.params is not None and n:
            for rows, known in groups:
                if known is None:
                    continue
                index, distance = known.nearest(window.params[-1][rows])
                near = distance <= known.near
                if n >= 2:  # with a history: a noiseless run must also have (almost) stopped there
                    start_grad = np.asarray(window.start_grad, dtype=np.float64)[rows]
                    settled = grad[-1][rows] <= np.maximum(AT_GRAD_REL * start_grad, STALL_GRAD_ABS)
                    moves = np.diff(window.params[:, rows], axis=0)
                    parked = np.sqrt((moves**2).sum(axis=2)).sum(axis=0) <= STILL_PATH * known.size
                    near &= noisy[rows] | settled | parked
                at[rows] = np.where(near, index, -1)
                for r in rows[(at[rows] >= 0) & (kinds[rows] != "growing") & (whys[rows] != "lr 0")]:
                    kind = known.kinds[at[r]]
                    kinds[r] = "saddle" if kind == "saddle" else f"{kind} min"
                    whys[r] = ""
                if n >= 2 and window.start_params is not None and window.span >= BARELY_STEPS:
                    _barely(window, known, rows, kinds, whys, refs)
    points = {int(r): tuple(float(v) for v in known.points[at[r]])
              for rows, known in groups if known is not None
              for r in rows if at[r] >= 0 and kinds[r] in ("global min", "local min", "saddle")}
    out = []
    for r in range(runs):
        d, s = int(diverged_at[r]), int(stopped_at[r])
        if 0 <= d <= now:
            out.append(RunState("diverged", step=d))
        elif 0 <= s <= now:
            best = None if best_at is None or best_at[r] < 0 else int(best_at[r])
            out.append(RunState("stopped", step=s, best=best, loss=float(last[r])))
        else:
            ref = float(refs[r]) if np.isfinite(refs[r]) else None
            value = None
            if r in points:
                known = next(k for rows, k in groups if k is not None and r in rows)
                value = float(known.values[at[r]])
            out.append(RunState(str(kinds[r]), point=points.get(r), loss=float(last[r]), why=str(whys[r]), ref=ref,
                                value=value))
    return out


def _barely(window: Window, known: Known, rows: np.ndarray, kinds, whys, refs) -> None:
    """Runs of `rows` still moving or slow that have covered less than BARELY_SHARE of their start's
    distance to the nearest known minimum: "barely moved" (why "barely", ref: the share)."""
    minima = np.array([k != "saddle" for k in known.kinds])
    if not minima.any():
        return
    start = np.asarray(window.start_params, dtype=np.float64)[rows][:, : known.points.shape[1]]
    now = window.params[-1][rows][:, : known.points.shape[1]]
    gaps = np.sqrt(((start[:, None, :] - known.points[None, minima, :]) ** 2).sum(axis=2)).min(axis=1)
    moved = np.sqrt(((now - start) ** 2).sum(axis=1))
    share = moved / gaps
    for j, r in enumerate(rows):
        if kinds[r] in ("moving", "slow") and gaps[j] > known.near and np.isfinite(share[j]) and share[j] < BARELY_SHARE:
            kinds[r], whys[r], refs[r] = "slow", "barely", share[j]


def _judge_window(window: Window, loss, grad, kinds, whys, refs, noisy, floor, start_scale, convex, known_floor,
                  size, chance, better) -> None:
    """Fill `kinds` with growing / oscillating / stalled / converged / slow where the window says so,
    `whys` and `refs` with the one reason that applied (RunState.why) and its number."""
    n = len(loss)
    first, last = loss[0], loss[-1]
    steps_up = np.diff(loss, axis=0)
    tiny = 1e-9 * (1.0 + np.abs(last))
    rising = (steps_up > tiny).sum(axis=0) / (n - 1)
    # growing: the later half of the window sits well above the earlier half (medians, so a noisy
    # mini-batch loss is not "growing"), and the last value is not back down
    half = max(1, n // 2)
    early = np.median(loss[:half], axis=0) - floor
    late = np.median(loss[half:], axis=0) - floor
    growing = (late > (1.0 + GROWTH) * np.maximum(early, 0.0) + tiny) & (last - floor >= late) & (late > 0)
    growing &= ~noisy | (late - early >= GROW_NOISY_REL * start_scale)
    growing |= ~np.isfinite(last) & np.isfinite(first)
    # oscillating: direction reversals of the path, or (noiseless) a loss going up and down
    oscillating = np.zeros(len(last), dtype=bool)
    if window.params is not None and n >= MIN_PAIRS + 2:
        moves = np.diff(window.params, axis=0)  # (n-1, R, P)
        lengths = np.sqrt((moves**2).sum(axis=2))
        dots = (moves[1:] * moves[:-1]).sum(axis=2)
        cos = dots / (lengths[1:] * lengths[:-1])
        # moves of rounding size (a run resting at its optimum to the last bit) are not swings
        still_moves = lengths <= ROUNDING_MOVE * (1.0 + np.sqrt((window.params[1:] ** 2).sum(axis=2)))
        valid = ~still_moves[1:] & ~still_moves[:-1]
        pairs = valid.sum(axis=0)
        reversals = ((cos < REVERSAL_COS) & valid).sum(axis=0)
        oscillating |= (pairs >= MIN_PAIRS) & (reversals >= REVERSAL_SHARE * np.maximum(pairs, 1))
    if n >= MIN_PAIRS + 2:
        ups = np.where(steps_up > tiny, steps_up, 0.0).sum(axis=0)
        downs = np.where(steps_up < -tiny, -steps_up, 0.0).sum(axis=0)
        oscillating |= ~noisy & (rising >= RISE_SHARE) & (ups >= RISE_SIZE * downs) & (ups > 0)
    # stationary: a window long enough, the loss flat, the gradient small and not growing
    scale = np.maximum.reduce([np.abs(last - floor), start_scale, np.full(len(last), 1e-12)])
    small = grad[-1] <= np.maximum(STALL_GRAD_REL * np.asarray(window.start_grad, dtype=np.float64), STALL_GRAD_ABS)
    flat = np.abs(last - first) <= STALL_LOSS_REL * scale
    # at rest: the later half of the window constant to rounding with a small gradient (a run that
    # reached its optimum in the window's first steps, whose descent the window still holds)
    flat |= small & (np.ptp(loss[half:], axis=0) <= ROUNDING_LOSS * scale)
    leaving = grad[-1] > GRAD_LEAVING * grad[0]
    still = np.zeros(len(last), dtype=bool)
    if window.params is not None:  # parked where the raw gradient is not 0 (an L2-penalised optimum)
        path = np.sqrt((np.diff(window.params, axis=0) ** 2).sum(axis=2)).sum(axis=0)
        still = np.isfinite(size) & (path <= STILL_PATH * size)
    stationary = (window.span >= MIN_SPAN) & flat & ((small & ~leaving) | still)
    high = (last - floor) > HIGH_LOSS_FRACTION * start_scale
    # stuck at the start: the loss never got far from where it began and is not falling now
    middle = np.median(loss, axis=0) - floor
    at_chance = np.isfinite(chance) & (chance > 0) & (middle + floor >= CHANCE_FRACTION * chance)
    stuck = ((window.span >= MIN_SPAN) & (((middle >= STUCK_FRACTION * start_scale) & (start_scale > 0)) | at_chance)
             & ~_falling(window.steps, loss, STUCK_FALL * np.maximum(start_scale, np.nan_to_num(chance))))
    slow = (grad[-1] <= np.maximum(SLOW_GRAD_REL * np.asarray(window.start_grad, dtype=np.float64),
                                   STALL_GRAD_ABS)) & ~stationary & ~noisy
    slow &= (last - floor) > SLOW_LOSS_FRACTION * start_scale
    kinds[(small | slow) & high & ~stationary] = "slow"
    kinds[stationary] = "converged"
    guessing = at_chance & (middle + floor >= CHANCE_WORDS * chance) & (middle + floor <= CHANCE_ABOVE * chance)
    worse_than_guessing = at_chance & (middle + floor > CHANCE_ABOVE * chance)
    resting_at_chance = stationary & convex & guessing  # a linear model no better than guessing
    whys[resting_at_chance], refs[resting_at_chance] = "chance", chance[resting_at_chance]
    # stalled: a known lower minimum (surfaces), or stuck at the start (not a convex model at rest);
    # the reason given is the first that applies of: chance, start, known, better
    worse = np.isfinite(better) & (last - better > BETTER_GAP * start_scale)
    lower = stationary & high & known_floor
    stalled = (stationary & (lower | worse)) | (stuck & ~(stationary & convex))
    kinds[stalled] = "stalled"
    for mask, why, ref in ((stalled & worse, "better", better), (stalled & lower, "known", floor),
                           (stalled & stuck, "start", start_scale + floor),
                           (stalled & stuck & guessing, "chance", chance),
                           (stalled & stuck & worse_than_guessing, "above chance", chance)):
        whys[mask], refs[mask] = why, ref[mask]
    # a path going back and forth while the loss stays flat to JITTER_REL: at the bottom, not swinging
    span = np.max(loss, axis=0) - np.min(loss, axis=0)
    jitter = oscillating & ~stationary & ~stuck & flat & (span <= JITTER_REL * scale) & (window.span >= MIN_SPAN)
    kinds[oscillating & ~stationary & ~stuck & ~jitter] = "oscillating"
    kinds[jitter], whys[jitter] = "converged", "jitter"
    kinds[growing] = "growing"
    if window.lr is not None and window.span >= MIN_SPAN:  # kept still on purpose: a learning rate of 0 throughout
        idle = np.all(window.lr == 0, axis=0) & ~growing
        kinds[idle], whys[idle], refs[idle] = "stalled", "lr 0", np.nan


def _falling(steps: np.ndarray, loss: np.ndarray, by: np.ndarray) -> np.ndarray:
    """Per run: the least-squares line through the window's loss falls by more than `by` over the
    window and its slope is more than STUCK_T standard errors below 0 (not noise)."""
    t = np.asarray(steps, dtype=np.float64)
    t = t - t.mean()
    sxx = float((t**2).sum())
    if len(t) < 3 or sxx == 0:
        return np.zeros(loss.shape[1], dtype=bool)
    centred = loss - loss.mean(axis=0)
    slope = (t[:, None] * centred).sum(axis=0) / sxx
    residual = centred - slope * t[:, None]
    se = np.sqrt((residual**2).sum(axis=0) / (len(t) - 2) / sxx)
    fall = -slope * (t[-1] - t[0])
    return (fall > by) & (-slope > STUCK_T * se)


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
    groups, floor, noisy, best = [], np.zeros(sim.n_runs), np.zeros(sim.n_runs, dtype=bool), None
    convex, known_floor = np.zeros(sim.n_runs, dtype=bool), np.zeros(sim.n_runs, dtype=bool)
    chance = np.full(sim.n_runs, np.nan)
    for cohort in sim.cohorts:
        known = known_of(cohort.problem)
        groups.append((cohort.rows, known))
        floor[cohort.rows] = (known.floor if known is not None else None) or 0.0
        noisy[cohort.rows] = is_noisy(cohort.problem)
        convex[cohort.rows] = is_convex(cohort.problem)
        chance[cohort.rows] = chance_loss(cohort.problem)
        known_floor[cohort.rows] = known is not None and known.floor is not None
        steps = best_steps(cohort)
        if steps is not None:
            best = np.full(sim.n_runs, -1) if best is None else best
            best[cohort.rows] = steps
    states = _classify(window, sim.diverged_at, sim.stopped_at, best, groups, noisy, floor, convex, known_floor,
                       chance, _better(sim, window))
    return _arrivals(sim, states, groups, until)


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
