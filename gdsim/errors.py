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
