"""The help screen: every key of the screen it was opened from, and the app's own."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from gdsim.app.screens.prompt import OnceModal


def key_label(binding: Binding) -> str:
    if binding.key_display:
        return binding.key_display
    names = {"question_mark": "?", "full_stop": ".", "space": "space", "plus": "+", "minus": "-",
             "equals_sign": "=", "left_square_bracket": "[", "right_square_bracket": "]"}
    return ", ".join(names.get(k.strip(), k.strip()) for k in binding.key.split(","))


def describe(screen: Screen, app_bindings) -> Text:
    text = Text()
    sections = [("On this screen", getattr(type(screen), "HELP_BINDINGS", None) or screen.BINDINGS),
                ("Everywhere", app_bindings)]
    room = getattr(screen.app, "room", None)
    if room is not None and room.active:  # only in a room (gdsim serve ssh): its keys
        from gdsim.app.room_keys import help_bindings

        sections.insert(1, ("In the room", help_bindings(room.presenter)))
    for title, bindings in sections:
        text.append(f"{title}\n", Style(bold=True, underline=True))
        for binding in bindings:
            if isinstance(binding, tuple):
                binding = Binding(*binding)
            if not binding.description:
                continue
            text.append(f"  {key_label(binding):<16}", Style(bold=True))
            text.append(f"{binding.description}\n")
        text.append("\n")
    text.append("ctrl+p opens the command palette: every action above, by name.\n", Style(italic=True))
    return text


class HelpScreen(OnceModal):
    """Lists the keys; escape, q or ? closes it."""

    BINDINGS = [Binding("escape,q,question_mark,f1", "close", "Close")]

    def __init__(self, screen: Screen, app_bindings) -> None:
        super().__init__(classes="dialog")
        self.body = describe(screen, app_bindings)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box help-box"):
            yield Static(Text("gdsim keys", style=Style(bold=True)), classes="dialog-question")
            with VerticalScroll(id="help-scroll"):
                yield Static(self.body, id="help-body")
            yield Static(Text("escape closes · up/down or page keys scroll"), classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one("#help-scroll").focus()

    def action_close(self) -> None:
        self.dismiss(None)
