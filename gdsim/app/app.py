"""The gdsim app: the Textual App, its themes and screens, and `run`, the entry point of `gdsim`.

Screens are imported when first opened: `gdsim SCENARIO` never loads the picker, and `gdsim`
alone loads neither NumPy nor the engine until a scenario is opened (tests/test_startup_imports.py).
"""

from __future__ import annotations

import gc
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from textual import events
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.command import CommandList, CommandPalette, Provider
from textual.content import Content
from textual.notifications import SeverityLevel
from textual.screen import ModalScreen, Screen
from textual.theme import BUILTIN_THEMES, Theme

from gdsim.app.messages import OpenScenario
from gdsim.app.room_keys import RoomKeys
from gdsim.app.draw.contrast import with_readable_text
from gdsim.app.draw.palette import MONO_THEME
from gdsim.app.text import clean
from gdsim.errors import INTERNAL_EXIT, MEMORY_EXIT, UserError, memory_message, ran_out_of_memory, report_internal_error
from gdsim.scenario.library import resolve, served
from gdsim.scenario.load import LoadedScenario, load_scenario

if TYPE_CHECKING:
    from gdsim.app.runtime.session import Session

THEMES = ("textual-dark", "textual-light", MONO_THEME, "nord", "gruvbox")

MONO = Theme(
    name=MONO_THEME,
    primary="#ffffff",
    secondary="#c0c0c0",
    accent="#ffffff",
    foreground="#ffffff",
    background="#000000",
    surface="#000000",
    panel="#303030",
    warning="#ffffff",
    error="#ffffff",
    success="#ffffff",
    dark=True,
)


class SafeCommandPalette(CommandPalette):
    """Textual's palette, minus three races found by the key fuzz test: a second queued enter or
    escape dismissed it twice (popping the screen beneath it), a search finishing after it closed
    toggled the list of a palette whose widgets were gone (NoMatches), and page keys pressed
    before the list was laid out raised KeyError."""

    def dismiss(self, result=None):
        if self.app.screen is not self:
            return None  # already dismissed: never pop somebody else's screen
        return super().dismiss(result)

    def _watch__list_visible(self) -> None:
        if self.is_attached and self.query(CommandList):
            super()._watch__list_visible()

    def _action_command_list(self, action: str) -> None:
        # page up/down before the list has been laid out looks up lines not yet computed
        # (OptionList._page raises KeyError); ignore the key then, as an empty list would.
        try:
            super()._action_command_list(action)
        except KeyError:
            pass


def collect_garbage_again() -> None:
    """Turn the garbage collector back on once the first screen is up, if gdsim.cli turned it off
    for the start (see run: what the imports made is frozen out of its sight)."""
    if not gc.isenabled():
        gc.enable()


def _freeze_imports() -> None:
    """While the collector is off for the start: set aside what the imports made (modules,
    classes, functions: they live as long as the process), so no later collection scans them.
    The scenario, its screen and widgets are made after this, and are collected as usual."""
    if not gc.isenabled():
        gc.freeze()


def gdsim_commands() -> type[Provider]:
    """The palette's gdsim provider, imported when the palette first opens."""
    from gdsim.app.commands import GdsimCommands

    return GdsimCommands


class GdsimApp(RoomKeys, App):
    """Pick a scenario, then watch and change its runs."""

    CSS_PATH = "gdsim.tcss"
    TITLE = "gdsim"
    COMMANDS = App.COMMANDS | {gdsim_commands}
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", priority=True),
        Binding("f1", "help", "Help", show=False),
    ]

    def __init__(self, initial: LoadedScenario | Session | None = None):
        """`initial`: the scenario to open first (a Session already built by `run`, or a loaded
        scenario); None opens the list."""
        super().__init__()
        self.initial = initial
        self.register_theme(MONO)
        for name in THEMES:  # the same themes, with state words that read at WCAG AA (draw/contrast.py)
            if name in BUILTIN_THEMES:
                self.register_theme(with_readable_text(BUILTIN_THEMES[name]))
        if self.no_color:
            self.theme = MONO_THEME

    def get_theme_variable_defaults(self) -> dict[str, str]:
        """$text-quiet (gdsim.tcss: inactive tabs, the status line's quieter words) for whatever
        theme is current, ours or another the command palette offers."""
        return {**super().get_theme_variable_defaults(),
                "text-quiet": with_readable_text(self.current_theme).variables["text-quiet"]}

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = True) -> None:
        """A toast, or on the scenario screen a message in its status line (ScenarioActions.status_notice),
        on the list in its hint line (PickerScreen.status_notice)."""
        if threading.get_ident() == self._thread_id and self._screen_stack:
            notice = getattr(self.screen, "status_notice", None)
            if notice is not None:
                text = Content.from_markup(message).plain if markup else message
                if notice(clean(text, keep_newlines=False), clean(title, keep_newlines=False), severity,
                          self.NOTIFICATION_TIMEOUT if timeout is None else timeout):
                    return
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def clear_notifications(self) -> None:
        """The toasts, and the messages in the scenario screens' status lines."""
        super().clear_notifications()
        for screen in self.screen_stack:
            clear = getattr(screen, "clear_messages", None)
            if clear is not None:
                clear()

    def open_url(self, url: str, *, new_tab: bool = True) -> None:
        """Never open a link. Textual would start a web browser, and with no display a console one
        (w3m, lynx) on the learner's terminal, as the presenter's user when served: a link in a
        scenario file must not start a program. The URL is shown instead, to copy by hand."""
        self.notify(clean(url, keep_newlines=False), title="link (not opened)", markup=False, timeout=8)

    def _handle_exception(self, error: Exception) -> None:
        """Out of memory (a served session's limit, usually): one line and exit status MEMORY_EXIT,
        never Textual's traceback with its paths and local variables. Any other error in a served
        session: the traceback goes to the presenter's server log (report_internal_error), the
        participant gets the server's one line for exit status INTERNAL_EXIT."""
        if not ran_out_of_memory(error) and served():
            report_internal_error(error)
            self._end_after(error, INTERNAL_EXIT)
            return
        if not ran_out_of_memory(error):
            try:
                super()._handle_exception(error)  # renders a traceback, which needs memory too
                return
            except Exception as failure:  # noqa: BLE001
                if not ran_out_of_memory(failure):
                    raise
                error = failure
        if not served():  # served: the server tells the participant, once
            self._exit_renderables.append(f"gdsim: {memory_message(False)}")
        self._end_after(error, MEMORY_EXIT)

    def _end_after(self, error: Exception, status: int) -> None:
        """Exit with `status`, showing nothing more (no traceback)."""
        self._return_code = status
        if self._exception is None:  # a test's pilot re-raises it
            self._exception = error
            self._exception_event.set()
        self._close_messages_no_wait()

    @property
    def mono(self) -> bool:
        """Draw without colour: the monochrome theme, or NO_COLOR set."""
        return self.no_color or self.theme == MONO_THEME

    def on_resize(self, event: events.Resize) -> None:
        """Drop a resize to the size the app already has, when no resize is pending.

        Textual keeps such an event (the driver reports the start-up size a second time) and
        sends it to the screen once the app is idle, where it lays out and renders the whole
        screen again: measured, about 0.1 s of the scenario screen's start, for an identical frame.
        """
        if self._size is not None and event.size == self._size and self._resize_timer is None:
            event.prevent_default()  # App._on_resize would keep it and send it on when idle
            event.stop()

    async def _ready(self) -> None:
        """Open the first screen as Textual finishes starting (its hook run before any message).

        Not in on_mount: a screen pushed there is laid out and rendered inside Textual's start-up
        batch, which throws that frame away (a full render: ~30 ms of the scenario screen's first
        frame, ~70 ms of the list's, measured in a terminal). Pushed here, the screen is current at
        once (for a test's pilot, or keys sent at once), and mounts after the batch has ended.
        """
        await super()._ready()
        # With a scenario given, the list is built only when the user goes back to it (escape).
        if self.initial is None or not self.open_loaded(self.initial):
            from gdsim.app.screens.picker import PickerScreen

            self.push_screen(PickerScreen())
        self.start_room()

    # -- opening scenarios ---------------------------------------------------------------------
    def on_open_scenario(self, message: OpenScenario) -> None:
        self.open_path(message.path, message.id)

    def open_path(self, path: Path, id: str) -> bool:
        try:
            loaded = load_scenario(path, id=id)
        except UserError as exc:
            self.notify(clean(str(exc)), title="cannot open", severity="error", markup=False, timeout=10)
            return False
        return self.open_loaded(loaded)

    def open_loaded(self, loaded: LoadedScenario | Session) -> bool:
        from gdsim.app.screens.scenario import ScenarioScreen
        from gdsim.app.runtime.session import Session

        if isinstance(loaded, Session):
            session = loaded
        else:
            try:
                session = Session(loaded)
            except UserError as exc:
                self.notify(clean(str(exc)), title="cannot open", severity="error", markup=False, timeout=10)
                return False
        while isinstance(self.screen, ModalScreen):  # e.g. opened from the palette over the help
            self.pop_screen()
        if isinstance(self.screen, ScenarioScreen):
            self.screen.session.running = False
            self.switch_screen(ScenarioScreen(session))
        else:
            self.push_screen(ScenarioScreen(session))
        return True

    def show_picker(self) -> None:
        """Back to the list: pop the scenario screen if the picker is under it, else swap it in."""
        from gdsim.app.screens.picker import PickerScreen

        if not any(isinstance(screen, PickerScreen) for screen in self.screen_stack):
            self.switch_screen(PickerScreen())
            return
        while not isinstance(self.screen, PickerScreen):
            self.pop_screen()

    # -- app-wide actions ----------------------------------------------------------------------
    def action_command_palette(self) -> None:
        if self.use_command_palette and not CommandPalette.is_open(self):
            self.push_screen(SafeCommandPalette(id="--command-palette"))

    def action_help(self) -> None:
        from gdsim.app.screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(self.screen, self.BINDINGS))

    def action_next_theme(self) -> None:
        current = self.theme if self.theme in THEMES else THEMES[-1]
        self.theme = THEMES[(THEMES.index(current) + 1) % len(THEMES)]
        self.notify(f"theme: {self.theme}", markup=False, timeout=2)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        for command in super().get_system_commands(screen):
            if served() and "screenshot" in command.title.lower():
                continue  # served sessions write no files
            yield command


def run(scenario: str | None = None) -> int:
    """`gdsim [SCENARIO]`: open the app (on the scenario, if given); the exit status."""
    initial = None
    if scenario:
        from gdsim.app.runtime.session import Session

        _freeze_imports()
        try:
            path = resolve(scenario)
            # The Session's build is the check load_scenario's trial build would make: one build, not two.
            initial = Session(load_scenario(path, id=Path(path).stem, trial_build=False))
        except UserError as exc:
            print(f"gdsim: {exc}", file=sys.stderr)
            return 2
    else:
        _freeze_imports()
    app = GdsimApp(initial)
    app.run()
    return app.return_code or 0
