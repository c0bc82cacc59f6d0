"""Pilot tests: the picker, the command palette, served mode and inert scenario strings."""

from __future__ import annotations

from textual.widgets import Input, OptionList, Static

from gdsim.app.commands import scenario_commands
from gdsim.app.screens.picker import PickerScreen
from gdsim.app.screens.scenario import ScenarioScreen
from gdsim.app.widgets.status_line import StatusLine
from tests.app.conftest import make_app

SIZE = (120, 40)


def screen_text(app) -> str:
    """Everything on screen as plain text (what a user reads)."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_update(full=True).strips) \
        if hasattr(app.screen._compositor.render_update(full=True), "strips") else app.export_screenshot()


async def test_picker_lists_filters_and_opens():
    app = make_app(None)
    async with app.run_test(size=SIZE) as pilot:
        assert isinstance(app.screen, PickerScreen)
        assert "Pick a scenario" in str(app.screen.query_one("#picker-title", Static).render())
        options = app.screen.query_one("#picker-list", OptionList)
        assert options.option_count == 4
        await pilot.press(*"moons")
        assert options.option_count == 1
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ScenarioScreen)
        assert app.screen.session.loaded.id == "moons"
        await pilot.press("escape")
        assert isinstance(app.screen, PickerScreen)
        await pilot.press("escape")
        assert app.screen.query_one("#picker-filter", Input).value == ""
        await pilot.press("down", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ScenarioScreen)


async def test_filter_with_no_match_then_enter_does_nothing():
    app = make_app(None)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"zzzz", "enter")
        assert isinstance(app.screen, PickerScreen)


async def test_palette_changes_the_optimizer():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p")
        await pilot.press(*"Optimizer: adamw")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ScenarioScreen)
        assert app.screen.session.configs[0].optimizer["name"] == "adamw"


async def test_palette_opens_a_scenario():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p")
        await pilot.press(*"Open scenario: A small network")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen.session.loaded.id == "moons"


async def test_every_palette_command_runs(in_tmp):
    """Each scenario command runs without error (prompts are dismissed, the screen survives)."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        names = []
        for name, callback, _ in scenario_commands(screen):
            if name.startswith("Back"):
                continue
            callback()
            await pilot.pause()
            while app.screen is not screen:
                await pilot.press("escape")
            names.append(name)
        assert len(names) > 30
        session = screen.session
        current = session.configs[int(session.current.rows[0])]
        assert current.schedule["name"] == "plateau"  # the last command run


async def test_served_mode_writes_nothing(in_tmp, monkeypatch):
    monkeypatch.setenv("GDSIM_SERVED", "1")
    copied = []
    app = make_app()
    monkeypatch.setattr(app, "copy_to_clipboard", copied.append)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+s", "ctrl+e", "ctrl+g")
        await pilot.pause()
        assert isinstance(app.screen, ScenarioScreen)
        assert list(in_tmp.iterdir()) == []
        assert len(copied) == 2
        assert copied[0].startswith("[scenario]")
        assert copied[1].startswith("run,seed,step")
        commands = [name for name, _, _ in scenario_commands(app.screen)]
        assert not any("Screenshot" in name for name in commands)
        system = [c.title for c in app.get_system_commands(app.screen)]
        assert not any("screenshot" in t.lower() for t in system)


async def test_scenario_strings_are_inert():
    app = make_app("hostile")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        status = str(app.screen.query_one(StatusLine).render())
        assert "[bold red]Markup[/]" in status
        svg = app.export_screenshot()
        assert "\x1b" not in svg and "\x07" not in svg
        assert "[bold red]Markup[/]" in svg.replace("&#160;", " ")
        assert "[red]A[/red]" in svg.replace("&#160;", " ")


async def test_no_color_uses_the_monochrome_theme(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("space")
        await pilot.pause(0.2)
        assert app.mono and app.theme == "gdsim-mono"


async def test_served_picker_cursor_does_not_blink(monkeypatch):
    """Served, the filter box's cursor does not blink: a blink repaints the screen twice a second
    for every participant who sits at the list."""
    for served, blinks in (("1", False), (None, True)):
        if served:
            monkeypatch.setenv("GDSIM_SERVED", served)
        else:
            monkeypatch.delenv("GDSIM_SERVED", raising=False)
        app = make_app(None)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            assert isinstance(app.screen, PickerScreen)
            assert app.screen.query_one("#picker-filter", Input).cursor_blink is blinks
