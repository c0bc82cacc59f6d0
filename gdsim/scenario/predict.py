"""[predict]: a question the learner answers before the run, whose answer the run itself checks.

A scenario's `[predict]` table asks a question with 2-5 `choices`; `answer` is the number (1-based)
of the right one, and `shown_by` names the [[expect]] entries (by their `id`) that prove it. The
answer counts as confirmed only when every one of them passes, and `gdsim check --verify` fails a
scenario whose answer is not confirmed: a quiz cannot lie.

Texts shown after the run (the lesson, the `why` of each choice, `explain`) may quote what the
run measured through placeholders: `{{id}}` or `{{id:.2f}}` is replaced by the number the
[[expect]] with that id compared (see `Outcome.value` in gdsim.scenario.verify), formatted with
the Python format spec after the colon (default: an integer as is, otherwise 3 significant
digits). render() is the ONE place that fills them, for the CLI and the app alike; before the
value is known a placeholder renders as "…".

This module must not import gdsim.scenario.model (which imports it).
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

PENDING = "…"
ID_PATTERN = r"^[a-z][a-z0-9_-]{0,39}$"
# {{ id }} or {{ id:spec }}; spec is a numeric Python format spec (checked by _check_spec).
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_-]*)\s*(?::\s*([^{}]*?)\s*)?\}\}")
_SPEC = re.compile(r"^[<>^=]?[+\- ]?#?0?\d{0,2}[,_]?(\.\d{1,2})?[eEfFgG%d]?$")

ChoiceText = Annotated[str, Field(min_length=1, max_length=300)]
ExpectId = Annotated[str, Field(pattern=ID_PATTERN)]


class Predict(BaseModel):
    """[predict]: the question asked before the run, and the expects that check its answer."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_max_length=2000)

    question: Annotated[str, Field(min_length=1, max_length=500)] = Field(
        description="Asked before the run, after the claim. No placeholders (nothing is measured yet)."
    )
    choices: tuple[ChoiceText, ...] = Field(
        min_length=2, max_length=5, description="2-5 possible answers, chosen with the keys 1-5 in the app."
    )
    answer: Annotated[int, Field(ge=1, le=5)] = Field(description="The number (1-based) of the right choice.")
    shown_by: tuple[ExpectId, ...] = Field(
        min_length=1, max_length=10,
        description="Ids of the [[expect]] entries that prove the answer; it counts as confirmed "
        "only when all of them pass.",
    )
    why: tuple[Annotated[str, Field(max_length=1000)], ...] | None = Field(
        default=None, description="Optional: one text per choice, shown at the reveal (placeholders allowed)."
    )
    explain: Annotated[str, Field(max_length=2000)] = Field(
        default="", description="Optional: shown at the reveal after the measured answer (placeholders allowed)."
    )

    @model_validator(mode="after")
    def _consistent(self) -> Predict:
        if self.answer > len(self.choices):
            raise ValueError(f"answer = {self.answer}, but there are only {len(self.choices)} choices (answer is 1-based)")
        if self.why is not None and len(self.why) != len(self.choices):
            raise ValueError(f"why has {len(self.why)} texts; give one per choice ({len(self.choices)})")
        if len(set(self.choices)) != len(self.choices):
            raise ValueError("choices: each choice must be different")
        for key, text in (("question", self.question), *((f"choices.{i}", c) for i, c in enumerate(self.choices))):
            if PLACEHOLDER.search(text):
                raise ValueError(f"{key}: no placeholders before the run (they would give the answer away)")
        return self


def placeholders(text: str) -> list[tuple[str, str | None]]:
    """The (id, format spec) of every placeholder in `text`, in order."""
    return [(m.group(1), m.group(2) or None) for m in PLACEHOLDER.finditer(text)]


def _check_spec(spec: str | None) -> bool:
    if spec is None:
        return True
    if not _SPEC.match(spec):
        return False
    try:
        format(1.5 if not spec.endswith("d") else 1, spec)
    except (ValueError, TypeError):
        return False
    return True


def check_placeholders(texts: Iterable[tuple[str, str]], ids: set[str]) -> None:
    """Raise ValueError "key: ..." for the first unknown id or bad format spec among (key, text)."""
    known = ", ".join(sorted(ids)) if ids else "none (give an [[expect]] an id = \"...\")"
    for key, text in texts:
        if "{{" in PLACEHOLDER.sub("", text):
            raise ValueError(f"{key}: a {{{{ that opens no placeholder; write {{{{id}}}} or {{{{id:.3g}}}} with an [[expect]] id")
        for name, spec in placeholders(text):
            if name not in ids:
                raise ValueError(f"{key}: placeholder {{{{{name}}}}} names no [[expect]] id; the ids are: {known}")
            if not _check_spec(spec):
                raise ValueError(
                    f"{key}: placeholder {{{{{name}:{spec}}}}} has a format the tool cannot use; "
                    "use a number format such as .3g, .2f, .0% or , (thousands)"
                )


def check_no_placeholders(scenario: Any) -> None:
    """Raise ValueError "key: ..." if a text shown before the run (or never filled) has a placeholder."""
    info = scenario.scenario
    texts = [("scenario.title", info.title), ("scenario.claim", info.claim),
             *((f"scenario.try_this.{i}", t) for i, t in enumerate(info.try_this)),
             *((f"expect.{i}.because", e.because) for i, e in enumerate(scenario.expect))]
    for key, text in texts:
        if "{{" in text:
            raise ValueError(f"{key}: placeholders ({{{{id}}}}) are filled only in the lesson and in "
                             "[predict] why / explain")


def texts_with_placeholders(scenario: Any) -> list[tuple[str, str]]:
    """(dotted key, text) of every text in a Scenario that may hold placeholders."""
    texts = [("scenario.lesson", scenario.scenario.lesson)]
    predict = scenario.predict
    if predict is not None:
        texts += [(f"predict.why.{i}", w) for i, w in enumerate(predict.why or ())]
        texts.append(("predict.explain", predict.explain))
    return texts


def format_value(value: float | None, spec: str | None = None) -> str:
    """One measured number as a lesson shows it; None (not measured yet) is "…"."""
    if value is None:
        return PENDING
    value = float(value)
    if not math.isfinite(value):
        return "never" if math.isnan(value) else ("∞" if value > 0 else "−∞")
    if spec:
        if spec.endswith("d"):
            return format(int(round(value)), spec)
        return format(value, spec)
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return format(value, ".3g")


def values_of(verification: Any, upto_step: int | None = None) -> dict[str, float]:
    """{expect id: measured value} from a Verification (or a mapping passed through).

    With upto_step, only values known by that step (Outcome.step <= upto_step): the app fills
    a placeholder as its live run reaches the step where the value was measured.
    """
    if verification is None:
        return {}
    if isinstance(verification, Mapping):
        return dict(verification)
    out = {}
    for outcome in verification.outcomes:
        if outcome.id is None or outcome.value is None:
            continue
        if upto_step is not None and outcome.step > upto_step:
            continue
        out[outcome.id] = outcome.value
    return out


def render(text: str, values: Mapping[str, float] | Any = None, upto_step: int | None = None) -> str:
    """`text` with every placeholder replaced by its measured value ("…" while unknown).

    `values` is a Verification (gdsim.scenario.verify), a {id: value} mapping, or None.
    """
    known = values_of(values, upto_step)

    def fill(match: re.Match) -> str:
        name, spec = match.group(1), match.group(2) or None
        return format_value(known.get(name), spec)

    return PLACEHOLDER.sub(fill, text)


def _scenario(scenario: Any) -> Any:
    """A Scenario from a Scenario or a LoadedScenario (which has the parsed TOML as `raw`)."""
    return scenario.scenario if hasattr(scenario, "raw") else scenario


def render_lesson(scenario: Any, values: Mapping[str, float] | Any = None, upto_step: int | None = None) -> str:
    """The lesson of a Scenario (or LoadedScenario) with its placeholders filled (see render)."""
    scenario = _scenario(scenario)
    return render(scenario.scenario.lesson, values, upto_step)


@dataclass(frozen=True)
class PredictResult:
    """Whether a scenario's answer is confirmed by its run: every `shown_by` expect passed."""

    answer: int          # 1-based
    answer_text: str
    confirmed: bool
    outcomes: tuple      # the Outcome of each shown_by expect, in shown_by's order
    missing: tuple[str, ...] = ()  # shown_by ids with no outcome (should not happen after loading)

    @property
    def measured(self) -> str:
        """What the run measured for the answer, in one line."""
        return "; ".join(o.measured for o in self.outcomes)


def predict_result(predict: Predict, verification: Any) -> PredictResult:
    """Check `predict`'s answer against a Verification of its scenario."""
    by_id = {o.id: o for o in verification.outcomes if o.id is not None}
    found = tuple(by_id[i] for i in predict.shown_by if i in by_id)
    missing = tuple(i for i in predict.shown_by if i not in by_id)
    confirmed = not missing and all(o.passed for o in found)
    return PredictResult(predict.answer, predict.choices[predict.answer - 1], confirmed, found, missing)


def reveal_step(scenario: Any, steps: int | None = None) -> int:
    """The step by which every `shown_by` expect of a Scenario can be judged (its `steps` if none)."""
    scenario = _scenario(scenario)
    total = scenario.scenario.steps if steps is None else steps
    predict = scenario.predict
    if predict is None:
        return total
    from gdsim.scenario.expect import known_at

    by_id = {e.id: e for e in scenario.expect if e.id is not None}
    return max((known_at(by_id[i], total) for i in predict.shown_by if i in by_id), default=total)


# First words of a question that is answered yes or no ("Is there a learning rate that ...?").
YES_NO_WORDS = frozenset("is are was were does do did can could will would should shall has have had may might must".split())


def is_yes_no(question: str) -> bool:
    """Whether the question's last sentence asks for a yes or a no."""
    last = re.split(r"(?<=[.!?:;])\s+", question.strip().rstrip("?").strip())[-1]
    words = last.split()
    return bool(words) and words[0].lower().strip("\"'“(") in YES_NO_WORDS


def answer_line(number: int, choice: str) -> str:
    """How a reveal names the answer: the key and the choice's words, told apart even when the
    words are themselves a number ("The answer: choice 2, “2”.", not "The answer: 2. 2.")."""
    return f"The answer: choice {number}, “{choice.strip().rstrip('.')}”."


_LEADING = re.compile(r"^\s*(yes|no)\b\s*[:,.!—–-]?\s*", re.IGNORECASE)


def why_text(predict: Predict, choice: int, values: Mapping[str, float] | Any = None) -> str:
    """The `why` of a choice (1-based) with its placeholders filled, worded for the reveal.

    Authors often open the right answer's why with "Yes:" and a wrong one's with "No:". After
    "The answer: ..." that reads as an answer to a yes/no question the learner was never asked
    (or, when the right choice is itself "No ...", as its contradiction). So the right answer's
    leading "Yes" becomes "Right", and on a question that is not a yes/no question a wrong
    choice's leading "No" becomes "Not so"; everything after it is the author's."""
    if not predict.why:
        return ""
    text = render(predict.why[choice - 1], values)
    found = _LEADING.match(text)
    if found is None:
        return text
    word, rest = found.group(1).lower(), text[found.end():]
    if word == "yes" and choice == predict.answer:
        return f"Right: {rest}"
    if word == "no" and choice != predict.answer and not is_yes_no(predict.question):
        return f"Not so: {rest}"
    return text


def summary_lines(predict: Predict, verification: Any, note: str = "") -> list[str]:
    """The question, its choices, and the measured answer, as `gdsim run --format summary` prints them."""
    result = predict_result(predict, verification)
    lines = [f"Question: {predict.question}"]
    for number, choice in enumerate(predict.choices, start=1):
        lines.append(f"  {number}. {choice}{'   <- the answer' if number == predict.answer else ''}")
    verdict = "confirmed by the run" if result.confirmed else "NOT confirmed by the run"
    measured = "; ".join(f"{o.id}: {o.measured}" for o in result.outcomes)
    lines.append(f"Measured: answer {predict.answer} {verdict}{note}: {measured}")
    for text in (why_text(predict, predict.answer, verification), render(predict.explain, verification)):
        if text.strip():
            lines.append("  " + text)
    return lines


@dataclass(frozen=True)
class PredictAnswer:
    """A learner's answer, as an event other parts read (the workshop room tallies them).

    choice is 1-based, or None when the learner skipped; correct is None for a skip.
    """

    scenario: str
    choice: int | None
    correct: bool | None
    time: float

    @classmethod
    def make(cls, scenario_id: str, predict: Predict, choice: int | None, at: float | None = None) -> PredictAnswer:
        if choice is not None and not 1 <= choice <= len(predict.choices):
            raise ValueError(f"choice {choice}: expected 1 to {len(predict.choices)}")
        correct = None if choice is None else choice == predict.answer
        return cls(scenario_id, choice, correct, time.time() if at is None else at)

    def as_dict(self) -> dict[str, Any]:
        return {"event": "predict_answer", **asdict(self)}
