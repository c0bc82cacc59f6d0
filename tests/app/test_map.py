"""The map: connected paths, equal aspect, zoom, arrows, ensemble counts, markers, decision maps."""

from __future__ import annotations

import re

import numpy as np
import pytest

from gdsim.app.draw import map_marks, palette
from gdsim.app.draw.canvas import interpolate
from gdsim.app.draw.map_view import CELL_ASPECT, DENSITY_GLYPHS, equal_aspect, round_ticks
from gdsim.app.widgets.surface_map import LABEL_WIDTH, SurfaceMap
from tests.app.conftest import make_app


async def open_map(pilot, steps: int):
    screen = pilot.app.screen
    screen.session.step(steps)
    await pilot.press("2")
    await pilot.pause(0.2)
    screen.redraw(force=True)
    await pilot.pause()
    return screen, screen.query_one("#map-full", SurfaceMap)


def text(surface: SurfaceMap) -> str:
    return "\n".join(strip.text for strip in surface._strips)


ZIGZAG = """
[scenario]
title = "zig-zag"
claim = "x"
steps = 100
[problem]
surface = "quadratic"
condition = 10
[optimizer]
name = "sgd"
lr = 0.19
[[runs]]
label = "zigzag"
start = [4.0, 3.0]
"""


def app_from(tmp_path, source: str):
    from gdsim.app.app import GdsimApp
    from gdsim.scenario.load import load_scenario

    path = tmp_path / "s.toml"
    path.write_text(source)
    return GdsimApp(load_scenario(path))


async def test_consecutive_path_points_are_joined(tmp_path):
    app = app_from(tmp_path, ZIGZAG)  # a zig-zag across a narrow valley: long jumps between records
    async with app.run_test(size=(120, 40)) as pilot:
        screen, surface = await open_map(pilot, 40)
        frame, canvas = surface.frame, surface.canvas
        steps, params = screen.session.sim.history.series("params")
        path = params[: screen.session.sim.history.count, 0]
        px, py = frame.pixels(path)
        px, py = px + 2 * LABEL_WIDTH, py + 4
        long = np.hypot(np.diff(px), np.diff(py)) > 8  # segments spanning several cells
        assert long.sum() >= 3
        for i in np.flatnonzero(long):
            xs, ys = interpolate(px[i : i + 2], py[i : i + 2])
            for x, y in zip(xs[1:-1], ys[1:-1]):
                row, col = int(round(y)) >> 2, int(round(x)) >> 1
                if 1 <= row <= frame.rows and LABEL_WIDTH <= col < canvas.cols:
                    assert canvas.bits[row, col] or (row, col) in canvas.chars, (i, row, col)


@pytest.mark.parametrize("size", [(80, 24), (120, 40), (200, 60)])
async def test_equal_aspect_at_every_size(size):
    app = make_app("three_runs")
    async with app.run_test(size=size) as pilot:
        screen, surface = await (open_map(pilot, 10) if size[0] < 150 else _inline(pilot))
        frame = surface.frame
        assert frame.per_row == pytest.approx(CELL_ASPECT * frame.per_col, rel=1e-9)
        await pilot.press("z")  # the whole view box: held, and as tight as it can be
        await pilot.pause()
        frame = surface.frame
        assert frame.per_row == pytest.approx(CELL_ASPECT * frame.per_col, rel=1e-9)
        view = screen.session.sim.cohorts[0].problem.view
        assert frame.xmin <= view[0] and frame.xmax >= view[1]
        assert frame.ymin <= view[2] and frame.ymax >= view[3]
        assert min(frame.xmax - frame.xmin - (view[1] - view[0]),
                   frame.ymax - frame.ymin - (view[3] - view[2])) == pytest.approx(0, abs=1e-9)


async def _inline(pilot):
    screen = pilot.app.screen
    screen.session.step(10)
    screen.redraw(force=True)
    await pilot.pause()
    return screen, screen.query_one("#map-inline", SurfaceMap)


async def test_map_shows_the_runs_by_default_and_z_the_whole_surface():
    """global-minimum's map spanned +-10 at 80x24 (equal aspect on a short map) while its runs stay within +-2: by default it
    is fitted to the paths and the global minimum (at 80x24 they spanned 3-7 columns before)."""
    from gdsim.app.app import GdsimApp
    from gdsim.scenario.load import load_scenario
    from gdsim.scenario.library import builtin_dir

    app = GdsimApp(load_scenario(builtin_dir() / "global-minimum.toml"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("0")  # skip the question
        screen, surface = await open_map(pilot, 30)
        problem = screen.session.sim.cohorts[0].problem
        whole, fitted = problem.view, surface.frame.view
        await pilot.press("z")
        await pilot.pause()
        shown = surface.frame.view  # the whole view box, widened to equal aspect on a short map
        assert shown[0] <= whole[0] and shown[1] >= whole[1] and "(whole: z)" in text(surface)
        assert fitted[1] - fitted[0] < 0.6 * (shown[1] - shown[0])
        history = screen.session.sim.history
        single = [int(r.rows[0]) for r in screen.session.display if not r.ensemble]
        points = history.series("params")[1][: history.count][:, single].reshape(-1, 2)
        minima = [m.point for m in problem.minima if m.kind == "global"]
        for x, y in [*points.tolist(), *minima]:
            assert fitted[0] <= x <= fitted[1] and fitted[2] <= y <= fitted[3]
        await pilot.press("z")
        await pilot.pause()
        assert surface.frame.view == fitted and "whole" not in text(surface)


async def test_arrow_key_draws_gradient_and_velocity_arrows():
    app = make_app("three_runs")
    async with app.run_test(size=(120, 40)) as pilot:
        screen, surface = await open_map(pilot, 20)
        screen.session.select(1)  # momentum: it has a velocity
        screen.redraw(force=True)
        await pilot.pause()
        heads = set("→↗↑↖←↙↓↘")
        assert not any(char in heads for char, _ in surface.canvas.chars.values())
        await pilot.press("g")
        await pilot.pause()
        assert screen.map_options.arrows
        drawn = [(char, style) for char, style in surface.canvas.chars.values() if char in heads]
        colours = {style.color.name.lower() if style.color else None for _, style in drawn}
        assert {map_marks.GRADIENT_COLOUR, map_marks.VELOCITY_COLOUR} <= colours
        assert "velocity" in text(surface)  # the legend says what the arrows are
        await pilot.press("g")
        await pilot.pause()
        assert not any(char in heads for char, _ in surface.canvas.chars.values())


async def test_run_letters_never_hide_a_minimum_marker():
    app = make_app("three_runs")
    async with app.run_test(size=(120, 40)) as pilot:
        screen, surface = await open_map(pilot, 3000)  # Adam (C) sits on the minimum by now
        problem = screen.session.sim.cohorts[0].problem
        # exactly on it: (1, 1) can fall on a cell boundary, where 1 - 1e-16 is the next cell
        adam = next(c for c in screen.session.sim.cohorts if 2 in c.rows)
        adam.params[:] = problem.minima[0].point
        screen.redraw(force=True)
        await pilot.pause()
        cell = surface.frame.cell(problem.minima[0].point)
        assert surface.frame.cell(screen.session.sim.params[2], clamp=True) == cell
        char, _ = surface.canvas.chars[(cell[1] + 1, cell[0] + LABEL_WIDTH)]
        assert char == map_marks.MINIMUM_MARKS[problem.minima[0].kind]
        assert "C" in {c for c, _ in surface.canvas.chars.values()}



async def test_ensemble_end_points_as_density_and_counts_at_the_minimum():
    app = make_app("ensemble")
    async with app.run_test(size=(120, 40)) as pilot:
        screen, surface = await open_map(pilot, 100)
        session = screen.session
        cloud = next(run for run in session.display if run.ensemble)
        points = session.sim.params[cloud.rows]
        problem = session.sim.cohorts[0].problem
        index, distance = problem.nearest_minimum(points)
        view = problem.view
        near = 0.01 * np.hypot(view[1] - view[0], view[3] - view[2])
        expected = int(np.sum((index == 0) & (distance <= near)))
        assert f"{expected}/{len(points)}" in text(surface)
        glyphs = [char for (row, _), (char, _) in surface.canvas.chars.items()
                  if char in DENSITY_GLYPHS and 1 <= row <= surface.frame.rows]
        col, row = surface.frame.cells(points)
        assert 0 < len(glyphs) <= len({(c, r) for c, r in zip(col.tolist(), row.tolist())})


def test_count_labels_take_a_free_side_or_none():
    from gdsim.app.widgets.surface_map import label_place

    taken = {(10, 5)}  # the marker itself
    assert label_place((10, 5), 6, taken, 40, 10) == (11, 5)  # right of it
    taken |= {(11, 5), (12, 5)}  # a second marker (or a letter) just right of it
    assert label_place((10, 5), 6, taken, 40, 10) == (4, 5)  # left
    taken |= {(4, 5)}
    assert label_place((10, 5), 6, taken, 40, 10) == (8, 4)  # above, centred
    taken |= {(9, 4)}
    assert label_place((10, 5), 6, taken, 40, 10) == (8, 6)  # below
    taken |= {(13, 6)}
    assert label_place((10, 5), 6, taken, 40, 10) is None  # the caller puts it in the legend


async def test_two_well_counts_never_overlap_each_other_or_the_markers():
    """global-minimum at 80x24: the two wells' counts ran together over the local-minimum
    marker ('◆46/10054/100', no ◇)."""
    from gdsim.app.app import GdsimApp
    from gdsim.scenario.load import load_scenario
    from gdsim.scenario.library import builtin_dir

    app = GdsimApp(load_scenario(builtin_dir() / "global-minimum.toml"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("0")
        screen, surface = await open_map(pilot, 300)
        for _ in range(2):  # the fitted box and the whole view box
            shown = text(surface)
            assert "◆" in shown and "◇" in shown
            counts = re.findall(r"\d+/100", shown)
            assert len(counts) == 2, shown
            assert sum(int(c.split("/")[0]) for c in counts) == 100
            await pilot.press("z")
            await pilot.pause()


async def test_decision_map_held_out_points_and_class_legend():
    app = make_app("moons")
    async with app.run_test(size=(120, 40)) as pilot:
        screen, surface = await open_map(pilot, 20)
        held = [s for _, s in surface.canvas.chars.values() if s.bgcolor and s.color and s.bold and
                s.bgcolor.name in ("#000000", "#ffffff")]
        assert not held
        assert "class 0" in text(surface) or "0" in text(surface)
        await pilot.press("V")
        await pilot.pause()
        assert screen.map_options.held_out == "val"
        problem = screen.session.sim.cohorts[0].problem
        x, _ = problem.split_points("val")
        assert len(x)
        assert "validation points" in text(surface)
        await pilot.press("V", "V")
        await pilot.pause()
        assert screen.map_options.held_out == ""


@pytest.mark.parametrize("colour", palette.CLASS_RAMP + palette.SURFACE_RAMP)
def test_point_glyphs_are_readable_on_every_region_colour(colour):
    ink = map_marks.contrast_ink(colour)

    def luminance(hex_colour):
        from rich.color import Color

        rgb = [c / 255 for c in Color.parse(hex_colour).get_truecolor()]
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    a, b = sorted((luminance(ink), luminance(colour)))
    assert (b + 0.05) / (a + 0.05) >= 4.5


def test_fit_box_holds_the_runs_and_global_minima_inside_the_view():
    from gdsim.app.widgets.surface_map import fit_box

    view = (-10.0, 10.0, -5.0, 5.0)
    diverged = np.array([[0.5, 0.2], [3.0, 1.0], [1e6, -1e6]])  # the last point left the view
    minima = np.array([[-1.0, 0.0]])
    box = fit_box(diverged, minima, view)
    assert box[0] < -1.0 and box[1] > 3.0 and box[2] < 0.0 and box[3] > 1.0
    assert box[1] - box[0] < 0.5 * (view[1] - view[0])
    assert view[0] <= box[0] and box[1] <= view[1] and view[2] <= box[2] and box[3] <= view[3]
    assert fit_box(np.zeros((0, 2)), np.zeros((0, 2)), view) == view


def test_round_ticks_and_equal_aspect():
    assert round_ticks(-1.234, 2.71, 4) == [-1.0, 0.0, 1.0, 2.0]
    assert round_ticks(0.013, 0.049, 3) == [0.02, 0.03, 0.04]
    assert round_ticks(0, 1, 5) == [0.0, 0.5, 1.0]
    assert round_ticks(-3.3387, 3.3387, 7) == [-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0]
    assert round_ticks(1, 1, 3) == []
    box = equal_aspect((-1, 1, -1, 1), 80, 20)
    assert (box[1] - box[0]) / 80 == pytest.approx((box[3] - box[2]) / (20 * CELL_ASPECT))


async def test_map_keys_are_in_the_help_and_explain_themselves_off_the_map():
    from gdsim.app.screens.help import HelpScreen

    app = make_app("moons")  # a decision map: no arrows, no zoom
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        body = str(app.screen.body)
        for words in ("gradient/velocity arrows", "the whole surface", "validation/test points"):
            assert words in body
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("g")
        await pilot.press("z")
        await pilot.pause()
        assert not app.screen.map_options.arrows and not app.screen.map_options.whole


async def test_arrows_follow_the_rewind_cursor():
    app = make_app("three_runs")
    async with app.run_test(size=(120, 40)) as pilot:
        screen, surface = await open_map(pilot, 40)
        screen.session.select(1)
        await pilot.press("g")
        await pilot.pause()
        heads = set("→↗↑↖←↙↓↘")
        live = {key for key, (char, _) in surface.canvas.chars.items() if char in heads}
        for _ in range(20):
            await pilot.press("left")
        await pilot.pause()
        assert screen.session.cursor is not None
        rewound = {key for key, (char, _) in surface.canvas.chars.items() if char in heads}
        assert rewound and rewound != live  # drawn from where the run was at the cursor


async def test_an_arrow_head_never_hides_a_minimum_marker(monkeypatch):
    from gdsim.app.widgets import surface_map

    app = make_app("three_runs")
    async with app.run_test(size=(120, 40)) as pilot:
        screen, surface = await open_map(pilot, 5)
        frame = surface.frame
        minimum = np.array(screen.session.sim.cohorts[0].problem.minima[0].point)
        reach = surface_map.ARROW_SHARE * min(2 * frame.cols, 4 * frame.rows)  # pixels
        start = minimum - np.array([reach / (2 * frame.cols) * (frame.xmax - frame.xmin), 0.0])
        # a run left of the minimum whose downhill direction points straight at it
        monkeypatch.setattr(surface_map, "_state_at", lambda session, row: (start, np.array([-1.0, 0.0]), None))
        await pilot.press("g")
        await pilot.pause()
        col, row = frame.cell(minimum)
        px, _ = frame.pixels(minimum)
        assert int((px[0] + 0.5 + 2 * LABEL_WIDTH) // 2) == col + LABEL_WIDTH  # the head would land on it
        assert surface.canvas.chars[(row + 1, col + LABEL_WIDTH)][0] == map_marks.MINIMUM_MARKS["global"]
        drawn = [key for key, (char, _) in surface.canvas.chars.items() if char == "→" and 1 <= key[0] <= frame.rows]
        assert not drawn  # its head had nowhere to go but the marker: left out


async def test_monochrome_paths_carry_their_run_letter():
    """In monochrome every path is the same foreground: each run's lower-case letter along its
    path tells them apart (it sits on a cell its path crosses)."""
    from gdsim.app.draw.palette import MONO_THEME

    app = make_app("three_runs")
    async with app.run_test(size=(120, 40)) as pilot:
        app.theme = MONO_THEME
        screen, surface = await open_map(pilot, 150)
        assert app.mono
        history = screen.session.sim.history
        for run in screen.session.display:
            path = history.series("params")[1][: history.count, int(run.rows[0])]
            col, row = surface.frame.cells(path)
            crossed = {(r + 1, c + LABEL_WIDTH) for c, r in zip(col.tolist(), row.tolist())}
            marks = [(r, c) for (r, c), (char, _) in surface.canvas.chars.items()
                     if char == run.letter.lower() and 1 <= r <= surface.frame.rows and c >= LABEL_WIDTH]
            assert marks and all(cell in crossed for cell in marks), (run.letter, marks)


def test_equal_aspect_is_relaxed_only_for_a_thin_strip():
    from gdsim.app.draw.map_view import MAX_STRETCH, MIN_SPAN, readable_aspect

    assert readable_aspect((-0.5, 0.5, -3.0, 3.0), 70, 7)[1] == MAX_STRETCH  # never more than this
    tall = (-1.0, 1.0, -3.0, 3.0)  # a zig-zag 2 wide and 6 high: 4.7 columns at equal aspect
    box, across, up = readable_aspect(tall, 70, 7)
    assert across > 1 and up == 1
    unit_x = (box[1] - box[0]) / 70
    assert (tall[1] - tall[0]) / unit_x >= MIN_SPAN  # the strip now spans at least MIN_SPAN columns
    assert box[2] <= tall[2] and box[3] >= tall[3]  # and still holds the whole height
    square = (-2.0, 2.0, -2.0, 2.0)
    assert readable_aspect(square, 70, 7)[1:] == (1.0, 1.0)
    assert readable_aspect(square, 70, 7)[0] == equal_aspect(square, 70, 7)
    wide = (-3.0, 3.0, -0.02, 0.02)
    box, across, up = readable_aspect(wide, 40, 20)
    assert up > 1 and across == 1


async def test_a_thin_zigzag_is_stretched_on_a_short_map_and_the_map_says_it_is_not_to_scale():
    """learning-rate at 80x24: equal aspect made its tall zig-zag about 6 columns wide."""
    from gdsim.app.app import GdsimApp
    from gdsim.scenario.library import builtin_dir
    from gdsim.scenario.load import load_scenario

    app = GdsimApp(load_scenario(builtin_dir() / "learning-rate.toml", id="learning-rate"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("0")
        screen, surface = await open_map(pilot, 200)
        history = screen.session.sim.history
        path = history.series("params")[1][: history.count, 2]  # 'too large', the zig-zag
        col, _ = surface.frame.cells(path)
        inside = col[(col >= 0) & (col < surface.frame.cols)]
        assert inside.max() - inside.min() >= 16  # about 6 at equal aspect
        assert "not to scale" in text(surface) and any("not to scale" in n for n in surface.options.notes)
        assert surface.frame.per_row != pytest.approx(CELL_ASPECT * surface.frame.per_col, rel=1e-3)


async def test_the_monochrome_legend_explains_the_path_letters():
    from gdsim.app.draw.palette import MONO_THEME

    app = make_app("three_runs")
    async with app.run_test(size=(120, 40)) as pilot:
        app.theme = MONO_THEME
        screen, surface = await open_map(pilot, 150)
        first = screen.session.display[0].letter
        assert f"{first.lower()}…: {first}'s path" in text(surface)
        app.theme = "textual-dark"
        screen.redraw(force=True)
        await pilot.pause()
        assert "'s path" not in text(surface)


def test_cut_labels_keep_what_tells_runs_apart():
    labels = ["plain GD", "momentum 0.6", "momentum 0.9", "momentum 0.99"]
    budget = map_marks.label_budget([len(label) for label in labels], 42)
    assert budget == 11  # 'plain GD' leaves its unused share to the others (an equal share was 7)
    assert map_marks.cut_labels(labels, budget) == ["plain GD", "momentu…0.6", "momentu…0.9", "moment…0.99"]
    assert map_marks.cut_labels(["too small", "just right", "too large"], 5) == ["…mall", "just…", "…arge"]
    assert map_marks.cut_labels(["from the left", "from the right"], 10) == ["from…left", "from…right"]
    assert map_marks.cut_labels(["alpha", "beta"], 9) == ["alpha", "beta"]  # fits: untouched
    assert map_marks.label_budget([5, 4], 9) == 9 and map_marks.label_budget([5, 4], 8) == 4
    assert map_marks.label_budget([5, 4], 0) == 0


async def test_the_map_legend_tells_runs_with_a_shared_label_start_apart(tmp_path):
    # momentum-overshoot at 120x40 read "A plain GD B momentum … C momentum … D momentum …"
    from gdsim.app.app import GdsimApp
    from gdsim.scenario.load import load_scenario

    runs = "".join(f'[[runs]]\nlabel = "{label}"\nstart = [-2.5, 1.5]\noptimizer = {{ momentum = {m} }}\n'
                   for label, m in (("plain GD", 0), ("momentum 0.6", 0.6), ("momentum 0.9", 0.9),
                                    ("momentum 0.99", 0.99)))
    path = tmp_path / "m.toml"
    path.write_text('[scenario]\ntitle = "t"\nclaim = "c"\nlesson = "' + "A lesson beside the map. " * 20
                    + '"\nsteps = 100\n[problem]\nsurface = "quadratic"\ncondition = 10\n'
                    '[optimizer]\nname = "sgd"\nlr = 0.05\n' + runs)
    app = GdsimApp(load_scenario(path))
    async with app.run_test(size=(120, 40)) as pilot:
        _, surface = await open_map(pilot, 100)
        row = [line for line in text(surface).split("\n") if "start" in line and "A" in line][-1]
        assert "momentum …" not in row
        for tail in ("0.6 ", "0.9 ", "0.99 "):
            assert tail in row + " ", row


async def test_a_run_with_gradient_noise_is_drawn_on_the_same_surfaces_map(tmp_path):
    # saddle-point's 'noisy' run (problem = { noise = 0.3 }) has a problem object of its own and was
    # left off the Map: no path, no letter, not in the legend
    from gdsim.app.app import GdsimApp
    from gdsim.scenario.load import load_scenario

    path = tmp_path / "n.toml"
    path.write_text('[scenario]\ntitle = "t"\nclaim = "c"\nsteps = 100\n[problem]\nsurface = "escape_saddle"\n'
                    '[optimizer]\nname = "sgd"\nlr = 0.05\n[[runs]]\nlabel = "plain"\nstart = [1.8, 0.0001]\n'
                    '[[runs]]\nlabel = "noisy"\nstart = [1.8, 0.0]\nproblem = { noise = 0.3 }\n'
                    '[[runs]]\nlabel = "other tilt"\nstart = [1.8, 0.0]\nproblem = { view = [-3, 3, -3, 3] }\n')
    app = GdsimApp(load_scenario(path))
    async with app.run_test(size=(120, 40)) as pilot:
        _, surface = await open_map(pilot, 100)
        legend = [line for line in text(surface).split("\n") if "start" in line][-1]
        assert "A plain" in legend and "B noisy" in legend
        assert "other tilt" not in legend  # another view box is another picture: not drawn here
        assert text(surface).count("B") >= 2  # its letter at the path's head as well as in the legend


async def test_the_selected_runs_path_is_drawn_on_top(tmp_path):
    # learning-rate's Map: 'far too large' (drawn last) covered the other runs' zig-zags in its colour
    from gdsim.app.app import GdsimApp
    from gdsim.app.draw.palette import RUN_COLOURS
    from gdsim.scenario.load import load_scenario

    path = tmp_path / "twins.toml"
    path.write_text('[scenario]\ntitle = "t"\nclaim = "c"\nsteps = 60\n[problem]\nsurface = "quadratic"\n'
                    '[optimizer]\nname = "sgd"\nlr = 0.05\n[[runs]]\nlabel = "one"\nstart = [-2.5, 1.5]\n'
                    '[[runs]]\nlabel = "two"\nstart = [-2.5, 1.5]\n')  # the same path twice

    def path_cells(surface, colour: str) -> int:
        return sum(len(seg.text) for strip in surface._strips for seg in strip
                   if seg.style and seg.style.color and seg.style.color.triplet
                   and seg.style.color.triplet.hex == colour and any("⠁" <= ch <= "⣿" for ch in seg.text))

    app = GdsimApp(load_scenario(path))
    async with app.run_test(size=(120, 40)) as pilot:
        screen, surface = await open_map(pilot, 60)
        first, second = RUN_COLOURS[0], RUN_COLOURS[1]
        assert screen.session.current is screen.session.display[0]
        assert path_cells(surface, first) > 5 and path_cells(surface, second) == 0  # A selected: A on top
        await pilot.press("down")
        screen.redraw(force=True)
        await pilot.pause()
        assert path_cells(surface, second) > 5 and path_cells(surface, first) == 0  # B selected: B on top
