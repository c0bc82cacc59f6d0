"""Snapshot tests: the picker and a scenario screen (fixed seeds, 60 steps) at 80x24 and 120x40.

Regenerate after an intended change with `pytest tests/app/test_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

import pytest
from textual.widgets import Input

from tests.app.conftest import make_app


@pytest.fixture(autouse=True)
def no_cursor_blink(monkeypatch):
    """Freeze the input cursor (as harlequin does) so snapshots do not depend on timing."""
    monkeypatch.setattr(Input, "cursor_blink", False)


async def _freeze(pilot) -> None:
    for widget in pilot.app.screen.query(Input):
        widget.cursor_blink = False


async def _sixty_steps(pilot) -> None:
    screen = pilot.app.screen
    screen.session.step(60)
    screen.redraw(force=True)
    await pilot.pause()


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_picker(snap_compare, size):
    assert snap_compare(make_app(None), terminal_size=size, run_before=_freeze)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_scenario_screen(snap_compare, size):
    assert snap_compare(make_app("three_runs"), terminal_size=size, run_before=_sixty_steps)


def test_scenario_map_tab(snap_compare):
    async def map_tab(pilot):
        await _sixty_steps(pilot)
        await pilot.press("2")
        await pilot.pause(0.2)

    assert snap_compare(make_app("three_runs"), terminal_size=(80, 24), run_before=map_tab)


async def _measured(pilot) -> None:
    """Wait for the background verification, so the verdict line does not depend on timing."""
    import asyncio

    screen = pilot.app.screen
    for _ in range(200):
        if screen.verdicts is not None and screen.verdicts.settled:
            break
        await asyncio.sleep(0.05)
    screen.redraw(force=True)
    await pilot.pause()


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
def test_predict_question(snap_compare, size):
    """A scenario with [predict] opens on its question, neutral labels, the explanation hidden."""
    assert snap_compare(make_app("s2/predict"), terminal_size=size, run_before=_measured)


def test_predict_reveal(snap_compare):
    async def answered_and_run(pilot):
        await pilot.press("3")
        await _measured(pilot)
        await _sixty_steps(pilot)
        await pilot.pause(0.2)

    assert snap_compare(make_app("s2/predict"), terminal_size=(80, 24), run_before=answered_and_run)
