"""Which pictures of the data a scenario's Data tab shows, and the selected run's model to draw.

- "units": a network (or logistic/softmax regression) with 2 inputs: what each unit computes.
- "digits": the digits data set: the test images with what the model read.
- "confusion": any classifier: the confusion matrix.
- "fit": regression with 1 input: the points and every run's fitted line.
The tab is hidden when none applies (surfaces, regression with 2 or more inputs).
Rewound, the model is the run's at the shown step: the cohort stepped again from the checkpoint
before it (Simulation.cohort_at, gdsim.engine.checkpoints), computed once per step shown.
"""

from __future__ import annotations

import weakref
from typing import Any, NamedTuple

from gdsim.engine.cohort import state_rows_of

# Per simulation, the last rewound cohort made: (cohort index, step, the cohort at that step or None).
_REWOUND: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class Model(NamedTuple):
    """The selected run's model: its cohort, its index there, the problem, its batch-norm state."""

    cohort: Any
    index: int
    problem: Any
    state: Any
    label: str
    letter: str
    colour: int
    name: str  # "A", or "A (seed 3, the first of 20)" for an ensemble: what the titles call it
    short: str = ""  # the same in fewer words for a narrow title: "A", "A, step 40"


def selected_model(session) -> Model:
    """The selected run (an ensemble: its first seed) with what is needed to evaluate it at the
    shown step; its name says the step when rewound (or that it is the live one, if no checkpoint
    holds the rewound step)."""
    run = session.current
    cohort, index = session.cohort_of(int(run.rows[0]))
    name = run.letter
    if run.ensemble:
        name += f" (seed {session.sim.runs[int(run.rows[0])].seed}, the first of {len(run.rows)})"
    when = ""
    if session.cursor is not None:
        rewound = rewound_cohort(session.sim, session.sim.cohorts.index(cohort), session.cursor)
        if rewound is not None:
            cohort = rewound
            when = f", step {session.cursor:,}"
        else:
            when = f", live step {session.sim.step_count:,}"
    state = None if cohort.problem_state is None else state_rows_of(cohort.problem_state, [index])
    return Model(cohort, index, cohort.problem, state, run.label, run.letter, run.colour, name + when,
                 run.letter + when)


def rewound_cohort(sim, index: int, step: int):
    """Cohort number `index` of `sim` as it was at `step` (None if no checkpoint holds it), made
    once and kept until another step or cohort is asked for."""
    kept = _REWOUND.get(sim)
    if kept is None or kept[:2] != (index, step):
        kept = (index, step, sim.cohort_at(index, step))
        _REWOUND[sim] = kept
    return kept[2]


def views_for(problem) -> tuple[str, ...]:
    """The views that fit one problem, main one first."""
    if not hasattr(problem, "split_points"):
        return ()
    views = []
    regression = problem.task == "regression"
    if getattr(problem, "n_inputs", 0) == 2 and hasattr(problem, "network"):
        views.append("units")
    if getattr(problem.data, "name", "") == "digits":
        views.append("digits")
    if regression and problem.n_inputs == 1:
        views.append("fit")
    if not regression:
        views.append("confusion")
    return tuple(views)


def data_views(session) -> tuple[str, ...]:
    """The views of the scenario's Data tab: those of any run's problem, in a fixed order."""
    found = set()
    for cohort in session.sim.cohorts:
        found.update(views_for(cohort.problem))
    return tuple(v for v in ("units", "digits", "fit", "confusion") if v in found)


def held_out_split(problem) -> str:
    """The split a report uses: test, else validation, else the training split."""
    for split in ("test", "val"):
        if getattr(problem, f"n_{split}", 0):
            return split
    return "train"


SPLIT_WORDS = {"test": "test", "val": "validation", "train": "training"}
