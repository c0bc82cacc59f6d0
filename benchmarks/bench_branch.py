"""Benchmark: a branch late in a network run, and the Data tab at a rewound step, with and without
engine checkpoints (gdsim.engine.checkpoints), in one run on one machine.

For each scenario: a Session stepped to the end of the scenario (digits: 600 steps of the 64-128-64-10
network; overfitting: 500 full-batch steps of the moons 2-32-32-1 network), rewound to 90% of it,
then `m` (momentum) on the first run: a branch A′ @k. Before: the branch is stepped again from step 0
(the Session's checkpoints dropped first, which is exactly the old replay). After: from the latest
checkpoint before k. Both sides must give the same bits (checked here). Printed: the replay
(gdsim.app.runtime.replay: what checkpoints change) and the whole key (the tweak, the replay and
the rest of Session.rebuild, which both sides share). Then the Data tab's model
at the rewound step (Simulation.cohort_at: the run stepped again from the checkpoint before it;
before this there was none: the tab showed the live network).

Usage (run it alone; on the shared machine under the lock):
    flock /tmp/gdsim-bench.lock python benchmarks/bench_branch.py [--rounds 3] [--scenarios digits overfitting]

Each figure is the best of the rounds; the two sides alternate within a round, so a busy machine
disturbs both alike.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as gdsim's command line sets it

import numpy as np  # noqa: E402

from gdsim.app import tweaks  # noqa: E402
from gdsim.app.runtime import replay as replay_module  # noqa: E402
from gdsim.app.runtime.data_views import selected_model  # noqa: E402
from gdsim.app.runtime.session import Session  # noqa: E402
from gdsim.scenario.library import resolve  # noqa: E402
from gdsim.scenario.load import load_scenario  # noqa: E402


def stepped(name: str, checkpoints: bool) -> Session:
    session = Session(load_scenario(resolve(name)))
    if not checkpoints:
        session.sim.checkpoints = None
    steps = session.loaded.scenario.scenario.steps
    while session.sim.step_count < steps:
        session.sim.step(min(500, steps - session.sim.step_count))
    return session


def branch(session: Session, at: int) -> tuple[float, float]:
    """(seconds of the whole key: the tweak and Session.rebuild, seconds of the replay within it)."""
    session.scrub_to(at)
    spent = []
    original = replay_module.replay

    def timed(*args, **kwargs):
        t = time.perf_counter()
        out = original(*args, **kwargs)
        spent.append(time.perf_counter() - t)
        return out
    replay_module.replay = timed
    try:
        t0 = time.perf_counter()
        result = tweaks.momentum(session, 1)
        session.rebuild(result.loaded, result.replay, result.select_entry)
        whole = time.perf_counter() - t0
    finally:
        replay_module.replay = original
    return whole, spent[0]


def bits(session: Session) -> list[bytes]:
    return [c.params.tobytes() + b"".join(f.tobytes() for f in c.state if isinstance(f, np.ndarray))
            for c in session.sim.cohorts]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scenarios", nargs="+", default=["digits", "overfitting"])
    args = parser.parse_args()
    for name in args.scenarios:
        before, after, tab = [], [], []
        for _ in range(args.rounds):
            old = stepped(name, checkpoints=False)
            new = stepped(name, checkpoints=True)
            at = int(0.9 * old.sim.step_count)
            before.append(branch(old, at))
            after.append(branch(new, at))
            assert bits(old) == bits(new), f"{name}: the two branches differ"
            kept = new.sim.checkpoints
            new.scrub_to(at - 7)
            t0 = time.perf_counter()
            model = selected_model(new)
            tab.append(time.perf_counter() - t0)
            assert model.name.endswith(f", step {at - 7:,}"), model.name
        n = new.sim.step_count
        print(f"{name}: branch at step {at:,} of {n:,} ({new.sim.n_runs} runs after it), best of {args.rounds}")
        b_whole, b_replay = min(w for w, _ in before), min(r for _, r in before)
        a_whole, a_replay = min(w for w, _ in after), min(r for _, r in after)
        print(f"  replay, stepped again from 0 (before):        {b_replay:7.3f} s   (the whole key {b_whole:.3f} s)")
        print(f"  replay, from the checkpoint before (after):  {a_replay:7.3f} s   (the whole key {a_whole:.3f} s); "
              f"replay {b_replay / a_replay:.1f}x faster, same bits")
        print(f"  Data tab at step {at - 7:,} (rewound model):  {min(tab):7.3f} s   (before: the live network was shown)")
        print(f"  checkpoints kept: {len(kept.steps)} every {kept.every} steps, {kept.nbytes / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
