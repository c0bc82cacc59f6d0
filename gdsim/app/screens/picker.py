"""The first screen: every listed scenario with the claim it takes apart, narrowed by a filter box.

Messages (GdsimApp.notify: "joined the room as ...", a scenario that cannot be opened) take the
hint line's place for their time, as the scenario screen's go to its status line: a toast at the
bottom right covered the list's titles and claims for seconds."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from pathlib import Path

from rich.style import Style
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from gdsim.app.app import collect_garbage_again
from gdsim.app.messages import OpenScenario
from gdsim.app.text import clean
from gdsim.app.widgets.key_footer import KeyFooter
from gdsim.scenario.library import list_entries, served
from gdsim.scenario.load import ScenarioError, load_scenario


@dataclass(frozen=True)
class Listing:
    id: str
    path: object
    title: str
    claim: str
    order: int
    broken: str = ""

    def matches(self, words: list[str]) -> bool:
        haystack = f"{self.id} {self.title} {self.claim}".lower()
        return all(word in haystack for word in words)


# (id, path) -> (the file's (mtime, size) when read, its Listing). The palette lists every scenario
# on each key typed into it, and reading and validating the whole library takes ~50 ms.
_scanned: dict[tuple[str, Path], tuple[tuple[int, int], Listing]] = {}


def scan() -> list[Listing]:
    """Every listed scenario; a file that fails to load is still listed, with its error."""
    listings = []
    for entry in list_entries():
        try:
            stat = entry.path.stat()
            version: tuple[int, int] | None = (stat.st_mtime_ns, stat.st_size)
        except OSError:
            version = None  # load_scenario says what is wrong with it
        known = _scanned.get((entry.id, entry.path))
        if known is not None and known[0] == version:
            listings.append(known[1])
            continue
        listing = _listing(entry)
        if version is not None:
            _scanned[(entry.id, entry.path)] = (version, listing)
        listings.append(listing)
    listings.sort(key=lambda item: (item.order, item.id))
    return listings


def _listing(entry) -> Listing:
    try:
        info = load_scenario(entry.path, id=entry.id, trial_build=False).scenario.scenario
    except ScenarioError as exc:
        return Listing(entry.id, entry.path, entry.id, "", 10**9, clean(str(exc), keep_newlines=False))
    return Listing(entry.id, entry.path, clean(info.title, keep_newlines=False),
                   clean(info.claim, keep_newlines=False), info.order)


def prompt(listing: Listing) -> Text:
    text = Text()
    text.append(listing.title, Style(bold=True))
    text.append(f"  {listing.id}", Style(dim=True))
    if listing.broken:
        text.append(f"\n  cannot be opened: {listing.broken}", Style(italic=True))
    else:
        text.append(f"\n  claim: {listing.claim}", Style(italic=True))
    return text


class PickerScreen(Screen):
    """Pick a scenario: type to filter, up/down to choose, enter to open."""

    BINDINGS = [
        Binding("enter", "open", "Open", priority=False),
        Binding("down", "cursor(1)", "Next", show=False),
        Binding("up", "cursor(-1)", "Previous", show=False),
        Binding("escape", "clear_filter", "Clear filter", show=False),
        Binding("question_mark", "app.help", "Help", key_display="?"),
    ]

    HINT = Text("Each one takes apart a common belief about gradient descent. "
                "Type to filter; enter opens; ctrl+p for commands.", style=Style(dim=True))
    MAX_MESSAGE = 230  # three lines at 80 columns

    def __init__(self) -> None:
        super().__init__()
        self.listings = scan()
        self.shown: list[Listing] = list(self.listings)
        self.message = ""  # shown in the hint line's place until its timer ends
        self.said: deque[str] = deque(maxlen=20)  # the latest messages, oldest first (tests read them)
        self._message_timer = None

    def compose(self) -> ComposeResult:
        yield Static(Text("Pick a scenario", style=Style(bold=True)), id="picker-title")
        yield Static(self.HINT, id="picker-hint")
        filter_box = Input(placeholder="filter: type words from a title or claim", id="picker-filter")
        # A blinking cursor repaints twice a second: 1% of a core for every participant left at the
        # list when served (30 of them: a third of a core); the cursor shows without blinking.
        filter_box.cursor_blink = not served()
        yield filter_box
        yield OptionList(*self._options(), id="picker-list")
        yield KeyFooter()

    def _options(self) -> list[Option]:
        if not self.shown:
            return [Option(Text("no scenario matches the filter", style=Style(italic=True)), disabled=True)]
        return [Option(prompt(item), id=f"s-{i}") for i, item in enumerate(self.shown)]

    def on_mount(self) -> None:
        self.query_one("#picker-filter", Input).focus()
        option_list = self.query_one("#picker-list", OptionList)
        if self.shown:
            option_list.highlighted = 0
        collect_garbage_again()

    @on(Input.Changed, "#picker-filter")
    def _filter(self, event: Input.Changed) -> None:
        words = clean(event.value, keep_newlines=False).lower().split()
        self.shown = [item for item in self.listings if item.matches(words)]
        option_list = self.query_one("#picker-list", OptionList)
        option_list.set_options(self._options())
        if self.shown:
            option_list.highlighted = 0

    @on(Input.Submitted, "#picker-filter")
    def _submitted(self) -> None:
        self.action_open()

    @on(OptionList.OptionSelected, "#picker-list")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.action_open()

    def status_notice(self, message: str, title: str, severity: str, timeout: float) -> bool:
        """Show a notification in the hint line instead of a toast (GdsimApp.notify), for `timeout`
        seconds. False: this screen is not the one shown (a dialog over it shows a toast)."""
        if not self.is_current or not self.is_mounted:
            return False
        icon = {"error": "✖ ", "warning": "▲ "}.get(severity, "")
        text = f"{icon}{title}: {message}" if title else f"{icon}{message}"
        if len(text) > self.MAX_MESSAGE:
            text = text[: self.MAX_MESSAGE - 1] + "…"
        self.message = text
        self.said.append(text)
        self.query_one("#picker-hint", Static).update(Text(text, style=Style(bold=severity != "information")))
        if self._message_timer is not None:
            self._message_timer.stop()
        self._message_timer = self.set_timer(max(0.5, timeout), self.clear_messages)
        return True

    def clear_messages(self) -> None:
        """The hint again (the message's time is up, or App.clear_notifications)."""
        if self._message_timer is not None:
            self._message_timer.stop()
            self._message_timer = None
        self.message = ""
        if self.is_mounted:
            self.query_one("#picker-hint", Static).update(self.HINT)

    def action_cursor(self, delta: int) -> None:
        option_list = self.query_one("#picker-list", OptionList)
        if not self.shown:
            return
        current = option_list.highlighted or 0
        option_list.highlighted = max(0, min(len(self.shown) - 1, current + delta))

    def action_clear_filter(self) -> None:
        self.query_one("#picker-filter", Input).value = ""

    def action_open(self) -> None:
        option_list = self.query_one("#picker-list", OptionList)
        index = option_list.highlighted
        if index is None or not self.shown or index >= len(self.shown):
            return
        item = self.shown[index]
        if item.broken:
            self.notify(f"{item.id} cannot be opened: {item.broken}", severity="error", markup=False)
            return
        self.post_message(OpenScenario(item.path, item.id))
