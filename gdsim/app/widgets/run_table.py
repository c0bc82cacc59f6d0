"""RunTable: the legend and readout of every run (colour, settings, loss, status); selects a run."""

from __future__ import annotations

import numpy as np
from rich.style import Style
from rich.text import Text
from textual.widgets import DataTable

from gdsim.app import palette
from gdsim.app.axes import value
from gdsim.app.session import Session
from gdsim.app.text import short

COLUMNS = ("", "run", "seed", "optimizer", "lr", "schedule", "batch", "loss", "|grad|", "status")


class RunTable(DataTable):
    """One row per displayed run (an ensemble is one row); the highlighted row is the selected run."""

    def __init__(self, *, id: str | None = None, classes: str | None = None):
        super().__init__(id=id, classes=classes, cursor_type="row", zebra_stripes=True)
        self._layout_version: tuple | None = None

    def on_mount(self) -> None:
        for name in COLUMNS:
            self.add_column(name, key=name or "mark")

    def show(self, session: Session) -> None:
        layout = (id(session.sim), len(session.display), bool(getattr(self.app, "mono", False)))
        rows = [self._cells(session, i) for i in range(len(session.display))]
        if layout != self._layout_version:
            self._layout_version = layout
            self.clear()
            for i, cells in enumerate(rows):
                self.add_row(*cells, key=str(i))
            if self.row_count:
                self.move_cursor(row=min(session.selected, self.row_count - 1), animate=False)
            return
        for i, cells in enumerate(rows):
            for column in (7, 8, 9):
                self.update_cell_at((i, column), cells[column])

    def _cells(self, session: Session, i: int) -> list:
        run = session.display[i]
        sim = session.sim
        row = int(run.rows[0])
        config = session.configs[row]
        cohort, _ = session.cohort_of(row)
        mono = bool(getattr(self.app, "mono", False))
        values = session.values_at_cursor()
        losses = np.asarray(values["loss"])[run.rows]
        grads = np.asarray(values["grad_norm"])[run.rows]
        if run.ensemble:
            seed = f"{config.seed}+{len(run.rows) - 1}"
            finite = losses[np.isfinite(losses)]
            loss = f"{value(float(np.median(finite)))} (median)" if len(finite) else "-"
            grad = value(float(np.median(grads[np.isfinite(grads)]))) if np.isfinite(grads).any() else "-"
            n_div = int((sim.diverged_at[run.rows] >= 0).sum())
            status = f"{n_div} diverged" if n_div else f"ensemble of {len(run.rows)}"
        else:
            seed = str(config.seed)
            loss, grad = value(float(losses[0])), value(float(grads[0]))
            status = _status(sim, row)
        hyper = cohort.optimizer.hyper
        batch = str(getattr(cohort.problem, "batch_size", "-"))
        opt = str(config.optimizer.get("name", cohort.optimizer.name))
        if opt in ("sgd", "rmsprop") and hyper.get("momentum"):
            opt += f" μ={hyper['momentum']:g}"
        mark = Text(f" {run.letter} ", style=Style(reverse=True, bold=True) if mono else palette.over("#000000", palette.RUN_COLOURS[run.colour % 8], True))
        # Fixed widths: cells are updated in place every frame without re-measuring the columns
        # (re-measuring re-lays out the screen), so a longer reading must not be cut off.
        loss, grad, status = loss.rjust(12), grad.rjust(10), status.ljust(16)
        return [
            mark,
            Text(short(run.label, 28)),
            seed,
            Text(short(opt, 16)),
            value(float(hyper["lr"])),
            str(config.schedule.get("name", "constant")),
            batch,
            loss,
            grad,
            Text(status, style="bold red" if "diverged" in status and not mono else ""),
        ]


def _status(sim, row: int) -> str:
    if sim.diverged_at[row] >= 0:
        return f"diverged at {int(sim.diverged_at[row])}"
    if sim.stopped_at[row] >= 0:
        return f"stopped at {int(sim.stopped_at[row])}"
    return "ok"
