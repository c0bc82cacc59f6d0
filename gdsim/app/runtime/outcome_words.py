"""An [[expect]]'s Outcome in words for learners: its own `because` sentence and the number the run
measured, named in plain words ("distance to the global min 0.0218", "share of near-zero weights
30%"), never the check's internal syntax (`distance_to_global of run A at step 100 < 1e-06`).

Used by the verdict line (runtime/verdicts.py) and the reveal's "Measured:" lines (predict_flow.py).
Textual-free.
"""

from __future__ import annotations

import math
from typing import Any

from gdsim.app.text import clean

NAMES = {
    "loss": "loss", "loss_change": "loss change per step", "grad_norm": "gradient length",
    "velocity_norm": "velocity length", "lr": "learning rate", "param_norm": "weight length",
    "params": "distance", "x": "x", "y": "y",
    "distance_to_global": "distance to the global min", "distance_to_local": "distance to the local min",
    "distance_to_nearest": "distance to the nearest stationary point",
    "epochs": "epochs", "best_val_loss": "best validation loss",
    "layer_grad_ratio": "first/last layer gradient ratio", "layer_grad_norm": "layer gradient length",
    "hidden_unit_spread": "hidden-unit spread", "sparsity": "share of near-zero weights",
}
SPLITS = {"train": "training", "val": "validation", "test": "test"}
SHARES = ("sparsity", "accuracy", "precision", "recall")  # numbers from 0 to 1, shown as percentages
ENDS = {"global": "a global minimum", "local": "a local minimum", "saddle": "the saddle point"}


def metric_name(metric: str | None) -> str:
    """`val_accuracy` -> "validation accuracy"; unknown names lose their underscores."""
    if metric is None:
        return "value"
    if metric in NAMES:
        return NAMES[metric]
    split, _, rest = metric.partition("_")
    if split in SPLITS and rest:
        return f"{SPLITS[split]} {NAMES.get(rest, rest.replace('_', ' '))}"
    return metric.replace("_", " ")


def number(value: float, share: bool = False) -> str:
    if share and 0 <= value <= 1:
        return f"{value:.0%}"
    if float(value).is_integer() and abs(value) < 1e6:
        return f"{int(value):,}"
    return f"{value:.3g}"


def value_words(outcome: Any, labels: bool = True) -> str:
    """The number the check compared, named: "distance to the global min 0.0218", "0.3× plain's
    loss", "diverged at step 12", "54% of the runs". `labels=False` leaves run labels out (a
    question still open: labels are neutral until the reveal)."""
    e, v = outcome.expectation, outcome.value
    if v is None:
        return "not measured"
    if e.kind in ("diverges", "stops_early"):
        verb = "diverged" if e.kind == "diverges" else "stopped early"
        if isinstance(v, float) and math.isnan(v):
            return f"never {verb}" if e.kind == "diverges" else "never stopped early"
        if clean(outcome.measured, keep_newlines=False).startswith(("diverged", "stopped", "it did not")):
            return f"{verb} at step {int(v):,}"
        return f"{int(v)} runs {verb}"
    if e.fraction_above is not None or e.fraction_below is not None:
        return f"{v:.0%} of the runs"
    if e.kind == "ends_in":
        return f"{number(v)} from {ENDS.get(e.ends_in, 'the point')}"
    name = metric_name(e.metric)
    if e.across in ("mean", "median", "min", "max"):
        name = f"{e.across} {name}"
    elif e.across in ("std", "spread"):
        name = f"{name} {e.across}"
    if e.relative:
        if e.metric == "params":
            whom = (f"{e.than_run}" if labels else "the other run") if e.than_run else _step(e.than_at)
            return f"{number(v)} from {whom}"
        than = (f"{e.than_run}'s" if labels else "the other run's") if e.than_run else f"its value at {_step(e.than_at)}"
        if e.by == "difference":
            return f"{name} {v:+.3g} vs {than}"
        return f"{name} {number(v)}× {than}"
    return f"{name} {number(v, share=any(e.metric and e.metric.endswith(s) for s in SHARES))}"


def _step(at: Any) -> str:
    return f"step {at:,}" if isinstance(at, int) else f"the {at}"


def because(outcome: Any) -> str:
    """The expect's own sentence, on one line, without its full stop."""
    return clean(outcome.expectation.because, keep_newlines=False).rstrip(".")


def when(outcome: Any, steps: int) -> str:
    """"at step 100" / "at the end (step 300)": where the value was measured."""
    if outcome.step >= steps:
        return f"at the end (step {outcome.step:,})"
    return f"at step {outcome.step:,}"


def measured_line(outcome: Any, steps: int) -> str:
    """One reveal line: "✓ at step 100: <because> — distance to the global min 0.0218"; the step
    is left out where the sentence already names it."""
    mark = "✓" if outcome.passed else "✗"
    sentence = because(outcome)
    at = when(outcome, steps)
    prefix = "" if f"step {outcome.step}" in sentence.lower() or (
        outcome.step >= steps and "end" in sentence.lower()) else f"{at}: "
    return f"{mark} {prefix}{sentence} — {value_words(outcome)}"


def names_a_run(text: str, labels: Any) -> bool:
    """Whether `text` mentions any of the scenario's run labels (case-insensitive)."""
    low = text.lower()
    return any(label and label.lower() in low for label in labels)
