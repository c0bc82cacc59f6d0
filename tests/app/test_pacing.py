"""The Pacer: engine budgets from measured frame costs, and a served session kept to its CPU share."""

from __future__ import annotations

import pytest

from gdsim.app.runtime.pacing import BURST, DEBT, FRAME_PERIOD, HEADROOM, MAX_BUDGET, MAX_SPREAD, MIN_BUDGET, Pacer, ShareSource, parse_share


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


class Busy(Clock):
    """A tick loop with other work between ticks (a room's messages, Textual's compositor, keys):
    `between` CPU seconds per interval, whether or not the tick ran."""

    def run(self, ticks: int, frame: float, interval: float = 0.05, between: float = 0.0) -> list[float | None]:
        budgets = []
        for _ in range(ticks):
            budgets.extend(super().run(1, frame, interval))
            self.cpu += between
        return budgets


@pytest.mark.parametrize("between", [0.0005, 0.001])
def test_work_between_ticks_is_charged_to_the_share(between):
    # 30 followers on two cores: a share of 0.032. Their frames from room messages and the compositor
    # happen between ticks; the share must still hold for everything the process does.
    share = 0.032
    pacer = Pacer(shares(str(share)))
    clock = Busy(pacer)
    budgets = clock.run(4000, frame=0.03, between=between)
    assert clock.cpu / clock.wall == pytest.approx(share, rel=0.1)
    assert pacer.charged == pytest.approx(clock.cpu, rel=0.02)
    ran = sum(b is not None for b in budgets)
    assert ran < len(budgets) * share / 0.03  # fewer frames than if only the ticks' own work were charged


def test_work_beyond_the_share_stops_the_run_but_a_debt_is_bounded():
    pacer = Pacer(shares("0.05"))
    clock = Busy(pacer)
    assert all(b is None for b in clock.run(200, frame=0.02, between=0.01)[5:])  # 0.2 core of other work: no frames
    assert pacer.tokens >= -DEBT - 1e-9
    # A key's frame (0.5 s of CPU, say a resize) while running: the run's frames come back within DEBT / share.
    clock.cpu += 0.5
    budgets = clock.run(200, frame=0.02)
    first = next(i for i, b in enumerate(budgets) if b is not None)
    assert first * 0.05 <= DEBT / 0.05 + 0.1


def test_work_done_while_paused_is_not_charged_but_the_last_frame_is():
    pacer = Pacer(shares("0.05"))
    clock = Clock(pacer)
    clock.run(100, frame=0.02)
    while clock.run(1, frame=0.02) == [None]:
        pass
    frame = pacer.frame_cost
    pacer.rest()  # the run paused in the last tick, which drew a frame
    clock.wall += 2.0  # paused 2 s; keys and room messages cost 0.8 s of CPU meanwhile
    clock.cpu += 0.8
    charged = pacer.charged
    assert clock.run(1, frame=0.02) != [None]  # space: the run starts at once
    assert pacer.charged - charged == pytest.approx(frame)  # only the frame the last tick drew
    assert pacer.frame_cost == pytest.approx(frame, rel=0.25)  # and the keys taught it nothing


def test_without_rest_a_pause_s_work_is_charged_as_far_as_the_pause_paid():
    pacer = Pacer(shares("0.05"))
    clock = Clock(pacer)
    clock.run(100, frame=0.02)
    clock.wall, clock.cpu = clock.wall + 2.0, clock.cpu + 0.8  # not told: ticks merely late (a loaded machine)
    assert clock.run(1, frame=0.02) == [None]


def test_a_skipped_tick_says_how_long_until_the_share_pays_for_the_next():
    pacer = Pacer(shares("0.025"))
    clock = Clock(pacer)
    budgets = clock.run(40, frame=0.045)
    assert budgets[-1] is None or pacer.tokens >= 0
    while pacer.tick(clock.wall, clock.cpu) is not None:
        clock.cpu += 0.045
        clock.wall += 0.05
    wait = pacer.wait()
    assert wait == pytest.approx(-pacer.tokens / 0.025, abs=0.002) and wait > 0.05  # no wake-ups before that
    clock.wall += wait
    assert pacer.tick(clock.wall, clock.cpu) is not None  # and then it ticks


def test_a_followers_frame_is_put_off_by_a_random_part_of_its_frame_period():
    assert Pacer(shares()).spread() == 0.0  # unlimited (a learner's own machine): at once
    pacer = Pacer(shares("0.025"))
    clock = Clock(pacer)
    clock.run(400, frame=0.01)  # learns a frame of 0.01 s: the period under the share is 0.4 s
    period = pacer.frame_cost / pacer.share
    delays = [pacer.spread() for _ in range(2000)]
    assert 0.0 <= min(delays) and max(delays) <= period
    assert sum(delays) / len(delays) == pytest.approx(period / 2, rel=0.1)  # spread evenly, not bunched
    clock.run(400, frame=0.2)  # a slow frame: a long period, but never more than MAX_SPREAD
    assert max(pacer.spread() for _ in range(200)) <= MAX_SPREAD
