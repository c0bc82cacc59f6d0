"""Monochrome (NO_COLOR, gdsim-mono): what a learner must tell apart is named, not coloured: the
Data tab's fitted lines, each ensemble's cloud on the map, and the decision map's region fills."""

from __future__ import annotations

from gdsim.app.draw import map_marks, palette
from gdsim.app.draw.landscape_draw import mono_fill
from gdsim.app.widgets.fit_view import FitView
from gdsim.app.widgets.surface_map import SurfaceMap
from tests.app.conftest import make_app
from tests.app.test_data_tab import app_from, open_data
from tests.app.test_map import open_map


def reversed_cells(widget) -> list[tuple[int, str]]:
    """(row, text) of what the widget draws in reverse video."""
    return [(y, segment.text) for y, strip in enumerate(widget._strips) for segment in strip
            if segment.style is not None and segment.style.reverse and segment.text.strip()]


async def test_each_fitted_line_carries_its_letter_in_monochrome(tmp_path, monkeypatch):
    """mae-vs-mse's MSE, MAE and clean lines were three white lines named nowhere but the legend."""
    monkeypatch.setenv("NO_COLOR", "1")
    app = app_from(tmp_path, builtin="mae-vs-mse")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_data(pilot, 300)
        view = screen.query_one(FitView)
        names = reversed_cells(view)
        letters = [text for _, text in names if text.islower()]
        assert sorted("".join(letters)) == ["a", "b", "c"], names
        # the MAE fit ends where the clean one does: side by side on one row, not on the MSE line's
        row = {text: y for y, text in names for text in text if text.islower()}
        assert row["b"] == row["c"] != row["a"], names


async def test_colour_draws_no_letters_on_the_fitted_lines(tmp_path):
    app = app_from(tmp_path, builtin="mae-vs-mse")
    async with app.run_test(size=(120, 40)) as pilot:
        view = (await open_data(pilot, 300)).query_one(FitView)
        assert not [text for _, text in reversed_cells(view) if text.islower()]


async def test_each_ensembles_cloud_carries_its_letter_in_monochrome(monkeypatch):
    """Every cloud is the same shade glyphs in monochrome and the legend gave each the same "░▓":
    the cloud carries its letter (reverse video) and the legend names that letter."""
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app("ensemble")
    async with app.run_test(size=(120, 40)) as pilot:
        screen, surface = await open_map(pilot, 60)
        cells = reversed_cells(surface)
        legend_row = len(surface._strips) - 1
        on_map = [text for y, text in cells if y != legend_row]
        in_legend = [text for y, text in cells if y == legend_row]
        assert "B" in "".join(on_map) and "B" in "".join(in_legend), cells  # the cloud (B) on the map and in the legend
        assert "░▓" not in surface._strips[-1].text


def test_the_decision_legend_names_each_class_region_fill_in_monochrome():
    """softmax-spirals in monochrome: regions blank / "." / ":" that no legend explained."""
    ramp = palette.RUN_COLOURS
    fills = [mono_fill(k, len(ramp)) for k in range(3)]
    assert fills == [" ", ".", ":"]
    text = "".join(t for t, _ in map_marks.decision_legend(("a", "b", "c"), list(ramp[:3]), "", True, fills))
    assert "a on blank" in text and "b on .." in text and "c on ::" in text, text
    binary = [mono_fill(level, len(palette.CLASS_RAMP)) for level in (0, len(palette.CLASS_RAMP) - 1)]
    assert binary[0] == " " and binary[1] != " "
    coloured = "".join(t for t, _ in map_marks.decision_legend(("a", "b"), ["#000000", "#ffffff"], "", False, binary))
    assert " on " not in coloured  # colours say it
