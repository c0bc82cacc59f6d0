"""The run table: one row per run, selection by keys and clicks, columns dropped to fit, not cut."""

from __future__ import annotations

from gdsim.app.screens.scenario import ScenarioScreen
from gdsim.app.widgets.run_table import COLUMNS, RunTable
from tests.app.conftest import make_app


def col(name: str) -> int:
    return [c.name for c in COLUMNS].index(name)


def header(table: RunTable) -> str:
    return table._strips[0].text


async def test_rows_and_readings_follow_the_runs():
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        table = screen.query_one(RunTable)
        assert [row[1] for row in table.rows] == ["A", "B", "C"]
        assert [row[3] for row in table.rows] == ["sgd", "sgd μ=0.9", "adam"]
        before = [row[col('loss')] for row in table.rows]
        await pilot.press(".", ".", ".")
        await pilot.pause()
        assert [row[col('loss')] for row in table.rows] != before  # the loss column is live
        loss = screen.session.sim.loss
        assert table.rows[0][col('loss')] == f"{float(loss[0]):.5g}"
        assert "batch" not in header(table)  # surfaces have no batch: the column says nothing, so it goes
        await pilot.press("a")
        await pilot.pause()
        assert len(table.rows) == 4 and table.selected == 3
        assert table.size.height == 5  # the header and four rows


async def test_keys_and_clicks_select_a_run():
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen: ScenarioScreen = app.screen
        table = screen.query_one(RunTable)
        assert table.has_focus
        await pilot.press("down")
        assert screen.session.selected == 1 and table.selected == 1
        await pilot.press("down", "down", "down")  # stops at the last row
        assert screen.session.selected == 2
        await pilot.press("up")
        assert screen.session.selected == 1
        await pilot.click(RunTable, offset=(5, 1))  # line 0 is the header; line 1 is run A
        await pilot.pause()
        assert screen.session.selected == 0
        assert screen.session.current.label == "A"


async def test_narrow_terminals_drop_columns_instead_of_cutting_them():
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.screen.query_one(RunTable)
        wide = header(table)
        assert "schedule" in wide and "status" in wide
        await pilot.resize_terminal(60, 24)
        await pilot.pause()
        # the settings every run shares (seed 0, constant) go first; the state words stay
        assert "schedule" not in header(table) and "seed" not in header(table) and "status" in header(table)
        await pilot.resize_terminal(40, 20)
        await pilot.pause()
        narrow = header(table)
        assert len(narrow) <= 40
        assert "seed" not in narrow and "status" not in narrow
        for name in ("run", "optimizer", "lr", "loss"):
            assert name in narrow  # the readings a learner needs most are kept
        assert all(strip.cell_length == table.size.width for strip in table._strips)
