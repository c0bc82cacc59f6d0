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
