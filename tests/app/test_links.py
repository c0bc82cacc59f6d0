"""Links in lessons never start a program: shown as text plus URL, and the app opens no URL at all.

Textual's Markdown widget opens a clicked link with App.open_url, which starts a web browser, and
with no display a console one (w3m, lynx, www-browser) on the learner's terminal: served, that is
a program started as the presenter's user by whoever wrote a scenario file.
"""

from __future__ import annotations

import webbrowser

import pytest
from textual.app import App, ComposeResult
from textual.widgets import Markdown

from gdsim.app.text import inert_links
from gdsim.app.widgets.lesson_panel import LessonPanel
from gdsim.scenario.load import load_scenario
from tests.app.conftest import DATA, make_app, said

LESSON = "Read [the paper](https://example.org/momentum) first.\n\n# A heading\n\nThen <https://e.org/x>."


@pytest.fixture
def browser_starts(monkeypatch) -> list[str]:
    """Every URL something tried to open in a browser (none is)."""
    opened: list[str] = []
    monkeypatch.setattr(webbrowser, "open", lambda url, *a, **k: opened.append(url) or True)
    return opened


def test_links_become_text_and_url_outside_code():
    assert inert_links("see [it](https://a.b/c \"t\") and `[x](y)`") == "see it (`https://a.b/c`) and `[x](y)`"
    assert inert_links("<https://a.b>") == "`https://a.b`"
    assert inert_links("![plot](p.png)") == "image: plot (`p.png`)"
    assert inert_links("[1]: https://a.b/c\n") == "\\[1\\]: `https://a.b/c`\n"
    assert inert_links("```\n[a](b)\n```") == "```\n[a](b)\n```"


async def test_the_app_opens_no_url_and_shows_it_instead(browser_starts):
    app = make_app(None)
    async with app.run_test() as pilot:
        app.open_url("https://example.org/\x1b[2Jpage")
        await pilot.pause()
        notices = said(app)
    assert browser_starts == []
    assert any("https://example.org/[2Jpage" in n for n in notices), notices  # shown, inert


class LessonApp(App):
    def compose(self) -> ComposeResult:
        yield LessonPanel(load_scenario(DATA / "three_runs.toml"), lesson=LESSON)


async def test_a_clicked_lesson_link_opens_nothing_even_in_a_plain_app(browser_starts):
    app = LessonApp()
    async with app.run_test(size=(80, 30)) as pilot:
        await pilot.pause()
        markdown = app.query_one(Markdown)
        markdown.post_message(Markdown.LinkClicked(markdown, "https://example.org/momentum"))
        await pilot.pause()
        shown = "\n".join(str(block.render()) for block in markdown.query("MarkdownBlock"))
    assert browser_starts == []
    assert "the paper (https://example.org/momentum)" in shown.replace("`", "")
    assert "https://e.org/x" in shown
