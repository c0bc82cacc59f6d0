"""LessonText: a lesson written in plain Markdown (paragraphs, lists, emphasis, code), drawn at once.

Textual's Markdown widget costs the scenario screen's first frame about a tenth of a second (the
import of markdown-it and pygments, a dozen child widgets, their CSS), for lessons that are
paragraphs with some **bold**, *italic* and `code`, and now and then a list. `parse` reads that
subset and says None for anything else (headings, tables, links, quotes, code blocks, nested
lists, HTML, escapes), which LessonPanel then hands to Textual's Markdown widget as before. What
LessonText draws looks like what the Markdown widget draws for the same text: a blank line after
each block, "• " bullets in the primary colour with wrapped lines indented under the text, and
inline code in the Markdown widget's colours.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.strip import Strip
from textual.widget import Widget

from gdsim.app.draw.contrast import component_style

Span = tuple[str, str]  # (text, kind): kind is "", "strong", "em" or "code"


@dataclass(frozen=True)
class Block:
    """A paragraph (`items` holds one entry with marker "") or a list (one entry per item)."""

    items: tuple[tuple[str, tuple[Span, ...]], ...]  # (marker, spans); marker "• " or "1. " or ""


_ITEM = re.compile(r"^ {0,3}(?:([-*+])|(\d{1,9})([.)]))(?: +(.*)|$)")
_OTHER_BLOCK = re.compile(
    r"^ {0,3}(?:#{1,6}(?:\s|$)|>|```|~~~|\||(?:[-*_]\s*){3,}$|=+\s*$|-+\s*$|<[A-Za-z/!?])"
)
_INLINE = re.compile(
    r"(?P<tick>`+)(?P<code>.+?)(?P=tick)"
    r"|\*\*(?P<b1>\S(?:.*?\S)?)\*\*"
    r"|(?<!\w)__(?P<b2>\S(?:.*?\S)?)__(?!\w)"
    r"|\*(?P<i1>\S(?:.*?\S)?)\*"
    r"|(?<!\w)_(?P<i2>\S(?:.*?\S)?)_(?!\w)"
)
# Outside code spans, what would make the Markdown widget draw something this parser does not:
# a lone emphasis mark that is not spaced out, links and references, HTML and autolinks,
# escapes, entities, strikethrough, bare URLs (linkified), hard line breaks.
_UNSURE = re.compile(
    r"\*\S|\S\*|(?<!\w)_|_(?!\w)|`|\]\(|\]\[|\]:|<[A-Za-z/!?]|\\[!-/:-@\[-`{-~]|&#?\w+;|~~|://|www\.|  $"
)


_ESCAPE = re.compile(r"\\[!-/:-@\[-`{-~]")


def parse(markdown: str) -> tuple[Block, ...] | None:
    """The lesson's blocks, or None when it uses Markdown beyond paragraphs, flat lists, emphasis
    and code spans (the caller then uses Textual's Markdown widget)."""
    blocks: list[Block] = []
    paragraph: list[str] = []
    items: list[tuple[str, list[str]]] = []
    kind = ""  # the open list's kind: "-", "*", "+" (bullets) or "." / ")" (numbers); "" none
    blank = False

    def close() -> bool:
        nonlocal kind
        if paragraph:
            spans = _spans(" ".join(line.strip() for line in paragraph))
            if spans is None:
                return False
            blocks.append(Block((("", spans),)))
            paragraph.clear()
        if items:
            parsed = [(marker, _spans(" ".join(part.strip() for part in text))) for marker, text in items]
            if any(spans is None for _, spans in parsed):
                return False
            blocks.append(Block(tuple((marker, spans) for marker, spans in parsed)))  # type: ignore[misc]
            items.clear()
            kind = ""
        return True

    for line in markdown.expandtabs(4).split("\n"):
        if not line.strip():
            if paragraph and not close():
                return None
            blank = True
            continue
        if _OTHER_BLOCK.match(line) or line.endswith(("  ", "\\")):
            return None  # headings, quotes, fences, tables, rules, HTML, hard line breaks
        indent = len(line) - len(line.lstrip(" "))
        if items and indent >= 2 and (blank or _ITEM.match(line.lstrip(" "))):
            return None  # a nested list, or a second paragraph inside an item
        item = _ITEM.match(line)
        if item and (item.group(1) or not paragraph or item.group(2) == "1"):
            this = item.group(1) or item.group(3)
            if (paragraph or (items and this != kind)) and not close():
                return None
            kind = this
            marker = "• " if item.group(1) else f"{int(item.group(2))}{item.group(3)} "
            items.append((marker, [item.group(4) or ""]))
            blank = False
            continue
        if items:
            if not blank:
                items[-1][1].append(line)  # a continuation line (indented or lazy)
                continue
            if not close():
                return None
        if not paragraph and indent >= 4:
            return None  # an indented code block
        paragraph.append(line)
        blank = False
    if not close():
        return None
    return _numbered(tuple(blocks))


def _numbered(blocks: tuple[Block, ...]) -> tuple[Block, ...]:
    """Ordered lists count from their first number, "1. " right-aligned one cell wider than the
    widest number, as the Markdown widget draws them."""
    out = []
    for block in blocks:
        first = block.items[0][0]
        if first[:1].isdigit():
            start = int(first[:-2])
            numbers = [f"{start + i}. " for i in range(len(block.items))]
            size = max(len(n) for n in numbers)
            block = Block(tuple((n.rjust(size + 1), spans) for n, (_, spans) in zip(numbers, block.items)))
        out.append(block)
    return tuple(out)


def _spans(text: str) -> tuple[Span, ...] | None:
    """`text` split into plain, strong, em and code spans; None if it holds anything else."""
    if _ESCAPE.search(text):
        return None  # an escaped mark may stand anywhere, even next to a span's own marks
    spans: list[Span] = []
    at = 0
    for match in _INLINE.finditer(text):
        if not _plain(text[at : match.start()], spans):
            return None
        if match.group("code") is not None:
            code = match.group("code")
            if code.startswith(" ") and code.endswith(" ") and code.strip():
                code = code[1:-1]
            spans.append((code, "code"))
        else:
            inner = next(g for g in (match.group("b1"), match.group("b2"), match.group("i1"), match.group("i2")) if g)
            if _UNSURE.search(inner) or "*" in inner:
                return None  # nested emphasis, code in emphasis: the Markdown widget's job
            spans.append((inner, "strong" if match.group("b1") or match.group("b2") else "em"))
        at = match.end()
    if not _plain(text[at:], spans):
        return None
    return tuple(spans)


def _plain(text: str, spans: list[Span]) -> bool:
    if _UNSURE.search(text):
        return False
    if text:
        spans.append((text, ""))
    return True


class LessonText(Widget):
    """The parsed lesson, wrapped to the panel's width."""

    COMPONENT_CLASSES = {"lesson-text--bullet", "lesson-text--code"}
    DEFAULT_CSS = """
    LessonText {
        height: auto;
        color: $foreground;
    }
    LessonText > .lesson-text--bullet {
        color: $text-primary;
    }
    LessonText:light > .lesson-text--bullet {
        color: $text-secondary;
    }
    LessonText:dark > .lesson-text--code {
        background: $warning 10%;
        color: $text-warning 95%;
    }
    LessonText:light > .lesson-text--code {
        background: $error 5%;
        color: $text-error 95%;
    }
    LessonText:ansi > .lesson-text--code {
        background: ansi_default;
    }
    """

    def __init__(self, blocks: tuple[Block, ...], *, id: str | None = None, classes: str | None = None):
        super().__init__(id=id, classes=classes)
        self.blocks = blocks
        self._cache: tuple[tuple, list[Strip]] | None = None

    @property
    def plain(self) -> str:
        """The text as drawn at width 1000 (one line per paragraph or item), for tests."""
        return "\n".join(marker + "".join(text for text, _ in spans)
                         for block in self.blocks for marker, spans in block.items)

    def get_content_height(self, container, viewport, width: int) -> int:
        return len(self._lines(width, Style(), Style(), Style()))

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.rich_style
        key = (width, base, self.get_component_rich_style("lesson-text--bullet", partial=True),
               component_style(self, "lesson-text--code"))
        if self._cache is None or self._cache[0] != key:
            pad = Style(bgcolor=base.bgcolor)  # as Textual pads a Static's lines
            self._cache = (key, [Strip(line).extend_cell_length(width, pad).crop(0, width)
                                 for line in self._lines(width, base, key[2], key[3])])
        lines = self._cache[1]
        return lines[y] if y < len(lines) else Strip.blank(width, base)

    def _lines(self, width: int, base: Style, bullet: Style, code: Style) -> list[list]:
        """Each line as rich Segments: blocks wrapped to `width`, each followed by a blank line
        (the Markdown widget's bottom margin of a paragraph or a list, kept inside its height)."""
        console = self.app.console
        styles = {"": Style(), "strong": Style(bold=True), "em": Style(italic=True), "code": code}
        lines: list[list] = []
        for block in self.blocks:
            for marker, spans in block.items:
                # Text.render draws spans only (a Text's own style is the console's to apply).
                text = Text(end="")
                for chunk, kind in spans:
                    text.append(chunk, base + styles[kind])
                indent = len(marker)
                for row, line in enumerate(text.wrap(console, max(1, width - indent))):
                    line.rstrip()
                    head = Text(end="")
                    head.append(marker if row == 0 else " " * indent, base + bullet if row == 0 else base)
                    segments = [*head.render(console, ""), *line.render(console, "")]
                    # Filters (e.g. NO_COLOR's monochrome) need a style on every segment.
                    lines.append([seg if seg.style else Segment(seg.text, base) for seg in segments if seg.text])
            lines.append([])
        return lines
