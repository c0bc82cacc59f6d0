"""Fixtures for the app tests: a fixed scenario library (tests/app/data), no served mode, no NO_COLOR."""

from __future__ import annotations

from pathlib import Path

import pytest

from gdsim.scenario.library import Entry

DATA = Path(__file__).parent / "data"


@pytest.fixture(autouse=True)
def fixed_library(monkeypatch):
    """The picker and the palette list the fixture scenarios, whatever the built-in library holds."""
    entries = [Entry(p.stem, p, builtin=False) for p in sorted(DATA.glob("*.toml"))]
    monkeypatch.setattr("gdsim.app.screens.picker.list_entries", lambda: entries)
    monkeypatch.delenv("GDSIM_SERVED", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    # Pilot tests step in the UI process; tests/app/test_engine_worker.py covers the worker.
    monkeypatch.setenv("GDSIM_ENGINE_WORKER", "0")
    return entries


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    """Run in an empty folder, so files the app writes land there."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def make_app(name: str | None = "three_runs"):
    from gdsim.app.app import GdsimApp
    from gdsim.scenario.load import load_scenario

    return GdsimApp(load_scenario(DATA / f"{name}.toml") if name else None)


def said(app) -> list[str]:
    """Every message the app showed, oldest first: its toasts, the status-line messages of its
    scenario screens (where notifications go: ScenarioActions.status_notice, "title: message") and
    the list's (in its hint line: PickerScreen.status_notice)."""
    from gdsim.app.widgets.status_line import StatusLine

    out = [str(n.message) for n in app._notifications]
    for screen in app.screen_stack:
        out.extend(getattr(screen, "said", ()))
        for line in screen.query(StatusLine):
            out.extend(line.said)
    return out


def bowl(runs: str, *, title: str = "A bowl", claim: str = "c", steps: int = 200, lesson: str | None = None) -> str:
    """A scenario file's text: plain SGD on the quadratic bowl of condition 10, with `runs` (its
    [[runs]] tables: run() makes them)."""
    lesson_line = f'lesson = "{lesson}"\n' if lesson is not None else ""
    return (f'[scenario]\ntitle = "{title}"\nclaim = "{claim}"\n{lesson_line}steps = {steps}\n\n'
            '[problem]\nsurface = "quadratic"\ncondition = 10\n\n[optimizer]\nname = "sgd"\n' + runs)


def run(label: str, lr: float, more: str = "") -> str:
    """One [[runs]] table for bowl(): from (-2.5, 1.5) at learning rate `lr`; `more`: further lines."""
    return f'\n[[runs]]\nlabel = "{label}"\nstart = [-2.5, 1.5]\noptimizer = {{ lr = {lr} }}\n{more}'

