"""Optimizers with torch.optim's names, defaults, checks and equations, as pure (init, update) pairs.

Parameters are an (R, P) float64 matrix, one row per run; an update moves every row in one array
operation and returns new arrays (the state is a NamedTuple that is never modified in place, so
the app can show the velocity and the history can keep snapshots). Hyperparameters are scalars
shared by all rows, or, for a sweep (gdsim.engine.sweep), any numeric one (lr, momentum, betas,
eps, weight_decay, ...) may be an (R,) array, one value per run: the rules then see an (R, 1)
column, and each row computes exactly what a run with that scalar computes. The learning rate
handed to `update` (the schedule's lr_at(k)) may likewise be an (R,) array.

    opt = make_optimizer("adam", lr=0.01)
    state = opt.init(params)
    params, state = opt.update(grads, state, params, lr)

opt.hyper["lr"] is the base lr a schedule starts from; each update uses the lr it is handed.
State fields an optimizer does not use as configured (sgd's momentum_buffer without momentum,
Adam's max_exp_avg_sq without amsgrad) are None. Sgd and Newton live in optimizers_plain; Adagrad, RMSprop, Adam and AdamW in optimizers_adaptive;
conjugate gradient (cg) in optimizers_cg; the natural gradient in optimizers_natural. All but Newton, cg and natural are written as one per-element rule (optimizers_adaptive.elementwise) that steps
(R, P) arrays and single Python floats alike: the formulas exist once.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable
from functools import partial
from operator import attrgetter
from typing import Any, NamedTuple

import numpy as np

from gdsim.engine.optimizers_adaptive import (
    AdagradState,
    AdamState,
    Elementwise,
    RMSpropState,
    adagrad,
    adam,
    elementwise,
    rmsprop,
)
from gdsim.engine.optimizers_cg import LINE_SEARCHES, VARIANTS, CGState, conjugate_gradient
from gdsim.engine.optimizers_natural import RULE as NATURAL_RULE
from gdsim.engine.optimizers_natural import NaturalState, natural_gradient
from gdsim.engine.optimizers_plain import NewtonState, OptimizerError, SgdState, newton, sgd

__all__ = [
    "AdagradState", "AdamState", "CGState", "DEFAULTS", "Elementwise", "NaturalState", "NewtonState",
    "OPTIMIZER_NAMES", "Optimizer",
    "OptimizerError", "RMSpropState", "RULES", "SgdState", "explain_step", "make_optimizer",
    "state_rows",
]


class Optimizer(NamedTuple):
    name: str  # canonical: sgd, adagrad, rmsprop, adam, adamw, newton, cg, natural
    hyper: dict[str, Any]  # resolved hyperparameters, torch's names, lr = the base lr
    init: Callable[[np.ndarray], Any]
    update: Callable[..., tuple[np.ndarray, Any]]  # (grads, state, params, lr, hessian=None)
    velocity: Callable[[Any], np.ndarray | None]
    needs_hessian: bool
    # The per-element rule `update` is built from (None for newton): the simulation steps a few
    # 2-D runs with it on Python floats, gdsim.engine.scalar_step.
    elementwise: Elementwise | None = None
    # cg's armijo line search: update() also takes loss= (R,) and loss_at=(params -> losses).
    needs_loss: bool = False
    # The hyperparameters given as (R,) arrays, one value per run (a sweep); elementwise is then
    # None (the float path steps one run with scalar hyperparameters).
    per_run: tuple[str, ...] = ()
    # natural: update() also takes fisher= (R, P, P), the Fisher matrix on the current batch.
    needs_fisher: bool = False


# ---- the registry: defaults, checks, shortcuts ----------------------------------------------

DEFAULTS: dict[str, dict[str, Any]] = {
    "sgd": {"lr": 1e-3, "momentum": 0.0, "dampening": 0.0, "weight_decay": 0.0, "nesterov": False},
    "adagrad": {
        "lr": 1e-2, "lr_decay": 0.0, "weight_decay": 0.0, "initial_accumulator_value": 0.0,
        "eps": 1e-10,
    },
    "rmsprop": {
        "lr": 1e-2, "alpha": 0.99, "eps": 1e-8, "weight_decay": 0.0, "momentum": 0.0,
        "centered": False,
    },
    "adam": {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0, "amsgrad": False},
    "adamw": {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 1e-2, "amsgrad": False},
    "newton": {"lr": 1.0, "damping": 0.0},
    "cg": {"lr": 1.0, "variant": "polak_ribiere", "line_search": "armijo"},
    "natural": {"lr": 1.0, "damping": 1e-2},
}

_SHORTCUTS: dict[str, tuple[str, dict[str, Any]]] = {
    "momentum": ("sgd", {"momentum": 0.9}),
    "nesterov": ("sgd", {"momentum": 0.9, "nesterov": True}),
}

OPTIMIZER_NAMES: tuple[str, ...] = (*DEFAULTS, *_SHORTCUTS)

_FLAGS = {"nesterov", "centered", "amsgrad"}
_CHOICES = {"variant": VARIANTS, "line_search": LINE_SEARCHES}

# torch's wording for each range check, and the range it enforces.
_LABELS = {
    "lr": "learning rate", "momentum": "momentum value", "weight_decay": "weight_decay value",
    "lr_decay": "lr_decay value", "eps": "epsilon value", "alpha": "alpha value",
    "initial_accumulator_value": "initial_accumulator_value value", "damping": "damping value",
}


def _check_number(opt: str, key: str, value: Any) -> float | np.ndarray:
    """A number as a float, or one number per run (a 1-D sequence) as a read-only float64 array."""
    if isinstance(value, (np.ndarray, list, tuple)):
        values = np.asarray(value)
        if values.ndim != 1 or not len(values) or values.dtype.kind not in "iuf":
            raise OptimizerError(f"{opt}: '{key}' must be a number or one number per run, got {value!r}")
        values = values.astype(np.float64)  # a copy: the caller's array may change, this may not
        values.flags.writeable = False
        return values
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise OptimizerError(f"{opt}: '{key}' must be a number, got {value!r}")
    return float(value)


def _first_bad(value: float | np.ndarray, ok: Callable[[np.ndarray], np.ndarray]) -> float | None:
    """The first value (of one, or of one per run) that fails `ok`, or None if all pass."""
    values = np.atleast_1d(value)
    with np.errstate(invalid="ignore"):
        bad = ~ok(values)
    return float(values[np.argmax(bad)]) if bad.any() else None


def _resolve(name: str, given: dict[str, Any]) -> dict[str, Any]:
    """Defaults overlaid with `given`, type- and range-checked like torch.optim's constructors.
    Numeric hyperparameters may be one value per run ((R,) arrays); each value is checked."""
    hyper = dict(DEFAULTS[name])
    for key, value in given.items():
        if key in _FLAGS:
            if not isinstance(value, (bool, np.bool_)):
                raise OptimizerError(f"{name}: '{key}' must be true or false, got {value!r}")
            hyper[key] = bool(value)
        elif key in _CHOICES:
            if value not in _CHOICES[key]:
                raise OptimizerError(
                    f"{name}: '{key}' must be one of {', '.join(_CHOICES[key])}, got {value!r}"
                )
            hyper[key] = value
        elif key == "betas":
            if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(value) != 2:
                raise OptimizerError(
                    f"{name}: 'betas' must be a pair of numbers like (0.9, 0.999), got {value!r}"
                )
            hyper[key] = tuple(_check_number(name, "betas", b) for b in value)
        else:
            hyper[key] = _check_number(name, key, value)
    sizes = {len(v) for v in (*hyper.values(), *hyper.get("betas", ())) if isinstance(v, np.ndarray)}
    if len(sizes) > 1:
        raise OptimizerError(f"{name}: hyperparameters given per run must have one value per run each; "
                             f"got lengths {', '.join(map(str, sorted(sizes)))}")
    for key, label in _LABELS.items():
        if key in hyper and (bad := _first_bad(hyper[key], lambda v: (0.0 <= v) & (v < math.inf))) is not None:
            shown = _show(given[key] if key in given and np.ndim(given[key]) == 0 else bad)
            raise OptimizerError(f"Invalid {label}: {shown} ('{key}' must be a finite number >= 0)")
    if "alpha" in hyper and (bad := _first_bad(hyper["alpha"], lambda v: v <= 1.0)) is not None:
        # torch only checks alpha >= 0; alpha > 1 makes the square average negative.
        raise OptimizerError(f"Invalid alpha value: {_show(bad)} ('alpha' must be in [0, 1])")
    if "betas" in hyper:
        for i, beta in enumerate(hyper["betas"]):
            if (bad := _first_bad(beta, lambda v: (0.0 <= v) & (v < 1.0))) is not None:
                raise OptimizerError(
                    f"Invalid beta parameter at index {i}: {_show(bad)} ('betas' must be in [0, 1))"
                )
    if "dampening" in hyper and (bad := _first_bad(hyper["dampening"], np.isfinite)) is not None:
        raise OptimizerError(f"Invalid dampening value: {_show(bad)} ('dampening' must be finite)")
    if hyper.get("nesterov") and (np.any(np.asarray(hyper["momentum"]) <= 0)
                                  or np.any(np.asarray(hyper["dampening"]) != 0)):
        raise OptimizerError(
            "Nesterov momentum requires a momentum and zero dampening "
            "('nesterov' = true needs 'momentum' > 0 and 'dampening' = 0)"
        )
    return hyper


def _show(value: Any) -> str:
    """A number as the user wrote it: -1 not -1.0."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def make_optimizer(name: str, **hyper: Any) -> Optimizer:
    """The optimizer `name` (a canonical name or the shortcut momentum / nesterov) with `hyper`
    overriding torch's defaults. Raises OptimizerError with a one-line message."""
    key = str(name).strip().lower()
    if key in _SHORTCUTS:
        canonical, preset = _SHORTCUTS[key]
        given = {**preset, **hyper}
        label = f"{key} ({canonical})"
    elif key in DEFAULTS:
        canonical, given, label = key, dict(hyper), key
    else:
        close = difflib.get_close_matches(key, OPTIMIZER_NAMES, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise OptimizerError(
            f"Unknown optimizer {name!r}{hint}; valid names: {', '.join(OPTIMIZER_NAMES)}"
        )
    for k in given:
        if k not in DEFAULTS[canonical]:
            raise OptimizerError(
                f"'{k}' does not apply to {label}; it takes: {', '.join(DEFAULTS[canonical])}"
            )
    resolved = _resolve(canonical, given)
    per_run = tuple(k for k, v in resolved.items()
                    if isinstance(v, np.ndarray) or (k == "betas" and any(isinstance(b, np.ndarray) for b in v)))
    if canonical == "cg" and per_run:
        raise OptimizerError("cg: its lr cannot be given per run here (cg's update takes one lr per run "
                             "from the schedule instead)")
    build, velocity_field = _BUILDERS[canonical]
    init, update, rule = build(**resolved)
    velocity = attrgetter(velocity_field) if velocity_field else _no_velocity
    needs_hessian = canonical == "newton" or resolved.get("line_search") == "exact"
    needs_loss = resolved.get("line_search") == "armijo"
    if per_run:
        rule = None  # the float path steps runs with scalar hyperparameters only
    return Optimizer(canonical, resolved, init, update, velocity, needs_hessian, rule, needs_loss, per_run,
                     needs_fisher=canonical == "natural")


def _no_velocity(state: Any) -> None:
    return None


# The rule for each canonical name, and the state field the app plots as "velocity".
_BUILDERS: dict[str, tuple[Callable[..., tuple[Callable, Callable, Elementwise | None]], str | None]] = {
    "sgd": (sgd, "momentum_buffer"),
    "adagrad": (adagrad, None),
    "rmsprop": (rmsprop, "momentum_buffer"),
    "adam": (adam, "exp_avg"),
    "adamw": (partial(adam, decoupled=True), "exp_avg"),
    "newton": (newton, None),
    "cg": (conjugate_gradient, None),
    "natural": (natural_gradient, None),
}


def explain_step(opt: Optimizer, grads, state, params, lr, hessian=None, **inputs: Any) -> list[tuple[str, np.ndarray]]:
    """The named quantities one update computes, in order, for the rows given (slice them with
    `state_rows`). Each is (R, P) except Newton's "H", (R, P, P), and cg's β and α, (R, 1). The
    last, "params", is exactly what `opt.update` returns; "step" is what was added to the
    parameters. `inputs`: cg's loss= and loss_at=, natural's fisher= (Cohort.update_inputs gives them)."""
    record: list[tuple[str, np.ndarray]] = []
    opt.update(grads, state, params, lr, hessian=hessian, record=record, **inputs)
    return record


def state_rows(state: Any, rows: Any) -> Any:
    """The state of some runs only (rows: an index, slice or mask): arrays are sliced, step kept."""
    return type(state)(
        *(x[rows] if isinstance(x, np.ndarray) and x.ndim >= 1 else x for x in state)
    )


RULES: dict[str, str] = {
    "sgd": (
        "g ← ∇L(θ) + λ·θ\n"
        "v ← g  (first step),  v ← μ·v + (1−τ)·g\n"
        "g ← g + μ·v  (nesterov)  or  g ← v  (momentum)\n"
        "θ ← θ − η·g"
    ),
    "adagrad": (
        "g ← ∇L(θ) + λ·θ\n"
        "η_t ← η / (1 + (t−1)·lr_decay)\n"
        "G ← G + g²\n"
        "θ ← θ − η_t · g / (√G + ε)"
    ),
    "rmsprop": (
        "g ← ∇L(θ) + λ·θ\n"
        "v ← α·v + (1−α)·g²\n"
        "d ← √v + ε   (centered: ḡ ← α·ḡ + (1−α)·g,  d ← √(v − ḡ²) + ε)\n"
        "θ ← θ − η·g/d   (momentum: b ← μ·b + g/d,  θ ← θ − η·b)"
    ),
    "adam": (
        "g ← ∇L(θ) + λ·θ\n"
        "m ← β₁·m + (1−β₁)·g\n"
        "v ← β₂·v + (1−β₂)·g²     (amsgrad: v ← max(v_max, v))\n"
        "m̂ ← m/(1−β₁ᵗ),  v̂ ← v/(1−β₂ᵗ)\n"
        "θ ← θ − η·m̂ / (√v̂ + ε)"
    ),
    "adamw": (
        "θ ← θ·(1 − η·λ)\n"
        "m ← β₁·m + (1−β₁)·g\n"
        "v ← β₂·v + (1−β₂)·g²     (amsgrad: v ← max(v_max, v))\n"
        "m̂ ← m/(1−β₁ᵗ),  v̂ ← v/(1−β₂ᵗ)\n"
        "θ ← θ − η·m̂ / (√v̂ + ε)"
    ),
    "newton": (
        "H ← ∇²L(θ) + δ·I\n"
        "d ← H⁻¹·g   (least squares if H is singular)\n"
        "θ ← θ − η·d"
    ),
    "cg": (
        "β ← gᵀg / g₋ᵀg₋   (fletcher_reeves)\n"
        "β ← max(0, gᵀ(g − g₋) / g₋ᵀg₋)   (polak_ribiere)\n"
        "d ← −g + β·d₋   (d ← −g at the first step, or if gᵀd ≥ 0)\n"
        "α ← η·(−gᵀd / dᵀHd)   (exact, on a quadratic)\n"
        "α ← first of η, η/2, η/4… with L(θ+αd) ≤ L(θ) + 10⁻⁴·α·gᵀd   (armijo)\n"
        "θ ← θ + α·d"
    ),
    "natural": NATURAL_RULE,
}
