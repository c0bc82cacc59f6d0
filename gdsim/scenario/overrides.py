"""`--set KEY=VALUE` overrides: a NEW scenario from a dotted key and a TOML value; files never change."""

from __future__ import annotations

import copy
import tomllib
from typing import Any

from gdsim.scenario.load import LoadedScenario, ScenarioError, validate_raw
from gdsim.words import plural


def parse_assignment(text: str) -> tuple[list[str], Any]:
    """'optimizer.lr=0.5' -> (['optimizer', 'lr'], 0.5). Values are TOML; a bare word is a string."""
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ScenarioError(f"--set {text!r}: expected KEY=VALUE, e.g. --set optimizer.lr=0.1")
    parts = key.split(".")
    if any(not p for p in parts):
        raise ScenarioError(f"--set {text!r}: the key {key!r} has an empty part")
    return parts, parse_value(value.strip(), key)


def parse_value(value: str, key: str) -> Any:
    try:
        return tomllib.loads(f"v = {value}")["v"]
    except (tomllib.TOMLDecodeError, ValueError, RecursionError):
        if value and all(c.isalnum() or c in "_-. " for c in value):
            return value  # a bare word such as rosenbrock or adam
        raise ScenarioError(
            f"--set {key}={value}: the value is not TOML (quote strings: {key}=\"text\")"
        ) from None


def set_key(raw: dict[str, Any], parts: list[str], value: Any) -> dict[str, Any]:
    """A deep copy of raw with parts set to value; runs.N addresses the N-th [[runs]] (0-based)."""
    new = copy.deepcopy(raw)
    node: Any = new
    for depth, part in enumerate(parts[:-1]):
        dotted = ".".join(parts[: depth + 1])
        if isinstance(node, list):
            node = node[_index(part, node, dotted)]
            continue
        if part not in node:
            node[part] = [{}] if part == "runs" and parts[depth + 1].isdigit() and parts[depth + 1] == "0" else {}
        node = node[part]
        if not isinstance(node, (dict, list)):
            raise ScenarioError(f"--set {'.'.join(parts)}: {dotted} is a value, not a table")
    last = parts[-1]
    if isinstance(node, list):
        node[_index(last, node, ".".join(parts))] = value
    else:
        node[last] = value
    return new


def _index(part: str, items: list, dotted: str) -> int:
    if not part.isdigit():
        raise ScenarioError(f"--set {dotted}: expected a run number (0-based), got {part!r}")
    index = int(part)
    if index == len(items):  # one past the end adds a run
        items.append({})
    if index > len(items):
        raise ScenarioError(f"--set {dotted}: there {'is' if len(items) == 1 else 'are'} {plural(len(items), 'run')} "
                            f"(0 to {len(items) - 1})")
    return index


def with_overrides(loaded: LoadedScenario, assignments: list[str]) -> LoadedScenario:
    """A new validated scenario with each `KEY=VALUE` applied in order."""
    raw = loaded.raw
    for text in assignments:
        parts, value = parse_assignment(text)
        raw = set_key(raw, parts, value)
    if raw is loaded.raw:
        return loaded
    try:
        return validate_raw(raw, path=loaded.path, id=loaded.id)
    except ScenarioError as exc:
        raise ScenarioError(f"{exc} (after --set {' '.join(assignments)})") from None
