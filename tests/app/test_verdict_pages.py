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


async def test_the_header_counts_the_open_checks_in_words_not_as_a_cut_off_mark():
    """" ✓2 …8 (2/5)│" read as text cut off at "…": the checks still open are "8 to come"."""
    from gdsim.app.runtime.verdicts import FAIL

    line = VerdictLine()
    verdicts = ((Verdict(PASS, "a", 0), Verdict(PASS, "b", 0), Verdict(FAIL, "c", 0))
                + tuple(Verdict(WAIT, "d: decided at step 300", 300, id=f"d{i}") for i in range(8)))
    line.max_lines = 2
    short = line.header(verdicts, 1, 5).plain
    assert short == " ✓2 ✗1, 8 to come (2/5)│ ", short
    assert "…" not in short
    line.max_lines = 3
    assert line.header(verdicts, 1, 5).plain == " expects ✓ 2  ✗ 1, 8 to come · 2/5 │ "
    assert line.header(verdicts[:2], 0, 1).plain == " expects ✓ 2 │ "  # nothing open: no count of it
    # a line standing for checks not shown yet counts them itself ("watch: 5 of 8 checks decided"):
    # "8 to come│" beside it contradicted it
    held = (Verdict(WAIT, "watch: 5 of 8 checks decided; all by step 400", 400, count=8),)
    assert line.header(held, 0, 1).plain == " expects │ "
    line.max_lines = 2
    assert line.header(held, 0, 1).plain == " checks│ "
    assert line.header(held + verdicts[:1], 0, 1).plain == " ✓1│ "
