"""The rules that judge a window of a run's recent steps: the thresholds and the array code behind
gdsim.engine.states (which turns what is judged here into RunStates; read its docstring for the
states and their precedence).

Thresholds (module constants, each tested on a constructed case in tests/engine/test_states.py):
a window is the last WINDOW_STEPS steps (at least MIN_SPAN steps must be recorded before a run
can be called stationary); "small" gradient is below STALL_GRAD_REL of the run's gradient at step
0 (or STALL_GRAD_ABS); "flat" loss changed by less than STALL_LOSS_REL of the loss's scale over
the window (and, where the floor is known, by at most REST_SHARE of its height above it); "high" loss is more than HIGH_LOSS_FRACTION of the way from the floor (the global
minimum's value where known, else 0, as for every data-set loss) to the starting loss.
Pure NumPy; vectorised over runs (an ensemble of 1,000 is one pass).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gdsim.engine.state_facts import Known

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
STEADY_GROWTH = 1.5  # "growing" also: the window's quarters' mean losses rise one after another to this multiple
GROW_NOISY_REL = 0.05  # noisy runs: "growing" also needs the later half's median up by this fraction
#                        of (start - floor): gradient noise near a minimum is not growth
CHANCE_WORDS = 0.97  # "at chance" in words: the window's median loss is at least this fraction of the chance
#                      loss (a classifier no better than guessing; 0.9 of it already counts as stuck)
ROUNDING_MOVE = 1e-12  # a step shorter than this (relative to |θ|) is rounding, not a move (oscillation)
ROUNDING_LOSS = 1e-12  # a loss constant to this fraction of its scale is at rest (stationarity)
ROUNDING_GRAD = 1e-12  # a gradient below this fraction of the one at step 0 is rounding: its growth is not leaving
CHANCE_ABOVE = 1.05  # ...and at most this fraction of it: further above, the run is worse than guessing
#                      ("above chance": a classifier resting at 2.6x ln 2 is worse than guessing)
JITTER_REL = 1e-4  # "converged (jitter)": the path reverses but the loss stays within this fraction of its
#                    scale over the window (sub-gradient steps bouncing at an MAE / L1 optimum)
REST_SHARE = 0.01  # "settled": the later half of the window changed by less than STALL_LOSS_REL of the scale, by
#                   at most this share of what the whole window fell and of its height above the floor (a run
#                   that descended, then stopped: converged, not "slow", though the window still holds its descent);
#                   on a known floor, "flat" also means a change of at most this share of the height above it
REST_STEPS = 5  # "at rest" before MIN_SPAN steps: the later half, more than this many records (every step this
#                early in a run), constant to rounding
#                with a small gradient, after the loss fell (a natural-gradient run at its optimum by step 7)
SWING_FRACTION = 0.1  # an oscillating run whose loss swings over more than this fraction of (start - floor) in
#                       the later half of the window is "oscillating", never "stalled" (stuck at the start)
BARELY_STEPS = 100  # "barely moved" (surfaces): after at least this many steps the run is still within
BARELY_SHARE = 0.2  # this share of its start's distance to the nearest known minimum from where it began

# kind -> severity for notices: "error", "warning", "info" or "" (nothing worth a notice)


@dataclass(frozen=True)
class Path:
    """A window's path as the rules read it: the length of each move (n-1, R), and per run the
    consecutive pairs of moves both longer than rounding (`pairs`) and how many of them reverse
    direction (`reversals`)."""

    lengths: np.ndarray
    pairs: np.ndarray
    reversals: np.ndarray


def moves_of(params: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For consecutive records of params (N, R, P): the length of each move (N-1, R), and per pair
    of consecutive moves (N-2, R) whether both are longer than rounding and whether it reverses."""
    coordinates = [np.ascontiguousarray(params[..., i]) for i in range(params.shape[-1])]
    moves = [np.diff(c, axis=0) for c in coordinates]
    lengths = np.sqrt(_squares(moves))
    cos = _dots([m[1:] for m in moves], [m[:-1] for m in moves]) / (lengths[1:] * lengths[:-1])
    # moves of rounding size (a run resting at its optimum to the last bit) are not swings
    still_moves = lengths <= ROUNDING_MOVE * (1.0 + np.sqrt(_squares([c[1:] for c in coordinates])))
    valid = ~still_moves[1:] & ~still_moves[:-1]
    return lengths, valid, (cos < REVERSAL_COS) & valid


def path_of(params: np.ndarray) -> Path:
    lengths, valid, reverses = moves_of(params)
    return Path(lengths, valid.sum(axis=0), reverses.sum(axis=0))


@dataclass(frozen=True)
class Window:
    """The recent records of R runs: steps (n,), loss and grad_norm (n, R), params (n, R, P) or None.

    Rows are in step order and the last row is the step judged. `start_loss` and `start_grad` are
    the values at step 0 (R,), which "high loss" and "small gradient" are measured against.
    Windows of many records judged at once (gdsim.engine.state_events) give the `path` ready-made
    and only what the rules read of the rest: params' last row, grad_norm's first and last rows,
    and lr as one row (0 where it was 0 throughout)."""

    steps: np.ndarray
    loss: np.ndarray
    grad_norm: np.ndarray
    start_loss: np.ndarray
    start_grad: np.ndarray
    params: np.ndarray | None = None
    lr: np.ndarray | None = None  # (n, R) learning rates, where recorded
    start_params: np.ndarray | None = None  # (R, P) at step 0, where recorded
    path: Path | None = None  # made from params where not given

    @property
    def span(self) -> int:
        return int(self.steps[-1] - self.steps[0]) if len(self.steps) else 0

@dataclass(frozen=True)
class Judged:
    """What judge() found for R runs, before the flags (diverged, stopped early) are applied:
    `kinds`, `whys` (the one reason), `refs` (its number) and `at` (the index of the known point a
    run is at in its group's Known, or -1), per run; `knowns` holds each run's Known (or None);
    `quiet` the steps over which the loss has not fallen (a stall says them): the window's span, or
    its later half's where only that half was flat (the window still holds the descent before it)."""

    kinds: np.ndarray
    whys: np.ndarray
    refs: np.ndarray
    at: np.ndarray
    knowns: np.ndarray
    quiet: np.ndarray | None = None

    def point(self, r: int) -> tuple[float, ...] | None:
        known = self.knowns[r]
        if known is None or self.at[r] < 0 or self.kinds[r] not in ("global min", "local min", "saddle"):
            return None
        return tuple(float(v) for v in known.points[self.at[r]])

    def value(self, r: int) -> float | None:
        return None if self.point(r) is None else float(self.knowns[r].values[self.at[r]])


def judge(window: Window, groups, noisy: np.ndarray, floor: np.ndarray, convex: np.ndarray | None = None,
          known_floor: np.ndarray | None = None, chance: np.ndarray | None = None,
          better: np.ndarray | None = None) -> Judged:
    """The window's verdict per run (the flags aside): `groups` is [(rows, Known)], floor per run."""
    loss, grad = window.loss, window.grad_norm
    n, runs = loss.shape
    kinds = np.full(runs, "ok" if n < 2 else "moving", dtype=object)
    whys = np.full(runs, "", dtype=object)
    refs = np.full(runs, np.nan)
    at = np.full(runs, -1)
    quiet = np.full(runs, window.span)
    with np.errstate(all="ignore"):
        path = window.path
        if path is None and window.params is not None and n >= 2:
            path = path_of(window.params)
        if n >= 2:
            start_scale = np.abs(np.asarray(window.start_loss, dtype=np.float64) - floor)
            size = np.full(runs, np.nan)
            for rows, known in groups:
                if known is not None:
                    size[rows] = known.size
            _judge_window(window, loss, grad, path, kinds, whys, refs, noisy, floor, start_scale,
                          np.zeros(runs, bool) if convex is None else convex,
                          np.zeros(runs, bool) if known_floor is None else known_floor, size,
                          np.full(runs, np.nan) if chance is None else chance,
                          np.full(runs, np.inf) if better is None else better, quiet)
        if window.params is not None and n:
            for rows, known in groups:
                if known is None:
                    continue
                index, distance = known.nearest(window.params[-1][rows])
                near = distance <= known.near
                if n >= 2:  # with a history: a noiseless run must also have (almost) stopped there
                    start_grad = np.asarray(window.start_grad, dtype=np.float64)[rows]
                    settled = grad[-1][rows] <= np.maximum(AT_GRAD_REL * start_grad, STALL_GRAD_ABS)
                    parked = path.lengths[:, rows].sum(axis=0) <= STILL_PATH * known.size
                    near &= noisy[rows] | settled | parked
                at[rows] = np.where(near, index, -1)
                there = rows[(at[rows] >= 0) & (kinds[rows] != "growing") & (whys[rows] != "lr 0")]
                names = np.array(["saddle" if k == "saddle" else f"{k} min" for k in known.kinds], dtype=object)
                kinds[there], whys[there] = names[at[there]], ""
                if n >= 2 and window.start_params is not None and window.span >= BARELY_STEPS:
                    _barely(window, known, rows, kinds, whys, refs)
    knowns = np.full(runs, None, dtype=object)
    for rows, known in groups:
        knowns[rows] = known
    return Judged(kinds, whys, refs, at, knowns, quiet)


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
    hit = ((kinds[rows] == "moving") | (kinds[rows] == "slow")) & (gaps > known.near) & np.isfinite(share)
    hit &= share < BARELY_SHARE
    kinds[rows[hit]], whys[rows[hit]], refs[rows[hit]] = "slow", "barely", share[hit]


def _squares(coordinates: list[np.ndarray]) -> np.ndarray:
    """The sum of squares of vectors given as one array per coordinate, added in order (the same bits
    for one run or thousands side by side; NumPy's reduction may add a long axis pairwise)."""
    out = coordinates[0] * coordinates[0]
    for c in coordinates[1:]:
        out = out + c * c
    return out


def _dots(a: list[np.ndarray], b: list[np.ndarray]) -> np.ndarray:
    """The dot products of vectors given as one array per coordinate, added in order (as _squares)."""
    out = a[0] * b[0]
    for x, y in zip(a[1:], b[1:]):
        out = out + x * y
    return out


def _median_where(values: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """The median over axis 0 of the columns `wanted`, NaN elsewhere: the medians are most of what
    judging a window costs, and a rule needs them only where the window's extremes allow it to hold."""
    out = np.full(values.shape[1], np.nan)
    if wanted.any():
        out[wanted] = np.median(values[:, wanted], axis=0)
    return out


def _judge_window(window: Window, loss, grad, path, kinds, whys, refs, noisy, floor, start_scale, convex, known_floor,
                  size, chance, better, quiet) -> None:
    """Fill `kinds` with growing / oscillating / stalled / converged / slow where the window says so,
    `whys` and `refs` with the one reason that applied (RunState.why) and its number, `quiet` (see
    Judged) where only the window's later half was flat."""
    n = len(loss)
    first, last = loss[0], loss[-1]
    steps_up = np.diff(loss, axis=0)
    tiny = 1e-9 * (1.0 + np.abs(last))
    rising = (steps_up > tiny).sum(axis=0) / (n - 1)
    half = max(1, n // 2)
    # oscillating: direction reversals of the path, or (noiseless) a loss going up and down
    oscillating = np.zeros(len(last), dtype=bool)
    if path is not None and n >= MIN_PAIRS + 2:
        pairs, reversals = path.pairs, path.reversals
        oscillating |= (pairs >= MIN_PAIRS) & (reversals >= REVERSAL_SHARE * np.maximum(pairs, 1))
    if n >= MIN_PAIRS + 2:
        ups = np.where(steps_up > tiny, steps_up, 0.0).sum(axis=0)
        downs = np.where(steps_up < -tiny, -steps_up, 0.0).sum(axis=0)
        oscillating |= ~noisy & (rising >= RISE_SHARE) & (ups >= RISE_SIZE * downs) & (ups > 0)
    late_range = np.ptp(loss[half:], axis=0)
    # swinging: oscillating over a wide range of loss (over the stability limit, bouncing)
    swinging = oscillating & (late_range >= SWING_FRACTION * start_scale)
    # growing: the later half of the window sits well above the earlier half (medians, so a noisy
    # mini-batch loss is not "growing"), and the last value is not back down. A swinging run's halves
    # are compared by their means and its last two values: the median of a swing between two levels
    # is the high or the low one by the parity of the count, which made every other step "growing"
    # the medians only where the extremes allow growth (a median lies between them; NaN fails both)
    early_low, late_high = np.min(loss[:half], axis=0) - floor, np.max(loss[half:], axis=0) - floor
    maybe = (late_high > (1.0 + GROWTH) * np.maximum(early_low, 0.0) + tiny) & (late_high > 0)
    early = _median_where(loss[:half], maybe & ~swinging) - floor
    late = _median_where(loss[half:], maybe & ~swinging) - floor
    recent = last - floor
    if swinging.any():
        early[swinging] = np.mean(loss[:half, swinging], axis=0) - floor[swinging]
        late[swinging] = np.mean(loss[half:, swinging], axis=0) - floor[swinging]
        recent[swinging] = np.max(loss[-2:, swinging], axis=0) - floor[swinging]
    growing = (late > (1.0 + GROWTH) * np.maximum(early, 0.0) + tiny) & (recent >= late) & (late > 0)
    growing &= ~noisy | (late - early >= GROW_NOISY_REL * start_scale)
    # growing steadily: (noiseless) each quarter of the window's mean above the one before, the last at
    # least STEADY_GROWTH times the first's (above the floor), the last values no lower: GD just over its
    # stability limit (quadratic, lr 0.2002 where 2/λ = 0.2) grows 0.4% a step, 1.5x between the halves,
    # and read "oscillating: it overshoots and swings back" while its loss went from 12 to 1e8
    if n >= 8 and window.span >= MIN_SPAN:
        quarter = n // 4
        means = np.stack([np.mean(loss[i * quarter:(i + 1) * quarter], axis=0) for i in range(3)]
                         + [np.mean(loss[3 * quarter:], axis=0)]) - floor
        steady = np.all(np.diff(means, axis=0) > 0, axis=0) & (means[3] >= STEADY_GROWTH * np.maximum(means[0], 0.0) + tiny)
        growing |= steady & ~noisy & (recent >= means[3])
    growing |= ~np.isfinite(last) & np.isfinite(first)
    # stationary: a window long enough, the loss flat, the gradient small and not growing
    scale = np.maximum.reduce([np.abs(last - floor), start_scale, np.full(len(last), 1e-12)])
    small = grad[-1] <= np.maximum(STALL_GRAD_REL * np.asarray(window.start_grad, dtype=np.float64), STALL_GRAD_ABS)
    flat = np.abs(last - first) <= STALL_LOSS_REL * scale
    # where the floor is known (a surface's global minimum), flat also means that the window's change is
    # a sliver of the height still above it: scaled by the start alone, a stiff surface's run whose loss
    # halves every 180 steps on its way to the minimum read "converged" 700 steps before it got there
    flat &= ~known_floor | (np.abs(last - first) <= REST_SHARE * np.abs(last - floor))
    whole = flat.copy()  # flat over the whole window, not only its later half
    # at rest: the later half of the window constant to rounding with a small gradient (a run that
    # reached its optimum in the window's first steps, whose descent the window still holds), or
    # settled: flat as above over the later half alone, which changed by at most REST_SHARE of what
    # the window fell and of the loss's height above the floor (a linear descent's tail; a run still
    # creeping is judged over the whole window, as before)
    at_rest = small & (late_range <= ROUNDING_LOSS * scale)
    settled = (late_range <= STALL_LOSS_REL * scale) & (late_range <= REST_SHARE * np.minimum(first - last, np.abs(last - floor)))
    flat |= at_rest | (small & settled)
    # the gradient grew over the window: leaving, unless it is rounding (natural-gradient's |g| 6e-18 -> 7e-18)
    leaving = (grad[-1] > GRAD_LEAVING * grad[0]) & (grad[-1] > ROUNDING_GRAD * np.asarray(window.start_grad, dtype=np.float64))
    still = np.zeros(len(last), dtype=bool)
    if path is not None:  # parked where the raw gradient is not 0 (an L2-penalised optimum)
        still = np.isfinite(size) & (path.lengths.sum(axis=0) <= STILL_PATH * size)
    stationary = (window.span >= MIN_SPAN) & flat & ((small & ~leaving) | still)
    # before MIN_SPAN steps: at rest to rounding for REST_STEPS steps after a descent the window holds
    # (more than 1 - STUCK_FRACTION of the way from the start: not stuck at the start, not kept still
    # by a learning rate of 0) is stationary too
    fell = (first - last) > (1.0 - STUCK_FRACTION) * start_scale
    moved = np.ones(len(last), dtype=bool) if window.lr is None else ~np.all(window.lr == 0, axis=0)
    stationary |= (n - half > REST_STEPS) & at_rest & ~leaving & fell & moved
    high = (last - floor) > HIGH_LOSS_FRACTION * start_scale
    # stuck at the start: the loss never got far from where it began and is not falling now
    top = np.max(loss, axis=0) - floor  # the median only where the maximum could meet a rule using it
    maybe = ((top >= STUCK_FRACTION * start_scale) & (start_scale > 0)) | (
        np.isfinite(chance) & (chance > 0) & (top + floor >= CHANCE_FRACTION * chance))
    middle = _median_where(loss, maybe) - floor
    at_chance = np.isfinite(chance) & (chance > 0) & (middle + floor >= CHANCE_FRACTION * chance)
    stuck = (window.span >= MIN_SPAN) & (((middle >= STUCK_FRACTION * start_scale) & (start_scale > 0)) | at_chance)
    if stuck.any():  # the trend only where it decides (each run's own column: the same numbers)
        by = STUCK_FALL * np.maximum(start_scale, np.nan_to_num(chance))
        stuck[stuck] = ~_falling(window.steps, loss[:, stuck], by[stuck])
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
    # a run whose loss swings widely is oscillating, not stuck (over the stability limit, its median
    # loss can stay above where it began while it bounces: natural-gradient's lr 0.002)
    stuck &= ~swinging
    stalled = (stationary & (lower | worse)) | (stuck & ~(stationary & convex))
    # stuck at the start: not falling over the whole window; stationary from the later half alone:
    # the loss fell in the earlier half, so it has stopped falling only for the later half's steps
    quiet[stalled & stationary & ~whole & ~stuck] = int(window.steps[-1] - window.steps[half])
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

