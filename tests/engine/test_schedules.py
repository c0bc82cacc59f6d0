"""Learning-rate schedules: torch.optim.lr_scheduler sequences replayed, closed forms, and errors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gdsim.engine.schedules import SCHEDULE_NAMES, ScheduleError, make_schedule
from gdsim.errors import UserError

GOLDEN = json.loads((Path(__file__).resolve().parents[1] / "golden" / "optim_schedules.json").read_text())
CASES = {case["id"]: case for case in GOLDEN["cases"]}


def _build(case):
    settings_ = dict(case["settings"])
    return make_schedule(settings_.pop("name"), case["lr"], **settings_)


@pytest.mark.parametrize("case_id", sorted(CASES))
def test_lr_sequence_matches_torch(case_id):
    case = CASES[case_id]
    schedule = _build(case)
    ref = np.array(case["lrs"])
    ks = np.arange(len(ref))
    ours = [schedule.lr_at(int(k)) for k in ks]
    assert all(isinstance(v, float) for v in ours)
    np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-15 * case["lr"])
    np.testing.assert_array_equal(schedule.lr_at(ks), ours)  # the vector form agrees exactly
    assert len(set(np.round(ref / case["lr"], 12))) > 2  # the sequence really changes


def test_values_are_python_float_maths_alone_in_an_array_and_from_any_start():
    """lr_at computes on Python floats (C library pow and cos) for an int and for an array: NumPy's
    SIMD power gives 0.01 for 0.1**2 where the C library gives 0.010000000000000002 (AVX-512)."""
    step = make_schedule("step", 1.0, step_size=7)
    assert step.lr_at(14) == 0.1**2 and step.lr_at(np.arange(14, 15))[0] == 0.1**2
    expo = make_schedule("exponential", 0.5, gamma=0.97, warmup=3)
    cos = make_schedule("cosine", 0.5, t_max=40, eta_min=1e-3)
    for k in range(3, 200, 17):
        assert expo.lr_at(k) == 0.5 * 0.97 ** (k - 3)
        assert cos.lr_at(k) == 1e-3 + (0.5 - 1e-3) * (1 + math.cos(math.pi * k / 40)) / 2
    for s in (step, expo, cos):
        whole = s.lr_at(np.arange(0, 5000))
        for start in (0, 1, 13, 4095, 4096):  # a cohort refills its table from wherever it is
            np.testing.assert_array_equal(s.lr_at(np.arange(start, start + 903)), whole[start:start + 903])
    growing = make_schedule("exponential", 1.0, gamma=1.5)
    assert growing.lr_at(10**6) == math.inf and growing.lr_at(np.array([10**6]))[0] == math.inf


def test_golden_covers_every_schedule_with_and_without_warmup():
    assert GOLDEN["torch"].startswith("2.13.0")
    kinds = {(c["settings"]["name"], bool(c["settings"].get("warmup"))) for c in CASES.values()}
    for name in ("step", "exponential", "cosine"):
        assert (name, False) in kinds and (name, True) in kinds
    assert ("constant", True) in kinds


def test_closed_forms():
    assert make_schedule("constant", 0.3).lr_at(1000) == 0.3
    step = make_schedule("step", 1.0, step_size=10)  # torch's default gamma 0.1
    assert [step.lr_at(k) for k in (0, 9, 10, 19, 20)] == pytest.approx([1, 1, 0.1, 0.1, 0.01])
    expo = make_schedule("exponential", 2.0, gamma=0.5)
    assert expo.lr_at(3) == 0.25
    cos = make_schedule("cosine", 1.0, t_max=10, eta_min=0.1)
    assert cos.lr_at(0) == 1.0
    assert cos.lr_at(5) == pytest.approx(0.55)
    assert cos.lr_at(10) == pytest.approx(0.1)
    assert cos.lr_at(20) == pytest.approx(1.0)  # periodic, as torch's CosineAnnealingLR


def test_warmup_ramps_linearly_then_starts_the_main_schedule():
    s = make_schedule("exponential", 1.0, gamma=0.5, warmup=4, warmup_start_factor=0.2)
    assert [s.lr_at(k) for k in range(7)] == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0, 0.5, 0.25])
    default = make_schedule("constant", 0.9, warmup=3)
    assert default.lr_at(0) == pytest.approx(0.3)  # torch LinearLR's start factor 1/3
    assert default.params == {"lr": 0.9, "warmup": 3, "warmup_start_factor": 1 / 3}


def test_params_record_resolved_settings():
    s = make_schedule("step", 0.1, step_size=5)
    assert s.name == "step"
    assert s.params == {"lr": 0.1, "step_size": 5, "gamma": 0.1, "warmup": 0,
                        "warmup_start_factor": 1 / 3}
    assert SCHEDULE_NAMES == ("constant", "step", "exponential", "cosine", "plateau")


@settings(max_examples=50, deadline=None)
@given(
    st.sampled_from([n for n in SCHEDULE_NAMES if n != "plateau"]),  # plateau: lr is state (test_plateau)
    st.floats(1e-4, 10),
    st.integers(1, 50),
    st.floats(0.05, 1.0),
    st.integers(0, 20),
    st.lists(st.integers(0, 500), min_size=1, max_size=30),
)
def test_array_in_array_out_agrees_with_scalars(name, lr, n, gamma, warmup, ks):
    extra = {"step": {"step_size": n, "gamma": gamma}, "exponential": {"gamma": gamma},
             "cosine": {"t_max": n, "eta_min": lr * gamma / 2}, "constant": {}}[name]
    s = make_schedule(name, lr, warmup=warmup, **extra)
    out = s.lr_at(np.array(ks))
    assert out.shape == (len(ks),) and out.dtype == np.float64
    np.testing.assert_array_equal(out, [s.lr_at(k) for k in ks])
    assert np.all(out >= 0) and np.all(out <= lr * (1 + 1e-12))
    if warmup == 0:
        assert s.lr_at(0) == pytest.approx(lr, rel=1e-15)


@pytest.mark.parametrize("args,kwargs,message", [
    (("linear", 0.1), {}, "Unknown schedule 'linear'; valid names: constant, step, exponential, cosine, plateau"),
    (("cosine", 0.1), {"t_max": 10, "gamma": 0.5},
     "schedule: 'gamma' does not apply to cosine; it takes: t_max, eta_min"),
    (("constant", 0.1), {"step_size": 3},
     "schedule: 'step_size' does not apply to constant; it takes: no settings besides lr and warmup"),
    (("step", 0.1), {"eta_min": 0.01}, "schedule: 'eta_min' does not apply to step"),
    (("step", 0.1), {}, "schedule: 'step' needs 'step_size'"),
    (("exponential", 0.1), {}, "schedule: 'exponential' needs 'gamma'"),
    (("cosine", 0.1), {}, "schedule: 'cosine' needs 't_max'"),
    (("cosine", 0.1), {"t_max": 0}, "schedule: 't_max' must be a whole number >= 1, got 0"),
    (("step", 0.1), {"step_size": 2.5}, "schedule: 'step_size' must be a whole number >= 1, got 2.5"),
    (("step", 0.1), {"step_size": True}, "schedule: 'step_size' must be a whole number >= 1, got True"),
    (("exponential", 0.1), {"gamma": 0}, "schedule: 'gamma' must be > 0, got 0.0"),
    (("exponential", 0.1), {"gamma": "0.9"}, "schedule: 'gamma' must be a number, got '0.9'"),
    (("constant", -0.1), {}, "schedule: Invalid learning rate: -0.1"),
    (("constant", math.inf), {}, "schedule: 'lr' must be finite, got inf"),
    (("constant", 0.1), {"warmup": -1}, "schedule: 'warmup' must be a whole number >= 0, got -1"),
    (("constant", 0.1), {"warmup": 5, "warmup_start_factor": 0},
     "schedule: 'warmup_start_factor' must be in (0, 1], got 0"),
    (("cosine", 0.1), {"t_max": 5, "eta_min": -1}, "schedule: 'eta_min' must be >= 0, got -1"),
])
def test_bad_settings_give_one_line_messages(args, kwargs, message):
    with pytest.raises(ScheduleError) as info:
        make_schedule(*args, **kwargs)
    text = str(info.value)
    assert text.startswith(message)
    assert "\n" not in text
    assert isinstance(info.value, ValueError) and isinstance(info.value, UserError)


def test_lr_at_refuses_negative_or_fractional_steps():
    s = make_schedule("constant", 0.1)
    with pytest.raises(ValueError, match=">= 0"):
        s.lr_at(-1)
    with pytest.raises(ValueError, match="whole step numbers"):
        s.lr_at(1.5)
    assert s.lr_at(3.0) == 0.1
