"""The natural gradient (Amari 1998) as a pure (init, update) pair: a step preconditioned by the
Fisher information of the model's predictive distribution (gdsim.engine.fisher).

    F ← Fisher matrix at θ on this step's batch (its inputs and the model's own predictions)
    d ← (F + λ·I)⁻¹ g             (λ = damping; the pseudo-inverse where F + λ·I is singular)
    θ ← θ − η·d

Not in torch.optim. With η = 1 and λ = 0 on linear regression with MSE, F is the loss's Hessian
and one step lands on the least-squares fit. Without damping the path of the model's
*predictions* does not depend on how the parameters are written: rescaling an input feature
by c rescales its weight by 1/c and changes nothing else (Martens 2020, §12). Damping λ > 0 (a
trust region; Martens 2020, §6) gives that up a little for steps that stay finite where F is
nearly singular. Each step solves a P × P system per run: cheap for a handful of parameters,
why practical methods for large networks approximate F (K-FAC, Martens & Grosse 2015).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from gdsim.engine.optimizers_plain import preconditioned_step


RTOL = 1e-12  # eigenvalues of F below this share of the largest count as zero (see solve_psd)


class NaturalState(NamedTuple):
    step: int


RULE = (
    "F ← mean Jᵀ·H_s·J   (Fisher of the model's predictions; no labels in it)\n"
    "d ← (F + λ·I)⁻¹·g   (λ = damping)\n"
    "θ ← θ − η·d"
)


def natural_gradient(lr=1.0, damping=1e-2):
    """(init, update, None); update(grads, state, params, lr, hessian=None, *, fisher, record=None)
    needs the Fisher matrices `fisher` (R, P, P) of the current parameters on the current batch
    (Cohort.update_inputs gives them)."""

    def init(params: np.ndarray) -> NaturalState:
        return NaturalState(0)

    def update(grads, state, params, lr, hessian=None, *, fisher=None, record=None):
        if fisher is None:
            raise ValueError("natural needs the Fisher matrix: pass fisher=(R, P, P) to update()")
        new_params = preconditioned_step(grads, params, lr, fisher, damping, solve_psd, record, "F")
        return new_params, NaturalState(state.step + 1)

    return init, update, None  # not element by element: it solves with the whole matrix


def solve_psd(f: np.ndarray, g: np.ndarray) -> np.ndarray:
    """d[r] = F[r]⁺ g[r] for symmetric positive semi-definite F: the inverse on F's range, and no
    step along directions F says do not change the predictions (eigenvalues below RTOL times the
    largest; e.g. softmax, whose class scores can all shift together). A row with a non-finite
    entry (a diverged run) gets NaN, which the simulation freezes."""
    out = np.full(g.shape, np.nan)
    ok = np.isfinite(f).all(axis=(1, 2)) & np.isfinite(g).all(axis=1)
    if ok.any():
        w, q = np.linalg.eigh(f[ok])
        top = np.abs(w).max(axis=1, keepdims=True)
        keep = w > RTOL * top
        inverse = np.where(keep, 1.0 / np.where(keep, w, 1.0), 0.0)
        coords = np.einsum("rpk,rp->rk", q, g[ok])
        out[ok] = np.einsum("rpk,rk->rp", q, inverse * coords)
    return out
