"""Errors a user can cause: each carries a one-paragraph message and becomes exit status 2."""


class UserError(Exception):
    """Bad input from the user (a file, a key, a value, a path): shown as a message, never a traceback."""

    # Where to read more, added to the message by the command line (e.g. the scenario format's
    # reference for a scenario file's errors); None: the message says it all.
    see: str | None = None


# The exit status of a gdsim that ran out of memory (a served session's memory limit, most likely;
# 12 is ENOMEM): the SSH server turns it into one line for the participant, never a traceback.
MEMORY_EXIT = 12


def ran_out_of_memory(error: BaseException | None) -> bool:
    """True when `error`, or what caused it (a worker's failure, an exception while handling
    another, pygments' ValueError around a regex it had no memory to compile), is a MemoryError,
    or a thread that could not be started (its stack did not fit under the memory limit)."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, MemoryError) or (isinstance(error, RuntimeError) and "can't start new thread" in str(error)):
            return True  # under an address-space limit, a thread's stack is what cannot be had
        seen.add(id(error))
        inner = getattr(error, "error", None)  # Textual's WorkerFailed keeps the worker's error here
        error = inner if isinstance(inner, BaseException) else (error.__cause__ or error.__context__)
    return False


def memory_message(served: bool) -> str:
    return "this session ran out of its memory limit" if served else "gdsim ran out of memory"


# The exit status of a served gdsim that hit an unexpected error (70 is EX_SOFTWARE in sysexits.h):
# the participant sees one line from the server, the presenter the traceback in the server's log.
INTERNAL_EXIT = 70
# The file descriptor (a pipe the SSH server reads) where a served app writes a traceback.
ERROR_FD_ENV = "GDSIM_ERROR_FD"
MAX_REPORT = 64 * 1024  # bytes of one traceback the server keeps


def internal_message() -> str:
    return "gdsim hit an internal error; details in the server log"  # fits 80 columns after 'gdsim session closed: '


def report_internal_error(error: BaseException) -> bool:
    """Write `error`'s traceback where the presenter reads it, never on a participant's screen:
    to the pipe named by GDSIM_ERROR_FD (an SSH session's, read by the server), else to stderr when
    it is not a terminal (`serve web`: textual-serve prints the app's stderr in the server's
    output). True when it was written somewhere."""
    import os
    import sys
    import traceback

    text = "".join(traceback.format_exception(error)).encode("utf-8", "replace")[-MAX_REPORT:]
    fd_text = os.environ.get(ERROR_FD_ENV, "")
    if fd_text.isdigit():
        try:
            _write_all(int(fd_text), text)
            return True
        except OSError:
            pass
    stream = sys.__stderr__
    try:
        if stream is not None and not stream.isatty():
            stream.write(text.decode("utf-8", "replace"))
            stream.flush()
            return True
    except (OSError, ValueError):
        pass
    return False


def _write_all(fd: int, data: bytes) -> None:
    import os

    while data:
        data = data[os.write(fd, data):]
