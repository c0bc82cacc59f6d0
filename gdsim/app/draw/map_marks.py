"""What a map writes around its picture: round axis ticks, the loss colour scale, and the legend.

Everything here draws text into a Canvas; the map widget decides what to show.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from rich.color import Color
from rich.style import Style

from gdsim.app.draw import palette
from gdsim.app.draw.axes import tick
from gdsim.app.draw.canvas import Canvas
from gdsim.app.draw.map_view import MapFrame, round_ticks

DIM = Style(dim=True)
MINIMUM_MARKS = {"global": "◆", "local": "◇", "saddle": "×"}
MINIMUM_WORDS = {"global": "global min", "local": "local min", "saddle": "saddle"}
START_MARK = "○"
GRADIENT_COLOUR = "#ffffff"  # the −gradient arrow
VELOCITY_COLOUR = "#ffd23f"  # the velocity arrow


@dataclass
class MapOptions:
    """What the map shows beyond the paths; one per scenario screen, shared by its maps."""

    arrows: bool = False  # −gradient and velocity arrows at the selected run
    whole: bool = False  # (z) the surface's whole view box instead of the box fitted to the runs
    held_out: str = ""  # "", "val" or "test": which held-out points a decision map adds
    notes: list[str] = field(default_factory=list)  # what the last frame could not show (tests read it)


def axis_ticks(canvas: Canvas, frame: MapFrame, left: int, top: int) -> None:
    """Round tick values on the left edge (y) and under the map (x), each at its own row/column."""
    rows, cols = frame.rows, frame.cols
    width = left - 1
    for value in round_ticks(frame.ymin, frame.ymax, max(2, rows // 3)):
        row = int(np.floor((frame.ymax - value) / (frame.ymax - frame.ymin) * rows))
        if 0 <= row < rows:
            canvas.text(top + row, 0, tick(value, width).rjust(width) + "┤", DIM)
    bottom = top + rows
    used = -1
    for value in round_ticks(frame.xmin, frame.xmax, max(2, cols // 9)):
        col = int(np.floor((value - frame.xmin) / (frame.xmax - frame.xmin) * cols))
        label = "┴" + tick(value, 7)
        start = left + col
        if col < 0 or col >= cols or start <= used + 1 or start + len(label) > canvas.cols:
            continue
        canvas.text(bottom, start, label, DIM)
        used = start + len(label)


def colour_scale(canvas: Canvas, row: int, right: int, low: float, high: float, ramp, mono: bool) -> int:
    """'loss 0.01 ▇▇▇▇ 12' ending at column `right`; returns its first column (or right if none)."""
    if mono:
        blocks = [(shade, DIM) for shade in palette.MONO_SHADES[1:]]
    else:
        step = max(1, len(ramp) // 7)
        blocks = [("█", Style(color=Color.parse(colour))) for colour in ramp[::step]]
    pieces = [("loss ", DIM), (tick(low, 7) + " ", DIM), *blocks, (" " + tick(high, 7), DIM)]
    length = sum(len(text) for text, _ in pieces)
    start = right - length
    if start < 0:
        return right
    col = start
    for text, style in pieces:
        canvas.text(row, col, text, style)
        col += len(text)
    return start


def legend(canvas: Canvas, row: int, pieces: list[tuple[str, Style]]) -> None:
    """Legend pieces left to right on `row`, as many whole pieces as fit."""
    col = 0
    for text, style in pieces:
        if col + len(text) > canvas.cols:
            break
        canvas.text(row, col, text, style)
        col += len(text)


def surface_legend(kinds: set[str], runs: list[tuple[str, str, int, bool]], arrows: bool,
                   mono: bool, width: int, stretched: str = "") -> list[tuple[str, Style]]:
    """A stretch first (the picture is not to scale), markers present, then each run's letter and
    label (ensembles: their density glyphs), labels cut so that every run's letter fits in
    `width`. In monochrome every path is one colour and carries its run's letter in lower case:
    the legend says so ("a…: A's path")."""
    pieces: list[tuple[str, Style]] = []
    if stretched:
        pieces.append((f"{stretched} ", Style(bold=True, italic=True)))
    for kind in ("global", "local", "saddle"):
        if kind in kinds:
            pieces.append((f"{MINIMUM_MARKS[kind]} {MINIMUM_WORDS[kind]} ", Style(bold=True)))
    pieces.append((f"{START_MARK} start ", Style(bold=True)))
    singles = [letter for letter, _, _, ensemble in runs if not ensemble]
    if mono and singles:
        first = singles[0]
        pieces.append((f"{first.lower()}…: {first}'s path ", Style(bold=True)))
    if arrows:
        pieces.append(("→ −grad ", Style(bold=True) if mono else Style(color=GRADIENT_COLOUR, bold=True)))
        pieces.append(("→ velocity ", Style(bold=True, italic=True) if mono else Style(color=VELOCITY_COLOUR, bold=True)))
    used = sum(len(text) for text, _ in pieces)
    # a neutral label while the question is open ("run A") only repeats the letter beside it
    labels = ["" if label == f"run {letter}" else label for letter, label, _, _ in runs]
    budget = label_budget([len(label) for label in labels], max(0, width - used - 3 * len(runs)))
    shown = cut_labels(labels, budget)
    for (letter, _, colour, ensemble), text in zip(runs, shown):
        if ensemble and not mono:
            pieces.append(("░▓", palette.run_style(colour, mono)))
        elif ensemble:  # every cloud is the same glyphs in monochrome: its letter sits at its densest cell
            pieces.append((letter, head_style(colour, mono)))
        else:
            pieces.append((letter, head_style(colour, mono)))
        pieces.append((f" {text} " if budget > 1 and text else " ", DIM))
    return pieces


def label_budget(lengths: list[int], room: int) -> int:
    """The longest label length b such that the labels cut to b fit in `room` together: short
    labels leave their unused share to the long ones (momentum-overshoot's 'plain GD' gave its
    columns away while 'momentum 0.6/0.9/0.99' were all cut to 'momentum …')."""
    if not lengths or sum(lengths) <= room:
        return room  # everything fits
    low, high = 0, max(lengths)
    while low < high:
        middle = (low + high + 1) // 2
        if sum(min(n, middle) for n in lengths) <= room:
            low = middle
        else:
            high = middle - 1
    return low


def cut_labels(labels: list[str], budget: int) -> list[str]:
    """Each label cut to `budget` characters with "…", keeping what tells it from the others: a
    cut that would read the same for two labels ('momentum …' for 'momentum 0.6' and 'momentum
    0.9', 'to…' for 'too small' and 'too large') keeps the labels' distinct ends instead
    ('mom…0.6', '…all'/'…rge')."""
    heads = [label if len(label) <= budget else label[: max(0, budget - 1)].rstrip() + "…" for label in labels]
    out = list(heads)
    for i, label in enumerate(labels):
        if len(label) <= budget or budget < 2 or heads.count(heads[i]) < 2:
            continue
        same = [other for j, other in enumerate(labels) if heads[j] == heads[i] and j != i]
        common = 0  # the longest start the clashing labels share
        while all(common < len(o) and common < len(label) and o[common] == label[common] for o in same):
            common += 1
        common = label.rfind(" ", 0, common) + 1 or common  # back to a word's start: '0.6', not '6'
        tail = label[common:]
        if len(tail) + 1 >= budget:
            out[i] = "…" + label[-(budget - 1):]
        else:
            out[i] = label[: budget - 1 - len(tail)].rstrip() + "…" + tail
    return out


def decision_legend(class_names, shades: list[str], held_out: str, mono: bool,
                    fills: list[str] | None = None) -> list[tuple[str, Style]]:
    """Each class's glyph on its region colour; and how held-out points look, when shown. In
    monochrome the regions are shade glyphs, not colours: `fills` (each class's region glyph) are
    named too ("o class 0 on blank  x class 1 on %%"): softmax-spirals' blank / "." / ":" regions
    were explained nowhere."""
    pieces: list[tuple[str, Style]] = []
    for k, name in enumerate(class_names or ("class 0", "class 1")):
        back = shades[k] if k < len(shades) else None
        pieces.append((f" {class_glyph(k)} ", point_style(back, mono)))
        where = ""
        if mono and fills is not None and k < len(fills):
            where = " on blank" if fills[k] == " " else f" on {fills[k] * 2}"
        pieces.append((f" {str(name)[:12]}{where}  ", DIM))
    if held_out:
        pieces.append((" o ", point_style(None, mono, held=True)))
        pieces.append((f" {'validation' if held_out == 'val' else 'test'} points  ", DIM))
    return pieces


def class_glyph(label: int) -> str:
    return "o" if label == 0 else ("x" if label == 1 else str(label % 10))


def head_style(colour: int, mono: bool) -> Style:
    """A run's letter at its current point: black on the run colour (reverse video in monochrome)."""
    if mono:
        return Style(reverse=True, bold=True)
    return Style(color="#000000", bgcolor=palette.RUN_COLOURS[colour % len(palette.RUN_COLOURS)], bold=True)


def contrast_ink(background: str | None) -> str:
    """Black or white, whichever reads better on `background` (WCAG relative luminance)."""
    if background is None:
        return "#ffffff"
    r, g, b = Color.parse(background).get_truecolor()

    def channel(c: int) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    luminance = 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)
    return "#000000" if luminance > 0.179 else "#ffffff"


def point_style(background: str | None, mono: bool, held: bool = False) -> Style:
    """A data point's glyph: black or white ink by the region colour; held-out points reversed."""
    if mono:
        return Style(bold=True, reverse=held)
    ink = contrast_ink(background)
    if held:
        return Style(color=background or "#000000", bgcolor=ink, bold=True)
    return Style(color=ink, bgcolor=background, bold=True)
