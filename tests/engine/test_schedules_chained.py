"""An lr set mid-run under a running schedule follows torch's recursions (schedules_chained); the
trajectories are checked against torch itself in tests/test_change_golden.py (changes-lr-schedule)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gdsim.engine.schedules import make_schedule
from gdsim.engine.schedules_chained import continue_from


def test_step_chains_from_the_lr_set_and_multiplies_at_its_own_steps():
    s = make_schedule("step", 0.1, step_size=30, gamma=0.5)
    c = continue_from(s, 45, 0.08)
    assert [c.lr_at(j) for j in (44, 45, 59)] == [s.lr_at(44), 0.08, 0.08]
    assert c.lr_at(60) == 0.04 and c.lr_at(90) == 0.02
    again = continue_from(c, 100, 0.03)  # a second change chains from its own step, from the same root
    assert again.root is s and again.lr_at(119) == 0.03 and again.lr_at(120) == 0.015


def test_exponential_multiplies_every_step_from_the_lr_set():
    c = continue_from(make_schedule("exponential", 1.0, gamma=0.9), 10, 0.5)
    np.testing.assert_allclose(c.lr_at(np.arange(10, 15)), 0.5 * 0.9 ** np.arange(5), rtol=1e-15)


def test_cosine_change_lasts_until_the_next_minimum_then_climbs_to_the_original_base():
    s = make_schedule("cosine", 0.02, t_max=60, eta_min=1e-4)
    c = continue_from(s, 25, 0.05)
    ratio = (1 + math.cos(math.pi * 40 / 60)) / (1 + math.cos(math.pi * 25 / 60))
    assert c.lr_at(40) == pytest.approx(1e-4 + (0.05 - 1e-4) * ratio, rel=1e-14)
    assert c.lr_at(60) == 1e-4
    # past the minimum torch adds a step towards base_lrs: the schedule as built, not 0.05
    np.testing.assert_allclose(c.lr_at(np.arange(61, 181)), s.lr_at(np.arange(61, 181)), rtol=1e-12)
    assert c.lr_at(120) == pytest.approx(0.02, rel=1e-12)


def test_an_lr_set_at_the_cosine_minimum_is_multiplied_on_the_way_up():
    """torch's ratio recursion from a value set where 1 + cos is about 0: the lr grows a
    thousand-fold in the next half period (the lesson-worthy surprise the docs state)."""
    c = continue_from(make_schedule("cosine", 5e-4, t_max=50), 50, 5e-7)
    assert c.lr_at(50) == 5e-7
    assert c.lr_at(100) > 1000 * 5e-7


def test_warm_up_change_is_forgotten_at_its_end_unless_the_schedule_is_constant():
    for name, settings in (("step", {"step_size": 40, "gamma": 0.5}), ("exponential", {"gamma": 0.99}),
                           ("cosine", {"t_max": 100})):
        s = make_schedule(name, 0.02, warmup=20, warmup_start_factor=0.25, **settings)
        c = continue_from(s, 8, 0.05)
        assert c.lr_at(8) == 0.05 and c.lr_at(12) > 0.05  # LinearLR's factors go on
        np.testing.assert_array_equal(c.lr_at(np.arange(20, 60)), s.lr_at(np.arange(20, 60)))
    s = make_schedule("constant", 0.02, warmup=30, warmup_start_factor=0.2)
    c = continue_from(s, 12, 0.05)
    expected = 0.05 * (30 * 0.2 + 30 * 0.8) / (30 * 0.2 + 12 * 0.8)
    assert c.lr_at(30) == pytest.approx(expected, rel=1e-15) and c.lr_at(500) == c.lr_at(30)


def test_plateau_is_not_chained_here():
    with pytest.raises(ValueError):
        continue_from(make_schedule("plateau", 0.1), 10, 0.05)
