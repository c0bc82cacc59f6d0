"""What judging run states at every record costs the engine (gdsim.engine.state_events).

The app has the engine judge the runs it shows alone at every history record as it steps, so `[`
and `]` find every state at the step it was entered. This steps a scenario as the app's engine
worker does (25 ms slices, a snapshot delta after each), with and without the tracker, alternating
and best of `--repeats`, and prints the time to the first 4,096 steps (every step a record: the
costly part) and the steps/s from 1.5 s to 1.5 s + `--seconds` (what bench_app measures).

    python benchmarks/bench_states.py [--seconds 5] [--repeats 2] [SCENARIO]
"""

from __future__ import annotations

import argparse
import pickle
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SCENARIO = ROOT / "tests" / "app" / "data" / "three_runs.toml"
WARM_UP = 1.5
SLICE = 0.025


def once(path: Path, tracked: bool, seconds: float) -> tuple[float, float]:
    from gdsim.build import build
    from gdsim.scenario.load import load_scenario

    sim = build(load_scenario(path))
    if tracked:
        sim.track_states(range(min(sim.n_runs, 8)))
    sent = sim.snapshot(None)["mark"]
    cost, start, first, mark = 2e-4, time.perf_counter(), None, None
    while True:
        now = time.perf_counter() - start
        if mark is None and now >= WARM_UP:
            mark = (now, sim.step_count)
        if now >= WARM_UP + seconds:
            break
        _, cost = sim.step_for(SLICE, 10**9, cost)
        snapshot = sim.snapshot(sent)
        sent = snapshot["mark"]
        pickle.dumps(snapshot)  # what the worker sends the app
        if first is None and sim.step_count >= 4096:
            first = time.perf_counter() - start
    return first or float("nan"), (sim.step_count - mark[1]) / (now - mark[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", default=str(SCENARIO))
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    best: dict[bool, tuple[float, float]] = {}
    for _ in range(args.repeats):
        for tracked in (False, True):
            first, rate = once(Path(args.scenario), tracked, args.seconds)
            old = best.get(tracked, (float("inf"), 0.0))
            best[tracked] = (min(old[0], first), max(old[1], rate))
    print(f"run states judged at every record, {Path(args.scenario).name}, best of {args.repeats}")
    for tracked, (first, rate) in best.items():
        name = "tracked  " if tracked else "untracked"
        print(f"  {name} first 4,096 steps {first:6.3f} s   steps/s from {WARM_UP} s {rate:>10,.0f}")


if __name__ == "__main__":
    main()
