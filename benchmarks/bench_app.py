"""Headless benchmark of the app at 120x40 with a 3-run scenario running flat out.

Prints, first, the time to the first frame as a user gets it: `python -m gdsim SCENARIO` (and
`python -m gdsim`, the list) started in a pseudo-terminal of 120x40, timed from spawn until the
screen's real content is on the terminal, median and max of 5 starts (benchmarks/first_frame.py).
"warm" starts read compiled bytecode as an installed gdsim does (an untimed warm-up start, with
PYTHONDONTWRITEBYTECODE removed from the child's environment, writes the .pyc files into a
directory of the benchmark's own); "cold" starts compile gdsim's own sources every time
(PYTHONDONTWRITEBYTECODE=1, as a source checkout in this sandbox does).

Then, in this process: the same start without Python's start-up (imports, then App.run_test
until the scenario screen has drawn once), engine steps/s while the plots redraw, redraws/s of
all plots, keypress-to-screen latency, and (for comparison) the cost of one plotext plot of the
same size, which is why gdsim draws its curves itself (gdsim/app/draw/canvas.py).

    .venv/bin/python benchmarks/bench_app.py [--seconds 5] [--starts 5] [--no-pty] [--room N]

With --room N the app is a presenter in a room (a broker with N stand-in followers in another
process, benchmarks/room_followers.py), sending its scene as it runs: compare redraws/s with and
without (issue #17: following must cost the presenter nothing noticeable).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SCENARIO = ROOT / "tests" / "app" / "data" / "three_runs.toml"
SIZE = (120, 40)
WARM_UP = 1.5  # seconds of running before the measurement (the engine worker boots in about 0.5-1 s)


async def measure(seconds: float, scenario: Path = SCENARIO, room: dict | None = None) -> dict[str, float]:
    t0 = time.perf_counter()
    from textual import events

    from gdsim.app.app import GdsimApp
    from gdsim.app.screens.scenario import ScenarioScreen
    from gdsim.app.runtime.session import SPEEDS
    from gdsim.app.widgets.curve_plot import CurvePlot
    from gdsim.app.widgets.status_line import StatusLine
    from gdsim.scenario.load import load_scenario

    figures: dict[str, float] = {"in_process_imports_s": time.perf_counter() - t0}
    t1 = time.perf_counter()
    app = GdsimApp(load_scenario(scenario))
    async with app.run_test(size=SIZE) as pilot:
        while not (isinstance(app.screen, ScenarioScreen) and app.screen.redraws >= 1):
            await asyncio.sleep(0.001)
        await pilot.pause()
        figures["in_process_first_frame_s"] = time.perf_counter() - t0
        figures["in_process_after_imports_s"] = time.perf_counter() - t1
        if room is not None:  # a presenter in a room of followers
            from gdsim.app.runtime.room_link import RoomLink

            app.join_room(RoomLink(room["socket"], room["token"]))
            while not app.room.joined:
                await asyncio.sleep(0.01)
        screen = app.screen
        session = screen.session
        plots = [p for p in screen.query(CurvePlot) if p.display]
        session.speed_index = SPEEDS.index(0)  # flat out
        session.stop_at = 10**9
        screen.action_toggle_run()  # starts the engine worker, if this machine gets one
        await asyncio.sleep(WARM_UP)  # steady state: the worker has booted and is stepping
        draws0 = [p.draws for p in plots]
        steps0, redraws0, start = session.sim.step_count, screen.redraws, time.perf_counter()
        states0 = app.room.sent_states if room is not None else 0
        await asyncio.sleep(seconds)
        elapsed = time.perf_counter() - start
        figures["steps_per_s"] = (session.sim.step_count - steps0) / elapsed
        figures["run_steps_per_s"] = figures["steps_per_s"] * session.sim.n_runs  # each step moves every run
        figures["engine_worker"] = float(session.worker is not None)
        figures["redraws_per_s"] = (screen.redraws - redraws0) / elapsed
        figures["slowest_plot_redraws_per_s"] = min(p.draws - d for p, d in zip(plots, draws0)) / elapsed
        figures["plots"] = len(plots)
        if room is not None:
            figures["room_states_per_s"] = (app.room.sent_states - states0) / elapsed
        # Key press to screen: "+"/"-" change the speed shown in the status line.
        status = screen.query_one(StatusLine)
        latencies = []
        for i in range(20):
            key, char = ("minus", "-") if i % 2 == 0 else ("plus", "+")
            before = status.text.plain
            sent = time.perf_counter()
            app._driver.send_message(events.Key(key, char))
            while status.text.plain == before:
                await asyncio.sleep(0.0005)
            latencies.append(time.perf_counter() - sent)
            await asyncio.sleep(0.05)
        figures["latency_median_ms"] = statistics.median(latencies) * 1000
        figures["latency_max_ms"] = max(latencies) * 1000
        session.running = False
    return figures


def plotext_reference(width: int = 55, height: int = 12) -> float:
    """Milliseconds for plotext to build one 3-line plot of 2*width points (what textual-plotext runs)."""
    import numpy as np
    import plotext as plot
    xs = list(range(2 * width))
    ys = [list(np.exp(-np.arange(2 * width) / 50) * (i + 1)) for i in range(3)]
    start, n = time.perf_counter(), 20
    for _ in range(n):
        plot.clear_data()
        for y in ys:
            plot.plot(xs, y)
        plot.plotsize(width, height)
        plot.build()
    return (time.perf_counter() - start) / n * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="how long to run flat out")
    parser.add_argument("--starts", type=int, default=5, help="timed starts of each kind in the terminal")
    parser.add_argument("--no-pty", action="store_true", help="skip the starts in a pseudo-terminal")
    parser.add_argument("--scenario", help="a built-in id or a .toml file for the in-process part (default: "
                                           "tests/app/data/three_runs.toml, which has no question or checks)")
    parser.add_argument("--room", type=int, metavar="N", help="be a presenter followed by N stand-in followers")
    args = parser.parse_args()
    scenario = SCENARIO
    if args.scenario:
        from gdsim.scenario.library import resolve

        scenario = resolve(args.scenario)
    if not args.no_pty:
        from first_frame import measure as measure_starts, report

        print(f"gdsim started in a {SIZE[0]}x{SIZE[1]} pseudo-terminal: spawn to the screen's content "
              f"(target <= 1.0 s, warm)")
        for line in report(measure_starts(starts=args.starts, size=SIZE)):
            print(line)
    followers = room = None
    if args.room is not None:
        import json
        import subprocess

        followers = subprocess.Popen([sys.executable, str(ROOT / "benchmarks" / "room_followers.py"), str(args.room)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        room = json.loads(followers.stdout.readline())
    figures = asyncio.run(measure(args.seconds, scenario, room))
    if followers is not None:
        got = json.loads(followers.communicate("", timeout=30)[0].strip().splitlines()[-1])
        figures["room_followers"] = float(args.room)
        figures["room_follows_received"] = float(got["follows"])
        figures["room_follow_bytes_each"] = got["bytes"] / max(1, got["follows"])
    targets = {"in_process_first_frame_s": "(no Python start-up; imports + App.run_test to the first draw)", "steps_per_s": ">= 20000", "run_steps_per_s": "(steps x runs)",
               "engine_worker": "1 = stepping in a second process (GDSIM_ENGINE_WORKER=0 turns it off)", "redraws_per_s": ">= 15",
               "latency_median_ms": "<= 100", "latency_max_ms": "<= 100"}
    print(f"gdsim app benchmark at {SIZE[0]}x{SIZE[1]}, scenario {scenario.name}, flat out")
    for name, value in figures.items():
        print(f"  {name:28} {value:12,.2f}   {targets.get(name, '')}")
    print(f"  {'plotext_one_plot_ms':28} {plotext_reference():12,.2f}   (for comparison; gdsim's canvas draws all plots per redraw)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
