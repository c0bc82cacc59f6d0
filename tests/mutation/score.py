"""The mutation score: how many deliberately broken engines the built-in library's expects catch.

    python -m tests.mutation.score            # each mutant, its killers, and killed/total
    python -m tests.mutation.score --find     # also try every built-in scenario on every mutant
    python -m tests.mutation.score --find NAME [NAME ...]   # only these mutants

A scenario kills a mutant when `verify` of it under the mutant fails an expectation that can be
checked (a failure saying "cannot be checked" or an exception does not count).
"""

from __future__ import annotations

import argparse
import sys
import time

from gdsim.scenario.library import list_entries, resolve
from gdsim.scenario.load import load_scenario
from gdsim.scenario.verify import Verification, verify
from tests.mutation.mutants import MUTANTS, Mutant, applied


def failed_expectations(result: Verification) -> list[str]:
    """The expectations that failed on a measurement (not on "cannot be checked")."""
    return [o.expectation.because for o in result.outcomes
            if not o.passed and not o.measured.startswith("cannot be checked")]


def run_under(mutant: Mutant | None, scenario_id: str) -> Verification:
    loaded = load_scenario(resolve(scenario_id), id=scenario_id, trial_build=False)
    if mutant is None:
        return verify(loaded)
    with applied(mutant):
        return verify(loaded)


def kills(mutant: Mutant, scenario_id: str) -> tuple[bool, str]:
    """(killed, what failed or why not)."""
    try:
        result = run_under(mutant, scenario_id)
    except Exception as exc:  # an error is not a kill: the expects must catch the mutant
        return False, f"error: {type(exc).__name__}: {exc}"
    failed = failed_expectations(result)
    return bool(failed), (failed[0] if failed else "all expectations hold")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--find", nargs="*", metavar="MUTANT", help="try every built-in scenario (on these mutants)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    killed = 0
    for mutant in MUTANTS:
        hits = [s for s in mutant.killers if kills(mutant, s)[0]]
        killed += bool(hits)
        print(f"{'killed ' if hits else 'SURVIVES'}  {mutant.name:<26} {mutant.what}")
        if hits:
            print(f"          by {', '.join(hits)}")
        if args.find is not None and (not args.find or mutant.name in args.find):
            for entry in (e for e in list_entries() if e.builtin):
                hit, detail = kills(mutant, entry.id)
                if hit or detail.startswith("error"):
                    print(f"          {'could be killed by' if hit else 'ERROR in'} {entry.id}: {detail}")
    print(f"mutation score: {killed} of {len(MUTANTS)} mutants killed ({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
