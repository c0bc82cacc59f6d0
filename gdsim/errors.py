"""Errors a user can cause: each carries a one-paragraph message and becomes exit status 2."""


class UserError(Exception):
    """Bad input from the user (a file, a key, a value, a path): shown as a message, never a traceback."""

    # Where to read more, added to the message by the command line (e.g. the scenario format's
    # reference for a scenario file's errors); None: the message says it all.
    see: str | None = None
