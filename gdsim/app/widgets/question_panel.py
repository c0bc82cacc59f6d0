"""QuestionPanel: a scenario's [predict] question before the run, and the reveal after it."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.message import Message
from textual.widgets import Static

from gdsim.app.draw.wrap import clip_lines, hang
from gdsim.app.runtime.predict_flow import ASKING, REVEALED, WAITING, PredictFlow, Reveal
from gdsim.scenario.predict import PredictAnswer

BOLD = Style(bold=True)
DIM = Style(dim=True)


class QuestionPanel(Static):
    """Asking: the question, the numbered choices and the keys. Waiting: one line (the answer
    given, when the reveal comes). Revealed: folded to one line (the answer and the learner's;
    the screen folds a reveal that comes by itself, so the plots keep their rows), and `w`
    opens it: what was measured, why. Class `-open` (asking, or a reveal opened) gives it its
    border and its larger height cap (gdsim.tcss)."""

    class Answered(Message):
        """The learner answered (or skipped): `answer` is a gdsim.scenario.predict.PredictAnswer,
        whose as_dict() is the event a room tallies."""

        def __init__(self, answer: PredictAnswer) -> None:
            super().__init__()
            self.answer = answer

    class Revealed(Message):
        """The answer was shown (the run reached the point, or the learner asked)."""

    COMPONENT_CLASSES = {"question-panel--accent", "question-panel--right", "question-panel--unshown"}

    folded = False  # the reveal folded to one line (key w)
    _shown: tuple = ()

    def show(self, flow: PredictFlow, reveal_at: int, reveal: Reveal | None, mono: bool = False,
             claim: str | None = None) -> None:
        """`claim`: the scenario's claim, given where the lesson panel (which states it) is not on screen."""
        key = (flow.phase, flow.answer, reveal_at, reveal, self.folded, mono, claim, self.size.width)
        if key == self._shown:
            return
        self._shown = key
        self.set_class(flow.phase == ASKING, "-asking")
        self.set_class(flow.phase == ASKING or (flow.phase == REVEALED and not self.folded), "-open")
        text = self._text(flow, reveal_at, reveal, mono, claim)
        if not self.has_class("-open") and self.size.width > 2:  # one line, or two with a hanging indent
            text = Text("\n").join(clip_lines(hang(text, self.size.width - 2, 2), 2, self.size.width - 2))
        self.update(text)
        self._args = (flow, reveal_at, reveal, mono, claim)

    def on_resize(self) -> None:
        args = getattr(self, "_args", None)
        if args is not None:
            self.show(*args)

    def _style(self, name: str) -> Style:
        """A component's colour from the theme (gdsim.tcss), bold."""
        style = self.get_component_rich_style(name, partial=True)
        return Style(bold=True, color=style.color)

    def _text(self, flow: PredictFlow, reveal_at: int, reveal: Reveal | None, mono: bool,
              claim: str | None = None) -> Text:
        text = Text()
        accent = BOLD if mono else self._style("question-panel--accent")
        if flow.phase == ASKING:
            if claim:
                text.append("The claim: ", BOLD)
                text.append(claim + "\n", Style(italic=True))
            text.append("Predict ", accent)
            text.append(f"(1-{len(flow.choices)} answer · 0 skip · w answer now · space runs anyway): ", DIM)
            text.append(flow.question)
            for i, choice in enumerate(flow.choices, 1):
                text.append(f"\n  {i} ", BOLD)
                text.append(choice)
            return text
        if flow.phase == WAITING:
            choice = flow.answer.choice if flow.answer is not None else None
            said = "You skipped" if choice is None else f"You said {choice}: {flow.choices[choice - 1].rstrip('.')}"
            text.append(said, BOLD)
            text.append(f". The run shows the answer by step {reveal_at:,} (w: show it now).", DIM)
            return text
        assert flow.phase == REVEALED and reveal is not None
        good = "question-panel--right" if reveal.confirmed else "question-panel--unshown"
        text.append(reveal.answer, BOLD if mono else self._style(good))
        if self.folded:
            short = {"You skipped the question.": "You skipped."}.get(reveal.verdict, reveal.verdict)
            text.append(f"  {short}")
            text.append("  (w: why)", DIM)
            return text
        text.append(f"  {reveal.verdict}")
        text.append("\n" + reveal.measured)
        for why in reveal.why:
            text.append("\n" + why)
        if reveal.explain:
            text.append("\n" + reveal.explain)
        text.append("\n(w folds this; the lesson now explains it)", DIM)
        return text
