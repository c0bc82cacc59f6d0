"""The notes plots carry (the latest validation metrics) for ensembles evaluated every few steps."""

from __future__ import annotations

import warnings

import pytest

from gdsim.app.draw import panels
from gdsim.app.runtime.session import Session
from gdsim.scenario.library import builtin_dir
from gdsim.scenario.load import load_scenario


@pytest.mark.parametrize("name", ["batch-size", "dying-relu", "l1-sparsity", "local-minima-networks"])
def test_an_ensembles_metrics_between_evaluations_raise_no_warning(name):
    """Metrics are recorded at evaluations and NaN between them: the median over an ensemble's seeds
    was taken of records holding none ("All-NaN slice encountered" at every redraw); now only of the
    records that were evaluated, and the note still gives the latest value."""
    session = Session(load_scenario(builtin_dir() / f"{name}.toml"))
    session.step(6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data = panels.plot_data(session, "plot-acc", 100)
    assert any(ch.isdigit() for ch in data.note)  # the step-0 evaluation's value is there
