"""The braille canvas: strips say, cell by cell, what a plain per-cell reading of the canvas says."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.style import Style

from gdsim.app.draw.canvas import Canvas

RED, BLUE, BOLD = Style(color="red"), Style(color="blue"), Style(bold=True)


def reference(canvas: Canvas, base: Style) -> list[list[tuple[str, Style]]]:
    """Each cell's character and style, read one cell at a time."""
    out = []
    for row in range(canvas.rows):
        line = []
        for col in range(canvas.cols):
            if (row, col) in canvas.chars:
                char, style = canvas.chars[(row, col)]
            elif canvas.bits[row, col]:
                char, style = chr(0x2800 + int(canvas.bits[row, col])), canvas.styles[canvas.colour[row, col]]
            else:
                char, style = " ", Style()
            line.append((char, base + style))
        out.append(line)
    return out


def cells(strip) -> list[tuple[str, Style]]:
    return [(char, segment.style) for segment in strip for char in segment.text]


def test_a_line_and_labels():
    canvas = Canvas(10, 3)
    canvas.line(np.array([0.0, 19.0]), np.array([11.0, 0.0]), RED)
    canvas.text(1, 2, "ab", BOLD)
    strips = canvas.strips()
    assert [strip.cell_length for strip in strips] == [10, 10, 10]
    assert [cells(s) for s in strips] == reference(canvas, Style())
    assert "ab" in strips[1].text
    assert any("\u2800" < char <= "\u28ff" for char in strips[0].text)  # braille dots were drawn


def test_an_empty_canvas():
    assert Canvas(0, 3).strips()[0].cell_length == 0
    assert Canvas(4, 0).strips() == []
    assert [s.text for s in Canvas(3, 2).strips()] == ["   ", "   "]


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 30), st.integers(1, 8),
    st.lists(st.tuples(st.floats(-5, 70), st.floats(-5, 40), st.sampled_from([RED, BLUE])), max_size=40),
    st.lists(st.tuples(st.integers(-1, 9), st.integers(-2, 31), st.text("xy│·", min_size=1, max_size=4)), max_size=6),
)
def test_strips_match_a_cell_by_cell_reading(cols, rows, dots, labels):
    canvas = Canvas(cols, rows)
    for x, y, style in dots:
        canvas.dots(np.array([x]), np.array([y]), style)
    for row, col, text in labels:
        canvas.text(row, col, text, BOLD)
    base = Style(bgcolor="black")
    strips = canvas.strips(base)
    assert [cells(s) for s in strips] == reference(canvas, base)
    assert all(strip.cell_length == cols for strip in strips)


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 20), st.integers(1, 6),
    st.lists(st.tuples(st.floats(-5, 45), st.floats(-5, 30), st.sampled_from([RED, BLUE])), max_size=30),
    st.lists(st.tuples(st.floats(-5, 45), st.floats(-5, 30), st.sampled_from([RED, BLUE])), max_size=5),
)
def test_rows_unchanged_since_the_previous_frame_are_reused(cols, rows, dots, more):
    """A frame drawn from the previous one is what a fresh drawing would be, and rows that did not
    change are the previous frame's own Strips (so the widget repaints only the others)."""
    def draw(points):
        canvas = Canvas(cols, rows)
        for x, y, style in points:
            canvas.dots(np.array([x]), np.array([y]), style)
        canvas.text(0, 0, "t", BOLD)
        return canvas

    before = draw(dots)
    first = before.strips()
    after = draw(dots + more)
    second = after.strips(previous=before)
    fresh = draw(dots + more).strips()
    assert [cells(s) for s in second] == [cells(s) for s in fresh] == reference(after, Style())
    for row in range(rows):
        same = (after.bits[row] == before.bits[row]).all() and (after.colour[row] == before.colour[row]).all()
        if same and before.styles == after.styles:
            assert second[row] is first[row]
        if second[row] is first[row]:
            assert cells(first[row]) == cells(fresh[row])


def test_drawn_colours_show_on_their_ground():
    """A run colour chosen for dark grounds is darkened on a light one until it shows at 3:1 (WCAG's
    non-text contrast); where it already shows, and for a terminal's ANSI colours, it is kept."""
    from textual.color import Color

    from gdsim.app.draw.contrast import GRAPHICS, contrast_ratio

    canvas = Canvas(6, 1)
    canvas.line(np.array([0.0, 11.0]), np.array([1.0, 1.0]), Style(color="#ffb347"))  # run D's orange
    canvas.text(0, 0, "x", Style(color="red"))
    light, dark = Style(color="#1f1f1f", bgcolor="#e0e0e0"), Style(color="#e0e0e0", bgcolor="#121212")
    (on_light,) = canvas.strips(light)
    shown = {segment.text: segment.style for segment in on_light}
    drawn = next(style for text, style in shown.items() if text[0] != "x")
    assert contrast_ratio(Color.parse(drawn.color.name), Color.parse("#e0e0e0")) >= GRAPHICS
    assert drawn.color.name != "#ffb347"  # 1.35:1 there before
    assert shown["x"].color.name == "red"  # the terminal's own colour: its to choose
    (on_dark,) = canvas.strips(dark)
    assert any(segment.style.color.name == "#ffb347" for segment in on_dark)  # 8.7:1: kept


def test_a_maps_picture_and_its_colour_scale_keep_their_colours():
    """0362fcb made every drawn colour show at 3:1 on its ground, and the map's ▀ cells (the top pixel's
    colour on the bottom pixel's) were recoloured against each other: every surface map came out in
    stripes, in every theme, its colour scale too. Picture cells keep their colours; marks over
    them (path dots) still show."""
    from textual.color import Color

    from gdsim.app.draw import palette
    from gdsim.app.draw.contrast import GRAPHICS, contrast_ratio

    top, bottom = "#35b779", "#6ece58"  # neighbouring viridis greens: 1.3:1, a picture, not a mark
    canvas = Canvas(4, 2)
    styles = [palette.half_block(top, bottom)]
    canvas.ground(0, 0, np.full((2, 4), ord("▀")), np.zeros((2, 4), dtype=np.int32), styles,
                  np.zeros((2, 4), dtype=np.int32), [bottom])
    canvas.dots(np.array([0.0, 1.0]), np.array([0.0, 1.0]), Style(color="#ffb347"))  # a path over it
    canvas.text(1, 2, "██", Style(color="#fde725"))  # a colour-scale swatch on the panel
    for base in (Style(color="#1f1f1f", bgcolor="#e0e0e0"), Style(color="#e0e0e0", bgcolor="#121212")):
        first, second = canvas.strips(base)
        cells = {}
        for segment in [*first, *second]:
            cells.setdefault(segment.text[0], segment.style)
        assert cells["▀"].color.name == top and cells["▀"].bgcolor.name == bottom
        assert cells["█"].color.name == "#fde725"
        dot = next(style for char, style in cells.items() if 0x2800 <= ord(char) <= 0x28FF)
        assert dot.bgcolor.name == bottom  # the path dot on the picture's colour, shown at 3:1 there
        assert contrast_ratio(Color.parse(dot.color.name), Color.parse(bottom)) >= GRAPHICS
