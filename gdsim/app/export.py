"""Text forms of what the app holds: the tweaked scenario as TOML, the runs' histories as CSV or JSONL,
the screen as SVG."""

from __future__ import annotations

import csv
import difflib
import io
import json
import math
import tomllib
from typing import Any

import numpy as np

from gdsim.app.runtime.session import Session


# -- TOML ------------------------------------------------------------------------------------------
def scenario_toml(raw: dict[str, Any], original_text: str | None = None) -> str:
    """The scenario `raw` as TOML. Given the text of the file it was loaded from, that file with only
    the changed keys rewritten (tomlkit round-trips it: the user's comments, order and layout stay
    where their keys stay); otherwise, or if the edited file would not read back as `raw`, a fresh
    document. Multi-line strings (the lesson) are written as multi-line strings."""
    import tomlkit

    raw = _plain(raw)
    if original_text is not None:
        try:
            doc = tomlkit.parse(original_text)
            _apply(doc, _plain(doc.unwrap()), raw)
            text = tomlkit.dumps(doc)
            if tomllib.loads(text) == raw:
                return text
        except Exception:  # noqa: BLE001 - any trouble with the old file: write a fresh one
            pass
    doc = tomlkit.document()
    for key, value in raw.items():
        doc[key] = _item(value)
    return tomlkit.dumps(doc)


def _plain(value: Any) -> Any:
    """Tuples as lists, recursively, as tomllib reads them back."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _is_tables(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _item(value: Any, *, inline: bool = False, entry: bool = False) -> Any:
    """A tomlkit item for a new value: tables, arrays of tables, multi-line strings where needed."""
    import tomlkit

    if isinstance(value, dict):
        if inline:
            return tomlkit_inline(value)
        table = tomlkit.table()
        for key, inner in value.items():
            # inside an array's entry (a run's optimizer = {...}), a table is written inline
            table[key] = _item(inner, inline=entry)
        return table
    if _is_tables(value):
        aot = tomlkit.aot()
        for one in value:
            aot.append(_item(one, entry=True))
        return aot
    if isinstance(value, str) and "\n" in value:
        return tomlkit.string(value, multiline=True)
    return tomlkit.item(value)


def _apply(table: Any, old: dict[str, Any], new: dict[str, Any], *, entry: bool = False) -> None:
    """Make the tomlkit `table` (holding `old`) hold `new`, touching only what differs; in an
    array's entry (`entry`: a [[runs]] table) a new table is written inline."""
    from tomlkit.items import AoT, InlineTable, Table

    for key in [k for k in old if k not in new]:
        del table[key]
    for key, value in new.items():
        if key in old and old[key] == value:
            continue
        current = table.get(key) if key in old else None
        if isinstance(value, dict) and isinstance(old.get(key), dict) and isinstance(current, (Table, InlineTable)):
            _apply(current, old[key], value)
        elif _is_tables(value) and _is_tables(old.get(key)) and isinstance(current, AoT):
            table[key] = _apply_tables(current, old[key], value)
        elif isinstance(current, InlineTable) and isinstance(value, dict):
            table[key] = tomlkit_inline(value)
        else:
            table[key] = _item(value, inline=entry)


def tomlkit_inline(value: dict[str, Any]) -> Any:
    import tomlkit

    inline = tomlkit.inline_table()
    inline.update(value)
    return inline


def _apply_tables(aot: Any, old: list[dict], new: list[dict]) -> Any:
    """An array of tables: entries kept, changed in place, removed or added where they differ
    (matched by content, so removing one run leaves the others and their comments alone)."""
    import tomlkit

    def canon(entry: dict) -> str:
        return json.dumps(entry, sort_keys=True, default=str)

    tables = list(aot.body)
    kept = []
    matcher = difflib.SequenceMatcher(a=[canon(e) for e in old], b=[canon(e) for e in new], autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            kept += tables[i1:i2]
        else:  # changed entries in place, pairwise by position; then the extra new ones added
            pairs = min(i2 - i1, j2 - j1) if tag == "replace" else 0
            for i, j in zip(range(i1, i1 + pairs), range(j1, j1 + pairs)):
                _apply(tables[i], old[i], new[j], entry=True)
                kept.append(tables[i])
            for one in new[j1 + pairs:j2]:
                table = _item(one, entry=True)
                table.add(tomlkit.nl())  # a blank line before whatever follows
                kept.append(table)
    out = tomlkit.aot()
    for table in kept:
        out.append(table)
    return out


# -- histories -------------------------------------------------------------------------------------
def history_records(session: Session):
    """One dict per (recorded step, run): run, seed, step, every recorded field, then whether the run
    had diverged by then (so `gdsim plot` marks it, as for `gdsim run`'s records)."""
    sim = session.sim
    history = sim.history
    if history is None:
        return
    steps, _ = history.series("loss")
    series = {name: history.series(name)[1] for name in history.fields}
    diverged_at = sim.diverged_at
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
            record["diverged"] = bool(0 <= diverged_at[r] <= step)  # as `gdsim run --format jsonl` says it
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


# -- SVG -------------------------------------------------------------------------------------------
def screenshot_svg(svg: str) -> str:
    """Textual's SVG screenshot (Rich's Console.export_svg), made to keep its spaces in every renderer.

    Rich writes each run of cells in one style as a <text> at its first cell's x, spaces as U+00A0,
    stretched over its cells by textLength, and leaves xml:space at "default". Under that rule an SVG
    renderer strips a text's leading and trailing white space; librsvg (rsvg-convert, GNOME's image
    viewers, the PNGs made with them) counts U+00A0 as white space, drops it, and textLength spreads
    what is left back over the cells: the space after inline code or bold in a lesson vanished
    ("`softmax` has" read "softmaxhas") and right-aligned numbers slid left. Browsers keep U+00A0, and
    the terminal never had the fault. xml:space="preserve" on the root keeps every space everywhere."""
    if "xml:space=" in svg[:200]:
        return svg
    return svg.replace("<svg ", '<svg xml:space="preserve" ', 1)
