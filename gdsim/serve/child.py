"""The tiny program that sits between the server and each participant's gdsim: limits, then exec.

It runs as `python -m gdsim.serve.child [--memory B] [--cpu S] [--file-size B] [--nice N] [--ctty] -- CMD...`
in the freshly started session (the server spawns it with start_new_session=True). It applies the
per-session resource limits, takes the pseudo-terminal on stdin as its controlling terminal, and
replaces itself with CMD. Doing this in a separate exec, rather than in a Popen preexec_fn, keeps
the server's forking path free of Python code running between fork and exec while other threads
may hold locks.
"""

from __future__ import annotations

import fcntl
import os
import resource
import sys
import termios

USAGE = "usage: python -m gdsim.serve.child [--memory B] [--cpu S] [--file-size B] [--nice N] [--ctty] -- CMD..."


def apply_limits(memory: int | None, cpu: int | None, file_size: int | None, nice: int | None = None) -> None:
    """Lower this process's limits; every process it starts inherits them."""
    if nice:
        # Below the server's priority: when the participants' apps saturate the CPUs, the server
        # still forwards keystrokes and accepts logins promptly.
        os.nice(nice)
    if memory is not None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    if cpu is not None:
        # The soft limit sends SIGXCPU (fatal by default); the hard one a SIGKILL a little later,
        # in case the program catches SIGXCPU.
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    if file_size is not None:
        # Served mode writes no files; a zero limit makes any attempt fail (EFBIG) instead of
        # filling the presenter's disk. Python ignores SIGXFSZ, so it gets an OSError, not a kill.
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_size, file_size))


def parse(argv: list[str]) -> tuple[dict[str, int | None], bool, list[str]]:
    """Split the wrapper's own options from the command it runs."""
    if "--" not in argv:
        raise SystemExit(USAGE)
    split = argv.index("--")
    own, command = argv[:split], argv[split + 1 :]
    if not command:
        raise SystemExit(USAGE)
    limits: dict[str, int | None] = {"memory": None, "cpu": None, "file_size": None, "nice": None}
    names = {"--memory": "memory", "--cpu": "cpu", "--file-size": "file_size", "--nice": "nice"}
    ctty = False
    i = 0
    while i < len(own):
        if own[i] == "--ctty":
            ctty = True
            i += 1
        elif own[i] in names and i + 1 < len(own):
            limits[names[own[i]]] = int(own[i + 1])
            i += 2
        else:
            raise SystemExit(USAGE)
    return limits, ctty, command


def main(argv: list[str]) -> None:
    limits, ctty, command = parse(argv)
    if ctty:
        # We are a session leader (setsid by the server); make the pty our controlling terminal so
        # that the kernel delivers SIGWINCH on resize and SIGHUP when the participant hangs up.
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    apply_limits(limits["memory"], limits["cpu"], limits["file_size"], limits["nice"])
    try:
        os.execvp(command[0], command)
    except OSError as exc:
        print(f"gdsim serve: cannot start {command[0]}: {exc.strerror}", file=sys.stderr)
        os._exit(127)


if __name__ == "__main__":
    main(sys.argv[1:])
