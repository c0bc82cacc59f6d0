"""The Pacer: engine budgets from measured frame costs, and a served session kept to its CPU share."""

from __future__ import annotations

import pytest

from gdsim.app.runtime.pacing import BURST, FRAME_PERIOD, HEADROOM, MAX_BUDGET, MIN_BUDGET, Pacer, ShareSource, parse_share


class Clock:
    """A tick loop played by hand: each tick draws a frame costing `frame` CPU s and runs the engine."""

    def __init__(self, pacer: Pacer):
        self.pacer, self.wall, self.cpu = pacer, 0.0, 0.0

    def run(self, ticks: int, frame: float, interval: float = 0.05) -> list[float | None]:
        budgets = []
        for _ in range(ticks):
            budget = self.pacer.tick(self.wall, self.cpu)
            budgets.append(budget)
            spent = 0.0
            if budget is not None:
                self.pacer.engine_used(budget)
                self.pacer.frame_drawn()
                spent = budget + frame
            self.cpu += spent
            self.wall += max(interval, spent)
        return budgets


def test_local_budget_is_what_a_frame_leaves_over():
    pacer = Pacer()
    budgets = Clock(pacer).run(60, frame=0.025)
    assert pacer.frame_cost == pytest.approx(0.025, rel=0.01)
    assert budgets[-1] == pytest.approx(HEADROOM * FRAME_PERIOD - 0.025, rel=0.02)
    assert budgets[-1] + 0.025 < FRAME_PERIOD  # a tick leaves room: the timer never has to skip one


def test_local_budget_is_bounded_for_latency_and_progress():
    assert Clock(Pacer()).run(60, frame=0.0001)[-1] == MAX_BUDGET  # a cheap frame: the cap keeps keys quick
    assert Clock(Pacer()).run(60, frame=0.2)[-1] == MIN_BUDGET  # a slow frame: the engine still moves


def test_idle_ticks_do_not_teach_a_false_frame_cost():
    pacer = Pacer()
    clock = Clock(pacer)
    clock.run(40, frame=0.03)
    learnt = pacer.frame_cost
    for _ in range(100):  # paused: ticks that draw nothing and cost almost nothing
        pacer.tick(clock.wall, clock.cpu)
        clock.wall += 0.05
        clock.cpu += 0.0002
    assert pacer.frame_cost == pytest.approx(learnt, rel=1e-3)  # not dragged towards 0.0002


def shares(value: str | None = None, path=None) -> ShareSource:
    env = {}
    if value is not None:
        env["GDSIM_CPU_SHARE"] = value
    if path is not None:
        env["GDSIM_CPU_SHARE_FILE"] = str(path)
    return ShareSource(env)


@pytest.mark.parametrize("share", [0.05, 0.2])
def test_a_served_session_keeps_to_its_share(share):
    pacer = Pacer(shares(str(share)))
    clock = Clock(pacer)
    budgets = clock.run(2000, frame=0.02)
    used = clock.cpu / clock.wall
    assert used == pytest.approx(share, rel=0.1)
    assert any(b is None for b in budgets) and pacer.skipped > 0
    assert clock.cpu <= share * clock.wall + BURST + 0.04  # never more than the share plus one burst


def test_unlimited_without_a_share():
    pacer = Pacer(shares())
    assert pacer.shares is None
    assert None not in Clock(pacer).run(200, frame=0.02)


def test_share_file_is_reread_and_bad_contents_keep_the_last_good_value(tmp_path):
    path = tmp_path / "cpu-share"
    path.write_text("0.25\n")
    source = shares(path=path)
    assert source.get(0.0) == 0.25
    path.write_text("0.5\n")
    assert source.get(0.5) == 0.25  # not re-read within a second
    assert source.get(1.5) == 0.5
    path.write_text("garbage")
    assert source.get(3.0) == 0.5
    path.unlink()
    assert source.get(5.0) == 0.5
    missing = shares(path=tmp_path / "nothing")
    assert missing.get(0.0) == 0.05  # served but nothing published yet: a modest share


@pytest.mark.parametrize("raw, expected", [("0.3", 0.3), (" 2 ", 1.0), ("0.0001", 0.01), ("0", None), ("-1", None),
                                           ("nan", None), ("inf", 1.0), ("x", None), ("", None)])
def test_parse_share(raw, expected):
    assert parse_share(raw) == expected
