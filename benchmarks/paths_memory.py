"""Memory of Simulation.paths (a network's recorded parameter path, for the landscapes) per built-in scenario.

For every built-in scenario that keeps a path: which runs keep one, how many records at most, the bytes
allocated when the scenario is built and at the end of its steps (a run of `steps` >= the record
capacity fills it; the arrays grow as records come). Run it against another checkout to compare:
    flock /tmp/gdsim-bench.lock python benchmarks/paths_memory.py
    flock /tmp/gdsim-bench.lock env PYTHONPATH=/path/to/other/checkout python benchmarks/paths_memory.py /path/to/other/checkout
"""

from __future__ import annotations

import sys
from pathlib import Path

from gdsim.build import build
from gdsim.scenario.load import load_scenario


def main() -> None:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent
    files = sorted((root / "scenarios").glob("*.toml"))
    at_build = at_end = 0
    for path in files:
        loaded = load_scenario(path)
        sim = build(loaded)
        h = sim.paths
        if h is None:
            continue
        per_record = h.steps.itemsize + sum(a[0].nbytes for a in h._data.values())
        built, end = h.nbytes, h.capacity * per_record
        at_build, at_end = at_build + built, at_end + end
        print(f"{path.stem:24s} {len(sim.path_rows):3d}/{sim.n_runs:3d} runs x {h._data['params'].shape[2]:6d} params, "
              f"{h.capacity:3d} records: {built / 1e6:6.2f} MB at build, {end / 1e6:6.2f} MB at step "
              f"{loaded.scenario.scenario.steps}")
    print(f"total over {len(files)} scenarios: {at_build / 1e6:.2f} MB at build, {at_end / 1e6:.2f} MB at their ends")


if __name__ == "__main__":
    main()
