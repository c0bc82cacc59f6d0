"""The run-state rules added in session 4 (gdsim.engine.state_rules: swinging runs, the settled and
at-rest descents, rounding-level gradients) at their thresholds: each case sits on one side of one
threshold, so a rule whose threshold moved by 2x or whose comparison flipped says another word.
The windows are built by hand (steps 0..n-1, floor 0); each docstring says which run it stands for."""

from __future__ import annotations

import numpy as np
import pytest

from gdsim.engine import state_rules as rules
from gdsim.engine.state_events import Event
from gdsim.engine.states import RunState, Window, classify

K = np.arange(201)


def window(loss, grad, start_loss=None, start_grad=None) -> Window:
    loss = np.asarray(loss, dtype=float).reshape(-1, 1)
    grad = np.asarray(grad, dtype=float).reshape(-1, 1)
    start_loss = loss[0] if start_loss is None else np.array([start_loss])
    start_grad = grad[0] if start_grad is None else np.array([start_grad])
    return Window(np.arange(len(loss)), loss, grad, start_loss, start_grad)


def kind(loss, grad, **kw) -> str:
    return classify(window(loss, grad, **kw))[0].kind


def swing(width: float) -> np.ndarray:
    """A period-2 swing just above a start of 0.69 (natural-gradient's GD over its limit, smaller)."""
    return np.r_[0.69, np.tile([0.70, 0.70 + width], 150)][:300]


def test_a_swing_over_a_tenth_of_the_starts_height_is_oscillating_a_narrower_one_stalled():
    assert rules.SWING_FRACTION == 0.1
    assert kind(swing(0.15 * 0.69), np.full(300, 0.5)) == "oscillating"
    assert kind(swing(0.07 * 0.69), np.full(300, 0.5)) == "stalled"


@pytest.mark.parametrize("n", [200, 201])
def test_a_swing_whose_levels_grow_is_growing_whichever_level_the_window_ends_on(n):
    """The loss swings between 1.9x and 0.1x a level that grows e-fold every 60 steps: growing at
    every step, not every other one (the last value alone is on the low side at odd steps)."""
    k = np.arange(n)
    loss = np.exp(k / 60) * np.where(k % 2 == 0, 1.9, 0.1)
    assert loss[-1] < np.mean(loss[n // 2:]) or n % 2  # odd count: ends on the high side
    assert kind(loss, np.full(n, 1.0)) == "growing"


def descent_then_creep(start: float, level: float, creep: float) -> np.ndarray:
    """From `start` down to `level` + `creep` over the window's first half (fast, geometric), then
    down by `creep` in a straight line over its later half (K 100..200)."""
    return level + creep * np.clip((200 - K) / 100, 0, 1) + (start - level - creep) * 0.8**K


def test_a_creep_of_under_a_hundredth_of_the_height_left_is_settled_over_it_not():
    """Loss 1 -> 0.002 in 100 steps, then 1.4e-5 (0.7% of 0.002) or 3e-5 (1.5%) over 100 more at a
    small gradient: the first has converged, the second still closes 1.5% of its gap per 100 steps."""
    grad = np.r_[1.0, np.full(200, 1e-4)]
    assert kind(descent_then_creep(1.0, 0.002, 1.4e-5), grad) == "converged"
    assert kind(descent_then_creep(1.0, 0.002, 3e-5), grad) != "converged"


def test_a_creep_of_under_a_hundredth_of_the_windows_fall_is_settled_over_it_not():
    """A later window (start 0.69): 0.501 -> 0.5 in its first half, then 0.7e-5 or 1.5e-5 more."""
    grad = np.r_[0.87, np.full(200, 1e-4)]
    assert kind(descent_then_creep(0.501, 0.5, 0.7e-5), grad, start_loss=0.69) == "converged"
    assert kind(descent_then_creep(0.501, 0.5, 1.5e-5), grad, start_loss=0.69) == "slow"


def test_a_settled_half_is_flat_to_a_ten_thousandth_of_the_scale():
    """1 -> 0.5, then 0.7e-4 or 1.5e-4 over the later half (a hundredth of the fall would allow 5e-3)."""
    grad = np.r_[1.0, np.full(200, 1e-4)]
    assert kind(descent_then_creep(1.0, 0.5, 0.7e-4), grad) == "converged"
    assert kind(descent_then_creep(1.0, 0.5, 1.5e-4), grad) == "slow"
    # the same loss with a gradient that is not small (5% of its start) has not settled
    assert kind(descent_then_creep(1.0, 0.5, 0.7e-4), np.r_[1.0, np.full(200, 0.05)]) != "converged"


def at_rest(n: int, fall: float = 0.4 / 0.69, wobble: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """A run at rest from its third step after falling `fall` of the way from 0.69 (natural
    gradient at its optimum), its later half moving by `wobble` of the start's height."""
    level = 0.69 * (1 - fall)
    loss = np.r_[0.69, (0.69 + level) / 2, np.full(n - 2, level)]
    loss[n // 2:] += wobble * 0.69 * np.linspace(1, 0, n - n // 2)
    return loss, np.r_[0.9, 0.1, np.full(n - 2, 1e-16)]


def test_at_rest_early_needs_more_than_five_records_in_the_later_half():
    assert rules.REST_STEPS == 5
    assert kind(*at_rest(11)) == "converged"
    assert kind(*at_rest(10)) != "converged"  # a later half of 5 records: too early to say


def test_at_rest_early_needs_a_fall_of_a_tenth_of_the_way():
    assert kind(*at_rest(20, fall=0.15)) == "converged"
    assert kind(*at_rest(20, fall=0.07)) != "converged"


def test_at_rest_early_means_constant_to_rounding():
    """A later half still moving by 1e-10 of the start's height is not rounding (1e-12)."""
    assert kind(*at_rest(20, wobble=1e-13)) == "converged"
    assert kind(*at_rest(20, wobble=1e-10)) != "converged"


def test_a_tiny_gradient_that_quadruples_is_leaving_unless_it_is_rounding():
    """A flat loss at a gradient of 1e-8 of its start that grows 4x over the window is leaving a flat
    region (slow, not converged); at 1e-16 of its start the same growth is rounding."""
    flat = np.full(201, 0.3)
    assert kind(flat, np.linspace(1e-8, 4e-8, 201), start_loss=0.69, start_grad=1.0) == "slow"
    assert kind(flat, np.linspace(1e-16, 4e-16, 201), start_loss=0.69, start_grad=1.0) == "converged"


def test_an_event_is_exact_when_its_earliest_step_is_its_step():
    state = RunState("converged")
    assert Event(5, 0, state).exact and Event(5, 0, state, earliest=5).exact
    assert not Event(5, 0, state, earliest=2).exact


def test_a_stall_after_a_descent_says_over_how_many_steps_the_loss_has_not_fallen():
    """A seed that fell from 1 to 0.5 in the window's first 60 steps and rests there while another
    seed of its settings reached 0.1 is stalled, but its loss has not fallen for the later half of
    the window (100 steps), not for the whole window (200): it fell by half in it."""
    loss = 0.5 + 0.5 * 0.9**K
    state = classify(window(loss, 0.87 * 0.9**K), better=0.1)[0]
    assert (state.kind, state.why) == ("stalled", "better")
    assert "has stopped falling for the last 100 steps" in state.sentence("seed 3")
    assert loss[0] - loss[-1] > 0.4 and loss[100] - loss[-1] < 1e-4
    # flat over the whole window: the whole window's steps
    flat = classify(window(np.full(201, 0.5), np.full(201, 1e-4), start_loss=1.0, start_grad=0.87), better=0.1)[0]
    assert (flat.kind, flat.span) == ("stalled", 200)


def test_a_stiff_surfaces_run_still_halving_its_loss_is_not_converged():
    """Plain GD on a quadratic of condition 1000 at lr 0.0019 (just inside 2/1000): the steep
    direction settles in 100 steps, then the shallow one creeps with factor 0.9981 per step, halving
    the loss every 180 steps. Scaled by the start's loss (1128), its change over a window (0.1) was
    "flat": it read "converged (loss 0.098): loss and gradient have stopped changing" at step 910,
    700 steps before it reached the minimum."""
    from gdsim.build import build
    from gdsim.engine.states import run_states
    from gdsim.scenario.load import validate_raw

    raw = {"scenario": {"title": "t", "claim": "c", "steps": 1700},
           "problem": {"surface": "quadratic", "condition": 1000}, "optimizer": {"name": "sgd"},
           "runs": [{"label": "stiff", "start": [-2.5, 1.5], "optimizer": {"lr": 0.0019}}]}
    sim = build(validate_raw(raw, path=None, id="t"))
    seen = {}
    for step in range(100, 1701, 10):
        sim.step(step - sim.step_count)
        seen[step] = run_states(sim)[0].kind
    _, loss = sim.history.series("loss")
    assert loss[910, 0] / loss[1090, 0] > 1.9  # still halving every ~180 steps
    assert "converged" not in {kind for step, kind in seen.items() if step < 1590}
    assert seen[1700] == "global min"


def test_gd_just_over_its_stability_limit_is_growing_not_oscillating():
    """Plain GD on a quadratic of curvatures 1 and 10 is stable for lr < 2/10 (GD-FACTS). At lr 0.2002
    each step multiplies the steep coordinate by -1.002: the loss grows 0.4% a step (1.5x between a
    window's halves, under the halves' 2x), and it read "oscillating: it overshoots and swings back"
    while the loss went from 12 to 1e6. At lr 0.1998 the same swings shrink: oscillating, never growing."""
    from gdsim.build import build
    from gdsim.engine.states import run_states
    from gdsim.scenario.load import validate_raw

    raw = {"scenario": {"title": "t", "claim": "c", "steps": 1500},
           "problem": {"surface": "quadratic", "condition": 10}, "optimizer": {"name": "sgd"},
           "runs": [{"label": "over", "start": [-2.5, 1.5], "optimizer": {"lr": 0.2002}},
                    {"label": "under", "start": [-2.5, 1.5], "optimizer": {"lr": 0.1998}}]}
    sim = build(validate_raw(raw, path=None, id="t"))
    seen = [set(), set()]
    for step in range(200, 1501, 50):
        sim.step(step - sim.step_count)
        for row, state in enumerate(run_states(sim)):
            seen[row].add(state.kind)
    _, loss = sim.history.series("loss")
    assert loss[1500, 0] > 100 * loss[0, 0] and loss[1500, 1] < loss[0, 1] / 100
    assert seen[0] == {"growing"}
    assert "growing" not in seen[1] and "oscillating" in seen[1]


def test_a_steady_rise_is_growing_from_one_and_a_half_times_its_first_quarter():
    """Quarters' means rising one after another: to 1.6x the first quarter's, growing; to 1.4x, not yet
    (a period-2 swing on top, as over the stability limit, changes neither)."""
    assert rules.STEADY_GROWTH == 1.5
    k = np.arange(201)
    for total, expected in ((1.6, True), (1.4, False)):
        level = total ** (k / 150)  # quarter means ~ total ** (0, 1/3, 2/3, 1) of the first
        loss = level * np.where(k % 2 == 0, 1.3, 0.7)
        assert (kind(loss, np.full(201, 1.0)) == "growing") is expected, total
    # not one quarter after another (a spike, then back), or back down at the end: not growing
    spike = np.repeat([1.0, 2.0, 1.2, 1.6], [50, 50, 50, 51]) * np.where(k % 2 == 0, 1.01, 0.99)
    assert kind(spike, np.full(201, 1.0)) != "growing"
    rise = 1.6 ** (k / 150)
    assert kind(np.r_[rise[:-2], 1.0, 1.0], np.full(201, 1.0)) != "growing"
    # a noisy run's small steady rise (a tenth of a percent of its start) and a rise at rounding level
    creep = 0.01 * rise
    assert classify(window(creep, np.full(201, 1.0), start_loss=10.0), noisy=True)[0].kind != "growing"
    assert classify(window(creep, np.full(201, 1.0), start_loss=10.0))[0].kind == "growing"
    assert kind(1e-17 * rise, np.full(201, 1e-9), start_loss=10.0) != "growing"
    # too early to call a run growing by its quarters (a momentum run's first swings rise too)
    early = 1.6 ** (np.arange(40) / 30) * np.where(np.arange(40) % 2 == 0, 1.3, 0.7)
    assert kind(early, np.full(40, 1.0)) != "growing"
