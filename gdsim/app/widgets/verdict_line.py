"""VerdictLine: the scenario's expects as they stand at the live step ("✓ ...", "✗ ...", "… decided at step k").

Never cut mid-sentence: each verdict is shown whole, wrapped with a hanging indent, and when they
do not all fit in the line budget (2 lines on a short terminal, 3 else) they are shown a page at
a time, the pages turning every ROTATE seconds ("2/5" in the header says which). A sentence too
long for the whole budget (l1-sparsity has one of 211 characters) loses its measured value first,
then is cut after its last clause that fits (at ". ", ": " or "; "), and only then at a word.
The height stays that of the tallest page, so the plots do not move as pages turn; a shorter page
is filled with the verdicts that follow it (from the first again after the last) while they fit
whole, so a tall screen shows no blank rows under a short last page.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual.widgets import Static

from gdsim.app.draw.contrast import component_style
from gdsim.app.draw.wrap import ELLIPSIS, clip_lines, fits, hang
from gdsim.app.runtime.verdicts import FAIL, PASS, WAIT, Verdict

COMPONENTS = {PASS: "verdict-line--pass", FAIL: "verdict-line--fail"}  # colours from the theme (gdsim.tcss)
QUIET = "verdict-line--quiet"  # a check still open: quieter, but readable ($text-quiet; dim was 4.40:1 on textual-light)
ROTATE = 5.0  # seconds a page stays
LINES_SHORT = 2
LINES_TALL = 3
INDENT = 3


class VerdictLine(Static):
    """The expects, failures first, a page at a time; hidden for a scenario without expects."""

    COMPONENT_CLASSES = set(COMPONENTS.values()) | {QUIET}

    _shown: tuple = ()
    _verdicts: tuple = ()
    _mono = False
    page = 0
    pages: list[list[Text]] = []  # what each page shows (tests read every page)
    _members: list[list[int]] = []  # the verdicts on each page (indices), for filling a short one
    max_lines = LINES_TALL

    def on_mount(self) -> None:
        self._turner = self.set_interval(ROTATE, self.turn, pause=True, name="verdict-pages")

    def show(self, verdicts: list[Verdict], mono: bool = False) -> None:
        short = self.screen.has_class("-short") if self.is_attached else False
        self.max_lines = LINES_SHORT if short else LINES_TALL
        self._verdicts, self._mono = tuple(verdicts), mono
        self._render_page()

    def on_resize(self) -> None:
        if self._verdicts:
            self._render_page()

    def turn(self) -> None:
        """The next page (the timer; a test may call it)."""
        if len(self.pages) > 1:
            self.page = (self.page + 1) % len(self.pages)
            self._shown = ()
            self._render_page()

    def all_text(self) -> str:
        """Every page's text, one line each (what the learner sees over a full turn)."""
        return "\n".join(" ".join(line.plain.strip() for line in page) for page in self.pages)

    def _width(self) -> int:
        width = self.size.width
        if width <= 0 and self.parent is not None:
            width = self.parent.size.width
        return width if width > 0 else 80

    def _render_page(self) -> None:
        verdicts, mono, width = self._verdicts, self._mono, self._width()
        key = (verdicts, mono, self.app.theme, width, self.max_lines)
        if key == self._shown:
            return  # unchanged: an update would re-lay out the screen
        old_height = max((len(p) for p in self.pages), default=0)
        self._shown = key
        self.display = bool(verdicts)
        if not verdicts:
            self.pages = []
            return
        self.pages = self.paginate(verdicts, width, mono)
        self.page %= len(self.pages)
        timer = getattr(self, "_turner", None)
        if timer is not None:
            (timer.resume if len(self.pages) > 1 else timer.pause)()
        height = max(len(p) for p in self.pages)
        lines = self._filled(self.page, height, width, mono)
        lines += [Text("")] * (height - len(lines))
        self.update(Text("\n").join(lines), layout=height != old_height)

    def _filled(self, index: int, height: int, width: int, mono: bool) -> list[Text]:
        """Page `index`, and after it the verdicts that follow (cyclically, none twice) while they fit
        whole in `height` lines."""
        lines = list(self.pages[index])
        members = self._members[index] if index < len(self._members) else []
        if not members or len(lines) >= height:
            return lines
        count = len(self._verdicts)
        for step in range(1, count):
            j = (members[-1] + step) % count
            if j in members:
                break
            more = hang(Text(" ") + self.entry(self._verdicts[j], mono), width, INDENT)
            if len(lines) + len(more) > height:
                break
            lines += more
        return lines

    def header(self, verdicts: tuple[Verdict, ...], index: int, pages: int) -> Text:
        """" expects ✓ 12  ✗ 1, 3 to come · 2/5 │ "; on a short terminal " ✓12 ✗1, 3 to come (2/5)│ "
        (8 more characters for the sentence: at 80 columns two lines then hold every built-in check
        but three). The checks still open are counted in words: "…8│" (the mark of an open check)
        read as text cut off. A line that stands for checks not shown yet (a question's neutral
        progress, "watch: 5 of 8 checks decided"; "measuring…") counts them itself: the header
        then says " checks│", not "8 to come" beside "5 of 8 decided"."""
        counts = {mark: sum(v.count for v in verdicts if v.mark == mark) for mark in (PASS, FAIL)}
        waiting = sum(v.count for v in verdicts if v.mark == WAIT and v.id is not None)
        to_come = f"{waiting} to come" if waiting else ""
        if self.max_lines <= LINES_SHORT:
            summary = ", ".join(filter(None, (" ".join(f"{mark}{n}" for mark, n in counts.items() if n), to_come)))
            where = f" ({index + 1}/{pages})" if pages > 1 else ""
            return Text(f" {summary or 'checks'}{where}│ ", Style(bold=True))
        summary = ", ".join(filter(None, ("  ".join(f"{mark} {n}" for mark, n in counts.items() if n), to_come)))
        where = f" · {index + 1}/{pages}" if pages > 1 else ""
        return Text(f" expects {summary + ' ' if summary else ''}{where.lstrip() + ' ' if where else ''}│ ".replace("  │", " │"),
                    Style(bold=True))

    _quiet_style: tuple = ()

    def _quiet(self) -> Style:
        """$text-quiet made readable on this line's ground, once per theme (a component style
        costs about a millisecond to compute)."""
        if not self._quiet_style or self._quiet_style[0] != self.app.theme:
            self._quiet_style = (self.app.theme, Style(color=component_style(self, QUIET).color))
        return self._quiet_style[1]

    def entry(self, verdict: Verdict, mono: bool) -> Text:
        colour = None
        if not mono and verdict.mark in COMPONENTS:
            colour = self.get_component_rich_style(COMPONENTS[verdict.mark], partial=True).color
        quiet = Style()
        if verdict.mark == WAIT:
            quiet = Style(dim=True) if mono else self._quiet()
        text = Text(f"{verdict.mark} ", Style(color=colour, bold=True) + quiet)
        text.append(verdict.text, quiet)
        return text

    def paginate(self, verdicts: tuple[Verdict, ...], width: int, mono: bool) -> list[list[Text]]:
        """Pages of whole verdicts, each at most max_lines lines, the header opening each page.
        Laid out twice when there is more than one page: "p/n" in the header takes room."""
        pages: list[list[Text]] = []
        count = 1
        for _ in range(3):
            pages = self._pages(verdicts, width, mono, count)
            if len(pages) == count:
                break
            count = len(pages)
        return pages

    def _pages(self, verdicts: tuple[Verdict, ...], width: int, mono: bool, count: int) -> list[list[Text]]:
        budget = self.max_lines
        pages: list[list[Text]] = []
        members: list[list[int]] = []
        page: list[Text] = []
        for i, verdict in enumerate(verdicts):
            lines = hang(Text(" ") + self.entry(verdict, mono), width, INDENT) if page else []
            if not page or len(page) + len(lines) > budget:
                if page:
                    pages.append(page)
                head = self.header(verdicts, len(pages), count)
                lines = self.fitted(head + self.entry(verdict, mono), verdict, width, budget, head)
                page = []
                members.append([])
            page.extend(lines)
            members[-1].append(i)
        pages.append(page)
        self._members = members
        return pages

    def fitted(self, text: Text, verdict: Verdict, width: int, budget: int, head: Text) -> list[Text]:
        """One verdict opening a page: whole if it fits in `budget` lines; else without its
        measured value (a decided check reads "value: because"); else its sentence up to its last
        whole clause that fits, marked "…"; only then cut at a word."""
        if fits(text, width, INDENT, budget):
            return hang(text, width, INDENT)
        sentence = verdict.text
        value, sep, rest = sentence.partition(": ")
        if sep and verdict.mark in (PASS, FAIL):
            sentence = rest
            shorter = head + self.entry(Verdict(verdict.mark, sentence, verdict.step, verdict.id), self._mono)
            if fits(shorter, width, INDENT, budget):
                return hang(shorter, width, INDENT)
        for stop in (". ", "; ", ": ", ", "):
            cut = len(sentence)
            while (cut := sentence.rfind(stop, 0, cut)) > 0:
                clause = sentence[:cut + 1].rstrip(",:;") + ELLIPSIS
                trial = head + self.entry(Verdict(verdict.mark, clause, verdict.step, verdict.id), self._mono)
                if fits(trial, width, INDENT, budget):
                    return hang(trial, width, INDENT)
        return clip_lines(hang(text, width, INDENT), budget, width)
