"""MathsPanel: the selected run's update rule with this step's numbers plugged in."""

from __future__ import annotations

import numpy as np
from rich.style import Style
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from gdsim.app.draw.axes import value
from gdsim.app.runtime.session import Session
from gdsim.engine.models import BATCH_NORM_RULE
from gdsim.engine.optimizers import RULES, explain_step, state_rows
from gdsim.engine.schedules import PLATEAU_RULE

MAX_SHOWN = 6  # vector entries shown before "…" (a network has hundreds of parameters)

NAMES = {
    "grad": "g  gradient", "g": "g  gradient", "velocity": "v  velocity", "momentum_buffer": "v  velocity",
    "step": "Δθ step taken", "params": "θ  new parameters",
}


def vector(values: np.ndarray) -> str:
    values = np.asarray(values, dtype=np.float64).ravel()
    shown = ", ".join(value(float(v)) for v in values[:MAX_SHOWN])
    more = f", … ({len(values)} numbers, norm {value(float(np.linalg.norm(values)))})" if len(values) > MAX_SHOWN else ""
    return f"[{shown}{more}]"


def explain(session: Session) -> Text:
    """The rule and the numbers of the next update of the selected run (the first seed of an ensemble)."""
    run = session.current
    row = int(run.rows[0])
    cohort, index = session.cohort_of(row)
    opt = cohort.optimizer
    text = Text()
    text.append(f"{run.label}: {opt.name}", Style(bold=True))
    hyper = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in opt.hyper.items())
    text.append(f"  ({hyper})\n\n", Style(dim=True))
    text.append("update rule (torch.optim's convention)\n", Style(bold=True, underline=True))
    text.append(RULES.get(opt.name, "(no rule recorded)") + "\n\n")
    if cohort.schedule_state is not None:
        text.append("learning rate: reduce on plateau (torch's ReduceLROnPlateau)\n", Style(bold=True, underline=True))
        watched = {"loss": "the loss, every step", "val_loss": "the validation loss, every evaluation",
                   "train_loss": "the training-set loss, every evaluation"}[cohort.plateau_watches()]
        state = cohort.schedule_state
        text.append(f"L: {watched}\n" + PLATEAU_RULE + f"\nnow: η {value(float(state.lr[index]))}, best "
                    f"{value(float(state.best[index]))}, bad {int(state.num_bad_epochs[index])}, "
                    f"cooldown {int(state.cooldown_counter[index])}\n\n")
    if getattr(cohort.problem, "batch_norm", False):
        text.append("batch norm (every hidden layer)\n", Style(bold=True, underline=True))
        text.append(BATCH_NORM_RULE + "\n\n")
    if session.cursor is not None:
        text.append(f"Rewound to step {session.cursor}: the numbers below need the live optimizer state; "
                    "press end to return to the live step.\n", Style(italic=True))
        return text
    if bool(cohort.frozen[index]):
        text.append("This run is frozen (it diverged or stopped early): no further updates.\n", Style(italic=True))
        return text
    step = session.sim.step_count
    lr = np.atleast_1d(cohort.lr)  # the lr of the next update (a plateau schedule holds one per run)
    lr_row = lr[index : index + 1] if lr.shape[0] > 1 else lr[:1]
    params = cohort.params[index : index + 1]
    grad = cohort.grad[index : index + 1]
    rows = slice(index, index + 1)
    with np.errstate(all="ignore"):  # update_inputs: Newton's Hessian, cg's line-search losses
        parts = explain_step(opt, grad, state_rows(cohort.state, rows), params,
                             float(lr_row[0]), **cohort.update_inputs(rows))
    text.append(f"the update from step {step} to {step + 1}\n", Style(bold=True, underline=True))
    text.append(f"{'θ  parameters':<20}{vector(params[0])}\n")
    text.append(f"{'η  learning rate':<20}{value(float(lr_row[0]))}\n")
    for name, array in parts:
        label = NAMES.get(name, name)
        text.append(f"{label:<20}", Style(bold=True))
        text.append(vector(np.asarray(array)[0]) + "\n")
    return text


class MathsPanel(VerticalScroll):
    """Scrollable, because a network's vectors and Adam's five lines do not fit a small terminal."""

    def compose(self):
        yield Static(id="maths-text")

    _plain = ""

    def show(self, session: Session) -> None:
        text = explain(session)
        if text.plain != self._plain:
            self._plain = text.plain
            self.query_one("#maths-text", Static).update(text)
