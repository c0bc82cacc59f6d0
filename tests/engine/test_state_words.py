"""State words that are true and not misleading (issue #14): the one reason a run is in its state
(RunState.why), "at chance", "jitter", "lr 0", "barely moved", and when a run reached a known point."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gdsim.build import build
from gdsim.engine.states import RunState, Window, classify, run_states, tally_words
from gdsim.scenario.library import list_entries
from gdsim.scenario.load import load_scenario

BUILTIN = {e.id: e.path for e in list_entries() if e.builtin}


def window(loss, params=None, grad=None, lr=None, start_loss=None) -> Window:
    loss = np.asarray(loss, dtype=float).reshape(-1, 1)
    grad = np.full(loss.shape, 1.0) if grad is None else np.asarray(grad, dtype=float).reshape(loss.shape)
    if params is not None:
        params = np.asarray(params, dtype=float)[:, None, :]
    lr = None if lr is None else np.asarray(lr, dtype=float).reshape(-1, 1)
    start = loss[0] if start_loss is None else np.array([start_loss])
    return Window(np.arange(len(loss)), loss, grad, start, grad[0], params, lr)


def finished(name: str):
    loaded = load_scenario(BUILTIN[name])
    sim = build(loaded)
    sim.step(loaded.scenario.scenario.steps)
    return sim, {run.label: state for run, state in zip(sim.runs, run_states(sim))}


def test_a_linear_classifier_resting_at_the_chance_loss_converged_at_chance():
    chance = math.log(3)
    flat = window(np.full(300, 0.977 * chance), grad=np.r_[1.0, np.full(299, 1e-5)])
    state = classify(flat, convex=True, chance=chance)[0]
    assert state.words == "converged at chance" and state.severity == "warning"
    assert "guessing the class frequencies (loss 1.099)" in state.sentence("softmax")
    better = window(np.full(300, 0.93 * chance), grad=np.r_[1.0, np.full(299, 1e-5)])  # 62% accuracy territory
    assert classify(better, convex=True, chance=chance)[0].words == "converged"


def test_softmax_on_spirals_is_at_chance_and_the_network_is_not():
    _, states = finished("softmax-spirals")
    assert states["softmax"].words == "converged at chance"
    assert states["mlp 32-32"].why != "chance"


def test_steps_jittering_at_the_bottom_with_a_flat_loss_are_converged_not_oscillating():
    zigzag = np.array([[(-1) ** k * 1e-3, 0.0] for k in range(300)])
    flat = 4.0 + 1e-6 * np.sin(np.arange(300))
    state = classify(window(flat, zigzag, grad=np.full(300, 0.5), start_loss=5.0))[0]  # fell from 5, then flat
    assert state.words == "converged (jitter)" and "jitter back and forth" in state.sentence("MAE")
    swinging = 4.0 + 0.4 * (np.arange(300) % 2)  # the loss itself swings: a real oscillation
    assert classify(window(swinging, zigzag, grad=np.full(300, 0.5), start_loss=9.0))[0].kind == "oscillating"


def test_mae_reads_converged_and_a_swinging_rate_still_oscillates():
    _, states = finished("mae-vs-mse")
    assert states["MAE"].words == "converged (jitter)"
    _, states = finished("right-optimizer")
    assert states["plain GD, lr 0.16"].kind == "oscillating"
    _, states = finished("momentum-overshoot")
    assert states["momentum 0.99"].kind == "oscillating"


def test_a_learning_rate_of_0_is_not_trained_and_not_a_warning():
    flat = window(np.full(300, 0.6931), grad=np.full(300, 1.1), lr=np.zeros(300))
    state = classify(flat, chance=math.log(2))[0]
    assert state.words == "not trained (lr 0)" and state.severity == ""
    assert "learning rate is 0" in state.sentence("always 0")
    moving = window(np.full(300, 0.6931), grad=np.full(300, 1.1), lr=np.r_[np.zeros(299), 0.1])
    assert classify(moving, chance=math.log(2))[0].why != "lr 0"
    _, states = finished("class-imbalance")
    assert states["always 0"].words == "not trained (lr 0)"


def test_the_stalled_sentence_names_the_one_reason_that_applied():
    at_chance = classify(window(np.full(300, 0.6915)), chance=math.log(2))[0]
    assert at_chance.kind == "stalled" and at_chance.why == "chance" and at_chance.words == "stalled at chance"
    text = at_chance.sentence("zeros, tanh")
    assert "guessing the class frequencies (0.6931)" in text and "near where it started" not in text
    stuck = classify(window(np.full(300, 5.0)))[0]  # no classifier: stuck where it started
    assert stuck.why == "start" and "near where it started" in stuck.sentence("r") and "known" not in stuck.sentence("r")
    assert "guessing" not in stuck.sentence("r")


def test_barely_moved_towards_the_minimum_is_said_with_its_share():
    _, states = finished("adam-defaults")
    default = states["adam (defaults)"]
    assert default.words == "barely moved" and 0.1 < default.ref < 0.2  # 0.41 of the 2.92 to the minimum
    assert "14% of the way" in default.sentence("adam (defaults)")
    _, states = finished("learning-rate")
    assert states["too small"].words == "moving"  # 58% of the way: slow, but not barely


def test_a_known_point_says_from_which_step_the_run_stayed_there():
    sim, states = finished("conjugate-gradient")
    assert states["conjugate gradient"].words == "global min at 2"
    assert states["newton"].words == "global min at 1"
    steps, params = sim.history.series("params")
    near = 0.02 * 10  # NEAR_FRACTION of the view's longer side, checked against the state itself
    for label in ("conjugate gradient", "newton", "momentum"):
        row = [r.label for r in sim.runs].index(label)
        state = states[label]
        gaps = np.sqrt(((params[: sim.history.count, row] - np.array(state.point)) ** 2).sum(axis=1))
        k = int(np.searchsorted(steps[: sim.history.count], state.since))
        inside = gaps[k:]
        known = [c for c in sim.cohorts if row in c.rows][0].problem
        view = known.view
        near = 0.02 * max(view[1] - view[0], view[3] - view[2])
        assert (inside <= near).all() and (k == 0 or gaps[k - 1] > near), label
    assert "from step 2 on" in states["conjugate gradient"].sentence("cg")


def test_a_floor_that_is_not_0_is_said():
    _, states = finished("adagrad-rmsprop")
    assert "(loss 1, the lowest this surface goes)" in states["rmsprop"].sentence("rmsprop")


def test_an_ensemble_counts_kinds_at_points_and_words_elsewhere():
    at = [RunState("global min", point=(0.0, 0.0), since=k) for k in (3, 4, 5)]
    assert tally_words(at) == "all global min"  # not three different cells for three arrival steps
    mixed = [RunState("converged", why="chance")] * 2 + [RunState("converged")]
    assert tally_words(mixed) == "2 converged at chance, 1 converged"


@pytest.mark.parametrize("state", [RunState("stalled", why=w, ref=0.5) for w in ("start", "chance", "known", "better", "lr 0")]
                         + [RunState("converged", why="jitter"), RunState("slow", why="barely", ref=0.1)])
def test_every_reason_has_words_and_one_sentence(state):
    assert state.words and state.sentence("r").startswith("r ")
    assert state.sentence("r").count("(") == state.sentence("r").count(")")


def test_a_run_stuck_far_above_the_chance_loss_is_above_chance_not_at_chance():
    """A classifier resting at 2.6x ln 2 is worse than guessing, so "at chance" (the loss of
    guessing) would be false."""
    chance = math.log(2)
    stuck = window(np.full(300, 2.6 * chance), grad=np.full(300, 1e-3), start_loss=chance)
    state = classify(stuck, chance=chance)[0]
    assert state.kind == "stalled" and state.words == "stalled above chance"
    assert "above the loss of guessing the class frequencies" in state.sentence("GD")
    near = window(np.full(300, 1.01 * chance), grad=np.full(300, 1e-3), start_loss=chance)
    assert classify(near, chance=chance)[0].words == "stalled at chance"


def test_a_run_swinging_widely_above_its_start_is_oscillating_not_stalled():
    """natural-gradient's gradient descent over its limit bounces between losses 1.83 and 5.65 at
    every step with |g| 62: its median stays above where it began and does not fall, which made it
    "stalled above chance" although the loss swings by 3.8 each step."""
    sim, states = finished("natural-gradient")
    _, loss = sim.history.series("loss")
    row = [run.label for run in sim.runs].index("gradient descent, lr 0.002")
    assert np.ptp(loss[-100:, row]) > 3  # the run as the rule sees it: a wide swing
    assert states["gradient descent, lr 0.002"].kind == "oscillating"
    # the same shape by hand: a period-2 swing above the start (no path), and the same swing over a
    # tenth of the start's height: stuck at the start wins only where the swing is small
    swing = np.r_[0.69, np.tile([1.8, 5.6], 150)][:300]
    assert classify(window(swing, grad=np.full(300, 60.0), start_loss=0.69))[0].kind == "oscillating"
    small = np.r_[0.69, np.tile([0.70, 0.71], 150)][:300]
    assert classify(window(small, grad=np.full(300, 0.5), start_loss=0.69))[0].kind == "stalled"


def test_a_run_at_its_optimum_from_the_first_steps_is_converged_not_slow_or_oscillating():
    """natural-gradient's natural-gradient runs reach their optimum by step 5 and rest there to the
    last bit (|g| ~1e-16, moves of ~1e-17): the window still holds their descent, and their rounding
    moves reverse direction, but they are converged, not 'slow' or 'oscillating'."""
    _, states = finished("natural-gradient")
    assert states["natural gradient, lr 1"].kind == "converged"
    assert states["natural gradient, unscaled"].kind == "converged"
    # the same shape, built by hand: a drop in the first steps, then constant; rounding-size zigzag
    loss = np.r_[np.linspace(0.69, 0.29, 6), np.full(294, 0.29)]
    params = np.array([[1.0 + (5 - min(k, 5)) * 0.1 + (-1) ** k * 1e-17, 2.0] for k in range(300)])
    grad = np.r_[np.linspace(1.0, 1e-3, 6), np.full(294, 1e-16)]
    assert classify(window(loss, params, grad=grad), convex=True)[0].kind == "converged"
    # a real swing at the same place is still oscillating
    swing = np.array([[1.0 + (-1) ** k * 1e-3, 2.0] for k in range(300)])
    swinging = 0.29 + 0.04 * (np.arange(300) % 2)
    assert classify(window(swinging, swing, grad=np.full(300, 0.1), start_loss=0.9))[0].kind == "oscillating"


def test_a_run_whose_descent_has_ended_is_converged_not_slow():
    """natural-gradient's `gradient descent, unscaled` reaches loss 0.28606 (the natural runs' loss) with
    |g| 3e-9 of a starting 0.87 by step 200, but its 200-step window still holds the descent from 0.69:
    it read "slow" (a small gradient at a loss far above 0). The natural runs rest to the last bit from
    step 7 and read "slow" until the window spanned MIN_SPAN steps."""
    loaded = load_scenario(BUILTIN["natural-gradient"])
    sim = build(loaded)
    sim.step(20)
    early = {run.label: state for run, state in zip(sim.runs, run_states(sim))}
    assert early["natural gradient, lr 1"].kind == "converged"
    assert early["natural gradient, unscaled"].kind == "converged"
    sim.step(loaded.scenario.scenario.steps - 20)
    states = {run.label: state for run, state in zip(sim.runs, run_states(sim))}
    assert states["gradient descent, unscaled"].kind == "converged"
    assert states["gradient descent, lr 0.0002"].kind == "moving"  # still crawling: not called converged
    # by hand: a geometric descent from 0.69 to 0.29 (the tail's change over the window's later half is
    # 4e-6 of the fall) is converged; a steady creep over the same window at a small gradient is slow
    k = np.arange(201)
    tail = 0.29 + 0.4 * 0.9**k
    assert classify(window(tail, grad=0.87 * 0.9**k))[0].kind == "converged"
    creep = np.linspace(0.5, 0.49, 201)
    assert classify(window(creep, grad=np.r_[0.87, np.full(200, 1e-4)], start_loss=0.69))[0].kind == "slow"
    # at rest early, but never before the window holds a descent (a constant loss is too early to call)
    rest = np.r_[0.69, 0.4, np.full(18, 0.29)]
    assert classify(window(rest, grad=np.r_[0.9, 0.1, np.full(18, 1e-16)]))[0].kind == "converged"
    flat = np.full(20, 0.29)
    assert classify(window(flat, grad=np.full(20, 1e-16), start_loss=0.69))[0].kind != "converged"


def test_a_swinging_run_after_a_raised_learning_rate_is_never_stalled(tmp_path):
    """right-optimizer with plain GD at lr 0.2 (l pressed once): its loss swings by hundreds while it
    grows; it read "stalled (loss 898)" between "growing" and "oscillating"."""
    text = BUILTIN["right-optimizer"].read_text().replace("lr = 0.13", "lr = 0.2", 1)
    path = tmp_path / "right.toml"
    path.write_text(text)
    sim = build(load_scenario(path))
    seen = set()
    for _ in range(12):
        sim.step(50)
        seen.add(run_states(sim)[0].kind)
    assert "stalled" not in seen and seen <= {"oscillating", "growing"}


def test_a_steady_swing_and_a_rounding_gradient_make_no_stream_of_events():
    """natural-gradient over 400 steps: the lr 0.002 run swings between two levels from step 7 on.
    The median of such a swing is the high or the low level by the parity of the window's count, so it
    read "growing" every other step (and "stalled" between: 100 events); the natural runs' |g| of ~6e-18
    growing to 7e-18 counted as "leaving" and made 'slow' for a step at 209. Now one word each."""
    from gdsim.engine.state_events import state_events

    sim = build(load_scenario(BUILTIN["natural-gradient"]))
    sim.track_states(range(sim.n_runs))
    sim.step(400)
    labels = [run.label for run in sim.runs]
    after = [(e.step, labels[e.row], e.state.kind) for e in state_events(sim) if e.step > 10]
    assert [e for e in after if e[1] == "gradient descent, lr 0.002"] == []
    assert [e for e in after if e[1].startswith("natural")] == [
        (11, "natural gradient, lr 1", "converged"), (11, "natural gradient, unscaled", "converged")]
    assert run_states(sim)[labels.index("gradient descent, lr 0.002")].kind == "oscillating"


def test_a_stall_says_over_how_many_steps_it_was_judged():
    """epochs-vs-steps at step 70: the notice said "stopped falling for the last 200 steps" at step 70."""
    sim = build(load_scenario(BUILTIN["epochs-vs-steps"]))
    sim.step(70)
    state = run_states(sim)[0]
    assert state.kind == "stalled"
    assert "for the last 70 steps" in state.sentence("small data")
    flat = window(np.full(300, 0.7), grad=np.full(300, 1e-3), start_loss=0.7)
    assert "for the last 200 steps" in classify(flat)[0].sentence("r")  # a full window: WINDOW_STEPS
