"""[predict] and {{id}} placeholders: validation, the measured value of each expect, the reveal."""

from __future__ import annotations

import io
import json
import math
import textwrap

import pytest

from gdsim.cli import main
from gdsim.scenario.load import ScenarioError, parse_toml_bytes, validate_raw
from gdsim.scenario.predict import PENDING, PredictAnswer, format_value, render, render_lesson, reveal_step
from gdsim.scenario.verify import verify, verify_report

# A double well: global minimum on the left, local on the right; "wild" diverges; "many" is 40 seeds.
BASE = """
[scenario]
title = "t"
claim = "c"
steps = 200
lesson = "LESSON"

[problem]
surface = "double_well"

[optimizer]
name = "sgd"
lr = 0.05

[[runs]]
label = "left"
start = [-1.8, 1.0]

[[runs]]
label = "right"
start = [1.8, 1.0]

[[runs]]
label = "wild"
start = [1.8, 1.0]
optimizer = { lr = 5.0 }

[[runs]]
label = "many"
seed = 1
seeds = 40

[[expect]]
id = "left-loss"
because = "The left run ends in the deep well."
run = "left"
metric = "loss"
below = 0.0

[[expect]]
id = "ratio"
because = "The right run ends higher than the left one."
run = "right"
metric = "loss"
than_run = "left"
by = "difference"
above = 0.1

[[expect]]
id = "wild"
because = "lr 5 diverges."
run = "wild"
diverges = true

[[expect]]
id = "share"
because = "Many random starts end in the local well."
run = "many"
ends_in = "local"
within = 0.01
fraction_above = 0.2

[[expect]]
id = "halfway"
because = "By step 50 the left run is already low."
run = "left"
metric = "loss"
at = 50
below = 0.5
"""

PREDICT = """
[predict]
question = "Which well does the run started on the right end in?"
choices = ["the deep one on the left", "the shallow one on the right"]
answer = 2
shown_by = ["ratio"]
why = ["No: its loss ends {{ratio:.2f}} above the left run's.", "Yes: {{ratio:.2f}} above."]
"""


def load(text: str):
    raw = parse_toml_bytes(text.encode(), "test.toml")
    return validate_raw(raw, path=None, id="test", text=text)


def invalid(text: str) -> str:
    with pytest.raises(ScenarioError) as info:
        load(text)
    return str(info.value)


def with_lesson(lesson: str, extra: str = "") -> str:
    return BASE.replace('lesson = "LESSON"', f"lesson = {json.dumps(lesson)}") + textwrap.dedent(extra)


# -- validation -------------------------------------------------------------------------------
def test_a_predict_loads_and_is_confirmed_by_its_expect():
    loaded = load(BASE + PREDICT)
    predict = loaded.scenario.predict
    assert predict.answer == 2 and predict.shown_by == ("ratio",)
    result = verify(loaded)
    assert result.failures == 0
    assert result.predict.confirmed
    assert result.predict.answer_text == "the shallow one on the right"
    assert [o.id for o in result.predict.outcomes] == ["ratio"]


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ('shown_by = ["nope"]', "predict.shown_by.0"),
        ("shown_by = []", "predict.shown_by"),
        ("", "predict.shown_by"),
    ],
)
def test_shown_by_must_name_expect_ids(extra, expected):
    text = BASE + '\n[predict]\nquestion = "q"\nchoices = ["a", "b"]\nanswer = 1\n' + extra + "\n"
    message = invalid(text)
    assert message.startswith("test:") and expected in message
    if "nope" in extra:
        assert "'nope'" in message and "left-loss" in message and "(line" in message


@pytest.mark.parametrize(
    ("predict", "expected"),
    [
        ('question = "q"\nchoices = ["a", "b"]\nanswer = 3\nshown_by = ["ratio"]', "only 2 choices"),
        ('question = "q"\nchoices = ["a"]\nanswer = 1\nshown_by = ["ratio"]', "predict.choices"),
        ('question = "q"\nchoices = ["a", "a"]\nanswer = 1\nshown_by = ["ratio"]', "must be different"),
        ('question = "q"\nchoices = ["a", "b"]\nanswer = 1\nshown_by = ["ratio"]\nwhy = ["x"]', "one per choice"),
        ('question = "q {{ratio}}"\nchoices = ["a", "b"]\nanswer = 1\nshown_by = ["ratio"]', "give the answer away"),
        ('question = "q"\nchoices = ["a", "b {{ratio}}"]\nanswer = 1\nshown_by = ["ratio"]', "choices.1"),
        ('question = "q"\nchoices = ["a", "b"]\nanswer = 1\nshown_by = ["ratio"]\nwhy = ["{{gap}}", "b"]',
         "predict.why.0 (line 76): placeholder {{gap}} names no [[expect]] id"),
        ('question = "q"\nchoices = ["a", "b"]\nanswer = 1\nshown_by = ["ratio"]\nhint = "x"', "predict.hint"),
    ],
)
def test_bad_predict_tables_name_the_key(predict, expected):
    assert expected in invalid(BASE + "\n[predict]\n" + predict + "\n")


def test_unknown_placeholder_in_the_lesson_names_file_key_and_ids():
    message = invalid(with_lesson("ends {{gap}} apart"))
    assert message.startswith("test: scenario.lesson")
    assert "{{gap}}" in message and "ratio" in message and "left-loss" in message


@pytest.mark.parametrize("key", ["claim", "title"])
def test_placeholders_only_where_they_are_filled(key):
    message = invalid(BASE.replace(f'{key} = "', f'{key} = "{{{{ratio}}}} ', 1))
    assert f"scenario.{key}" in message and "filled only in the lesson" in message
    assert "expect.1.because" in invalid(BASE.replace('because = "The right run', 'because = "{{ratio}} The right run'))


def test_bad_format_spec_is_a_load_error():
    assert "format the tool cannot use" in invalid(with_lesson("x {{ratio:.3q}}"))
    assert "opens no placeholder" in invalid(with_lesson("x {{ratio:{}}} {{ratio"))


def test_expect_ids_are_unique_and_well_formed():
    assert "repeated: ratio" in invalid(BASE + '[[expect]]\nid = "ratio"\nbecause = "x"\nrun = "left"\ndiverges = false\n')
    assert "expect.5.id" in invalid(BASE + '[[expect]]\nid = "Bad Id"\nbecause = "x"\nrun = "left"\ndiverges = false\n')


# -- the value each expect compared ------------------------------------------------------------
def test_outcome_values_are_the_numbers_compared():
    result = verify(load(BASE))
    by_id = result.by_id()
    assert all(o.passed for o in result.outcomes), [o.measured for o in result.outcomes]
    left_loss = by_id["left-loss"].value
    assert left_loss < 0 and f"loss {left_loss:.4g}" == by_id["left-loss"].measured
    # a difference with than_run: the difference itself
    ratio = by_id["ratio"]
    assert ratio.value > 0.1 and ratio.measured.startswith(f"difference {ratio.value:.4g}")
    # diverges, one run: the step it diverged at
    wild = by_id["wild"]
    assert wild.measured == f"diverged at step {int(wild.value)}" and wild.value >= 1
    # fraction_above: the share of passing runs
    share = by_id["share"]
    count = int(share.measured.split(" of ")[0])
    assert share.value == pytest.approx(count / 40) and 0.2 < share.value < 1
    # known at: a step number, final
    assert by_id["halfway"].step == 50 and by_id["left-loss"].step == 200


def test_over_several_runs_the_value_is_the_run_nearest_to_failing():
    text = BASE + textwrap.dedent("""
        [[expect]]
        id = "each"
        because = "Every random start ends with a loss below 1."
        run = "many"
        metric = "loss"
        below = 1.0

        [[expect]]
        id = "any"
        because = "Some start ends below 0."
        run = "many"
        metric = "loss"
        below = 0.0
        across = "any"

        [[expect]]
        id = "all-steps"
        because = "The left run's loss stays below 6 at every step."
        run = "left"
        metric = "loss"
        at = "all"
        below = 6.0
    """)
    result = verify(load(text))
    by_id = result.by_id()
    report = io.StringIO()
    verify_report([load(text)], out=report)
    # recompute the final losses of the 40 runs independently
    from gdsim.build import build

    sim = build(load(text), record=False)
    sim.step(200)
    rows = [r for r, run in enumerate(sim.runs) if run.group == "many"]
    losses = sim.loss[rows]
    assert by_id["each"].value == pytest.approx(max(losses))
    assert by_id["any"].value == pytest.approx(min(losses))
    # at = all with below: the highest loss over the steps, which the report calls "highest"
    start = load(text)
    first = build(start, record=False).loss[[r for r, run in enumerate(sim.runs) if run.label == "left"]][0]
    assert by_id["all-steps"].passed and by_id["all-steps"].value == pytest.approx(first)
    assert by_id["all-steps"].measured == f"highest loss {first:.4g}"
    assert "predict" not in report.getvalue()


def test_outcomes_are_plain_data():
    result = verify(load(BASE))
    data = result.by_id()["ratio"].as_dict()
    assert set(data) == {"id", "index", "passed", "value", "step", "measured", "checked", "because"}
    assert json.loads(json.dumps(data))["id"] == "ratio"


# -- rendering ----------------------------------------------------------------------------------
def test_render_lesson_fills_measured_values_and_pending_before():
    loaded = load(with_lesson("Ends {{ratio:.2f}} higher; diverges at step {{wild}}; {{share:.0%}} local. {{ halfway }}"))
    before = render_lesson(loaded)
    assert before == f"Ends {PENDING} higher; diverges at step {PENDING}; {PENDING} local. {PENDING}"
    result = verify(loaded)
    by_id = result.by_id()
    after = render_lesson(loaded, result)
    assert after == (f"Ends {by_id['ratio'].value:.2f} higher; diverges at step {int(by_id['wild'].value)}; "
                     f"{by_id['share'].value:.0%} local. {by_id['halfway'].value:.3g}")
    # as the live run reaches step 50, only the value read at step 50 is known
    partial = render_lesson(loaded.scenario, result, upto_step=60)
    assert partial == f"Ends {PENDING} higher; diverges at step {PENDING}; {PENDING} local. {by_id['halfway'].value:.3g}"
    assert render_lesson(loaded, result.values()) == after


def test_format_value():
    assert format_value(None) == PENDING
    assert format_value(12.0) == "12"
    assert format_value(0.012345) == "0.0123"
    assert format_value(0.5, ".0%") == "50%"
    assert format_value(1234567.0, ",d") == "1,234,567"
    assert format_value(math.nan) == "never"
    assert render("a {{x}} b {{y:.1f}}", {"x": 3.0}) == f"a 3 b {PENDING}"


def test_reveal_step_is_when_the_shown_by_expects_can_be_judged():
    loaded = load(BASE + PREDICT)
    assert reveal_step(loaded) == 200
    early = load(BASE + PREDICT.replace('shown_by = ["ratio"]', 'shown_by = ["halfway"]'))
    assert reveal_step(early) == 50
    assert reveal_step(load(BASE)) == 200


def test_an_answer_the_run_does_not_show_fails_verify(capsys, tmp_path):
    wrong = BASE.replace("above = 0.1", "above = 100.0") + PREDICT
    loaded = load(wrong)
    result = verify(loaded)
    assert not result.predict.confirmed and result.failures == 1
    report = io.StringIO()
    assert verify_report([loaded], out=report) == 1
    assert "predict: answer 2 ('the shallow one on the right') NOT confirmed: ratio failed" in report.getvalue()
    path = tmp_path / "wrong.toml"
    path.write_text(wrong)
    assert main(["check", "--verify", str(path)]) == 2
    assert "NOT confirmed" in capsys.readouterr().out
    right = tmp_path / "right.toml"
    right.write_text(BASE + PREDICT)
    assert main(["check", "--verify", str(right)]) == 0
    assert "confirmed by ratio" in capsys.readouterr().out


def test_answers_are_events():
    predict = load(BASE + PREDICT).scenario.predict
    right = PredictAnswer.make("test", predict, 2, at=100.0)
    assert right.as_dict() == {"event": "predict_answer", "scenario": "test", "choice": 2, "correct": True, "time": 100.0}
    assert PredictAnswer.make("test", predict, 1).correct is False
    skipped = PredictAnswer.make("test", predict, None)
    assert skipped.choice is None and skipped.correct is None and skipped.time > 0
    with pytest.raises(ValueError):
        PredictAnswer.make("test", predict, 3)


def test_run_summary_prints_the_question_and_the_measured_answer(tmp_path, capsys):
    path = tmp_path / "quiz.toml"
    path.write_text(BASE + PREDICT)
    assert main(["run", str(path), "--format", "summary"]) == 0
    out = capsys.readouterr().out
    ratio = verify(load(BASE + PREDICT)).by_id()["ratio"]
    assert "Question: Which well does the run started on the right end in?" in out
    assert "  2. the shallow one on the right   <- the answer" in out
    flat = " ".join(out.split())  # long lines are wrapped at 80 columns
    assert max(map(len, out.splitlines())) <= 80
    assert f"Measured: answer 2 confirmed by the run: ratio: {' '.join(ratio.measured.split())}" in flat
    assert f"  Right: {ratio.value:.2f} above." in out  # the why's "Yes:" on a which-question
    assert main(["run", str(path), "--format", "summary", "--steps", "10"]) == 0
    assert "confirmed by the run (over the scenario's 200 steps)" in capsys.readouterr().out
    wrong = tmp_path / "wrong.toml"
    wrong.write_text(BASE.replace("above = 0.1", "above = 100.0") + PREDICT)
    assert main(["run", str(wrong), "--format", "summary"]) == 0
    assert "Measured: answer 2 NOT confirmed by the run" in capsys.readouterr().out
    plain = tmp_path / "plain.toml"
    plain.write_text(BASE)
    assert main(["run", str(plain), "--format", "summary"]) == 0
    assert "Question" not in capsys.readouterr().out


# -- the reveal's wording -------------------------------------------------------------------------
from gdsim.scenario.library import list_entries  # noqa: E402
from gdsim.scenario.load import load_scenario  # noqa: E402
from gdsim.scenario.predict import answer_line, is_yes_no, why_text  # noqa: E402

BUILTIN = {e.id: e for e in list_entries() if e.builtin}


def _predict(scenario_id: str):
    return load_scenario(BUILTIN[scenario_id].path, id=scenario_id, trial_build=False).scenario.predict


def test_the_answer_line_tells_the_key_from_a_choice_that_is_a_number():
    assert answer_line(2, "2") == "The answer: choice 2, “2”."
    assert answer_line(3, "momentum 0.9.") == "The answer: choice 3, “momentum 0.9”."
    p = _predict("conjugate-gradient")
    assert answer_line(p.answer, p.choices[p.answer - 1]) == "The answer: choice 2, “2”."


def test_yes_no_questions_are_told_from_others_by_their_last_sentence():
    assert is_yes_no(_predict("single-step").question)  # "... Is there a learning rate ...?"
    assert not is_yes_no(_predict("adam-defaults").question)
    assert not is_yes_no(_predict("l1-sparsity").question)
    assert is_yes_no("Two runs. Does either reach the minimum?")
    assert not is_yes_no("Is it the bowl? Which run ends closest?")


def test_the_right_answer_s_why_never_opens_with_yes_and_others_keep_their_words():
    adam = _predict("adam-defaults")
    raw = adam.why[adam.answer - 1]
    assert raw.startswith("Yes:")  # the author's words...
    shown = why_text(adam, adam.answer, {})
    assert shown.startswith("Right: ") and shown[len("Right: "):] == render(raw, {})[len("Yes: "):]
    single = _predict("single-step")  # the right choice is "No: ..."; its why opened "Yes: ..."
    assert why_text(single, single.answer, {}).startswith("Right: x needs 1")
    text = textwrap.dedent('''
        [scenario]
        title = "t"
        claim = "c"
        [problem]
        surface = "bowl"
        [[expect]]
        id = "e"
        because = "b"
        metric = "loss"
        below = 1
        [predict]
        question = "Which run wins?"
        choices = ["A", "B"]
        answer = 1
        shown_by = ["e"]
        why = ["Yes, A.", "No: B is slower."]
    ''')
    p = validate_raw(parse_toml_bytes(text.encode(), "t.toml"), path=None, id="t", text=text).scenario.predict
    assert why_text(p, 1, {}) == "Right: A."
    assert why_text(p, 2, {}) == "Not so: B is slower."
    yes_no = p.model_copy(update={"question": "Does A win?"})
    assert why_text(yes_no, 2, {}) == "No: B is slower."  # a real no to a yes/no question stays


def test_no_built_in_reveal_reads_yes_on_a_question_that_is_not_yes_or_no():
    for scenario_id in BUILTIN:
        p = _predict(scenario_id)
        if p is None or not p.why:
            continue
        for choice in range(1, len(p.choices) + 1):
            shown = why_text(p, choice, {})
            assert not shown.lower().startswith("yes"), (scenario_id, choice, shown)
            if not is_yes_no(p.question) and choice != p.answer:
                assert not shown.lower().startswith("no:"), (scenario_id, choice, shown)
