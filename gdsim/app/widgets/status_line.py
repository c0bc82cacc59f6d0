"""StatusLine: what the simulation is doing (running, step, speed, rewound), and the last message.

One line; a message that does not fit beside the state (80 columns, a long change description)
first makes the state more compact, then takes a line of its own (two if it must, broken between
words), so it is never cut to nothing."""

from __future__ import annotations

import time
from collections import deque

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.strip import Strip
from textual.widget import Widget

from gdsim.app.draw.contrast import component_style
from gdsim.app.runtime.session import Session, speed_label
from gdsim.app.text import clean


class StatusLine(Widget):
    """Title, state, step and speed; updated by the screen at its redraw rate.

    A plain Widget rather than a Static: Static.update re-lays out the whole screen, and this
    line changes at every redraw without ever changing size. It draws its one line as a Strip
    of its styled pieces: rendering it as Rich Text cost ~1.4 ms a frame, as much as a plot."""

    COMPONENT_CLASSES = {"status-line--quiet"}

    def __init__(self, *, id: str | None = None):
        super().__init__(id=id)
        self.message = ""
        self.message_until = 0.0
        self.said: deque[str] = deque(maxlen=SAID)  # the latest messages, oldest first (tests read them)
        self._pieces: list[tuple[str, Style]] = []
        self._version = 0  # counts changes of _pieces, for the strip cache
        self._strip: tuple[tuple, Strip] | None = None
        self._samples: list[tuple[float, int]] = []  # (time, step) while running: the speed achieved
        self._quiet_style: tuple | None = None  # ((theme, mono), Style) of the quieter pieces

    @property
    def text(self) -> Text:
        """The line as Rich Text (for readers such as the benchmark; it is drawn from the pieces)."""
        return Text.assemble(*self._pieces, no_wrap=True, overflow="ellipsis")

    def render(self) -> Text:
        return self.text

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.rich_style
        key = (self._version, width, base)
        if self._strip is None or self._strip[0] != key:
            self._strip = (key, [_line(pieces, width, base) for pieces in arrange(self._pieces, width)])
        lines = self._strip[1]
        return lines[y] if y < len(lines) else Strip.blank(width, base)

    def get_content_height(self, container, viewport, width: int) -> int:
        return len(arrange(self._pieces, width))

    def clear(self) -> None:
        """Forget the message (reset: what it said is no longer true)."""
        self.message_until = 0.0

    SAY_SECONDS = 4.0

    def say(self, message: str, seconds: float = SAY_SECONDS) -> None:
        """Show `message` in place of the title for a few seconds (cheaper than a toast per key)."""
        self.message = clean(message, keep_newlines=False)
        self.message_until = time.monotonic() + seconds
        self.said.append(self.message)

    def _achieved(self, session: Session) -> float | None:
        """Steps per second over the last SPEED_WINDOW seconds of running (None: not running, or
        too soon to say)."""
        if not session.running:
            self._samples = []
            return None
        now, step = time.monotonic(), session.sim.step_count
        samples = self._samples
        if samples and step < samples[-1][1]:
            samples.clear()  # a reset or a rebuild
        samples.append((now, step))
        while len(samples) > 2 and now - samples[1][0] >= SPEED_WINDOW:
            samples.pop(0)
        return achieved_speed(samples)

    def _quiet(self) -> Style:
        """The quieter pieces ("/ 300", the title): $text-quiet, readable on this line's ground
        (dim was 4.40:1 on textual-light's panel, 3.78:1 on nord's); dim in monochrome."""
        key = (self.app.theme, bool(getattr(self.app, "mono", False)))
        if self._quiet_style is None or self._quiet_style[0] != key:
            style = Style(dim=True) if key[1] else Style(color=component_style(self, "status-line--quiet").color)
            self._quiet_style = (key, style)
        return self._quiet_style[1]

    def show(self, session: Session) -> None:
        sim = session.sim
        state = "▶ running" if session.running else "⏸ paused"
        quiet = self._quiet()
        pieces = [
            (f" {state} ", Style(bold=True, reverse=True)),
            (f" step {sim.step_count:,}", Style(bold=True)),
            (f" / {session.stop_at:,}", quiet),
            speed_piece(session.speed, self._achieved(session)),
        ]
        if session.cursor is not None:
            pieces.append((f"  ⏪ viewing step {session.cursor:,}", Style(bold=True)))
        if session.modified:
            pieces.append(("  changed (file untouched)", Style(italic=True)))
        pieces.append(("  · ", Style()))
        if self.message and time.monotonic() < self.message_until:
            pieces.append((self.message, MESSAGE))
        else:
            pieces.append((clean(session.loaded.scenario.scenario.title, keep_newlines=False), quiet))
        if pieces != self._pieces:
            lines = len(arrange(self._pieces, self.size.width))
            self._pieces = pieces
            self._version += 1
            # a second line for a long message: only then is the screen laid out again
            self.refresh(layout=len(arrange(pieces, self.size.width)) != lines)


MESSAGE = Style(bold=True)
SAID = 20
SPEED_WINDOW = 2.0  # seconds of running the achieved speed is measured over
SPEED_SOON = 0.5  # ... and at least this long
SLOWER = 0.7  # achieved below this share of the speed asked: said, with what was asked


def achieved_speed(samples: list[tuple[float, int]]) -> float | None:
    """Steps per second between the first and last (time, step) sample; None over less than SPEED_SOON s."""
    if len(samples) < 2 or samples[-1][0] - samples[0][0] < SPEED_SOON:
        return None
    return (samples[-1][1] - samples[0][1]) / (samples[-1][0] - samples[0][0])


def speed_piece(asked: int, achieved: float | None) -> tuple[str, Style]:
    """"  speed 200/s"; while running, the speed measured where it falls short of the one asked
    ("  speed 9/s (200/s asked)", bold), and flat out the speed it reaches ("  speed max: 1,234/s")."""
    if achieved is None:
        return f"  speed {speed_label(asked)}", Style()
    if asked == 0:
        return f"  speed max: {achieved:,.0f}/s", Style()
    if achieved < SLOWER * asked:
        return f"  speed {achieved:,.0f}/s ({speed_label(asked)} asked)", Style(bold=True)
    return f"  speed {speed_label(asked)}", Style()
COMPACT = {"  changed (file untouched)": "  changed"}  # what a message may shorten, to fit beside it
OPTIONAL = ("/ ", "speed ")  # pieces (by their start) a message may push out, least useful first


def arrange(pieces: list[tuple[str, Style]], width: int) -> list[list[tuple[str, Style]]]:
    """The pieces laid out in lines: one line, unless the last piece is a message that would be
    cut; then the state is made compact, and if the message still does not fit it gets a line
    of its own (cut with an ellipsis only when it is longer than the whole width)."""
    if not pieces or width <= 0 or pieces[-1][1] is not MESSAGE or _length(pieces) <= width:
        return [pieces]
    state, message = pieces[:-2], pieces[-1]
    compact = [(COMPACT.get(text, text), style) for text, style in state]
    for start in OPTIONAL:
        if _length(compact) + 4 + cell_len(message[0]) <= width:
            break
        compact = [(text, style) for text, style in compact if not text.lstrip(" ").startswith(start)]
    one = [*compact, pieces[-2], message]
    if _length(one) <= width:
        return [one]
    return [state, *[[(" ", Style()), (part, MESSAGE)] for part in _wrap(message[0], width - 1, 2)]]


def _wrap(text: str, width: int, lines: int) -> list[str]:
    """`text` in at most `lines` lines of `width` cells, broken between words (the last line is
    cut with an ellipsis by _line if it is still too long)."""
    out: list[str] = []
    words = text.split(" ")
    while words and len(out) < lines - 1:
        line = words.pop(0)
        while words and cell_len(line) + 1 + cell_len(words[0]) <= width:
            line += " " + words.pop(0)
        out.append(line)
    if words:
        out.append(" ".join(words))
    return out


def _length(pieces: list[tuple[str, Style]]) -> int:
    return sum(cell_len(text) for text, _ in pieces)


def _line(pieces: list[tuple[str, Style]], width: int, base: Style) -> Strip:
    """The pieces on one line of `width` cells: cut with an ellipsis when too long, padded when short."""
    segments = [Segment(text, base + style) for text, style in pieces if text]
    strip = Strip(segments)
    if strip.cell_length > width:
        if width <= 1:
            return strip.crop(0, width)
        kept = list(strip.crop(0, width - 1))
        strip = Strip([*kept, Segment("…", kept[-1].style if kept else base)])
        strip = strip.crop(0, width)  # a wide character cut at the edge leaves the line short
    return strip.extend_cell_length(width, base)
