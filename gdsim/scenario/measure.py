"""Measuring what [[expect]] entries ask about while a simulation steps (used by gdsim.scenario.verify).

A Measurer plans from the expectations which metrics it needs at which steps, and which need a
per-step series; then it steps the simulation once, reading values straight from the cohorts
(exact at every step, unlike the decimated history the app uses).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gdsim.engine.internals import SPARSE_BELOW, weight_share_below
from gdsim.engine.simulation import Cohort, Simulation
from gdsim.scenario.expect import (
    CLASSIFICATION, DATA_METRICS, DERIVED, EVAL_METRICS, NETWORK_METRICS, REGRESSION, SURFACE_METRICS, Expectation,
    measured_name,
)
from gdsim.words import plural

# Series memory bound: beyond this many (step, run) entries per metric, every k-th step is kept.
MAX_SERIES_ENTRIES = 4_000_000
DEFAULT_EVAL_EVERY = 10


class MeasureError(ValueError):
    """An expectation that cannot be measured on this scenario (the message says why)."""


class Measurer:
    """Collects per-run values for a list of expectations while stepping `sim` to `steps`."""

    def __init__(self, sim: Simulation, expectations: tuple[Expectation, ...], steps: int):
        self.sim = sim
        self.steps = steps
        self.n = sim.n_runs
        self.points: dict[int, set[str]] = {}
        self.series_names: set[str] = set()
        self.derived: set[str] = set()  # metrics computed from another one's series (DERIVED)
        self.unavailable: dict[str, str] = {}
        for e in expectations:
            self._plan(e)
        for name in {*self.series_names, *self.derived, *(m for ms in self.points.values() for m in ms)}:
            reason = self._why_not(name)
            if reason:
                self.unavailable[name] = reason
        self.series_names -= set(self.unavailable)
        self.derived -= set(self.unavailable)
        self.snapshots: dict[tuple[int, str], Any] = {}
        cells = (steps + 1) * max(self.n, 1)
        self.stride = max(1, math.ceil(cells / MAX_SERIES_ENTRIES))
        self.series_steps = np.arange(0, steps + 1, self.stride)
        self.series = {name: np.full((len(self.series_steps), self.n), np.nan) for name in self.series_names}
        self._eval_cache: dict[tuple[int, str], dict[str, np.ndarray]] = {}

    # -- planning ----------------------------------------------------------------------------
    def _step_of(self, at: Any) -> int | None:
        if isinstance(at, int):
            return at
        return {"start": 0, "final": self.steps}.get(at)

    def _want(self, at: Any, name: str) -> None:
        if name in DERIVED:
            self.derived.add(name)
            self.series_names.add(DERIVED[name])
            return
        step = self._step_of(at)
        if step is None:
            self.series_names.add(name)
        elif step <= self.steps:
            self.points.setdefault(step, set()).add(name)

    def _plan(self, e: Expectation) -> None:
        self.points.setdefault(self.steps, set())
        if e.kind == "ends_in":
            self._want(e.at, "params")
        elif e.kind == "metric":
            self._want(e.at, measured_name(e))
            if e.than_at is not None:
                self._want(e.than_at, measured_name(e))
            if e.also is not None:
                self._want(e.also.at, measured_name(e.also))

    def _why_not(self, name: str) -> str | None:
        """Why a metric cannot be measured on every cohort of this simulation (None if it can)."""
        name, _, arg = name.partition("@")
        for cohort in self.sim.cohorts:
            problem = cohort.problem
            if name in DATA_METRICS and not hasattr(problem, "evaluate"):
                return f"metric {name!r} needs a data set; this problem is a surface"
            if name in SURFACE_METRICS and not hasattr(problem, "nearest_minimum"):
                return f"metric {name!r} is about a 2-D surface; this problem is a model on a data set"
            if name in EVAL_METRICS:
                if not hasattr(problem, "evaluate"):
                    return f"metric {name!r} needs a data set; this problem is a surface"
                task = getattr(problem, "task", "")
                if name.split("_", 1)[1] in CLASSIFICATION and task == "regression":
                    return f"metric {name!r} is for classification; this data set is a regression task"
                if name.split("_", 1)[1] in REGRESSION and task != "regression":
                    return f"metric {name!r} is for regression; this data set is a classification task"
            if name in NETWORK_METRICS:
                network = getattr(problem, "network", None)
                if network is None:
                    return f"metric {name!r} needs a neural network on a data set"
                if name == "hidden_unit_spread" and not network.hidden_units:
                    return "metric 'hidden_unit_spread' needs a model with hidden layers (model = \"mlp\")"
                layers = len(network.layout.layers)
                if name == "layer_grad_norm" and not -layers <= int(arg) < layers:
                    return f"layer = {arg}: the network has {layers} layers (0 to {layers - 1}, or -1 for the last)"
                if name == "layer_grad_ratio" and layers < 2:
                    return "metric 'layer_grad_ratio' needs a model with at least one hidden layer"
        return None

    # -- stepping ----------------------------------------------------------------------------
    def run(self) -> None:
        """Step the simulation to `steps`, observing where the plan asks."""
        sim = self.sim
        self._observe(0)
        if self.series_names:
            for k in range(1, self.steps + 1):
                sim.step(1)
                self._observe(k)
            self._derive()
            return
        for step in sorted(s for s in self.points if s > 0):
            sim.step(step - sim.step_count)
            self._observe(step)
        if sim.step_count < self.steps:
            sim.step(self.steps - sim.step_count)

    def _derive(self) -> None:
        """The DERIVED series from their base series (one row per recorded step)."""
        for name in self.derived:
            base = self.series[DERIVED[name]]
            if name == "loss_change":
                values = np.full(base.shape, np.nan)
                values[1:] = np.abs(np.diff(base, axis=0))
            else:  # best_val_loss: the lowest so far (fmin skips the steps without an evaluation)
                values = np.fmin.accumulate(base, axis=0)
            self.series[name] = values

    def _observe(self, k: int) -> None:
        self._eval_cache.clear()
        for name in self.points.get(k, ()):
            if name in self.unavailable:
                continue
            if name == "params":
                self.snapshots[(k, name)] = [c.params.copy() for c in self.sim.cohorts]
            else:
                self.snapshots[(k, name)] = self.current(name)
        if self.series_names and k % self.stride == 0:
            row = k // self.stride
            for name in self.series_names:
                # Evaluations on whole splits cost a full pass: only on each cohort's evaluation steps.
                self.series[name][row] = self.current(name, k if name in EVAL_METRICS else None)

    def _evaluates_at(self, cohort: Cohort, k: int) -> bool:
        every = cohort.eval_every or DEFAULT_EVAL_EVERY
        return k % every == 0 or k == self.steps

    # -- values at the current step -------------------------------------------------------
    def current(self, name: str, eval_step: int | None = None) -> np.ndarray:
        """Per-run values now; with eval_step, cohorts that do not evaluate at that step give NaN."""
        out = np.full(self.n, np.nan)
        for cohort in self.sim.cohorts:
            if eval_step is not None and not self._evaluates_at(cohort, eval_step):
                continue
            value = self._cohort_value(cohort, name)
            if value is not None:
                out[cohort.rows] = value
        return out

    def _cohort_value(self, c: Cohort, name: str) -> np.ndarray | float | None:
        problem = c.problem
        if name == "loss":
            return c.loss
        if name == "grad_norm":
            return _norms(c.grad)
        if name == "velocity_norm":
            velocity = c.velocity()
            return None if velocity is None else _norms(velocity)
        if name == "lr":
            return c.lr
        if name == "param_norm":
            return _norms(c.params)
        if name == "x":
            return c.params[:, 0]
        if name == "y":
            return c.params[:, 1]
        if name.startswith("distance_to_"):
            return _distance(problem, c.params, name.removeprefix("distance_to_"))
        if name in EVAL_METRICS:
            split, metric = name.split("_", 1)
            key = (id(c), split)
            if key not in self._eval_cache:
                self._eval_cache[key] = c.evaluate_split(split)  # with batch norm's running statistics
            return self._eval_cache[key].get(metric)
        if name == "epochs":
            taken = np.where(c.stopped_at >= 0, c.stopped_at, np.where(c.diverged_at >= 0, c.diverged_at, self.sim.step_count))
            return taken / problem.steps_per_epoch
        if name.startswith("layer_grad_norm@"):
            return problem.layer_grad_norms(c.grad)[:, int(name.split("@")[1])]
        if name == "layer_grad_ratio":
            norms = problem.layer_grad_norms(c.grad)
            with np.errstate(all="ignore"):
                return norms[:, 0] / norms[:, -1]
        if name == "hidden_unit_spread":
            hidden = problem.network.layout.weights(c.params)[:-1]
            return np.max([np.abs(w - w[:, :, :1]).max(axis=(1, 2)) for w in hidden], axis=0)
        if name.split("@")[0] == "sparsity":
            below = float(name.split("@")[1]) if "@" in name else SPARSE_BELOW
            return weight_share_below(problem.network, c.params, below)
        raise MeasureError(f"metric {name!r} is not known")

    # -- reading what was collected -----------------------------------------------------
    def select(self, name: str | None, key: str) -> np.ndarray:
        """Rows of the runs a name picks: one run by its label, or every seed of a [[runs]] entry."""
        runs = self.sim.runs
        if name is None:
            return np.arange(self.n)
        rows = [r for r, run in enumerate(runs) if run.label == name]
        if not rows:
            rows = [r for r, run in enumerate(runs) if run.group == name]
        if not rows:
            raise MeasureError(f"{key} = {name!r}: no run has that label")
        return np.array(rows)

    def _check_step(self, at: Any) -> int:
        step = self._step_of(at)
        if step is not None and step > self.steps:
            raise MeasureError(f"step {step} is beyond the scenario's {plural(self.steps, 'step')}")
        return step

    def value(self, name: str, at: Any, rows: np.ndarray, during: tuple[int, int] | None) -> np.ndarray:
        """Per-run values (len(rows),), or per-step values (steps, len(rows)) for at = any / all."""
        if name in self.unavailable:
            raise MeasureError(self.unavailable[name])
        step = self._check_step(at)
        if step is not None and name in self.derived:
            return self.series[name][step // self.stride, rows]  # the recorded step at or before it
        if step is not None:
            return self.snapshots[(step, name)][rows]
        values = self.series[name][:, rows]
        if during is not None:
            if during[0] > self.steps:
                raise MeasureError(f"during starts at step {during[0]}, beyond the scenario's {plural(self.steps, 'step')}")
            keep = (self.series_steps >= during[0]) & (self.series_steps <= during[1])
            values = values[keep]
        if at in ("any", "all"):
            return values
        with np.errstate(all="ignore"):
            if at == "jitter":
                return np.array([_jitter(values[:, j]) for j in range(values.shape[1])])
            finite = ~np.isnan(values)
            if at == "mean":
                counts = finite.sum(axis=0)
                return np.where(counts > 0, np.where(finite, values, 0.0).sum(axis=0) / np.maximum(counts, 1), np.nan)
            fill = np.inf if at == "min" else -np.inf
            reduced = (np.min if at == "min" else np.max)(np.where(finite, values, fill), axis=0)
            return np.where(finite.any(axis=0), reduced, np.nan)

    def params_at(self, at: Any, rows: np.ndarray) -> np.ndarray:
        """(len(rows), P) parameters at a step; all rows must have the same number of parameters."""
        step = self._check_step(at)
        chunks = self.snapshots.get((step, "params"))
        if chunks is None:
            chunks = [c.params.copy() for c in self.sim.cohorts] if step == self.sim.step_count else None
        if chunks is None:
            raise MeasureError(f"parameters were not recorded at step {step}")
        sizes = {chunks[i].shape[1] for i, c in enumerate(self.sim.cohorts) if np.isin(c.rows, rows).any()}
        if len(sizes) != 1:
            raise MeasureError("the runs compared have different numbers of parameters")
        out = np.empty((len(rows), sizes.pop()))
        for i, cohort in enumerate(self.sim.cohorts):
            for j, r in enumerate(rows):
                hit = np.flatnonzero(cohort.rows == r)
                if len(hit):
                    out[j] = chunks[i][hit[0]]
        return out

    def nearest(self, at: Any, rows: np.ndarray, kind: str) -> tuple[np.ndarray, np.ndarray]:
        """Per run: the kind of the nearest known minimum (or saddle) at a step, and its distance."""
        step = self._check_step(at)
        for cohort in self.sim.cohorts:
            if np.isin(cohort.rows, rows).any() and not getattr(cohort.problem, "minima", None):
                raise MeasureError(f"ends_in = {kind!r} needs a surface with known minima")
        chunks = self.snapshots[(step, "params")]
        kinds = np.empty(len(rows), dtype=object)
        distances = np.full(len(rows), np.inf)
        for i, cohort in enumerate(self.sim.cohorts):
            for j, r in enumerate(rows):
                hit = np.flatnonzero(cohort.rows == r)
                if not len(hit):
                    continue
                index, distance = cohort.problem.nearest_minimum(chunks[i][hit[0]][None, :])
                kinds[j] = cohort.problem.minima[int(index[0])].kind if index[0] >= 0 else "none"
                distances[j] = distance[0]
        return kinds, distances


def _norms(matrix: np.ndarray) -> np.ndarray:
    return np.sqrt(np.einsum("rp,rp->r", matrix, matrix))


def _distance(problem: Any, params: np.ndarray, which: str) -> np.ndarray:
    if which == "nearest":
        return problem.nearest_minimum(params)[1]
    points = np.array([m.point for m in problem.minima if m.kind == which], dtype=np.float64).reshape(-1, 2)
    if len(points) == 0:
        return np.full(len(params), np.inf)
    gaps = params[:, None, :2] - points[None, :, :]
    return np.sqrt((gaps**2).sum(axis=2)).min(axis=1)


def _jitter(column: np.ndarray) -> float:
    """Mean absolute change between consecutive finite values: how noisy a curve is."""
    finite = column[~np.isnan(column)]
    if len(finite) < 2:
        return float("nan")
    return float(np.mean(np.abs(np.diff(finite))))
