"""Whole-cell pictures: half-block pixel images (top pixel in the foreground, bottom in the
background) and one-bit bitmaps for monochrome."""

from __future__ import annotations

import numpy as np

from gdsim.app.draw.canvas import Canvas
from gdsim.app.draw.tiles import Tiles, levels, pair_rows


def test_an_image_puts_two_pixels_in_a_cell_top_as_foreground():
    tiles = Tiles(3, 4)
    ramp = ("#000000", "#ffffff")
    tiles.image(1, 1, np.array([[0, 1], [1, 0]]), ramp)
    assert chr(tiles.codes[1, 1]) == "▀" and chr(tiles.codes[1, 2]) == "▀" and chr(tiles.codes[0, 0]) == " "
    left, right = tiles.styles[tiles.looks[1, 1]], tiles.styles[tiles.looks[1, 2]]
    assert left.color.triplet.hex == "#000000" and left.bgcolor.triplet.hex == "#ffffff"
    assert right.color.triplet.hex == "#ffffff" and right.bgcolor.triplet.hex == "#000000"
    assert tiles.backs[(1, 1)] == "#ffffff"
    canvas = Canvas(4, 3)
    tiles.draw(canvas)
    assert canvas.strips()[1].text == " ▀▀ "


def test_a_bitmap_keeps_each_pixel_and_pictures_are_cut_to_the_canvas():
    tiles = Tiles(2, 3)
    on = np.array([[1, 0, 1, 0], [1, 1, 0, 0]], dtype=bool)  # 2 pixel rows: one cell row, 4 columns
    tiles.bitmap(0, 0, on)
    assert "".join(chr(c) for c in tiles.codes[0]) == "█▄▀"  # the fourth column falls off the canvas
    assert levels(np.array([-1.0, 0.0, 0.49, 0.5, 2.0, np.nan]), 0.0, 1.0, 2).tolist() == [0, 0, 0, 1, 1, 1]
    np.testing.assert_allclose(pair_rows(np.array([[0.0, 1.0], [1.0, 1.0], [5.0, 5.0]])), [[0.5, 1.0]])
