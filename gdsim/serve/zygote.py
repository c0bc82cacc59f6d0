"""Instant starts: a process that has imported Textual, NumPy, pydantic and gdsim once, and forks a
fresh app for every session.

Started afresh, an app spends most of its first second importing; thirty participants connecting
within six seconds made two cores do that thirty times at once. The zygote does it once. For each
session the server sends it, over a Unix socket in the server's private run directory, the
command, the trimmed environment, the limits and the pty (its slave side, as a passed file
descriptor). The zygote forks; the child becomes what gdsim.serve.child makes of a spawned app: the
leader of a new session and process group, with the pty as its controlling terminal and its
stdin/stdout/stderr, the session's environment and nothing else, lowered priority and resource
limits, cwd /. It then runs the command (`python -m MODULE ...` or `python SCRIPT ...`) in itself.
The zygote answers with the child's pid and, when the child ends, its exit status.

The server side (Zygote) falls back to spawning the app as before whenever the zygote cannot
serve a session, and restarts a zygote that died. The zygote exits when the server does (its
stdin, a pipe from the server, reaches end of file).

    python -m gdsim.serve.zygote SOCKET [MODULE...]    # imports MODULEs, prints READY, serves
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import socket
import struct
import sys

# Imported before any session: what the app's first screens need.
PRELOAD = ("numpy", "pydantic", "textual.app", "textual.drivers.linux_driver", "gdsim.cli",
           "gdsim.commands.app_cmd", "gdsim.app.app", "gdsim.app.screens.picker", "gdsim.app.screens.scenario")
MAX_REQUEST = 256 * 1024
HEADER = struct.Struct(">I")


def preload(modules: list[str]) -> None:
    import gc
    import importlib

    gc.disable()  # as gdsim.cli does for the app's start; every child inherits the frozen imports
    for name in modules:
        importlib.import_module(name)
    if "gdsim.app.app" in modules:
        warm_up()
    gc.freeze()
    gc.enable()


def warm_up() -> None:
    """Show the list once, headless, in the zygote: Textual and Rich fill caches on a first screen
    (parsed styles, measured text, colours) that every forked app then finds full. Measured: the
    first list an app shows costs about twice the CPU of the second. Nothing of this app is left
    when it has ended (no thread, no event loop); if it fails, the children simply start cold."""
    import asyncio
    import threading

    async def show_list() -> None:
        from gdsim.app.app import GdsimApp

        app = GdsimApp(None)
        async with app.run_test(size=(120, 40)) as pilot:
            for _ in range(50):
                if type(app.screen).__name__ == "PickerScreen":
                    break
                await pilot.pause()
            await pilot.pause()

    try:
        asyncio.run(show_list())
    except Exception:  # noqa: BLE001 - a cold start is still a start
        pass
    if threading.active_count() != 1:  # forking with other threads alive is unsafe
        raise SystemExit("gdsim zygote: threads left after the warm-up; not serving")


def serve(path: str) -> None:
    """Accept session requests on `path` until stdin closes (the server has gone)."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    sessions: dict[int, socket.socket] = {}  # child pid -> the server's connection for it
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # only to wake the selector
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, "accept")
    selector.register(wake_r, selectors.EVENT_READ, "child")
    selector.register(sys.stdin.fileno(), selectors.EVENT_READ, "server")
    print("READY", flush=True)
    while True:
        for key, _ in selector.select():
            if key.data == "server" and not os.read(sys.stdin.fileno(), 4096):
                return  # the server has gone; the sessions' apps are its to end
            if key.data == "child":
                os.read(wake_r, 4096)
                reap(sessions)
            if key.data == "accept":
                conn, _ = listener.accept()
                pid = start_session(conn, [listener, wake_r, wake_w, selector, *sessions.values()])
                if pid is not None:
                    sessions[pid] = conn
                else:
                    conn.close()
        reap(sessions)


def reap(sessions: dict[int, socket.socket]) -> None:
    """Tell the server the exit status of every child that has ended."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        conn = sessions.pop(pid, None)
        if conn is not None:
            try:
                conn.sendall(json.dumps({"exit": os.waitstatus_to_exitcode(status)}).encode() + b"\n")
            except OSError:
                pass
            conn.close()


def start_session(conn: socket.socket, inherited: list) -> int | None:
    """Read one request (and the pty), fork its app, and answer with the pid; None if refused."""
    conn.settimeout(5)
    fds: list[int] = []
    try:
        creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        if struct.unpack("3i", creds)[1] != os.getuid():
            return None
        data, fds, _, _ = socket.recv_fds(conn, HEADER.size + MAX_REQUEST, 2)
        while len(data) >= HEADER.size and len(data) < HEADER.size + HEADER.unpack_from(data)[0]:
            more = conn.recv(MAX_REQUEST)
            if not more:
                break
            data += more
        request = json.loads(data[HEADER.size:HEADER.size + HEADER.unpack_from(data)[0]])
        if len(fds) not in (1, 2):
            raise ValueError("expected the pty and the error pipe")
    except (OSError, ValueError, struct.error):
        for fd in fds:
            os.close(fd)
        return None
    pty, error_fd = fds[0], (fds[1] if len(fds) == 2 else None)
    pid = os.fork()
    if pid == 0:
        for item in inherited:
            try:
                item.close()
            except (OSError, AttributeError, TypeError):
                os.close(item)
        conn.close()
        become_app(pty, request, error_fd)  # never returns
    for fd in fds:
        os.close(fd)
    try:
        conn.sendall(json.dumps({"pid": pid}).encode() + b"\n")
    except OSError:
        pass
    return pid


def become_app(pty: int, request: dict, error_fd: int | None = None) -> None:
    """In the forked child: what gdsim.serve.child and the app's own start do, then the command
    (gdsim.serve.child.run_to_exit, as a spawned app runs it). `error_fd`: the session's error
    pipe (the server logs what is written to it)."""

    def prepare() -> None:
        signal.set_wakeup_fd(-1)
        # As in a fresh python (which also ignores SIGPIPE and SIGXFSZ, as the zygote does).
        for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.setsid()
        import fcntl
        import termios

        fcntl.ioctl(pty, termios.TIOCSCTTY, 0)
        for fd in (0, 1, 2):
            os.dup2(pty, fd)
        if pty > 2:
            os.close(pty)
        os.chdir("/")
        os.environ.clear()
        os.environ.update(request["env"])
        if error_fd is not None:
            from gdsim.errors import ERROR_FD_ENV

            os.environ[ERROR_FD_ENV] = str(error_fd)
        import importlib

        import textual.constants

        importlib.reload(textual.constants)  # it reads the environment when imported
        limits = request["limits"]
        apply_limits(limits.get("memory"), limits.get("cpu"), limits.get("file_size"), limits.get("nice"))

    from gdsim.serve.child import apply_limits, run_to_exit

    run_to_exit(request["argv"], prepare)


def main(argv: list[str]) -> None:
    if not argv:
        raise SystemExit(__doc__.strip().splitlines()[-1].strip())
    preload(argv[1:] or list(PRELOAD))
    serve(argv[0])


if __name__ == "__main__":
    main(sys.argv[1:])
