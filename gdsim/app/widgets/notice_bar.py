"""NoticeBar: plain-language notices about the runs (diverged, stalled, minimum reached).

Each notice names its run (label and letter) and wraps with a hanging indent: its second line
starts under its first word, never at column 0. The bar takes at most `max_lines` lines (2 on a
short terminal, where the plots need the rows, 1 there with six runs or more, else 4); notices that do not fit whole are left
out, most important first, and the last line says how many were.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual.widgets import Static

from gdsim.app.draw.wrap import clip_lines, hang
from gdsim.app.notices import notices
from gdsim.app.runtime.session import Session

ICONS = {"error": "✖", "warning": "▲", "info": "●"}
COMPONENTS = {severity: f"notice-bar--{severity}" for severity in ICONS}  # colours from the theme (gdsim.tcss)
LINES_SHORT = 2  # lines for notices on a terminal under 30 rows
LINES_CROWDED = 1  # ... with six runs or more (the run table takes the other line: gdsim.tcss)
LINES_TALL = 4
INDENT = 3  # " ✖ " : the wrapped lines start under the sentence


class NoticeBar(Static):
    """Hidden when there is nothing to say."""

    COMPONENT_CLASSES = set(COMPONENTS.values())

    _shown: tuple = ()
    _items: tuple = ()
    _height = -1  # lines shown; -1: none yet
    max_lines = LINES_TALL

    def show(self, session: Session) -> None:
        mono = bool(getattr(self.app, "mono", False))
        screen = self.screen if self.is_attached else None
        short = screen is not None and screen.has_class("-short")
        # while a question is open on a short screen the plots get these rows: the table's status
        # column says the same states (screens/predict_actions.py sets -asking)
        items = () if short and screen.has_class("-asking") else tuple(notices(session, limit=4))
        self.max_lines = ((LINES_CROWDED if screen.has_class("-many-runs") else LINES_SHORT) if short
                          else LINES_TALL)
        self._items, self._mono = items, mono
        self._render_items()

    def on_resize(self) -> None:
        if self._items:
            self._render_items()

    def _width(self) -> int:
        width = self.size.width
        if width <= 0 and self.parent is not None:
            width = self.parent.size.width
        return width if width > 0 else 80

    def _render_items(self) -> None:
        items, mono, width = self._items, self._mono, self._width()
        key = (items, mono, width, self.max_lines, self.app.theme)  # t: the theme's colours
        if key == self._shown:
            return  # unchanged: an update would re-lay out the screen
        self._shown = key
        self.display = bool(items)
        if not items:
            return
        colours = None if mono else {severity: self.get_component_rich_style(name, partial=True).color
                                         for severity, name in COMPONENTS.items()}
        lines = self.lines(items, width, self.max_lines, colours)
        # A notice's words change as the runs step (a loss, a step count) but rarely its number of
        # lines: only then is the screen laid out again (a layout of the whole screen at every step
        # was ~40% of a follower's frame, profiled in session 5).
        self.update(Text("\n").join(lines), layout=len(lines) != self._height)
        self._height = len(lines)

    @staticmethod
    def lines(items, width: int, max_lines: int, colours: dict | None = None) -> list[Text]:
        """The notices as wrapped lines: whole notices in order while they fit in `max_lines`
        (the first is cut with "…" only if it alone is longer), then "+N more" if room. A notice is
        bold, in its severity's colour from `colours` (none: monochrome)."""
        out: list[Text] = []
        left = 0
        for i, (severity, sentence) in enumerate(items):
            text = Text(f" {ICONS[severity]} ", Style(bold=True, color=(colours or {}).get(severity)))
            text.append(sentence)
            wrapped = hang(text, width, INDENT)
            if len(out) + len(wrapped) > max_lines:
                if not out:
                    out = clip_lines(wrapped, max_lines, width)
                    left = len(items) - 1
                else:
                    left = len(items) - i
                break
            out.extend(wrapped)
        if left:
            more = f"  (+{left} more)"
            last = out[-1]
            if cell_len(last.plain) + cell_len(more) <= width:
                last.append(more, Style(dim=True))
        return out
