"""Reading a scenario file: TOML to a validated Scenario, every failure a one-paragraph message.

A message names the file, then the TOML line and column or the dotted key (`optimizer.lr`),
then what was expected. Hostile files (huge, binary, deeply nested, absurd numbers) fail the same
way, never with a traceback.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from gdsim.errors import UserError
from gdsim.scenario.model import Scenario

MAX_FILE_BYTES = 1_000_000


class ScenarioError(UserError):
    """A scenario file (or an override of it) that cannot be used; the message says why."""

    see = "every key, its default and range: gdsim docs scenarios"


@dataclass(frozen=True)
class LoadedScenario:
    """A validated scenario with where it came from; `raw` is the parsed TOML, for overrides."""

    scenario: Scenario
    raw: dict[str, Any] = field(repr=False)
    path: Path | None
    id: str

    @property
    def base_dir(self) -> Path:
        """Where relative paths in the file (e.g. a CSV data set) are looked up."""
        return self.path.parent if self.path else Path.cwd()

    @property
    def where(self) -> str:
        return str(self.path) if self.path else self.id


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file into a dict, or raise ScenarioError naming the file and line."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise ScenarioError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ScenarioError(f"{path}: is a directory, expected a .toml scenario file") from None
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if len(data) > MAX_FILE_BYTES:
        raise ScenarioError(
            f"{path}: the file is larger than {MAX_FILE_BYTES // 1000} kB; a scenario file is a short text file"
        )
    return parse_toml_bytes(data, str(path))


def parse_toml_bytes(data: bytes, where: str) -> dict[str, Any]:
    if not data.strip():
        raise ScenarioError(f"{where}: the file is empty; expected a [scenario] table and a [problem] table")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ScenarioError(
            f"{where}: line {line}, column {column}: the file is not valid UTF-8 text "
            f"(byte 0x{data[exc.start]:02x}); scenario files are UTF-8 TOML"
        ) from None
    if "\x00" in text:
        raise ScenarioError(f"{where}: the file contains NUL bytes; expected a TOML text file")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{where}: not valid TOML: {exc}") from None
    except RecursionError:
        raise ScenarioError(f"{where}: values are nested too deeply to be a scenario") from None
    except ValueError as exc:  # e.g. an integer with more digits than Python will convert
        raise ScenarioError(f"{where}: a value cannot be read: {exc}") from None


def load_scenario(path: str | Path, *, id: str | None = None, trial_build: bool = True) -> LoadedScenario:
    """Read, parse and validate one scenario file; with trial_build, also check it builds."""
    path = Path(path)
    raw = read_toml(path)
    return validate_raw(raw, path=path, id=id or path.stem, trial_build=trial_build)


def validate_raw(
    raw: dict[str, Any], *, path: Path | None, id: str, trial_build: bool = True, text: str | None = None
) -> LoadedScenario:
    where = str(path) if path else id
    try:
        scenario = Scenario.model_validate(raw)
    except ValidationError as exc:
        if text is None and path is not None:
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                text = None
        raise ScenarioError(format_validation_error(exc, where, text)) from None
    loaded = LoadedScenario(scenario=scenario, raw=raw, path=path, id=id)
    if trial_build:
        from gdsim.build import check_buildable

        check_buildable(loaded)
    return loaded


def format_validation_error(exc: ValidationError, where: str, text: str | None = None) -> str:
    """One paragraph: each problem as `key (line N): what was expected`."""
    parts = []
    errors = exc.errors(include_url=False)
    # A table that failed is left out of its list, so a one-entry [[runs]] also reports "too short": noise.
    failed = {tuple(e["loc"][:1]) for e in errors if len(e["loc"]) > 1}
    errors = [e for e in errors if not (e["type"] == "too_short" and tuple(e["loc"]) in failed)] or errors
    for error in errors[:5]:
        loc = [str(p) for p in error["loc"] if not str(p).startswith("function-")]
        explained = _explain(error, loc)
        if not loc and (named := _KEYED.match(explained)):
            # A whole-file check names its key in the message ("predict.shown_by.0: ..."):
            # use that key (and its line) instead of "(top level)".
            loc, explained = named.group(1).split("."), named.group(2)
        key = ".".join(loc) or "(top level)"
        line = _line_of(text, loc) if text else None
        at = f"{key} (line {line})" if line else key
        parts.append(f"{at}: {explained}")
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return f"{where}: " + "; ".join(parts) + more


_KEYED = re.compile(r"^((?:scenario|problem|optimizer|schedule|runs|expect|predict)(?:\.[A-Za-z0-9_]+)*): (.*)$", re.S)


def _explain(error: dict[str, Any], loc: list[str]) -> str:
    kind = error["type"]
    value = error.get("input")
    shown = _short(value)
    if kind == "extra_forbidden":
        valid = _valid_keys(loc[:-1])
        close = difflib.get_close_matches(loc[-1], valid, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        return f"unknown key{hint} (valid keys here: {', '.join(valid)})" if valid else f"unknown key{hint}"
    if kind == "missing":
        return "required key is missing"
    if kind == "finite_number":
        return f"expected a finite number, got {shown}"
    if kind in ("value_error", "assertion_error"):
        message = str(error.get("ctx", {}).get("error", error["msg"]))
        return message
    return f"{error['msg'][0].lower()}{error['msg'][1:]}, got {shown}"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _valid_keys(loc: list[str]) -> list[str]:
    """The keys a table at `loc` accepts, for 'did you mean' hints."""
    from gdsim.scenario import model
    from gdsim.scenario.expect import Expectation
    from gdsim.scenario.condition import Condition
    from gdsim.scenario.predict import Predict

    table = {
        "scenario": model.ScenarioInfo,
        "problem": model.ProblemSpec,
        "optimizer": model.OptimizerSpec,
        "schedule": model.ScheduleSpec,
        "runs": model.RunSpec,
        "changes": model.ChangeSpec,
        "expect": Expectation,
        "predict": Predict,
        "also": Condition,
    }
    if not loc:
        return list(model.Scenario.model_fields)
    name = loc[-1] if not loc[-1].isdigit() else loc[-2] if len(loc) > 1 else ""
    cls = table.get(name)
    return list(cls.model_fields) if cls else []


_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-\" ]+?)\s*\]\]?\s*(#.*)?$")


def _line_of(text: str, loc: list[str]) -> int | None:
    """Best effort: the line where the key at `loc` is written.

    Tables are tracked as dotted paths with array-of-tables entries numbered (`runs.1`,
    `expect.0`), so `runs.1.seed` finds the seed of the second [[runs]]. A key inside an inline
    table (`optimizer = { lr = -1 }`) points at the line of its parent key.
    """
    if not loc:
        return None
    counts: dict[str, int] = {}
    tables: dict[str, int] = {}  # dotted table path -> header line
    keys: dict[str, int] = {}  # dotted key path -> line
    current = ""
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            name = header.group(2).replace('"', "").replace(" ", "")
            if header.group(1) == "[[":
                head, _, rest = name.partition(".")
                if head in counts and rest:  # [[runs.changes]]: numbered within the latest runs entry
                    name = f"{head}.{counts[head]}.{rest}"
                counts[name] = counts.get(name, -1) + 1
                current = f"{name}.{counts[name]}"
            else:
                # [runs.optimizer] after [[runs]] belongs to the latest runs entry
                head, _, rest = name.partition(".")
                current = f"{head}.{counts[head]}.{rest}" if head in counts and rest else name
            tables.setdefault(current, number)
            continue
        match = re.match(r"^\s*([A-Za-z0-9_\-.\"]+?)\s*=", line)  # dotted keys too: optimizer.lr = 0.1
        if match:
            key = match.group(1).replace('"', "")
            path = f"{current}.{key}" if current else key
            keys.setdefault(path, number)
    for depth in range(len(loc), 0, -1):
        path = ".".join(loc[:depth])
        if path in keys:
            return keys[path]
        if path in tables:
            return tables[path]
    return None
