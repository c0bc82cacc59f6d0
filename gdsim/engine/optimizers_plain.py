"""SGD (with momentum and nesterov, torch.optim.SGD) and damped Newton: the two rules of gdsim.engine.optimizers
that are not adaptive (those are in optimizers_adaptive). See gdsim.engine.optimizers for the interface.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from gdsim.engine.optimizers_adaptive import as_lr, column, elementwise, fresh, nonzero, note
from gdsim.errors import UserError


class OptimizerError(UserError, ValueError):
    """An optimizer name or hyperparameter that cannot be used (the message says which and why)."""


class SgdState(NamedTuple):
    step: int
    momentum_buffer: np.ndarray | None  # the velocity v; None when momentum == 0


class NewtonState(NamedTuple):
    step: int


def sgd(lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
    """Stochastic gradient descent with torch.optim.SGD's momentum convention.

    g ← g + λθ                    (if weight_decay λ ≠ 0)
    v ← g                         (first step: no dampening)
    v ← μ·v + (1 − τ)·g           (later steps; τ = dampening)
    g ← g + μ·v  (nesterov)   or   g ← v   (if momentum μ ≠ 0)
    θ ← θ − η·g

    The learning rate multiplies the whole velocity (torch's form), not just the new gradient,
    so changing η mid-run rescales the momentum already built up.
    """
    use_momentum = nonzero(momentum)
    if isinstance(momentum, np.ndarray) and nonzero(dampening):
        # torch ignores dampening without momentum: a run with momentum 0 among others gets
        # v = 0·v + 1·g = g, exactly its plain gradient
        dampening = np.where(momentum == 0, 0.0, dampening)
    momentum, dampening, weight_decay = column(momentum), column(dampening), column(weight_decay)
    damped = nonzero(dampening)
    decays = nonzero(weight_decay)

    def init(params: np.ndarray) -> SgdState:
        return SgdState(0, np.zeros_like(params, dtype=np.float64) if use_momentum else None)

    def prepare(step, lr):
        return lr, step == 1

    def rule(coefs, grads, params, buf, record=None):
        lr, first = coefs
        note(record, "g", grads)
        if decays:
            grads = grads + weight_decay * params
            note(record, "g_wd", grads)
        if use_momentum:
            if first:
                buf = fresh(grads)
            else:
                # torch: buf.mul_(momentum).add_(grad, alpha=1 - dampening); with no dampening the
                # alpha is exactly 1, so the multiplication is skipped (same result, one op less).
                scaled = (1 - dampening) * grads if damped else grads
                buf = buf * momentum + scaled
            note(record, "v", buf)
            if nesterov:
                grads = grads + momentum * buf
                note(record, "g_nesterov", grads)
            else:
                grads = buf
        delta = -lr * grads
        note(record, "step", delta)
        params = params + delta
        note(record, "params", params)
        return params, buf

    return (init, *elementwise(SgdState, prepare, rule))


def newton(lr=1.0, damping=0.0):
    """Damped Newton's method on the Hessian H handed to each update ((R, P, P), one per run).

    d ← (H + δ·I)⁻¹ g             (δ = damping; least-squares d where H + δ·I is singular)
    θ ← θ − η·d

    With η = 1 and δ = 0 one step lands on the minimum of a quadratic. Not in torch.optim.
    """

    def init(params: np.ndarray) -> NewtonState:
        return NewtonState(0)

    def update(grads, state, params, lr, hessian=None, *, record=None):
        if hessian is None:
            raise OptimizerError("newton needs the Hessian: pass hessian=(R, P, P) to update()")
        new_params = preconditioned_step(grads, params, lr, hessian, damping, _solve_rows, record, "H")
        return new_params, NewtonState(state.step + 1)

    return init, update, None  # not element by element: it solves with the whole Hessian


def preconditioned_step(grads, params, lr, matrix, damping, solve, record, name: str) -> np.ndarray:
    """θ − η·(M + δ·I)⁻¹·g, with one P × P system per run: Newton's step (M the Hessian, solved by
    _solve_rows) and the natural gradient's (M the Fisher, gdsim.engine.optimizers_natural).
    `matrix` is (R, P, P); `damping` δ one value or one per run; `solve(m, g)` solves every row;
    `name` is M's name in the record ("H", "F")."""
    m = np.asarray(matrix, dtype=np.float64)
    if nonzero(damping):  # one value, or one per run ((R,) -> (R, 1, 1))
        m = m + np.reshape(damping, (-1, 1, 1) if np.ndim(damping) else ()) * np.eye(m.shape[-1])
    note(record, "g", grads)
    note(record, name, m)
    direction = solve(m, np.asarray(grads, dtype=np.float64))
    note(record, "d", direction)
    delta = -as_lr(lr) * direction
    note(record, "step", delta)
    new_params = params + delta
    note(record, "params", new_params)
    return new_params


def _solve_rows(h: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Solve h[r] d[r] = g[r] for every row; singular rows get the minimum-norm least-squares d."""
    try:
        return np.linalg.solve(h, g[..., None])[..., 0]
    except np.linalg.LinAlgError:
        pass
    # Rare path (some row is exactly singular): row by row, so one bad row cannot spoil the rest.
    out = np.empty_like(g, dtype=np.float64)
    for r in range(g.shape[0]):
        if not (np.isfinite(h[r]).all() and np.isfinite(g[r]).all()):
            out[r] = np.nan  # a diverged run: the simulation freezes it
            continue
        try:
            out[r] = np.linalg.solve(h[r], g[r])
        except np.linalg.LinAlgError:
            out[r] = np.linalg.lstsq(h[r], g[r], rcond=None)[0]
    return out
