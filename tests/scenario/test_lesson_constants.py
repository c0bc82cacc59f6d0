"""Constants a lesson derives from its own data (not measured by a run) stay true of that data.

hinge-vs-bce checks that the hinge run's weights end longer than 1/γ, γ being the widest margin a
line can leave between the two classes of its training points: any weights that put every point
at t·s ≥ 1 are at least that long, so the check cannot fail a correct engine, while a loss that
asks only for t·s > 0 (no margin) may stop shorter. If the data generator changes, the constant
in the file must change with it.
"""

from __future__ import annotations

import numpy as np

from gdsim.build import build
from gdsim.scenario.library import list_entries
from gdsim.scenario.load import load_scenario

BUILTIN = {e.id: e for e in list_entries() if e.builtin}


def widest_margin(x: np.ndarray, t: np.ndarray, angles: int = 200_001) -> float:
    """Half the widest gap between the classes' projections, over unit directions in the plane
    (the hard-margin SVM's geometric margin of 2-D points), by a fine search over directions."""
    theta = np.linspace(0.0, 2.0 * np.pi, angles)
    proj = x @ np.stack([np.cos(theta), np.sin(theta)])
    return float(np.max((proj[t > 0].min(axis=0) - proj[t < 0].max(axis=0)) / 2.0))


def test_widest_margin_of_two_known_points():
    x = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 3.0]])
    t = np.array([-1, 1, 1])
    # the positives' hull is the segment (2, 0)-(0, 3), 6/√13 from the origin: half of it is the margin
    assert abs(widest_margin(x, t) - 3.0 / np.sqrt(13.0)) < 1e-5  # the grid of directions is 3e-5 rad apart


def test_hinge_margin_threshold_is_one_over_the_widest_margin():
    loaded = load_scenario(BUILTIN["hinge-vs-bce"].path, id="hinge-vs-bce")
    problem = build(loaded, record=False).cohorts[0].problem
    x, y = problem.points  # the training inputs as the model sees them (after any standardizing)
    t = np.where(y == 1, 1, -1)
    gamma = widest_margin(x, t)
    assert abs(gamma - 0.763) < 0.0005, "the lesson quotes γ = 0.763 and 1/γ = 1.31"
    (check,) = [e for e in loaded.scenario.expect if e.id == "hinge-margin"]
    # sound (a correct hinge run at zero loss has |w| >= 1/γ > the threshold) and tight
    # (the search over directions can miss the widest margin by about 1e-5: allow 1e-4)
    assert 0.99 / gamma < check.above <= 1.0 / (gamma + 1e-4)
