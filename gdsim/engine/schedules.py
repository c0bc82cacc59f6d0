"""Learning-rate schedules with torch.optim.lr_scheduler's semantics, as closed forms of the step.

`lr_at(k)` is the learning rate of update k+1: the lr after k scheduler steps, the scheduler
being stepped once after every optimizer step (so lr_at(0) is the base lr, or the warmup's
first value). It also takes an array of k and returns an array (plots, the cohort's lr table).

    constant     η_k = η
    step         η_k = η · γ^⌊k / step_size⌋                        StepLR(step_size, gamma=0.1)
    exponential  η_k = η · γ^k                                       ExponentialLR(gamma)
    cosine       η_k = η_min + (η − η_min)·(1 + cos(π·k / T_max))/2   CosineAnnealingLR(T_max, eta_min)

Cosine is periodic as in torch: after T_max steps it climbs back to η over the next T_max.

Warmup (warmup = W > 0, start factor f):
    k < W    η_k = η · (f + (1 − f)·k / W)                           LinearLR(f, 1.0, total_iters=W)
    k ≥ W    η_k = main schedule at step k − W                       SequentialLR(milestones=[W])
Checked against torch 2.13.0: at the milestone SequentialLR restarts the main scheduler with its
closed form at step 0 (the base lr), then steps it on as usual, which is exactly the above.
torch computes StepLR, ExponentialLR, LinearLR and CosineAnnealingLR recursively from the previous
lr; the closed forms here agree with them to about 1e-15 relative (tests/golden checks 1e-9).

plateau (ReduceLROnPlateau, mode min) is the one schedule that is not a function of k: it watches
a loss and cuts the lr when the loss stops improving, so its lr is per-run state (PlateauState)
that the simulation feeds (see `Plateau` below and gdsim.engine.cohort.Cohort). Its lr_at(k)
is only the base lr, the lr before any cut.

Every value is computed on Python floats (`**` and math.cos, i.e. the C library), one step at a
time, also for an array of steps: NumPy's vector `power` and `cos` may round differently from the
C library in the last bit, depending on the CPU (AVX-512 dispatches other kernels than AVX2 or
NEON), so an array form built from them would not be the per-step form. Computed one way, lr_at(k)
has the same bits alone, inside an array, and wherever the array starts (the cohort's table is
refilled from whatever step it has reached, in the app and in its engine worker).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from gdsim.errors import UserError

SCHEDULE_NAMES = ("constant", "step", "exponential", "cosine", "plateau")


class ScheduleError(UserError, ValueError):
    """A schedule that cannot be built from the given settings (the message says which)."""


class Schedule(NamedTuple):
    name: str
    params: dict  # resolved settings, including lr, warmup and warmup_start_factor
    lr_at: Callable[[Any], Any]  # k (int or int array) -> lr (float or float array)
    # The loss-watching part of "plateau" (None for the closed-form schedules): its lr is state.
    adaptive: "Plateau | None" = None
    # One base lr per run (per_run_schedule): lr_at(k) gives (R,), lr_at(ks) gives (len(ks), R).
    per_run: bool = False
    # The schedule as built (its base lr is torch's base_lrs), when this one is it after a mid-run
    # lr change (continue_from); None for a schedule as built.
    root: "Schedule | None" = None


class PlateauState(NamedTuple):
    """ReduceLROnPlateau's state for R runs, each field (R,): never modified in place."""

    lr: np.ndarray  # the lr of the next update
    best: np.ndarray  # the best metric seen (inf at first: mode min's mode_worse)
    num_bad_epochs: np.ndarray  # metrics in a row that were not better than best (int64)
    cooldown_counter: np.ndarray  # metrics left in the cooldown after a cut (int64)


# The rule in the maths panel's words.
PLATEAU_RULE = (
    "better ← L < best·(1 − threshold)   (abs: L < best − threshold)\n"
    "best, bad ← L, 0 if better, else best, bad + 1   (in cooldown: bad ← 0)\n"
    "if bad > patience:  η ← max(η·factor, min_lr),  bad ← 0,  cooldown starts"
)


class Plateau(NamedTuple):
    """torch.optim.lr_scheduler.ReduceLROnPlateau (mode "min") for R runs at once, as a pure
    (init, step) pair. step(state, metric) is torch's scheduler.step(metric), line by line:

        better      ← metric < best·(1 − threshold)     (threshold_mode rel)
                      metric < best − threshold          (threshold_mode abs)
        best, bad   ← (metric, 0) if better, else (best, bad + 1)
        if cooldown_counter > 0:  cooldown_counter ← cooldown_counter − 1,  bad ← 0
        if bad > patience:
            new ← max(lr·factor, min_lr);  lr ← new if lr − new > eps
            cooldown_counter ← cooldown,  bad ← 0

    A NaN metric is never better (a bad epoch), as in torch.
    """

    factor: float
    patience: int
    threshold: float
    threshold_mode: str
    cooldown: int
    min_lr: float
    eps: float

    def init(self, lr: Any, n: int) -> PlateauState:
        """The state before any metric: lr (a float, or (n,) per run), best = inf, counters 0."""
        return PlateauState(
            np.broadcast_to(np.asarray(lr, dtype=np.float64), (n,)).copy(),
            np.full(n, np.inf),
            np.zeros(n, dtype=np.int64),
            np.zeros(n, dtype=np.int64),
        )

    def step(self, state: PlateauState, metric: Any, active: np.ndarray | None = None) -> PlateauState:
        """The state after seeing one metric per run; rows where `active` is False keep theirs."""
        metric = np.asarray(metric, dtype=np.float64)
        if self.threshold_mode == "rel":
            better = metric < state.best * (1.0 - self.threshold)
        else:
            better = metric < state.best - self.threshold
        best = np.where(better, metric, state.best)
        bad = np.where(better, 0, state.num_bad_epochs + 1)
        cooling = state.cooldown_counter > 0
        cooldown_counter = np.where(cooling, state.cooldown_counter - 1, state.cooldown_counter)
        bad = np.where(cooling, 0, bad)
        cut = bad > self.patience
        new_lr = np.maximum(state.lr * self.factor, self.min_lr)
        lr = np.where(cut & (state.lr - new_lr > self.eps), new_lr, state.lr)
        new = PlateauState(
            lr, best, np.where(cut, 0, bad), np.where(cut, self.cooldown, cooldown_counter)
        )
        if active is None:
            return new
        return PlateauState(*(np.where(active, n, o) for n, o in zip(new, state)))


def _number(key: str, value: Any) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (int, float, np.integer, np.floating)
    ):
        raise ScheduleError(f"schedule: '{key}' must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ScheduleError(f"schedule: '{key}' must be finite, got {value}")
    return value


def _count(key: str, value: Any, minimum: int) -> int:
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
    if isinstance(value, float) and value.is_integer():
        ok, value = True, int(value)  # 10.0 from a TOML float is a fine step count
    if not ok or value < minimum:
        raise ScheduleError(
            f"schedule: '{key}' must be a whole number >= {minimum}, got {value!r}"
        )
    return int(value)


_APPLIES = {
    "constant": (),
    "step": ("step_size", "gamma"),
    "exponential": ("gamma",),
    "cosine": ("t_max", "eta_min"),
    "plateau": ("factor", "patience", "threshold", "threshold_mode", "cooldown", "min_lr", "eps"),
}
# torch's ReduceLROnPlateau defaults.
PLATEAU_DEFAULTS = {
    "factor": 0.1, "patience": 10, "threshold": 1e-4, "threshold_mode": "rel", "cooldown": 0,
    "min_lr": 0.0, "eps": 1e-8,
}


def make_schedule(
    name: str,
    lr: float,
    *,
    step_size: int | None = None,
    gamma: float | None = None,
    t_max: int | None = None,
    eta_min: float = 0.0,
    warmup: int = 0,
    warmup_start_factor: float = 1 / 3,
    **plateau: Any,
) -> Schedule:
    """The schedule `name` starting from base lr `lr`. Settings that do not apply to `name`
    (e.g. gamma for cosine) are refused rather than silently ignored. Raises ScheduleError."""
    key = str(name).strip().lower()
    if key not in _APPLIES:
        raise ScheduleError(
            f"Unknown schedule {name!r}; valid names: {', '.join(SCHEDULE_NAMES)}"
        )
    unknown = sorted(set(plateau) - set(PLATEAU_DEFAULTS))
    if unknown:
        raise ScheduleError(
            f"schedule: unknown setting '{unknown[0]}'; settings: step_size, gamma, t_max, eta_min, "
            f"warmup, warmup_start_factor, {', '.join(PLATEAU_DEFAULTS)}"
        )
    given = {"step_size": step_size, "gamma": gamma, "t_max": t_max, **plateau}
    if eta_min != 0:
        given["eta_min"] = eta_min
    if key == "plateau" and warmup:
        raise ScheduleError("schedule: 'warmup' does not apply to plateau (it cuts the lr from the base lr)")
    for setting, value in given.items():
        if value is not None and setting not in _APPLIES[key]:
            takes = ", ".join(_APPLIES[key]) or "no settings besides lr and warmup"
            raise ScheduleError(f"schedule: '{setting}' does not apply to {key}; it takes: {takes}")
    base = _number("lr", lr)
    if base < 0:
        raise ScheduleError(f"schedule: Invalid learning rate: {lr} (expected a number >= 0)")
    warmup = _count("warmup", warmup, 0)
    factor = _number("warmup_start_factor", warmup_start_factor)
    if not 0 < factor <= 1:
        # torch's LinearLR check
        raise ScheduleError(
            f"schedule: 'warmup_start_factor' must be in (0, 1], got {warmup_start_factor}"
        )
    params: dict[str, Any] = {"lr": base}

    # main(k): the schedule at step k >= 0, a Python int, on Python floats (see the docstring)
    if key == "constant":
        main = lambda k: base  # noqa: E731
    elif key == "step":
        if step_size is None:
            raise ScheduleError("schedule: 'step' needs 'step_size' (steps between lr drops)")
        size = _count("step_size", step_size, 1)
        g = _positive("gamma", 0.1 if gamma is None else gamma)
        params.update(step_size=size, gamma=g)
        main = lambda k: base * _power(g, k // size)  # noqa: E731
    elif key == "exponential":
        if gamma is None:
            raise ScheduleError("schedule: 'exponential' needs 'gamma' (the factor per step)")
        g = _positive("gamma", gamma)
        params.update(gamma=g)
        main = lambda k: base * _power(g, k)  # noqa: E731
    elif key == "plateau":
        adaptive = _plateau(plateau)
        params.update(adaptive._asdict())
        # Not a function of k: the runs' lr is state (Plateau); this is the lr before any cut.
        main = lambda k: base  # noqa: E731
    else:
        if t_max is None:
            raise ScheduleError("schedule: 'cosine' needs 't_max' (steps from lr down to eta_min)")
        period = _count("t_max", t_max, 1)
        low = _number("eta_min", eta_min)
        if low < 0:
            raise ScheduleError(f"schedule: 'eta_min' must be >= 0, got {eta_min}")
        params.update(t_max=period, eta_min=low)
        main = lambda k: low + (base - low) * (1 + math.cos(math.pi * k / period)) / 2  # noqa: E731

    params.update(warmup=warmup, warmup_start_factor=factor)

    def at(k: int) -> float:
        if k < warmup:
            return float(base * (factor + (1 - factor) * k / warmup))
        return float(main(k - warmup))

    return Schedule(key, params, _lr_function(at), adaptive if key == "plateau" else None)


def _lr_function(at: Callable[[int], float]) -> Callable[[Any], Any]:
    """lr_at(k) for an int or an array of whole steps >= 0 from `at` (one step on Python floats)."""

    def lr_at(k: Any) -> Any:
        if isinstance(k, (int, np.integer)) and not isinstance(k, (bool, np.bool_)) and k >= 0:
            return at(int(k))  # the per-step call
        ks = np.asarray(k)
        if ks.dtype.kind not in "iu":
            if not np.all(np.mod(ks, 1) == 0):
                raise ValueError(f"lr_at needs whole step numbers, got {k!r}")
            ks = ks.astype(np.int64)
        if np.any(ks < 0):
            raise ValueError(f"lr_at needs step numbers >= 0, got {k!r}")
        if ks.ndim == 0:
            return at(int(ks))
        # one step at a time, as above (~0.2 us a step; the cohort asks 4,096 steps at once)
        out = np.fromiter(map(at, ks.ravel().tolist()), dtype=np.float64, count=ks.size)
        return out.reshape(ks.shape)

    return lr_at


def per_run_schedule(name: str, lrs: Any, **settings: Any) -> Schedule:
    """The schedule `name` for R runs with base lrs `lrs` (R,) (a sweep): lr_at(k) is each run's
    lr as make_schedule(name, lrs[r], **settings).lr_at(k) computes it, the same bits, computed
    once per distinct base lr. A constant schedule's table is a broadcast view (no memory)."""
    lrs = np.asarray(lrs, dtype=np.float64)
    if lrs.ndim != 1 or not len(lrs):
        raise ScheduleError("schedule: one base lr per run expected (a non-empty list)")
    distinct, where = np.unique(lrs, return_inverse=True)
    schedules = [make_schedule(name, lr, **settings) for lr in distinct.tolist()]
    first = schedules[0]
    constant = first.name in ("constant", "plateau") and not first.params["warmup"]

    def lr_at(k: Any) -> Any:
        if constant:
            ks = np.asarray(k)
            for schedule in schedules[:1]:
                schedule.lr_at(k)  # the same checks of k as one run's
            return lrs.copy() if ks.ndim == 0 else np.broadcast_to(lrs, (*ks.shape, len(lrs)))
        table = np.stack([np.asarray(s.lr_at(k), dtype=np.float64) for s in schedules], axis=-1)
        return table[..., where]

    params = {**first.params, "lr": lrs}
    return Schedule(first.name, params, lr_at, first.adaptive, True)


def _plateau(given: dict[str, Any]) -> Plateau:
    """ReduceLROnPlateau's settings over torch's defaults, checked (torch checks factor < 1 only)."""
    s = {**PLATEAU_DEFAULTS, **given}
    factor = _number("factor", s["factor"])
    if not 0 <= factor < 1:
        raise ScheduleError(f"schedule: 'factor' must be from 0 to below 1 (the lr is multiplied by it), got {s['factor']}")
    mode = s["threshold_mode"]
    if mode not in ("rel", "abs"):
        raise ScheduleError(f"schedule: 'threshold_mode' must be \"rel\" or \"abs\", got {mode!r}")
    values = {}
    for key in ("threshold", "min_lr", "eps"):
        values[key] = _number(key, s[key])
        if values[key] < 0:
            raise ScheduleError(f"schedule: '{key}' must be >= 0, got {s[key]}")
    return Plateau(factor, _count("patience", s["patience"], 0), values["threshold"], mode,
                   _count("cooldown", s["cooldown"], 0), values["min_lr"], values["eps"])


def _power(g: float, n: int) -> float:
    """g ** n on Python floats (the C library's pow); inf where it overflows (gamma > 1), as
    torch's repeated multiplication reaches."""
    try:
        return g**n
    except OverflowError:
        return math.inf


def _positive(key: str, value: Any) -> float:
    value = _number(key, value)
    if value <= 0:
        raise ScheduleError(f"schedule: '{key}' must be > 0, got {value}")
    return value
