"""Small modal dialogs: a one-line question (step N, start point, file name) and a yes/no confirmation."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static


class OnceModal(ModalScreen):
    """A dialog that ignores a second dismiss: with keys queued (enter, enter), the second one
    would otherwise pop the screen beneath the dialog."""

    def dismiss(self, result=None):
        if self.app.screen is not self:
            return None
        return super().dismiss(result)


class PromptScreen(OnceModal):
    """Ask for one line of text; enter answers, escape cancels (None)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, question: str, default: str = "", hint: str = ""):
        super().__init__(classes="dialog")
        self.question, self.default, self.hint = question, default, hint

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Static(Text(self.question), classes="dialog-question")
            yield Input(value=self.default, id="prompt-input")
            yield Static(Text(f"{self.hint}  enter: OK · escape: cancel".strip()), classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one("#prompt-input", Input).focus()

    @on(Input.Submitted, "#prompt-input")
    def _submit(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmScreen(OnceModal):
    """A yes/no question: y or enter says yes, n or escape says no."""

    BINDINGS = [
        Binding("y,enter", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, question: str, hint: str = "y: yes · n / escape: no"):
        super().__init__(classes="dialog")
        self.question, self.hint = question, hint

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Static(Text(self.question), classes="dialog-question")
            yield Static(Text(self.hint), classes="dialog-hint")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
