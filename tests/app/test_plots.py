"""Plots that stay readable: diverged runs clipped, log scale with hysteresis, empty panels
give their space away, per-layer gradient norms, weights, precision/recall beside accuracy."""

from __future__ import annotations

import numpy as np
import pytest

from gdsim.app.draw.series import LOG_OFF, LOG_ON, Trace, log_wanted
from gdsim.app.widgets.curve_plot import DIVERGED_MARK, CurvePlot
from gdsim.app.widgets.weights_panel import WeightsPanel, sparkline
from gdsim.engine.internals import layer_weights
from tests.app.conftest import make_app

BOWL = """
[scenario]
title = "t"
claim = "c"
steps = 200
[problem]
surface = "quadratic"
condition = 10
[optimizer]
name = "sgd"
lr = 0.05
[[runs]]
label = "calm"
start = [2.0, 1.0]
[[runs]]
label = "calm too"
start = [-2.0, 1.0]
optimizer = { lr = 0.1 }
"""
BLOWS_UP = """
[[runs]]
label = "blows up"
start = [2.0, 2.0]
optimizer = { lr = 0.5 }
"""
NET = """
[scenario]
title = "t"
claim = "c"
steps = 100
[problem]
dataset = "moons"
samples = 80
model = "mlp"
hidden = [6, 4]
eval_every = 5
[optimizer]
name = "sgd"
lr = 0.3
[[runs]]
label = "net"
"""


def app_from(tmp_path, source: str):
    from gdsim.app.app import GdsimApp
    from gdsim.scenario.load import load_scenario

    path = tmp_path / "s.toml"
    path.write_text(source)
    return GdsimApp(load_scenario(path))


async def stepped(pilot, steps: int):
    screen = pilot.app.screen
    screen.session.step(steps)
    screen.redraw(force=True)
    await pilot.pause()
    return screen


async def loss_range(tmp_path, source: str, size=(120, 40)):
    app = app_from(tmp_path, source)
    async with app.run_test(size=size) as pilot:
        screen = await stepped(pilot, 150)
        plot = screen.query_one("#plot-loss", CurvePlot)
        text = "\n".join(strip.text for strip in plot._strips)
        return plot.y_range, plot.log_y, text, screen.session.sim.diverged_at


async def test_a_diverged_run_does_not_change_another_runs_scale(tmp_path):
    calm_range, calm_log, calm_text, _ = await loss_range(tmp_path, BOWL)
    mixed_range, mixed_log, mixed_text, diverged = await loss_range(tmp_path, BOWL + BLOWS_UP)
    assert diverged[2] >= 0 and (diverged[:2] < 0).all()
    assert mixed_range == calm_range and mixed_log == calm_log
    assert DIVERGED_MARK in mixed_text and DIVERGED_MARK not in calm_text
    # clipped at the top edge: the mark sits on the plot's first row
    assert DIVERGED_MARK in mixed_text.splitlines()[1]


def test_log_scale_hysteresis():
    def traces(low, high):
        return [Trace(0, np.arange(3), np.array([high, (low * high) ** 0.5, low]))]

    wide, middle, narrow = traces(1.0, 2 * LOG_ON), traces(1.0, (LOG_ON + LOG_OFF) / 2), traces(1.0, LOG_OFF / 2)
    assert log_wanted(wide, False) and log_wanted(wide, True)
    assert not log_wanted(middle, False) and log_wanted(middle, True)  # no flip-flop in between
    assert not log_wanted(narrow, True)
    assert not log_wanted([Trace(0, np.arange(2), np.array([-1.0, 1e6]))], True)  # not below zero
    assert log_wanted([Trace(0, np.arange(3), np.array([30.0, 1e-20, 0.0]))], False)  # exact zeros aside
    blown = [*traces(1.0, 2.0), Trace(1, np.arange(2), np.array([1.0, 1e9]), diverged=1)]
    assert not log_wanted(blown, False)  # a diverged run does not decide the scale


async def test_the_plot_keeps_its_scale_between_frames(tmp_path):
    from gdsim.app.draw.series import PlotData

    app = app_from(tmp_path, BOWL)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await stepped(pilot, 5)
        plot = screen.query_one("#plot-loss", CurvePlot)
        steps = np.arange(3)
        plot.show(PlotData("t", (Trace(0, steps, np.array([2 * LOG_ON, 10.0, 1.0])),), log=None))
        assert plot.log_y
        plot.show(PlotData("t", (Trace(0, steps, np.array([(LOG_ON + LOG_OFF) / 2, 3.0, 1.0])),), log=None))
        assert plot.log_y  # a fresh plot would be linear at this span
        plot.show(PlotData("t", (Trace(0, steps, np.array([LOG_OFF / 2, 3.0, 1.0])),), log=None))
        assert not plot.log_y


async def test_panels_with_nothing_to_show_give_their_space(tmp_path):
    app = app_from(tmp_path, BOWL)  # plain SGD, constant learning rate
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await stepped(pilot, 20)
        assert not screen.query_one("#plot-velocity").display
        assert not screen.query_one("#plot-lr").display
        loss, grad = screen.query_one("#plot-loss"), screen.query_one("#plot-grad")
        assert loss.display and grad.display
        assert loss.size.height >= 10  # the two left take the height four panels had
    scheduled = BOWL.replace('lr = 0.05\n', 'lr = 0.05\n[schedule]\nname = "step"\nstep_size = 50\ngamma = 0.5\n', 1)
    app = app_from(tmp_path, scheduled)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await stepped(pilot, 20)
        lr = screen.query_one("#plot-lr")
        assert lr.display and not screen.query_one("#plot-velocity").display
        # a schedule in the file: the rate is what the scenario is about, beside the loss
        assert shown_panels(screen) == ["plot-loss", "plot-lr", "plot-grad"]
        grad = screen.query_one("#plot-grad")
        assert grad.has_class("-span")  # three panels: the last spans both columns
        assert grad.size.width > screen.query_one("#plot-loss").size.width


async def test_momentum_shows_the_velocity_panel():
    app = make_app("three_runs")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await stepped(pilot, 20)
        assert screen.query_one("#plot-velocity").display
        assert not screen.query_one("#plot-lr").display


async def test_layer_gradient_norms_weights_and_precision_recall(tmp_path):
    app = app_from(tmp_path, NET)
    async with app.run_test(size=(140, 50)) as pilot:
        screen = await stepped(pilot, 60)
        layers = screen.query_one("#plot-layers", CurvePlot)
        assert layers.display and layers.log_y
        assert [t.colour for t in layers.data.traces] == [0, 1, 2]  # one line per layer
        history = screen.session.sim.history
        _, norms = history.series("layer_grad_norm")
        last = [float(t.values[-1]) for t in layers.data.traces]
        np.testing.assert_allclose(last, norms[history.count - 1, 0], rtol=1e-12)

        weights = screen.query_one("#weights", WeightsPanel)
        assert weights.display
        cohort = screen.session.sim.cohorts[0]
        expected = layer_weights(cohort.problem.network, cohort.params[0], len(weights.weights[0].counts))
        assert [w.small for w in weights.weights] == [e.small for e in expected]
        text = "\n".join(strip.text for strip in weights._strips)
        for w in expected:
            assert f"{w.small}/{w.count}" in text

        accuracy = screen.query_one("#plot-acc", CurvePlot)
        val = cohort.problem.evaluate(cohort.params, "val")
        assert f"P {float(val['precision'][0]):.3g}" in accuracy.data.note
        assert f"R {float(val['recall'][0]):.3g}" in accuracy.data.note


async def test_the_layer_legend_names_every_layer_and_the_input_side_in_a_narrow_panel(tmp_path):
    # vanishing-gradients at 120x40 showed "|g| by layer of A (↑/↓) ─1 ─2 ─3 ─4": the line glyphs
    # read as minus signs, three of the seven layers and the "1 = input side" note did not fit
    deep = NET.replace("hidden = [6, 4]", "hidden = [4, 4, 4, 4, 4, 4]") + '[[runs]]\nlabel = "other"\nseed = 1\n'
    app = app_from(tmp_path, deep)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await stepped(pilot, 20)
        layers = screen.query_one("#plot-layers", CurvePlot)
        assert layers.display and len(layers.data.traces) == 7
        assert [text for text, _ in layers.data.legend] == ["1=in", "2", "3", "4", "5", "6", "7"]
        top = layers._strips[0].text
        assert layers.size.width < len(layers.data.title) + len(" 1=in 2 3 4 5 6 7")  # too narrow for both
        assert top.rstrip().endswith("|g| by layer of A 1=in 2 3 4 5 6 7")  # the hint gave way
        assert "─" not in top
        from gdsim.app.draw.series import PlotData

        three = PlotData("|g| by layer of A (↑/↓)", layers.data.traces[:3], None, True, legend=layers.data.legend[:3])
        layers.show(three)
        assert layers._strips[0].text.startswith("|g| by layer of A (↑/↓) 1=in 2 3")  # room for both: the hint stays


def test_sparkline_shows_every_non_empty_bin():
    line = sparkline(np.array([0, 1, 100, 50]))
    assert line[0] == " " and line[1] != " " and line[2] == "█"
    assert sparkline(np.zeros(3)) == "   "


async def test_a_log_axis_is_not_squashed_by_machine_zero(tmp_path):
    from gdsim.app.draw.series import PlotData
    from gdsim.app.widgets.curve_plot import LOG_DEPTH

    app = app_from(tmp_path, BOWL)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await stepped(pilot, 5)
        plot = screen.query_one("#plot-loss", CurvePlot)
        steps = np.arange(4)
        plot.show(PlotData("t", (Trace(0, steps, np.array([30.0, 1.0, 1e-5, 1e-300])),), log=None))
        assert plot.log_y and plot.y_range[0] == pytest.approx(30.0 * LOG_DEPTH)
        plot.show(PlotData("t", (Trace(0, steps, np.array([30.0, 1.0, 1e-5, 1e-6])),), log=None))
        assert plot.y_range[0] == pytest.approx(1e-6)


async def test_a_theme_change_repaints_plots_map_and_weights_in_the_new_colours(tmp_path):
    from textual.geometry import Region

    app = app_from(tmp_path, NET)
    async with app.run_test(size=(160, 50)) as pilot:
        screen = await stepped(pilot, 20)
        await pilot.press("t")  # textual-dark -> textual-light
        await pilot.pause(0.3)
        assert app.theme == "textual-light"
        for wid in ("#plot-loss", "#plot-layers", "#weights", "#map-inline"):
            widget = screen.query_one(wid)
            background = widget.rich_style.bgcolor
            line = widget.render_lines(Region(0, 1, widget.size.width, 1))[0]
            blank = [s for s in line if s.text.strip() == "" and s.style is not None]
            assert blank and all(s.style.bgcolor in (None, background) for s in blank), wid


async def test_weights_panel_shows_every_runs_near_zero_count(tmp_path):
    """l1-sparsity showed only run A's weights (the no-penalty net): the panel must show each
    run's count, so the penalised run's sparsity is on screen without selecting it."""
    app = app_from(tmp_path, NET + '[[runs]]\nlabel = "l1"\nproblem = { l1 = 0.02 }\n')
    async with app.run_test(size=(140, 50)) as pilot:
        screen = await stepped(pilot, 100)
        panel = screen.query_one("#weights", WeightsPanel)
        shown = "\n".join(strip.text for strip in panel._strips)
        assert f"|w|<{0.01:g}" in shown  # the tolerance whole, never cut to '0.'
        counts = {}
        for run in screen.session.display:
            cohort, index = screen.session.cohort_of(int(run.rows[0]))
            expected = layer_weights(cohort.problem.network, cohort.params[index])
            counts[run.letter] = (sum(w.small for w in expected), sum(w.count for w in expected))
            line = next(l for l in shown.splitlines() if l.startswith(run.letter + " "))
            assert line.rstrip().endswith(f"{counts[run.letter][0]}/{counts[run.letter][1]}"), line
        assert counts["B"][0] > counts["A"][0]  # the L1 net is the sparse one
        assert [c[0] for c in panel.run_counts] == ["A", "B"]


def _first_seed_title(screen) -> str:
    """The weights panel's title, after checking that an ensemble's row counts its first seed."""
    panel = screen.query_one("#weights", WeightsPanel)
    ensemble = next(run for run in screen.session.display if run.ensemble)
    cohort, index = screen.session.cohort_of(int(ensemble.rows[0]))
    small = sum(w.small for w in layer_weights(cohort.problem.network, cohort.params[index]))
    assert panel.run_counts[ensemble.colour][1] == small
    return panel._strips[0].text.strip()


async def test_weights_panel_says_an_ensembles_row_is_its_first_seed(tmp_path):
    """l1-sparsity at 80x24: the panel's row "B 29/96" (one network) beside the table's "20% (median)"
    (eight networks), and nothing said which network the row was: the title says so, at any width."""
    source = NET.replace('label = "net"', 'label = "net"\nseeds = 8') + '[[runs]]\nlabel = "l1"\nproblem = { l1 = 0.02 }\n'
    async with app_from(tmp_path, source).run_test(size=(140, 50)) as pilot:
        title = _first_seed_title(await stepped(pilot, 60))
        assert "first seed" in title and title.endswith("|w|<0.01"), title
    app, _ = await builtin_at_80x24("l1-sparsity", 0)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("0")
        await stepped(pilot, 20)
        screen = await settled(pilot)
        title = _first_seed_title(screen)
        assert "first seed" in title and title.endswith("|w|<0.01"), title
    async with app_from(tmp_path, NET).run_test(size=(140, 50)) as pilot:  # no ensemble: nothing to say
        title = (await stepped(pilot, 60)).query_one("#weights", WeightsPanel)._strips[0].text.strip()
        assert "first seed" not in title and title.startswith("weights of every run"), title


async def test_precision_recall_of_every_run_beside_accuracy(tmp_path):
    """class-imbalance showed P/R of run A only (its lr-0 run): every run's values, when they fit."""
    app = app_from(tmp_path, NET + '[[runs]]\nlabel = "still"\noptimizer = { lr = 0.0 }\n')
    async with app.run_test(size=(160, 50)) as pilot:
        screen = await stepped(pilot, 60)
        from gdsim.app.draw.panels import plot_data

        note = plot_data(screen.session, "plot-acc", 2 * 70).note
        assert note.startswith(("val P/R ", "P/R ")), note  # a 70-column panel: every run
        for run in screen.session.display:
            cohort, index = screen.session.cohort_of(int(run.rows[0]))
            val = cohort.problem.evaluate(cohort.params, "val")
            p, r = float(val["precision"][index]), float(val["recall"][index])
            assert f"{run.letter} {p:.3g}/{r:.3g}" in note, note
        narrow = plot_data(screen.session, "plot-acc", 2 * 40).note  # no room: the selected run, named
        assert narrow.startswith("A: val P ") and narrow.endswith("(↑/↓)"), narrow


ENSEMBLE_BLOWS_UP = """
[[runs]]
label = "blows up, 20 seeds"
start = [2.0, 2.0]
seeds = 20
optimizer = { lr = 0.5 }
"""


async def test_a_diverged_ensemble_median_does_not_flatten_the_others(tmp_path):
    """cosine-warmup: a median of 3.4e12 set the y axis and every other curve was one flat line.
    A band whose median seed diverged ends there with ✕ and, like a single run, sets no scale."""
    calm_range, calm_log, _, _ = await loss_range(tmp_path, BOWL)
    mixed_range, mixed_log, mixed_text, diverged = await loss_range(tmp_path, BOWL + ENSEMBLE_BLOWS_UP)
    assert (diverged[2:] >= 0).all() and (diverged[:2] < 0).all()
    assert mixed_range == calm_range and mixed_log == calm_log
    assert DIVERGED_MARK in mixed_text.splitlines()[1]  # at the top edge


def test_a_band_leaves_out_its_diverged_seeds_and_ends_when_its_median_has():
    from gdsim.app.draw.series import _band

    steps = np.arange(10)
    block = np.ones((10, 5))
    diverged = np.array([-1, -1, -1, 4, 4])  # two of five blow up at step 4: the median has not
    block[4:, 3:] = 1e12
    (trace,) = _band(0, steps, block, diverged)
    assert trace.diverged == -1 and trace.high.max() == 1.0  # their 1e12 is not the band's top
    diverged = np.array([-1, -1, 6, 4, 4])  # three of five by step 6: the median diverged there
    block[6:, 2] = 1e12
    (trace,) = _band(0, steps, block, diverged)
    assert trace.diverged == 6 and trace.steps[-1] == 6 and trace.values[-1] == 1e12
    assert (trace.values[:-1] == 1.0).all()


async def test_a_log_axis_draws_exact_zeros_on_its_floor_and_says_so(tmp_path):
    """plateau: the loss reaches exactly 0, and the log-y curves stopped there, leaving the right
    third of the plot blank. Zeros are drawn on the floor, labelled '≤ floor' on the axis."""
    from gdsim.app.draw.series import PlotData

    app = app_from(tmp_path, BOWL)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await stepped(pilot, 5)
        plot = screen.query_one("#plot-loss", CurvePlot)
        steps = np.arange(0, 300, 10)
        values = np.where(steps < 100, 10.0 ** (-steps / 20), 0.0)
        plot.show(PlotData("loss", (Trace(0, steps, values),), log=True, x_max=300))
        lines = [strip.text for strip in plot._strips]
        curve_rows = lines[1:-1]
        assert plot.floored
        assert curve_rows[-1].lstrip().startswith("≤") and "0 at ≤" in lines[-1] or "≤ floor" in lines[-1]
        right_third = [row[-(plot.size.width - 8) // 3:] for row in curve_rows]
        assert right_third[-1].strip(), right_third  # the zeros are drawn, on the bottom row
        assert not any(row.strip() for row in right_third[:-1])
        plot.show(PlotData("loss", (Trace(0, steps, np.maximum(values, 1e-6)),), log=True, x_max=300))
        assert not plot.floored and not plot._strips[-2].text.lstrip().startswith("≤")


async def builtin_at_80x24(name: str, steps: int):
    from gdsim.app.app import GdsimApp
    from gdsim.scenario.library import builtin_dir
    from gdsim.scenario.load import load_scenario

    return GdsimApp(load_scenario(builtin_dir() / f"{name}.toml", id=name)), steps


def shown_panels(screen) -> list[str]:
    return [w.id for w in screen.query_one("#curves").children if w.display]


async def settled(pilot):
    """The grid is arranged for its height once it has been laid out after the question folded."""
    for _ in range(5):
        await pilot.pause()
    return pilot.app.screen


async def test_hinge_vs_bce_plots_the_weight_length_beside_the_loss():
    """'Cross-entropy's weights keep growing': the length |w| is on screen at 80x24, not only in the reveal."""
    app, _ = await builtin_at_80x24("hinge-vs-bce", 0)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("0")
        await stepped(pilot, 600)
        screen = await settled(pilot)
        assert shown_panels(screen) == ["plot-loss", "plot-wnorm"]
        data = screen.plot_data("plot-wnorm", 400)
        bce, hinge = data.traces
        at = lambda trace, step: float(trace.values[np.searchsorted(trace.steps, step)])  # noqa: E731
        assert at(bce, 600) > 1.1 * at(bce, 200)  # keeps growing
        assert at(hinge, 600) == pytest.approx(at(hinge, 200), rel=1e-9)  # stopped
        plot = screen.query_one("#plot-wnorm", CurvePlot)
        assert plot.size.height >= 8 and "weight length |w|" in plot._strips[0].text


async def test_adagrad_rmsprop_plots_the_step_length_and_adagrads_shrinks_like_one_over_root_t():
    app, _ = await builtin_at_80x24("adagrad-rmsprop", 0)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("0")
        await stepped(pilot, 400)
        screen = await settled(pilot)
        assert shown_panels(screen) == ["plot-loss", "plot-step"]
        data = screen.plot_data("plot-step", 80)
        adagrad, rmsprop = data.traces[0], data.traces[1]
        assert adagrad.steps[0] == 1 and rmsprop.steps[0] == 1  # the first, largest steps are drawn
        assert rmsprop.values[0] == pytest.approx(10 * 0.1 * 2 ** 0.5, rel=1e-3)  # 10× the rate on each axis
        at = lambda step: float(adagrad.values[np.searchsorted(adagrad.steps, step)])  # noqa: E731
        # about 1/√t (0.5 from step 100 to 400; 1/t would be 0.25): the y part of the step shrinks a little faster
        assert at(400) / at(100) == pytest.approx((100 / 400) ** 0.5, rel=0.15)


async def test_the_new_panels_stay_away_from_scenarios_not_about_them(tmp_path):
    app = app_from(tmp_path, BOWL)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await stepped(pilot, 20)
        assert "plot-wnorm" not in shown_panels(screen) and "plot-step" not in shown_panels(screen)


@pytest.mark.parametrize("name, second", [("overfitting", "plot-val"), ("l1-sparsity", "weights"),
                                          ("lr-schedule", "plot-lr"), ("reduce-on-plateau", "plot-lr"),
                                          ("cosine-warmup", "plot-lr")])
async def test_at_80x24_the_panel_beside_the_loss_is_what_the_lesson_is_about(name, second):
    """overfitting has an L2 run (a cure), and the weights panel used to push the validation
    loss, its lesson, off an 80x24 screen; l1-sparsity measures near-zero weights: that panel;
    the schedule lessons are about the rate, which the gradient norm kept off the screen."""
    app, _ = await builtin_at_80x24(name, 0)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("0")
        await stepped(pilot, 20)
        screen = await settled(pilot)
        # The notices that come with the first steps take a line a little later, and the grid
        # re-arranges for the lower height: wait for that (bounded), then check what it shows.
        for _ in range(400):
            if len(shown_panels(screen)) <= 2:
                break
            await pilot.pause(0.01)
        assert set(shown_panels(screen)) == {"plot-loss", second}


@pytest.mark.parametrize("name, second", [("overfitting", "plot-val"), ("l1-sparsity", "weights"),
                                          ("hinge-vs-bce", "plot-wnorm"), ("adagrad-rmsprop", "plot-step")])
async def test_at_200x60_the_panel_the_lesson_is_about_comes_first_beside_the_loss(name, second):
    """Where every panel fits they used to come in the order they were composed, the lesson's panel
    last (adagrad-rmsprop's step length under the velocity and the learning rate); now in the order
    that decides what stays at 80x24: the loss, then what the lesson is about, beside it."""
    app, _ = await builtin_at_80x24(name, 0)
    async with app.run_test(size=(200, 60)) as pilot:
        await pilot.press("0")
        await stepped(pilot, 20)
        screen = await settled(pilot)
        assert shown_panels(screen)[:2] == ["plot-loss", second]
        loss, beside = (screen.query_one(f"#{name}") for name in ("plot-loss", second))
        assert loss.region.y == beside.region.y and loss.region.x < beside.region.x  # one row: side by side


def reversed_texts(plot: CurvePlot) -> set[str]:
    """What a plot draws in reverse video: the curves' names in monochrome."""
    return {segment.text for strip in plot._strips for segment in strip
            if segment.style is not None and segment.style.reverse}


async def test_monochrome_names_each_curve_at_its_end(monkeypatch, tmp_path):
    """In monochrome every curve is white: each carries its run's letter (a layer its number) in
    reverse video at its last point, so the loss plot tells A from B from C."""
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app("three_runs")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await stepped(pilot, 30)
        names = reversed_texts(screen.query_one("#plot-loss", CurvePlot))
        assert {"a", "b", "c"} <= names, names
    app = app_from(tmp_path, NET)
    async with app.run_test(size=(140, 50)) as pilot:
        screen = await stepped(pilot, 60)
        names = reversed_texts(screen.query_one("#plot-layers", CurvePlot))
        assert {"1", "2", "3"} <= names, names


async def test_colour_themes_draw_no_names_over_the_curves():
    app = make_app("three_runs")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await stepped(pilot, 30)
        assert not reversed_texts(screen.query_one("#plot-loss", CurvePlot))


async def test_saddle_point_plots_the_crawl_at_the_saddle_above_the_minimum():
    """On the linear loss axis (3.24 … −0.25) plain GD's hundred steps at the saddle (loss 0) were
    one row above the minima (−0.25): the lesson's crawl could not be seen. The loss above the
    minimum on a log axis puts the saddle's level (0.25, named on the y axis) a quarter of the way
    down, and the escaped runs far below it."""
    import math

    app, _ = await builtin_at_80x24("saddle-point", 0)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("0")
        await stepped(pilot, 300)
        screen = await settled(pilot)
        plot = screen.query_one("#plot-loss", CurvePlot)
        assert plot._strips[0].text.startswith("loss above the minimum") and plot.log_y and plot.floored
        rows = [strip.text for strip in plot._strips]
        named = [row for row in rows[2:-2] if row.startswith(" saddle│")]
        # named on its row, where 'exactly on the ridge' draws its line to the right edge
        assert len(named) == 1 and len(named[0].rstrip()) == plot.size.width, rows
        low, high = plot.y_range
        down = lambda v: (math.log10(high) - math.log10(max(v, low))) / (math.log10(high) - math.log10(low))  # noqa: E731
        data = screen.plot_data("plot-loss", 400)
        ridge, plain, momentum, _ = data.traces
        at = lambda trace, step: float(trace.values[np.searchsorted(trace.steps, step)])  # noqa: E731
        assert at(plain, 100) == pytest.approx(0.25, abs=0.01)  # the saddle's loss 0, above the minima's −0.25
        assert 0.1 < down(at(plain, 100)) < 0.4  # on the saddle's level, well below the top...
        assert down(at(momentum, 150)) > 0.9 and down(at(plain, 300)) > 0.9  # ...and well above the escaped runs
        assert at(ridge, 300) == pytest.approx(0.25)  # exactly on the ridge: at the saddle for good


async def test_a_surface_without_a_saddle_keeps_the_plain_loss(tmp_path):
    app = app_from(tmp_path, BOWL)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await stepped(pilot, 20)
        assert screen.plot_data("plot-loss", 100).title == "loss"
