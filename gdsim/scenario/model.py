"""The scenario file as an immutable pydantic model: what each table and key may hold.

Validation here is about shape and range (types, finite numbers, sane sizes). Whether a key fits
the chosen surface, data set or optimizer is checked when the scenario is built (gdsim.build), and
`load_scenario` does that trial build too, so `gdsim check` catches both kinds of mistake.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from gdsim.scenario.columns import MAX_COLUMNS, ColumnItem
from gdsim.scenario.expect import ExpectList, run_names
from gdsim.scenario.predict import Predict, check_no_placeholders, check_placeholders, texts_with_placeholders

MAX_TEXT = 20_000
MAX_RUNS = 10_000  # after expanding `seeds`, per scenario

Finite = Annotated[float, Field(allow_inf_nan=False, ge=-1e12, le=1e12)]
NonNeg = Annotated[float, Field(allow_inf_nan=False, ge=0.0, le=1e12)]
Positive = Annotated[float, Field(allow_inf_nan=False, gt=0.0, le=1e12)]
Seed = Annotated[int, Field(ge=0, le=2**32 - 1)]
Label = Annotated[str, Field(min_length=1, max_length=60)]
ShortText = Annotated[str, Field(max_length=500)]


class Strict(BaseModel):
    """Unknown keys are errors, values are finite, models never change after loading."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, allow_inf_nan=False, str_max_length=MAX_TEXT
    )


class ScenarioInfo(Strict):
    """[scenario]: what the lesson is and how long it runs by default."""

    title: Annotated[str, Field(min_length=1, max_length=120)]
    claim: Annotated[str, Field(min_length=1, max_length=500)]
    lesson: str = ""
    try_this: tuple[ShortText, ...] = Field(default=(), max_length=20)
    steps: Annotated[int, Field(ge=1, le=10_000_000)] = 300
    seed: Seed = 0
    order: Annotated[int, Field(ge=0, le=10_000)] = 1000  # position in the built-in list
    tags: tuple[Annotated[str, Field(max_length=40)], ...] = Field(default=(), max_length=20)


class ProblemSpec(Strict):
    """[problem]: a 2-D surface, a user expression, or a model trained on a data set.

    Surface parameters (e.g. `condition` for quadratic, `b` for rosenbrock) sit beside `surface`
    and are checked against that surface when the scenario is built.
    """

    model_config = ConfigDict(extra="allow", frozen=True, allow_inf_nan=False)

    surface: Annotated[str, Field(max_length=40)] | None = None
    expression: Annotated[str, Field(min_length=1, max_length=1000)] | None = None
    dataset: Annotated[str, Field(max_length=40)] | None = None
    noise: Annotated[float, Field(allow_inf_nan=False, ge=0.0, le=1e3)] | None = None
    view: tuple[Finite, Finite, Finite, Finite] | None = None
    bound: Annotated[float, Field(allow_inf_nan=False, gt=0.0, le=1e100)] | None = None
    # data sets (learning problems)
    samples: Annotated[int, Field(ge=4, le=200_000)] | None = None
    split: tuple[NonNeg, NonNeg, NonNeg] | None = None
    standardize: bool | None = None
    model: Annotated[str, Field(max_length=40)] | None = None
    hidden: tuple[Annotated[int, Field(ge=1, le=4096)], ...] | None = Field(default=None, max_length=32)
    activation: Annotated[str, Field(max_length=40)] | None = None
    init: Annotated[str, Field(max_length=40)] | None = None
    init_scale: Positive | None = None
    loss: Annotated[str, Field(max_length=40)] | None = None
    batch_size: Annotated[int, Field(ge=1, le=200_000)] | None = None
    l1: NonNeg | None = None
    l2: NonNeg | None = None
    dropout: Annotated[float, Field(allow_inf_nan=False, ge=0.0, lt=1.0)] | None = None
    batch_norm: bool | None = None
    path: Annotated[str, Field(min_length=1, max_length=4096)] | None = None
    target: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    classes: Annotated[int, Field(ge=2, le=100)] | None = None
    outliers: Annotated[float, Field(allow_inf_nan=False, ge=0.0, le=0.5)] | None = None
    imbalance: Annotated[float, Field(allow_inf_nan=False, gt=0.0, lt=1.0)] | None = None
    feature_scale: tuple[Positive, ...] | None = Field(default=None, min_length=1, max_length=4096)
    data_seed: Seed | None = None
    # training aids (any problem)
    clip_norm: Positive | None = None
    eval_every: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    patience: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    restore_best: bool | None = None

    @model_validator(mode="after")
    def _extra_are_numbers(self) -> ProblemSpec:

        for key, value in (self.model_extra or {}).items():
            if isinstance(value, bool) or not isinstance(value, (int, float, str)):
                raise ValueError(f"problem.{key}: expected a number or a short string")
            if isinstance(value, str) and len(value) > 200:
                raise ValueError(f"problem.{key}: at most 200 characters")
            if isinstance(value, float) and not abs(value) <= 1e12:
                raise ValueError(f"problem.{key}: expected a finite number of at most 1e12")
        return self

    def explicit(self) -> dict[str, Any]:
        """The keys the file actually set (extras included), for merging run overrides."""
        data = self.model_dump(exclude_unset=True)
        data.update(self.model_extra or {})
        return data


class OptimizerSpec(Strict):
    """[optimizer]: torch.optim's names and hyperparameters; unset keys take torch's defaults."""

    name: Annotated[str, Field(max_length=40)] | None = None
    lr: NonNeg | None = None
    momentum: NonNeg | None = None
    dampening: NonNeg | None = None
    nesterov: bool | None = None
    weight_decay: NonNeg | None = None
    lr_decay: NonNeg | None = None
    initial_accumulator_value: NonNeg | None = None
    eps: NonNeg | None = None
    alpha: NonNeg | None = None
    centered: bool | None = None
    betas: tuple[NonNeg, NonNeg] | None = None
    amsgrad: bool | None = None
    damping: NonNeg | None = None
    variant: Literal["polak_ribiere", "fletcher_reeves"] | None = None  # cg
    line_search: Literal["exact", "armijo"] | None = None  # cg

    def explicit(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True, exclude_none=True)


class ScheduleSpec(Strict):
    """[schedule]: how the learning rate changes, with torch.optim.lr_scheduler's semantics."""

    name: Literal["constant", "step", "exponential", "cosine", "plateau"] | None = None
    step_size: Annotated[int, Field(ge=1, le=10_000_000)] | None = None
    gamma: Annotated[float, Field(allow_inf_nan=False, gt=0.0, le=10.0)] | None = None
    t_max: Annotated[int, Field(ge=1, le=10_000_000)] | None = None
    eta_min: NonNeg | None = None
    warmup: Annotated[int, Field(ge=0, le=10_000_000)] | None = None
    warmup_start_factor: Annotated[float, Field(allow_inf_nan=False, gt=0.0, le=1.0)] | None = None
    # plateau (torch's ReduceLROnPlateau, mode min)
    factor: Annotated[float, Field(allow_inf_nan=False, ge=0.0, lt=1.0)] | None = None
    patience: Annotated[int, Field(ge=0, le=10_000_000)] | None = None
    threshold: NonNeg | None = None
    threshold_mode: Literal["rel", "abs"] | None = None
    cooldown: Annotated[int, Field(ge=0, le=10_000_000)] | None = None
    min_lr: NonNeg | None = None
    eps: NonNeg | None = None

    def explicit(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True, exclude_none=True)


# ---- changes at step k ([[runs.changes]]; helpers in gdsim.scenario.changes) ----

MAX_CHANGES = 1000  # per [[runs]] entry
CHANGEABLE_PROBLEM = ("batch_size", "l1", "l2", "noise", "clip_norm")
CHANGE_TABLES = ("optimizer", "schedule", "problem")
# Keys of a [[runs]] entry that define step 0 (or who the run is) and so cannot change mid-run.
RESTARTING = ("seed", "seeds", "start", "label", "changes")


def restarts(key: str) -> str:
    return (f"{key} cannot change mid-run: it defines step 0 (the run's seed, start or problem), so "
            f"changing it restarts the run; set it on the run itself (or press the key in the app, "
            f"which restarts that run). Keys that can change at a step: optimizer.*, schedule.*, "
            f"problem.{', problem.'.join(CHANGEABLE_PROBLEM)}")


class ProblemChange(Strict):
    """The [problem] keys that may change mid-run."""

    batch_size: Annotated[int, Field(ge=1, le=200_000)] | None = None
    l1: NonNeg | None = None
    l2: NonNeg | None = None
    noise: Annotated[float, Field(allow_inf_nan=False, ge=0.0, le=1e3)] | None = None
    clip_norm: Positive | None = None

    def explicit(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True, exclude_none=True)


class ChangeSpec(Strict):
    """One [[runs.changes]] entry: the step and the keys that change there."""

    at: Annotated[int, Field(ge=1, le=100_000_000)]
    optimizer: OptimizerSpec | None = None
    schedule: ScheduleSpec | None = None
    problem: ProblemChange | None = None

    @model_validator(mode="before")
    @classmethod
    def _dotted(cls, data: Any) -> Any:
        """Quoted dotted keys ("optimizer.lr" = 0.01) as nested tables; step-0 keys refused."""
        if not isinstance(data, dict):
            return data
        out: dict[str, Any] = {}
        for key, value in data.items():
            head, *rest = str(key).split(".")
            if head in RESTARTING:
                raise ValueError(restarts(head))
            if head in ("scenario", "expect", "predict"):
                raise ValueError(f"{key}: [{head}] belongs to the whole scenario, not a run; it cannot change at a step")
            node = out
            for part in (head, *rest[:-1]) if rest else ():
                node = node.setdefault(part, {})
                if not isinstance(node, dict):
                    raise ValueError(f"{key}: {part} is given both as a value and as a table")
            last = rest[-1] if rest else head
            if isinstance(node.get(last), dict) and isinstance(value, dict):
                node[last] = {**node[last], **value}
            else:
                node[last] = value  # unknown keys go on to pydantic, which names the valid ones
        problem = out.get("problem")
        if isinstance(problem, dict):
            for key in problem:
                if key not in CHANGEABLE_PROBLEM:
                    raise ValueError(restarts(f"problem.{key}"))
        return out

    @model_validator(mode="after")
    def _something(self) -> ChangeSpec:
        if not self.keys():
            raise ValueError(f"the change at step {self.at} changes nothing: add keys such as optimizer.lr = 0.01")
        return self

    def keys(self) -> dict[str, Any]:
        """The dotted keys changed and their values: {"optimizer.lr": 0.01}."""
        out = {}
        for table in CHANGE_TABLES:
            spec = getattr(self, table)
            if spec is not None:
                for key, value in spec.explicit().items():
                    out[f"{table}.{key}"] = value
        return out


class RunSpec(Strict):
    """[[runs]]: one run, or with `seeds = N` an ensemble of N runs with consecutive seeds."""

    label: Label | None = None
    seed: Seed | None = None
    seeds: Annotated[int, Field(ge=1, le=MAX_RUNS)] = 1
    start: tuple[Finite, ...] | None = Field(default=None, min_length=1, max_length=2)
    optimizer: OptimizerSpec | None = None
    schedule: ScheduleSpec | None = None
    problem: ProblemSpec | None = None
    changes: tuple[ChangeSpec, ...] = Field(default=(), max_length=MAX_CHANGES)


class ViewSpec(Strict):
    """[view]: what the app's screen shows for this scenario."""

    columns: tuple[ColumnItem, ...] | None = Field(
        default=None, max_length=MAX_COLUMNS,
        description="Key-metric columns of the run table, beside the loss: metric names "
        "(\"val_loss\", \"val_accuracy\", \"epochs\", \"distance_to_global\"...) or tables "
        "{ metric = \"params\", than_run = \"label\", title = \"to clean\" }. Unset: derived from the "
        "expects; [] : none.")


class Scenario(Strict):
    """A whole scenario file."""

    scenario: ScenarioInfo
    problem: ProblemSpec
    optimizer: OptimizerSpec = OptimizerSpec(name="sgd")
    schedule: ScheduleSpec | None = None
    runs: tuple[RunSpec, ...] = Field(default=(RunSpec(),), min_length=1, max_length=100)
    expect: ExpectList = Field(default=(), max_length=50)
    predict: Predict | None = None
    view: ViewSpec | None = None

    @field_validator("view")
    @classmethod
    def _view_runs(cls, view: ViewSpec | None, info: ValidationInfo) -> ViewSpec | None:
        names = run_names(info)
        if view is None or view.columns is None or names is None:
            return view
        for index, column in enumerate(view.columns):
            if column.than_run is not None and column.than_run not in names:
                groups = sorted(n for n in names if " (seed " not in n)
                raise ValueError(f"view.columns.{index}.than_run: no run is labelled {column.than_run!r}; "
                                 f"the runs are: {', '.join(map(repr, groups))}")
        return view

    @model_validator(mode="after")
    def _sizes(self) -> Scenario:
        total = sum(run.seeds for run in self.runs)
        if total > MAX_RUNS:
            raise ValueError(f"runs: {total} runs in all (counting seeds); at most {MAX_RUNS}")
        problem_kinds = [k for k in ("surface", "expression", "dataset") if getattr(self.problem, k)]
        if len(problem_kinds) != 1:
            raise ValueError(
                "problem: set exactly one of surface, expression or dataset"
                + (f" (found {', '.join(problem_kinds)})" if problem_kinds else "")
            )
        for r, run in enumerate(self.runs):
            for i in range(1, len(run.changes)):
                if run.changes[i].at <= run.changes[i - 1].at:
                    raise ValueError(
                        f"runs.{r}.changes.{i}.at: changes must be in increasing steps, one [[runs.changes]] "
                        f"per step; step {run.changes[i].at} comes after step {run.changes[i - 1].at}"
                    )
        labels = [run.label for run in self.runs if run.label]
        duplicates = sorted({label for label in labels if labels.count(label) > 1})
        if duplicates:
            raise ValueError(f"runs: each label must be unique; repeated: {', '.join(duplicates)}")
        ids = {e.id for e in self.expect if e.id is not None}
        if self.predict is not None:
            for index, name in enumerate(self.predict.shown_by):
                if name not in ids:
                    known = ", ".join(sorted(ids)) if ids else "none (give the [[expect]] that checks the answer an id)"
                    raise ValueError(f"predict.shown_by.{index}: no [[expect]] has id {name!r}; the ids are: {known}")
        check_placeholders(texts_with_placeholders(self), ids)
        check_no_placeholders(self)
        return self
