"""A noisy run bouncing in a cloud around a minimum, wider than the reach of "at" it, is "around"
that minimum: not "global min" at the records it happens to be in reach and "moving" at the others
(cosine-warmup's constant rate read "11 moving, 9 global min", its lesson "the noise never lets a
run settle")."""

from __future__ import annotations

import numpy as np

from gdsim.build import build
from gdsim.engine.states import Known, RunState, Window, classify, run_states, tally_sentence, tally_words
from gdsim.scenario.library import builtin_dir
from gdsim.scenario.load import load_scenario

MINIMUM = Known(np.array([[0.0, 0.0]]), ("global",), np.array([0.0]), near=0.16)


def cloud(radius: float, n: int = 100, seed: int = 0) -> np.ndarray:
    """n positions scattered about (0, 0) with root-mean-square distance `radius`, the last one
    inside the reach of "at" it (0.16)."""
    rng = np.random.default_rng(seed)
    points = rng.normal(size=(n, 2))
    points *= radius / np.sqrt((points ** 2).sum(axis=1).mean())
    points[-1] = (0.05, 0.05)
    return points


def window_of_clouds(*radii: float) -> Window:
    params = np.stack([cloud(r, seed=i) for i, r in enumerate(radii)], axis=1)  # (n, R, 2)
    loss = 0.02 * (params ** 2).sum(axis=2)
    grad = np.full(loss.shape, 0.01)
    return Window(np.arange(len(loss)), loss, grad, np.full(len(radii), 1.0), np.full(len(radii), 1.0), params)


def test_a_noisy_cloud_wider_than_the_reach_is_around_the_minimum_and_a_tight_one_is_at_it():
    wide, tight = classify(window_of_clouds(0.3, 0.05), known=MINIMUM, noisy=True)
    assert wide.kind == "global min" and wide.why == "around" and wide.words == "around global min"
    assert abs(wide.ref - 0.3) < 0.03  # the cloud's root-mean-square distance from the minimum
    assert wide.sentence("C").startswith("C bounces around the global minimum (0, 0)")
    assert "does not settle" in wide.sentence("C")
    assert tight.kind == "global min" and tight.why == "" and tight.words == "global min"


def test_only_noisy_runs_and_only_clouds_centred_on_a_minimum():
    quiet = classify(window_of_clouds(0.3), known=MINIMUM, noisy=False)[0]
    assert quiet.why != "around"  # a noiseless run that wanders is judged by the other rules
    off = window_of_clouds(0.3)
    off = Window(off.steps, off.loss, off.grad_norm, off.start_loss, off.start_grad, off.params + 1.0)
    assert classify(off, known=MINIMUM, noisy=True)[0].why != "around"  # centred a unit away


def test_an_ensemble_in_a_cloud_is_tallied_as_one_end():
    states = classify(window_of_clouds(*[0.3] * 5), known=MINIMUM, noisy=True)
    assert tally_words(states) == "all around global min"
    assert tally_sentence(states) == "5 of 5 around the global minimum (0, 0)"


def test_a_table_cell_counts_runs_at_and_around_one_minimum_together_as_near_it():
    """'25 around global min, 3 moving, 2 global min' pushed lr-schedule's and reduce-on-plateau's
    lr and distance columns off an 80x24 table; the cell says '27 near global min, 3 moving', the
    notice (tally_sentence) keeps them apart."""
    states = classify(window_of_clouds(0.3, 0.3, 0.3, 0.05, 0.05), known=MINIMUM, noisy=True)
    assert [s.words for s in states] == ["around global min"] * 3 + ["global min"] * 2
    assert tally_words(states) == "all near global min"
    assert tally_sentence(states) == "3 of 5 around the global minimum (0, 0); 2 of 5 at the global minimum (0, 0)"
    moving = states[:4] + [RunState("moving")]
    assert tally_words(moving) == "4 near global min, 1 moving"


def test_cosine_warmup_constant_rate_is_around_the_minimum_and_the_decayed_runs_at_it():
    loaded = load_scenario(builtin_dir() / "cosine-warmup.toml", id="cosine-warmup")
    sim = build(loaded)
    sim.step(loaded.scenario.scenario.steps)
    states = run_states(sim)
    by_label: dict[str, list] = {}
    for info, state in zip(sim.runs, states):
        by_label.setdefault(info.group, []).append(state)
    words = {group: tally_words(group_states) for group, group_states in by_label.items()}
    assert words["warm-up, constant"] == "all around global min", words
    assert words["warm-up + cosine"] == "all global min", words
    assert words["warm-up + exponential"] == "all global min", words
