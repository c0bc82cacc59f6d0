"""LessonText: which lessons it draws itself (the rest go to Textual's Markdown widget), and how."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from textual.app import App, ComposeResult

from gdsim.app.widgets.lesson_text import Block, LessonText, parse

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def test_paragraphs_lists_emphasis_and_code():
    blocks = parse("A *soft*\nline and **bold** and `x_1 * y`, snake_case.\n\n- one\n- two\n  more\n\n3. three\n4. four")
    assert blocks == (
        Block((("", (("A ", ""), ("soft", "em"), (" line and ", ""), ("bold", "strong"), (" and ", ""),
                     ("x_1 * y", "code"), (", snake_case.", ""))),)),
        Block((("• ", (("one", ""),)), ("• ", (("two more", ""),)))),
        Block(((" 3. ", (("three", ""),)), (" 4. ", (("four", ""),)))),
    )


@pytest.mark.parametrize("markdown", [
    "# A heading", "Text\n===", "a [link](https://x)", "see https://example.org", "> quoted", "- a\n  - nested",
    "- a\n\n  second paragraph", "```\ncode\n```", "    indented code", "| a | b |", "a  \nhard break",
    "<b>html</b>", "x < y and <em>", "~~struck~~", "**bold *and italic***", "_under_ and 2*3", r"\*escaped\*",
    "&amp; entity", "---",
])
def test_anything_else_goes_to_the_markdown_widget(markdown):
    assert parse(markdown) is None


def test_every_built_in_lesson_is_drawn_without_the_markdown_widget():
    lessons = [tomllib.loads(path.read_text())["scenario"].get("lesson", "") for path in sorted(SCENARIOS.glob("*.toml"))]
    assert len(lessons) >= 10
    assert all(parse(lesson) is not None for lesson in lessons if lesson.strip())


class LessonApp(App):
    def __init__(self, markdown: str):
        super().__init__()
        self.blocks = parse(markdown)

    def compose(self) -> ComposeResult:
        yield LessonText(self.blocks)


async def test_lines_wrap_under_their_bullet_and_blocks_keep_a_blank_line():
    app = LessonApp("First paragraph.\n\n- a list item long enough to wrap at this width\n- b")
    async with app.run_test(size=(24, 10)) as pilot:
        await pilot.pause()
        widget = app.query_one(LessonText)
        lines = [widget.render_line(y).text.rstrip() for y in range(widget.size.height)]
        assert widget.size.height == 7
    assert lines == ["First paragraph.", "", "• a list item long", "  enough to wrap at this", "  width", "• b", ""]


async def test_styles_code_and_bullets_and_keeps_text_inert(monkeypatch):
    app = LessonApp("`code` and [b]not markup[/b]\n\n- item")
    async with app.run_test(size=(40, 6)) as pilot:
        await pilot.pause()
        widget = app.query_one(LessonText)
        first = list(widget.render_line(0))
        bullet = list(widget.render_line(2))[0]
    assert first[0].text == "code" and first[0].style.bgcolor is not None
    assert "".join(s.text for s in first).startswith("code and [b]not markup[/b]")
    assert bullet.text == "• " and bullet.style.color != first[1].style.color
    assert all(segment.style is not None for segment in first)  # NO_COLOR's filter needs a style everywhere
