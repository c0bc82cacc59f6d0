"""What sets the displayed runs apart, for the run table: the settings they differ in that the
table's own columns do not show (init, activation, damping, L2, start...), and whether the seeds
are the lesson. Textual-free.
"""

from __future__ import annotations

from gdsim.app.runtime.session import Session
from gdsim.app.text import short

SHOWN = {"optimizer.name", "optimizer.lr", "optimizer.momentum", "schedule.name", "problem.batch_size"}


NAMES = {"start": "start", "problem.init": "init", "problem.activation": "activation",
         "optimizer.damping": "damping", "problem.hidden": "hidden", "problem.loss": "loss fn", "problem.l1": "L1", "problem.l2": "L2",
         "problem.dropout": "dropout", "problem.noise": "noise", "optimizer.weight_decay": "decay",
         "optimizer.nesterov": "nesterov", "problem.standardize": "standardize"}


def _flat(config) -> dict[str, object]:
    out: dict[str, object] = {"start": config.start}
    for table in ("problem", "optimizer", "schedule"):
        for key, item in getattr(config, table).items():
            out[f"{table}.{key}"] = item
    return out


def differing_settings(session: Session, limit: int = 2) -> tuple[str, list[str]]:
    """(header, one cell per displayed run) naming the settings the runs differ in that the other
    columns do not show (init, activation, damping, L2, start ...), at most `limit` of them."""
    flats = [_flat(session.configs[int(run.rows[0])]) for run in session.display]
    if len(flats) < 2:
        return "", [""] * len(flats)
    keys = sorted({k for f in flats for k in f} - SHOWN, key=lambda k: (k not in NAMES, k))
    differ = [k for k in keys if len({repr(f.get(k)) for f in flats}) > 1][:limit]
    if not differ:
        return "", [""] * len(flats)
    header = ", ".join(NAMES.get(k, k.split(".", 1)[-1]) for k in differ)
    hypers = [session.cohort_of(int(run.rows[0]))[0].optimizer.hyper for run in session.display]
    return header, [", ".join(_setting(k, f.get(k) if f.get(k) is not None else _default(k, f, hyper)) for k in differ)
                    for f, hyper in zip(flats, hypers)]


def _default(key: str, flat: dict[str, object], hyper: dict[str, object] | None = None) -> object:
    """What a run takes for a key it leaves unset, or None: an optimizer's own default (nesterov:
    false, weight_decay: 0, as the engine resolved it; None where the optimizer has no such key),
    a data-set problem's (standardize: false)."""
    if key.startswith("optimizer."):
        value = (hyper or {}).get(key.split(".", 1)[1])
        return value if isinstance(value, (bool, int, float, str)) else None
    if not key.startswith("problem.") or flat.get("problem.dataset") is None:
        return None
    import inspect

    from gdsim.engine.learning import make_dataset_problem

    parameter = inspect.signature(make_dataset_problem).parameters.get(key.split(".", 1)[1])
    return None if parameter is None or parameter.default is inspect.Parameter.empty else parameter.default


def _setting(key: str, item: object) -> str:
    if item is None:  # a hyperparameter left at its default (or meaningless for this schedule): "-"
        return "random" if key == "start" else ("default" if key.startswith("problem.") else "-")
    if isinstance(item, bool):  # as the scenario file writes it
        return "true" if item else "false"
    if isinstance(item, (tuple, list)):
        return "(" + ", ".join(_setting(key, v) for v in item) + ")"
    if isinstance(item, float):
        return f"{item:g}"
    return short(str(item), 16)


def seeds_are_the_lesson(session: Session) -> bool:
    """Whether the displayed runs differ in their seeds and in nothing else the table shows."""
    if len(session.display) < 2:
        return any(run.ensemble for run in session.display)
    flats = [_flat(session.configs[int(run.rows[0])]) for run in session.display]
    seeds = {session.configs[int(run.rows[0])].seed for run in session.display}
    same = all(repr(f) == repr(flats[0]) for f in flats)
    return same and len(seeds) > 1
