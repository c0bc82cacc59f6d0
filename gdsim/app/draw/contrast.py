"""Readable colours: WCAG contrast, and component styles blended the way they look on screen.

Textual's `get_component_rich_style` drops a colour's alpha (`$warning 10%` becomes the full
warning colour, `auto 87%` is not resolved against the background), which made a lesson's inline
code and the run table's selected row hard or impossible to read in several themes. Here a
component's background is laid over the widget's own, its text colour over that, and a text
colour that still falls short of WCAG AA (4.5:1) is moved towards black or white until it meets it.
"""

from __future__ import annotations

from functools import lru_cache

from rich.color import Color as RichColor
from rich.style import Style
from textual.color import BLACK, WHITE, Color

AA = 4.5  # WCAG 2.x level AA for normal text


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4


def luminance(colour: Color) -> float:
    """WCAG 2.x relative luminance of an opaque sRGB colour, 0 (black) to 1 (white)."""
    return 0.2126 * _channel(colour.r) + 0.7152 * _channel(colour.g) + 0.0722 * _channel(colour.b)


def contrast_ratio(foreground: Color, background: Color) -> float:
    """WCAG contrast ratio of two opaque colours, 1 to 21."""
    a, b = luminance(foreground), luminance(background)
    return (max(a, b) + 0.05) / (min(a, b) + 0.05)


def readable(foreground: Color, background: Color, minimum: float = AA) -> Color:
    """`foreground`, or the nearest colour towards black or white that reaches `minimum` on
    `background` (the hue is kept as far as the contrast allows)."""
    if contrast_ratio(foreground, background) >= minimum:
        return foreground
    extreme = max((BLACK, WHITE), key=lambda c: contrast_ratio(c, background))
    low, high = 0.0, 1.0
    for _ in range(12):  # bisection on the blend factor; contrast grows monotonically towards the extreme
        middle = (low + high) / 2
        if contrast_ratio(foreground.blend(extreme, middle, 1.0), background) >= minimum:
            high = middle
        else:
            low = middle
    return foreground.blend(extreme, high, 1.0)


def component_style(widget, name: str, background: Color | None = None, minimum: float = AA) -> Style:
    """The rich Style of `widget`'s component class `name` as it appears on screen: its
    background blended over `background` (default: the widget's own), its text colour over that
    (an `auto` colour resolved), made readable, plus its text style (bold, reverse...)."""
    styles = widget.get_component_styles(name)
    base = widget.rich_style
    under = background if background is not None else _colour(base.bgcolor, BLACK)
    return _blended(under, styles.background if styles.has_rule("background") else None,
                    styles.color if styles.has_rule("color") else None, _colour(base.color, WHITE),
                    styles.text_style, minimum)


@lru_cache(maxsize=256)
def _blended(under: Color, background: Color | None, colour: Color | None, text: Color, text_style: Style,
             minimum: float) -> Style:
    bg = under + background if background is not None else under
    fg = bg + colour if colour is not None else text
    if bg.ansi is None and fg.ansi is None:  # a terminal's own ANSI colours are its to choose
        fg = readable(fg, bg, minimum)
    return Style(color=fg.rich_color, bgcolor=bg.rich_color) + text_style


def _colour(colour: RichColor | None, default: Color) -> Color:
    return default if colour is None else Color.from_rich_color(colour)


GRAPHICS = 3.0  # WCAG 2.1 non-text contrast (1.4.11): lines, dots and marks of a plot


@lru_cache(maxsize=256)
def on_ground(look: Style) -> Style:
    """`look` (a drawn cell's style, the widget's base under it) with its colour made to show at
    GRAPHICS contrast on its own background: the run colours are chosen for dark grounds (#ffb347 and
    #6bd968 were 1.35:1 on textual-light's panel, #c8c8c8 data points 1.13:1). Unchanged where they
    already show, and for a terminal's own ANSI colours."""
    if look.color is None or look.bgcolor is None or look.color.is_default or look.bgcolor.is_default:
        return look
    fg, bg = Color.from_rich_color(look.color), Color.from_rich_color(look.bgcolor)
    if fg.ansi is not None or bg.ansi is not None:
        return look
    shown = readable(fg, bg, GRAPHICS)
    return look if shown == fg else look + Style(color=shown.rich_color)


# the theme colours gdsim.tcss and the footer colour words with
TEXT_COLOURS = ("text-success", "text-warning", "text-error", "text-accent", "footer-key-foreground")
GROUNDS = ("background", "surface", "panel")  # what those words are drawn on
QUIET = 0.6  # text-quiet: this much of the way from the background to the foreground, before AA


def with_readable_text(theme):
    """`theme` (a textual.theme.Theme), with the colours it writes words in (TEXT_COLOURS) moved
    towards black or white until each reads at AA on every ground. On textual-light's #E0E0E0
    Textual's own reach 3.3:1 (text-warning, text-accent: lesson titles), 3.8:1 (text-success), 2.9:1
    (the footer's keys on its #D0D0D0), and $success itself 1.8:1: the verdicts, the notices and the
    run table's states were hard to read there. Also `text-quiet`, the colour of quieter words
    (inactive tabs, the status line's "/ 300" and title): the foreground blended QUIET of the way
    from the background, made to read at AA on every ground (Textual's inactive tab, $foreground
    50%, was 3.03:1 on textual-light, 3.55:1 on nord; dim text 4.40:1 and 3.78:1)."""
    from dataclasses import replace

    colours = theme.to_color_system().generate()
    grounds = [Color.parse(colours[name]) for name in GROUNDS]
    quiet = Color.parse(colours["background"]).blend(Color.parse(colours["foreground"]), QUIET, 1.0)
    for _ in range(len(grounds)):
        quiet = readable(quiet, min(grounds, key=lambda ground: contrast_ratio(quiet, ground)))
    moved = {"text-quiet": quiet.hex}
    for name in TEXT_COLOURS:
        colour = Color.parse(colours[name])
        for _ in range(len(grounds)):  # each move is towards the same extreme on grounds this alike
            worst = min(grounds, key=lambda ground: contrast_ratio(colour, ground))
            colour = readable(colour, worst)
        if colour != Color.parse(colours[name]):
            moved[name] = colour.hex
    return replace(theme, variables={**theme.variables, **moved})
