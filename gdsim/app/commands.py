"""The command palette (ctrl+p): gdsim's own commands, by name, beside Textual's system commands."""

from __future__ import annotations

import sys
from functools import partial
from typing import Callable

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.markup import escape

from gdsim.scenario.library import served


def scenario_commands(screen) -> list[tuple[str, Callable, str]]:
    """(name, callback, help) for the actions of an open scenario screen."""
    from gdsim.app.tweaks import OPTIMIZER_CYCLE, SCHEDULE_CYCLE  # the engine: loaded with a scenario

    commands = [
        ("Run / pause", screen.action_toggle_run, "space"),
        ("Step once", screen.action_step, "."),
        ("Step N times", screen.action_step_n, "n"),
        ("Reset", screen.action_reset, "r: start the runs again from step 0"),
        ("Faster", partial(screen.action_speed, 1), "+"),
        ("Slower", partial(screen.action_speed, -1), "-"),
        ("Rewind one record", partial(screen.action_scrub, -1), "left"),
        ("Back to the live step", screen.action_live, "end"),
        ("Learning rate up", partial(screen.action_lr, 1), "l"),
        ("Learning rate down", partial(screen.action_lr, -1), "L"),
        ("Batch size up", partial(screen.action_batch, 1), "b"),
        ("Batch size down", partial(screen.action_batch, -1), "B"),
        ("Next seed", partial(screen.action_seed, 1), "s"),
        ("Momentum: next value", partial(screen.action_momentum, 1), "m"),
        ("Schedule: next", screen.action_schedule, "c"),
        ("Start point", screen.action_start_point, "p"),
        ("Add a run (next seed)", screen.action_add_run, "a"),
        ("Remove the selected run", screen.action_remove_run, "d"),
        ("Ensemble on/off (200 seeds)", screen.action_ensemble, "e"),
        ("Show the maths", screen.action_maths, "x"),
        ("Sweep the learning rate", partial(screen.action_sweep, "lr"), "W: final loss of ~200 lrs, one cohort"),
        ("Sweep lr × momentum", partial(screen.action_sweep, "grid"), "G: a heat map, theory on quadratics"),
        ("Velocity: norm / components", screen.action_velocity_view, "v"),
        ("Save scenario" + (" (copy TOML)" if served() else ""), screen.action_save, "ctrl+s"),
        ("Export runs" + (" (copy CSV)" if served() else " (CSV / JSONL)"), screen.action_export, "ctrl+e"),
        ("Back to the scenario list", screen.action_back, "escape"),
    ]
    if not served():
        commands.append(("Screenshot (SVG)", screen.action_screenshot, "ctrl+g"))
    for name in OPTIMIZER_CYCLE:
        commands.append((f"Optimizer: {name}", partial(screen.set_optimizer, name), "for the selected run"))
    for name in SCHEDULE_CYCLE:
        commands.append((f"Schedule: {name}", partial(screen.set_schedule, name), "for the selected run"))
    return commands


class GdsimCommands(Provider):
    """Open any listed scenario; on a scenario screen, every action of its keys."""

    def _commands(self) -> list[tuple[str, Callable, str]]:
        from gdsim.app.screens.picker import scan

        app = self.app
        commands: list[tuple[str, Callable, str]] = []
        screen = self.screen
        # Not imported here: from the picker that would load NumPy and the engine for nothing, and
        # if the module is not loaded yet, no scenario screen exists.
        scenario_screens = sys.modules.get("gdsim.app.screens.scenario")
        if scenario_screens is not None and isinstance(screen, scenario_screens.ScenarioScreen):
            commands.extend(scenario_commands(screen))
        for listing in scan():
            if not listing.broken:
                commands.append((f"Open scenario: {listing.title}", partial(app.open_path, listing.path, listing.id),
                                 listing.claim))
        commands.append(("Next theme", app.action_next_theme, "t: cycles dark, light and monochrome"))
        commands.append(("Help: list every key", app.action_help, "? or f1"))
        return commands

    async def discover(self) -> Hits:
        for name, callback, help_text in self._commands():
            yield DiscoveryHit(escape(name), callback, text=name, help=escape(help_text))

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, callback, help_text in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(escape(name)), callback, text=name, help=escape(help_text))
