"""The app's verification job: in a child process (same results as verify), cancellable, cached,
and refused in-process when a trial run projects it beyond the budget."""

from __future__ import annotations

import threading
import time

import pytest

from gdsim.app.runtime import verify_job
from gdsim.app.runtime.predict_flow import PredictFlow
from gdsim.app.runtime.verdicts import Verdicts
from gdsim.app.runtime.verify_job import TOO_COSTLY, VerifyJob
from gdsim.scenario.library import builtin_dir
from gdsim.scenario.load import load_scenario
from gdsim.scenario.verify import verify
from tests.app.conftest import DATA


@pytest.fixture(autouse=True)
def empty_cache(monkeypatch):
    monkeypatch.setattr(verify_job, "_cache", {})


def test_the_child_process_measures_what_verify_measures():
    loaded = load_scenario(DATA / "s2" / "predict.toml")
    got = VerifyJob(loaded, child=True).run()
    want = verify(loaded)
    assert [(o.id, o.passed, o.value, o.step) for o in got.outcomes] == \
        [(o.id, o.passed, o.value, o.step) for o in want.outcomes]
    assert got.predict.confirmed


def test_a_cancelled_child_is_killed_and_gives_nothing():
    loaded = load_scenario(builtin_dir() / "local-minima-networks.toml")  # ~40 s to verify
    job = VerifyJob(loaded, child=True)
    out = []
    thread = threading.Thread(target=lambda: out.append(job.run()))
    started = time.perf_counter()
    thread.start()
    time.sleep(0.5)
    job.cancel()
    thread.join(10)
    assert not thread.is_alive() and out == [None]
    assert time.perf_counter() - started < 10
    assert verify_job.cached(loaded) is None


def test_in_process_it_refuses_what_would_take_too_long_and_says_so(monkeypatch):
    loaded = load_scenario(DATA / "s2" / "predict.toml")
    monkeypatch.setattr(verify_job, "IN_PROCESS_BUDGET", 0.0)
    assert VerifyJob(loaded, child=False).run() == TOO_COSTLY
    verdicts = Verdicts(loaded, TOO_COSTLY)
    assert verdicts.settled and not verdicts.ready
    (line,) = verdicts.lines(0)
    assert TOO_COSTLY in line.text and "gdsim check --verify predict" in line.text
    flow = PredictFlow.of(loaded)
    assert flow.due(60, loaded, verdicts.settled)  # the reveal still comes at the point
    flow.reveal()
    assert "Not measured in this session" in flow.reveal_text(TOO_COSTLY).measured


def test_results_are_kept_per_scenario_text(monkeypatch):
    loaded = load_scenario(DATA / "s2" / "predict.toml")
    first = VerifyJob(loaded, child=False).run()
    monkeypatch.setattr(verify_job, "projected_seconds", lambda loaded: pytest.fail("measured again"))
    assert VerifyJob(load_scenario(DATA / "s2" / "predict.toml"), child=False).run() is first


def test_a_slow_build_does_not_make_a_short_scenario_look_costly(monkeypatch):
    import gdsim.build

    real = gdsim.build.build

    def slow_build(*args, **kwargs):
        time.sleep(0.2)  # a loaded machine: the build alone takes longer than the trial
        return real(*args, **kwargs)

    monkeypatch.setattr(gdsim.build, "build", slow_build)
    loaded = load_scenario(DATA / "s2" / "predict.toml")  # 60 steps of a 2-D bowl
    assert verify_job.projected_seconds(loaded) < 1.0
