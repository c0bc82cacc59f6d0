"""A stand-in for the gdsim app in the serve tests: reports its terminal, echoes keys, follows resizes.

Prints `READY pid=.. size=COLSxROWS term=.. served=.. no_color=.. scenario_dir=.. as=.. cpu=.. fsize=.. args=..`,
then `RESIZED COLSxROWS` on every SIGWINCH and `KEY <hex>` for each chunk of input, in raw mode.
With `--grandchild` it first starts `sleep 300` (same process group) and prints `GRANDCHILD pid=..`.
Typing `q` exits with status 0; `x` exits with status 3; `s` prints `SHARE <value>`, the CPU share the
server publishes in the file named by GDSIM_CPU_SHARE_FILE; `e` prints `ENV k=v ... END`, its environment.
"""

import os
import resource
import shutil
import signal
import subprocess
import sys
import termios
import tty


def size() -> str:
    # shutil, as Textual's Linux driver does: it reads COLUMNS/LINES first, then the pty.
    cols, rows = shutil.get_terminal_size((0, 0))
    return f"{cols}x{rows}"


def say(line: str) -> None:
    os.write(1, (line + "\r\n").encode())


def share() -> str:
    path = os.environ.get("GDSIM_CPU_SHARE_FILE")
    if not path:
        return "None"
    with open(path, encoding="ascii") as handle:
        return handle.read().strip()


def main() -> None:
    if "--grandchild" in sys.argv:
        child = subprocess.Popen(["sleep", "300"])
        say(f"GRANDCHILD pid={child.pid}")
    # Raw mode and the resize handler before READY, so a test may type or resize as soon as it sees READY.
    old = termios.tcgetattr(0)
    tty.setraw(0)
    signal.signal(signal.SIGWINCH, lambda *_: say(f"RESIZED {size()}"))
    limit = lambda r: resource.getrlimit(r)[0]  # noqa: E731
    say(
        f"READY pid={os.getpid()} size={size()} term={os.environ.get('TERM')} "
        f"served={os.environ.get('GDSIM_SERVED')} no_color={os.environ.get('NO_COLOR')} "
        f"scenario_dir={os.environ.get('GDSIM_SCENARIO_DIR')} as={limit(resource.RLIMIT_AS)} "
        f"cpu={limit(resource.RLIMIT_CPU)} fsize={limit(resource.RLIMIT_FSIZE)} "
        f"agent={os.environ.get('SSH_AUTH_SOCK')} pgid={os.getpgrp()} sid={os.getsid(0)} args={','.join(sys.argv[1:])}"
    )
    try:
        while True:
            try:
                data = os.read(0, 1024)
            except InterruptedError:
                continue
            if not data:
                return
            say(f"KEY {data.hex()}")
            if b"s" in data:
                say(f"SHARE {share()}")
            if b"e" in data:
                say("ENV " + " ".join(f"{k}={v}" for k, v in sorted(os.environ.items())) + " END")
            if b"q" in data:
                return
            if b"x" in data:
                sys.exit(3)
    finally:
        termios.tcsetattr(0, termios.TCSADRAIN, old)


if __name__ == "__main__":
    main()
