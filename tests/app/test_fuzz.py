"""Robustness: 5,000 random key presses across every screen, and a resize sweep from 40x12 to 200x60."""

from __future__ import annotations

import asyncio
import os
import random

from textual import events

from gdsim.app.screens.picker import PickerScreen
from gdsim.app.screens.scenario import ScenarioScreen
from tests.app.conftest import make_app

# Help (f1, ?) and the palette (ctrl+p) are left out: pushing them within milliseconds of another
# screen loses a screen inside Textual 8.2.8 (it stays on the stack, detached, deaf to keys).
# A person cannot type that fast; test_keys and test_picker_and_palette cover them at human pace.
# Screenshots and exports (ctrl+g, ctrl+e: ~0.5 s each) are left to test_keys, to keep this fast.
KEYS = [
    "space", "full_stop", "n", "r", "plus", "minus", "left", "right", "shift+left", "shift+right",
    "home", "end", "l", "L", "b", "B", "s", "S", "m", "M", "o", "O", "c", "p", "a", "d", "e", "x", "v",
    "1", "2", "3", "4", "t", "escape", "enter", "up", "down", "tab", "shift+tab", "ctrl+s", "backspace", "y", "q", "0", "5", "9", "comma", "minus",
    "pageup", "pagedown", "k", "j", "z",
]
# Each key costs 25-40 ms of Textual layout and our redraw (a theme change ~350 ms), so the suite
# runs 400 keys; `GDSIM_FUZZ_KEYS=5000 pytest tests/app/test_fuzz.py` is the full 5,000-key run
# (about 3 minutes; it passed when this was written).
FUZZ_KEYS = int(os.environ.get("GDSIM_FUZZ_KEYS", "400"))
CHARS = {"space": " ", "full_stop": ".", "plus": "+", "minus": "-", "question_mark": "?", "comma": ","}


async def send_keys(app, keys, gap: float = 0.002) -> None:
    """Send key events `gap` seconds apart, faster than any typist (Pilot.press would wait for
    idle after every key: ~0.1 s each). With no gap at all, Textual itself can lose a screen
    pushed while the previous push is still mounting (f1 then ctrl+p in the same millisecond)."""
    for key in keys:
        char = CHARS.get(key, key if len(key) == 1 else None)
        app._driver.send_message(events.Key(key, char))
        await asyncio.sleep(gap)


async def test_random_keys_end_without_an_exception(in_tmp, monkeypatch):
    monkeypatch.setattr("gdsim.app.screens.scenario_actions.MAX_STEP_N", 200)
    monkeypatch.setattr("gdsim.app.tweaks.ENSEMBLE_SIZE", 12)
    rng = random.Random(20261122)
    app = make_app(None)
    seen = set()
    async with app.run_test(size=(100, 30)) as pilot:
        for batch in range(FUZZ_KEYS // 50):
            await send_keys(app, [rng.choice(KEYS) for _ in range(50)])
            await pilot.pause()
            seen.add(type(app.screen).__name__)
            # Random walks get stuck in dialogs; close them, and open a scenario from the list
            # every other batch, so every screen gets its share of the keys.
            for _ in range(5):
                if isinstance(app.screen, (ScenarioScreen, PickerScreen)):
                    break
                await pilot.press("escape")
            if isinstance(app.screen, ScenarioScreen) and len(app.screen.session.configs) > 40:
                await pilot.press("escape")  # keep runs from multiplying without bound (a and e add runs)
            if isinstance(app.screen, PickerScreen) and batch % 2:
                app.screen.query_one("#picker-filter").value = ""
                await pilot.press("down", "enter")
    assert app.return_code in (None, 0)
    assert {"ScenarioScreen", "PickerScreen", "PromptScreen"} <= seen


async def test_resize_sweep():
    app = make_app("moons")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("space")
        sizes = [(w, h) for w, h in zip(range(40, 201, 8), range(12, 61, 2))]
        for tab in ("1", "2", "4"):
            await pilot.press(tab)
            for width, height in sizes[::6] + [(40, 12), (200, 60), (80, 24)]:
                await pilot.resize_terminal(width, height)
        await pilot.press("escape")
        for width, height in sizes[::7]:
            await pilot.resize_terminal(width, height)
    assert app.return_code in (None, 0)


async def test_random_keys_with_the_engine_worker(monkeypatch):
    """The same storm of run, step, speed and setting keys with stepping in the worker process."""
    monkeypatch.setattr("gdsim.app.runtime.engine_worker.worker_wanted", lambda: True)  # also on a one-core machine
    monkeypatch.setattr("gdsim.app.screens.scenario_actions.MAX_STEP_N", 200)
    monkeypatch.setattr("gdsim.app.tweaks.ENSEMBLE_SIZE", 12)
    rng = random.Random(7)
    keys = ["space", "full_stop", "r", "plus", "minus", "left", "right", "end", "l", "L", "s", "o", "a", "d",
            "e", "x", "down", "up"]
    app = make_app("three_runs")
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen
        await pilot.press("space")  # the first run starts the worker
        for _ in range(100):
            if screen.session.worker is not None and screen.session.worker.ready:
                break
            await pilot.pause(0.05)
        assert screen.session.worker is not None and screen.session.worker.ready
        for _ in range(6):
            await send_keys(app, ["space"] + [rng.choice(keys) for _ in range(30)], gap=0.02)
            await pilot.pause(0.1)
            if len(screen.session.configs) > 30:
                await pilot.press("r")
        assert screen.session.worker.alive
    assert app.return_code in (None, 0)
