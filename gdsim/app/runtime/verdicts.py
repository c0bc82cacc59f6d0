"""The scenario's [[expect]] entries as they stand at the live step, in words (the verdict line).

How it stays cheap: the checks are not evaluated against the live simulation at every redraw.
The scenario as the learner has it (with every change made by keys) is verified once, headless,
by gdsim.scenario.verify in a background thread of the screen; the simulation is deterministic,
so that verification measures exactly what the live run will show. Each Outcome carries the
step by which it is decided (Outcome.step); the verdict line shows an outcome once the live run
has passed that step, and "waits for step k" before. Redraws only compare the live step with a
sorted list of steps (`lines` is cached per number of outcomes decided), so the line costs nothing
while running; a change of settings starts a new verification.

While a [predict] question is not revealed, the checks that decide its answer (shown_by), and any
whose sentence names a run, are not shown (before the learner answers, none is): one line of
neutral progress stands for them. Checks are
described in words (their `because` sentence and the value measured), never in check syntax.

Textual-free: the screen and tests drive it.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Any

import numpy as np

from gdsim.app.runtime.outcome_words import because, names_a_run, value_words
from gdsim.app.text import clean

PASS, FAIL, WAIT = "✓", "✗", "…"


@dataclass(frozen=True)
class Verdict:
    """One expect at the live step: mark (✓ ✗ …), its words, and the step deciding it."""

    mark: str
    text: str
    step: int
    id: str | None = None
    count: int = 1  # how many checks the line stands for (the neutral progress line: all it holds back)


class Verdicts:
    """The verification of one scenario (None until the background run has finished)."""

    def __init__(self, loaded: Any, verification: Any = None):
        self.loaded = loaded
        self.expects = tuple(loaded.scenario.expect)
        # a Verification, or a sentence saying why there is none (too costly to measure here)
        self.unavailable = verification if isinstance(verification, str) else None
        verification = None if self.unavailable else verification
        self.verification = verification
        self._steps: list[int] = []
        self._cache: tuple | None = None
        if verification is not None:
            self._steps = sorted(o.step for o in verification.outcomes)

    @property
    def ready(self) -> bool:
        return self.verification is not None

    @property
    def settled(self) -> bool:
        """Measured, or known not to be measurable here: nothing more will come."""
        return self.verification is not None or self.unavailable is not None

    def decided(self, step: int) -> int:
        """How many outcomes are decided by the live step `step`."""
        return bisect.bisect_right(self._steps, step)

    def values(self, step: int) -> dict[str, float]:
        """{expect id: measured value} for the outcomes decided by `step` (lesson placeholders)."""
        if self.verification is None:
            return {}
        return {o.id: o.value for o in self.verification.outcomes
                if o.id is not None and o.value is not None and o.step <= step}

    def lines(self, step: int, names: dict[str, str] | None = None, now: dict[int, str] | None = None,
              hide: tuple[str, ...] = (), asking: bool = False) -> list[Verdict]:
        """Every expect's verdict at the live step: failures first, then passes, then those waiting,
        each in words (its `because` sentence and the value measured, outcome_words).

        `names` maps the scenario's run labels to the ones shown (neutral: {"too small": "run A"}):
        given (a [predict] question not revealed yet), the checks that decide the answer (`hide`:
        the predict's shown_by ids) and those whose sentence names a run are not shown, and while
        the learner has not answered (`asking`) none is: one line of neutral progress stands for
        them ("answer the question, then watch: 3 checks by step 300").
        `now`: per expect index, how its runs stand at the live step (live_readings), for those waiting."""
        now = now or {}
        key = (self.decided(step), None if names is None else tuple(sorted(names.items())), self.settled,
               tuple(sorted(now.items())), hide, asking)
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        out: list[Verdict] = []
        held: list = []  # neutral: outcomes not shown before the reveal
        if self.unavailable is not None:
            out = [Verdict(WAIT, f"{len(self.expects)} checks: {self.unavailable} "
                                 f"(gdsim check --verify {self.loaded.id} measures them)", 0)]
        elif self.verification is None:
            out = [Verdict(WAIT, "measuring…", 0)] if self.expects else []
        else:
            for o in self.verification.outcomes:
                if names is not None and (asking or o.id in hide or names_a_run(o.expectation.because, names)):
                    held.append(o)
                    continue
                text = because(o)
                if o.step > step:
                    so_far = f"{now[o.index]}; " if o.index in now else ""
                    out.append(Verdict(WAIT, f"{text}: {so_far}decided at step {o.step:,}", o.step, o.id))
                else:
                    mark = PASS if o.passed else FAIL
                    out.append(Verdict(mark, f"{value_words(o, labels=names is None)}: {text}", o.step, o.id))
        order = {FAIL: 0, PASS: 1, WAIT: 2}
        out.sort(key=lambda v: (order[v.mark], -v.step if v.mark == PASS else v.step))
        if held:
            out.insert(0, _progress(held, step, asking))  # first: the line a capped height keeps
        self._cache = (key, out)
        return out

    def counts(self, step: int) -> dict[str, int]:
        marks = [v.mark for v in self.lines(step)] if self.ready else []
        return {mark: marks.count(mark) for mark in (PASS, FAIL, WAIT)}


def _progress(held: list, step: int, asking: bool) -> Verdict:
    """One neutral line for the checks held back until the reveal: how many, and by when."""
    last = max(o.step for o in held)
    n = len(held)
    checks = "1 check" if n == 1 else f"{n} checks"
    if asking:
        return Verdict(WAIT, f"answer the question, then watch: {checks} by step {last:,}", last, count=n)
    done = sum(o.step <= step for o in held)
    if done < n:
        return Verdict(WAIT, f"watch: {done} of {checks} decided; all by step {last:,}", last, count=n)
    return Verdict(WAIT, f"{checks} decided: the answer is shown now", last, count=n)


def shown_names(session: Any) -> dict[str, str]:
    """{scenario label: label shown} for every run and [[runs]] entry of a Session."""
    names: dict[str, str] = {}
    for run in session.display:
        for row in run.rows:
            config = session.configs[int(row)]
            names.setdefault(session.sim.runs[int(row)].label, run.label)
            names.setdefault(config.group, run.label)
    return names


LIVE_METRICS = ("loss", "grad_norm")  # read from the live simulation for checks still waiting
SYMBOLS = {"below": "<", "above": ">", "at_most": "<=", "at_least": ">="}


def live_readings(verdicts: Verdicts, sim: Any) -> dict[int, str]:
    """For each check still waiting whose metric the live run has now (loss, gradient norm of
    named runs, compared with a bound): "now 0.031" for one run, "now 54 of 100 pass" for several.
    A few array reads; the screen calls it at most a few times a second."""
    out: dict[int, str] = {}
    if verdicts.verification is None:
        return out
    step = sim.step_count
    values = None
    for o in verdicts.verification.outcomes:
        e = o.expectation
        if (o.step <= step or e.kind != "metric" or e.metric not in LIVE_METRICS or e.relative
                or e.at in ("jitter", "mean") or e.across not in ("each", "any")):
            continue
        rows = [r for r, run in enumerate(sim.runs) if e.run is None or run.label == e.run] or \
            [r for r, run in enumerate(sim.runs) if run.group == e.run]
        if not rows:
            continue
        if values is None:
            values = {"loss": sim.loss, "grad_norm": sim.grad_norm}
        now = values[e.metric][rows]
        if len(rows) == 1:
            out[o.index] = f"now {float(now[0]):.3g}"
            continue
        passing = np.ones(len(rows), dtype=bool)
        with np.errstate(invalid="ignore"):
            for key, bound in e.comparisons.items():
                passing &= {"below": now < bound, "above": now > bound, "at_most": now <= bound,
                            "at_least": now >= bound}[key]
        out[o.index] = f"now {int(passing.sum())} of {len(rows)} pass"
    return out
