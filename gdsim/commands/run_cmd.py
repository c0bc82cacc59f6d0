"""`gdsim run SCENARIO`: run a scenario headless and print its trajectories.

NumPy, pydantic and the engine are imported when the command runs, not when `gdsim` builds its
parser: opening the app or asking for --help does not pay for them (tests/test_startup_imports.py).
"""

from __future__ import annotations

import contextlib
import csv
import sys
import time
from pathlib import Path
from typing import IO

from gdsim.errors import UserError
from gdsim.fileio import atomic_text_writer, check_writable
from gdsim.scenario.library import resolve
from gdsim.words import plural

FORMATS = ("table", "jsonl", "csv", "summary")
TABLE_ROWS = 10


def register(sub) -> None:
    parser = sub.add_parser("run", help="run a scenario headless and print the runs")
    parser.add_argument("scenario", help="a built-in scenario id or a scenario file")
    parser.add_argument("--steps", type=int, help="number of updates (default: the scenario's steps)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="sets",
                        help="override a key, value as TOML, e.g. --set optimizer.lr=0.5 --set runs.0.seed=3")
    parser.add_argument("--at", action="append", default=[], metavar="STEP:KEY=VALUE", dest="changes",
                        help="change KEY to VALUE from step STEP on (repeatable), keeping the run's state: "
                             "150:optimizer.lr=0.01 (every run, or the --run one), 150:runs.LABEL.optimizer.lr=0.01")
    parser.add_argument("--run", metavar="LABEL", dest="change_run",
                        help="the [[runs]] entry (label or 0-based number) plain --at keys apply to")
    parser.add_argument("--format", choices=FORMATS,
                        help="what to print: table (the default), jsonl, csv or summary; "
                             "with --plot, only what is asked for")
    parser.add_argument("--output", "-o", type=Path, help="write to this file (atomically) instead of stdout")
    parser.add_argument("--force", action="store_true", help="allow --output to replace an existing file")
    parser.add_argument("--params", action="store_true",
                        help="include every parameter in jsonl/csv records (always on for 2-D surfaces)")
    parser.add_argument("--per-run", action="store_true",
                        help="with --format summary: also a line for each run of an ensemble")
    parser.add_argument("--plot", action="store_true",
                        help="after the run, plot loss, |grad|, |velocity| and learning rate in the terminal")
    parser.set_defaults(func=run)


def load_with_overrides(name: str, sets: list[str], changes: list[str] | None = None, run: str | None = None):
    from gdsim.scenario.load import load_scenario
    from gdsim.scenario.overrides import with_overrides

    path = resolve(name)
    loaded = load_scenario(path, id=path.stem, trial_build=not sets)
    loaded = with_overrides(loaded, sets) if sets else loaded
    if changes:
        from gdsim.scenario.changes import with_changes

        loaded = with_changes(loaded, changes, run)
    elif run is not None:
        raise UserError("--run names the run that --at changes apply to; give --at STEP:KEY=VALUE too")
    return loaded


def run(args) -> int:
    loaded = load_with_overrides(args.scenario, args.sets, args.changes, args.change_run)
    steps = loaded.scenario.scenario.steps if args.steps is None else args.steps
    if not 0 <= steps <= 100_000_000:
        raise UserError(f"--steps {steps}: expected a number of updates from 0 to 100000000")
    plot = getattr(args, "plot", False)
    fmt = args.format or (None if plot else "table")
    if plot and fmt in ("jsonl", "csv") and args.output is None:
        raise UserError(f"--plot with --format {fmt} needs --output FILE: the records and the plots "
                        "would be mixed on standard output")
    if args.output is not None and fmt is None:
        raise UserError("--output needs --format (table, jsonl, csv or summary) when --plot is given")
    if args.output is not None:
        check_writable(args.output, overwrite=args.force)
        with atomic_text_writer(args.output, overwrite=args.force) as out:
            sim = emit(loaded, steps, fmt, out, args.params, record=plot, per_run=args.per_run)
    else:
        sim = emit(loaded, steps, fmt, sys.stdout, args.params, record=plot, per_run=args.per_run)
    if plot:
        from gdsim.commands.terminal_plots import traces_from_simulation, write_plots

        if fmt is not None and args.output is None:
            sys.stdout.write("\n")
        write_plots(traces_from_simulation(sim), sys.stdout,
                    source=f"{args.scenario}, {steps} step{'s' if steps != 1 else ''}")
    return 0


def emit(loaded, steps: int, fmt: str | None, out: IO[str], all_params: bool = False, *, record: bool = False,
         per_run: bool = False):
    """Step the scenario's runs and write them in `fmt` (None: nothing); returns the simulation."""
    import numpy as np

    from gdsim import records
    from gdsim.build import build

    # a summary says where runs ended in the states' words, judged over a window of the history
    sim = build(loaded, record=record or fmt in ("summary", "table"))
    progress = Progress(steps) if sys.stderr.isatty() else None
    if fmt in ("jsonl", "csv"):
        writer = csv.writer(out, lineterminator="\n") if fmt == "csv" else None
        for k in range(steps + 1):
            if k:
                sim.step()
            for i, rec in enumerate(records.step_records(sim, with_params=all_params or None)):
                if writer is None:
                    out.write(records.to_json(rec) + "\n")
                else:
                    if k == 0 and i == 0:
                        writer.writerow(records.csv_header(rec))
                    writer.writerow(records.csv_row(rec))
            if progress:
                progress.update(k)
    elif fmt == "table":
        marks = set(np.unique(np.linspace(0, steps, TABLE_ROWS + 1).round().astype(int)).tolist())
        rows = []
        for k in range(steps + 1):
            if k:
                sim.step()
            if k in marks:
                rows.append(list(records.step_records(sim)))
            if progress:
                progress.update(k)
        write_table(sim, rows, out)
    else:
        for k in range(steps):
            sim.step()
            if progress:
                progress.update(k + 1)
        if fmt == "summary":
            from gdsim.commands.summary import write_summary

            write_summary(sim, out, per_run=per_run)
            write_predict(loaded, steps, out)
    if progress:
        progress.done()
    return sim


def write_table(sim, rows: list[list[dict]], out: IO[str]) -> None:
    """Per run: its records at about ten steps, then where it ended (engine/states.py's words)."""
    from gdsim import records
    from gdsim.commands.summary import state_words
    from gdsim.engine.states import run_states

    states = run_states(sim)
    for r, run in enumerate(sim.runs):
        out.write(records.run_title(run.label, run.seed) + "\n")
        cohort = next(c for c in sim.cohorts if r in c.rows)
        has_velocity = any(step_rows[r]["velocity_norm"] is not None for step_rows in rows)
        has_params = "params" in rows[0][r]
        has_eval = "val_loss" in rows[0][r]
        header = f"{'step':>8} {'loss':>11} {'|grad|':>11}" + (f" {'|velocity|':>11}" if has_velocity else "")
        header += f" {'lr':>11}"
        if has_eval:
            header += f" {'val loss':>11}"
        if has_params:
            header += "  params"
        out.write(header + "\n")
        between = False
        for step_rows in rows:
            rec = step_rows[r]
            line = f"{rec['step']:>8} {records.fmt(rec['loss'])} {records.fmt(rec['grad_norm'])}"
            if has_velocity:
                line += f" {records.fmt(rec['velocity_norm'])}"
            line += f" {records.fmt(rec['lr'])}"
            if has_eval:
                line += f" {records.fmt(rec['val_loss'])}"
                between |= rec["val_loss"] is None
            if has_params:
                line += "  (" + ", ".join(records.fmt(p, 0).strip() for p in rec["params"]) + ")"
            out.write(line + "\n")
        notes = []
        if not has_velocity:
            notes.append(f"no |velocity|: {cohort.optimizer.name} keeps no momentum buffer")
        if between and cohort.eval_every:
            notes.append(f"val loss is measured every {cohort.eval_every} steps; - marks a row between")
        state = states[r]
        ended = state_words(state)
        if state.kind not in ("diverged", "stopped") and state.point is None:
            ended += f"; {records.final_status(sim, r)}"
        out.write(f"  {ended}\n" + "".join(f"  ({note})\n" for note in notes) + "\n")


def write_predict(loaded, steps: int, out: IO[str]) -> None:
    """The scenario's [predict] question and the answer its expects measured (a run of its own)."""
    predict = loaded.scenario.predict
    if predict is None:
        return
    from gdsim.scenario.predict import summary_lines
    from gdsim.scenario.verify import verify

    total = loaded.scenario.scenario.steps
    note = f" (over the scenario's {plural(total, 'step')})" if steps != total else ""
    from gdsim.commands.summary import wrap

    lines = summary_lines(predict, verify(loaded), note)
    out.write("\n" + "\n".join(map(wrap, lines)) + "\n")  # 80 columns, like the summary above


class Progress:
    """A one-line progress bar on stderr, redrawn at most ten times a second."""

    def __init__(self, total: int):
        self.total = max(total, 1)
        self.last = 0.0
        self.start = time.monotonic()

    def update(self, k: int) -> None:
        now = time.monotonic()
        if now - self.last < 0.1:
            return
        self.last = now
        done = k / self.total
        bar = "#" * int(30 * done)
        with contextlib.suppress(OSError):
            sys.stderr.write(f"\r[{bar:<30}] {k}/{self.total} steps  {now - self.start:.1f}s")
            sys.stderr.flush()

    def done(self) -> None:
        with contextlib.suppress(OSError):
            sys.stderr.write("\r" + " " * 70 + "\r")
            sys.stderr.flush()
