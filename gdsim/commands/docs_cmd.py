"""`gdsim docs [scenarios|presenters]`: print the documentation an installed gdsim carries.

The wheel ships docs/scenarios.md (the scenario format: every key, default and range) and
docs/presenters-guide.md (running a workshop) as gdsim/docs/ (pyproject's force-include); run
from a source checkout, they are read from the repository's docs/.
"""

from __future__ import annotations

import sys
from pathlib import Path

from gdsim.errors import UserError

TOPICS = {
    "scenarios": ("scenarios.md", "the scenario file format: every key, its default and range"),
    "presenters": ("presenters-guide.md", "the presenter's guide: running a workshop with gdsim serve"),
}


def register(sub) -> None:
    parser = sub.add_parser("docs", help="print the scenario format reference or the presenter's guide")
    parser.add_argument("topic", nargs="?", metavar="TOPIC",
                        help="scenarios or presenters (without it: what there is)")
    parser.set_defaults(func=run)


def docs_dir() -> Path:
    """gdsim/docs inside an installed wheel, or the repository's docs/ when run from source."""
    packaged = Path(__file__).resolve().parent.parent / "docs"
    if (packaged / "scenarios.md").is_file():
        return packaged
    return Path(__file__).resolve().parent.parent.parent / "docs"


def doc_text(topic: str) -> str:
    name = TOPICS[topic][0]
    path = docs_dir() / name
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"gdsim docs {topic}: {path} cannot be read ({exc.strerror or exc}); "
                        "this installation of gdsim is incomplete: reinstall it") from None


def run(args) -> int:
    topic = (args.topic or "").strip().lower()
    if not topic:
        width = max(map(len, TOPICS))
        lines = [f"gdsim docs {name:<{width}}  {what}" for name, (_, what) in TOPICS.items()]
        sys.stdout.write("\n".join(lines) + "\n")
        return 0
    if topic in ("presenters-guide", "presenter", "guide"):
        topic = "presenters"
    if topic in ("scenario", "format"):
        topic = "scenarios"
    if topic not in TOPICS:
        raise UserError(f"gdsim docs {args.topic}: no such topic; choose one of: {', '.join(TOPICS)}")
    sys.stdout.write(doc_text(topic))
    return 0
