"""Nonlinear conjugate gradient (Fletcher–Reeves, Polak–Ribière+) as a pure (init, update) pair.

Not in torch.optim (torch's closest, LBFGS, is quasi-Newton); the formulas are Nocedal & Wright,
Numerical Optimization (2006), §5.2. Each run (row) keeps its own previous gradient and search
direction; nothing is modified in place.

    d ← −g                                   (first step, and at every restart)
    β ← gᵀg / g₋ᵀg₋                          (fletcher_reeves)
    β ← max(0, gᵀ(g − g₋) / g₋ᵀg₋)           (polak_ribiere: PR+, β < 0 restarts)
    d ← −g + β·d₋;   d ← −g  if gᵀd ≥ 0       (restart when d is not downhill)
    θ ← θ + α·d

The step length α comes from a line search along d:
- exact (positive-definite quadratics, whose Hessian H the surface gives):
  α = η · (−gᵀd / dᵀHd), the minimum along the line when η = 1. With η = 1 this is linear CG,
  which reaches the minimum of an n-dimensional quadratic in at most n steps (in exact arithmetic).
- armijo (everything else): backtracking from α = η, halving until
  f(θ + αd) ≤ f(θ) + c·α·gᵀd (c = 1e-4), at most 50 times; a run that finds no such α stays put
  and restarts from −g. Each trial costs one loss evaluation on the same mini-batch.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import numpy as np

from gdsim.engine.optimizers_adaptive import as_lr, note

VARIANTS = ("polak_ribiere", "fletcher_reeves")
LINE_SEARCHES = ("exact", "armijo")
ARMIJO_C = 1e-4
ARMIJO_SHRINK = 0.5
ARMIJO_TRIES = 50


class CGState(NamedTuple):
    step: int
    direction: np.ndarray | None  # d of the last update (R, P); None before the first
    prev_grad: np.ndarray | None  # g of the last update (R, P)


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.einsum("rp,rp->r", a, b)


def conjugate_gradient(lr=1.0, variant="polak_ribiere", line_search="armijo"):
    """(init, update, None); update(grads, state, params, lr, hessian=None, *, loss=None,
    loss_at=None, record=None) needs `hessian` (R, P, P) for the exact line search, and the
    current losses `loss` (R,) and a function `loss_at(params) -> (R,)` for armijo."""
    fletcher = variant == "fletcher_reeves"
    exact = line_search == "exact"

    def init(params: np.ndarray) -> CGState:
        return CGState(0, None, None)

    def update(grads, state, params, lr, hessian=None, *, loss=None, loss_at=None, record=None):
        g = np.asarray(grads, dtype=np.float64)
        note(record, "g", g)
        if state.direction is None:
            beta = np.zeros(g.shape[0])
            d = -g
        else:
            g_prev, d_prev = state.prev_grad, state.direction
            gg_prev = _dot(g_prev, g_prev)
            top = _dot(g, g) if fletcher else _dot(g, g - g_prev)
            with np.errstate(divide="ignore", invalid="ignore"):
                beta = np.where(gg_prev > 0, top / gg_prev, 0.0)
            if not fletcher:
                beta = np.maximum(beta, 0.0)  # PR+: a negative β restarts
            d = -g + beta[:, None] * d_prev
            uphill = ~(_dot(g, d) < 0)  # not a descent direction (or NaN): restart from −g
            if uphill.any():
                beta = np.where(uphill, 0.0, beta)
                d = np.where(uphill[:, None], -g, d)
        note(record, "β", beta[:, None])
        note(record, "d", d)
        slope = _dot(g, d)  # gᵀd, < 0 unless g = 0
        if exact:
            if hessian is None:
                raise ValueError("cg with the exact line search needs hessian=(R, P, P)")
            curvature = np.einsum("rp,rpq,rq->r", d, np.asarray(hessian, dtype=np.float64), d)
            with np.errstate(divide="ignore", invalid="ignore"):
                alpha = np.where(curvature > 0, -slope / curvature, 0.0) * as_lr_rows(lr)
        else:
            if loss is None or loss_at is None:
                raise ValueError("cg with the armijo line search needs loss= and loss_at=")
            alpha = _backtrack(params, d, slope, np.asarray(loss, dtype=np.float64), loss_at, lr)
        note(record, "α", alpha[:, None])
        delta = alpha[:, None] * d
        note(record, "step", delta)
        new_params = params + delta
        note(record, "params", new_params)
        # A run that did not move keeps no direction: its next step starts again from −g.
        kept = np.where((alpha != 0)[:, None], d, 0.0)
        return new_params, CGState(state.step + 1, kept, g)

    return init, update, None  # not element by element: β and α need whole rows


def as_lr_rows(lr: Any) -> Any:
    """The lr as a float or an (R,) array (as_lr gives a column)."""
    lr = as_lr(lr)
    return lr if isinstance(lr, float) else lr[:, 0]


def _backtrack(params, d, slope, loss, loss_at: Callable[[np.ndarray], np.ndarray], lr) -> np.ndarray:
    """Per row the first α of lr, lr/2, lr/4, ... with sufficient decrease (0 if none)."""
    rows = params.shape[0]
    alpha = np.broadcast_to(np.asarray(as_lr_rows(lr), dtype=np.float64), (rows,)).copy()
    accepted = np.zeros(rows, dtype=bool)
    done = ~(slope < 0)  # no downhill direction (g = 0, or NaN): nothing to search
    with np.errstate(all="ignore"):
        for _ in range(ARMIJO_TRIES):
            trial = loss_at(params + alpha[:, None] * d)
            ok = trial <= loss + ARMIJO_C * alpha * slope  # NaN fails: keep shrinking
            accepted |= ok & ~done
            done |= ok
            if done.all():
                break
            alpha = np.where(done, alpha, alpha * ARMIJO_SHRINK)
    return np.where(accepted, alpha, 0.0)
