"""`also` in an [[expect]]: a second comparison each run must meet for the entry to count it.

    [[expect]]
    because = "Bad local minima are rare: few runs stop (tiny gradient) at a high loss."
    run = "width 16"
    metric = "train_loss"
    above = 0.1
    also = { metric = "grad_norm", at = "max", last = 100, below = 1e-4 }
    fraction_below = 0.05

A run passes only if its metric passes AND it meets `also`, so fraction_above / fraction_below
count runs meeting both ("stationary with a high loss"). This module must not import
gdsim.scenario.expect or model (expect imports it).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, StrictInt, WithJsonSchema, model_validator

from gdsim.words import plural

Number = Annotated[float, Field(allow_inf_nan=False, ge=-1e300, le=1e300)]
Step = Annotated[StrictInt, Field(ge=0, le=10_000_000)]
MOMENTS = ("start", "final", "min", "max", "mean", "jitter")


def _at(value: Any) -> int | str:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 10_000_000:
        return value
    if isinstance(value, str) and value in MOMENTS:
        return value
    raise ValueError(f"expected a step number or one of {', '.join(MOMENTS)}; got {value!r}")


At = Annotated[int | str, PlainValidator(_at), WithJsonSchema(
    {"anyOf": [{"type": "integer", "minimum": 0, "maximum": 10_000_000}, {"enum": list(MOMENTS)}]})]


class Condition(BaseModel):
    """The `also` table: a metric each run must also meet (read like an [[expect]]'s metric)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    metric: str = Field(description="A metric name, as in [[expect]] (not params).")
    at: At = Field(default="final", description="A step, start, final, or min / max / mean / jitter over the steps.")
    during: tuple[Step, Step] | None = Field(default=None, description="[first, last] steps a reduction looks at.")
    last: Annotated[StrictInt, Field(ge=1, le=10_000_000)] | None = Field(
        default=None, description="A reduction looks at the last N steps.")
    layer: Annotated[StrictInt, Field(ge=-100, le=100)] | None = Field(default=None, description="For layer_grad_norm.")
    tolerance: Annotated[float, Field(allow_inf_nan=False, gt=0.0, le=1e6)] | None = Field(
        default=None, description="For sparsity.")
    below: Number | None = None
    above: Number | None = None
    at_most: Number | None = None
    at_least: Number | None = None

    @property
    def comparisons(self) -> dict[str, float]:
        return {k: v for k in ("below", "above", "at_most", "at_least") if (v := getattr(self, k)) is not None}

    @model_validator(mode="after")
    def _check(self) -> Condition:
        from gdsim.scenario.expect import METRICS  # at validation time: expect is loaded by then

        if self.metric not in METRICS or self.metric == "params":
            raise ValueError(f"also.metric: {self.metric!r} is not a metric one number per run can give")
        if not self.comparisons:
            raise ValueError("also needs a comparison: below, above, at_most or at_least")
        reduction = self.at in ("min", "max", "mean", "jitter")
        if (self.during is not None or self.last is not None) and not reduction:
            raise ValueError("also: during / last only apply when `at` is min, max, mean or jitter")
        if self.during is not None and self.last is not None:
            raise ValueError("also: set during or last, not both")
        if (self.metric == "layer_grad_norm") != (self.layer is not None):
            raise ValueError("also: layer goes with metric layer_grad_norm (and it needs one)")
        if self.tolerance is not None and self.metric != "sparsity":
            raise ValueError("also: tolerance goes with metric sparsity")
        return self

    def describe(self) -> str:
        symbols = {"below": "<", "above": ">", "at_most": "<=", "at_least": ">="}
        when = f"at step {self.at}" if isinstance(self.at, int) else (
            {"start": "at the start", "final": "at the end"}.get(self.at, self.at))
        if self.last is not None:
            when += f" over the last {plural(self.last, 'step')}"
        elif self.during is not None:
            when += f" over steps {self.during[0]}-{self.during[1]}"
        what = f"gradient norm of layer {self.layer}" if self.metric == "layer_grad_norm" else self.metric
        return f"{what} {when} " + " and ".join(f"{symbols[k]} {v:g}" for k, v in self.comparisons.items())

