"""Key-metric columns: the numbers a scenario's run table shows beside the loss.

The training loss alone misleads in many lessons (the memorizing network has the lowest training
loss; the MSE line dragged by outliers has "converged"). A scenario names the numbers its lesson
is about in `[view] columns` (docs/scenarios.md), or they are derived from its [[expect]] entries:
the metrics its [predict] `shown_by` checks read first, then those of the other checks.

Values are measured with gdsim.scenario.measure's code (the `Measurer` the expects use), so the
number in the table at the scenario's last step is the number `gdsim check --verify` reports.
Textual-free: the app's run table reads `ColumnReader.values` (gdsim.app.runtime.key_columns).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from gdsim.scenario.expect import EVAL_METRICS, SURFACE_METRICS, measured_name

if TYPE_CHECKING:  # numpy is imported where values are measured: the model (scenario files) loads without it
    import numpy as np

# Metrics a column may show: each is one number per run at any step.
COLUMN_METRICS = (*EVAL_METRICS, "epochs", "best_val_loss", *SURFACE_METRICS, "param_norm", "velocity_norm",
                  "sparsity", "hidden_unit_spread", "layer_grad_ratio", "params")
MAX_COLUMNS = 3
DEFAULT_COLUMNS = 2  # derived from the expects: at most this many (80 columns hold two beside the status)
# What the derived default never picks: already in the table (loss, |grad|, lr) or not one number per run
NOT_DERIVED = ("loss", "grad_norm", "lr", "loss_change", "layer_grad_norm", "velocity_norm")
SPLIT_TITLES = {"train": "train", "val": "val", "test": "test"}
NAME_TITLES = {"loss": "loss", "accuracy": "acc", "precision": "prec", "recall": "recall", "mae": "MAE", "mse": "MSE"}
TITLES = {
    "epochs": "epochs", "best_val_loss": "best val", "distance_to_global": "to global",
    "distance_to_local": "to local", "distance_to_nearest": "to nearest", "x": "x", "y": "y",
    "param_norm": "|w|", "velocity_norm": "|v|", "sparsity": "|w|<0.01", "hidden_unit_spread": "unit spread",
    "layer_grad_ratio": "|g₁|/|gₗ|",
}
SHARES = ("accuracy", "precision", "recall", "sparsity")  # 0..1, shown as percentages


class Column(BaseModel):
    """One key-metric column: a metric (COLUMN_METRICS), for `params` the run whose parameters the
    distance is measured to (`than_run`), and an optional header (`title`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    metric: Literal[COLUMN_METRICS] = Field(  # type: ignore[valid-type]
        description="What the column shows, per run, at the shown step: " + ", ".join(COLUMN_METRICS))
    than_run: Annotated[str, Field(min_length=1, max_length=80)] | None = Field(
        default=None, description="With metric = \"params\": the distance to this run's parameters (a label).")
    title: Annotated[str, Field(min_length=1, max_length=14)] | None = Field(
        default=None, description="The column's header (default: a short name of the metric).")

    @model_validator(mode="after")
    def _params_need_a_run(self) -> Column:
        if self.metric == "params" and self.than_run is None:
            raise ValueError("metric \"params\" needs than_run: the run whose parameters the distance is measured to")
        if self.metric != "params" and self.than_run is not None:
            raise ValueError(f"than_run is only for metric \"params\" (a distance to that run), not {self.metric!r}")
        return self

    @property
    def header(self) -> str:
        if self.title:
            return self.title
        if self.metric == "params":
            return "to " + (self.than_run or "")[:11].rstrip(" ,")
        split, _, name = self.metric.partition("_")
        if self.metric in EVAL_METRICS:
            return f"{SPLIT_TITLES[split]} {NAME_TITLES.get(name, name)}"
        return TITLES.get(self.metric, self.metric.replace("_", " "))

    @property
    def share(self) -> bool:
        return self.metric.endswith(SHARES)


def _column(value: Any) -> Any:
    """A bare string is a column of that metric: columns = ["val_loss", "val_accuracy"]."""
    return {"metric": value} if isinstance(value, str) else value


ColumnItem = Annotated[Column, BeforeValidator(_column)]


def key_columns(scenario: Any) -> tuple[Column, ...]:
    """The scenario's key-metric columns: `[view] columns` if it sets them (an empty list: none),
    else derived from its expects: a metric a [predict] shown_by check reads at the end (or
    over the run) scores 3, any other check's 1; checks read at a fixed earlier step do not
    count (the live value is not what they compare). The DEFAULT_COLUMNS best, ties in file order."""
    view = getattr(scenario, "view", None)
    if view is not None and view.columns is not None:
        return tuple(view.columns)
    steps = scenario.scenario.steps
    shown = set(scenario.predict.shown_by) if scenario.predict is not None else set()
    scores: dict[tuple[str, str | None], int] = {}
    for e in scenario.expect:
        if e.kind != "metric" or e.metric in NOT_DERIVED or e.metric not in COLUMN_METRICS:
            continue
        if isinstance(e.at, int) and e.at < steps:
            continue
        if e.metric == "params":
            if e.than_run is None or e.than_at is not None:
                continue  # a distance to its own start: not one reading per run
            key = ("params", e.than_run)
        else:
            if measured_name(e) != e.metric:
                continue  # a sparsity tolerance other than the default
            key = (e.metric, None)
        scores[key] = scores.get(key, 0) + (3 if e.id is not None and e.id in shown else 1)
    order = {key: i for i, key in enumerate(scores)}
    best = sorted(scores, key=lambda k: (-scores[k], order[k]))[:DEFAULT_COLUMNS]
    return tuple(Column(metric=m, than_run=r) for m, r in best)


def check_columns(loaded: Any, sim: Any) -> None:
    """Raise ScenarioError naming `view.columns.N` if a column's metric does not apply to the
    scenario's problem (a validation loss on a surface, a recall on a regression)."""
    from gdsim.scenario.load import ScenarioError
    from gdsim.scenario.measure import Measurer

    view = getattr(loaded.scenario, "view", None)
    if view is None or not view.columns:
        return
    measurer = Measurer(sim, (), 0)
    for index, column in enumerate(view.columns):
        name = "val_loss" if column.metric == "best_val_loss" else column.metric
        reason = None if name == "params" else measurer._why_not(name)
        if reason:
            raise ScenarioError(f"{loaded.where}: view.columns.{index}: {reason}")


def measure(sim: Any, columns: tuple[Column, ...]) -> list[np.ndarray]:
    """Per column, the (R,) values of every run at the simulation's live step (NaN where a metric
    does not apply to a run's problem, or the reference run is missing)."""
    import numpy as np

    from gdsim.scenario.measure import Measurer

    measurer = Measurer(sim, (), sim.step_count)
    out = []
    for column in columns:
        if column.metric == "params":
            out.append(_distance_to_run(sim, [c.params for c in sim.cohorts], column.than_run))
            continue
        if column.metric == "best_val_loss":
            out.append(_best_val(sim, sim.step_count))
            continue
        reason = measurer._why_not(column.metric)
        if reason:
            out.append(np.full(sim.n_runs, np.nan))
            continue
        with np.errstate(all="ignore"):
            out.append(np.asarray(measurer.current(column.metric), dtype=np.float64))
    return out


def measure_at(sim: Any, columns: tuple[Column, ...], step: int) -> list[np.ndarray]:
    """Per column, the values at a rewound `step` from the history: evaluations recorded there (or
    at the last evaluation before), surface readings from the recorded parameters, epochs; NaN
    for what the history does not hold (a test split, a network's weights)."""
    import numpy as np

    from gdsim.scenario.measure import _distance

    history = sim.history
    nan = np.full(sim.n_runs, np.nan)
    if history is None or history.count == 0:
        return [nan.copy() for _ in columns]
    index = history.index_at(step)
    params = history.recent(("params",), index, index + 1)["params"][0] if "params" in history.fields else None
    out = []
    for column in columns:
        metric = column.metric
        values = nan.copy()
        if metric != "params" and metric in history.fields:  # (the "params" field is the vectors themselves)
            steps, series = history.series(metric)
            with np.errstate(all="ignore"):
                block = np.asarray(series[: index + 1], dtype=np.float64)
                finite = np.isfinite(block)
                last = np.where(finite.any(axis=0), finite.shape[0] - 1 - np.argmax(finite[::-1], axis=0), -1)
                values = np.where(last >= 0, block[np.maximum(last, 0), np.arange(block.shape[1])], np.nan)
        elif metric == "best_val_loss":
            values = _best_val(sim, step)
        elif metric == "epochs":
            for cohort in sim.cohorts:
                per = getattr(cohort.problem, "steps_per_epoch", None)
                if per:
                    stop = np.where(cohort.stopped_at >= 0, cohort.stopped_at, np.inf)
                    stop = np.minimum(stop, np.where(cohort.diverged_at >= 0, cohort.diverged_at, np.inf))
                    values[cohort.rows] = np.minimum(stop, step) / per
        elif params is not None:
            chunks = [params[cohort.rows] for cohort in sim.cohorts]
            if metric == "params":
                values = _distance_to_run(sim, chunks, column.than_run)
            elif metric == "param_norm":
                values = np.sqrt((params**2).sum(axis=1))
            elif metric in ("x", "y"):
                values = params[:, "xy".index(metric)].copy()
            elif metric.startswith("distance_to_"):
                for cohort in sim.cohorts:
                    if getattr(cohort.problem, "minima", None):
                        values[cohort.rows] = _distance(cohort.problem, params[cohort.rows],
                                                        metric.removeprefix("distance_to_"))
        out.append(values)
    return out


def _best_val(sim: Any, step: int) -> np.ndarray:
    """The lowest validation loss recorded up to `step` (measure's best_val_loss, from the history)."""
    import numpy as np

    history = sim.history
    if history is None or "val_loss" not in history.fields or history.count == 0:
        return np.full(sim.n_runs, np.nan)
    steps, series = history.series("val_loss")
    upto = int(np.searchsorted(steps, step, side="right"))
    with np.errstate(all="ignore"):
        block = np.asarray(series[:upto], dtype=np.float64)
        if not len(block):
            return np.full(sim.n_runs, np.nan)
        best = np.fmin.reduce(block, axis=0)
    return best


def _distance_to_run(sim: Any, chunks: list[np.ndarray], label: str | None) -> np.ndarray:
    """Each run's distance (in parameter space) to the run labelled `label` (the first seed of a
    group of that name); NaN where the parameter counts differ or no run has the label."""
    import numpy as np

    out = np.full(sim.n_runs, np.nan)
    rows = [r for r, run in enumerate(sim.runs) if run.label == label] or \
           [r for r, run in enumerate(sim.runs) if run.group == label]
    if not rows:
        return out
    reference = None
    for cohort, chunk in zip(sim.cohorts, chunks):
        hit = np.flatnonzero(cohort.rows == rows[0])
        if len(hit):
            reference = chunk[hit[0]]
    if reference is None:
        return out
    for cohort, chunk in zip(sim.cohorts, chunks):
        if chunk.shape[1] == reference.shape[0]:
            with np.errstate(all="ignore"):
                out[cohort.rows] = np.sqrt(((chunk - reference) ** 2).sum(axis=1))
    return out


def cell(column: Column, value: float) -> str:
    """One reading as a table cell: shares as percentages ("97%"), epochs with three significant
    digits ("50", "71.4"), other numbers with four; "-" where there is none."""
    import numpy as np

    if value is None or not np.isfinite(value):
        return "-"
    if column.share and 0.0 <= value <= 1.0:
        return f"{value:.0%}"
    if column.metric == "epochs":
        return f"{value:.3g}" if value < 100 else f"{value:,.0f}"
    return f"{value:.4g}" if value == 0 or 1e-3 <= abs(value) < 1e5 else f"{value:.2e}"
