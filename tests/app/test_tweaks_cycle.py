"""The o and c keys' cycles include cg, natural and plateau where the selected run's problem can
run them (natural needs the Fisher matrix of a model's predictions; newton a Hessian)."""

from __future__ import annotations

import tomllib

from gdsim.app import tweaks
from gdsim.app.runtime.session import Session
from gdsim.build import build
from gdsim.scenario.load import validate_raw

HEAD = '[scenario]\ntitle = "t"\nclaim = "c"\nsteps = 20\n\n'


def session_for(problem: str, optimizer: str = 'name = "sgd"\nlr = 0.1') -> Session:
    text = HEAD + f"[problem]\n{problem}\n\n[optimizer]\n{optimizer}\n"
    return Session(validate_raw(tomllib.loads(text), path=None, id="t", text=text))


def cycle(session: Session, presses: int) -> list[tuple[str, float]]:
    seen = []
    for _ in range(presses):
        result = tweaks.optimizer(session)  # at step 0: a plain change, nothing to continue from
        session.rebuild(result.loaded, result.replay, result.select_entry)
        config = session.configs[0]
        seen.append((config.optimizer["name"], config.optimizer["lr"]))
    return seen


def test_the_optimizer_cycle_offers_what_each_problem_can_run():
    assert tweaks.valid_optimizers(session_for('surface = "bowl"').sim.cohorts[0].problem) == [
        "sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw", "newton", "cg"]
    logistic = session_for('dataset = "moons"\nmodel = "logistic"').sim.cohorts[0].problem
    assert tweaks.valid_optimizers(logistic) == [
        "sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw", "cg", "natural"]
    linear = session_for('dataset = "line"\nmodel = "linear"').sim.cohorts[0].problem
    assert {"newton", "cg", "natural"} <= set(tweaks.valid_optimizers(linear))
    mlp = session_for('dataset = "moons"\nhidden = [4]').sim.cohorts[0].problem
    assert {"natural", "cg"} <= set(tweaks.valid_optimizers(mlp))
    dropout = session_for('dataset = "moons"\nhidden = [4]\ndropout = 0.5').sim.cohorts[0].problem
    assert "natural" not in tweaks.valid_optimizers(dropout)
    hinge = session_for('dataset = "moons"\nmodel = "logistic"\nloss = "hinge"').sim.cohorts[0].problem
    assert "natural" not in tweaks.valid_optimizers(hinge)


def test_cycling_into_natural_and_cg_sets_lr_1_and_leaving_brings_the_rate_back():
    session = session_for('dataset = "moons"\nmodel = "logistic"', 'name = "adamw"\nlr = 0.1')
    seen = cycle(session, 4)
    assert seen == [("cg", 1.0), ("natural", 1.0), ("sgd", 0.1), ("momentum", 0.1)]
    # each of them builds and steps
    build(session.loaded).step(3)


def test_the_schedule_cycle_reaches_plateau_and_it_runs():
    session = session_for('surface = "bowl"')
    names = []
    for _ in range(5):
        result = tweaks.schedule(session)
        session.rebuild(result.loaded, result.replay, result.select_entry)
        what = result.message
        names.append(session.configs[0].schedule.get("name", "constant"))
        if names[-1] == "plateau":
            assert session.configs[0].schedule == {"name": "plateau", "factor": 0.5, "patience": 5}
            assert "plateau" in what
            sim = build(result.loaded)  # it builds and runs, with an lr per run
            sim.step(20)
            assert sim.cohorts[0].schedule_state is not None and sim.cohorts[0].schedule.name == "plateau"
    assert names == ["step", "exponential", "cosine", "plateau", "constant"]
