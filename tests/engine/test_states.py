"""Run states in words: each rule and threshold of gdsim.engine.states on a constructed case."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from gdsim.build import build
from gdsim.engine import states
from gdsim.engine.states import Known, RunState, Window, classify, run_states, tally, tally_sentence, tally_words
from gdsim.scenario.load import load_scenario


def window(loss, grad=None, params=None, steps=None, start_loss=None, start_grad=None) -> Window:
    """A window of one run (columns = runs when 2-D) from plain lists."""
    loss = np.asarray(loss, dtype=float)
    loss = loss[:, None] if loss.ndim == 1 else loss
    grad = np.full(loss.shape, 1.0) if grad is None else np.asarray(grad, dtype=float).reshape(loss.shape)
    steps = np.arange(len(loss)) if steps is None else np.asarray(steps)
    if params is not None:
        params = np.asarray(params, dtype=float)
        params = params[:, None, :] if params.ndim == 2 else params
    return Window(steps, loss, grad,
                  loss[0] if start_loss is None else np.full(loss.shape[1], start_loss),
                  grad[0] if start_grad is None else np.full(loss.shape[1], start_grad), params)


def kind(w: Window, **kw) -> str:
    return classify(w, **kw)[0].kind


def simulate(tmp_path, body: str, steps: int):
    path = tmp_path / "s.toml"
    path.write_text(textwrap.dedent(body))
    sim = build(load_scenario(path))
    sim.step(steps)
    return sim


# -- flags come first ----------------------------------------------------------------------------
def test_diverged_and_stopped_early_win_over_everything_and_respect_a_rewound_step():
    w = window(np.linspace(1, 0.1, 300), steps=np.arange(300))
    got = classify(w, diverged_at=np.array([120]))[0]
    assert got.kind == "diverged" and got.words == "diverged at 120"
    got = classify(w, stopped_at=np.array([150]), best_at=np.array([90]))[0]
    assert got.words == "stopped early at 150 (best 90)"
    # judged at step 100 (rewound), a divergence at 120 has not happened yet
    early = window(np.linspace(1, 0.5, 101))
    assert classify(early, diverged_at=np.array([120]))[0].kind == "moving"


# -- known points --------------------------------------------------------------------------------
SADDLE_AND_MINIMA = Known(np.array([[0.0, 0.0], [1.0, 0.0], [-1.0, 0.0]]), ("saddle", "local", "global"),
                          np.array([0.0, -0.5, -1.0]), near=0.08)


def test_at_a_known_point_names_it_with_its_coordinates():
    for point, expected in (((0.01, 0.0), "saddle"), ((1.0, 0.05), "local min"), ((-1.03, 0.0), "global min")):
        path = np.array([point] * 5)
        got = classify(window([0.0] * 5, params=path), known=SADDLE_AND_MINIMA)[0]
        assert got.kind == expected
        assert got.point is not None and "(" in got.at_point
    far = classify(window([0.3] * 5, params=np.array([[0.5, 0.5]] * 5)), known=SADDLE_AND_MINIMA)[0]
    assert far.point is None and far.kind != "saddle"
    # just beyond NEAR_FRACTION of the view is not "at" the point
    beyond = classify(window([0.0] * 2, params=np.array([[0.09, 0.0]] * 2)), known=SADDLE_AND_MINIMA)[0]
    assert beyond.kind != "saddle"


def test_a_run_parked_on_a_saddle_is_saddle_not_ok(tmp_path):
    sim = simulate(tmp_path, """
        [scenario]
        title = "t"
        claim = "c"
        steps = 400
        [problem]
        surface = "saddle"
        [optimizer]
        name = "sgd"
        lr = 0.05
        [[runs]]
        label = "on the ridge"
        start = [1.5, 0.0]
        [[runs]]
        label = "off the ridge"
        start = [1.5, 0.3]
        """, 400)
    parked, away = run_states(sim)
    assert parked.kind == "saddle" and parked.point == (0.0, 0.0)
    assert "saddle point (0, 0)" in parked.sentence("A")
    assert away.kind != "saddle"


# -- growing -------------------------------------------------------------------------------------
def test_a_run_at_6_6e10_and_growing_is_growing(tmp_path):
    loss = 6.6e10 * 1.2 ** np.arange(-40, 1)
    assert kind(window(loss, grad=np.sqrt(loss))) == "growing"
    # a real one: lr beyond 2/lambda on a quadratic grows every step until the bound stops it
    sim = simulate(tmp_path, """
        [scenario]
        title = "t"
        claim = "c"
        steps = 60
        [problem]
        surface = "bowl"
        [optimizer]
        name = "sgd"
        lr = 1.05
        [[runs]]
        label = "big"
        start = [1.0, 1.0]
        """, 60)
    (state,) = run_states(sim)
    assert state.kind == "growing", state
    assert sim.diverged_at[0] < 0  # not yet frozen: growing is what the run is doing now


def test_a_noisy_flat_loss_is_not_growing_nor_oscillating():
    rng = np.random.default_rng(0)
    loss = 0.3 + 0.1 * rng.random(200)
    assert kind(window(loss, start_loss=1.0), noisy=True) == "moving"


def test_a_loss_that_rose_and_came_back_down_is_not_growing():
    loss = np.concatenate([np.linspace(1, 5, 20), np.linspace(5, 0.5, 20)])
    assert kind(window(loss)) != "growing"


# -- oscillating ---------------------------------------------------------------------------------
def test_a_path_that_reverses_at_every_step_oscillates_even_while_its_loss_falls():
    x = 2.0 * (-0.9) ** np.arange(30)  # lr between 1/lambda and 2/lambda: the sign flips each step
    path = np.column_stack([x, np.zeros_like(x)])
    w = window(x**2, grad=np.abs(x), params=path)
    assert np.all(np.diff(x**2) < 0)
    assert kind(w) == "oscillating"


def test_a_noiseless_loss_going_up_and_down_oscillates_but_a_noisy_one_does_not():
    t = np.arange(120)
    loss = 1 + np.exp(-t / 200) * np.cos(t / 4)  # a damped momentum swing
    assert kind(window(loss)) == "oscillating"
    assert kind(window(loss), noisy=True) != "oscillating"


def test_a_straight_path_does_not_oscillate():
    x = np.linspace(2, 1, 30)
    w = window(x**2, params=np.column_stack([x, x]))
    assert kind(w) == "moving"


# -- stalled, slow, converged --------------------------------------------------------------------
def test_stationary_at_a_high_loss_is_stalled_and_at_a_low_loss_converged():
    steps = np.arange(0, 300, 10)
    grad = 1e-5 * 0.97 ** np.arange(len(steps))
    w = window(np.full(len(steps), 0.4), grad=grad, steps=steps, start_loss=0.7, start_grad=0.5)
    # above a known floor (a surface's global minimum at 0): stalled, a better point exists
    assert kind(w, floor=0.0) == "stalled"
    # a data set's loss with no known optimum: stationary is converged (its own best), not stalled
    assert kind(w) == "converged"
    w = window(np.full(len(steps), 1e-4), grad=grad, steps=steps, start_loss=0.7, start_grad=0.5)
    assert kind(w) == "converged"


def test_slow_is_not_stuck_a_small_gradient_with_a_loss_still_falling_is_slow():
    steps = np.arange(0, 300, 10)
    loss = 0.4 - 1e-3 * np.arange(len(steps))  # falls 7% over the window: moving, if slowly
    w = window(loss, grad=np.full(len(steps), 1e-4), steps=steps, start_loss=0.7, start_grad=0.5)
    assert kind(w) == "slow"


def test_a_gradient_growing_as_it_leaves_a_flat_region_is_slow_not_stalled():
    steps = np.arange(0, 300, 10)
    grad = 1e-5 * 1.1 ** np.arange(len(steps))
    w = window(np.full(len(steps), 0.4), grad=grad, steps=steps, start_loss=0.7, start_grad=0.5)
    assert kind(w) == "slow"


def test_too_short_a_window_cannot_call_a_stall():
    steps = np.arange(0, states.MIN_SPAN - 10)
    w = window(np.full(len(steps), 0.4), grad=np.full(len(steps), 1e-9), steps=steps, start_loss=0.7, start_grad=0.5)
    assert kind(w) == "slow"
    assert kind(window([0.4])) == "ok"


def test_a_tiny_net_stuck_with_zero_init_is_stalled(tmp_path):
    sim = simulate(tmp_path, """
        [scenario]
        title = "t"
        claim = "c"
        steps = 400
        [problem]
        dataset = "moons"
        model = "mlp"
        hidden = [4]
        activation = "tanh"
        init = "zeros"
        batch_size = 10000
        [optimizer]
        name = "sgd"
        lr = 0.5
        [[runs]]
        label = "zeros"
        """, 400)
    (state,) = run_states(sim)
    assert state.kind == "stalled", (state, sim.grad_norm, sim.loss)


# -- the simulation's windows --------------------------------------------------------------------
def test_the_live_state_and_a_rewound_step_are_judged_from_their_own_windows(tmp_path):
    sim = simulate(tmp_path, """
        [scenario]
        title = "t"
        claim = "c"
        steps = 100
        [problem]
        surface = "bowl"
        [optimizer]
        name = "sgd"
        lr = 1.05
        [[runs]]
        label = "big"
        start = [1.0, 1.0]
        """, 400)
    assert sim.diverged_at[0] > 0
    assert run_states(sim)[0].kind == "diverged"
    assert run_states(sim, until=int(sim.diverged_at[0]) - 5)[0].kind == "growing"
    assert run_states(sim, until=0)[0].kind == "ok"


def test_without_a_history_the_flags_and_known_points_still_decide(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(textwrap.dedent("""
        [scenario]
        title = "t"
        claim = "c"
        steps = 100
        [problem]
        surface = "double_well"
        [optimizer]
        name = "sgd"
        lr = 0.05
        [[runs]]
        label = "right"
        start = [1.5, 0.5]
        """))
    sim = build(load_scenario(path), record=False)
    sim.step(300)
    (state,) = run_states(sim)
    assert state.kind == "local min"


# -- ensembles -----------------------------------------------------------------------------------
def test_tally_counts_end_points_per_known_point():
    at_global = RunState("global min", point=(-1.03, 0.0))
    at_local = RunState("local min", point=(0.96, 0.0))
    runs = [at_global] * 46 + [at_local] * 51 + [RunState("diverged", step=3)] * 3
    assert tally(runs)[0] == ("at a local minimum (0.96, 0)", 51)
    sentence = tally_sentence(runs)
    assert "46 of 100 at the global minimum (-1.03, 0)" in sentence
    assert "3 of 100 diverged" in sentence
    assert tally_words(runs) == "51 local min, 46 global min, 3 diverged"  # every run counted
    assert tally_words([at_global] * 5) == "all global min"
    assert tally_words([RunState("moving")] * 3) == "moving"


def test_a_tally_accounts_for_every_run():
    """batch-size's straight-line ensemble ends 4 slow, 3 moving, 3 converged: the cell used to say
    "4 slow, 3 moving" (7 of 10). Past one more kind than the limit the rest are "other"."""
    ten = [RunState("slow")] * 4 + [RunState("moving")] * 3 + [RunState("converged")] * 3
    assert tally_words(ten) == "4 slow, 3 moving, 3 converged"
    assert tally_sentence(ten) == "4 of 10 slow; 3 of 10 moving; 3 of 10 converged"
    many = ten + [RunState("oscillating")] * 2 + [RunState("diverged", step=4)]
    assert tally_words(many) == "4 slow, 3 moving, 6 other"
    assert tally_sentence(many) == "4 of 13 slow; 3 of 13 moving; 3 of 13 converged; 3 of 13 other"
    for states in (ten, many):
        counts = [int(part.split()[0]) for part in tally_words(states).split(", ")]
        assert sum(counts) == len(states)


@pytest.mark.parametrize("state", [RunState(k, step=1) for k in states.KINDS])
def test_every_kind_has_words_a_sentence_and_a_severity(state):
    assert state.words and state.sentence("A").startswith("A")
    assert state.severity in ("error", "warning", "info", "")


def test_events_list_where_runs_entered_a_state_once_each(tmp_path):
    sim = simulate(tmp_path, """
        [scenario]
        title = "t"
        claim = "c"
        steps = 100
        [problem]
        surface = "bowl"
        [optimizer]
        name = "sgd"
        lr = 0.3
        [[runs]]
        label = "calm"
        start = [1.0, 1.0]
        [[runs]]
        label = "wild"
        start = [1.0, 1.0]
        optimizer = { lr = 1.05 }
        """, 300)
    from gdsim.engine.state_events import state_events

    found = state_events(sim)
    assert [e.step for e in found] == sorted(e.step for e in found)
    calm = [e for e in found if e.row == 0]
    assert [e.state.kind for e in calm] == ["global min"]  # once, not at every sample after it
    wild = [e.state.kind for e in found if e.row == 1]
    assert wild[-1] == "diverged" and "growing" in wild
    (diverged,) = [e for e in found if e.state.kind == "diverged"]
    assert diverged.step == sim.diverged_at[1]


def test_an_ensemble_split_between_equally_deep_minima_says_how():
    left, right = RunState("global min", point=(-3.78, -3.28)), RunState("global min", point=(3.58, -1.85))
    assert tally_words([left] * 11 + [right] * 9) == "global min ×2: 11, 9"
    assert "11 of 20 at the global minimum (-3.78, -3.28)" in tally_sentence([left] * 11 + [right] * 9)


# -- w1's walkthrough (problem #2): words that contradicted the lessons ---------------------------
def test_a_linear_fit_at_its_least_squares_minimum_is_converged_not_stalled():
    # mae-vs-mse's MSE line: loss 117.6 from 142 (outliers keep it high), gradient 1e-15 of 10
    steps = np.arange(0, 300, 10)
    w = window(np.full(len(steps), 117.6), grad=np.full(len(steps), 8e-15), steps=steps,
               start_loss=142.1, start_grad=10.5)
    assert kind(w) == "converged"
    # softmax on spirals: stationary just below chance, but the model is convex: its optimum
    w = window(np.full(len(steps), 1.073), grad=np.full(len(steps), 5e-11), steps=steps,
               start_loss=1.099, start_grad=0.136)
    assert kind(w, convex=True) == "converged"
    assert kind(w) == "stalled"  # a network stationary at its starting loss is stuck at the start


def test_a_run_that_cannot_move_is_stalled_not_moving():
    # class-imbalance's learning rate 0: loss ln 2 and gradient 1.1 unchanged for 200 steps
    steps = np.arange(0, 300, 10)
    w = window(np.full(len(steps), np.log(2)), grad=np.full(len(steps), 1.1), steps=steps,
               start_loss=np.log(2), start_grad=1.1)
    assert kind(w) == "stalled"
    assert kind(w, convex=True) == "stalled"  # not stationary (the gradient is not small): stuck
    # vanishing-gradients' sigmoid network: a noisy loss around ln 2, above where it started
    rng = np.random.default_rng(1)
    loss = np.log(2) + 0.03 * rng.standard_normal(len(steps))
    w = window(loss, grad=np.full(len(steps), 0.2), steps=steps, start_loss=0.63, start_grad=0.16)
    assert kind(w, noisy=True) == "stalled"
    # ... but a noisy loss that is clearly falling, still near its start, is not stalled
    w = window(np.linspace(0.69, 0.60, len(steps)) + 0.003 * rng.standard_normal(len(steps)),
               grad=np.full(len(steps), 0.2), steps=steps, start_loss=0.69, start_grad=0.2)
    assert kind(w, noisy=True) == "moving"


def test_a_tiny_gradient_near_the_starting_loss_is_slow_not_moving():
    # zero-init sigmoid: loss 0.61 -> 0.59 over the window from 0.69, gradient 1.4% of the start's
    steps = np.arange(0, 300, 10)
    w = window(np.linspace(0.6086, 0.5889, len(steps)), grad=np.full(len(steps), 9e-4), steps=steps,
               start_loss=0.6931, start_grad=0.064)
    assert kind(w) == "slow"
    # a nearly trained run (loss a fifth of its start) with a small gradient is just moving
    w = window(np.linspace(0.15, 0.14, len(steps)), grad=np.full(len(steps), 0.02), steps=steps,
               start_loss=0.72, start_grad=0.53)
    assert kind(w) == "moving"


def test_a_run_sliding_past_the_minimum_is_not_at_it():
    # conjugate-gradient's plain GD: within NEAR_FRACTION of the minimum, but |g| 2.3 of 127
    path = np.column_stack([np.linspace(-1.05, -1.02, 30), 0.01 * (-1.0) ** np.arange(30)])
    w = window(np.linspace(0.06, 0.055, 30), grad=np.full(30, 2.3), params=path, start_loss=163,
               start_grad=127)
    assert kind(w, known=SADDLE_AND_MINIMA) not in ("global min", "local min")
    w = window(np.full(30, 1e-9), grad=np.full(30, 1e-4), params=np.zeros((30, 2)) + [-1.03, 0.0],
               start_loss=163, start_grad=127)
    assert kind(w, known=SADDLE_AND_MINIMA) == "global min"


def test_a_run_parked_at_a_penalised_optimum_is_converged():
    # adamw-vs-l2: the raw gradient stays 2.33 (the L2 pull balances it), the path moves 1e-6
    steps = np.arange(200)
    path = np.column_stack([3.0 + 1e-8 * (-1.0) ** steps, 2.0 + np.zeros(200)])
    w = window(1.0703 + 1e-9 * (-1.0) ** steps, grad=np.full(200, 2.33), params=path, steps=steps,
               start_loss=88.0, start_grad=40.2)
    assert kind(w, known=SADDLE_AND_MINIMA) == "converged"


def test_gradient_noise_near_a_minimum_is_not_growing():
    # lr-schedule's tuned constant rate on a noisy bowl: the loss doubles between halves, at 1e-3
    rng = np.random.default_rng(2)
    loss = np.concatenate([0.001 * rng.random(100), 0.003 + 0.001 * rng.random(100)])
    assert kind(window(loss, start_loss=14.0), noisy=True) != "growing"
    # sustained growth of a noisy run still is
    loss = 0.5 * 1.02 ** np.arange(200) * (1 + 0.05 * rng.random(200))
    assert kind(window(loss, start_loss=14.0), noisy=True) == "growing"


def test_a_classifier_stuck_at_chance_is_stalled_even_after_falling_from_a_worse_start():
    # batch-norm's plain network at lr 2 and dying-relu's dead networks: from 0.95 down to ln 2, then flat
    steps = np.arange(0, 300, 10)
    rng = np.random.default_rng(3)
    w = window(np.log(2) + 0.002 * rng.standard_normal(len(steps)), grad=np.full(len(steps), 0.04),
               steps=steps, start_loss=0.945, start_grad=1.86)
    assert kind(w, noisy=True) == "moving"  # without knowing chance: it fell a long way
    assert kind(w, noisy=True, chance=np.log(2)) == "stalled"
    w = window(np.full(len(steps), np.log(2)), grad=np.full(len(steps), 1e-13), steps=steps,
               start_loss=0.89, start_grad=1.63)
    assert kind(w) == "converged" and kind(w, chance=np.log(2)) == "stalled"
    # well below chance (a network that learned) is not stuck
    w = window(np.full(len(steps), 0.186), grad=np.full(len(steps), 1e-13), steps=steps,
               start_loss=0.68, start_grad=0.18)
    assert kind(w, chance=np.log(2)) == "converged"


def test_chance_loss_is_the_entropy_of_the_training_labels(tmp_path):
    class Problem:
        loss_name = "bce"
        _y_train = np.array([0, 1, 1, 0])
    assert states.chance_loss(Problem()) == pytest.approx(np.log(2))
    Problem.loss_name, Problem._y_train = "cce", np.array([0, 1, 2, 2])
    assert states.chance_loss(Problem()) == pytest.approx(-(0.5 * np.log(0.25) + 0.5 * np.log(0.5)))
    Problem.loss_name = "mse"
    assert np.isnan(states.chance_loss(Problem()))


def test_a_stationary_run_well_above_another_seed_of_its_model_is_stalled():
    # local-minima-networks: width 3 seeds stop at 0.10 (good) and 0.35 (a bad stationary point)
    steps = np.arange(0, 300, 10)
    loss = np.column_stack([np.full(len(steps), 0.10), np.full(len(steps), 0.35)])
    w = window(loss, grad=np.full(loss.shape, 1e-9), steps=steps, start_loss=0.7, start_grad=0.5)
    assert [s.kind for s in classify(w)] == ["converged", "converged"]
    got = classify(w, better=np.array([0.35, 0.10]))
    assert [s.kind for s in got] == ["converged", "stalled"]
    # seeds that stop within BETTER_GAP of each other are all converged
    got = classify(w, better=np.array([0.10 + 0.02, 0.10]))
    assert got[0].kind == "converged"


def test_run_states_takes_the_evidence_from_the_other_runs_of_the_group(tmp_path):
    class Run:
        def __init__(self, group):
            self.group = group
    class Sim:
        n_runs = 4
        runs = [Run("a"), Run("a"), Run("a"), Run("b")]
        diverged_at = np.array([-1, -1, 5, -1])
    w = window(np.array([[0.3, 0.1, 0.01, 0.2]] * 3), steps=np.array([0, 5, 10]))
    # run 2 diverged: not evidence; run 1 is the best of a, its evidence is run 0; b is alone
    assert list(states._better(Sim(), w)) == [0.1, 0.3, 0.1, np.inf]
