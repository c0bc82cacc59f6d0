"""`gdsim plot FILE`: plot a saved run (the JSON lines or CSV `gdsim run --format jsonl/csv -o` writes).

The file is read as records of run, step, loss, grad_norm, velocity_norm, lr and diverged (other
fields are ignored); the plots are terminal_plots' (loss, |grad|, |velocity|, learning rate). A
file that is not such records gets one message naming the file, the line and what was expected,
and exit status 2.
"""

from __future__ import annotations

import csv
import json
import math
import re
import sys
from pathlib import Path

from gdsim.errors import UserError

METRIC_KEYS = ("loss", "grad_norm", "velocity_norm", "lr")
EXPECTED = "the records `gdsim run --format jsonl|csv -o FILE` writes"
SEED_SUFFIX = re.compile(r" \(seed \d+\)$")


class PlotFileError(UserError, ValueError):
    """A file that is not a saved run (the message names the file and line)."""


def register(sub) -> None:
    parser = sub.add_parser("plot", help="plot a saved run (gdsim run --format jsonl/csv -o FILE) in the terminal")
    parser.add_argument("file", type=Path, help="a .jsonl or .csv file written by gdsim run")
    parser.set_defaults(func=run)


def run(args) -> int:
    from gdsim.commands.terminal_plots import write_plots

    traces = read_traces(args.file)
    write_plots(traces, sys.stdout, source=args.file.name)
    return 0


def read_traces(path: Path) -> list:
    """The runs in `path` as terminal_plots.Trace, in the order they first appear."""
    import numpy as np

    from gdsim.commands.terminal_plots import Trace

    records = read_records(path)
    runs: dict[str, list[dict]] = {}
    for rec in records:
        runs.setdefault(rec["run"], []).append(rec)
    traces = []
    for label, recs in runs.items():
        recs.sort(key=lambda r: r["step"])
        steps = np.array([r["step"] for r in recs], dtype=np.int64)
        values = {key: np.array([r.get(key, math.nan) for r in recs], dtype=np.float64) for key in METRIC_KEYS}
        diverged = [r["step"] for r in recs if r.get("diverged")]
        traces.append(Trace(label, SEED_SUFFIX.sub("", label), steps, values,
                            diverged_at=min(diverged) if diverged else None))
    return traces


def read_records(path: Path) -> list[dict]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PlotFileError(f"{path}: no such file; expected {EXPECTED}") from None
    except UnicodeDecodeError:
        raise PlotFileError(f"{path}: not UTF-8 text; expected {EXPECTED}") from None
    except OSError as exc:
        raise PlotFileError(f"{path}: cannot be read ({exc.strerror or exc}); expected {EXPECTED}") from None
    if not text.strip():
        raise PlotFileError(f"{path}: the file is empty; expected {EXPECTED}")
    is_json = path.suffix.lower() in (".jsonl", ".json", ".ndjson") or (
        path.suffix.lower() != ".csv" and text.lstrip().startswith("{"))
    records = _jsonl(path, text) if is_json else _csv(path, text)
    if not records:
        raise PlotFileError(f"{path}: no records; expected {EXPECTED}")
    if not any(key in rec for rec in records for key in METRIC_KEYS):
        raise PlotFileError(f"{path}: no record has any of {', '.join(METRIC_KEYS)}; expected {EXPECTED}")
    return records


def _jsonl(path: Path, text: str) -> list[dict]:
    records = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise PlotFileError(f"{path} line {n}: not a JSON record ({exc.msg}); expected {EXPECTED}, "
                                "one JSON object a line") from None
        if not isinstance(rec, dict):
            raise PlotFileError(f"{path} line {n}: a JSON {type(rec).__name__}, not an object; expected {EXPECTED}")
        records.append(_checked(rec, path, n))
    return records


def _csv(path: Path, text: str) -> list[dict]:
    rows = csv.reader(text.splitlines())
    try:
        header = next(rows)
    except (StopIteration, csv.Error):
        raise PlotFileError(f"{path}: no CSV header; expected {EXPECTED}") from None
    if "run" not in header or "step" not in header:
        raise PlotFileError(f"{path} line 1: the CSV header has no 'run' and 'step' columns "
                            f"(it has {', '.join(header[:8]) or 'nothing'}); expected {EXPECTED}")
    records = []
    try:
        for n, row in enumerate(rows, 2):
            if not row:
                continue
            if len(row) != len(header):
                raise PlotFileError(f"{path} line {n}: {len(row)} cells where the header has {len(header)}; "
                                    f"expected {EXPECTED}")
            rec: dict = {}
            for name, cell in zip(header, row):
                if name == "run":
                    rec[name] = cell
                elif name == "diverged":
                    rec[name] = cell.strip().lower() == "true"
                elif name == "step" or name in METRIC_KEYS:
                    rec[name] = None if cell == "" else _number(cell, path, n, name)
            records.append(_checked(rec, path, n))
    except csv.Error as exc:
        raise PlotFileError(f"{path}: not CSV ({exc}); expected {EXPECTED}") from None
    return records


def _number(cell: str, path: Path, n: int, name: str) -> float:
    try:
        return float(cell)
    except ValueError:
        raise PlotFileError(f"{path} line {n}: '{name}' is {cell!r}, not a number; expected {EXPECTED}") from None


def _checked(rec: dict, path: Path, n: int) -> dict:
    """The record with run (text), step (whole number >= 0) and numeric metrics (None: NaN)."""
    run, step = rec.get("run"), rec.get("step")
    if not isinstance(run, str):
        raise PlotFileError(f"{path} line {n}: no 'run' label (text); expected {EXPECTED}")
    if isinstance(step, float) and step.is_integer():
        step = int(step)
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise PlotFileError(f"{path} line {n}: 'step' is {step!r}, not a whole number >= 0; expected {EXPECTED}")
    out = {"run": run, "step": step, "diverged": bool(rec.get("diverged"))}
    for key in METRIC_KEYS:
        if key not in rec:
            continue
        value = rec[key]
        if value is None:
            value = math.nan
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise PlotFileError(f"{path} line {n}: '{key}' is {value!r}, not a number or null; expected {EXPECTED}")
        out[key] = float(value)
    return out
