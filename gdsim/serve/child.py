"""The tiny program that sits between the server and each participant's gdsim: limits, then exec.

It runs as `python -m gdsim.serve.child [--memory B] [--cpu S] [--file-size B] [--nice N] [--ctty] -- CMD...`
in the freshly started session (the server spawns it with start_new_session=True). It applies the
per-session resource limits, takes the pseudo-terminal on stdin as its controlling terminal, and
then runs CMD. Doing this in a separate exec, rather than in a Popen preexec_fn, keeps the server's
forking path free of Python code running between fork and exec while other threads may hold locks.

CMD is this python with `-m MODULE ...` or a script (the app, always, unless a test names another
program): it runs in this process, exactly as the zygote's child runs it (run_to_exit), so an
error even at its top level (outside gdsim.cli's guard: an import that fails) goes to the
session's error pipe and ends it with INTERNAL_EXIT, never as a traceback on the participant's
screen. Any other program replaces this one (exec).
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
        group_nice(os.getpriority(os.PRIO_PROCESS, 0))
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


def group_nice(nice: int) -> None:
    """Give this session's scheduling group the process's nice value. With the kernel's autogroups
    (sched_autogroup_enabled, on by default in many distributions' kernels) every session, and so
    every served app (a session leader), is scheduled as a group of its own, and a process's nice
    only orders it inside that group: without this, an app at nice 5 weighed as much as the server
    and a presenter's app as much as a participant's. Nothing happens on a kernel without them."""
    try:
        with open("/proc/self/autogroup", "w", encoding="ascii") as handle:
            handle.write(str(nice))
    except OSError:
        pass


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


def runs_here(command: list[str]) -> bool:
    """Whether `command` is this python with `-m MODULE` or a script: run in-process (by the
    spawned child, or the zygote's forked one), not exec'd."""
    return (len(command) >= 2 and command[0] == sys.executable
            and (command[1] == "-m" and len(command) >= 3 or command[1].endswith(".py")))


def run_command(argv: list[str]) -> int:
    """Run `python -m MODULE ARGS` or `python SCRIPT ARGS` in this process, as python would."""
    import runpy

    if len(argv) >= 3 and argv[1] == "-m":
        sys.argv = [argv[2], *argv[3:]]
        runpy.run_module(argv[2], run_name="__main__", alter_sys=True)
    else:
        sys.argv = argv[1:]
        sys.path.insert(0, os.path.dirname(os.path.abspath(argv[1])))
        runpy.run_path(argv[1], run_name="__main__")
    return 0


def run_to_exit(argv: list[str], prepare=None) -> None:
    """`prepare()`, then run `argv` (see run_command) and exit with its status; never returns. An
    error nothing else caught (even at the command's top level, or in `prepare`) is reported to
    the session's error pipe (internal_error) instead of reaching the participant's terminal."""
    status = 1
    try:
        if prepare is not None:
            prepare()
        status = run_command(argv)
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException as exc:  # noqa: BLE001 - never a traceback on the participant's screen
        status = internal_error(exc)
    finally:
        try:
            import atexit

            atexit._run_exitfuncs()
        except BaseException:  # noqa: BLE001
            pass
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001
                pass
        os._exit(status)


def internal_error(error: BaseException) -> int:
    """An error the app did not handle itself: its traceback to the server's log (the error pipe),
    and the exit status the server turns into one line for the participant (MEMORY_EXIT when it
    ran out of its memory limit, as gdsim.cli's guard says it)."""
    try:
        from gdsim.errors import INTERNAL_EXIT, MEMORY_EXIT, ran_out_of_memory, report_internal_error

        if ran_out_of_memory(error):
            return MEMORY_EXIT
        report_internal_error(error)
        return INTERNAL_EXIT
    except BaseException:  # noqa: BLE001 - nothing more can be done in a child about to exit
        return 1


def main(argv: list[str]) -> None:
    limits, ctty, command = parse(argv)
    if ctty:
        # We are a session leader (setsid by the server); make the pty our controlling terminal so
        # that the kernel delivers SIGWINCH on resize and SIGHUP when the participant hangs up.
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    apply_limits(limits["memory"], limits["cpu"], limits["file_size"], limits["nice"])
    if runs_here(command):
        run_to_exit(command)  # never returns
    try:
        os.execvp(command[0], command)
    except OSError as exc:
        print(f"gdsim serve: cannot start {command[0]}: {exc.strerror}", file=sys.stderr)
        os._exit(127)


if __name__ == "__main__":
    main(sys.argv[1:])
