"""Plain-language notices about the runs, from their states (gdsim.engine.states): divergence,
growth, early stops, stalls, saddles, oscillation and which minimum was reached.

The words come from the one classification the run table and `gdsim run --format summary` use;
this module only picks which states are worth a line and orders them.
"""

from __future__ import annotations

import numpy as np

from gdsim.app.runtime.session import Session
from gdsim.engine.states import tally, tally_sentence

ORDER = {"error": 0, "warning": 1, "info": 2}


def notices(session: Session, limit: int = 4) -> list[tuple[str, str]]:
    """(severity, sentence) pairs, most important first; severity is "error", "warning" or "info"."""
    states = session.states()
    out: list[tuple[str, str]] = []
    tallies: list[tuple[str, str]] = []  # an ensemble's count per end comes before single runs' news
    for run in session.display:
        rows = run.rows
        name = named(run)
        if run.ensemble:
            mine = [states[int(r)] for r in rows]
            diverged = [s.step for s in mine if s.kind == "diverged"]
            if diverged:
                out.append(("error", f"{name}: {len(diverged)} of {len(rows)} runs diverged "
                                     f"(first at step {min(diverged)})"))
            ends = tally(mine)
            if ends and ends[0][0].startswith(("at ", "around ")):  # most runs sit at (or around) known points: count them
                tallies.append(("info", f"{name}: {tally_sentence(mine)}"))
            continue
        state = states[int(rows[0])]
        if state.severity:
            out.append((state.severity, state.sentence(name)))
    out = tallies + out
    out.sort(key=lambda item: ORDER[item[0]])  # stable: within a severity, tallies first
    return out[:limit]


def named(run) -> str:
    """A run as a notice names it: its label and the letter of its row in the table and its
    trace on the plots ("far too large (D)"); a neutral label ("run D") already holds it."""
    if run.label in (run.letter, f"run {run.letter}"):
        return run.label
    return f"{run.label} ({run.letter})"


def ensemble_cannot_differ(session: Session, rows: np.ndarray) -> str | None:
    """Why the runs `rows` (an ensemble's seeds) would all be identical, or None if they can differ:
    the same start, no gradient noise, no random initialisation, no mini-batches, no dropout."""
    configs = [session.configs[int(r)] for r in rows]
    cohort, _ = session.cohort_of(int(rows[0]))
    problem = cohort.problem
    from gdsim.engine.states import is_noisy

    if is_noisy(problem):
        return None
    if hasattr(problem, "init_params") and hasattr(problem, "view"):  # a surface: random unless the start is fixed
        start = configs[0].start
        if start is None or any(c.start != start for c in configs):
            return None
        where = ", ".join(f"{v:g}" for v in start)
        return f"every run starts at ({where}) and the gradient has no noise"
    if getattr(problem, "init", None) in ("zeros", "zero"):
        return "every run starts from zero weights, trains on the full batch and has no dropout"
    return None
