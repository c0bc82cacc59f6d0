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
from gdsim.scenario.condition import Condition
from gdsim.scenario.expect import AGGREGATES, Expectation, known_at, measured_name, window
from gdsim.scenario.load import LoadedScenario
from gdsim.scenario.measure import MeasureError, Measurer
from gdsim.scenario.predict import PredictResult, predict_result
from gdsim.words import plural


@dataclass(frozen=True)
class Outcome:
    """The result of one expectation: whether it held, and what was measured.

    value is the one number the check compared (what a lesson placeholder {{id}} shows):
    - a metric: the value (or ratio / difference / distance with than_run, than_at; the
      reduced value with across = mean, median, ...). Over several runs, the value of the run
      nearest to failing (with across = "any": the run that passes by the most); with at = any /
      all, per run the step nearest to failing (any: the best step).
    - fraction_above / fraction_below: the share of runs that pass (0-1).
    - ends_in: the distance to the nearest known point (several runs: as for a metric).
    - diverges / stops_early: for one run, the step it diverged or stopped at (NaN if it never
      did); for several, the number of runs that did.
    None when the value could not be measured. step is when it is known (expect.known_at).
    """

    index: int
    expectation: Expectation
    passed: bool
    measured: str
    value: float | None = None
    step: int = 0

    @property
    def id(self) -> str | None:
        return self.expectation.id

    @property
    def text(self) -> str:
        return self.expectation.describe()

    def as_dict(self) -> dict:
        """Plain data for another part (the app's verdict line, JSON output)."""
        return {"id": self.id, "index": self.index, "passed": self.passed, "value": self.value,
                "step": self.step, "measured": self.measured, "checked": self.text,
                "because": self.expectation.because}


@dataclass
class Verification:
    """All outcomes of one scenario, how long the run took, and its [predict] answer's check."""

    id: str
    title: str
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0
    predict: PredictResult | None = None

    @property
    def failures(self) -> int:
        """Failed expectations, plus one if the [predict] answer is not confirmed by them."""
        failed = sum(not o.passed for o in self.outcomes)
        # An unconfirmed answer is already counted through its failed expects; an answer whose
        # expects are missing (cannot happen for a loaded scenario) counts once more.
        return failed + bool(self.predict is not None and self.predict.missing)

    def by_id(self) -> dict[str, Outcome]:
        return {o.id: o for o in self.outcomes if o.id is not None}

    def values(self) -> dict[str, float]:
        """{expect id: measured value}, for gdsim.scenario.predict.render."""
        return {o.id: o.value for o in self.outcomes if o.id is not None and o.value is not None}


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
            passed, measured, value = check(measurer, expectation)
        except MeasureError as exc:
            passed, measured, value = False, f"cannot be checked: {exc}", None
        value = None if value is None else float(value)
        if value is not None and value != value and expectation.kind not in ("diverges", "stops_early"):
            value = None  # nothing finite was measured; NaN stays only for "never diverged / stopped"
        result.outcomes.append(Outcome(index, expectation, passed, measured, value, known_at(expectation, info.steps)))
    if loaded.scenario.predict is not None:
        result.predict = predict_result(loaded.scenario.predict, result)
    result.seconds = time.perf_counter() - started
    return result


def check(m: Measurer, e: Expectation) -> tuple[bool, str, float | None]:
    """(passed, measured text, the value compared) for one expectation (see Outcome.value)."""
    rows = m.select(e.run, "run")
    if e.kind in ("diverges", "stops_early"):
        at = (m.sim.diverged_at if e.kind == "diverges" else m.sim.stopped_at)[rows]
        wanted = e.diverges if e.kind == "diverges" else e.stops_early
        what = "diverged at step" if e.kind == "diverges" else "stopped at step"
        flags = at >= 0
        value = (float(at[0]) if at[0] >= 0 else float("nan")) if len(rows) == 1 else float(flags.sum())
        return _combine(e, flags == wanted, _flag_text(m, rows, at, what), value)
    if e.kind == "ends_in":
        kinds, distances = m.nearest(e.at, rows, e.ends_in)
        passed = (kinds == e.ends_in) & (distances <= e.within)
        margin = np.where(kinds == e.ends_in, e.within - distances, -np.inf)
        value = _decisive(e, distances, margin)
        return _combine(e, passed, _values_text(distances, "distance", m, rows, extra=kinds), value)
    if e.relative:
        return _check_relative(m, e, rows)
    values = m.value(measured_name(e), e.at, rows, window(e, m.steps))
    if e.at in ("any", "all"):
        # values are per step: (steps, runs); the comparison is made at each step.
        ok = _compare(e, values)
        ok = np.where(np.isnan(values), e.at == "all", ok)
        per_run = ok.any(axis=0) if e.at == "any" else ok.all(axis=0)
        # Per run the deciding step: for all, the one nearest to failing; for any, the best one.
        margins = _margin(e, values)
        margins = np.where(np.isnan(values), np.inf if e.at == "all" else -np.inf, margins)
        pick = np.argmax(margins, axis=0) if e.at == "any" else np.argmin(margins, axis=0)
        cols = np.arange(values.shape[1])
        extreme = values[pick, cols] if len(values) else np.full(values.shape[1], np.nan)
        low = ("below" in e.comparisons or "at_most" in e.comparisons) == (e.at == "any")
        value = _decisive(e, extreme, margins[pick, cols] if len(values) else None)
        return _combine(e, per_run, _values_text(extreme, f"{'lowest' if low else 'highest'} {e.metric}", m, rows), value)
    if e.across in AGGREGATES:
        value = _aggregate(e.across, values)
        return _verdict(e, np.array([value]), f"{e.across} {e.metric} {_num(value)} over {len(rows)} runs")
    passed, text = _also(m, e, rows, _compare(e, values), _values_text(values, e.metric, m, rows))
    return _combine(e, passed, text, _decisive(e, values))


def _also(m: Measurer, e: Expectation, rows: np.ndarray, passed: np.ndarray, text: str) -> tuple[np.ndarray, str]:
    """Per-run passes AND the `also` condition (unchanged without one)."""
    if e.also is None:
        return passed, text
    values = m.value(measured_name(e.also), e.also.at, rows, window(e.also, m.steps))
    meets = _compare(e.also, values)
    return passed & meets, f"{text}; also {e.also.metric}: {int(meets.sum())} of {len(rows)} runs meet it"


def _check_relative(m: Measurer, e: Expectation, rows: np.ndarray) -> tuple[bool, str, float | None]:
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
        name, during = measured_name(e), window(e, m.steps)
        a = m.value(name, e.at, rows, during)
        b = m.value(name, other_at, other_rows, during)
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
            passed, text = _also(m, e, rows, _compare(e, measured), text)
            return _combine(e, passed, text, _decisive(e, measured))
    passed, text = _also(m, e, rows, _compare(e, measured), _values_text(measured, name, m, rows))
    return _combine(e, passed, text, _decisive(e, measured))


def _margin(e: Expectation, values: np.ndarray) -> np.ndarray:
    """How far each value is inside its bounds (negative: outside; NaN values: -inf)."""
    margin = np.full(values.shape, np.inf)
    with np.errstate(invalid="ignore"):
        for key, bound in e.comparisons.items():
            margin = np.minimum(margin, bound - values if key in ("below", "at_most") else values - bound)
    return np.where(np.isnan(values), -np.inf, margin)


def _decisive(e: Expectation, values: np.ndarray, margin: np.ndarray | None = None) -> float | None:
    """The one value an outcome reports over several runs (see Outcome.value)."""
    if len(values) == 0:
        return None
    if len(values) == 1:
        return float(values[0])
    margin = _margin(e, values) if margin is None else margin
    pick = int(np.argmax(margin)) if e.across == "any" else int(np.argmin(margin))
    return float(values[pick])


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


def _compare(e: Expectation | Condition, values: np.ndarray) -> np.ndarray:
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


def _verdict(e: Expectation, value: np.ndarray, text: str) -> tuple[bool, str, float]:
    return bool(_compare(e, value).all()), text, float(value[0])


def _combine(e: Expectation, passed: np.ndarray, text: str, value: float | None = None) -> tuple[bool, str, float | None]:
    """Per-run passes to one verdict: each, any, or a share of the runs."""
    n = len(passed)
    count = int(passed.sum())
    if e.fraction_above is not None or e.fraction_below is not None:
        share = count / n if n else 0.0
        ok = (e.fraction_above is None or share > e.fraction_above) and (
            e.fraction_below is None or share < e.fraction_below)
        return ok, f"{count} of {n} runs pass ({share:.0%}); {text}", share
    ok = bool(passed.any()) if e.across == "any" else bool(passed.all())
    if n > 1:
        text = f"{count} of {n} runs pass; {text}"
    return ok and n > 0, text, value


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


def predict_line(p: PredictResult) -> str:
    """The [predict] answer's verdict in the report: confirmed by its expects, or not."""
    if p.confirmed:
        return f"  predict: answer {p.answer} ({p.answer_text!r}) confirmed by {', '.join(o.id for o in p.outcomes)}"
    failed = [o.id for o in p.outcomes if not o.passed] + list(p.missing)
    return f"  predict: answer {p.answer} ({p.answer_text!r}) NOT confirmed: {', '.join(failed)} failed"


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
        print(f"{loaded.id}: {status} ({plural(len(result.outcomes), 'expectation')}, {result.seconds:.2f} s)", file=out)
        for outcome in result.outcomes:
            mark = "pass" if outcome.passed else "FAIL"
            print(f"  {mark}  {outcome.expectation.because}", file=out)
            print(f"        checked: {outcome.text}", file=out)
            print(f"        measured: {outcome.measured}", file=out)
        if result.predict is not None:
            print(predict_line(result.predict), file=out)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(f"{total - failures} of {plural(total, 'expectation')} {'holds' if total == 1 else 'hold'} "
          f"in {plural(len(loaded_all), 'scenario')} "
          f"({elapsed:.1f} s, {cpu:.1f} s of CPU time)", file=out)
    return failures
