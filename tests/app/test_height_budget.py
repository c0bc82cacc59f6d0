"""The height budget at 80x24: after the question the reveal folds to a line, notices and the
verdict line take a fixed number of lines, so the plots and the map keep readable heights; the
notices and the verdicts wrap with a hanging indent and are never cut mid-sentence."""

from __future__ import annotations

import tomllib

import pytest
from rich.text import Text

from gdsim.app.draw.wrap import breaks, hang
from gdsim.app.runtime.verdicts import FAIL, PASS, WAIT, Verdict
from gdsim.app.widgets.notice_bar import LINES_SHORT, NoticeBar
from gdsim.app.widgets.verdict_line import VerdictLine
from gdsim.scenario.library import builtin_dir

BUILTINS = sorted(builtin_dir().glob("*.toml"))
LOSS_ROWS = 8  # the loss panel at 80x24: its title, six rows of curve (24 braille dots), its axis
MAP_ROWS = 9  # the map tab at 80x24: title, picture, x ticks and the legend line (shown from 9 rows)
LONG = "a notice long enough to need two lines at eighty columns, so that the budget is tested " * 2


def test_hang_never_starts_a_continuation_at_column_0():
    text = Text(" ✖ " + "word " * 40)
    lines = hang(text, 30, 3)
    assert len(lines) > 3 and lines[0].plain.startswith(" ✖ word")
    assert all(line.plain.startswith("   ") and line.plain[3] != " " for line in lines[1:])
    assert all(len(line.plain) <= 30 for line in lines)
    assert " ".join(line.plain.strip() for line in lines) == text.plain.strip()
    assert breaks("abcdefghij", 4, 4) == [(0, 4), (4, 8), (8, 10)]  # a word wider than a line is cut


def test_notices_wrap_under_their_words_and_keep_to_their_budget():
    items = [("error", "far too large (D) diverged at step 141: the loss blew up; try a smaller learning rate (key L)"),
             ("warning", "sigmoid (A) stalled (loss 0.6838): the loss has stopped falling for the last 200 steps"),
             ("info", "B reached the global minimum (0, 0)")]
    lines = NoticeBar.lines(items, 80, LINES_SHORT)
    assert len(lines) == 2
    assert lines[0].plain.startswith(" ✖ far too large (D) diverged")
    assert lines[1].plain.startswith("   ") and "(key L)" in lines[1].plain  # hanging, not at column 0
    assert lines[1].plain.rstrip().endswith("(+2 more)")
    lines = NoticeBar.lines(items, 80, 5)
    assert [line.plain[:3] for line in lines] == [" ✖ ", "   ", " ▲ ", "   ", " ● "]
    (only,) = NoticeBar.lines([("error", LONG * 3)], 80, 1)  # one notice longer than the budget
    assert only.plain.endswith("…") and len(only.plain) <= 80


def verdicts_of(path) -> list[Verdict]:
    """Every check of a built-in scenario as the verdict line words it ("value: because"), with
    a value as long as value_words makes them (a relative one naming another run)."""
    data = tomllib.loads(path.read_text())
    out = []
    for i, e in enumerate(data.get("expect", [])):
        because = " ".join(e["because"].split()).rstrip(".")
        mark = (PASS, FAIL)[i % 2]
        out.append(Verdict(mark, f"median distance to the global min 0.257× warm-up, constant's: {because}", i))
    out.append(Verdict(WAIT, "watch: 3 of 9 checks decided; all by step 2,000", 99))
    return out


@pytest.mark.parametrize("path", BUILTINS, ids=[p.stem for p in BUILTINS])
async def test_the_verdict_line_is_never_cut_mid_sentence_at_80_columns(path):
    from textual.app import App

    class One(App):
        def compose(self):
            yield VerdictLine()

    app = One()
    async with app.run_test(size=(80, 24)) as pilot:
        line = app.query_one(VerdictLine)
        line.max_lines = 2
        verdicts = tuple(verdicts_of(path))
        pages = line.paginate(verdicts, 80, False)
        shown = [" ".join(x.plain.strip() for x in page) for page in pages]
        cut = []
        assert all(len(page) <= 2 for page in pages)
        assert all(len(x.plain) <= 80 and (i == 0 or x.plain.startswith(" ")) for page in pages
                   for i, x in enumerate(page))
        for verdict in verdicts:
            because = verdict.text.partition(": ")[2] if verdict.mark != WAIT else verdict.text
            whole = [s for s in shown if because in s]
            if whole:
                continue
            # Too long for two lines even without its value: cut after a whole clause, marked "…"
            clauses = [because[:k + 1].rstrip(",:;") + "…" for k, c in enumerate(because)
                       if c in ".;:," and because[k + 1:k + 2] == " "]
            assert any(clause in s for s in shown for clause in clauses), (because, shown)
            cut.append(because)
        assert len(cut) <= 3, cut  # l1-sparsity's 211 characters, and at most two others
        line.show(list(verdicts))
        await pilot.pause()
        seen = set()
        for _ in range(len(line.pages)):  # the pages turn: every one comes round
            seen.add(str(line.render()))
            line.turn()
        assert len(seen) == len(line.pages)


async def each_builtin(app, pilot):
    """Every built-in scenario opened in turn on `app`'s screen (closed before the next one opens):
    (its path, its ScenarioScreen)."""
    from gdsim.app.runtime.session import Session
    from gdsim.app.screens.scenario import ScenarioScreen
    from gdsim.scenario.load import load_scenario

    for path in BUILTINS:
        screen = ScenarioScreen(Session(load_scenario(path, id=path.stem, trial_build=False)))
        await app.push_screen(screen)
        await pilot.pause()
        yield path, screen
        app.pop_screen()
        await pilot.pause()


@pytest.fixture
def crowded(monkeypatch):
    """Notices and verdicts at their longest: the budget, not the luck of the moment, is tested."""
    items = [("error", LONG), ("warning", LONG), ("info", LONG), ("info", LONG)]
    monkeypatch.setattr("gdsim.app.widgets.notice_bar.notices", lambda session, limit=4: items[:limit])
    sentence = "loss 0.5: a check whose sentence takes two lines at eighty columns and has no clause to cut it at " * 2
    long = [Verdict(PASS, sentence, 0), Verdict(FAIL, sentence, 1), Verdict(WAIT, sentence, 2)]
    monkeypatch.setattr("gdsim.app.runtime.verdicts.Verdicts.lines", lambda self, *a, **k: long)


async def test_every_builtin_at_80x24_after_the_question_keeps_readable_plots_and_map(crowded):
    from gdsim.app.app import GdsimApp
    from gdsim.app.runtime.predict_flow import REVEALED
    from gdsim.app.screens.scenario_layout import MANY_RUNS
    from gdsim.app.widgets.run_table import RunTable
    from gdsim.app.widgets.surface_map import SurfaceMap, map_kind

    app = GdsimApp(None)
    short = []
    async with app.run_test(size=(80, 24)) as pilot:
        async for path, screen in each_builtin(app, pilot):
            session = screen.session
            if screen.flow is not None:
                await pilot.press("0")  # skip; then the run reaches the point: the reveal comes by itself
                screen.reveal()
                assert screen.flow.phase == REVEALED
            screen.redraw(force=True)
            await pilot.pause()
            question = screen.query_one("#question")
            assert not question.display or question.outer_size.height <= 2, path.stem
            many = len(session.display) >= MANY_RUNS  # the notices give the table their second line
            assert screen.query_one("#notices").outer_size.height == (1 if many else 2), path.stem
            # every run on screen: a row each under the header, no "+k more run" hint
            table = screen.query_one(RunTable)
            assert table.outer_size.height == 1 + len(session.display), path.stem
            assert "more run" not in "".join(s.text for s in table.render_line(0)), path.stem
            assert screen.query_one("#verdicts").outer_size.height == 2, str(screen.query_one("#verdicts").render())
            loss = screen.query_one("#plot-loss")
            if loss.size.height < LOSS_ROWS:
                short.append((path.stem, "loss", loss.size.height))
            if map_kind(session) is not None:
                await pilot.press("2")
                await pilot.pause()
                await pilot.pause()
                (surface,) = [m for m in screen.query(SurfaceMap) if m.id == "map-full"]
                if surface.size.height < MAP_ROWS:
                    short.append((path.stem, "map", surface.size.height))
    assert not short, short


ASKING_ROWS = 5  # the loss panel at 80x24 while the question is open: its title, 3 rows of curve, its axis


async def test_every_builtin_at_80x24_while_asking_keeps_rows_of_curve(crowded):
    """While the question is open the plots must still show the run (space runs anyway): at 80x24
    local-minima-networks' question (8 lines with the claim) and six runs left the loss 4 rows (2 of
    curve), cosine-warmup's (10 lines) 3 with the notices. On a short screen the question loses its
    border, and the verdict line (nothing measured before the answer) and the notices (the table's
    status column says the same) their rows: local-minima-networks keeps 4 rows of curve, every
    built-in at least 3."""
    from gdsim.app.app import GdsimApp
    from gdsim.app.runtime.predict_flow import ASKING

    app = GdsimApp(None)
    heights = {}
    async with app.run_test(size=(80, 24)) as pilot:
        async for path, screen in each_builtin(app, pilot):
            if screen.flow is not None:
                assert screen.flow.phase == ASKING
                screen.redraw(force=True)  # notices at their longest (crowded), as when running
                await pilot.pause()
                assert screen.flow.phase == ASKING
                assert not screen.query_one("#verdicts").display, path.stem
                assert not screen.query_one("#notices").display, path.stem
                heights[path.stem] = screen.query_one("#plot-loss").size.height
    assert heights and min(heights.values()) >= ASKING_ROWS, sorted(heights.items(), key=lambda kv: kv[1])[:5]
    assert heights["local-minima-networks"] >= ASKING_ROWS + 1
