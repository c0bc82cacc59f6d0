"""The built-in scenario library: where it lives (source tree or wheel) and how a name resolves."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from gdsim.errors import UserError


def builtin_dir() -> Path:
    """The built-in scenarios: inside the installed wheel, or the repo's scenarios/ when run from source."""
    packaged = Path(__file__).resolve().parent.parent / "scenarios"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent.parent / "scenarios"


def served() -> bool:
    """True when the app runs for a participant of `gdsim serve`: no files written, no arbitrary paths."""
    return os.environ.get("GDSIM_SERVED") == "1"


def scenario_dirs() -> list[Path]:
    """Directories whose scenarios are listed: the built-ins, plus GDSIM_SCENARIO_DIR if set."""
    dirs = [builtin_dir()]
    extra = os.environ.get("GDSIM_SCENARIO_DIR")
    if extra:
        dirs.append(Path(extra))
    return dirs


@dataclass(frozen=True)
class Entry:
    id: str
    path: Path
    builtin: bool


def list_entries() -> list[Entry]:
    """Every listed scenario file, built-ins first, ids unique (an earlier directory wins)."""
    seen: set[str] = set()
    entries = []
    for index, directory in enumerate(scenario_dirs()):
        if not directory.is_dir():
            continue
        for path in sorted(directory.glob("*.toml")):
            if path.stem not in seen:
                seen.add(path.stem)
                entries.append(Entry(path.stem, path, builtin=index == 0))
    return entries


def is_builtin(path: Path) -> bool:
    try:
        return path.resolve().parent == builtin_dir().resolve()
    except OSError:
        return False


def resolve(name: str) -> Path:
    """A path to a scenario file from a built-in id or a file path (paths refused when served)."""
    for entry in list_entries():
        if entry.id == name:
            return entry.path
    looks_like_path = name.endswith(".toml") or os.sep in name or "/" in name
    if served():
        raise UserError(f"{name!r}: no such scenario; choose one from the list")
    path = Path(name)
    if path.exists() or looks_like_path:
        if not path.exists():
            raise UserError(f"{name}: no such file")
        return path
    ids = ", ".join(e.id for e in list_entries()) or "(none found)"
    raise UserError(f"{name!r}: no built-in scenario of that id and no such file; built-in ids: {ids}")
