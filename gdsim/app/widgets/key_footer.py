"""KeyFooter: the keys of the screen, drawn as Textual's Footer draws them, by one widget.

Textual's Footer is a row of FooterKey widgets that it builds again after every bindings signal
(focus moving, the screen stack changing, the app gaining focus). Its first keys come only after
the screen has been laid out, so they cost the scenario screen's first frame a second layout, a
dozen widgets with their styles, and a second render (about 50 ms, measured in a terminal with
benchmarks/bench_app.py). KeyFooter reads the same bindings, in Footer's order and with Footer's
styles (theme variables footer-*), and draws the one line itself: it is complete on the first
frame, and a bindings signal costs a comparison and, if the keys differ, one line.

Like FooterKey: a click on a key presses it (a disabled key rings the bell), the key under the
mouse is highlighted and shows its tooltip. The command palette key sits at the right end, after
a thin bar, and covers keys that do not fit. Binding groups are drawn as separate keys.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.screen import Screen
from textual.strip import Strip
from textual.widget import Widget

PALETTE_BAR = "▏"  # FooterKey.-command-palette's `border-left: vkey`
# When the keys do not fit: descriptions shortened first, then keys dropped, least needed first
# (the help screen lists them all). Adding runs, the maths, going back and help stay at 80 columns.
SHORT = {"Select run": "select", "Run/pause": "run", "Step": "step", "Reset": "reset", "Rewind": "rewind",
         "lr up": "lr", "Optimizer": "opt", "Add run": "add", "Maths": "maths", "Back": "back", "Help": "help",
         "Room": "room", "Bring all here": "bring", "Poll": "poll", "Reveal": "reveal", "Follow": "follow",
         "Explore": "explore"}
# action names (prefixes); the last two go only in a room, where its keys (gdsim/app/room_keys.py) need the room
DROP_FIRST = ("step", "scrub", "lr", "optimizer", "reset", "select_run", "move", "quit", "add_run")


@dataclass(frozen=True)
class Key:
    """One key as shown: what pressing it sends, and its label."""

    key: str
    display: str
    description: str
    action: str
    enabled: bool
    tooltip: str
    palette: bool = False  # the command palette key, at the right end


def _width(keys) -> int:
    return sum(cell_len(k.display) + 2 + (cell_len(k.description) + 1 if k.description else 0)
               for k in keys if not k.palette)


def fit(keys: tuple[Key, ...], width: int) -> list[Key]:
    """The keys to draw in `width` cells: all as they are if they fit; else with SHORT descriptions;
    then without the keys of DROP_FIRST, in that order, until they fit."""
    shown = [k for k in keys if not k.palette]
    if _width(shown) <= width:
        return shown
    shown = [replace(k, description=SHORT.get(k.description, k.description)) for k in shown]
    for prefix in DROP_FIRST:
        if _width(shown) <= width:
            break
        shown = [k for k in shown if not k.action.startswith(prefix)]
    return shown


class KeyFooter(Widget, can_focus=False):
    """The screen's shown keys on one line at the bottom."""

    ALLOW_SELECT = False
    COMPONENT_CLASSES = {"key-footer--key", "key-footer--description", "key-footer--item",
                         "key-footer--hover", "key-footer--bar"}
    DEFAULT_CSS = """
    KeyFooter {
        dock: bottom;
        height: 1;
        color: $footer-foreground;
        background: $footer-background;
    }
    KeyFooter > .key-footer--item {
        background: $footer-item-background;
    }
    KeyFooter > .key-footer--key {
        color: $footer-key-foreground;
        background: $footer-key-background;
        text-style: bold;
    }
    KeyFooter > .key-footer--description {
        color: $footer-description-foreground;
        background: $footer-description-background;
    }
    KeyFooter > .key-footer--hover {
        color: $footer-key-foreground;
        background: $block-hover-background;
    }
    KeyFooter > .key-footer--bar {
        color: $foreground 20%;
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.keys: tuple[Key, ...] = ()  # what is shown (tests read these)
        self._spans: list[tuple[int, int, Key]] = []  # (start, end, key) of each drawn key
        self._hover: Key | None = None
        self._strip: tuple[tuple, Strip] | None = None

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self.bindings_changed)
        self.keys = self._showing()

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def bindings_changed(self, screen: Screen) -> None:
        if self.is_attached and screen is self.screen:
            keys = self._showing()
            if keys != self.keys:
                self.keys = keys
                self.refresh()

    def _showing(self) -> tuple[Key, ...]:
        """Footer.compose's choice: each shown action once, in the screen's order, then the palette."""
        app = self.app
        bindings = self.screen.active_bindings
        by_action: dict[str, list] = defaultdict(list)
        for _, binding, enabled, tooltip in bindings.values():
            if binding.show:
                by_action[binding.action].append((binding, enabled, tooltip))
        keys = [Key(binding.key, app.get_key_display(binding), binding.description, binding.action, enabled,
                    tooltip or "") for (binding, enabled, tooltip), *_ in by_action.values()]
        if app.ENABLE_COMMAND_PALETTE and app.COMMAND_PALETTE_BINDING in bindings:
            _, binding, enabled, tooltip = bindings[app.COMMAND_PALETTE_BINDING]
            keys.append(Key(binding.key, app.get_key_display(binding), binding.description, binding.action,
                            enabled, binding.tooltip or binding.description, palette=True))
        return tuple(keys)

    # -- drawing -------------------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        width = self.size.width
        styles = {name: self.get_component_rich_style(f"key-footer--{name}")
                  for name in ("key", "description", "item", "hover", "bar")}
        cache_key = (width, self.keys, self._hover, self.rich_style, tuple(styles.values()))
        if y != 0:
            return Strip.blank(width, self.rich_style)
        if self._strip is None or self._strip[0] != cache_key:
            self._strip = (cache_key, self._draw(width, styles))
        return self._strip[1]

    def _draw(self, width: int, styles: dict[str, Style]) -> Strip:
        base = self.rich_style
        item = base + styles["item"]
        segments: list[Segment] = []
        self._spans = []
        at = 0
        palette_width = next((cell_len(k.display) + cell_len(k.description) + 3 for k in self.keys if k.palette), 0)
        for key in fit(self.keys, width - palette_width):
            if key.palette:
                continue
            # FooterKey: " key " (padding 0 1) and "description " (padding 0 1 0 0)
            parts = [(f" {key.display} ", item + styles["key"])]
            if key.description:
                parts.append((f"{key.description} ", item + styles["description"]))
            if key is self._hover:  # FooterKey:hover's background, under the key's own colours
                parts = [(text, style + Style(bgcolor=styles["hover"].bgcolor)) for text, style in parts]
            if not key.enabled:
                parts = [(text, style + Style(dim=True)) for text, style in parts]
            length = sum(cell_len(text) for text, _ in parts)
            segments += [Segment(text, style) for text, style in parts]
            self._spans.append((at, at + length, key))
            at += length
        # the rest of the line, and padding, in background only (as Textual fills a container)
        strip = Strip(segments).extend_cell_length(width, Style(bgcolor=base.bgcolor)).crop(0, width)
        palette = next((key for key in self.keys if key.palette), None)
        if palette is not None:
            # compact FooterKey: "key" and " description", with padding-right 1, after the bar
            style = item + Style(bgcolor=styles["hover"].bgcolor) if palette is self._hover else item
            parts = [(PALETTE_BAR, style + styles["bar"]), (palette.display, style + styles["key"])]
            if palette.description:
                parts.append((f" {palette.description}", style + styles["description"]))
            parts.append((" ", Style(bgcolor=style.bgcolor)))
            if not palette.enabled:
                parts = [(text, s + Style(dim=True)) for text, s in parts]
            length = sum(cell_len(text) for text, _ in parts)
            start = max(0, width - length)
            strip = Strip.join([strip.crop(0, start), Strip([Segment(t, s) for t, s in parts]).crop(0, width - start)])
            self._spans = [(a, min(b, start), k) for a, b, k in self._spans if a < start]
            self._spans.append((start, width, palette))
        return strip

    # -- mouse ---------------------------------------------------------------------------------
    def _key_at(self, x: int) -> Key | None:
        # the palette key is last, and drawn over the others
        for start, end, key in reversed(self._spans):
            if start <= x < end:
                return key
        return None

    def on_mouse_move(self, event: events.MouseMove) -> None:
        self._set_hover(self._key_at(event.x))

    def on_leave(self) -> None:
        self._set_hover(None)

    def _set_hover(self, key: Key | None) -> None:
        if key != self._hover:
            self._hover = key
            self.tooltip = (key.tooltip or None) if key else None
            self.refresh()

    def on_mouse_down(self, event: events.MouseDown) -> None:
        key = self._key_at(event.x)
        if key is None:
            return
        if key.enabled:
            self.app.simulate_key(key.key)
        else:
            self.app.bell()
