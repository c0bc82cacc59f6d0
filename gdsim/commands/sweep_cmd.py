"""`gdsim sweep SCENARIO --vary KEY=LOW:HIGH[:log|lin][:N]`: a grid of hyperparameters, one cohort.

Every combination of the --vary values is a point of the grid; all points run as one vectorized
cohort (gdsim.engine.sweep) of the chosen run (--run, else the scenario's first run), each with the
run's start, seed and mini-batches, for --steps updates. Each point reports the metrics asked for:
final_loss, best_loss, steps_to:<condition> (e.g. steps_to:loss<1e-3), diverged, and on a data set
the whole-split train_loss / val_loss / ... at the end. On a quadratic with SGD the closed forms
(the divergence edge 2/λmax, momentum's 2(1 + β)/λmax, Goh's optimum) are printed beside what the
sweep measured.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from gdsim.errors import UserError
from gdsim.fileio import atomic_text_writer, check_writable

FORMATS = ("table", "csv", "jsonl", "plot")
DEFAULT_METRICS = ("final_loss", "best_loss", "diverged")
# Keys swept on a log scale unless told otherwise (scales: a factor matters, not a difference).
LOG_KEYS = frozenset({"lr", "eps", "weight_decay", "lr_decay", "damping", "initial_accumulator_value"})
DEFAULT_POINTS = {1: 200, 2: 40}  # values per axis by the number of axes; 10 for three or more


def register(sub) -> None:
    parser = sub.add_parser(
        "sweep", help="run a grid of hyperparameters over one run as one vectorized cohort",
        description="Run every combination of the --vary values over one run of a scenario, as one "
                    "vectorized cohort, and report a metric per point.")
    parser.add_argument("scenario", help="a built-in scenario id or a scenario file")
    parser.add_argument("--run", metavar="LABEL", help="the run to sweep (default: the scenario's first run)")
    parser.add_argument("--vary", action="append", default=[], metavar="KEY=LOW:HIGH[:log|lin][:N]",
                        help="a hyperparameter to vary, e.g. --vary lr=1e-3:1:log:200 --vary momentum=0:0.99:lin:40 "
                             "(keys: the run's optimizer's numbers: lr, momentum, beta1, beta2, eps, weight_decay, ...)")
    parser.add_argument("--steps", type=int, help="updates per point (default: the scenario's steps)")
    parser.add_argument("--metric", action="append", default=[], metavar="NAME",
                        help="final_loss, best_loss, steps_to:<condition> (e.g. steps_to:loss<1e-3), diverged, "
                             "or on a data set train_loss, val_loss, val_accuracy ...; repeatable "
                             "(default: final_loss, best_loss, diverged, and on a data set train_loss, val_loss)")
    parser.add_argument("--format", choices=FORMATS, default="table",
                        help="table (the default), csv, jsonl, or plot (in the terminal)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="sets",
                        help="override a scenario key first, value as TOML, e.g. --set problem.condition=100")
    parser.add_argument("--output", "-o", type=Path, help="write to this file (atomically) instead of stdout")
    parser.add_argument("--force", action="store_true", help="allow --output to replace an existing file")
    parser.set_defaults(func=run)


def parse_vary(text: str, n_axes: int):
    """'lr=1e-3:1:log:200' -> Axis; every mistake names the flag and what was expected."""
    from gdsim.engine.sweep import Axis, SweepError, canonical_key

    expected = "expected KEY=LOW:HIGH[:log|lin][:N], e.g. --vary lr=1e-3:1:log:200"
    key, sep, spec = text.partition("=")
    if not sep or not key.strip():
        raise UserError(f"--vary {text}: {expected}")
    key = canonical_key(key)
    parts = [p.strip() for p in spec.split(":")]
    if len(parts) < 2 or len(parts) > 4:
        raise UserError(f"--vary {text}: {expected}")
    try:
        low, high = float(parts[0]), float(parts[1])
    except ValueError:
        raise UserError(f"--vary {text}: LOW and HIGH must be numbers ({expected})") from None
    scale, n = None, DEFAULT_POINTS.get(n_axes, 10)
    for part in parts[2:]:
        if part in ("log", "lin"):
            if scale is not None:
                raise UserError(f"--vary {text}: give the scale once ({expected})")
            scale = part
        elif part.isdigit():
            n = int(part)
        else:
            raise UserError(f"--vary {text}: {part!r} is neither log, lin nor a number of values ({expected})")
    if scale is None:
        scale = "log" if key in LOG_KEYS and low > 0 else "lin"
    try:
        return Axis(key, low, high, n, scale)
    except SweepError as exc:
        raise UserError(f"--vary {text}: {exc}") from None


def run_index(loaded, label: str | None) -> int:
    """The row (in resolve_runs' order) of the run labelled `label`, or the first run."""
    from gdsim.build import resolve_runs

    configs = resolve_runs(loaded)
    if label is None:
        return 0
    for row, config in enumerate(configs):
        if label in (config.label, config.group):
            return row
    names = ", ".join(dict.fromkeys(c.group for c in configs))
    raise UserError(f"--run {label}: the scenario has no run labelled {label!r}; its runs: {names}")


def vary_flag(message: str, texts: list[str], axes: list) -> str:
    """The --vary flag a sweep's error is about (its key leads or is quoted in the message)."""
    quoted = {"beta1": ("beta parameter at index 0",), "beta2": ("beta parameter at index 1",)}
    for text, axis in zip(texts, axes):
        if message.startswith(f"{axis.key}:") or f"'{axis.key}'" in message or any(
                q in message for q in quoted.get(axis.key, ())):
            return f"--vary {text}"
    return " ".join(f"--vary {text}" for text in texts)  # about the grid as a whole


def run(args) -> int:
    from gdsim.build import build_sweep, resolve_runs
    from gdsim.commands.run_cmd import load_with_overrides
    from gdsim.engine.sweep import Condition, SweepError

    if not args.vary:
        raise UserError("gdsim sweep needs at least one --vary KEY=LOW:HIGH, e.g. --vary lr=1e-3:1:log:200")
    axes = [parse_vary(text, len(args.vary)) for text in args.vary]
    metrics = list(dict.fromkeys(args.metric)) or list(DEFAULT_METRICS)
    conditions = []
    for name in metrics:
        if name.startswith("steps_to:"):
            try:
                conditions.append(Condition.parse(name.removeprefix("steps_to:")))
            except SweepError as exc:
                raise UserError(f"--metric {name}: {exc}") from None
    loaded = load_with_overrides(args.scenario, args.sets)
    steps = loaded.scenario.scenario.steps if args.steps is None else args.steps
    if not 0 <= steps <= 10_000_000:
        raise UserError(f"--steps {steps}: expected a number of updates from 0 to 10000000")
    row = run_index(loaded, args.run)
    config = resolve_runs(loaded)[row]
    try:
        sweep = build_sweep(loaded, row, axes, conditions=tuple(conditions))
    except SweepError as exc:
        raise UserError(f"{vary_flag(str(exc), args.vary, axes)}: {exc} (run {config.group!r})") from None
    if args.output is not None:
        check_writable(args.output, overwrite=args.force)
    if sweep.skipped_changes and args.format in ("csv", "jsonl"):  # table and plot say it in their notes
        print(f"gdsim: note: run {config.group!r} has changes at step "
              f"{', '.join(map(str, sweep.skipped_changes))}; the sweep leaves them out "
              "(every point keeps its settings from step 0)", file=sys.stderr)
    started = time.perf_counter()
    sweep.step(steps)
    result = sweep.result()
    seconds = time.perf_counter() - started
    if not args.metric:  # on a data set, the whole splits' losses at the end (a mini-batch's is noisy)
        metrics += [name for name in ("train_loss", "val_loss") if name in result.evaluation]
    for name in metrics:
        try:
            result.metric(name)
        except SweepError as exc:
            raise UserError(f"--metric {name}: {exc}") from None
    source = (f"{loaded.id}, run {config.group!r} ({sweep.optimizer.name}), {steps} steps, "
              f"{sweep.n_points} points as one cohort ({seconds:.2f} s)")
    if args.output is not None:
        with atomic_text_writer(args.output, overwrite=args.force) as out:
            write(result, sweep, metrics, args.format, out, source)
    else:
        write(result, sweep, metrics, args.format, sys.stdout, source)
    return 0


def write(result, sweep, metrics: list[str], fmt: str, out, source: str) -> None:
    from gdsim.commands import sweep_output

    if fmt == "jsonl":
        sweep_output.write_jsonl(result, metrics, out)
    elif fmt == "csv":
        sweep_output.write_csv(result, metrics, out)
    elif fmt == "table":
        sweep_output.write_table(result, metrics, out, source)
        sweep_output.write_notes(result, sweep, metrics, out)
    else:
        sweep_output.write_plot(result, sweep, metrics[0], out, source)
        sweep_output.write_notes(result, sweep, metrics, out)

