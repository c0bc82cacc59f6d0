"""Running a scenario headless and checking its [[expect]] entries: `gdsim check --verify`.

verify(loaded) builds the scenario, steps it to its `steps`, and measures exactly what the
expectations ask for while stepping: values at the named steps, and a full per-step series
(for min, max, mean, any, all, jitter) only for the metrics that need one. The simulation's own
history is decimated for long runs, so it is not used here.
"""

from __future__ import annotations

import sys
import time
import warnings
from dataclasses import dataclass, field
from typing import IO

import numpy as np

from gdsim.build import build
from gdsim.scenario.expect import AGGREGATES, Expectation
from gdsim.scenario.load import LoadedScenario
from gdsim.scenario.measure import MeasureError, Measurer


@dataclass(frozen=True)
class Outcome:
    """The result of one expectation: whether it held, and what was measured."""

    index: int
    expectation: Expectation
    passed: bool
    measured: str

    @property
    def text(self) -> str:
        return self.expectation.describe()


@dataclass
class Verification:
    """All outcomes of one scenario, and how long the run took."""

    id: str
    title: str
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failures(self) -> int:
        return sum(not o.passed for o in self.outcomes)


def verify(loaded: LoadedScenario) -> Verification:
    """Run `loaded` for its scenario's steps and check every [[expect]] entry."""
    started = time.perf_counter()
    info = loaded.scenario.scenario
    result = Verification(loaded.id, info.title)
    expectations = loaded.scenario.expect
    if not expectations:
        return result
    sim = build(loaded, record=False)
    measurer = Measurer(sim, expectations, info.steps)
    measurer.run()
    for index, expectation in enumerate(expectations):
        try:
            passed, measured = check(measurer, expectation)
        except MeasureError as exc:
            passed, measured = False, f"cannot be checked: {exc}"
        result.outcomes.append(Outcome(index, expectation, passed, measured))
    result.seconds = time.perf_counter() - started
    return result


def check(m: Measurer, e: Expectation) -> tuple[bool, str]:
    """(passed, measured text) for one expectation, from the values the measurer collected."""
    rows = m.select(e.run, "run")
    if e.kind == "diverges":
        flags = m.sim.diverged_at[rows] >= 0
        return _combine(e, flags == e.diverges, _flag_text(m, rows, m.sim.diverged_at[rows], "diverged at step"))
    if e.kind == "stops_early":
        flags = m.sim.stopped_at[rows] >= 0
        return _combine(e, flags == e.stops_early, _flag_text(m, rows, m.sim.stopped_at[rows], "stopped at step"))
    if e.kind == "ends_in":
        kinds, distances = m.nearest(e.at, rows, e.ends_in)
        passed = (kinds == e.ends_in) & (distances <= e.within)
        return _combine(e, passed, _values_text(distances, "distance", m, rows, extra=kinds))
    if e.relative:
        return _check_relative(m, e, rows)
    values = m.value(e.metric, e.at, rows, e.during)
    if e.at in ("any", "all"):
        # values are per step: (steps, runs); the comparison is made at each step.
        ok = _compare(e, values)
        ok = np.where(np.isnan(values), e.at == "all", ok)
        per_run = ok.any(axis=0) if e.at == "any" else ok.all(axis=0)
        low = "below" in e.comparisons or "at_most" in e.comparisons
        with warnings.catch_warnings():  # an all-NaN column is reported as such, not warned about
            warnings.simplefilter("ignore", RuntimeWarning)
            extreme = np.nanmin(values, axis=0) if low else np.nanmax(values, axis=0)
        return _combine(e, per_run, _values_text(extreme, f"{'lowest' if low else 'highest'} {e.metric}", m, rows))
    if e.across in AGGREGATES:
        value = _aggregate(e.across, values)
        return _verdict(e, np.array([value]), f"{e.across} {e.metric} {_num(value)} over {len(rows)} runs")
    return _combine(e, _compare(e, values), _values_text(values, e.metric, m, rows))


def _check_relative(m: Measurer, e: Expectation, rows: np.ndarray) -> tuple[bool, str]:
    """A value compared with another run's and/or another step's: a ratio, difference or distance."""
    other_rows = m.select(e.than_run, "than_run") if e.than_run is not None else rows
    other_at = e.than_at if e.than_at is not None else e.at
    if e.metric == "params":
        a = m.params_at(e.at, rows)
        b = m.params_at(other_at, other_rows)
        a, b = _pair(a, b, e)
        measured = np.sqrt(((a - b) ** 2).sum(axis=1))
        name = "distance"
    else:
        a = m.value(e.metric, e.at, rows, e.during)
        b = m.value(e.metric, other_at, other_rows, e.during)
        if e.across in AGGREGATES:
            a, b = np.array([_aggregate(e.across, a)]), np.array([_aggregate(e.across, b)])
            measured = _relate(a, b, e.by)
            how = "ratio" if e.by == "ratio" else "difference"
            return _verdict(e, measured, f"{how} {_num(measured[0])} of the {e.across}s ({_num(a[0])} vs {_num(b[0])})")
        a, b = _pair(a, b, e)
        measured = _relate(a, b, e.by)
        name = "ratio" if e.by == "ratio" else "difference"
        if len(measured) == 1:
            text = f"{name} {_num(measured[0])} ({_num(a[0])} vs {_num(b[0])})"
            return _combine(e, _compare(e, measured), text)
    return _combine(e, _compare(e, measured), _values_text(measured, name, m, rows))


def _pair(a: np.ndarray, b: np.ndarray, e: Expectation) -> tuple[np.ndarray, np.ndarray]:
    """Line up this side's runs with the reference's: one reference for all, or run by run."""
    if len(b) == 1 or len(a) == len(b):
        return a, b
    raise MeasureError(
        f"'{e.run}' has {len(a)} runs and '{e.than_run}' has {len(b)}: compare with a single run, "
        "an entry with as many seeds, or use across = mean / median / ..."
    )


def _relate(a: np.ndarray, b: np.ndarray, by: str) -> np.ndarray:
    if by == "difference":
        return a - b
    with np.errstate(all="ignore"):
        ratio = a / b
    # 0 / 0 means "the same": a ratio of 1, not NaN.
    return np.where((a == 0) & (b == 0), 1.0, ratio)


def _aggregate(how: str, values: np.ndarray) -> float:
    finite = values[~np.isnan(values)]
    if len(finite) == 0:
        return float("nan")
    if how == "spread":
        return float(finite.max() - finite.min())
    return float(getattr(np, how)(finite))


def _compare(e: Expectation, values: np.ndarray) -> np.ndarray:
    ok = np.ones(values.shape, dtype=bool)
    with np.errstate(invalid="ignore"):
        for key, bound in e.comparisons.items():
            if key == "below":
                ok &= values < bound
            elif key == "above":
                ok &= values > bound
            elif key == "at_most":
                ok &= values <= bound
            else:
                ok &= values >= bound
    return ok & ~np.isnan(values)


def _verdict(e: Expectation, value: np.ndarray, text: str) -> tuple[bool, str]:
    return bool(_compare(e, value).all()), text


def _combine(e: Expectation, passed: np.ndarray, text: str) -> tuple[bool, str]:
    """Per-run passes to one verdict: each, any, or a share of the runs."""
    n = len(passed)
    count = int(passed.sum())
    if e.fraction_above is not None or e.fraction_below is not None:
        share = count / n if n else 0.0
        ok = (e.fraction_above is None or share > e.fraction_above) and (
            e.fraction_below is None or share < e.fraction_below)
        return ok, f"{count} of {n} runs pass ({share:.0%}); {text}"
    ok = bool(passed.any()) if e.across == "any" else bool(passed.all())
    if n > 1:
        text = f"{count} of {n} runs pass; {text}"
    return ok and n > 0, text


def _num(value: float) -> str:
    value = float(value)
    if not np.isfinite(value):
        return str(value)
    return f"{value:.4g}"


def _values_text(values: np.ndarray, name: str, m: Measurer, rows: np.ndarray, extra: np.ndarray | None = None) -> str:
    if len(values) == 1:
        suffix = f" (nearest: {extra[0]})" if extra is not None else ""
        return f"{name} {_num(values[0])}{suffix}"
    finite = values[~np.isnan(values)]
    if len(finite) == 0:
        return f"{name}: no finite values"
    if len(values) <= 4:
        labels = [m.sim.runs[r].label for r in rows]
        return "; ".join(f"{label}: {name} {_num(v)}" for label, v in zip(labels, values))
    return f"{name} min {_num(finite.min())}, median {_num(np.median(finite))}, max {_num(finite.max())}"


def _flag_text(m: Measurer, rows: np.ndarray, at: np.ndarray, what: str) -> str:
    hits = [(m.sim.runs[r].label, int(s)) for r, s in zip(rows, at) if s >= 0]
    if not hits:
        return "none did" if len(rows) > 1 else "it did not"
    if len(rows) == 1:
        return f"{what} {hits[0][1]}"
    shown = ", ".join(f"{label} ({s})" for label, s in hits[:3])
    return f"{len(hits)} of {len(rows)}: {shown}{' ...' if len(hits) > 3 else ''}"


def verify_report(loaded_all: list[LoadedScenario], out: IO[str] | None = None) -> int:
    """Verify each scenario, print a readable report, return the number of failed expectations."""
    out = out or sys.stdout
    failures = 0
    total = 0
    started, cpu = time.perf_counter(), time.process_time()
    for loaded in loaded_all:
        result = verify(loaded)
        total += len(result.outcomes)
        failures += result.failures
        status = "ok" if not result.failures else f"{result.failures} FAILED"
        if not result.outcomes:
            print(f"{loaded.id}: no expectations", file=out)
            continue
        print(f"{loaded.id}: {status} ({len(result.outcomes)} expectations, {result.seconds:.2f} s)", file=out)
        for outcome in result.outcomes:
            mark = "pass" if outcome.passed else "FAIL"
            print(f"  {mark}  {outcome.expectation.because}", file=out)
            print(f"        checked: {outcome.text}", file=out)
            print(f"        measured: {outcome.measured}", file=out)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(f"{total - failures} of {total} expectations hold in {len(loaded_all)} scenarios "
          f"({elapsed:.1f} s, {cpu:.1f} s of CPU time)", file=out)
    return failures
