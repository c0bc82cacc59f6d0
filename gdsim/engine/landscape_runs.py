"""Loss landscapes of a simulation's runs: each run's recorded path, and the landscape around it.

The engine records a network's parameters along its path (Simulation.paths; a surface's are in
its history). `run_path` copies one run's path out of the simulation, so the app can take it on
its own thread and compute the landscape on another (`for_path`); `for_run` does both at once.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from gdsim.engine.landscape import (
    DEFAULT_SPAN, KINDS, Landscape, LandscapeError, line, pca_plane, random_plane,
)
from gdsim.engine.models import NormStats

class RunPath(NamedTuple):
    """A run's recorded parameters: steps (K,), params (K, P), batch norm statistics (or None)."""

    steps: np.ndarray
    params: np.ndarray
    stats: NormStats | None
    missing: str = ""  # why the path before the live point is not recorded ("" when it is)


def run_path(sim, row: int, upto: int | None = None) -> RunPath:
    """Run `row`'s recorded path up to step `upto` (default: now), ending at the live parameters
    when `upto` is the current step, and at the exact parameters of step `upto` when it lies
    between records and the simulation keeps checkpoints (the app's). Surfaces record every point
    in the history; networks keep `sim.paths` (see gdsim.engine.recording.PATH_RECORDS)."""
    upto = sim.step_count if upto is None else int(upto)
    missing = ""
    cohort, index = _cohort_of(sim, row)
    width = cohort.n_params
    steps = np.zeros(0, dtype=np.int64)
    params = np.zeros((0, width))
    mean = var = None
    record, slot = sim.history, row
    paths = getattr(sim, "paths", None)
    if paths is not None:
        hits = np.flatnonzero(sim.path_rows == row)
        record, slot = (paths, int(hits[0])) if len(hits) else (None, None)
        if record is None:
            missing = (f"this run's path is not recorded: of {sim.n_runs} runs the simulation keeps the paths of "
                       f"{len(sim.path_rows)} (the first run of each [[runs]] entry first, at most 64 runs within 16 MB)")
    elif paths is None and not getattr(sim, "small", True):
        missing = "no path is recorded for so many runs of so many parameters (more than 16 MB a record set)"
    if record is not None and "params" in record.fields:
        all_steps, values = record.series("params")
        keep = all_steps <= upto
        steps, params = np.array(all_steps[keep]), np.array(values[keep, slot, :width])
        if "norm_mean" in record.fields and cohort.problem_state is not None:
            units = cohort.problem_state.mean.shape[1]
            mean = np.array(record.series("norm_mean")[1][keep, slot, :units])
            var = np.array(record.series("norm_var")[1][keep, slot, :units])
    end = cohort
    if upto < sim.step_count and len(steps) and steps[-1] != upto and getattr(sim, "checkpoints", None) is not None:
        # rewound between two records: the exact point there, from the checkpoint before it
        end = sim.cohort_at(sim.cohorts.index(cohort), upto)
    last = min(upto, sim.step_count)
    if (upto >= sim.step_count or end is not None and end is not cohort) and (len(steps) == 0 or steps[-1] != last):
        steps = np.append(steps, last)
        params = np.concatenate([params, end.params[index][None]])
        if end.problem_state is not None:
            mean = np.zeros((0, end.problem_state.mean.shape[1])) if mean is None else mean
            var = np.zeros((0, end.problem_state.var.shape[1])) if var is None else var
            mean = np.concatenate([mean, end.problem_state.mean[index][None]])
            var = np.concatenate([var, end.problem_state.var[index][None]])
    finite = np.isfinite(params).all(axis=1)
    stats = None if mean is None else NormStats(mean[finite], var[finite])
    return RunPath(steps[finite], params[finite], stats, missing)


def _cohort_of(sim, row: int):
    for cohort in sim.cohorts:
        hits = np.flatnonzero(cohort.rows == row)
        if len(hits):
            return cohort, int(hits[0])
    raise LandscapeError(f"no run number {row}")


def _point_stats(path: RunPath, k: int) -> NormStats | None:
    return None if path.stats is None else NormStats(path.stats.mean[k], path.stats.var[k])


def for_run(sim, kind: str, row: int, *, other: int | None = None, n: int = 41, span: float | None = None,
            seed: int = 0, split: str = "train", upto: int | None = None) -> Landscape:
    """The landscape of `kind` for run `row` at step `upto` (default now): the line from its start
    (or, with `other`, from its point to run `other`'s), the plane through its path, or a random
    plane through its point. Runs must share the problem (the same model on the same data)."""
    problem = _cohort_of(sim, row)[0].problem
    to = None
    if other is not None:
        other_problem = _cohort_of(sim, other)[0].problem
        if other_problem is not problem and _shape(other_problem) != _shape(problem):
            raise LandscapeError("the two runs have different models or data: no line joins them")
        to = run_path(sim, other, upto)
    return for_path(problem, kind, run_path(sim, row, upto), other=to, n=n, span=span, seed=seed, split=split)


def for_path(problem, kind: str, path: RunPath, *, other: RunPath | None = None, n: int = 41,
             span: float | None = None, seed: int = 0, split: str = "train") -> Landscape:
    """for_run on a path already taken from the simulation (run_path copies it): the app takes
    the path on its own thread and computes the landscape on another."""
    if kind not in KINDS:
        raise LandscapeError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    span = DEFAULT_SPAN[kind] if span is None else float(span)
    if not np.isfinite(span) or span < 0:
        raise LandscapeError(f"span must be a number >= 0, got {span!r}")
    if len(path.params) == 0:
        raise LandscapeError("this run has no finite recorded parameters")
    if path.missing and (kind == "pca" or (kind == "line" and other is None)):
        raise LandscapeError(path.missing + "; --kind random needs only its point")
    last = len(path.params) - 1
    if kind == "line":
        if other is None:
            return line(problem, path.params[0], path.params[last], n=n, span=span, split=split,
                        stats_a=_point_stats(path, 0), stats_b=_point_stats(path, last),
                        path=path.params, path_steps=path.steps)
        if len(other.params) == 0:
            raise LandscapeError("the other run has no finite recorded parameters")
        if np.array_equal(path.params[last], other.params[-1]):
            raise LandscapeError("the two runs are at the same point at this step (the same start and "
                                 "updates so far): no line joins them")
        return line(problem, path.params[last], other.params[-1], n=n, span=span, split=split,
                    stats_a=_point_stats(path, last), stats_b=_point_stats(other, len(other.params) - 1))
    if kind == "pca":
        return pca_plane(problem, path.params, n=n, span=span, split=split,
                         stats=_point_stats(path, last), path_steps=path.steps)
    return random_plane(problem, path.params[last], n=n, span=span, seed=seed, split=split,
                        stats=_point_stats(path, last), path=path.params, path_steps=path.steps)


def cost_per_point(problem, split: str = "train") -> float:
    """Multiply-adds one grid point costs (samples x weights): what sizes the app's grid."""
    if not hasattr(problem, "network"):
        return 1.0
    samples = len(problem.split_points(split)[1])
    weights = sum(s.fan_in * s.fan_out for s in problem.network.layout.layers)
    return float(samples * weights)


def grid_for(problem, kind: str, budget: float = 2e9, most: int = 41, least: int = 11,
             split: str = "train") -> int:
    """Grid points per axis so a landscape costs at most about `budget` multiply-adds (a plane
    n² points, a line n), between `least` and `most`: the moons MLP gets 41x41, digits less."""
    points = budget / cost_per_point(problem, split)
    n = int(points) if kind == "line" else int(np.sqrt(points))
    return int(min(most, max(least, n)))


def _shape(problem) -> tuple:
    return (problem.n_params, getattr(problem, "description", repr(problem)),
            getattr(problem, "n_train", None))
