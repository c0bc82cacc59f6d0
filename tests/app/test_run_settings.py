"""The run table's settings column: what sets the runs apart, in the file's own words."""

from __future__ import annotations

from gdsim.app.runtime.run_settings import differing_settings
from gdsim.app.runtime.session import Session
from gdsim.scenario.library import builtin_dir
from gdsim.scenario.load import load_scenario


def test_a_setting_left_at_its_default_says_what_the_default_is():
    """feature-scaling standardizes one run; the others leave `standardize` unset, which is false
    (the column used to read "default" there: the learner could not tell what it meant)."""
    session = Session(load_scenario(builtin_dir() / "feature-scaling.toml"))
    header, cells = differing_settings(session)
    assert "standardize" in header
    labels = [run.label for run in session.display]
    by_label = dict(zip(labels, cells))
    assert by_label["standardized, lr 0.5"] == "true"
    assert all(cell == "false" for label, cell in by_label.items() if "standardized" not in label)
    assert "default" not in cells


def test_an_optimizer_setting_left_at_its_default_says_the_default():
    """nesterov-momentum's column read "-" for the runs that leave nesterov unset (false: torch's
    default), and adamw-vs-l2's decay "-" for plain Adam (0); a key the optimizer does not take stays "-"."""
    session = Session(load_scenario(builtin_dir() / "nesterov-momentum.toml"))
    header, cells = differing_settings(session)
    by_label = dict(zip([run.label for run in session.display], cells))
    assert "nesterov" in header
    assert by_label["nesterov"] == "true"
    assert by_label["momentum"] == "false" and by_label["plain GD"] == "false"
    session = Session(load_scenario(builtin_dir() / "adamw-vs-l2.toml"))
    header, cells = differing_settings(session)
    by_label = dict(zip([run.label for run in session.display], cells))
    assert header == "decay" and by_label["adam"] == "0" and by_label["Adam + L2"] == "0.5"
