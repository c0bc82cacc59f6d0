"""`gdsim run --format summary`: where the runs ended, in words, a group ([[runs]] entry) at a time.

A single run gets its state (engine/states.py: the one classification the app's table, notices
and verdicts use too), its final loss and gradient, its validation and test figures, and for a
classifier its most frequent mix-ups on the test split (its confusion matrix's largest cells). An
ensemble is summarized: how many runs ended at each known point or in each state, percentiles
of the final loss over the runs that did not diverge, how many diverged and when, and the
medians of its test figures. Each run's own line only with --per-run. A figure that cannot be
given says why (no test split, the run diverged) instead of a dash.
"""

from __future__ import annotations

import textwrap
from typing import IO

import numpy as np

from gdsim import records
from gdsim.words import plural

WIDTH = 80  # lines are wrapped to this many columns, continued 4 columns further in
PERCENTILES = (0, 10, 50, 90, 100)
PERCENTILE_NAMES = ("min", "10%", "median", "90%", "max")
SPLIT_NAMES = {"val": "validation", "test": "test"}
VAL_METRICS = ("loss", "accuracy", "mae")  # a few validation figures; the test split gets all


NBSP = "\u00a0"  # joins the words of one item (a point's coordinates, a name and its value) while wrapping


def item(text: str) -> str:
    return text.replace(" ", NBSP)


def wrap(line: str) -> str:
    """The line wrapped to WIDTH between items, never inside one (a line that fits is kept as it is)."""
    if len(line) <= WIDTH:
        return line.replace(NBSP, " ")
    indent = " " * (len(line) - len(line.lstrip(" ")) + 4)
    filled = textwrap.fill(line, WIDTH, subsequent_indent=indent, break_long_words=False, break_on_hyphens=False)
    return filled.replace(NBSP, " ")


def num(value: float) -> str:
    return records.fmt(float(value), 0).strip()


def final_evaluations(sim) -> dict[tuple[str, str], np.ndarray]:
    """{(split, metric): (R,) values} on the validation and test splits, for data-set problems."""
    out: dict[tuple[str, str], np.ndarray] = {}
    for cohort in sim.cohorts:
        if not hasattr(cohort.problem, "evaluate"):
            continue
        for split in ("val", "test"):
            with np.errstate(all="ignore"):
                figures = cohort.evaluate_split(split)
            for name, values in figures.items():
                if split == "val" and name not in VAL_METRICS:
                    continue
                out.setdefault((split, name), np.full(sim.n_runs, np.nan))[cohort.rows] = values
    return out


def split_sizes(sim) -> dict[str, np.ndarray]:
    """Points in the validation and test splits, per run (-1 where the problem has no splits)."""
    sizes = {split: np.full(sim.n_runs, -1) for split in SPLIT_NAMES}
    for cohort in sim.cohorts:
        for split in SPLIT_NAMES:
            n = getattr(cohort.problem, f"n_{split}", None)
            if n is not None:
                sizes[split][cohort.rows] = n
    return sizes


def why_missing(split: str, size: int, diverged: bool) -> str:
    if size == 0:
        share = "validation" if split == "val" else "test"
        return f"no {SPLIT_NAMES[split]} split (the {share} share of [problem] split is 0)"
    if diverged:
        return "not a number (the run diverged)"
    return "not a number (the model's outputs overflowed)"


def figures_line(split: str, figures: dict[tuple[str, str], np.ndarray], rows: list[int],
                 sizes: dict[str, np.ndarray], diverged: np.ndarray) -> str | None:
    """'test: loss 0.52, accuracy 0.86' for one run, the medians for several; None if not a data set."""
    names = [name for (s, name) in figures if s == split]
    if not names:
        return None
    parts, missing = [], set()
    for name in names:
        values = figures[(split, name)][rows]
        finite = values[np.isfinite(values)]
        if finite.size == 0:
            missing |= {why_missing(split, int(sizes[split][r]), bool(diverged[r] >= 0)) for r in rows}
            continue
        shown = name.replace("_", " ")
        if len(rows) == 1:
            parts.append(f"{shown} {num(finite[0])}")
        else:
            note = "" if finite.size == len(rows) else f" of {finite.size}"
            parts.append(f"{shown} median {num(np.median(finite))}{note}")
    label = SPLIT_NAMES[split]
    if not parts:
        return f"{label}: " + "; ".join(sorted(missing))
    return f"{label}: " + ", ".join(parts) + (f" ({'; '.join(sorted(missing))} for the rest)" if missing else "")


def misread_line(sim, r: int, split: str = "test") -> str | None:
    """'test, misread: 4 of 269: 8 as 1 (2), 9 as 5 (1), ...' for one classification run (the
    largest cells of its confusion matrix, engine/predictions.py); None for other problems, an
    empty split or a diverged run."""
    from gdsim.engine.cohort import state_rows_of
    from gdsim.engine.metrics import most_confused
    from gdsim.engine.predictions import split_predictions

    cohort, index = next((c, list(c.rows).index(r)) for c in sim.cohorts if r in c.rows)
    problem = cohort.problem
    if getattr(problem, "task", "regression") == "regression" or not getattr(problem, f"n_{split}", 0):
        return None
    if sim.diverged_at[r] >= 0:
        return None
    state = None if cohort.problem_state is None else state_rows_of(cohort.problem_state, [index])
    preds = split_predictions(problem, cohort.params[index], split, state)
    names = problem.class_names
    pairs = most_confused(preds.confusion, 4)
    head = f"{SPLIT_NAMES[split]}, misread: {preds.wrong} of {len(preds.labels)}"
    if not pairs:
        return head
    more = "" if preds.wrong == sum(n for _, _, n in pairs) else "," + NBSP + "..."
    return head + ": " + ", ".join(item(f"{names[t]} as {names[p]} ({n})") for t, p, n in pairs) + more


def state_words(state) -> str:
    """The state's words (engine/states.py), with 'step' spelt out and the known point's place."""
    if state.kind == "diverged":
        return f"diverged at step {state.step}"
    if state.kind == "stopped":
        return f"stopped early at step {state.step}" + ("" if state.best is None else f" (best at step {state.best})")
    if state.kind in ("global min", "local min", "saddle") and state.since is not None:
        return f"{state.kind} {state.at_point} from step {'~' if state.rough else ''}{state.since}".replace("  ", " ")
    return state.words + (f" {state.at_point}" if state.at_point else "")


def run_lines(r: int, state, rec: dict, indent: str = "") -> list[str]:
    """One run: its label and where it ended, then its final loss, gradient (and point)."""
    def shown(value) -> str:
        return num(np.nan if value is None else value)

    figures = f"loss {shown(rec['loss'])}, |grad| {shown(rec['grad_norm'])}"
    if state.kind == "diverged":  # frozen where it was last finite, the step before
        figures = f"last finite state (step {state.step - 1}): {figures}"
    if "params" in rec:
        figures += " at (" + ", ".join(shown(p) for p in rec["params"]) + ")"
    return [f"{indent}{records.run_title(rec['run'], rec['seed'])}: {state_words(state)}", f"{indent}  {figures}"]


def ensemble_lines(label: str, rows: list[int], sim, states, losses: np.ndarray) -> list[str]:
    from gdsim.engine.states import tally

    n = len(rows)
    seeds = [sim.runs[r].seed for r in rows]
    consecutive = seeds == list(range(seeds[0], seeds[0] + n))
    seed_text = f"seeds {seeds[0]} to {seeds[-1]}" if consecutive else f"{len(set(seeds))} seeds"
    lines = [f"{label}: {plural(n, 'run')} ({seed_text})"]
    ends = tally([states[r] for r in rows])
    first = item(f"{ends[0][1]} of {n} {ends[0][0]}")
    lines.append("  ended: " + "; ".join([first] + [item(f"{count} {what}") for what, count in ends[1:]]))
    diverged_at = sim.diverged_at[rows]
    gone = diverged_at >= 0
    alive = losses[rows][~gone]
    alive = alive[np.isfinite(alive)]
    if alive.size:
        cuts = np.percentile(alive, PERCENTILES)
        over = "" if alive.size == n else f" of the {alive.size} not diverged"
        lines.append(f"  final loss{over}: " + ", ".join(item(f"{name} {num(v)}") for name, v in zip(PERCENTILE_NAMES, cuts)))
    if gone.any():
        steps = diverged_at[gone]
        when = f"at step {steps.min()}" if steps.min() == steps.max() else f"between steps {steps.min()} and {steps.max()}"
        lines.append(f"  diverged: {gone.sum()} of {n}, {when}")
    else:
        lines.append(f"  diverged: none of {n}")
    return lines


def write_summary(sim, out: IO[str], *, per_run: bool = False) -> None:
    """The summary of a stepped simulation (built with a history, so states can judge a window)."""
    from gdsim.engine.states import run_states

    states = run_states(sim)
    recs = list(records.step_records(sim))
    losses = sim.loss
    figures = final_evaluations(sim)
    sizes = split_sizes(sim)
    diverged = sim.diverged_at
    groups: dict[str, list[int]] = {}
    for r, run in enumerate(sim.runs):
        groups.setdefault(run.group, []).append(r)
    out.write(f"{plural(sim.n_runs, 'run')} after {plural(sim.step_count, 'step')}\n")
    hidden = 0
    for label, rows in groups.items():
        out.write("\n")
        if len(rows) == 1:
            lines = run_lines(rows[0], states[rows[0]], recs[rows[0]])
        else:
            lines = ensemble_lines(label, rows, sim, states, losses)
        for split in SPLIT_NAMES:
            line = figures_line(split, figures, rows, sizes, diverged)
            if line is not None:
                lines.append("  " + line)
        if len(rows) == 1 and (line := misread_line(sim, rows[0])) is not None:
            lines.append("  " + line)
        if len(rows) > 1:
            if per_run:
                for r in rows:
                    lines += run_lines(r, states[r], recs[r], indent="  ")
                    lines += ["    " + line for split in SPLIT_NAMES
                              if (line := figures_line(split, figures, [r], sizes, diverged)) is not None]
            else:
                hidden += len(rows)
        out.write("\n".join(map(wrap, lines)) + "\n")
    if hidden:
        out.write(f"\n(a line for each of the {plural(hidden, 'run')} of the ensembles: --per-run)\n")
