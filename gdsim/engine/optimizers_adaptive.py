"""The adaptive optimizers (Adagrad, RMSprop, Adam, AdamW) as pure (init, update) pairs.

Each follows torch.optim's single-tensor code path operation by operation, in float64, so a
trajectory agrees with torch's to rounding: `lerp` picks torch's formula by the weight,
`addcmul`/`addcdiv` keep torch's order ((value*t1)*t2, (value*t1)/t2). The public entry point is
`gdsim.engine.optimizers.make_optimizer`; this module holds the rules and their state types.

An update takes grads, state and params of shape (R, P) and returns new arrays: nothing is
modified in place, so a caller may keep old states (history snapshots, frozen runs).
`record`, when a list, receives the named intermediate quantities for the maths panel.
Each update is built from one per-element rule (see `elementwise`) that also steps single
Python floats, so the simulation's fast path for a few 2-D runs shares these very formulas.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np


class AdagradState(NamedTuple):
    step: int
    sum: np.ndarray  # Σ g², per parameter


class RMSpropState(NamedTuple):
    step: int
    square_avg: np.ndarray
    momentum_buffer: np.ndarray | None  # None unless momentum > 0
    grad_avg: np.ndarray | None  # None unless centered


class AdamState(NamedTuple):
    step: int
    exp_avg: np.ndarray  # m, the first moment (Adam's velocity)
    exp_avg_sq: np.ndarray  # v, the second moment
    max_exp_avg_sq: np.ndarray | None  # None unless amsgrad


def as_lr(lr: Any) -> float | np.ndarray:
    """A scalar lr as a Python float; one lr per run ((R,) array) as an (R, 1) column."""
    if type(lr) is float:  # the common case, every step: skip numpy's dispatch
        return lr
    if np.ndim(lr) == 0:
        return float(lr)
    return np.asarray(lr, dtype=np.float64).reshape(-1, 1)


def column(value: Any) -> Any:
    """A hyperparameter as the rules use it: a float stays a float; one value per run ((R,) array)
    becomes an (R, 1) column, so each row of an (R, P) update meets its own value."""
    if isinstance(value, np.ndarray):
        return value.reshape(-1, 1)
    return value


def nonzero(value: Any) -> bool:
    """Whether a hyperparameter is in use for some run (a term whose value is 0 for every run is
    skipped, as torch skips it; rows with 0 among others compute x + 0·y, which is x)."""
    return bool(np.any(np.asarray(value) != 0))


def bias_correction(beta: Any) -> Callable[[float], tuple[Any, Any]]:
    """step -> (1 − βᵗ, √(1 − βᵗ)) on Python floats (the C library's pow, as torch's scalar
    maths), also for an (R, 1) column of β: NumPy's vector power may round differently in the
    last bit, and a run in a sweep must get the bits it gets alone. A column is computed once
    per distinct β (a 40 x 40 grid has 40) and spread over its rows."""
    if not isinstance(beta, np.ndarray):
        def one(step: float) -> tuple[float, float]:
            correction = 1 - beta**step
            return correction, correction**0.5
        return one
    distinct, where = np.unique(beta.ravel(), return_inverse=True)
    distinct = distinct.tolist()

    def per_run(step: float) -> tuple[np.ndarray, np.ndarray]:
        corrections = [1 - b**step for b in distinct]
        roots = [c**0.5 for c in corrections]
        return (np.array(corrections)[where].reshape(beta.shape), np.array(roots)[where].reshape(beta.shape))
    return per_run


# ---- one rule for arrays and for single numbers ----------------------------------------------
# Every rule below is written element by element with arithmetic operators, so the same function
# updates an (R, P) matrix or one parameter held as a Python float (the simulation's scalar path
# for a few 2-D runs, gdsim.engine.scalar_step). The three helpers are the only places where the
# two differ; each gives the same bits either way (sqrt is correctly rounded in both).


def sqrt(x: Any) -> Any:
    if type(x) is float and x >= 0.0:
        return math.sqrt(x)
    return np.sqrt(x)  # arrays; and a negative or NaN float, as NumPy rounds it (no ValueError)


def maximum(a: Any, b: Any) -> Any:
    """np.maximum, NaN-propagating; for two floats NumPy's scalar rule (a >= b or a is NaN)."""
    if type(a) is float and type(b) is float:
        return a if (a >= b or a != a) else b
    return np.maximum(a, b)


def fresh(x: Any) -> Any:
    """A float64 copy of an array (a state never shares memory with the gradient); floats as they are."""
    return x if type(x) is float else np.array(x, dtype=np.float64, copy=True)


class Elementwise(NamedTuple):
    """An optimizer as a per-step part and a per-element rule (how the scalar path calls it).

    prepare(step, lr) -> coefs: what every element of every run shares (step is the count after
    this update, 1 on the first). rule(coefs, g, p, *fields, record=None) -> (p, *fields): the
    update of parameters p with gradient g, `fields` being the state's fields after `step`.
    """

    state: type
    prepare: Callable[[int, Any], tuple]
    rule: Callable[..., tuple]


def elementwise(state_type: type, prepare: Callable, rule: Callable) -> tuple[Callable, Elementwise]:
    """The (R, P) update built from a rule, and the rule itself for the scalar path."""

    def update(grads, state, params, lr, hessian=None, *, record=None):
        step = state.step + 1
        new_params, *fields = rule(prepare(step, as_lr(lr)), grads, params, *state[1:], record=record)
        return new_params, state_type(step, *fields)

    return update, Elementwise(state_type, prepare, rule)


def _lr_only(step: int, lr: Any) -> tuple:
    return (lr,)


def lerp(start: np.ndarray, end: np.ndarray, weight: Any) -> np.ndarray:
    """torch.lerp with a scalar weight: the formula it uses depends on |weight| < 0.5. A column
    of weights (one per run) picks the formula per row, as each run alone would."""
    if isinstance(weight, np.ndarray):
        small = np.abs(weight) < 0.5
        if small.all() or not small.any():
            return lerp(start, end, float(weight.flat[0])) if weight.size == 1 else (
                start + weight * (end - start) if small.all() else end - (end - start) * (1.0 - weight))
        return np.where(small, start + weight * (end - start), end - (end - start) * (1.0 - weight))
    if abs(weight) < 0.5:
        return start + weight * (end - start)
    return end - (end - start) * (1.0 - weight)


def note(record: list | None, name: str, value: np.ndarray) -> None:
    """Append (name, value) to an update's `record` (the maths panel's intermediate values), if asked."""
    if record is not None:
        record.append((name, value))


def _weight_decay(grads, params, weight_decay, record):
    """g ← g + λθ (L2 penalty folded into the gradient, torch's grad.add(param, alpha=λ))."""
    if nonzero(weight_decay):
        grads = grads + weight_decay * params
        note(record, "g_wd", grads)
    return grads


def adagrad(lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10):
    """Adagrad (torch.optim.Adagrad).

    t ← t + 1
    g ← g + λθ                         (if weight_decay λ ≠ 0)
    η_t ← η / (1 + (t − 1)·lr_decay)
    G ← G + g²                          (G starts at initial_accumulator_value)
    θ ← θ − η_t · g / (√G + ε)
    """
    lr_decay, weight_decay, eps = column(lr_decay), column(weight_decay), column(eps)
    initial = column(initial_accumulator_value)

    def init(params: np.ndarray) -> AdagradState:
        return AdagradState(0, np.array(np.broadcast_to(initial, params.shape), dtype=np.float64))

    def prepare(step, lr):
        return (lr / (1 + (float(step) - 1) * lr_decay),)

    def rule(coefs, grads, params, total, record=None):
        (clr,) = coefs
        note(record, "g", grads)
        grads = _weight_decay(grads, params, weight_decay, record)
        total = total + (1 * grads) * grads
        note(record, "sum", total)
        std = sqrt(total) + eps
        note(record, "denom", std)
        delta = (-clr * grads) / std
        note(record, "step", delta)
        params = params + delta
        note(record, "params", params)
        return params, total

    return (init, *elementwise(AdagradState, prepare, rule))


def rmsprop(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False):
    """RMSprop (torch.optim.RMSprop), torch's form: ε outside the square root, buffer starts at 0.

    g ← g + λθ                          (if weight_decay λ ≠ 0)
    v ← α·v + (1 − α)·g²
    ḡ ← ḡ + (1 − α)·(g − ḡ)             (if centered)
    d ← √(v − ḡ²) + ε                   (√v + ε if not centered)
    b ← μ·b + g / d,  θ ← θ − η·b       (if momentum μ > 0)
    θ ← θ − η·g / d                     (otherwise)
    """
    use_momentum = bool(np.any(np.asarray(momentum) > 0))
    plain = column(momentum == 0) if use_momentum and isinstance(momentum, np.ndarray) and (momentum == 0).any() else None
    alpha, eps, weight_decay, momentum = column(alpha), column(eps), column(weight_decay), column(momentum)

    def init(params: np.ndarray) -> RMSpropState:
        zeros = np.zeros_like(params, dtype=np.float64)
        return RMSpropState(
            0, zeros, zeros.copy() if use_momentum else None, zeros.copy() if centered else None
        )

    def rule(coefs, grads, params, square_avg, buf, grad_avg, record=None):
        (lr,) = coefs
        note(record, "g", grads)
        grads = _weight_decay(grads, params, weight_decay, record)
        square_avg = square_avg * alpha + ((1 - alpha) * grads) * grads
        note(record, "v", square_avg)
        if centered:
            grad_avg = lerp(grad_avg, grads, 1 - alpha)
            note(record, "g_avg", grad_avg)
            avg = sqrt(square_avg + (-1 * grad_avg) * grad_avg)
        else:
            avg = sqrt(square_avg)
        avg = avg + eps
        note(record, "denom", avg)
        if use_momentum:
            buf = buf * momentum + grads / avg
            note(record, "b", buf)
            delta = -lr * buf
            if plain is not None:  # runs with momentum 0 among others step as they would alone
                delta = np.where(plain, (-lr * grads) / avg, delta)
        else:
            delta = (-lr * grads) / avg
        note(record, "step", delta)
        params = params + delta
        note(record, "params", params)
        return params, square_avg, buf, grad_avg

    return (init, *elementwise(RMSpropState, _lr_only, rule))


def adam(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, decoupled=False):
    """Adam (torch.optim.Adam); with decoupled=True, AdamW (torch.optim.AdamW).

    t ← t + 1
    θ ← θ·(1 − η·λ)                      (AdamW: decoupled weight decay)
    g ← g + λθ                           (Adam: L2 penalty in the gradient)
    m ← β₁·m + (1 − β₁)·g
    v ← β₂·v + (1 − β₂)·g²
    v_max ← max(v_max, v)                (if amsgrad; then v_max replaces v below)
    m̂ ← m / (1 − β₁ᵗ),  v̂ ← v / (1 − β₂ᵗ)
    θ ← θ − η·m̂ / (√v̂ + ε)
    computed as torch does: θ ← θ − (η/(1−β₁ᵗ))·m / (√v/√(1−β₂ᵗ) + ε)
    """
    beta1, beta2 = column(betas[0]), column(betas[1])
    eps, weight_decay = column(eps), column(weight_decay)
    decays = nonzero(weight_decay)
    correct1, correct2 = bias_correction(beta1), bias_correction(beta2)

    def init(params: np.ndarray) -> AdamState:
        zeros = np.zeros_like(params, dtype=np.float64)
        return AdamState(0, zeros, zeros.copy(), zeros.copy() if amsgrad else None)

    def prepare(step, lr):
        bias_correction1 = correct1(float(step))[0]
        bias_correction2, bias_correction2_sqrt = correct2(float(step))
        return lr, lr / bias_correction1, bias_correction2_sqrt, bias_correction1, bias_correction2

    def rule(coefs, grads, params, exp_avg, exp_avg_sq, max_sq, record=None):
        lr, step_size, bias_correction2_sqrt, bias_correction1, bias_correction2 = coefs
        note(record, "g", grads)
        if decays:
            if decoupled:
                params = params * (1 - lr * weight_decay)
                note(record, "params_decayed", params)
            else:
                grads = _weight_decay(grads, params, weight_decay, record)
        exp_avg = lerp(exp_avg, grads, 1 - beta1)
        note(record, "m", exp_avg)
        exp_avg_sq = exp_avg_sq * beta2 + ((1 - beta2) * grads) * grads
        note(record, "v", exp_avg_sq)
        second = exp_avg_sq
        if amsgrad:
            max_sq = maximum(max_sq, exp_avg_sq)
            note(record, "v_max", max_sq)
            second = max_sq
        if record is not None:
            # The bias-corrected moments as the textbook writes them (torch folds them into
            # step_size and denom; `step` below is what is actually applied).
            note(record, "m_hat", exp_avg / bias_correction1)
            note(record, "v_hat", second / bias_correction2)
        denom = sqrt(second) / bias_correction2_sqrt + eps
        note(record, "denom", denom)
        delta = (-step_size * exp_avg) / denom
        note(record, "step", delta)
        params = params + delta
        note(record, "params", params)
        return params, exp_avg, exp_avg_sq, max_sq

    return (init, *elementwise(AdamState, prepare, rule))
