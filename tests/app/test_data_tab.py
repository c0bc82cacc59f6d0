"""The Data tab (key 5): the digits with what each run read, confusion matrices, the unit maps of a
2-input network with its dead units, and a 1-input regression's fitted lines. Each picture is
checked against the engine's numbers, recomputed here another way."""

from __future__ import annotations

import numpy as np
import pytest

from gdsim.app.widgets.confusion_matrix import ConfusionMatrix
from gdsim.app.widgets.data_panel import DataPanel
from gdsim.app.widgets.digit_strip import DigitStrip
from gdsim.app.widgets.fit_view import FitView
from gdsim.app.widgets.unit_view import UnitView, arrange
from gdsim.scenario.library import list_entries
from tests.app.conftest import make_app, said

BUILTIN = {e.id: e.path for e in list_entries() if e.builtin}


def app_from(tmp_path, source: str | None = None, builtin: str | None = None):
    from gdsim.app.app import GdsimApp
    from gdsim.scenario.load import load_scenario

    if builtin is not None:
        return GdsimApp(load_scenario(BUILTIN[builtin], id=builtin))
    path = tmp_path / "s.toml"
    path.write_text(source)
    return GdsimApp(load_scenario(path))


async def open_data(pilot, steps: int):
    screen = pilot.app.screen
    if screen.flow is not None:
        await pilot.press("0")  # skip the question: the digits are tabs again
    screen.session.step(steps)
    await pilot.press("5")
    await pilot.pause(0.2)
    screen.redraw(force=True)
    await pilot.pause()
    return screen


def text(widget) -> str:
    return "\n".join(strip.text for strip in widget._strips)


async def test_digits_show_the_misread_test_digits_first_and_the_confusion_matrix(tmp_path):
    app = app_from(tmp_path, builtin="digits")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_data(pilot, 120)
        assert screen.query_one("#tabs").active == "tab-data"
        strip, matrix = screen.query_one(DigitStrip), screen.query_one(ConfusionMatrix)
        cohort, index = screen.session.cohort_of(0)
        problem = cohort.problem
        # the evaluation the run table and [[expect]] use, recomputed independently of the widgets
        accuracy = cohort.evaluate_split("test")["accuracy"][index]
        preds = matrix.predictions
        assert preds.confusion.sum() == problem.n_test == 269
        assert preds.confusion.trace() == round(accuracy * 269)
        wrong = 269 - preds.confusion.trace()
        assert strip.wrong == wrong > 0
        assert f"{wrong} of 269 misread" in text(strip)
        shown = strip.shown
        assert len(shown) >= 8
        misread = [s for s in shown if s[1] != s[2]]
        assert shown[: len(misread)] == misread and len(misread) == min(wrong, len(shown))
        test_rows = set(problem.split_rows["test"].tolist())
        assert all(row in test_rows and problem.data.y[row] == true for row, true, _ in shown)
        first_row, first_true, first_read = shown[0]
        assert f"{first_true}→{first_read}" in text(strip)
        # the diagonal counts are drawn, one row per true digit
        lines = text(matrix).splitlines()
        row0 = next(line for line in lines if line.startswith("0 "))
        assert row0.split()[1] == str(preds.confusion[0, 0])
        # another run, another matrix: the network at lr 0 misreads most digits
        await pilot.press("down", "down")
        screen.redraw(force=True)
        await pilot.pause()
        assert screen.session.selected == 2  # "lr 0" (shown as "run C" until the question is answered)
        assert matrix.predictions.wrong > 200 and strip.wrong == matrix.predictions.wrong


UNITS = """
[scenario]
title = "t"
claim = "c"
steps = 50
[problem]
dataset = "moons"
samples = 120
model = "mlp"
hidden = [5, 4]
activation = "relu"
init = "he"
[optimizer]
name = "adam"
lr = 0.05
[[runs]]
label = "he"
[[runs]]
label = "zeros"
problem = { init = "zeros" }
"""


async def test_unit_maps_mark_the_dead_units_and_u_shows_the_weights(tmp_path):
    app = app_from(tmp_path, UNITS)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_data(pilot, 50)
        view = screen.query_one(UnitView)
        cohort, index = screen.session.cohort_of(0)
        problem = cohort.problem
        # dead = exactly zero on every training point, recomputed from the weights by hand
        params = cohort.params[index : index + 1]
        w = problem.network.layout.weights(params)
        b = problem.network.layout.biases(params)
        h = np.maximum(problem.split_points("train")[0] @ w[0][0] + b[0][0], 0)
        h2 = np.maximum(h @ w[1][0] + b[1][0], 0)
        assert view.dead == [int(np.all(h == 0, axis=0).sum()), int(np.all(h2 == 0, axis=0).sum())]
        assert view.drawn_units == [5, 4]  # every unit has its map at 160x48
        np.testing.assert_allclose(view.maps.layers[0].shape, (5,) + view.maps.output.shape)
        assert "output" in text(view) and "L1" in text(view) and "L2" in text(view)
        # zero initialization: every ReLU outputs relu(0) = 0 everywhere, so all are dead
        await pilot.press("down")
        screen.redraw(force=True)
        await pilot.pause()
        assert view.dead == [5, 4] and text(view).count("✕") >= 9
        await pilot.press("up")
        await pilot.press("u")
        await pilot.pause()
        numbers = text(view)
        assert "layer 1 (2→5)" in numbers and "output (4→1)" in numbers
        assert f"1: {w[0][0, 0, 0]:+.2f} {w[0][0, 1, 0]:+.2f} | {b[0][0, 0]:+.2f}" in numbers
        await pilot.press("u")
        await pilot.pause()
        assert "layer 1 (2→5)" not in text(view)


def test_unit_maps_are_arranged_to_fit_and_never_overlap():
    for units, cols, rows in (([3] * 8, 35, 6), ([32, 32], 80, 40), ([16], 40, 10), ([2, 2], 60, 20)):
        w, h, places, labels, _ = arrange(units, cols, rows)
        cells = set()
        for layer in places:
            for r, c in layer:
                if r + h > rows + 1 or c + w > cols:
                    continue  # not drawn
                tile = {(r + i, c + j) for i in range(h) for j in range(w)}
                assert not tile & cells
                cells |= tile
    w, h, places, _, _ = arrange([2, 2], 60, 20)
    assert (w, h) == (10, 5)  # room enough: the largest tiles


async def test_mae_vs_mse_draws_each_runs_fitted_line_in_data_space(tmp_path):
    app = app_from(tmp_path, builtin="mae-vs-mse")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_data(pilot, 300)
        view = screen.query_one(FitView)
        assert set(view.lines) == {"A", "B", "C"}
        for letter, row in zip("ABC", range(3)):
            cohort, index = screen.session.cohort_of(row)
            slope, intercept = cohort.params[index]  # a linear model: y = w x + b
            xs, ys = view.lines[letter]
            np.testing.assert_allclose(ys, slope * xs + intercept, rtol=1e-12, atol=1e-12)
        # neutral labels until the question is answered: the legend must not give the answer away
        assert "every run's fit" in text(view) and "C run C" in text(view) and "clean" not in text(view)
        live = view.lines["A"][1].copy()
        await pilot.press("home")  # rewound to step 0: the lines of the starting parameters
        await pilot.pause()
        screen.redraw(force=True)
        await pilot.pause()
        start = screen.session.sim.history.at(0)[1]["params"][0]
        np.testing.assert_allclose(view.lines["A"][1], start[0] * view.lines["A"][0] + start[1])
        assert not np.allclose(view.lines["A"][1], live) and "at step 0" in text(view)


async def test_iris_gets_a_confusion_matrix_with_its_class_names(tmp_path):
    app = app_from(tmp_path, """
[scenario]
title = "t"
claim = "c"
steps = 100
[problem]
dataset = "iris"
model = "softmax"
standardize = true
[optimizer]
name = "sgd"
lr = 0.5
[[runs]]
label = "flat"
""")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_data(pilot, 100)
        panel = screen.query_one(DataPanel)
        assert panel.views == ("confusion",)
        matrix = screen.query_one(ConfusionMatrix)
        assert all(f"{k} {name}" in text(matrix) for k, name in enumerate(("setosa", "versicolor", "virginica")))
        problem = screen.session.sim.cohorts[0].problem
        assert matrix.predictions.confusion.sum() == problem.n_test == 23  # the test split
        await pilot.press("u")  # no unit view: says where u works
        assert any("u shows" in m for m in said(app))


async def test_surfaces_have_no_data_tab():
    app = make_app("three_runs")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert not screen.query_one("#tabs").get_tab("tab-data").display
        await pilot.press("5")
        assert screen.query_one("#tabs").active != "tab-data"
        assert not screen.query(DataPanel)


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
async def test_the_data_tab_draws_at_both_sizes_and_full_screen(tmp_path, size):
    app = app_from(tmp_path, builtin="softmax-spirals")
    async with app.run_test(size=size) as pilot:
        screen = await open_data(pilot, 50)
        await pilot.press("down")  # the network
        screen.redraw(force=True)
        await pilot.pause()
        view = screen.query_one(UnitView)
        assert view.size.width > 0 and view.size.height > 0 and view.draws > 0
        assert sum(view.drawn_units) > 0 and "output" in text(view)
        await pilot.press("f")
        await pilot.pause()
        assert screen._zoomed is screen.query_one(DataPanel)
        await pilot.press("f")
        assert screen._zoomed is None


@pytest.mark.parametrize("name", ["batch-norm", "natural-gradient", "digits", "mae-vs-mse", "class-imbalance", "dropout"])
async def test_titles_fit_80_columns_whole_live_and_rewound(tmp_path, name):
    """At 80x24 the Data tab's titles were cut mid-phrase ("run A has no hidden layer: its output over
    the i…", "test digits, run A: 7 of 269 misread, shown …"), and an ensemble's title was covered by
    the units count ("16/48 units (f: full sc"): each view now says less rather than stopping mid-word,
    also rewound (", step 40" added). Every network kind: hidden layers with an ensemble (batch-norm,
    dropout), none (natural-gradient, class-imbalance), the digits, a regression's fitted lines."""
    app = app_from(tmp_path, builtin=name)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_data(pilot, 60)
        for rewound in (False, True):
            if rewound:
                await pilot.press("left")
                screen.redraw(force=True)
                await pilot.pause()
            views = list(screen.query_one(DataPanel).children)
            assert views
            for view in views:
                title = view._strips[0].text.rstrip()
                assert title and "…" not in title, (name, rewound, title)
                if rewound:  # which step the picture is of: the rewound one, or "live step 60" without a checkpoint
                    assert "step 59" in title or "live step 60" in title, title
