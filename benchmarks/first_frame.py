"""Time to the first frame as a user gets it: `python -m gdsim ...` started in a pseudo-terminal.

Each start is timed from spawning the process to the first moment the terminal output holds the
marker texts of the screen's real content (for a scenario: the plots' axes, the status line at
step 0 and the run table's rows; for the list: its title and the claims), so Python's start,
every import, the build of the scenario and Textual's first paint are all inside the figure.

Bytecode: an installed gdsim has compiled .pyc files for its own modules and for its libraries.
`warm` starts run with PYTHONPYCACHEPREFIX pointing at a directory of this benchmark's own, which
an untimed warm-up start (PYTHONDONTWRITEBYTECODE removed from the child's environment) fills, so
they read bytecode as an installed package does. `cold` starts keep the libraries' bytecode but
delete gdsim's from that directory and set PYTHONDONTWRITEBYTECODE=1: gdsim's sources are compiled
on every start, as in a source checkout of a sandbox that never writes .pyc files.

Each child is stopped with ctrl+q (its normal quit key) and killed if it has not exited within
two seconds.
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CSI = re.compile(rb"\x1b\[[0-9;?<>=$]*[ -/]*[@-~]|\x1b\][^\x07]*\x07")
CTRL_Q = b"\x11"


@dataclass(frozen=True)
class Case:
    name: str
    args: tuple[str, ...]  # after `python -m gdsim`
    markers: tuple[str, ...]  # all must be on screen: text only the finished first frame has


SCENARIO_CASE = Case(
    "gdsim three_runs.toml",
    ("tests/app/data/three_runs.toml",),
    # the lesson, a plot's title and its y-axis at the loss of step 0, the status line, run C's row
    ("run B: momentum", "gradient norm |g|", "12.5│", "step 0 / 300", "adam"),
)
PICKER_CASE = Case("gdsim (the list)", (), ("Pick a scenario", "claim:"))


def visible_text(raw: bytes) -> str:
    """The characters written to the terminal, escape sequences removed (cursor moves join rows,
    which the markers, each on one row, do not mind)."""
    return CSI.sub(b"", raw).decode("utf-8", "replace")


LAST_CPU: list[float] = []  # the child's CPU seconds at its first frame, one per start_once


def child_cpu(pid: int) -> float:
    """CPU seconds (user + system) the process has used so far, from /proc (10 ms steps)."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_once(case: Case, env: dict[str, str], size: tuple[int, int], timeout: float = 30.0) -> float:
    """Seconds from spawn to the first output holding every marker of `case` (the child's CPU
    seconds by then are appended to LAST_CPU: less disturbed by other processes than the clock)."""
    columns, lines = size
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "gdsim", *case.args], stdin=slave, stdout=slave,
                             stderr=slave, env=env, cwd=ROOT, start_new_session=True)
    os.close(slave)
    raw, seen = b"", None
    try:
        while seen is None and time.perf_counter() - started < timeout:
            ready, _, _ = select.select([master], [], [], 0.02)
            if not ready:
                if child.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(master, 1 << 16)
            except OSError:  # the child closed the terminal
                break
            now = time.perf_counter()
            raw += chunk
            text = visible_text(raw)
            if all(marker in text for marker in case.markers):
                seen = now - started
                LAST_CPU.append(child_cpu(child.pid))
    finally:
        _stop(child, master)
    if seen is None:
        Path(tempfile.gettempdir(), "gdsim-first-frame-failed.bin").write_bytes(raw)
        tail = visible_text(raw)[-600:]
        raise RuntimeError(f"{case.name}: no first frame with {case.markers} in {timeout} s; output ends {tail!r}")
    return seen


def _stop(child: subprocess.Popen, master: int) -> None:
    """ctrl+q, as a user quits; kill the child if it is still there two seconds later."""
    try:
        os.write(master, CTRL_Q)
    except OSError:
        pass
    deadline = time.perf_counter() + 2.0
    while child.poll() is None and time.perf_counter() < deadline:
        ready, _, _ = select.select([master], [], [], 0.05)
        if ready:
            try:
                os.read(master, 1 << 16)  # drain, so the child never blocks writing its last frame
            except OSError:
                break
    if child.poll() is None:
        child.kill()
    child.wait()
    os.close(master)


def child_env(cache: Path, write_bytecode: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GDSIM_", "TEXTUAL"))}
    env.update(TERM="xterm-256color", PYTHONPYCACHEPREFIX=str(cache))
    for name in ("COLUMNS", "LINES", "PYTHONDONTWRITEBYTECODE"):
        env.pop(name, None)  # the size comes from the terminal, as for a user
    if not write_bytecode:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def timed(case: Case, env: dict[str, str], size, starts: int) -> tuple[list[float], list[float]]:
    """(seconds to the first frame, CPU seconds by then) of `starts` starts."""
    del LAST_CPU[:]
    times = [start_once(case, env, size) for _ in range(starts)]
    return times, list(LAST_CPU)


def measure(cases=(SCENARIO_CASE, PICKER_CASE), starts: int = 5, size=(120, 40)) -> dict[str, dict[str, tuple]]:
    """{case name: {"warm": (seconds, cpu seconds), "cold": (...)}}: `starts` timed starts of each."""
    results: dict[str, dict[str, tuple]] = {case.name: {} for case in cases}
    with tempfile.TemporaryDirectory(prefix="gdsim-pyc-") as tmp:
        cache = Path(tmp)
        warm_env = child_env(cache, write_bytecode=True)
        for case in cases:
            start_once(case, warm_env, size)  # untimed: writes the .pyc files an install would have
        for case in cases:
            results[case.name]["warm"] = timed(case, warm_env, size, starts)
        # Cold: the libraries keep their bytecode, gdsim's own is gone and is never written.
        shutil.rmtree(cache / str(ROOT / "gdsim").lstrip(os.sep), ignore_errors=True)
        cold_env = child_env(cache, write_bytecode=False)
        for case in cases:
            results[case.name]["cold"] = timed(case, cold_env, size, starts)
    return results


def report(results: dict[str, dict[str, tuple]]) -> list[str]:
    lines = []
    for name, kinds in results.items():
        for kind, (times, cpu) in kinds.items():
            label = "bytecode as installed" if kind == "warm" else "gdsim compiled at each start"
            lines.append(f"  {name:24} {kind}: median {statistics.median(times):.3f} s, "
                         f"max {max(times):.3f} s, min {min(times):.3f} s; CPU median {statistics.median(cpu):.2f} s"
                         f"  ({len(times)} starts; {label})")
    return lines


if __name__ == "__main__":
    for line in report(measure()):
        print(line)
