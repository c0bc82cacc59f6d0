"""[[expect]]: validation of the vocabulary, and verify() on small surface scenarios (true and false claims)."""

from __future__ import annotations

import io
import textwrap

import pytest

from gdsim.scenario.load import ScenarioError, parse_toml_bytes, validate_raw
from gdsim.scenario.verify import verify, verify_report

# A double well (global minimum on the left, local on the right) with three runs and an ensemble.
BASE = """
[scenario]
title = "t"
claim = "c"
steps = 200

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
"""


def load(expect: str, base: str = BASE):
    text = base + textwrap.dedent(expect)
    raw = parse_toml_bytes(text.encode(), "test.toml")
    return validate_raw(raw, path=None, id="test", text=text)


def outcomes(expect: str, base: str = BASE):
    result = verify(load(expect, base))
    return [(o.passed, o.measured) for o in result.outcomes]


def single(expect: str, base: str = BASE) -> tuple[bool, str]:
    (outcome,) = outcomes(expect, base)
    return outcome


def invalid(expect: str) -> str:
    with pytest.raises(ScenarioError) as info:
        load(expect)
    return str(info.value)


# -- validation -------------------------------------------------------------------------------
def test_unknown_key_is_named_with_its_entry():
    message = invalid('[[expect]]\nbecause = "x"\nrun = "left"\nends_in = "local"\nwithn = 0.1\n')
    assert "expect.0.withn" in message and "unknown key" in message


def test_because_is_required():
    message = invalid('[[expect]]\nrun = "left"\nends_in = "local"\n')
    assert "expect.0.because" in message and "missing" in message


@pytest.mark.parametrize(
    "body, words",
    [
        ('run = "left"', "exactly one of metric, ends_in, diverges or stops_early"),
        ('ends_in = "local"\ndiverges = true', "found ends_in, diverges"),
        ('metric = "loss"', "needs a comparison"),
        ('metric = "params"\nbelow = 1', "compare it with than_run or than_at"),
        ('metric = "loss"\nat = "any"\nthan_run = "left"\nbelow = 1', "cannot be combined"),
        ('metric = "loss"\nat = 10\nduring = [0, 5]\nbelow = 1', "during only applies"),
        ('metric = "loss"\nat = "min"\nduring = [9, 5]\nbelow = 1', "must not be after"),
        ('ends_in = "local"\nbelow = 1', "leave out below"),
        ('diverges = true\nat = 5', "leave out `at`"),
        ('ends_in = "global"\nacross = "mean"', "with ends_in use each or any"),
        ('metric = "loss"\nbelow = 1\nacross = "mean"\nfraction_above = 0.5', "leave `across` at each"),
        ('metric = "loss"\nbelow = 1\nwithin = 0.1', "within is the distance for ends_in"),
        ('metric = "loss"\nbelow = 1\nby = "difference"', "by only applies"),
    ],
)
def test_combinations_are_checked_with_clear_messages(body, words):
    message = invalid(f'[[expect]]\nbecause = "x"\n{body}\n')
    assert message.startswith("test: expect.0")
    assert words in message


@pytest.mark.parametrize(
    "body, key",
    [
        ('metric = "lost"\nbelow = 1', "expect.0.metric"),
        ('metric = "loss"\nat = "end"\nbelow = 1', "expect.0.at"),
        ('metric = "loss"\nat = true\nbelow = 1', "expect.0.at"),
        ('metric = "loss"\nat = -1\nbelow = 1', "expect.0.at"),
        ('metric = "loss"\nat = 99999999999\nbelow = 1', "a step number must be from 0 to 10,000,000"),
        ('metric = "loss"\nat = "end"\nbelow = 1', "one of start, final, min"),
        ('metric = "loss"\nthan_at = "any"\nbelow = 1', "expect.0.than_at"),
        ('metric = "loss"\nbelow = nan', "expect.0.below"),
        ('metric = "loss"\nbelow = 1\nfraction_above = 1.5', "expect.0.fraction_above"),
        ('ends_in = "deep"', "expect.0.ends_in"),
    ],
)
def test_bad_values_name_the_key(body, key):
    assert key in invalid(f'[[expect]]\nbecause = "x"\n{body}\n')


def test_run_labels_are_checked_against_the_runs():
    message = invalid('[[expect]]\nbecause = "x"\nrun = "lefty"\nends_in = "global"\n')
    assert "expect.0.run" in message and "'lefty'" in message and "'left'" in message
    message = invalid('[[expect]]\nbecause = "x"\nrun = "left"\nmetric = "loss"\nthan_run = "nobody"\nbelow = 1\n')
    assert "expect.0.than_run" in message


def test_group_and_member_labels_are_accepted():
    loaded = load('[[expect]]\nbecause = "x"\nrun = "many"\ndiverges = false\n'
                  '[[expect]]\nbecause = "y"\nrun = "many (seed 3)"\ndiverges = false\n')
    assert [e.run for e in loaded.scenario.expect] == ["many", "many (seed 3)"]


# -- verify: statements that hold pass, statements that do not fail ----------------------------
def test_ends_in_passes_and_fails():
    assert single('[[expect]]\nbecause = "x"\nrun = "left"\nends_in = "global"\n')[0]
    passed, measured = single('[[expect]]\nbecause = "x"\nrun = "right"\nends_in = "global"\n')
    assert not passed and "local" in measured


def test_diverges():
    assert single('[[expect]]\nbecause = "x"\nrun = "wild"\ndiverges = true\n')[0]
    passed, measured = single('[[expect]]\nbecause = "x"\nrun = "wild"\ndiverges = false\n')
    assert not passed and "diverged at step" in measured


def test_metric_at_a_step_and_relative_to_another_step():
    # The loss of the left run falls: at step 1 it is far above its final value.
    assert single('[[expect]]\nbecause = "x"\nrun = "left"\nmetric = "loss"\nat = 1\nthan_at = 200\nby = "difference"\nabove = 0.5\n')[0]
    assert not single('[[expect]]\nbecause = "x"\nrun = "left"\nmetric = "loss"\nat = 200\nthan_at = 1\nabove = 1\n')[0]


def test_comparison_with_another_run():
    # Both rest at a minimum; the local one is higher, so right's loss minus left's is positive.
    passed, measured = single(
        '[[expect]]\nbecause = "x"\nrun = "right"\nmetric = "loss"\nthan_run = "left"\nby = "difference"\nabove = 0.5\n')
    assert passed and "difference" in measured
    assert not single('[[expect]]\nbecause = "x"\nrun = "right"\nmetric = "loss"\nthan_run = "left"\nby = "difference"\nbelow = 0\n')[0]


def test_params_distance_between_runs_and_steps():
    assert single('[[expect]]\nbecause = "x"\nrun = "right"\nmetric = "params"\nthan_run = "left"\nabove = 1.9\n')[0]
    assert single('[[expect]]\nbecause = "x"\nrun = "left"\nmetric = "params"\nthan_at = "start"\nabove = 0.5\n')[0]
    assert not single('[[expect]]\nbecause = "x"\nrun = "left"\nmetric = "params"\nthan_run = "left"\nabove = 0\n')[0]


def test_ensemble_fraction_each_and_aggregates():
    results = outcomes("""
        [[expect]]
        because = "some end in the local well"
        run = "many"
        ends_in = "local"
        fraction_above = 0.2
        [[expect]]
        because = "but not all"
        run = "many"
        ends_in = "local"
        [[expect]]
        because = "the end points spread over both wells"
        run = "many"
        metric = "x"
        across = "spread"
        above = 1.5
        [[expect]]
        because = "at least one is in the global well"
        run = "many"
        ends_in = "global"
        across = "any"
    """)
    assert [passed for passed, _ in results] == [True, False, True, True]
    assert "of 40 runs pass" in results[0][1]


def test_reductions_over_steps_and_windows():
    results = outcomes("""
        [[expect]]
        because = "the loss is highest at the start"
        run = "left"
        metric = "loss"
        at = "max"
        than_at = "start"
        at_most = 1
        [[expect]]
        because = "some step has a tiny gradient"
        run = "left"
        metric = "grad_norm"
        at = "any"
        below = 1e-6
        [[expect]]
        because = "every step has a tiny gradient (false)"
        run = "left"
        metric = "grad_norm"
        at = "all"
        below = 1e-6
        [[expect]]
        because = "late in the run the gradient is tiny everywhere"
        run = "left"
        metric = "grad_norm"
        at = "all"
        during = [150, 200]
        below = 1e-6
        [[expect]]
        because = "a converged run hardly moves between steps"
        run = "left"
        metric = "loss"
        at = "jitter"
        during = [150, 200]
        below = 1e-9
    """)
    assert [passed for passed, _ in results] == [True, True, False, True, True]


def test_what_cannot_be_measured_fails_with_a_reason():
    results = outcomes("""
        [[expect]]
        because = "a data-set metric on a surface"
        metric = "val_loss"
        below = 1
        [[expect]]
        because = "a step beyond the run"
        run = "left"
        metric = "loss"
        at = 500
        below = 1
        [[expect]]
        because = "an ensemble against a different-sized group"
        run = "many"
        metric = "loss"
        than_run = "left"
        below = 10
        [[expect]]
        because = "two runs against an ensemble, run by run"
        run = "left"
        metric = "loss"
        than_run = "many"
        below = 10
    """)
    assert results[0] == (False, "cannot be checked: metric 'val_loss' needs a data set; this problem is a surface")
    assert not results[1][0] and "beyond the scenario's 200 steps" in results[1][1]
    assert results[2][0]  # 40 runs against one reference run: broadcast
    assert not results[3][0] and "has 1 runs and 'many' has 40" in results[3][1]


def test_nan_never_passes():
    assert not single('[[expect]]\nbecause = "x"\nrun = "left"\nmetric = "velocity_norm"\nbelow = 1e9\n')[0]


def test_report_counts_failures_and_shows_the_reasons():
    loaded = load('[[expect]]\nbecause = "holds"\nrun = "left"\nends_in = "global"\n'
                  '[[expect]]\nbecause = "does not hold"\nrun = "right"\nends_in = "global"\n')
    out = io.StringIO()
    assert verify_report([loaded], out) == 1
    text = out.getvalue()
    assert "pass  holds" in text and "FAIL  does not hold" in text
    assert "1 of 2 expectations hold in 1 scenario " in text


def test_a_scenario_without_expectations_reports_so():
    out = io.StringIO()
    assert verify_report([load("")], out) == 0
    assert "no expectations" in out.getvalue()


DATA = """
[scenario]
title = "t"
claim = "c"
steps = 60

[problem]
dataset = "line"
samples = 40
model = "linear"
eval_every = 5

[optimizer]
name = "sgd"
lr = 0.1

[[runs]]
label = "fit"

[[runs]]
label = "patient"
problem = { patience = 2 }
optimizer = { lr = 0.0 }  # the validation loss never improves, so early stopping must end it
"""


def test_data_set_metrics_and_early_stopping():
    results = outcomes("""
        [[expect]]
        because = "the fit improves: validation loss at the end is a small part of the first"
        run = "fit"
        metric = "val_loss"
        than_at = "start"
        below = 0.1
        [[expect]]
        because = "validation loss is lowest late in the run"
        run = "fit"
        metric = "val_loss"
        at = "min"
        than_at = "final"
        at_least = 0.99
        [[expect]]
        because = "early stopping ends the patient run"
        run = "patient"
        stops_early = true
        [[expect]]
        because = "accuracy has no meaning for regression"
        run = "fit"
        metric = "val_accuracy"
        above = 0.5
        [[expect]]
        because = "a linear model has no hidden layer"
        run = "fit"
        metric = "hidden_unit_spread"
        above = 0
        [[expect]]
        because = "distances to minima belong to surfaces"
        run = "fit"
        metric = "distance_to_global"
        below = 1
    """, base=DATA)
    assert [passed for passed, _ in results] == [True, True, True, False, False, False]
    assert "stopped at step" in results[2][1]
    assert "regression" in results[3][1]
    assert "hidden layers" in results[4][1]
    assert "2-D surface" in results[5][1]
