"""`gdsim landscape SCENARIO --kind line|pca|random`: a loss landscape of one run, in the shell.

Runs the scenario to --at STEP (default: its length), then computes the landscape around the
chosen run with gdsim.engine.landscape (one vectorized batch of grid points) and prints it as a
table, CSV, JSON lines or a terminal plot. NumPy and the engine are imported when the command
runs, not when `gdsim` builds its parser (tests/test_startup_imports.py).
"""

from __future__ import annotations

import json
import math
import sys
import textwrap
from pathlib import Path
from typing import IO

from gdsim.errors import UserError
from gdsim.fileio import atomic_text_writer, check_writable

KINDS = ("line", "pca", "random")
FORMATS = ("table", "csv", "jsonl", "plot")
MAX_STEP = 10_000_000
GRID_LIMITS = {"line": (3, 2001), "pca": (3, 201), "random": (3, 201)}


def register(sub) -> None:
    parser = sub.add_parser(
        "landscape", help="the loss along a line or over a plane through a run's parameters",
        description="The loss landscape of one run of a scenario: 'line' from its start to its point at "
        "--at (Goodfellow et al. 2015; or between two runs' points with --run A --run B), 'pca' over the "
        "plane of its path's top two principal directions, 'random' over a plane of two filter-normalized "
        "random directions (Li et al. 2018). Every grid point is evaluated on the whole training set "
        "(or --split val), as at test time (no dropout, batch norm's running statistics).")
    parser.add_argument("scenario", help="a built-in scenario id or a scenario file")
    parser.add_argument("--kind", required=True, choices=KINDS, help="line, pca or random")
    parser.add_argument("--run", action="append", default=[], metavar="LABEL",
                        help="the run (its label; default: the first run); for --kind line a second "
                             "--run draws the line from the first run's point to the second's")
    parser.add_argument("--at", type=int, metavar="STEP", help="the step to look at (default: the scenario's steps)")
    parser.add_argument("--grid", type=int, default=41, metavar="N",
                        help="grid points along each axis (default 41: a plane is 41x41 = 1,681 points)")
    parser.add_argument("--span", type=float, metavar="S",
                        help="line: t from -S to 1+S (default 0.5); pca: padding as a share of the path's "
                             "extent (default 0.25); random: coordinates from -S to S (default 1)")
    parser.add_argument("--seed", type=int, default=0, help="the random directions' seed (--kind random; default 0)")
    parser.add_argument("--split", choices=("train", "val"), default="train",
                        help="evaluate on the training set (default) or the validation set")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="sets",
                        help="override a scenario key first, value as TOML (as in gdsim run)")
    parser.add_argument("--format", choices=FORMATS, default="table", help="table (default), csv, jsonl or plot")
    parser.add_argument("--output", "-o", type=Path, help="write to this file (atomically) instead of stdout")
    parser.add_argument("--force", action="store_true", help="allow --output to replace an existing file")
    parser.set_defaults(func=run)


def _check_args(args) -> None:
    low, high = GRID_LIMITS[args.kind]
    if not low <= args.grid <= high:
        raise UserError(f"--grid {args.grid}: expected a whole number of grid points from {low} to {high} "
                        f"for --kind {args.kind}")
    if args.span is not None and not (math.isfinite(args.span) and 0 <= args.span <= 100):
        raise UserError(f"--span {args.span}: expected a number from 0 to 100")
    if args.at is not None and not 0 <= args.at <= MAX_STEP:
        raise UserError(f"--at {args.at}: expected a step from 0 to {MAX_STEP}")
    if args.seed < 0:
        raise UserError(f"--seed {args.seed}: expected a whole number >= 0")
    if len(args.run) > (2 if args.kind == "line" else 1):
        raise UserError(f"--run given {len(args.run)} times: expected one run"
                        + (", or two for --kind line" if args.kind != "line" else " or two"))


def _row_of(sim, label: str) -> int:
    labels = [run.label for run in sim.runs]
    if label in labels:
        return labels.index(label)
    shown = ", ".join(repr(x) for x in labels[:12]) + (", ..." if len(labels) > 12 else "")
    raise UserError(f"--run {label!r}: no run has this label; the runs are {shown}")


def run(args) -> int:
    from gdsim.commands.run_cmd import load_with_overrides

    _check_args(args)
    loaded = load_with_overrides(args.scenario, args.sets)
    at = loaded.scenario.scenario.steps if args.at is None else args.at
    if args.output is not None:
        check_writable(args.output, overwrite=args.force)
    result, info = compute(loaded, args, at)
    if args.output is not None:
        with atomic_text_writer(args.output, overwrite=args.force) as out:
            write(result, info, args.format, out)
    else:
        write(result, info, args.format, sys.stdout)
    return 0


def compute(loaded, args, at: int):
    """Build, step to `at` and compute the landscape; (Landscape, what the output says about it)."""
    from gdsim.build import build
    from gdsim.engine import landscape, landscape_runs

    sim = build(loaded)
    if sim.paths is None and not sim.small:
        raise UserError(f"{args.scenario}: too many runs of too many parameters to record a path "
                        "(the landscape needs the run's recorded parameters)")
    rows = [_row_of(sim, label) for label in args.run] or [0]
    sim.step(at)
    problem = sim.cohorts[0].problem
    for cohort in sim.cohorts:
        if rows[0] in cohort.rows:
            problem = cohort.problem
    if args.split == "val" and getattr(problem, "n_val", 0) == 0:
        what = "has no validation split" if hasattr(problem, "n_val") else "is a surface: it has no data"
        raise UserError(f"--split val: {args.scenario} {what}; use --split train")
    try:
        result = landscape_runs.for_run(sim, args.kind, rows[0], other=rows[1] if len(rows) > 1 else None,
                                   n=args.grid, span=args.span, seed=args.seed, split=args.split)
    except landscape.LandscapeError as exc:
        raise UserError(f"{args.scenario}, --kind {args.kind}: {exc}") from None
    run_label = sim.runs[rows[0]].label
    info = {
        "scenario": args.scenario,
        "run": run_label,
        "to_run": sim.runs[rows[1]].label if len(rows) > 1 else None,
        "step": sim.step_count,
        "model": getattr(problem, "description", getattr(problem, "title", "") or "a 2-D surface"),
        "values": _values_words(problem, args.split),
        "seed": args.seed if args.kind == "random" else None,
        "diverged": bool(sim.diverged_at[rows[0]] >= 0),
    }
    return result, info


def percent(share: float) -> str:
    """A share as a percentage that never rounds a small share to 0% (0.04%, 3.2%, 97.6%)."""
    value = 100 * share
    return f"{value:.1f}%" if value >= 1 or value == 0 else f"{value:.2g}%"


def _values_words(problem, split: str) -> str:
    if not hasattr(problem, "network"):
        return "the surface's value (no gradient noise)"
    where = "whole training set" if split == "train" else "whole validation set"
    words = f"{problem.loss_name} loss on the {where}"
    if split == "train" and (problem.l1 or problem.l2):
        words += " + the l1/l2 penalty (the objective the optimizer minimizes)"
    extras = [x for x, on in (("dropout off", problem.dropout > 0),
                              ("batch norm's running statistics", problem.batch_norm)) if on]
    return words + (f", evaluated as at test time ({', '.join(extras)})" if extras else "")


def describe(result, info) -> list[str]:
    """The header lines every text format starts with: what was computed, honestly."""
    at = f"step {info['step']:,}"
    if result.kind == "line":
        if info["to_run"] is not None:
            what = f"line from run \"{info['run']}\" (t = 0) to run \"{info['to_run']}\" (t = 1), both at {at}"
            what += f"; both ends on run \"{info['run']}\"'s objective (its data and penalty)"
        else:
            what = f"line from run \"{info['run']}\"'s start (t = 0, step 0) to its point at {at} (t = 1)"
    elif result.kind == "pca":
        what = (f"plane through run \"{info['run']}\"'s point at {at} along its path's top two principal "
                f"directions: a projection, not the real path")
    else:
        what = (f"plane through run \"{info['run']}\"'s point at {at} along two filter-normalized random "
                f"directions (seed {info['seed']})")
    lines = [f"{info['scenario']}: {what}", f"model: {info['model']}", f"values: {info['values']}"]
    if result.variance is not None:
        holds = "line" if result.kind == "line" else "plane"
        lines.append(f"the {holds} holds {percent(result.variance)} of the path's variance")
    if info["diverged"]:
        lines.append("this run diverged: its point is its last finite one")
    return [wrapped for line in lines for wrapped in textwrap.wrap(line, 80, subsequent_indent="  ")]


def write(result, info, fmt: str, out: IO[str]) -> None:
    from gdsim.commands import landscape_text

    if fmt == "jsonl":
        _write_jsonl(result, info, out)
    elif fmt == "csv":
        _write_csv(result, out)
    elif fmt == "plot":
        for line in describe(result, info):
            out.write(line + "\n")
        out.write(landscape_text.plot(result, out) + "\n")
    else:
        for line in describe(result, info):
            out.write(line + "\n")
        out.write("\n" + landscape_text.table(result) + "\n")


def _num(value) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def _write_jsonl(result, info, out: IO[str]) -> None:
    header = dict(info, kind=result.kind, split=result.split, grid=len(result.axes[0]),
                  variance=None if result.variance is None else _num(result.variance))
    out.write(json.dumps(header, allow_nan=False) + "\n")
    if result.kind == "line":
        marks = {result.origin[0]: "start" if info["to_run"] is None else "run", result.end[0]: "end"}
        for i, (t, loss) in enumerate(zip(result.axes[0].tolist(), result.loss.tolist())):
            record = {"t": t, "loss": _num(loss)}
            if i in marks:
                record["point"] = marks[i]
            out.write(json.dumps(record, allow_nan=False) + "\n")
        for step, (t,) in zip(result.path_steps.tolist(), result.path.tolist()):
            out.write(json.dumps({"path_step": step, "t": t}, allow_nan=False) + "\n")
        return
    a, b = result.axes
    for j, bj in enumerate(b.tolist()):
        for i, ai in enumerate(a.tolist()):
            out.write(json.dumps({"a": ai, "b": bj, "loss": _num(result.loss[j, i])}, allow_nan=False) + "\n")
    for step, (pa, pb) in zip(result.path_steps.tolist(), result.path.tolist()):
        out.write(json.dumps({"path_step": step, "a": pa, "b": pb}, allow_nan=False) + "\n")


def _write_csv(result, out: IO[str]) -> None:
    import csv

    writer = csv.writer(out, lineterminator="\n")
    if result.kind == "line":
        writer.writerow(["t", "loss"])
        for t, loss in zip(result.axes[0].tolist(), result.loss.tolist()):
            writer.writerow([repr(t), "" if _num(loss) is None else repr(loss)])
        return
    writer.writerow(["a", "b", "loss"])
    a, b = result.axes
    for j, bj in enumerate(b.tolist()):
        for i, ai in enumerate(a.tolist()):
            loss = float(result.loss[j, i])
            writer.writerow([repr(ai), repr(bj), repr(loss) if math.isfinite(loss) else ""])
