"""Predict → observe → explain in the app, the live verdict line, states in the run table and the
warning for an ensemble whose runs cannot differ (tests/app/data/s2/*.toml)."""

from __future__ import annotations

import asyncio

from gdsim.app.runtime.predict_flow import ASKING, REVEALED, WAITING
from gdsim.app.widgets.lesson_panel import LessonPanel
from gdsim.app.widgets.question_panel import QuestionPanel
from gdsim.app.widgets.run_table import COLUMNS, RunTable
from gdsim.app.widgets.verdict_line import VerdictLine
from tests.app.conftest import DATA, make_app, said


def col(name: str) -> int:
    return [c.name for c in COLUMNS].index(name)


def text_of(widget) -> str:
    if isinstance(widget, VerdictLine):  # every page it turns through, each on one line
        return widget.all_text()
    return str(widget.render())


def lesson_texts(screen) -> str:
    """Everything the lesson panels show: their Static lines and the lesson text they were given."""
    return " ".join([str(w.render()) for panel in screen.query(LessonPanel) for w in panel.query("Static")]
                    + [panel._lesson for panel in screen.query(LessonPanel)])


async def measured(pilot, screen) -> None:
    """Wait for the background verification (started 0.5 s after opening or a change)."""
    for _ in range(100):
        if screen.verdicts is not None and screen.verdicts.settled and screen.verdicts.loaded is screen.session.loaded:
            await pilot.pause()
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the verification never finished")


# -- predict → observe → explain ------------------------------------------------------------------
async def test_a_scenario_with_predict_opens_on_its_question_with_neutral_labels():
    app = make_app("s2/predict")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        panel = screen.query_one(QuestionPanel)
        assert panel.display and screen.flow.phase == ASKING
        shown = text_of(panel)
        assert "Which run ends closest to the minimum?" in shown
        for choice in ("1 the smallest rate", "2 the middle rate", "3 the largest rate"):
            assert choice in shown
        table = screen.query_one(RunTable)
        assert [row[col("run")] for row in table.rows] == ["run A", "run B", "run C"]
        assert all("too" not in row[col("run")] and "just" not in row[col("run")] for row in table.rows)
        assert [row[col("lr")] for row in table.rows] == ["0.02", "0.4", "1.05"]  # settings stay
        lesson = lesson_texts(screen)
        assert "The claim" in lesson and "largest" not in lesson  # the explanation waits
        assert "press L on the largest rate" not in lesson  # so do the tips
        assert "The claim" not in shown  # the lesson beside the plots says it
        await pilot.resize_terminal(80, 24)  # the lesson moves into a tab: the question says the claim
        await pilot.pause()
        screen.redraw(force=True)
        await pilot.pause()
        assert "The claim: A bigger learning rate always gets you there faster" in text_of(panel)


async def test_the_answer_key_records_an_event_and_the_reveal_comes_when_the_run_reaches_the_point():
    app = make_app("s2/predict")
    seen = []
    async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
        screen = app.screen
        await pilot.press("2")
        assert screen.flow.phase == WAITING
        (answer,) = screen.session.answers
        assert answer.as_dict()["event"] == "predict_answer"
        assert answer.choice == 2 and answer.correct is True and answer.scenario == "predict"
        assert any(isinstance(m, QuestionPanel.Answered) and m.answer is answer for m in seen)
        assert screen.query_one("#tabs").active == "tab-plots"  # 2 answered; it did not switch tabs
        await measured(pilot, screen)
        screen.session.step(40)
        screen.redraw(force=True)
        await pilot.pause()
        assert screen.flow.phase == WAITING  # 'big' is decided at the end (step 60), not yet
        screen.session.step(20)
        screen.redraw(force=True)
        await pilot.pause()
        assert screen.flow.phase == REVEALED
        folded = text_of(screen.query_one(QuestionPanel))  # come by itself: folded to a line, the plots keep their rows
        assert "The answer: choice 2, “the middle rate”." in folded and "You said 2: right." in folded
        assert "Measured" not in folded and "(w: why)" in folded
        await pilot.press("w")  # opened
        shown = text_of(screen.query_one(QuestionPanel))
        assert "The answer: choice 2, “the middle rate”." in shown and "You said 2: right." in shown
        # what verify measured, in the checks' own words with the value named (not check syntax)
        assert "Measured: ✓ The middle rate reaches the minimum by step 40 — loss 2.42e-56" in shown
        assert "✓ The largest rate makes things worse: its loss at the end is above the start — loss 1.85e+05" in shown
        assert "just right:" not in shown and "1.854e+05" not in shown
        assert "(loss 2.4e-56)" in shown  # the answer's `why`, placeholder filled
        assert "Too large a rate overshoots" in shown
        table = screen.query_one(RunTable)
        assert [row[col("run")] for row in table.rows] == ["too small", "just right", "too large"]
        await pilot.pause(0.2)
        assert "ends 1.85e+05 from" in lesson_texts(screen)  # the lesson, numbers from the run
        assert any(isinstance(m, QuestionPanel.Revealed) for m in seen)


async def test_w_reveals_at_once_as_a_skip_and_then_folds_the_reveal():
    app = make_app("s2/predict")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        await pilot.press("w")
        assert screen.flow.phase == REVEALED
        assert screen.session.answers[0].choice is None and screen.session.answers[0].correct is None
        await measured(pilot, screen)
        shown = text_of(screen.query_one(QuestionPanel))
        assert "You skipped the question." in shown and "Measured:" in shown
        await pilot.press("w")
        folded = text_of(screen.query_one(QuestionPanel))
        assert "The answer: choice 2" in folded and "Measured:" not in folded
        await pilot.press("3")  # after the question, digits switch tabs again
        assert screen.query_one("#tabs").active == "tab-lesson"


async def test_a_wrong_answer_shows_both_whys_and_out_of_range_keys_are_refused():
    app = make_app("s2/predict")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        await pilot.press("5")
        assert screen.flow.phase == ASKING and any("choose 1 to 3" in m for m in said(app))
        await pilot.press("3")
        assert screen.session.answers[0].correct is False
        await measured(pilot, screen)
        await pilot.press("w")
        shown = text_of(screen.query_one(QuestionPanel))
        assert "You said 3: the largest rate." in shown
        assert "The middle rate is at the bottom" in shown and "its loss ends at 1.85e+05" in shown


async def test_scenarios_without_predict_open_as_before():
    app = make_app("three_runs")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert screen.flow is None and not screen.query_one(QuestionPanel).display
        assert not screen.query_one(VerdictLine).display  # no expects: nothing to say
        assert [row[col("run")] for row in screen.query_one(RunTable).rows] == ["A", "B", "C"]
        await pilot.press("3")
        assert screen.session.answers == []


# -- the verdict line -----------------------------------------------------------------------------
async def test_the_verdict_line_gives_nothing_away_before_the_answer_then_speaks_in_words():
    app = make_app("s2/predict")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        line = screen.query_one(VerdictLine)
        await measured(pilot, screen)
        shown = text_of(line)
        # asking: neutral progress only; no check syntax, no bound, no run, no `because` sentence
        assert "answer the question, then watch: 2 checks by step 60" in shown
        assert shown.startswith("expects │ … answer")  # the neutral line counts the checks itself (no "…2", no "2 to come")
        for leak in ("loss of run", "1e-06", "run B", "middle rate", "largest rate", "decided at step 40"):
            assert leak not in shown, (leak, shown)
        screen.session.step(40)  # the answer's first check is decided: still nothing told
        screen.redraw(force=True)
        await pilot.pause()
        assert "answer the question, then watch: 2 checks by step 60" in text_of(line)
        assert "✓" not in text_of(line) and "middle rate" not in text_of(line)
        await pilot.press("2")  # answered: progress, still no answer-deciding check
        assert "watch: 1 of 2 checks decided; all by step 60" in text_of(line)
        assert "middle rate" not in text_of(line)
        screen.session.step(20)  # the point: revealed; every check in its own words with its value
        screen.redraw(force=True)
        await pilot.pause()
        assert screen.flow.phase == REVEALED
        shown = text_of(line)
        assert "✓ loss 2.42e-56: The middle rate reaches the minimum by step 40" in shown
        assert "✓ loss 1.85e+05: The largest rate makes things worse" in shown
        assert "1e-06" not in shown and "of run" not in shown and "'just right'" not in shown
        # a change of settings is measured again: the middle run made slow from step 0 (reset first:
        # mid-run the keys continue from the step reached), its check fails
        await pilot.press("r", "down", "L", "L", "L")
        await measured(pilot, screen)
        screen.session.step(40)
        screen.redraw(force=True)
        await pilot.pause()
        assert "✗ loss " in text_of(line) and ": The middle rate reaches the minimum by step 40" in text_of(line)


def test_checks_not_tied_to_the_answer_show_after_answering_unless_they_name_a_run(tmp_path):
    from gdsim.app.runtime.verdicts import Verdicts
    from gdsim.scenario.load import load_scenario
    from gdsim.scenario.verify import verify

    path = tmp_path / "more.toml"
    path.write_text((DATA / "s2" / "predict.toml").read_text().replace("[predict]", """
[[expect]]
because = "The smallest rate still has a long way to go."
run = "too small"
metric = "loss"
at = 10
above = 0.5

[[expect]]
because = "The too small rate is still moving."
run = "too small"
metric = "grad_norm"
at = 10
above = 0.01

[predict]"""))
    loaded = load_scenario(path)
    verdicts = Verdicts(loaded, verify(loaded))
    names = {"too small": "run A", "just right": "run B", "too large": "run C"}
    hide = ("mid", "big")
    asking = [v.text for v in verdicts.lines(60, names, hide=hide, asking=True)]
    assert asking == ["answer the question, then watch: 4 checks by step 60"]
    waiting = [f"{v.mark} {v.text}" for v in verdicts.lines(20, names, hide=hide)]
    assert waiting[0] == "… watch: 1 of 3 checks decided; all by step 60"  # mid, big and the one naming 'too small'
    (told,) = waiting[1:]
    assert told.startswith("✓ loss ") and told.endswith(": The smallest rate still has a long way to go")
    revealed = [v.text for v in verdicts.lines(60)]
    assert len(revealed) == 4 and any("The too small rate is still moving" in t for t in revealed)


# -- states and settings in the run table -----------------------------------------------------------
async def test_the_status_column_names_each_runs_state_not_ok():
    app = make_app("s2/states")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        table = screen.query_one(RunTable)
        assert [row[-1] for row in table.rows] == ["ok", "ok"]  # step 0: nothing to say yet
        screen.session.step(400)
        screen.redraw(force=True)
        await pilot.pause()
        parked, escaping = (row[-1] for row in table.rows)
        assert parked.startswith("saddle at ")  # and since when
        assert escaping.startswith("diverged at ")  # x² - y² has no bottom: it leaves the view box
        header = table._strips[0].text
        assert "start" in header  # the runs differ in their start point: the table says so
        assert [row[col("differs")] for row in table.rows] == ["(1.5, 0)", "(1.5, 0.3)"]
        notices = str(screen.query_one("#notices").render())
        assert "saddle point (0, 0)" in notices


async def test_the_seed_column_stays_where_seeds_are_the_lesson():
    for name, kept in (("s2/seeds", True), ("three_runs", False)):
        app = make_app(name)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.resize_terminal(44, 24)
            await pilot.pause()
            header = app.screen.query_one(RunTable)._strips[0].text
            assert ("seed" in header) is kept, (name, header)


# -- ensembles ------------------------------------------------------------------------------------
async def test_an_ensemble_whose_runs_cannot_differ_says_so_and_E_gives_random_starts():
    app = make_app("three_runs")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        await pilot.press("e")
        assert screen.session.current.ensemble
        warning = [m for m in said(app) if "identical" in m]
        assert warning and "starts at (-1.5, 2)" in warning[0] and "Press E" in warning[0]
        await pilot.press("E")
        run = screen.session.current
        assert run.ensemble
        starts = screen.session.sim.params[run.rows]
        assert len({tuple(p) for p in starts}) == len(run.rows)  # every seed its own start
    app = make_app("ensemble")  # noisy gradients: the seeds differ, no warning
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("e")
        assert not [m for m in said(app) if "identical" in m]


async def test_an_ensembles_count_per_end_comes_first_in_the_notices():
    app = make_app("ensemble")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        screen.session.step(300)
        screen.redraw(force=True)
        await pilot.pause()
        lines = str(screen.query_one("#notices").render()).splitlines()
        first = lines[0].strip()  # noisy gradients (noise 1.0, constant rate): most seeds bounce in a cloud
        assert first.startswith("● cloud (B): ") and " of 20 around the global minimum (0, 0)" in first, lines
        assert any("single" in line for line in lines[1:])
        table = screen.query_one(RunTable)
        assert "global min" in table.rows[1][col("status")]


async def test_zero_init_networks_are_told_to_use_a_random_init_not_E(tmp_path):
    from gdsim.app.app import GdsimApp
    from gdsim.scenario.load import load_scenario

    path = tmp_path / "zeros.toml"
    path.write_text('[scenario]\ntitle = "t"\nclaim = "c"\nsteps = 50\n[problem]\ndataset = "moons"\n'
                    'model = "mlp"\nhidden = [4]\ninit = "zeros"\nbatch_size = 10000\n[optimizer]\nname = "sgd"\n'
                    'lr = 0.5\n[[runs]]\nlabel = "zeros"\n')
    app = GdsimApp(load_scenario(path))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("e")
        (warning,) = [m for m in said(app) if "identical" in m]
        assert "zero weights" in warning and "random init" in warning and "Press E" not in warning
        await pilot.press("E")
        assert any("random starts are for surfaces" in m for m in said(app))


def test_live_readings_count_the_runs_that_pass_now(tmp_path):
    from gdsim.app.runtime.verdicts import Verdicts, live_readings
    from gdsim.build import build
    from gdsim.scenario.load import load_scenario
    from gdsim.scenario.verify import verify

    path = tmp_path / "cloud.toml"
    path.write_text((DATA / "ensemble.toml").read_text() + """
[[expect]]
because = "Most seeds get near the bottom."
run = "cloud"
metric = "loss"
at = "final"
below = 0.5
fraction_above = 0.5
""")
    loaded = load_scenario(path)
    verdicts = Verdicts(loaded, verify(loaded))
    sim = build(loaded)
    (reading,) = live_readings(verdicts, sim).values()
    assert reading == "now 0 of 20 pass"  # every seed starts at loss 22 (from (2, 2))
    sim.step(60)
    passing = int((sim.loss[1:] < 0.5).sum())
    assert 0 < passing and live_readings(verdicts, sim) == {0: f"now {passing} of 20 pass"}
    sim.step(40)
    assert live_readings(verdicts, sim) == {}  # decided: the verdict says it, not a reading


async def test_a_lesson_without_a_question_fills_its_numbers_as_the_run_passes_their_steps(tmp_path):
    from gdsim.app.app import GdsimApp
    from gdsim.scenario.load import load_scenario

    text = (DATA / "s2" / "predict.toml").read_text()
    path = tmp_path / "plain.toml"
    path.write_text(text[: text.index("[predict]")])
    app = GdsimApp(load_scenario(path))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert "ends … from" in lesson_texts(screen) and "by step 40" in lesson_texts(screen)
        assert [row[col("run")] for row in screen.query_one(RunTable).rows][0] == "too small"  # no question
        await measured(pilot, screen)
        screen.session.step(40)
        screen.redraw(force=True)
        await pilot.pause(0.2)
        lesson = lesson_texts(screen)
        assert "a loss of 2.4e-56 by step 40" in lesson and "ends … from" in lesson  # 'big' waits for step 60
        screen.session.step(20)
        screen.redraw(force=True)
        await pilot.pause(0.2)
        assert "ends 1.85e+05 from" in lesson_texts(screen)


async def test_the_reveal_says_at_which_step_each_answer_check_was_measured(tmp_path):
    """The question may be about another step than the table's (saddle-point: step 100 of 300):
    each "Measured:" line names its step unless its sentence already does."""
    from gdsim.app.app import GdsimApp
    from gdsim.scenario.load import load_scenario

    path = tmp_path / "steps.toml"
    text = (DATA / "s2" / "predict.toml").read_text()
    path.write_text(text.replace("The middle rate reaches the minimum by step 40.", "The middle rate is there.")
                    .replace("its loss at the end is above the start.", "its loss is above the start."))
    app = GdsimApp(load_scenario(path))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        await pilot.press("1")
        await measured(pilot, screen)
        await pilot.press("w")
        shown = " ".join(text_of(screen.query_one(QuestionPanel)).split())
        assert "Measured: ✓ at step 40: The middle rate is there — loss 2.42e-56" in shown
        assert "✓ at the end (step 60): The largest rate makes things worse: its loss is above the start" in shown


async def test_at_80x24_the_column_telling_neutral_runs_apart_stays_and_cut_rows_are_announced():
    from gdsim.app.widgets.run_table import more_runs

    app = make_app("s2/columns")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        table = screen.query_one(RunTable)
        await pilot.pause()
        assert [row[col("run")] for row in table.rows][:2] == ["run A", "run B"]  # neutral labels
        header = table._strips[0].text
        assert "batch" in header, header  # what tells run A from run B: kept...
        assert "seed" not in header and "schedule" not in header  # ...before settings all runs share
        visible = [strip.text for strip in table._strips[1:table.size.height]]
        hidden = len(table.rows) - len(visible)
        assert hidden > 0, "the test needs a table with more runs than lines"
        assert header.rstrip().endswith((more_runs(hidden, 0, hidden).strip(), f"+{hidden}↓")), header
        assert "status" in header  # short where the full hint would cover the headers
        assert not any(" G " in line[:3] for line in visible)  # the last run is below
        table.focus()
        for _ in range(len(table.rows)):
            await pilot.press("down")
        await pilot.pause()
        header = table._strips[0].text
        assert header.rstrip().endswith((more_runs(hidden, hidden, 0).strip(), f"+{hidden}↑")), header
    assert more_runs(0, 0, 0) == "" and more_runs(1, 0, 1) == " +1 more run (↓) "
    assert more_runs(3, 1, 2) == " +3 more runs (↑/↓) "
    from rich.style import Style

    crowded = RunTable._line([("run", 8, False), ("loss", 8, True)], Style(), [], 20, tail=more_runs(2, 0, 2))
    assert crowded.text.endswith(" +2↓ "), crowded.text
    assert crowded.cell_length == 20 and crowded.text.startswith("run ")  # short: the headers stay readable
