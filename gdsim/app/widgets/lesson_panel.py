"""LessonPanel: the scenario's claim, lesson (Markdown) and things to try, all shown inert."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from gdsim.app.text import clean, inert_links
from gdsim.app.widgets.lesson_text import LessonText, parse
from gdsim.scenario.load import LoadedScenario


def describe_problem(loaded: LoadedScenario) -> str:
    problem = loaded.scenario.problem
    if problem.dataset:
        return f"data set {problem.dataset}, model {problem.model or 'default'}"
    if problem.expression:
        return f"surface f(x, y) = {problem.expression}"
    return f"surface {problem.surface}"


class LessonPanel(VerticalScroll):
    """Claim first (what the scenario takes apart), then the lesson and the 'try this' list.

    A lesson in plain Markdown (paragraphs, lists, emphasis, code: every built-in one) is drawn
    by LessonText, composed with the panel. Any other lesson gets Textual's Markdown widget (an
    import of ~0.1 s and a dozen child widgets), mounted the first time the panel is shown.
    """

    def __init__(self, loaded: LoadedScenario, *, lesson: str | None = None, tips: bool = True,
                 id: str | None = None, classes: str | None = None):
        """`lesson`: the text to show (placeholders already filled, or "" to hide it while a
        [predict] question is open); None shows the scenario's lesson with its placeholders "…".
        `tips`: whether to show the try-this list (hidden with the explanation before a reveal)."""
        super().__init__(id=id, classes=classes)
        self.loaded = loaded
        if lesson is None:
            from gdsim.scenario.predict import render_lesson

            lesson = render_lesson(loaded)
        self._lesson = clean(lesson)
        self._tips = tips
        self._blocks = parse(self._lesson) if self._lesson.strip() else ()
        self._lesson_mounted = self._blocks is not None  # nothing left to mount

    def compose(self) -> ComposeResult:
        info = self.loaded.scenario.scenario
        title = Text(clean(info.title, keep_newlines=False), style=Style(bold=True))
        yield Static(title, classes="lesson-title")
        claim = Text("The claim: ", style=Style(bold=True))
        claim.append(clean(info.claim), style=Style(italic=True))
        yield Static(claim, classes="lesson-claim")
        yield Static(Text(clean(describe_problem(self.loaded), keep_newlines=False), style=Style(dim=True)),
                     classes="lesson-meta")
        if self._blocks:
            yield LessonText(self._blocks, classes="lesson-text")
        if info.try_this and self._tips:
            tips = Text("Try this\n", style=Style(bold=True))
            for tip in info.try_this:
                tips.append(f" • {clean(tip, keep_newlines=False)}\n")
            yield Static(tips, classes="lesson-try")

    def on_show(self) -> None:
        self.mount_lesson()

    def mount_lesson(self) -> None:
        """Put the lesson's Markdown widget in its place (after the meta line), once, for a lesson
        LessonText does not draw."""
        lesson = self._lesson
        if self._lesson_mounted or not lesson.strip():
            return
        self._lesson_mounted = True
        from textual.widgets import Markdown  # not needed for the first frame

        # Links are shown as their text and URL, and open nothing (GdsimApp.open_url too).
        markdown = Markdown(inert_links(lesson), classes="lesson-text", open_links=False)
        self.mount(markdown, after=self.query_one(".lesson-meta"))
