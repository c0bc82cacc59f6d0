"""Text forms of what the app holds: the tweaked scenario as TOML, the runs' histories as CSV or JSONL."""

from __future__ import annotations

import csv
import io
import json
import math
import re
from typing import Any

import numpy as np

from gdsim.app.runtime.session import Session

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


# -- TOML ------------------------------------------------------------------------------------------
def toml_dumps(data: dict[str, Any]) -> str:
    """A TOML document for a parsed scenario (tables, arrays of tables, strings, numbers, booleans)."""
    lines: list[str] = []
    _table(data, [], lines)
    return "\n".join(lines).strip() + "\n"


def _table(data: dict[str, Any], path: list[str], lines: list[str]) -> None:
    simple = {k: v for k, v in data.items() if not _is_table(v) and not _is_table_array(v)}
    for key, value in simple.items():
        lines.append(f"{_key(key)} = {_value(value)}")
    for key, value in data.items():
        if _is_table(value):
            lines.append("")
            lines.append(f"[{'.'.join(_key(p) for p in [*path, key])}]")
            _table(value, [*path, key], lines)
        elif _is_table_array(value):
            for item in value:
                lines.append("")
                lines.append(f"[[{'.'.join(_key(p) for p in [*path, key])}]]")
                _table(item, [*path, key], lines)


def _is_table(value: Any) -> bool:
    return isinstance(value, dict)


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _key(key: str) -> str:
    return key if _BARE_KEY.match(key) else json.dumps(key)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        if "\n" in value:
            escaped = value.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
            escaped = "".join(c if c in "\n\t" or ord(c) >= 32 and c != "\x7f" else f"\\u{ord(c):04x}" for c in escaped)
            return f'"""\n{escaped}"""'
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + "}"
    return json.dumps(str(value))


# -- histories -------------------------------------------------------------------------------------
def history_records(session: Session):
    """One dict per (recorded step, run): run, seed, step, then every recorded field."""
    sim = session.sim
    history = sim.history
    if history is None:
        return
    steps, _ = history.series("loss")
    series = {name: history.series(name)[1] for name in history.fields}
    for i, step in enumerate(steps):
        for r, run in enumerate(sim.runs):
            record: dict[str, Any] = {"run": run.label, "seed": run.seed, "step": int(step)}
            for name, values in series.items():
                value = values[i, r]
                if np.ndim(value):
                    for j, v in enumerate(np.ravel(value)):
                        record[f"{name}_{j}"] = _finite(v)
                else:
                    record[name] = _finite(value)
            yield record


def _finite(value: Any) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def history_csv(session: Session) -> str:
    out = io.StringIO()
    writer = None
    for record in history_records(session):
        if writer is None:
            writer = csv.DictWriter(out, fieldnames=list(record), lineterminator="\n")
            writer.writeheader()
        writer.writerow({k: "" if v is None else v for k, v in record.items()})
    return out.getvalue()


def history_jsonl(session: Session) -> str:
    return "".join(json.dumps(r, allow_nan=False) + "\n" for r in history_records(session))
