"""`bench_serve.py --room`: a presenter runs a scenario and N participants follow it (issue #17).

    python benchmarks/bench_serve.py --room                  # a presenter + 30 followers, ~20 s of load
    python benchmarks/bench_serve.py --room --sessions 10 --duration 10

The server runs in its own process with a presenter key (--presenter-keys) and the participants'
key; every client is an asyncssh session in this process. The presenter connects first and opens
--room-scenario; the participants connect --stagger seconds apart and, following from the moment
they join, open the presenter's scenario themselves: "time to the presenter's scenario" is from
connecting until a participant's screen shows its status line. Then, for --duration seconds, the
presenter repeats what bench_serve's participants do: run (space) for --run-seconds, pause, and
press the step key (".") --probes times about --think seconds apart, each after every screen
is quiet for --quiet-ms. All three figures are read from what the screens show, so that a
screen's other output (animation, a notice, the room panel) is never taken for the answer:
- the presenter's key-to-screen: from a step key to the presenter's next screen bytes (it is
  paused and quiet when the key is sent);
- the followers' screens: from that key until each follower's status line shows the presenter's
  new step (the step travels through the room to every app, each of which computes and draws it);
- the participants' own key-to-screen: each follower presses ctrl+r (its room panel) about every
  --think-participant seconds, and the time until its screen shows the panel ("you are NAME") is
  measured; reported apart for presses while the presenter's scenario runs (every follower's
  scenario runs too: the load the issue asks about) and while it is paused. Only the presses that
  open the panel are timed; the next press closes it.
It also prints where the CPU went in the window: the whole machine (/proc/stat), the apps, this
process's SSH clients, the SSH server and other programs; the presenter's app and each follower's
CPU (cores) and time runnable but waiting for a CPU (/proc/PID/schedstat), beside their shares. On
a machine other programs keep busy, compare runs only with that split in view.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

import asyncssh

from bench_serve import (
    ESCAPES, PROBE_TIMEOUT, Screen, free_port, listening, percentile, process_cpu, start_server, tree_cpu,
)
from gdsim.serve.cpu_share import shares_for, usable_cores

SERVER = """
import sys
from pathlib import Path
from gdsim.serve.ssh import SSHServerConfig, run_ssh_server
config = SSHServerConfig(
    host="127.0.0.1", port=int(sys.argv[1]), host_key=Path(sys.argv[2]), authorized_keys=Path(sys.argv[3]),
    presenter_keys=Path(sys.argv[4]), max_sessions=int(sys.argv[5]), idle_timeout=None,
    zygote=sys.argv[6] == "zygote",
)
sys.exit(run_ssh_server(config))
"""
STATUS = rb"step \d+ / \d+"  # the scenario screen's status line


class RoomScreen(Screen):
    """A Screen that counts every byte received (Screen keeps only the tail of a long output) and
    wakes each waiter on every chunk."""

    def __init__(self) -> None:
        super().__init__()
        self.received = 0
        self.waiters: set[asyncio.Event] = set()

    def data_received(self, data: bytes, datatype) -> None:
        self.received += len(data)
        super().data_received(data, datatype)
        for waiter in self.waiters:
            waiter.set()

    def since(self, mark: int) -> bytes:
        """The output received after `mark` (a value of `received`), escapes removed."""
        new = self.received - mark
        return ESCAPES.sub(b"", bytes(self.output[-new:])) if new > 0 else b""

    async def watch(self, mark: int, pattern: bytes, timeout: float) -> re.Match | None:
        """Wait until `pattern` is in the output received after `mark`; its match (the arrival
        time of the chunk that completed it is then `self.last_output`), or None."""
        regex, woken = re.compile(pattern), asyncio.Event()
        deadline = time.monotonic() + timeout
        self.waiters.add(woken)
        try:
            while True:
                matches = list(regex.finditer(self.since(mark)))
                if matches:
                    return matches[-1]
                if self.closed or time.monotonic() > deadline:
                    return None
                woken.clear()
                try:
                    await asyncio.wait_for(woken.wait(), max(0.01, deadline - time.monotonic()))
                except asyncio.TimeoutError:
                    return None
        finally:
            self.waiters.discard(woken)


class Room:
    def __init__(self) -> None:
        self.first_screen: list[float] = []
        self.presenter: list[float] = []
        self.followers: list[float] = []
        self.own_running: list[float] = []  # participants' own keys while the presenter's scenario runs
        self.own_paused: list[float] = []  # ... and while it is paused
        self.failed: list[str] = []
        self.timeouts = 0
        self.noisy = 0
        self.running = asyncio.Event()  # the presenter's scenario is running
        self.done = asyncio.Event()  # the presenter has finished: participants may leave
        self.stop_at = float("inf")
        self.app_cpu: float | None = None
        self.busy: list[float] = []  # cores busy in the window: the whole machine, this client, the SSH server
        self.per_app: list[tuple[float, float]] = []  # each app's (cores used, runnable but waiting) in the window, the presenter's first


def machine_busy() -> float:
    """CPU seconds all cores have spent busy (not idle, not waiting for I/O) since boot, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def app_cpus(server: int) -> dict[tuple[int, int], tuple[float, float]]:
    """(CPU seconds, seconds waiting for a CPU) so far of each served app (the server's descendants but the zygote, which
    only forks), keyed by (start time, pid): the presenter's app is the first to start."""
    stats: dict[int, list[str]] = {}
    zygotes: set[int] = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == server and b"gdsim.serve.zygote" in (entry / "cmdline").read_bytes():
                    zygotes.add(int(entry.name))
                stats[int(entry.name)] = fields
            except (OSError, IndexError, ValueError):
                pass

    def below(pid: int) -> bool:
        while pid in stats:
            pid = int(stats[pid][1])
            if pid == server:
                return True
        return False

    found = {}
    for pid, fields in stats.items():
        if pid not in zygotes and below(pid):
            try:  # nanoseconds on a CPU, nanoseconds runnable but waiting for one
                ran, waited = (int(x) / 1e9 for x in Path(f"/proc/{pid}/schedstat").read_text().split()[:2])
            except (OSError, ValueError):
                continue
            found[(int(fields[19]), pid)] = (ran, waited)
    return found


async def timed(screen: RoomScreen, mark: int, pattern: bytes, sent: float, into: list[float], room: Room) -> None:
    """Record how long after `sent` the pattern showed on `screen` (PROBE_TIMEOUT if it did not)."""
    shown = await screen.watch(mark, pattern, PROBE_TIMEOUT)
    if shown is None:
        room.timeouts += 1
    into.append(PROBE_TIMEOUT if shown is None else screen.last_output - sent)


async def session(port: int, key, user: str, opts) -> tuple[asyncssh.SSHClientConnection, object, RoomScreen]:
    conn = await asyncssh.connect("127.0.0.1", port, username=user, client_keys=[key], known_hosts=None,
                                  encoding=None, agent_path=None)
    chan, screen = await conn.create_session(RoomScreen, term_type="xterm-256color", term_size=(opts.cols, opts.rows))
    return conn, chan, screen


async def participant(index: int, port: int, key, opts, room: Room, up: list) -> None:
    rng = random.Random(index)
    try:
        started = time.monotonic()
        conn, chan, screen = await session(port, key, f"p{index}", opts)
        async with conn:
            if await screen.watch(0, STATUS, 90) is None:
                tail = ESCAPES.sub(b"", bytes(screen.output[-3000:])).decode(errors="replace")[-300:]
                room.failed.append(f"p{index}: never showed the presenter's scenario; last text: {tail!r}")
                return
            room.first_screen.append(time.monotonic() - started)
            up.append(screen)
            panel_open = False
            while room.stop_at == float("inf"):  # the window opens once everyone is up
                await asyncio.sleep(0.1)
            while time.monotonic() < room.stop_at and not screen.closed:
                await asyncio.sleep(opts.think_participant * rng.uniform(0.5, 1.5))
                if time.monotonic() >= room.stop_at:
                    break
                mark, sent, running = screen.received, time.monotonic(), room.running.is_set()
                chan.write(b"\x12")  # ctrl+r: the room panel
                if panel_open:  # closing it is not timed (text that goes cannot be seen going)
                    panel_open = False
                    continue
                await timed(screen, mark, f"you are p{index}".encode(), sent,
                            room.own_running if running else room.own_paused, room)
                panel_open = True
            if panel_open:
                chan.write(b"\x12")
            await room.done.wait()  # connected until the presenter's last probe has been answered
    except (OSError, asyncssh.Error) as exc:
        room.failed.append(f"p{index}: {exc}")


async def presenter(port: int, key, opts, room: Room, followers: list[RoomScreen], ready: asyncio.Event) -> None:
    try:
        conn, chan, screen = await session(port, key, "presenter", opts)
    except (OSError, asyncssh.Error) as exc:
        room.failed.append(f"presenter: {exc}")
        ready.set()
        room.done.set()
        return
    async with conn:
        try:
            await lead(chan, screen, opts, room, followers, ready)
        finally:
            ready.set()
            room.done.set()


async def lead(chan, screen: RoomScreen, opts, room: Room, followers: list[RoomScreen], ready: asyncio.Event) -> None:
    if not await screen.wait_text(b"Pick a scenario", 90):
        room.failed.append("the presenter never saw the list")
        return
    chan.write(opts.room_scenario.encode())  # typed into the list's filter
    await screen.wait_quiet(0.3, 10)
    chan.write(b"\r")
    if await screen.watch(0, STATUS, 60) is None:
        room.failed.append(f"the presenter could not open {opts.room_scenario}")
        return
    await screen.wait_quiet(0.5, 30)
    ready.set()
    while room.stop_at == float("inf"):
        await asyncio.sleep(0.1)
    rng = random.Random(-1)
    while time.monotonic() < room.stop_at:
        chan.write(b" ")  # run
        room.running.set()
        await asyncio.sleep(opts.run_seconds)
        room.running.clear()
        chan.write(b" ")  # pause
        for _ in range(opts.probes):
            await asyncio.sleep(opts.think * rng.uniform(0.5, 1.5))
            if time.monotonic() >= room.stop_at:
                break
            if not await screen.wait_quiet(opts.quiet_ms / 1000, 3.0):
                room.noisy += 1
            marks = [(follower, follower.received) for follower in followers]
            mark, sent = screen.received, time.monotonic()
            chan.write(b".")
            own = await screen.first_output_after(sent, PROBE_TIMEOUT)
            room.presenter.append(PROBE_TIMEOUT if own is None else own)
            room.timeouts += own is None
            # The step the presenter now shows; each follower's time is until it shows it too.
            step = await screen.watch(mark, rb"paused\s+step (\d+) / \d+", PROBE_TIMEOUT)
            if step is None:
                room.failed.append("the presenter's step was not seen after a step key")
                continue
            target = b"step " + step.group(1) + b" / "
            await asyncio.gather(*(timed(f, m, re.escape(target), sent, room.followers, room) for f, m in marks))


async def room_main(opts) -> int:
    tmp = Path(tempfile.mkdtemp(prefix="gdsim-bench-room-"))
    lead, everyone = (asyncssh.generate_private_key("ssh-ed25519") for _ in range(2))
    (tmp / "presenter_keys").write_bytes(lead.export_public_key())
    (tmp / "authorized_keys").write_bytes(everyone.export_public_key())
    port = free_port()
    server = await start_server(
        SERVER, str(port), str(tmp / "host_key"), str(tmp / "authorized_keys"),
        str(tmp / "presenter_keys"), str(opts.sessions + 1), "spawn" if opts.no_zygote else "zygote")
    room = Room()
    try:
        if not await listening(server, 60):
            return 1
        load_before, begin = os.getloadavg()[0], time.monotonic()
        server_cpu = process_cpu(server.pid)
        ready, followers = asyncio.Event(), []
        lead_task = asyncio.create_task(presenter(port, lead, opts, room, followers, ready))
        await ready.wait()
        tasks = []
        for i in range(opts.sessions):
            tasks.append(asyncio.create_task(participant(i, port, everyone, opts, room, followers)))
            await asyncio.sleep(opts.stagger)
        deadline = time.monotonic() + 120
        while len(followers) + len(room.failed) < opts.sessions and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        await asyncio.sleep(opts.warmup)
        room.stop_at = time.monotonic() + opts.duration
        cpu_before, window_start = tree_cpu(server.pid), time.monotonic()
        apps_before, busy_before = app_cpus(server.pid), machine_busy()
        mine_before, server_before = time.process_time(), process_cpu(server.pid)
        await asyncio.sleep(opts.duration)
        window = time.monotonic() - window_start
        room.app_cpu = (tree_cpu(server.pid) - cpu_before) / window
        room.busy = [(machine_busy() - busy_before) / window, (time.process_time() - mine_before) / window,
                     (process_cpu(server.pid) - server_before) / window]
        apps_after = app_cpus(server.pid)
        room.per_app = [tuple((a - b) / window for a, b in zip(apps_after[key], apps_before[key]))
                        for key in sorted(apps_after) if key in apps_before]
        await asyncio.wait_for(asyncio.gather(lead_task, *tasks), PROBE_TIMEOUT * (opts.sessions + 5) + 60)
        elapsed, server_cpu = time.monotonic() - begin, process_cpu(server.pid) - server_cpu
    finally:
        if server.returncode is None:
            server.send_signal(signal.SIGTERM)
            await asyncio.wait_for(server.wait(), 20)
    report(opts, room, elapsed, load_before, server_cpu)
    return 0 if room.presenter and room.followers and not room.failed else 1


def line(name: str, values: list[float], target: bool = True) -> str:
    if not values:
        return f"  {name:<42} no measurements"
    p95 = percentile(values, 95)
    verdict = f"{'meets' if p95 <= 0.25 else 'MISSES'} p95 <= 250 ms" if target else "(no target)"
    return (f"  {name:<42} p50 {statistics.median(values) * 1000:7.1f} ms   p95 {p95 * 1000:7.1f} ms   "
            f"max {max(values) * 1000:7.1f} ms   (n={len(values)})  {verdict}")


def report(opts, room: Room, elapsed: float, load_before: float, server_cpu: float) -> None:
    start = "every app started afresh" if opts.no_zygote else "apps forked from the zygote"
    print(f"bench_serve --room: a presenter and {opts.sessions} following participants on {opts.room_scenario}, "
          f"{opts.cols}x{opts.rows}, {elapsed:.0f} s, {os.cpu_count()} CPUs, load average {load_before:.1f} -> "
          f"{os.getloadavg()[0]:.1f}; {start}")
    print(f"  the presenter: run {opts.run_seconds:g} s, then {opts.probes} steps ~{opts.think:g} s apart, for "
          f"{opts.duration:g} s; participants press ctrl+r ~{opts.think_participant:g} s apart")
    if room.first_screen:
        ff = room.first_screen
        print(f"  time to the presenter's scenario (joining {opts.stagger:g} s apart)   p50 {statistics.median(ff) * 1000:.0f} ms"
              f"   p95 {percentile(ff, 95) * 1000:.0f} ms   max {max(ff) * 1000:.0f} ms   (n={len(ff)})")
    print(line("presenter's key-to-screen", room.presenter))
    # Not a key-to-screen: one key makes every follower compute and draw the same step at once.
    print(line("presenter's key to followers' screens", room.followers, target=False))
    print(line("participants' own key, presenter running", room.own_running))
    print(line("participants' own key, presenter paused", room.own_paused))
    if room.app_cpu is not None:
        print(f"  during the window the apps used {room.app_cpu:.2f} cores; the SSH server {server_cpu:.1f} CPU-s in all")
    if room.busy and room.app_cpu is not None:
        machine, client, ssh = room.busy
        print(f"  the machine was busy {machine:.2f} cores in the window: apps {room.app_cpu:.2f}, this benchmark's "
              f"{opts.sessions + 1} SSH clients {client:.2f}, the SSH server {ssh:.2f}, other programs "
              f"{max(0.0, machine - room.app_cpu - client - ssh):.2f}")
    if len(room.per_app) > 1:
        (lead_ran, lead_waited), rest = room.per_app[0], room.per_app[1:]
        print(f"  of which the presenter's app {lead_ran:.3f} cores (and waited for a CPU {lead_waited:.2f} s/s); "
              f"each follower's mean {statistics.mean(r for r, _ in rest):.3f}, max {max(r for r, _ in rest):.3f} "
              f"cores (waited {statistics.mean(w for _, w in rest):.2f} s/s); served shares: presenter "
              "{1:.3f}, participant {0:.3f}".format(*shares_for(opts.sessions, 1, usable_cores())))
    print(f"  probes without an answer in {PROBE_TIMEOUT:g} s (counted as {PROBE_TIMEOUT:g} s): {room.timeouts}; "
          f"presenter's probes sent before its screen was quiet: {room.noisy}")
    for failure in room.failed[:10]:
        print(f"  FAILED {failure}")
