"""Predict → observe → explain: the state of a scenario's [predict] question in the app.

A scenario with a [predict] table opens asking (the claim, the question, the choices; the
lesson's explanation hidden, run labels neutral). The learner answers with a key or skips;
running is allowed all the time. The answer is revealed when the run reaches the point (the live
step has passed every `shown_by` expect's step and the verification of the scenario as it is now
has finished), or when the learner asks. The reveal says the answer, what the run measured
(from the verification: the same numbers `gdsim check --verify` prints), why (the `why` of the
answer and of the learner's choice, and `explain`, placeholders filled) and gives back the
scenario's own labels.

Textual-free: the screen holds one PredictFlow and redraws the question panel from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gdsim.app.runtime.outcome_words import measured_line
from gdsim.app.text import clean
from gdsim.scenario.predict import PredictAnswer, answer_line, predict_result, render, reveal_step, why_text

ASKING, WAITING, REVEALED = "asking", "waiting", "revealed"


@dataclass(frozen=True)
class Reveal:
    """What the reveal shows, as plain strings (placeholders filled)."""

    answer: str  # "The answer: choice 2, “momentum 0.9”."
    verdict: str  # "You said 2: right." / "You said 1." / "You skipped the question."
    measured: str  # "Measured: ✓ at step 150: <because> — loss 0.003× plain's", a line per shown_by check
    confirmed: bool
    why: tuple[str, ...]  # the answer's why, then the learner's choice's why if different
    explain: str


class PredictFlow:
    """One scenario's question: its phase, the learner's answer, and the reveal."""

    def __init__(self, scenario_id: str, predict: Any, steps: int = 0):
        self.scenario_id = scenario_id
        self.steps = steps  # the scenario's length: a value measured at it is "at the end"
        self.predict = predict
        self.phase = ASKING
        self.answer: PredictAnswer | None = None
        self.asked_room = False  # a presenter's poll of it was revealed: they asked, they did not skip

    @classmethod
    def of(cls, loaded: Any) -> PredictFlow | None:
        """The flow for a loaded scenario, or None if it has no [predict]."""
        predict = loaded.scenario.predict
        return None if predict is None else cls(loaded.id, predict, int(loaded.scenario.scenario.steps))

    @property
    def choices(self) -> tuple[str, ...]:
        return tuple(clean(c, keep_newlines=False) for c in self.predict.choices)

    @property
    def question(self) -> str:
        return clean(self.predict.question)

    def choose(self, choice: int | None) -> PredictAnswer:
        """Record the learner's answer (1-based, or None to skip); a second answer replaces the first
        only while the question is still open."""
        answer = PredictAnswer.make(self.scenario_id, self.predict, choice)
        if self.phase == ASKING:
            self.answer = answer
            self.phase = WAITING
        return answer

    @staticmethod
    def reveal_at(loaded: Any) -> int:
        """The live step from which the answer can be shown (every shown_by expect decided)."""
        return reveal_step(loaded.scenario)

    def due(self, step: int, loaded: Any, settled: bool) -> bool:
        """Whether the run has reached the point (and what it measured is known, or known not to
        come): time to reveal by itself."""
        return self.phase != REVEALED and settled and step >= self.reveal_at(loaded)

    def reveal(self) -> None:
        if self.answer is None:
            self.answer = PredictAnswer.make(self.scenario_id, self.predict, None)
        self.phase = REVEALED

    def reveal_text(self, verification: Any) -> Reveal:
        """The reveal's words; `verification` is the scenario's as it is now (None: not measured yet)."""
        p = self.predict
        answer = answer_line(p.answer, self.choices[p.answer - 1])
        choice = None if self.answer is None else self.answer.choice
        if choice is None and self.asked_room:
            verdict = "You asked the room."
        elif choice is None:
            verdict = "You skipped the question."
        elif choice == p.answer:
            verdict = f"You said {choice}: right."
        else:
            verdict = f"You said {choice}: {self.choices[choice - 1].rstrip('.')}."
        values = verification.values() if verification is not None and not isinstance(verification, str) else {}
        if isinstance(verification, str):
            measured, confirmed = (f"Not measured in this session ({verification}): "
                                   f"gdsim check --verify {self.scenario_id} measures it."), False
        elif verification is None:
            measured, confirmed = "Measured: the run is still being measured…", False
        else:
            result = predict_result(p, verification)
            confirmed = result.confirmed
            what = "\n".join(measured_line(o, self.steps) for o in result.outcomes)
            if confirmed:
                measured = f"Measured: {what}"
            else:
                measured = f"With the settings as they are now the run does not show it:\n{what}"
        why: list[str] = []
        if p.why:
            why.append(clean(why_text(p, p.answer, values)))
            if choice is not None and choice != p.answer:
                why.append(clean(why_text(p, choice, values)))
        return Reveal(answer, verdict, measured, confirmed, tuple(why), clean(render(p.explain, values)))
