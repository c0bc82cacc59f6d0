"""What a fresh interpreter has imported after a statement (for the import-hygiene tests)."""

from __future__ import annotations

import subprocess
import sys


def imported(statement: str, names) -> list[str]:
    """Which of `names` (a module, or a package and everything under it) are in sys.modules after
    running `statement` in a new interpreter."""
    code = (
        f"import sys\n{statement}\n"
        f"hits = sorted(m for m in sys.modules if any(m == n or m.startswith(n + '.') for n in {tuple(names)!r}))\n"
        "print(','.join(hits))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return [name for name in result.stdout.strip().split(",") if name]
