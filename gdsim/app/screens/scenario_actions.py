"""The scenario screen's actions: stepping, rewinding, changing a run's settings, saving and exporting.

A mixin so the screen module keeps to layout and the redraw loop. Every action changes the Session
and bumps its version; the screen redraws on its next tick (or at once, for key-press latency).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Callable

from gdsim.app import export, tweaks
from gdsim.app.branches import Tweak
from gdsim.app.screens.prompt import ConfirmScreen, PromptScreen
from gdsim.app.text import clean
from gdsim.app.widgets.run_table import RunTable
from gdsim.errors import UserError
from gdsim.fileio import check_writable, write_text_atomic
from gdsim.scenario.library import is_builtin, served
from gdsim.scenario.load import ScenarioError

MAX_STEP_N = 1_000_000


class ScenarioActions:
    """Mixed into ScenarioScreen (which provides session, redraw, notify, app, query_one)."""

    # -- running -------------------------------------------------------------------------------
    def action_toggle_run(self) -> None:
        self.session.toggle()
        if self.session.running:
            self.start_worker()  # it boots while the run starts here; flat out then steps there
        self._after()

    def action_step(self) -> None:
        self.session.running = False
        self.session.step(1)
        self._after()

    def action_step_n(self) -> None:
        def done(answer: str | None) -> None:
            if answer is None:
                return
            try:
                n = int(float(answer.strip().replace(",", "").replace("_", "")))
            except (ValueError, OverflowError):
                self.notify(f"step N: expected a whole number, got {clean(answer)!r}", severity="error", markup=False)
                return
            if not 1 <= n <= MAX_STEP_N:
                self.notify(f"step N: expected 1 to {MAX_STEP_N:,}", severity="error", markup=False)
                return
            self.session.running = False
            taken = self.session.step(n)
            if taken < n and not self.session.sim.all_frozen:
                self.notify(f"took {taken:,} of {n:,} steps (stopped after 2 s so keys keep working)", markup=False)
            self._after()

        self.app.push_screen(PromptScreen("Step how many times?", "100", "a whole number, e.g. 100"), done)

    def action_reset(self) -> None:
        from gdsim.app.widgets.status_line import StatusLine

        running = self.session.running
        self.session.reset()
        self.session.running = running
        self.session.events.clear()
        self.query_one(StatusLine).clear()  # "diverged... press r" and the like no longer hold
        self._after()

    def action_speed(self, delta: int) -> None:
        self.session.change_speed(delta)
        self._after()

    # -- rewinding -----------------------------------------------------------------------------
    def action_scrub(self, delta: int) -> None:
        self.session.scrub(delta)
        self._after()

    def action_scrub_far(self, fraction: float) -> None:
        self.session.scrub_fraction(fraction)
        self._after()

    def action_scrub_to_start(self) -> None:
        self.session.scrub_to(0)
        self._after()

    def action_live(self) -> None:
        self.session.scrub_to(None)
        self._after()

    # -- changing the selected run -------------------------------------------------------------
    def change(self, tweak: Callable, *args) -> bool:
        """Apply a tweak (gdsim.app.tweaks), rebuild and keep running if it was; False on error."""
        running = self.session.running
        try:
            result = tweak(self.session, *args)
            loaded, message = result[0], result[1]
            if isinstance(result, Tweak):
                self.session.rebuild(loaded, result.replay, result.select_entry)
            else:
                self.session.rebuild(loaded)
        except (ScenarioError, UserError, ValueError) as exc:
            self.notify(clean(str(exc)), title="not changed", severity="error", markup=False)
            return False
        self.session.running = running
        self._arrange_plots()
        self._apply_layout()
        if isinstance(result, Tweak) and result.replay:  # what carried over: longer than the status line
            self.notify(clean(message), title="continued" if result.select_entry is None else "branched",
                        markup=False, timeout=8)
        else:
            self.say(message)
        self._after()
        return True

    def action_lr(self, direction: int) -> None:
        self.change(tweaks.learning_rate, direction)

    def action_batch(self, direction: int) -> None:
        self.change(tweaks.batch_size, direction)

    def action_seed(self, direction: int) -> None:
        self.change(tweaks.seed, direction)

    def action_momentum(self, direction: int) -> None:
        self.change(tweaks.momentum, direction)

    def action_optimizer(self, direction: int) -> None:
        self.change(tweaks.optimizer, None, direction)

    def set_optimizer(self, name: str) -> None:
        self.change(tweaks.optimizer, name)

    def action_schedule(self) -> None:
        self.change(tweaks.schedule)

    def set_schedule(self, name: str) -> None:
        self.change(tweaks.schedule, name)

    def action_add_run(self) -> None:
        if self.change(tweaks.add_run):
            self.session.select(len(self.session.display) - 1)
            self.redraw()

    def action_remove_run(self) -> None:
        self.change(tweaks.remove_run)

    def action_ensemble(self) -> None:
        self.change(tweaks.ensemble)

    def action_start_point(self) -> None:
        def done(answer: str | None) -> None:
            if answer is None:
                return
            try:
                point = tuple(float(v) for v in answer.replace(",", " ").split())
                if len(point) != 2 or not all(math.isfinite(v) for v in point):
                    raise ValueError
            except ValueError:
                self.notify(f"start point: expected two numbers like 1.5, -2; got {clean(answer)!r}",
                            severity="error", markup=False)
                return
            self.change(tweaks.start_point, point)

        cohort, index = self.session.cohort_of(int(self.session.current.rows[0]))
        if cohort.problem.n_params != 2:
            self.notify("a start point can be set on 2-D surfaces only", severity="warning", markup=False)
            return
        x, y = cohort.params[index] if self.session.sim.step_count == 0 else self._start_of(index, cohort)
        self.app.push_screen(PromptScreen(f"Start point of {self.session.current.label} (x, y)",
                                          f"{x:g}, {y:g}", "two numbers"), done)

    def _start_of(self, index: int, cohort):
        history = self.session.sim.history
        row = int(self.session.current.rows[0])
        if history is not None and "params" in history.fields:
            return history.series("params")[1][0, row]
        return cohort.params[index]

    def on_run_table_selected(self, event: RunTable.Selected) -> None:
        self.session.select(event.index)
        self.redraw()

    # -- views ---------------------------------------------------------------------------------
    def action_maths(self) -> None:
        from textual.widgets import TabbedContent

        tabs = self.query_one("#tabs", TabbedContent)
        tabs.active = "tab-plots" if tabs.active == "tab-maths" else "tab-maths"
        self.redraw(force=True)

    def action_velocity_view(self) -> None:
        if not self.session.sim.small:
            self.notify("velocity components are shown for 2-D surfaces", markup=False)
            return
        self.velocity_parts = not self.velocity_parts
        self.redraw(force=True)

    def action_back(self) -> None:
        if self.app.screen is not self:  # a queued second escape must not pop the picker too
            return
        if self.leave_full_screen():  # escape first leaves the presenter's full screen
            return
        if not self.session.modified:
            self.session.running = False
            self.app.show_picker()
            return

        def answered(leave: bool | None) -> None:
            if leave and self.app.screen is self:
                self.session.running = False
                self.app.show_picker()

        self.app.push_screen(ConfirmScreen(
            "You changed this scenario (the file is untouched). Leave and discard the changes?",
            hint="y / enter: leave and discard · n / escape: stay (ctrl+s saves them as a new file)"), answered)

    # -- files ---------------------------------------------------------------------------------
    def action_save(self) -> None:
        text = export.scenario_toml(self.session.loaded.raw, _file_text(self.session.original.path))
        if served():
            self.app.copy_to_clipboard(text)
            self.notify("scenario TOML copied to your clipboard (files are not written in served mode)", markup=False)
            return
        self._ask_path("Save the changed scenario as", f"{self.session.loaded.id}-changed.toml", text, scenario=True)

    def action_export(self) -> None:
        if served():
            self.app.copy_to_clipboard(export.history_csv(self.session))
            self.notify("run histories (CSV) copied to your clipboard", markup=False)
            return

        def write(path: Path) -> str:
            return export.history_jsonl(self.session) if path.suffix == ".jsonl" else export.history_csv(self.session)

        self._ask_path("Export the runs' histories to (.csv or .jsonl)", f"{self.session.loaded.id}-runs.csv", write)

    def action_screenshot(self) -> None:
        if served():
            self.notify("screenshots are not saved in served mode; use your terminal's own", markup=False)
            return
        svg = export.screenshot_svg(self.app.export_screenshot())
        base = f"{self.session.loaded.id}-step{self.session.sim.step_count}"
        for n in range(1000):
            path = Path(f"{base}{'' if n == 0 else f'-{n}'}.svg")
            if not path.exists():
                break
        try:
            write_text_atomic(path, svg)
        except (UserError, OSError) as exc:
            self.notify(clean(str(exc)), severity="error", markup=False)
            return
        self.notify(f"screenshot saved to {path}", markup=False)

    def _ask_path(self, question: str, default: str, content, *, scenario: bool = False) -> None:
        def chosen(answer: str | None) -> None:
            if not answer or not answer.strip():
                return
            path = Path(answer.strip()).expanduser()
            if scenario and path.suffix != ".toml":
                path = path.with_suffix(path.suffix + ".toml") if path.suffix else path.with_suffix(".toml")
            if scenario and is_builtin(path):
                self.notify(f"{path}: is a built-in scenario; choose another name", severity="error", markup=False)
                return
            if path.exists():
                if path.is_dir():
                    self.notify(f"{path}: is a folder; give a file name", severity="error", markup=False)
                    return
                self.app.push_screen(ConfirmScreen(f"{path} exists. Overwrite it?"),
                                     lambda yes: self._write(path, content, True) if yes else None)
                return
            self._write(path, content, False)

        self.app.push_screen(PromptScreen(question, default, "a file name"), chosen)

    def _write(self, path: Path, content, overwrite: bool) -> None:
        text = content(path) if callable(content) else content
        try:
            check_writable(path, overwrite=overwrite)
            write_text_atomic(path, text, overwrite=overwrite)
        except (UserError, OSError) as exc:
            self.notify(clean(str(exc)), severity="error", markup=False)
            return
        self.notify(f"written: {path}", markup=False)

    def say(self, message: str, seconds: float | None = None) -> None:
        from gdsim.app.widgets.status_line import StatusLine

        seconds = StatusLine.SAY_SECONDS if seconds is None else seconds
        self.query_one(StatusLine).say(message, seconds)
        self._drawn = None  # the status line must be redrawn even if nothing else changed
        self.set_timer(seconds + 0.1, self._title_back)

    def status_notice(self, message: str, title: str, severity: str, timeout: float) -> bool:
        """Show a notification in the status line instead of a toast: a toast sits at the bottom
        right, over the run table's right-hand columns (the state words and the key readings a
        lesson is about) for seconds, at 80x24 and at 120x40 beside the lesson alike. The status
        line takes a second and third line for a long message, so it is never cut to nothing.
        False: this screen is not the one shown (a dialog over it shows a toast)."""
        from gdsim.app.widgets.status_line import StatusLine

        if not self.is_current or not self.is_mounted or not self.query(StatusLine):
            return False  # e.g. a scene opening: its widgets are not there yet
        icon = {"error": "✖ ", "warning": "▲ "}.get(severity, "")
        self.say(f"{icon}{title}: {message}" if title else f"{icon}{message}", timeout)
        self._after()
        return True

    def clear_messages(self) -> None:
        """Forget the status line's message now (App.clear_notifications)."""
        from gdsim.app.widgets.status_line import StatusLine

        self.query_one(StatusLine).clear()
        self._title_back()

    def _title_back(self) -> None:
        """The said message has expired: show the title again (the tick may be paused)."""
        self._drawn = None
        self.redraw()

    def _after(self) -> None:
        """Redraw soon: once after a burst of queued key presses, not once per key."""
        self._flush_events()
        self._sync_ticks()
        if not self._redraw_pending:
            self._redraw_pending = True
            self.call_later(self._redraw_now)

    def _redraw_now(self) -> None:
        self._redraw_pending = False
        self.redraw()


def _file_text(path: Path | None) -> str | None:
    """The scenario file as it is now (its comments and layout are kept by ctrl+s), or None."""
    try:
        return None if path is None else path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
