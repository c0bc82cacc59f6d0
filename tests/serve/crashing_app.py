"""A served program with a bug: prints READY, then on the first key raises ZeroDivisionError.

    crashing_app.py guard   # inside gdsim.cli._guard, as the real app's every error is
    crashing_app.py top     # at the top level, outside any guard (the zygote's child, or the
                            # spawned one (gdsim.serve.child), catches it)
"""

import os
import sys
import termios
import tty


def divide() -> int:
    secret_local = "a local variable a traceback would show"  # noqa: F841
    return 1 // 0


def main() -> int:
    tty.setraw(0)
    os.write(1, b"READY\r\n")
    os.read(0, 1)
    termios.tcsetattr(0, termios.TCSADRAIN, termios.tcgetattr(0))
    if sys.argv[1:] == ["guard"]:
        from gdsim.cli import _guard

        return _guard(divide)
    return divide()


if __name__ == "__main__":
    sys.exit(main())
