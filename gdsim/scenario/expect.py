"""The [[expect]] vocabulary: machine-checked statements a scenario makes about its own runs.

Each [[expect]] entry picks runs (`run`: a run's label or the label of a [[runs]] entry, whose
`seeds` make a group), says what is checked, and gives the reason shown in the report (`because`).
What is checked is exactly one of:

    metric = "loss"         a number per run, compared with below / above / at_most / at_least
    ends_in = "local"       the run ends near a minimum of that kind (within `within`)
    diverges = true         the run diverged (or, with false, never did)
    stops_early = true      early stopping ended the run

A metric is read `at` a step (an integer, "start" or "final") or reduced over the steps (min,
max, mean, any, all, jitter). With `than_run` and/or `than_at` the number compared is relative:
this value divided by (by = "ratio") or minus (by = "difference") the same metric of another run
or at another step. Over several runs, `across` says how: every run must pass (each, default), at
least one (any), or the runs' values are reduced first (mean, median, min, max, std, spread);
`fraction_above` / `fraction_below` ask for a share of passing runs instead.

This module must not import gdsim.scenario.model (which imports it).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator, BaseModel, ConfigDict, Field, PlainValidator, StrictInt, ValidationInfo, WithJsonSchema,
    model_validator,
)

from gdsim.scenario.condition import Condition
from gdsim.words import plural

SURFACE_METRICS = ("x", "y", "distance_to_global", "distance_to_local", "distance_to_nearest")
SPLITS = ("train", "val", "test")
CLASSIFICATION = ("accuracy", "precision", "recall")
REGRESSION = ("mae", "mse")
EVAL_METRICS = tuple(f"{split}_{name}" for name in ("loss", *CLASSIFICATION, *REGRESSION) for split in SPLITS)
NETWORK_METRICS = ("layer_grad_ratio", "layer_grad_norm", "hidden_unit_spread", "sparsity")
DATA_METRICS = ("epochs", "best_val_loss")
# Metrics computed from another one's per-step series: (the base metric, how).
DERIVED = {"loss_change": "loss", "best_val_loss": "val_loss"}
METRICS = (
    "loss", "loss_change", "grad_norm", "velocity_norm", "lr", "param_norm", "params",
    *SURFACE_METRICS, *EVAL_METRICS, *DATA_METRICS, *NETWORK_METRICS,
)
METRIC_HELP = {
    "loss": "the training loss the optimizer sees (the mini-batch loss, penalty included, on a data set)",
    "grad_norm": "length of the gradient",
    "velocity_norm": "length of the momentum buffer / Adam's first moment",
    "lr": "the learning rate in use",
    "param_norm": "length of the whole parameter vector",
    "params": "the parameter vector itself; only with than_run / than_at (the distance between them)",
    "x": "first coordinate on a surface",
    "y": "second coordinate on a surface",
    "distance_to_global": "distance to the nearest global minimum of the surface",
    "distance_to_local": "distance to the nearest local (not global) minimum",
    "distance_to_nearest": "distance to the nearest known stationary point (minimum or saddle)",
    "train_loss": "data loss on the whole training split (no penalty, no dropout)",
    "val_loss": "data loss on the validation split",
    "test_loss": "data loss on the test split",
    "train_accuracy": "accuracy on the training split",
    "val_accuracy": "accuracy on the validation split",
    "test_accuracy": "accuracy on the test split",
    **{f"{split}_{name}": f"{what} on the {split} split" for split in SPLITS for name, what in (
        ("precision", "precision (two classes: of class 1, the positive class; more: the macro average)"),
        ("recall", "recall (two classes: of class 1, the positive class; more: the macro average)"),
        ("mae", "mean absolute error of the predictions (regression)"),
        ("mse", "mean squared error of the predictions (regression)"))},
    "loss_change": "|change of the loss| from the previous step (stationarity; with at = max and last = N: the largest over the last N steps)",
    "epochs": "passes through the training set so far (steps / mini-batches per epoch; a stopped run counts its steps until it stopped)",
    "best_val_loss": "lowest validation loss at the evaluation steps so far (what early stopping keeps with restore_best)",
    "layer_grad_ratio": "gradient norm of the first layer divided by that of the last layer",
    "layer_grad_norm": "gradient norm (weights and biases) of the layer given by `layer` (0 = first, -1 = last)",
    "hidden_unit_spread": "largest difference between the incoming weights of two hidden units (0: all identical)",
    "sparsity": "share of the weights (biases excluded) with |w| < tolerance (default 0.01)",
}
POINTS = ("start", "final")
REDUCTIONS = ("min", "max", "mean", "any", "all", "jitter")
AGGREGATES = ("mean", "median", "min", "max", "std", "spread")

Step = Annotated[StrictInt, Field(ge=0, le=10_000_000)]  # a step in `during`
Number = Annotated[float, Field(allow_inf_nan=False, ge=-1e300, le=1e300)]
Fraction = Annotated[float, Field(allow_inf_nan=False, ge=0.0, le=1.0)]
RunName = Annotated[str, Field(min_length=1, max_length=80)]
MAX_STEP = 10_000_000


def _moment(names: tuple[str, ...]):
    """A step number or one of `names`, checked in one place so a mistake gives one clear message."""

    def check(value: Any) -> int | str:
        if isinstance(value, int) and not isinstance(value, bool):
            if 0 <= value <= MAX_STEP:
                return value
            raise ValueError(f"a step number must be from 0 to {MAX_STEP:,}, got {value}")
        if isinstance(value, str) and value in names:
            return value
        raise ValueError(f"expected a step number or one of {', '.join(names)}; got {value!r}")

    schema = {"anyOf": [{"type": "integer", "minimum": 0, "maximum": MAX_STEP}, {"enum": list(names)}]}
    return Annotated[int | str, PlainValidator(check), WithJsonSchema(schema)]


When = _moment((*POINTS, *REDUCTIONS))
ThanWhen = _moment((*POINTS, "min", "max", "mean", "jitter"))


class Expectation(BaseModel):
    """One [[expect]] entry: a statement about the runs that `gdsim check --verify` checks.

    Set exactly one of metric (with below / above / at_most / at_least), ends_in, diverges or
    stops_early.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, str_max_length=2000)

    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,39}$")] | None = Field(
        default=None,
        description="A name for this entry (lowercase letters, digits, - and _): [predict] shown_by "
        "and lesson placeholders {{id}} refer to it.",
    )
    because: Annotated[str, Field(min_length=1, max_length=500)] = Field(
        description="Why this must hold, in the learner's words; shown in the verify report."
    )
    run: RunName | None = Field(
        default=None,
        description="A run's label, or the label of a [[runs]] entry (all its seeds). Default: every run.",
    )
    metric: Literal[METRICS] | None = Field(  # type: ignore[valid-type]
        default=None,
        description="The number measured per run. " + "; ".join(f"{k}: {v}" for k, v in METRIC_HELP.items()),
    )
    at: When = Field(
        default="final",
        description="A step number, start, final, or a reduction over the steps: min, max, mean, "
        "any / all (the comparison holds at some / every step), jitter (mean change between steps).",
    )
    during: tuple[Step, Step] | None = Field(
        default=None, description="[first, last] steps a reduction (min, max, mean, any, all, jitter) looks at."
    )
    last: Annotated[StrictInt, Field(ge=1, le=MAX_STEP)] | None = Field(
        default=None, description="A reduction looks at the last N steps of the run (instead of during)."
    )
    layer: Annotated[StrictInt, Field(ge=-100, le=100)] | None = Field(
        default=None, description="For layer_grad_norm: which layer, 0 = the first (input side), -1 = the last."
    )
    tolerance: Annotated[float, Field(allow_inf_nan=False, gt=0.0, le=1e6)] | None = Field(
        default=None, description="For sparsity: a weight with |w| below this counts as zero (default 0.01)."
    )
    ends_in: Literal["global", "local", "saddle"] | None = Field(
        default=None, description="The run ends near a minimum (or saddle point) of this kind."
    )
    within: Annotated[float, Field(allow_inf_nan=False, gt=0.0, le=1e6)] = Field(
        default=0.05, description="How near counts as 'in' for ends_in (a distance in parameter space)."
    )
    diverges: bool | None = Field(default=None, description="true: the run diverged; false: it never did.")
    stops_early: bool | None = Field(default=None, description="true: early stopping ended the run.")
    than_run: RunName | None = Field(default=None, description="Compare with this run (label or group).")
    than_at: ThanWhen | None = Field(default=None, description="Compare with the value at this step.")
    by: Literal["ratio", "difference"] = Field(
        default="ratio", description="How a relative comparison is made: value / reference or value - reference."
    )
    below: Number | None = Field(default=None, description="The measured number must be < this.")
    above: Number | None = Field(default=None, description="The measured number must be > this.")
    at_most: Number | None = Field(default=None, description="The measured number must be <= this.")
    at_least: Number | None = Field(default=None, description="The measured number must be >= this.")
    across: Literal["each", "any", "mean", "median", "min", "max", "std", "spread"] = Field(
        default="each",
        description="Over several runs: each must pass, any may pass, or the runs' values are "
        "reduced first (mean, median, min, max, std, spread = max - min).",
    )
    fraction_above: Fraction | None = Field(
        default=None, description="More than this share of the selected runs must pass."
    )
    fraction_below: Fraction | None = Field(
        default=None, description="Less than this share of the selected runs may pass."
    )
    also: Condition | None = Field(
        default=None, description="A second comparison each run must meet too, e.g. "
        "{ metric = \"grad_norm\", below = 1e-4 }: the fractions then count runs meeting both."
    )

    @property
    def kind(self) -> str:
        for name in ("metric", "ends_in", "diverges", "stops_early"):
            if getattr(self, name) is not None:
                return name
        return "metric"

    @property
    def comparisons(self) -> dict[str, float]:
        return {k: v for k in ("below", "above", "at_most", "at_least") if (v := getattr(self, k)) is not None}

    @property
    def relative(self) -> bool:
        return self.than_run is not None or self.than_at is not None

    @model_validator(mode="after")
    def _combination(self) -> Expectation:
        kinds = [k for k in ("metric", "ends_in", "diverges", "stops_early") if getattr(self, k) is not None]
        if len(kinds) != 1:
            found = f" (found {', '.join(kinds)})" if kinds else ""
            raise ValueError(f"set exactly one of metric, ends_in, diverges or stops_early{found}")
        kind = kinds[0]
        comparisons = self.comparisons
        if "within" in self.model_fields_set and kind != "ends_in":
            raise ValueError("within is the distance for ends_in; leave it out here")
        if "by" in self.model_fields_set and not self.relative:
            raise ValueError("by only applies to a comparison with than_run or than_at")
        if self.fraction_above is not None or self.fraction_below is not None:
            if self.across != "each":
                raise ValueError("fraction_above / fraction_below count passing runs; leave `across` at each")
        if self.layer is not None and self.metric != "layer_grad_norm":
            raise ValueError("layer picks the layer of metric layer_grad_norm; leave it out here")
        if self.metric == "layer_grad_norm" and self.layer is None:
            raise ValueError("metric 'layer_grad_norm' needs layer = N (0 = the first layer, -1 = the last)")
        if self.tolerance is not None and self.metric != "sparsity":
            raise ValueError("tolerance is the zero threshold of metric sparsity; leave it out here")
        if self.last is not None:
            if self.during is not None:
                raise ValueError("set during or last, not both")
            if self.at not in REDUCTIONS:
                raise ValueError(f"last only applies when `at` is one of {', '.join(REDUCTIONS)}")
        if self.during is not None:
            if self.at not in REDUCTIONS:
                raise ValueError(f"during only applies when `at` is one of {', '.join(REDUCTIONS)}")
            if self.during[0] > self.during[1]:
                raise ValueError(f"during = [{self.during[0]}, {self.during[1]}]: the first step must not be after the last")
        if kind != "metric":
            extra = [k for k in (*comparisons, "than_run", "than_at") if getattr(self, k) is not None]
            if extra:
                raise ValueError(f"{kind} is a yes/no check; leave out {', '.join(extra)} (they compare a metric)")
            if self.across not in ("each", "any"):
                raise ValueError(f"across = {self.across!r} reduces numbers; with {kind} use each or any")
            if self.also is not None:
                raise ValueError(f"also goes with a metric; {kind} is a yes/no check")
            if kind == "ends_in" and self.at not in ("final",) and not isinstance(self.at, int):
                raise ValueError("ends_in is read at a step: `at` must be final or a step number")
            if kind in ("diverges", "stops_early") and self.at != "final":
                raise ValueError(f"{kind} looks at the whole run; leave out `at`")
            return self
        if not comparisons:
            raise ValueError(f"metric {self.metric!r} needs a comparison: below, above, at_most or at_least")
        if self.also is not None and (self.across not in ("each", "any") or self.at in ("any", "all")):
            raise ValueError("also is checked run by run: use it with across = each or any, and `at` not any / all")
        if self.at in ("any", "all") and self.relative:
            raise ValueError(f"at = {self.at!r} checks each step on its own; it cannot be combined with than_run / than_at")
        if self.at in ("any", "all") and self.across not in ("each", "any"):
            raise ValueError(f"at = {self.at!r} gives yes/no per run; across must be each or any")
        if self.metric == "params":
            if not self.relative:
                raise ValueError("metric 'params' is a vector: compare it with than_run or than_at (their distance)")
            if self.at not in POINTS and not isinstance(self.at, int):
                raise ValueError("metric 'params' is read at a step: `at` must be start, final or a step number")
            if self.than_at is not None and self.than_at not in POINTS and not isinstance(self.than_at, int):
                raise ValueError("metric 'params' is read at a step: than_at must be start, final or a step number")
        return self

    def describe(self) -> str:
        """A short, plain statement of what is checked, e.g. "loss of 'sgd' at step 1 / at step 300 > 10"."""
        who = f"'{self.run}'" if self.run else "every run"
        if self.kind == "ends_in":
            text = f"{who} ends within {self.within:g} of a {self.ends_in} {'point' if self.ends_in == 'saddle' else 'minimum'}"
        elif self.kind == "diverges":
            text = f"{who} {'diverges' if self.diverges else 'never diverges'}"
        elif self.kind == "stops_early":
            text = f"{who} {'is stopped early' if self.stops_early else 'is not stopped early'}"
        else:
            what = "distance between the parameters" if self.metric == "params" else self.metric
            if self.metric == "layer_grad_norm":
                what = f"gradient norm of layer {self.layer}"
            elif self.metric == "sparsity" and self.tolerance is not None:
                what = f"sparsity (|w| < {self.tolerance:g})"
            if self.at == "jitter":
                text = f"jitter (mean change per step) of the {what} of {who}{_window(self.during, self.last)}"
            else:
                text = f"{what} of {who} {_when(self.at, self.during, self.last)}"
            if self.relative:
                other = f"'{self.than_run}'"
                sign = "/" if self.by == "ratio" and self.metric != "params" else "-"
                if self.metric == "params":
                    sign = "vs"
                when = "the same" if self.than_at is None else _when(self.than_at, self.during, self.last)
                text += f" {sign} {when} for {other}" if self.than_run else f" {sign} {when}"
            symbols = {"below": "<", "above": ">", "at_most": "<=", "at_least": ">="}
            text += " " + " and ".join(f"{symbols[k]} {v:g}" for k, v in self.comparisons.items())
        if self.across not in ("each",):
            text = f"{self.across} over runs: {text}" if self.across != "any" else f"at least one run: {text}"
        if self.also is not None:
            text += f", and {self.also.describe()}"
        if self.fraction_above is not None:
            text += f", in more than {self.fraction_above:.0%} of the runs"
        if self.fraction_below is not None:
            text += f", in less than {self.fraction_below:.0%} of the runs"
        return text


def known_at(e: Expectation, steps: int) -> int:
    """The step by which an expectation can be judged in a run of `steps` steps."""

    def step_of(at: Any, during: tuple[int, int] | None) -> int:
        if isinstance(at, int):
            return min(at, steps)
        if at == "start":
            return 0
        if at in REDUCTIONS and during is not None:
            return min(during[1], steps)
        return steps

    if e.kind in ("diverges", "stops_early"):
        return steps
    points = [step_of(e.at, e.during)]
    if e.than_at is not None:
        points.append(step_of(e.than_at, e.during))
    if e.also is not None:
        points.append(step_of(e.also.at, e.also.during))
    return max(points)


def _when(at: Any, during: tuple[int, int] | None, last: int | None = None) -> str:
    if isinstance(at, int):
        return f"at step {at}"
    if at in POINTS:
        return "at the start" if at == "start" else "at the end"
    return {"any": "at some step", "all": "at every step", "jitter": "jitter"}.get(at, f"{at}") + _window(during, last)


def _window(during: tuple[int, int] | None, last: int | None = None) -> str:
    if last is not None:
        return f" over the last {plural(last, 'step')}"
    return f" over steps {during[0]}-{during[1]}" if during else ""


def window(e: Expectation | Condition, steps: int) -> tuple[int, int] | None:
    """The [first, last] steps a reduction looks at: `during`, or the last N steps, or None (all)."""
    if e.last is not None:
        return (max(0, steps - e.last + 1), steps)  # N values: steps final-N+1 .. final
    return e.during


def measured_name(e: Expectation | Condition) -> str:
    """The name a metric is measured under: its name, with the layer or tolerance it needs."""
    if e.metric == "layer_grad_norm":
        return f"layer_grad_norm@{e.layer}"
    if e.metric == "sparsity" and e.tolerance is not None:
        return f"sparsity@{e.tolerance!r}"
    return e.metric


def run_names(info: ValidationInfo) -> set[str] | None:
    """Every name `run` may use: each run's label and each [[runs]] entry's label (None if unknown).

    Mirrors gdsim.build.resolve_runs: an unlabelled entry is "run N" (or "run" when alone), and
    each seed of an ensemble is "label (seed s)".
    """
    runs = info.data.get("runs")
    header = info.data.get("scenario")
    if runs is None or header is None:
        return None
    names: set[str] = set()
    for index, run in enumerate(runs):
        label = run.label or (f"run {index + 1}" if len(runs) > 1 else "run")
        names.add(label)
        first = header.seed if run.seed is None else run.seed
        if run.seeds > 1:
            names.update(f"{label} (seed {first + k})" for k in range(run.seeds))
    return names


def _check_run_names(value: tuple[Expectation, ...], info: ValidationInfo) -> tuple[Expectation, ...]:
    ids = [e.id for e in value if e.id is not None]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise ValueError(f"each [[expect]] id must be unique; repeated: {', '.join(repeated)}")
    names = run_names(info)
    if names is None:
        return value
    for index, expectation in enumerate(value):
        for key in ("run", "than_run"):
            name = getattr(expectation, key)
            if name is not None and name not in names:
                # Listed without each seed of an ensemble (a scenario may have hundreds).
                groups = sorted(n for n in names if not n.endswith(")") or " (seed " not in n)
                raise ValueError(
                    f"expect.{index}.{key}: no run is labelled {name!r}; the runs are: {', '.join(map(repr, groups))}"
                )
    return value


ExpectList = Annotated[tuple[Expectation, ...], AfterValidator(_check_run_names)]
