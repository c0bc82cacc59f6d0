"""The maths panel's text for conjugate gradient, the plateau schedule and batch norm."""

from __future__ import annotations

import tomllib

import numpy as np

from gdsim.app.runtime.session import Session
from gdsim.app.widgets.maths_panel import explain
from gdsim.scenario.load import validate_raw


def session_for(text: str) -> Session:
    return Session(validate_raw(tomllib.loads(text), path=None, id="t", text=text))


HEAD = '[scenario]\ntitle = "t"\nclaim = "c"\nsteps = 50\n\n'


def test_cg_shows_its_rule_beta_alpha_and_the_next_parameters():
    for surface, search in (("quadratic", "exact"), ("rosenbrock", "armijo")):
        session = session_for(HEAD + f'[problem]\nsurface = "{surface}"\n\n[optimizer]\nname = "cg"\n\n'
                              '[[runs]]\nstart = [-1.2, 1.0]\n')
        session.step(1)
        text = explain(session).plain
        assert f"line_search={search}" in text
        assert "β ← max(0, gᵀ(g − g₋) / g₋ᵀg₋)" in text and "α ← η·(−gᵀd / dᵀHd)" in text
        assert "\nβ " in text and "\nα " in text and "\nd " in text
        shown = text.split("θ  new parameters")[1].split("\n")[0]
        session.step(1)
        params = session.sim.params[0]
        assert shown.strip().startswith("[") and all(np.isfinite(params))


def test_plateau_schedule_shows_its_rule_and_state():
    session = session_for(HEAD + '[problem]\nsurface = "rosenbrock"\n\n[optimizer]\nname = "sgd"\nlr = 0.0015\n\n'
                          '[schedule]\nname = "plateau"\npatience = 2\nfactor = 0.5\nthreshold = 0.01\n\n'
                          '[[runs]]\nstart = [-1.2, 1.0]\n')
    session.step(40)
    text = explain(session).plain
    assert "reduce on plateau" in text and "L: the loss, every step" in text
    lr = float(session.sim.lr[0])
    assert lr < 0.0015  # cut by now
    assert "if bad > patience" in text and "now: η" in text


def test_batch_norm_shows_its_forward_rule():
    session = session_for(HEAD + '[problem]\ndataset = "moons"\nsamples = 100\nhidden = [4]\nbatch_norm = true\n\n'
                          '[optimizer]\nname = "sgd"\nlr = 0.1\n')
    session.step(3)
    text = explain(session).plain
    assert "batch norm (every hidden layer)" in text and "ẑ ← (z − μ)/√(σ² + 10⁻⁵)" in text


def test_natural_gradient_shows_its_rule_the_fisher_matrix_and_the_step():
    session = session_for(HEAD + '[problem]\ndataset = "blobs"\nclasses = 2\nmodel = "logistic"\n\n'
                          '[optimizer]\nname = "natural"\nlr = 0.5\n')
    session.step(2)
    text = explain(session).plain
    assert "natural  (lr=0.5, damping=0.01)" in text
    assert "d ← (F + λ·I)⁻¹·g" in text and "no labels in it" in text
    assert "\nF " in text and "\nd " in text and "θ  new parameters" in text
    assert "(9 numbers" in text  # F is 3 x 3 for two inputs and a bias
