"""The verdict line's pages on a tall screen: a short page is filled with the verdicts after it,
not padded with blank rows to the tallest page's height."""

from __future__ import annotations

from textual.app import App

from gdsim.app.runtime.verdicts import PASS, WAIT, Verdict
from gdsim.app.widgets.verdict_line import VerdictLine

TWO_LINES = "a check whose words take two lines at eighty columns, written out at length so that they wrap " * 1


async def test_a_short_page_is_filled_with_the_verdicts_after_it():
    class One(App):
        def compose(self):
            yield VerdictLine()

    app = One()
    async with app.run_test(size=(80, 40)) as pilot:
        line = app.query_one(VerdictLine)
        verdicts = [Verdict(PASS, "first: one line", 0), Verdict(PASS, TWO_LINES, 0),
                    Verdict(PASS, "third: one line", 0), Verdict(WAIT, "fourth: one line", 0)]
        line.show(verdicts)
        await pilot.pause()
        assert line.max_lines == 3 and len(line.pages) == 2
        assert [len(page) for page in line.pages] == [3, 2]  # the second page alone is a row short
        line.turn()
        await pilot.pause()
        shown = [line.render_line(y).text.rstrip() for y in range(line.size.height)]
        assert line.size.height == 3
        assert all(shown), shown  # no blank row: the first verdict comes round again below
        assert "third: one line" in shown[0] and "fourth" in shown[1] and "first: one line" in shown[2]
        line.turn()
        await pilot.pause()
        assert line.page == 0 and line.size.height == 3  # the height never changed: the plots stay put
