"""Word wrapping with a hanging indent, for the lines under the plots (notices, the verdict line).

Rich wraps a Text to column 0; a notice or a verdict that takes two lines reads better with its
second line under the first line's words, not under its icon. `hang` breaks a styled Text at
spaces into lines of at most `width` cells, every line after the first indented by `indent`
cells, and says whether it all fitted in `max_lines`. A word longer than a line is cut
(a path, a long number); nothing else is.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text

ELLIPSIS = "…"


def breaks(plain: str, first: int, rest: int) -> list[tuple[int, int]]:
    """(start, end) offsets of each line of `plain` broken at single spaces: the first line at
    most `first` cells, the others at most `rest`. Spaces at a break are dropped."""
    lines: list[tuple[int, int]] = []
    start, n = 0, len(plain)  # leading spaces of the first line are kept (an icon's margin)
    width = first
    while start < n:
        end, used, last_space = start, 0, -1
        while end < n:
            used += cell_len(plain[end])
            if used > width:
                break
            if plain[end] == " ":
                last_space = end
            end += 1
        if end >= n:
            lines.append((start, n))
            break
        cut = last_space if last_space > start else end  # a word wider than the line is cut
        if cut == start:
            cut = start + 1
        lines.append((start, cut))
        start = cut
        while start < n and plain[start] == " ":
            start += 1
        width = rest
    return lines


def hang(text: Text, width: int, indent: int) -> list[Text]:
    """`text` as lines of at most `width` cells, every line after the first starting with
    `indent` spaces (never at column 0)."""
    width = max(2, width)
    indent = min(indent, width // 2)
    out = []
    for i, (start, end) in enumerate(breaks(text.plain, width, width - indent)):
        line = text[start:end]
        line.rstrip()
        if i:
            line = Text(" " * indent) + line
        out.append(line)
    return out or [Text("")]


def fits(text: Text, width: int, indent: int, max_lines: int) -> bool:
    return len(breaks(text.plain, max(2, width), max(2, width) - min(indent, width // 2))) <= max_lines


def clip_lines(lines: list[Text], max_lines: int, width: int) -> list[Text]:
    """At most `max_lines` lines; when some are dropped the last one kept ends in "…" at a space."""
    if len(lines) <= max_lines:
        return lines
    kept = lines[:max_lines]
    last = kept[-1]
    plain = last.plain
    room = width - 1
    cut = plain.rfind(" ", 0, room + 1) if cell_len(plain) > room else len(plain)
    if cut <= len(plain) - len(plain.lstrip()):
        cut = min(len(plain), room)
    last = last[:cut]
    last.rstrip()
    last.append(ELLIPSIS)
    kept[-1] = last
    return kept
