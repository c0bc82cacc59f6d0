"""Making strings from scenario files inert: control characters stripped, never read as markup."""

from __future__ import annotations

import re

from rich.text import Text

# C0 and C1 controls, DEL, and bidi overrides/isolates that could disguise text on screen.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def clean(value: object, *, keep_newlines: bool = True) -> str:
    """`value` as a string with control characters removed (tabs become spaces)."""
    text = str(value).replace("\t", "    ").replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    if not keep_newlines:
        text = " ".join(text.split())
    return text


def inert(value: object, style: str = "", *, keep_newlines: bool = True) -> Text:
    """A rich Text that shows `value` literally: brackets stay brackets, no escape codes reach the terminal."""
    return Text(clean(value, keep_newlines=keep_newlines), style=style)


def short(value: object, width: int) -> str:
    """One cleaned line, cut to `width` characters with an ellipsis."""
    text = clean(value, keep_newlines=False)
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def first_fit(options: list[str], width: int) -> str:
    """The first of `options` (longest, most telling first) that fits `width` whole; the last one cut
    if none does. A title says less on a narrow screen rather than stopping mid-word."""
    for option in options:
        text = clean(option, keep_newlines=False)
        if len(text) <= width:
            return text
    return short(options[-1], width)


# [text](url "title") and ![alt](url), outside code; <https://...> autolinks.
_LINK = re.compile(r"(!?)\[([^\]\n]*)\]\(\s*<?([^\s()<>]*)>?(?:\s+(?:\"[^\"]*\"|'[^']*'))?\s*\)")
_AUTOLINK = re.compile(r"<((?:https?|ftp|mailto|file):[^\s<>]*)>", re.IGNORECASE)
_REFERENCE = re.compile(r"^( {0,3})\[([^\]\n]+)\]:[ \t]*<?([^\s<>]+)>?.*$", re.MULTILINE)
_CODE = re.compile(r"(```.*?```|~~~.*?~~~|`[^`\n]*`)", re.DOTALL)


def inert_links(markdown: str) -> str:
    """Markdown whose links are plain text: `[text](url)` becomes `text (url)`, an autolink its
    URL, with the URL in a code span so that nothing makes it a link again. Code is left alone."""
    def unlink(match: re.Match) -> str:
        image, text, url = match.groups()
        shown = f"`{url.replace('`', '')}`" if url else ""
        label = f"image: {text}" if image else text
        return f"{label} ({shown})" if shown and label else (label or shown)

    parts = _CODE.split(markdown)
    for i in range(0, len(parts), 2):  # the even parts are outside code
        # A reference definition shown as text: the links using it stay as they were typed.
        parts[i] = _REFERENCE.sub(lambda m: f"{m.group(1)}\\[{m.group(2)}\\]: `{m.group(3)}`", parts[i])
        parts[i] = _AUTOLINK.sub(lambda m: f"`{m.group(1).replace('`', '')}`", _LINK.sub(unlink, parts[i]))
    return "".join(parts)
