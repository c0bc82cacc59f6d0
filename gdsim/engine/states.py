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

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

WINDOW_STEPS = 200  # stationarity, growth and oscillation are judged over the last this many steps
MIN_SPAN = 50  # a window spanning fewer steps cannot call a run stationary (too early to tell)
NEAR_FRACTION = 0.02  # within this fraction of the view's longer side: "at" a known point
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

# kind -> severity for notices: "error", "warning", "info" or "" (nothing worth a notice)
SEVERITY = {
    "diverged": "error", "growing": "error", "stopped": "info", "global min": "info",
    "local min": "warning", "saddle": "warning", "stalled": "warning", "oscillating": "info",
    "slow": "", "converged": "info", "moving": "", "ok": "",
}
KINDS = tuple(SEVERITY)


@dataclass(frozen=True)
class RunState:
    """Where one run stands: `kind` (one of KINDS) and what the words need."""

    kind: str
    step: int | None = None  # diverged / stopped early at this step
    best: int | None = None  # stopped early: the step whose validation loss was best
    point: tuple[float, ...] | None = None  # the known point it is at (min or saddle)
    loss: float | None = None  # the loss at the step judged

    @property
    def words(self) -> str:
        """A few words for a table cell: 'local min', 'diverged at 12', 'stopped early at 120 (best 80)'."""
        if self.kind == "diverged":
            return f"diverged at {self.step}"
        if self.kind == "stopped":
            return f"stopped early at {self.step}" + ("" if self.best is None else f" (best {self.best})")
        return self.kind

    @property
    def severity(self) -> str:
        return SEVERITY[self.kind]

    @property
    def at_point(self) -> str:
        """'(-1.03, 0)' for a state at a known point, else ''."""
        return "" if self.point is None else "(" + ", ".join(f"{v:.3g}" for v in self.point) + ")"

    def sentence(self, label: str) -> str:
        """One plain sentence about run `label` in this state."""
        loss = "" if self.loss is None or not np.isfinite(self.loss) else f" (loss {self.loss:.4g})"
        text = {
            "diverged": f"{label} diverged at step {self.step}: the loss blew up; try a smaller learning rate (key L)",
            "stopped": f"{label} stopped early at step {self.step}: validation loss stopped improving"
                       + ("" if self.best is None else f" (best at step {self.best})"),
            "global min": f"{label} reached the global minimum {self.at_point}{loss}",
            "local min": f"{label} is in a local minimum {self.at_point}{loss}, not the global one",
            "saddle": f"{label} is at a saddle point {self.at_point}{loss}: the gradient vanishes but it is not a minimum",
            "growing": f"{label} is growing{loss}: the loss rises step after step; try a smaller learning rate (key L)",
            "oscillating": f"{label} is oscillating{loss}: it overshoots and swings back",
            "stalled": f"{label} stalled{loss}: the loss has stopped falling for the last {WINDOW_STEPS} steps, "
                       "at a high loss (near where it started, or above a known lower minimum)",
            "converged": f"{label} converged{loss}: loss and gradient have stopped changing",
            "slow": f"{label} is slow{loss}: a tiny gradient, but it is still moving",
            "moving": f"{label} is moving{loss}",
            "ok": f"{label}{loss}",
        }[self.kind]
        return text.replace("  ", " ")


@dataclass(frozen=True)
class Known:
    """The known stationary points of a surface: (K, 2) points, their kinds, and what counts as near."""

    points: np.ndarray
    kinds: tuple[str, ...]
    values: np.ndarray
    near: float

    @classmethod
    def of(cls, problem: Any) -> "Known | None":
        """From a problem's `minima` and `view` (surfaces); None for problems without them."""
        minima = getattr(problem, "minima", None)
        view = getattr(problem, "view", None)
        if not minima or view is None:
            return None
        xmin, xmax, ymin, ymax = view
        return cls(np.array([m.point for m in minima], dtype=np.float64).reshape(len(minima), -1),
                   tuple(m.kind for m in minima), np.array([m.value for m in minima], dtype=np.float64),
                   NEAR_FRACTION * max(xmax - xmin, ymax - ymin))

    @property
    def floor(self) -> float | None:
        """The lowest known minimum's value (saddles excluded), the floor "high loss" is measured from."""
        values = [v for v, k in zip(self.values, self.kinds) if k != "saddle"]
        return min(values) if values else None

    @property
    def size(self) -> float:
        """The view's longer side (what "still" is measured against)."""
        return self.near / NEAR_FRACTION

    def nearest(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per row of xy: index of the nearest point (-1 if none is finite) and its distance."""
        xy = np.asarray(xy, dtype=np.float64).reshape(len(xy), -1)[:, : self.points.shape[1]]
        with np.errstate(all="ignore"):
            dist = np.sqrt(((xy[:, None, :] - self.points[None, :, :]) ** 2).sum(axis=2))
        dist = np.where(np.isnan(dist), np.inf, dist)
        index = np.argmin(dist, axis=1)
        nearest = dist[np.arange(len(xy)), index]
        return np.where(np.isfinite(nearest), index, -1), nearest


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
    at = np.full(runs, -1)
    with np.errstate(all="ignore"):
        if n >= 2:
            start_scale = np.abs(np.asarray(window.start_loss, dtype=np.float64) - floor)
            size = np.full(runs, np.nan)
            for rows, known in groups:
                if known is not None:
                    size[rows] = known.size
            _judge_window(window, loss, grad, kinds, noisy, floor, start_scale,
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
                for r in rows[(at[rows] >= 0) & (kinds[rows] != "growing")]:
                    kind = known.kinds[at[r]]
                    kinds[r] = "saddle" if kind == "saddle" else f"{kind} min"
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
            out.append(RunState(str(kinds[r]), point=points.get(r), loss=float(last[r])))
    return out


def _judge_window(window: Window, loss, grad, kinds, noisy, floor, start_scale, convex, known_floor,
                  size, chance, better) -> None:
    """Fill `kinds` with growing / oscillating / stalled / converged / slow where the window says so."""
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
        valid = (lengths[1:] > 0) & (lengths[:-1] > 0)
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
    # stalled: a known lower minimum (surfaces), or stuck at the start (not a convex model at rest)
    worse = np.isfinite(better) & (last - better > BETTER_GAP * start_scale)
    kinds[(stationary & ((high & known_floor) | worse)) | (stuck & ~(stationary & convex))] = "stalled"
    kinds[oscillating & ~stationary & ~stuck] = "oscillating"
    kinds[growing] = "growing"


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
    if history is not None and history.count:
        end = history.count if live else history.index_at(until) + 1
        begin = history.index_at(max(0, (sim.step_count if live else until) - span))
        got = history.recent(fields, begin, end)
        first = history.recent(("loss", "grad_norm"), 0, 1)
    else:
        got = {"steps": np.zeros(0, dtype=np.int64), "loss": np.zeros((0, sim.n_runs)),
               "grad_norm": np.zeros((0, sim.n_runs)), "params": np.zeros((0, sim.n_runs, sim.n_params or 0))}
        first = None
    if live and (not len(got["steps"]) or got["steps"][-1] < sim.step_count):
        got["steps"] = np.append(got["steps"], sim.step_count)
        got["loss"] = np.concatenate([got["loss"], sim.loss[None]])
        got["grad_norm"] = np.concatenate([got["grad_norm"], sim.grad_norm[None]])
        if sim.small:
            got["params"] = np.concatenate([got["params"], sim.params[None]])
    if first is not None and int(first["steps"][0]) == 0:
        start_loss, start_grad = first["loss"][0], first["grad_norm"][0]
    else:  # no record of step 0: judged from what there is
        start_loss, start_grad = got["loss"][0], got["grad_norm"][0]
    return Window(got["steps"], got["loss"], got["grad_norm"], start_loss, start_grad,
                  got["params"] if sim.small else None)


def run_states(sim: Any, until: int | None = None) -> list[RunState]:
    """The state of every run of `sim` (in scenario order), live or at the rewound step `until`."""
    window = window_of(sim, until)
    groups, floor, noisy, best = [], np.zeros(sim.n_runs), np.zeros(sim.n_runs, dtype=bool), None
    convex, known_floor = np.zeros(sim.n_runs, dtype=bool), np.zeros(sim.n_runs, dtype=bool)
    chance = np.full(sim.n_runs, np.nan)
    for cohort in sim.cohorts:
        known = _known(cohort.problem)
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
    return _classify(window, sim.diverged_at, sim.stopped_at, best, groups, noisy, floor, convex, known_floor,
                     chance, _better(sim, window))


_KNOWN: dict[int, tuple[Any, Known | None]] = {}


def _known(problem: Any) -> Known | None:
    """Known.of(problem), kept per problem object (a problem never changes its minima)."""
    hit = _KNOWN.get(id(problem))
    if hit is None or hit[0] is not problem:
        if len(_KNOWN) > 64:
            _KNOWN.clear()
        hit = _KNOWN[id(problem)] = (problem, Known.of(problem))
    return hit[1]


def best_steps(cohort: Any) -> np.ndarray | None:
    """Per run of a cohort stopped early, the step of its best validation loss (-1 where not stopped)."""
    stopped = cohort.stopped_at
    if not (stopped >= 0).any():
        return None
    best = getattr(cohort, "best_at", None)
    if best is not None:
        return np.where(stopped >= 0, np.asarray(best), -1)
    if cohort.patience is None or not cohort.eval_every:
        return None
    # It stops at the patience-th evaluation without improvement: the best came that many evaluations before.
    return np.where(stopped >= 0, stopped - cohort.patience * cohort.eval_every, -1)


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


_CHANCE: dict[int, tuple[Any, float]] = {}


def chance_loss(problem: Any) -> float:
    """A classifier's loss when it predicts the training labels' frequencies (their entropy: ln 2
    for balanced BCE, ln 3 for three balanced classes); NaN for other problems."""
    hit = _CHANCE.get(id(problem))
    if hit is not None and hit[0] is problem:
        return hit[1]
    value = float("nan")
    labels = getattr(problem, "_y_train", None)
    if getattr(problem, "loss_name", None) in ("bce", "cce") and labels is not None and len(labels):
        _, counts = np.unique(np.asarray(labels).ravel(), return_counts=True)
        p = counts / counts.sum()
        value = float(-(p * np.log(p)).sum())
    if len(_CHANCE) > 64:
        _CHANCE.clear()
    _CHANCE[id(problem)] = (problem, value)
    return value


def is_convex(problem: Any) -> bool:
    """Whether the problem is a model without hidden layers on a data set (linear, logistic,
    softmax regression, hinge; L1/L2 keep them convex): any stationary point is its optimum."""
    network = getattr(problem, "network", None)
    return network is not None and getattr(network, "n_hidden", 1) == 0 and not getattr(problem, "batch_norm", False)


def is_noisy(problem: Any) -> bool:
    """Whether the problem's gradient is a random sample: surface noise, mini-batches or dropout."""
    if float(getattr(problem, "noise", 0.0) or 0.0) > 0:
        return True
    if getattr(problem, "batch_size", 0) and getattr(problem, "n_train", 0) and problem.batch_size < problem.n_train:
        return True
    return float(getattr(problem, "dropout", 0.0) or 0.0) > 0


# -- ensembles -------------------------------------------------------------------------------------
PLACE = {"global min": "at the global minimum", "local min": "at a local minimum", "saddle": "at a saddle point"}


def tally(states: Sequence[RunState]) -> list[tuple[str, int]]:
    """(description, count) per distinct end, most common first: known points apart, with their
    coordinates ("at the global minimum (-1.03, 0)"); diverged and stopped runs counted together."""
    counts: dict[str, int] = {}
    for state in states:
        if state.kind in PLACE:
            key = f"{PLACE[state.kind]} {state.at_point}"
        elif state.kind == "diverged":
            key = "diverged"
        elif state.kind == "stopped":
            key = "stopped early"
        else:
            key = state.kind
        counts[key] = counts.get(key, 0) + 1
    return sorted(counts.items(), key=lambda item: -item[1])


def tally_sentence(states: Sequence[RunState], limit: int = 3) -> str:
    """'46 of 100 at the global minimum (-1.03, 0); 54 of 100 at a local minimum (1.1, 0)'."""
    n = len(states)
    parts = [f"{count} of {n} {what}" for what, count in tally(states)[:limit]]
    return "; ".join(parts)


def tally_words(states: Sequence[RunState], limit: int = 2) -> str:
    """A table cell for an ensemble: '54 local min, 46 global min'; runs at one kind of point but
    at several points say how they split ('global min ×2: 11, 9')."""
    counts: dict[str, int] = {}
    for state in states:
        key = "diverged" if state.kind == "diverged" else ("stopped" if state.kind == "stopped" else state.kind)
        counts[key] = counts.get(key, 0) + 1
    ordered = sorted(counts.items(), key=lambda item: -item[1])
    if len(ordered) == 1:
        kind = ordered[0][0]
        split = [count for _, count in tally(states)]
        if kind in PLACE and len(split) > 1:
            return f"{kind} ×{len(split)}: " + ", ".join(str(c) for c in split[:4]) + (" ..." if len(split) > 4 else "")
        return kind if kind in ("ok", "moving") else f"all {kind}"
    return ", ".join(f"{count} {kind}" for kind, count in ordered[:limit])


# -- events: where a run's state changed (the app's jump-to-event keys) ----------------------------
@dataclass(frozen=True)
class Event:
    """Run `row` entered `state` at `step` (the first recorded step judged so)."""

    step: int
    row: int
    state: RunState


def events(sim: Any, samples: int = 64) -> list[Event]:
    """The steps where runs entered a state worth a notice (severity not ""), in step order.

    Divergence and early stops come at their exact steps; the rest from the states judged at up to
    `samples` recorded steps spread over the history (run_states costs about a millisecond for a
    few runs, so this is for a key press, not for every frame). A run is reported again only when
    its state's words change (a run that sits in a minimum is one event, not one per sample)."""
    out: list[Event] = []
    for r, (d, s) in enumerate(zip(sim.diverged_at, sim.stopped_at)):
        if d >= 0:
            out.append(Event(int(d), r, RunState("diverged", step=int(d))))
        elif s >= 0:
            out.append(Event(int(s), r, RunState("stopped", step=int(s))))
    history = sim.history
    if history is None or history.count == 0:
        return sorted(out, key=lambda e: (e.step, e.row))
    picks = np.unique(np.linspace(0, history.count - 1, min(samples, history.count)).round().astype(int))
    last: dict[int, str] = {}
    for index in picks:
        step = int(history.steps[index])
        for r, state in enumerate(run_states(sim, until=step)):
            if state.kind in ("diverged", "stopped"):
                continue
            words = state.words + state.at_point
            if state.severity and last.get(r) != words:
                out.append(Event(step, r, state))
            last[r] = words if state.severity else ""
    return sorted(out, key=lambda e: (e.step, e.row))
