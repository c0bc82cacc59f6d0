"""Colours for runs and maps, and their monochrome stand-ins (themes, NO_COLOR, 256-colour terminals)."""

from __future__ import annotations

from functools import lru_cache

from rich.color import Color
from rich.style import Style

# Distinct on dark and light backgrounds and still distinct after reduction to 256 colours.
RUN_COLOURS = ("#4ea1ff", "#ff6b6b", "#6bd968", "#ffb347", "#c77dff", "#2ec4b6", "#f15bb5", "#d4d46a")
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
MONO_THEME = "gdsim-mono"

# A perceptually ordered ramp (viridis-like) for surface heights: low = dark blue, high = yellow.
SURFACE_RAMP = (
    "#1b0c41", "#2b1165", "#3b0f70", "#4f127b", "#5c3c8c", "#3e4a89", "#31688e", "#26828e",
    "#1f9e89", "#35b779", "#6ece58", "#b5de2b", "#dde318", "#fde725",
)
# Decision maps: class 0 blue .. undecided grey .. class 1 red.
CLASS_RAMP = ("#1d3f8a", "#2f5fb3", "#6b8fd1", "#a9b8d8", "#d8c4b4", "#e09b7f", "#d1604a", "#a82a25")
MONO_SHADES = " .:-=+*#%@"


def letter(index: int) -> str:
    return LETTERS[index % len(LETTERS)]


@lru_cache(maxsize=64)
def run_style(index: int, mono: bool, bold: bool = False) -> Style:
    """The style of run `index`'s lines and marks; in monochrome every run uses the foreground."""
    if mono:
        return Style(bold=bold)
    return Style(color=Color.parse(RUN_COLOURS[index % len(RUN_COLOURS)]), bold=bold)


@lru_cache(maxsize=64)
def band_style(index: int, mono: bool) -> Style:
    """An ensemble's percentile band: the run colour, dimmed."""
    if mono:
        return Style(dim=True)
    return Style(color=Color.parse(RUN_COLOURS[index % len(RUN_COLOURS)]), dim=True)


@lru_cache(maxsize=4096)
def half_block(top: str, bottom: str) -> Style:
    """Style for '▀': top colour in the foreground, bottom colour in the background."""
    return Style(color=Color.parse(top), bgcolor=Color.parse(bottom))


@lru_cache(maxsize=256)
def over(colour: str | None, background: str, bold: bool = False) -> Style:
    """A mark (path dot, run letter) drawn over a map cell of colour `background`."""
    return Style(color=Color.parse(colour) if colour else None, bgcolor=Color.parse(background), bold=bold)
