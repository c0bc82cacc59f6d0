"""The app's sweeps of the selected run: what `W` (its lr) and `G` (lr x momentum) vary, and the
work itself, stepped in slices so a worker thread can report progress and stop when told.

Free of Textual (tests drive it headless). The grid's size follows the problem: a sweep holds
points x parameters floats per array, so a network with many parameters gets fewer points
(POINT_BUDGET); a sweep is one cohort, whatever its size (gdsim.engine.sweep).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Callable

from gdsim.engine.sweep import Axis

LR_POINTS = 200  # the lr sweep's values (log scale)
GRID_SIDE = 40  # the lr x momentum grid's values per axis
NETWORK_SIDE = 20  # ... on a network (1,600 networks of 1,000 steps took ~20 s on 2 cores; 400 take ~5 s)
POINT_BUDGET = 2_000_000  # points x parameters: 16 MB an array at most
SLICE_SECONDS = 0.05  # steps between progress reports and cancellation checks
# The momentum-like key of each optimizer for the grid (Adam's β₁ plays momentum's part).
MOMENTUM_KEY = {"sgd": "momentum", "rmsprop": "momentum", "adam": "beta1", "adamw": "beta1"}


@dataclass(frozen=True)
class SweepPlan:
    """What one sweep varies, over which run, for how many steps."""

    kind: str  # "lr" or "grid"
    row: int  # the run's row in build.resolve_runs order
    label: str
    optimizer: str
    axes: tuple[Axis, ...]
    steps: int
    network: bool  # a network (the caption calls the lr sweep a range test)
    note: str = ""  # why the grid is smaller than usual, if it is


def make_plan(loaded: Any, row: int, label: str, kind: str) -> SweepPlan | str:
    """The sweep `kind` of run `row`, or a sentence saying why it cannot be swept."""
    from gdsim.build import build_sweep, resolve_runs
    from gdsim.engine.sweep_theory import is_network, quadratic_theory

    config = resolve_runs(loaded)[row]
    probe = build_sweep(loaded, row, [Axis("lr", 1.0, 1.0, 1)])  # the run's problem and optimizer
    problem, optimizer = probe.cohort.problem, probe.optimizer
    name = optimizer.name
    base = float(config.optimizer.get("lr", optimizer.hyper["lr"])) or 1e-3
    theory = quadratic_theory(problem, optimizer, probe.cohort.clip_norm)
    momentum = float(optimizer.hyper.get("momentum", 0.0))
    budget = max(4, POINT_BUDGET // max(problem.n_params, 1))
    network = is_network(problem)
    steps = loaded.scenario.scenario.steps
    if kind == "lr":
        n = min(LR_POINTS, budget)
        if theory is not None:
            edge = float(theory.momentum_edge(momentum))
            low, high = edge * 1e-4, edge * 10
        else:
            low, high = base * 1e-3, base * 1e3
        note = "" if n == LR_POINTS else f"{n} values, not {LR_POINTS}: the network has {problem.n_params:,} parameters"
        return SweepPlan("lr", row, label, name, (Axis("lr", low, high, n, "log"),), steps, network, note)
    key = MOMENTUM_KEY.get(name)
    if key is None:
        return f"{label} uses {name}, which has no momentum to sweep; the lr sweep (W) works"
    side = min(NETWORK_SIDE if network else GRID_SIDE, int(math.isqrt(budget)))
    if theory is not None:
        edge = float(theory.gd_edge)
        low, high = edge / 100, edge * 3
    else:
        low, high = base / 100, base * 100
    note = "" if side == GRID_SIDE else f"{side} x {side}, not {GRID_SIDE} x {GRID_SIDE}: a grid of networks " \
                                       f"({problem.n_params:,} parameters each) costs more"
    axes = (Axis("lr", low, high, side, "log"), Axis(key, 0.0, 0.99, side, "lin"))
    return SweepPlan("grid", row, label, name, axes, steps, network, note)


@dataclass(frozen=True)
class Picture:
    """What the sweep screen draws of a result, and the caption under it."""

    title: str
    lrs: Any
    values: Any  # final loss per point: (n,) for an lr sweep, (n_lr, n_momentum) for a grid
    diverged: Any
    best: int | None  # the best point (flat index), among runs that did not diverge
    caption: list[str]
    seconds: float
    edge: float | None = None  # lr sweep: theory's edge
    momenta: Any = None  # grid: the second axis's values
    y_name: str = ""
    best_cell: tuple[int, int] | None = None
    optimum: tuple[float, float] | None = None  # grid on a quadratic: Goh's (α*, β*)
    edges: Any = None  # grid on a quadratic: theory's edge lr per momentum value


def picture(plan: SweepPlan, result: Any, sweep: Any, seconds: float = 0.0, mono: bool = False) -> Picture:
    """The picture and words of a finished sweep (gdsim.engine.sweep_theory has the theory)."""
    import numpy as np

    from gdsim.engine.sweep_theory import describe, quadratic_theory

    cohort = sweep.cohort
    theory = quadratic_theory(cohort.problem, sweep.optimizer, cohort.clip_norm)
    best = result.best()
    caption = describe(result, sweep)
    values = result.metric(result.ranking)
    what = "training-set loss" if result.ranking == "train_loss" else "final loss"  # the whole split, at the end
    if plan.kind == "lr":
        edge = None
        if theory is not None:
            edge = float(theory.momentum_edge(float(np.asarray(sweep.optimizer.hyper.get("momentum", 0.0)).flat[0])))
        caption.append("● best   ✕ diverged (drawn along the top)" + ("   ┊ theory's edge" if edge else ""))
        return Picture(f"{what} after {plan.steps:,} steps against the learning rate", result.settings["lr"],
                       values, result.diverged, best, caption, seconds, edge=edge)
    lr_axis, m_axis = plan.axes
    shape = result.shape
    # the heat map's key (gdsim.app.widgets.sweep_heat: the surface ramp, or shades in monochrome)
    key = "shade: blank = low loss … @ = high" if mono else "colour: dark purple = low loss … yellow = high"
    optimum = edges = None
    if theory is not None and m_axis.key == "momentum":
        optimum = (theory.alpha_star, theory.beta_star)
        edges = theory.momentum_edge(m_axis.values)
        caption.append(f"● best cell   ◆ Goh's optimum (α*, β*)   │ theory's edge 2(1 + β)/λmax   ✕ diverged   {key}")
    else:
        caption.append(f"● best cell   ✕ diverged   {key}")
    best_cell = None if best is None else tuple(int(i) for i in np.unravel_index(best, shape))
    y_name = "β₁" if m_axis.key == "beta1" else "β"
    second = "Adam's β₁" if m_axis.key == "beta1" else "momentum β"
    return Picture(f"{what} after {plan.steps:,} steps over lr and {second}", lr_axis.values,
                   values.reshape(shape), result.diverged.reshape(shape), best, caption, seconds,
                   momenta=m_axis.values, y_name=y_name, best_cell=best_cell, optimum=optimum, edges=edges)


class SweepJob:
    """One sweep: run() (from a worker thread) returns (result, sweep), or None if cancelled."""

    def __init__(self, loaded: Any, plan: SweepPlan):
        self.loaded = loaded
        self.plan = plan
        self.seconds = 0.0
        self.rested = 0.0  # seconds spent resting to keep a served session's CPU share
        self.computed = 0.0  # seconds spent stepping (wall clock, the slices)

    def run(self, progress: Callable[[int, int, float], None] | None = None,
            cancelled: Callable[[], bool] = lambda: False,
            share: Callable[[float], float | None] | None = None) -> tuple[Any, Any] | None:
        """Step the sweep a slice at a time. `share(wall)`: a served session's CPU share (a
        fraction of one core, gdsim.app.runtime.pacing.ShareSource.get) or None: after each slice
        the job rests so that it uses no more than that share (a sweep is not metered by the
        scenario screen's pacer)."""
        from gdsim.build import build_sweep

        started = time.perf_counter()
        sweep = build_sweep(self.loaded, self.plan.row, list(self.plan.axes))
        total, done, chunk = self.plan.steps, 0, 1
        self.rested = self.computed = 0.0
        while done < total:
            if cancelled():
                return None
            t0 = time.perf_counter()
            n = min(chunk, total - done)
            sweep.step(n)
            done += n
            spent = max(time.perf_counter() - t0, 1e-6)
            self.computed += spent
            chunk = max(1, min(4096, int(n * SLICE_SECONDS / spent)))  # about one slice's worth
            fraction = share(time.monotonic()) if share is not None else None
            if fraction is not None and fraction < 1:
                rest = min(1.0, spent * (1 / fraction - 1))
                self.rested += rest
                time.sleep(rest)
            if progress is not None:
                elapsed = time.perf_counter() - started
                progress(done, total, elapsed / done * (total - done))
        if cancelled():
            return None
        self.seconds = time.perf_counter() - started
        return sweep.result(), sweep
