"""Hyperparameter sweeps: a grid of optimizer settings over one run, stepped as ONE cohort.

Every point of the grid is the same run (same problem, start, seed and mini-batches) with other
hyperparameters; the points are the rows of one (R, P) cohort whose optimizer holds those
hyperparameters as per-run arrays (gdsim.engine.optimizers), so a 200-point lr sweep costs one
array operation per step, not 200. A row computes what the single run with that setting computes,
operation for operation: on a surface or a network its loss, parameters and divergence step are
the same bits (tests/engine/test_sweep.py).

What each point reports (SweepResult): the loss at the last step (`final_loss`; NaN for a run that
diverged, which has none), the lowest loss on the way (`best_loss`), the first step where a
condition such as `loss<1e-3` held (`steps_to`), and whether and when it diverged (left the
cohort's bound or went non-finite: gdsim.engine.cohort). Problems with data sets are also evaluated
on the whole train and validation splits at the last step (`train_loss`, `val_loss`, ...).
"""

from __future__ import annotations

import math
import operator
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gdsim.engine.cohort import Cohort
from gdsim.engine.optimizers import DEFAULTS, make_optimizer
from gdsim.engine.schedules import per_run_schedule
from gdsim.errors import UserError

MAX_POINTS = 100_000  # grid points of one sweep (rows of its cohort)
MAX_VALUES = 20_000_000  # points x parameters: 160 MB an array (the cohort holds several)
SCALES = ("log", "lin")
# Hyperparameters that take a number, per optimizer (betas are swept one at a time: beta1, beta2).
_NOT_NUMBERS = {"nesterov", "centered", "amsgrad", "variant", "line_search"}
CONDITION_METRICS = ("loss", "grad_norm")
_OPS = {"<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt}
_CONDITION = re.compile(r"^\s*([a-z_]+)\s*(<=|>=|<|>)\s*(\S+)\s*$")


class SweepError(UserError, ValueError):
    """A sweep that cannot be made (the message names the key or range and what was expected)."""


def sweepable(optimizer: str) -> tuple[str, ...]:
    """The keys a sweep can vary for an optimizer (canonical name or shortcut)."""
    name = {"momentum": "sgd", "nesterov": "sgd"}.get(optimizer, optimizer)
    if name == "cg":
        return ("lr",)
    keys = []
    for key in DEFAULTS.get(name, {}):
        if key == "betas":
            keys += ["beta1", "beta2"]
        elif key not in _NOT_NUMBERS:
            keys.append(key)
    return tuple(keys)


def canonical_key(key: str) -> str:
    """`optimizer.lr` -> lr, `betas.0` / `optimizer.betas.1` -> beta1 / beta2; others unchanged."""
    key = key.strip().lower().removeprefix("optimizer.")
    return {"betas.0": "beta1", "betas.1": "beta2"}.get(key, key)


@dataclass(frozen=True)
class Axis:
    """One swept hyperparameter: n values from low to high, evenly on a log or linear scale."""

    key: str
    low: float
    high: float
    n: int
    scale: str = "log"

    def __post_init__(self) -> None:
        if self.scale not in SCALES:
            raise SweepError(f"{self.key}: the scale must be log or lin, got {self.scale!r}")
        if not (math.isfinite(self.low) and math.isfinite(self.high)):
            raise SweepError(f"{self.key}: the range must be finite numbers, got {self.low:g}:{self.high:g}")
        if self.high < self.low:
            raise SweepError(f"{self.key}: the range goes from low to high, got {self.low:g}:{self.high:g}")
        if self.scale == "log" and self.low <= 0:
            raise SweepError(f"{self.key}: a log scale needs low > 0, got {self.low:g} "
                             "(use :lin for a range from 0)")
        if not 1 <= self.n <= MAX_POINTS:
            raise SweepError(f"{self.key}: the number of values must be from 1 to {MAX_POINTS}, got {self.n}")
        if self.n > 1 and self.low == self.high:
            raise SweepError(f"{self.key}: {self.n} values need low < high, got {self.low:g}:{self.high:g}")

    @property
    def values(self) -> np.ndarray:
        if self.n == 1:
            return np.array([self.low])
        if self.scale == "log":
            values = np.geomspace(self.low, self.high, self.n)
        else:
            values = np.linspace(self.low, self.high, self.n)
        values[0], values[-1] = self.low, self.high  # the ends exactly as given
        return values


@dataclass(frozen=True)
class Condition:
    """`loss<1e-3`: a per-step test whose first success a steps_to metric reports."""

    metric: str
    op: str
    threshold: float

    @classmethod
    def parse(cls, text: str) -> Condition:
        match = _CONDITION.match(text)
        if not match:
            raise SweepError(f"{text!r}: expected METRIC<NUMBER (or <=, >, >=), e.g. loss<1e-3")
        metric, op, number = match.groups()
        if metric not in CONDITION_METRICS:
            raise SweepError(f"{text!r}: the metric must be one of {', '.join(CONDITION_METRICS)}, got {metric!r}")
        try:
            threshold = float(number)
        except ValueError:
            raise SweepError(f"{text!r}: {number!r} is not a number") from None
        if not math.isfinite(threshold):
            raise SweepError(f"{text!r}: the threshold must be a finite number")
        return cls(metric, op, threshold)

    def __str__(self) -> str:
        return f"{self.metric}{self.op}{self.threshold:g}"

    def holds(self, values: np.ndarray) -> np.ndarray:
        return _OPS[self.op](values, self.threshold)  # NaN never holds


@dataclass
class SweepResult:
    """What each grid point did, per point (R,) in grid order (the last axis varies fastest)."""

    axes: tuple[Axis, ...]
    settings: dict[str, np.ndarray]  # the swept values of each point, by key
    steps: int
    start_loss: np.ndarray
    final_loss: np.ndarray  # NaN where the run diverged
    best_loss: np.ndarray
    diverged_at: np.ndarray  # step, or -1
    stopped_at: np.ndarray  # early stopping's step, or -1
    steps_to: dict[str, np.ndarray] = field(default_factory=dict)  # per condition text: step, or -1
    evaluation: dict[str, np.ndarray] = field(default_factory=dict)  # train_loss, val_loss ... at the end
    start_train_loss: np.ndarray | None = None  # the whole training set's loss at step 0 (data sets)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(a.n for a in self.axes)

    @property
    def diverged(self) -> np.ndarray:
        return self.diverged_at >= 0

    @property
    def unstable(self) -> np.ndarray:
        """Diverged, or ended no lower than it started (by `ranking`): near an edge a run can grow
        too slowly to leave the bound in the steps given, yet it is on the wrong side of the edge."""
        start = self.start_train_loss if self.ranking == "train_loss" else self.start_loss
        with np.errstate(invalid="ignore"):
            return self.diverged | ~(self.metric(self.ranking) < start)

    def metric(self, name: str) -> np.ndarray:
        """(R,) floats of a metric by name: final_loss, best_loss, diverged (1.0 / 0.0),
        diverged_at, steps_to:<condition> (NaN where never), or an evaluation (train_loss ...)."""
        if name in ("final_loss", "best_loss", "start_loss"):
            return getattr(self, name)
        if name == "diverged":
            return self.diverged.astype(np.float64)
        if name == "diverged_at":
            return np.where(self.diverged, self.diverged_at, np.nan)
        if name.startswith("steps_to:"):
            steps = self.steps_to[str(Condition.parse(name.removeprefix("steps_to:")))]
            return np.where(steps >= 0, steps, np.nan).astype(np.float64)
        if name in self.evaluation:
            return self.evaluation[name]
        raise SweepError(f"unknown metric {name!r}; the metrics are: {', '.join(self.metric_names())}")

    def metric_names(self) -> list[str]:
        return ["final_loss", "best_loss", *(f"steps_to:{c}" for c in self.steps_to), "diverged",
                *self.evaluation]

    @property
    def ranking(self) -> str:
        """The metric that ranks the points: the loss on the whole training set at the end where
        the problem has one (a mini-batch's loss is noisy), else the final loss."""
        return "train_loss" if "train_loss" in self.evaluation else "final_loss"

    def best(self, name: str | None = None) -> int | None:
        """The point with the lowest value of `name` (default: `ranking`) among runs that did not
        diverge (None if all did)."""
        values = np.where(self.diverged, np.nan, self.metric(name or self.ranking))
        if np.isnan(values).all():
            return None
        return int(np.nanargmin(values))


class Sweep:
    """A grid of hyperparameters over one run, as one cohort; step(n) advances every point."""

    def __init__(
        self,
        problem: Any,
        optimizer: str,
        hyper: dict[str, Any],
        axes: list[Axis] | tuple[Axis, ...],
        start: np.ndarray,
        seed: int,
        *,
        schedule: tuple[str, dict[str, Any]] = ("constant", {}),
        conditions: tuple[Condition, ...] = (),
        clip_norm: float | None = None,
        eval_every: int | None = None,
        patience: int | None = None,
        restore_best: bool = False,
        bound: float = 1e6,
    ):
        self.axes = tuple(axes)
        if not self.axes:
            raise SweepError("a sweep needs at least one hyperparameter to vary")
        keys = [a.key for a in self.axes]
        repeated = sorted({k for k in keys if keys.count(k) > 1})
        if repeated:
            raise SweepError(f"{repeated[0]}: varied twice; vary each key once")
        allowed = sweepable(optimizer)
        for key in keys:
            if key not in allowed:
                raise SweepError(f"{key}: not a hyperparameter of {optimizer} that a sweep can vary; "
                                 f"it can vary: {', '.join(allowed)}")
        points = math.prod(a.n for a in self.axes)
        if points > MAX_POINTS:
            raise SweepError(f"{' x '.join(str(a.n) for a in self.axes)} = {points} points; at most {MAX_POINTS}")
        if points * problem.n_params > MAX_VALUES:
            raise SweepError(f"{' x '.join(str(a.n) for a in self.axes)} = {points:,} points of {problem.n_params:,} "
                             f"parameters each is too much memory; at most {MAX_VALUES:,} values "
                             f"(here at most {MAX_VALUES // problem.n_params:,} points)")
        grids = np.meshgrid(*(a.values for a in self.axes), indexing="ij")
        self.settings = {a.key: g.ravel().copy() for a, g in zip(self.axes, grids)}
        self.conditions = tuple(conditions)
        given = dict(hyper)
        lrs = self.settings.get("lr")
        base_lr = given.pop("lr", DEFAULTS.get(optimizer, {}).get("lr", 1e-3))
        if lrs is None:
            lrs = np.full(points, float(base_lr))
        betas = list(given.get("betas", DEFAULTS.get(optimizer, {}).get("betas", (0.9, 0.999))))
        for key, values in self.settings.items():
            if key in ("beta1", "beta2"):
                betas[key == "beta2"] = values
                given["betas"] = tuple(betas)
            elif key != "lr":
                given[key] = values
        try:
            # The optimizer's own lr is the per-run one too: its checks see every value.
            self.optimizer = make_optimizer(optimizer, lr=lrs if optimizer != "cg" else float(lrs[0]), **given)
            name, settings = schedule
            self.schedule = per_run_schedule(name, lrs, **settings)
        except UserError as exc:
            raise SweepError(str(exc)) from None
        self.n_points = points
        self.skipped_changes: tuple[int, ...] = ()  # steps of the run's changes a sweep leaves out (build_sweep)
        start = np.asarray(start, dtype=np.float64).reshape(1, -1)
        self.cohort = Cohort(problem, self.optimizer, self.schedule, np.repeat(start, points, axis=0),
                             np.full(points, seed, dtype=np.int64), np.arange(points), clip_norm=clip_norm,
                             eval_every=eval_every, patience=patience, restore_best=restore_best, bound=bound)
        self.step_count = 0
        c = self.cohort
        self.start_loss = np.array(c.loss, dtype=np.float64)
        self.best_loss = self.start_loss.copy()
        self.steps_to = {str(cond): np.full(points, -1, dtype=np.int64) for cond in self.conditions}
        self._needs_grad_norm = any(cond.metric == "grad_norm" for cond in self.conditions)
        self.start_train_loss = None
        if c.can_evaluate:
            with np.errstate(all="ignore"):
                self.start_train_loss = c.evaluate_split("train", np.arange(1))["loss"][0] + np.zeros(points)
        self._track(0)

    def step(self, n: int = 1) -> None:
        """Advance every point by n updates (diverged points stay frozen)."""
        cohort = self.cohort
        with np.errstate(all="ignore"):
            for _ in range(n):
                if cohort.any_frozen and cohort.frozen.all():
                    self.step_count += 1
                    continue
                cohort.step(self.step_count)
                self.step_count += 1
                self._track(self.step_count)

    def _track(self, k: int) -> None:
        loss = self.cohort.loss
        np.fmin(self.best_loss, loss, out=self.best_loss)
        if not self.conditions:
            return
        values = {"loss": loss}
        if self._needs_grad_norm:
            grad = self.cohort.grad
            values["grad_norm"] = np.sqrt(np.einsum("rp,rp->r", grad, grad))
        for cond in self.conditions:
            first = self.steps_to[str(cond)]
            hit = (first < 0) & cond.holds(values[cond.metric]) & ~self.cohort.frozen
            first[hit] = k

    def result(self) -> SweepResult:
        """The metrics at the current step."""
        c = self.cohort
        diverged = c.diverged_at >= 0
        evaluation = {}
        if c.can_evaluate:
            with np.errstate(all="ignore"):
                for split in ("train", "val"):
                    if split == "val" and getattr(c.problem, "n_val", 0) == 0:
                        continue
                    for name, values in c.evaluate_split(split).items():
                        evaluation[f"{split}_{name}"] = np.where(diverged, np.nan, values)
        return SweepResult(
            axes=self.axes,
            settings=self.settings,
            steps=self.step_count,
            start_loss=self.start_loss.copy(),
            final_loss=np.where(diverged, np.nan, c.loss),
            best_loss=self.best_loss.copy(),
            diverged_at=c.diverged_at.copy(),
            stopped_at=c.stopped_at.copy(),
            steps_to={k: v.copy() for k, v in self.steps_to.items()},
            evaluation=evaluation,
            start_train_loss=self.start_train_loss,
        )


def run_sweep(*args: Any, steps: int, **kwargs: Any) -> SweepResult:
    """Sweep(*args, **kwargs) stepped `steps` times; its result."""
    sweep = Sweep(*args, **kwargs)
    sweep.step(steps)
    return sweep.result()
