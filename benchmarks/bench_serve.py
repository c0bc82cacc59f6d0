"""Workshop-mode load: N concurrent SSH sessions on loopback, each driving its own gdsim.

    python benchmarks/bench_serve.py                   # 30 sessions of the real app, ~20 s of load
    python benchmarks/bench_serve.py --sessions 10 --duration 10
    python benchmarks/bench_serve.py --standin raw     # the server's own overhead (a tiny echo program)
    python benchmarks/bench_serve.py --standin textual # server + Textual (a minimal Textual app), no engine
    python benchmarks/bench_serve.py --startup-only    # time to first screen only: 30 connecting 0.2 s apart
    python benchmarks/bench_serve.py --startup-only --sessions 1 --repeat 5   # one participant's time to the list
    python benchmarks/bench_serve.py --startup-only --no-zygote   # the same, every app started afresh
    python benchmarks/bench_serve.py --room            # a presenter runs a scenario, 30 participants follow
                                                       # (benchmarks/serve_room.py says what is measured)

The server runs in its own process (`gdsim.serve.ssh`, key auth, loopback only); the clients are
asyncssh sessions in this process, started a little apart. Each session waits for the scenario
picker ("Pick a scenario"), opens the selected scenario (enter), then loops until the end of the
measurement window (which opens once every session is up): run (space) for --run-seconds so the
engine is stepping, pause (space), then --probes times: think for about --think seconds, wait until
the screen is quiet, and press the step key ("."). Keypress-to-screen latency
is the time from sending a probe key to the first screen bytes that follow it; a probe is sent
only after --quiet-ms without output, so those bytes are the key's effect. At any moment most
sessions are running their scenario, which is the load the probes are measured under.

This machine runs the server, every app AND every client's decryption; at a real workshop the
clients are the participants' own laptops, so these figures are pessimistic.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import signal
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

import asyncssh

ROOT = Path(__file__).resolve().parents[1]
PROBE_TIMEOUT = 5.0  # seconds; a probe with no answer by then counts as this slow
STANDINS = {
    "raw": ROOT / "tests" / "serve" / "standin.py",
    "textual": ROOT / "tests" / "serve" / "textual_standin.py",
}
ESCAPES = re.compile(rb"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()*+].|\x1b[0-9=>@-Z\\-_]")

SERVER = """
import sys
from pathlib import Path
from gdsim.serve.ssh import SSHServerConfig, run_ssh_server
config = SSHServerConfig(
    host="127.0.0.1", port=int(sys.argv[1]), host_key=Path(sys.argv[2]), authorized_keys=Path(sys.argv[3]),
    max_sessions=int(sys.argv[4]), idle_timeout=None, command=eval(sys.argv[5]) or None,
    scenario=sys.argv[6] or None, **({"zygote": sys.argv[7] == "zygote"} if len(sys.argv) > 7 else {}),
)
sys.exit(run_ssh_server(config))
"""


class Screen(asyncssh.SSHClientSession):
    """Records output and when the last of it arrived."""

    def __init__(self) -> None:
        self.output = bytearray()
        self.last_output = time.monotonic()
        self.arrived = asyncio.Event()
        self.closed = False

    def data_received(self, data: bytes, datatype) -> None:
        self.last_output = time.monotonic()
        self.output += data
        if len(self.output) > 1_000_000:  # keep the tail only: the text we look for is recent
            del self.output[:-200_000]
        self.arrived.set()

    def connection_lost(self, exc) -> None:
        self.closed = True
        self.arrived.set()

    async def wait_text(self, text: bytes, timeout: float) -> bool:
        """Wait until `text` is on screen (escapes removed); b"" waits for any output at all."""
        deadline = time.monotonic() + timeout
        while not self.output or text not in ESCAPES.sub(b"", bytes(self.output[-200_000:])):
            if self.closed or time.monotonic() > deadline:
                return False
            self.arrived.clear()
            try:
                await asyncio.wait_for(self.arrived.wait(), max(0.01, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                return False
        return True

    async def wait_quiet(self, quiet: float, max_wait: float) -> bool:
        """Wait until no output has come for `quiet` seconds; False if that takes over max_wait."""
        give_up = time.monotonic() + max_wait
        while True:
            remaining = self.last_output + quiet - time.monotonic()
            if remaining <= 0:
                return True
            if time.monotonic() + remaining > give_up or self.closed:
                return False
            await asyncio.sleep(remaining)

    async def first_output_after(self, sent: float, timeout: float) -> float | None:
        self.arrived.clear()
        try:
            await asyncio.wait_for(self.arrived.wait(), timeout)
        except asyncio.TimeoutError:
            return None
        return self.last_output - sent


class Window:
    """The measurement window opens once every session shows its first screen (start-up storms
    are reported separately, not mixed into keypress latency) and lasts warmup + duration."""

    def __init__(self, sessions: int, warmup: float, duration: float) -> None:
        self.waiting = sessions
        self.warmup, self.duration = warmup, duration
        self.opened = asyncio.Event()
        self.measure_from = self.stop_at = float("inf")

    def arrive(self) -> None:
        self.waiting -= 1
        if self.waiting <= 0 and not self.opened.is_set():
            now = time.monotonic()
            self.measure_from, self.stop_at = now + self.warmup, now + self.warmup + self.duration
            self.opened.set()


class Results:
    def __init__(self) -> None:
        self.latency: list[float] = []
        self.first_frame: list[float] = []
        self.failed: list[str] = []
        self.noisy = 0
        self.timeouts = 0
        self.app_cpu: float | None = None


async def participant(index: int, port: int, key, opts, results: Results, window: Window) -> None:
    arrived = False
    rng = random.Random(index)
    try:
        async with asyncssh.connect("127.0.0.1", port, username=f"p{index}", client_keys=[key],
                                    known_hosts=None, encoding=None, agent_path=None) as conn:
            started = time.monotonic()
            chan, screen = await conn.create_session(
                Screen, term_type="xterm-256color", term_size=(opts.cols, opts.rows)
            )
            if opts.ready_text:
                shown = await screen.wait_text(opts.ready_text.encode(), timeout=90)
            else:  # a scenario opened directly: its first screen is done when the output pauses
                shown = await screen.wait_text(b"", timeout=90) and await screen.wait_quiet(0.3, 90)
                shown = shown and bool(screen.output)
            if not shown:
                tail = ESCAPES.sub(b"", bytes(screen.output[-3000:])).decode(errors="replace")[-300:]
                state = "closed" if screen.closed else "open"
                results.failed.append(f"session {index}: never showed {opts.ready_text or 'a screen'!r} "
                                      f"(session {state}, exit status {chan.get_exit_status()}); last text: {tail!r}")
                return
            results.first_frame.append(time.monotonic() - started)
            if opts.startup_only:
                chan.close()
                return
            if opts.open_key:
                chan.write(opts.open_key.encode())
                await screen.wait_quiet(0.5, 30)
            window.arrive()
            arrived = True
            await window.opened.wait()
            while time.monotonic() < window.stop_at and not screen.closed:
                if opts.run_key and opts.run_seconds > 0:
                    chan.write(opts.run_key.encode())  # run: the engine steps
                    await asyncio.sleep(opts.run_seconds)
                    chan.write(opts.run_key.encode())  # pause
                for _ in range(opts.probes):
                    # a participant reads the screen before the next key (jittered, so keys do not align)
                    await asyncio.sleep(opts.think * rng.uniform(0.5, 1.5))
                    if not await screen.wait_quiet(opts.quiet_ms / 1000, 3.0):
                        results.noisy += 1
                        break
                    sent = time.monotonic()
                    chan.write(opts.probe_key.encode())
                    latency = await screen.first_output_after(sent, timeout=PROBE_TIMEOUT)
                    if sent < window.measure_from:
                        continue
                    if latency is None:  # counted at the timeout, so percentiles are not flattered
                        results.timeouts += 1
                    results.latency.append(PROBE_TIMEOUT if latency is None else latency)
            chan.close()
    except (OSError, asyncssh.Error) as exc:
        results.failed.append(f"session {index}: {exc}")
    finally:
        if not arrived:
            window.arrive()


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu(root: int) -> float:
    """CPU seconds used so far by every living descendant of `root` (the served apps)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    total, todo = 0.0, list(children.get(root, []))
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        try:
            total += process_cpu(pid)
        except (OSError, IndexError, ValueError):
            pass
    return total


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def measure_window_cpu(server_pid: int, window: Window) -> float:
    """CPU seconds per second the apps used during the measurement window (the load the probes met)."""
    await window.opened.wait()
    await asyncio.sleep(max(0.0, window.measure_from - time.monotonic()))
    before, start = tree_cpu(server_pid), time.monotonic()
    await asyncio.sleep(max(0.0, window.stop_at - time.monotonic() - 0.5))
    return (tree_cpu(server_pid) - before) / max(1e-9, time.monotonic() - start)


async def start_server(script: str, *args: str) -> asyncio.subprocess.Process:
    """`python -c script args...`: a gdsim server from this source tree (its stdout: the banner)."""
    return await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        env=dict(os.environ, PYTHONPATH=str(ROOT)), cwd=ROOT,
    )


async def listening(server: asyncio.subprocess.Process, timeout: float) -> bool:
    """Whether the server said it listens within `timeout` seconds (if not, says what it said)."""
    try:
        banner = await asyncio.wait_for(server.stdout.readline(), timeout)
    except asyncio.TimeoutError:
        banner = b"(nothing within %d s)" % timeout
    if b"listening" not in banner:
        print("the server did not start:", banner.decode(errors="replace"), file=sys.stderr)
        return False
    return True


async def main(opts) -> int:
    tmp = Path(tempfile.mkdtemp(prefix="gdsim-bench-serve-"))
    key = asyncssh.generate_private_key("ssh-ed25519")
    (tmp / "authorized_keys").write_bytes(key.export_public_key())
    command = [sys.executable, str(STANDINS[opts.standin])] if opts.standin else None
    port = free_port()
    server = await start_server(
        SERVER, str(port), str(tmp / "host_key"), str(tmp / "authorized_keys"),
        str(opts.sessions), repr(command), opts.scenario or "", *(["spawn"] if opts.no_zygote else []))
    results = Results()
    try:
        if not await listening(server, 30):
            return 1
        load_before = os.getloadavg()[0]
        server_cpu, client_cpu = process_cpu(server.pid), time.process_time()
        begin = time.monotonic()
        window = Window(opts.sessions, opts.warmup, opts.duration)
        tasks = []
        for i in range(opts.sessions):
            tasks.append(asyncio.create_task(participant(i, port, key, opts, results, window)))
            await asyncio.sleep(opts.stagger)
        # bounded: every session shows its first screen within 90 s or gives up
        window_cpu = asyncio.create_task(measure_window_cpu(server.pid, window))
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=120 + opts.warmup + opts.duration + 30)
        if opts.startup_only:
            window_cpu.cancel()
        else:
            results.app_cpu = await window_cpu
        elapsed = time.monotonic() - begin
        cpu = (process_cpu(server.pid) - server_cpu, time.process_time() - client_cpu)
    finally:
        if server.returncode is None:
            server.send_signal(signal.SIGTERM)
            await asyncio.wait_for(server.wait(), 20)
    report(opts, results, elapsed, load_before, cpu)
    return 0 if (results.latency or opts.startup_only) and not results.failed else 1


def report(opts, results: Results, elapsed: float, load_before: float, cpu: tuple[float, float]) -> None:
    what = f"{opts.standin} stand-in, no engine" if opts.standin else "gdsim app"
    pace = f"run {opts.run_seconds:g} s then {opts.probes} steps ~{opts.think:g} s apart" if opts.run_seconds and opts.run_key else (
        f"steps ~{opts.think:g} s apart, no running")
    print(f"bench_serve: {opts.sessions} concurrent SSH sessions ({what}), {opts.cols}x{opts.rows}, "
          f"{elapsed:.0f} s, {os.cpu_count()} CPUs, load average {load_before:.1f} -> {os.getloadavg()[0]:.1f}")
    start = "every app started afresh" if opts.no_zygote else "apps forked from the zygote (if the server has one)"
    if opts.startup_only:
        print(f"  startup only: {opts.sessions} connecting {opts.stagger:g} s apart, {start}")
    else:
        print(f"  each session: {pace}; latency measured over {opts.duration:g} s after all were up; {start}")
    if not opts.standin:
        from gdsim.serve.cpu_share import share_for, usable_cores

        print(f"  served CPU share while a scenario runs: {share_for(opts.sessions, usable_cores()):.3f} of a core "
              f"per session (gdsim/serve/cpu_share.py): all a running app does counts, key presses are never held back")
    if results.first_frame:
        ff = results.first_frame
        print(f"  time to first screen   p50 {statistics.median(ff) * 1000:7.0f} ms   "
              f"p95 {percentile(ff, 95) * 1000:7.0f} ms   max {max(ff) * 1000:7.0f} ms   (n={len(ff)})")
        print(f"  target first-screen p95 <= 1.5 s: {'meets' if percentile(ff, 95) <= 1.5 else 'MISSES'}")
    if results.latency:
        lat = results.latency
        print(f"  keypress-to-screen     p50 {statistics.median(lat) * 1000:7.1f} ms   "
              f"p95 {percentile(lat, 95) * 1000:7.1f} ms   max {max(lat) * 1000:7.1f} ms   (n={len(lat)} "
              f"'{opts.probe_key}' presses)")
        verdict = "meets" if percentile(lat, 95) <= 0.250 else "MISSES"
        print(f"  target p95 <= 250 ms: {verdict}")
    print(f"  CPU used: SSH server {cpu[0]:.1f} s, the {opts.sessions} clients (this process) {cpu[1]:.1f} s; "
          f"the rest of {elapsed * (os.cpu_count() or 1):.0f} CPU-seconds went to the apps and other programs")
    if results.app_cpu is not None:
        print(f"  during the window the apps used {results.app_cpu:.2f} cores "
              f"({results.app_cpu / max(1, opts.sessions):.3f} per session)")
    print(f"  probes without an answer in {PROBE_TIMEOUT:g} s (counted as {PROBE_TIMEOUT:g} s): {results.timeouts}; screens never quiet: {results.noisy}")
    for failure in results.failed[:10]:
        print(f"  FAILED {failure}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of measurement")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds after the last connect")
    parser.add_argument("--stagger", type=float, default=0.2, help="seconds between connects")
    parser.add_argument("--size", default="120x40", help="terminal size COLSxROWS")
    parser.add_argument("--scenario", help="open this scenario id directly (the picker is skipped)")
    parser.add_argument("--run-seconds", type=float, default=2.0,
                        help="seconds each session runs its scenario between probes (0: step only)")
    parser.add_argument("--probes", type=int, default=5, help="step presses per pause")
    parser.add_argument("--quiet-ms", type=float, default=150.0)
    parser.add_argument("--think", type=float, default=1.0,
                        help="mean seconds a participant waits between step presses (0: as fast as possible)")
    parser.add_argument("--startup-only", action="store_true",
                        help="measure the time to the first screen only (each session then disconnects)")
    parser.add_argument("--repeat", type=int, default=1, help="run the whole measurement this many times")
    parser.add_argument("--no-zygote", action="store_true",
                        help="start every app afresh (python -m gdsim), not forked from the pre-imported zygote")
    parser.add_argument("--room", action="store_true",
                        help="a presenter runs --room-scenario and --sessions participants follow it (serve_room.py)")
    parser.add_argument("--room-scenario", default="momentum-overshoot", help="the scenario the presenter runs")
    parser.add_argument("--think-participant", type=float, default=2.0,
                        help="--room: mean seconds between a follower's ctrl+r presses while the presenter runs")
    parser.add_argument("--standin", choices=sorted(STANDINS),
                        help="serve a stand-in from tests/serve/ instead of the app: 'raw' measures the "
                        "server alone, 'textual' the server plus Textual")
    opts = parser.parse_args(argv)
    opts.cols, opts.rows = (int(x) for x in opts.size.lower().split("x"))
    opts.ready_text, opts.open_key, opts.run_key, opts.probe_key = "Pick a scenario", "\r", " ", "."
    if opts.scenario:
        opts.ready_text, opts.open_key = "", ""  # wait for any output, no picker
    if opts.standin == "raw":
        opts.ready_text, opts.open_key, opts.run_key = "READY", "", ""
    elif opts.standin == "textual":
        opts.open_key, opts.run_key = "", ""
    return opts


def repeat(opts) -> int:
    status = 0
    for _ in range(opts.repeat):
        if opts.room:
            from serve_room import room_main

            status |= asyncio.run(room_main(opts))
        else:
            status |= asyncio.run(main(opts))
    return status


if __name__ == "__main__":
    sys.exit(repeat(parse_args()))
