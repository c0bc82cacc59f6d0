"""The Fisher information of a model's predictive distribution, for the natural gradient.

A model with output scores s(x; θ) and a loss that is the negative log-likelihood of a
distribution p(y | s) has the Fisher matrix (Amari 1998; Martens 2020, §5 and §9.2)

    F = mean over the inputs x of  Jᵀ · H_s · J,     J = ∂s/∂θ (K × P),  H_s = E_{y ~ p(y|s)}[∇_s log p ∇_s log pᵀ]

and for the losses here H_s is the loss's own second derivative in the scores, which does not
depend on the targets (the losses are exponential-family NLLs in their natural parameters):

    mse   L = mean (s − y)²      a Gaussian of variance 1/2:  H_s = 2·I  (per output)
    bce   L = log(1 + eˢ) − y·s  Bernoulli, p = sigmoid(s):    H_s = p(1 − p)
    cce   softmax cross-entropy  categorical, p = softmax(s):  H_s = diag(p) − p·pᵀ

So F is the generalized Gauss–Newton matrix; for linear, logistic and softmax regression
(no hidden layer, s linear in θ) it is also the Hessian of the loss. Only the inputs x and the
model's own predictions enter: this is the *true* Fisher, not the "empirical Fisher" built from
the observed labels' gradients (mean of g·gᵀ), which Kunstner, Hennig & Balles (2019) show is a
different matrix that can point natural-gradient steps the wrong way.

An L2 penalty λ/2·Σw² adds λ to the weights' diagonal, so F stays the Gauss–Newton matrix of the
whole training objective (biases are not penalized). L1 adds no curvature here.

With hidden layers (`mlp_fisher`) J is taken per sample by backpropagating each output's unit
vector: the Jacobian of sample n's score k is, layer by layer, [h_n ⊗ δ_nk, δ_nk] with h the
layer's input and δ the backpropagated unit vector (dropout and batch norm are refused: their F
would depend on random masks or on the whole batch). Its cost grows with P², so networks over
MAX_PARAMS parameters are refused.

MAE and hinge are not the likelihood of any distribution over y: refused too (`fisher_refusal`
says why, in words for the error).
"""

from __future__ import annotations

import numpy as np

FISHER_LOSSES = ("mse", "bce", "cce")
MAX_PARAMS = 2000  # F is P x P per run, and each step solves with it


def fisher_refusal(problem) -> str | None:
    """Why `problem` has no Fisher matrix here (None when it has one)."""
    if not hasattr(problem, "network"):
        return ("a 2-D surface or expression is a loss with no model behind it: there is no predictive "
                "distribution whose Fisher information the natural gradient needs")
    loss = problem.loss_name
    if loss not in FISHER_LOSSES:
        return (f"loss {loss!r} is not the negative log-likelihood of a distribution over the targets, so it "
                "has no Fisher matrix; natural works with mse, bce and cce")
    if problem.network.n_hidden and (problem.dropout or problem.batch_norm):
        return ("with dropout or batch norm the model's predictions depend on random masks or on the whole "
                "batch, and gdsim computes no Fisher matrix for them")
    if problem.n_params > MAX_PARAMS:
        return (f"the model has {problem.n_params:,} parameters: its Fisher matrix would have "
                f"{problem.n_params ** 2:,} entries per run (gdsim solves with it only up to {MAX_PARAMS:,} "
                "parameters)")
    return None


def output_curvature(loss: str, scores: np.ndarray) -> np.ndarray:
    """H_s per sample: (R, B, K, K) for cce, (R, B) for mse and bce (one output), per the module
    docstring, divided by what the loss averages over (B samples; B·K entries for mse)."""
    batch = scores.shape[1]
    if loss == "mse":
        return np.full(scores.shape[:2], 2.0 / (batch * scores.shape[2]))
    if loss == "bce":
        s = scores[..., 0]
        p = 0.5 * (1.0 + np.tanh(0.5 * s))  # sigmoid without overflow
        return p * (1.0 - p) / batch
    if loss == "cce":
        shifted = scores - scores.max(axis=2, keepdims=True)
        p = np.exp(shifted)
        p /= p.sum(axis=2, keepdims=True)
        h = -p[..., :, None] * p[..., None, :]
        k = scores.shape[2]
        h[..., np.arange(k), np.arange(k)] += p
        return h / batch
    raise ValueError(f"no Fisher matrix for loss {loss!r}")


def linear_fisher(x_ones: np.ndarray, scores: np.ndarray, loss: str, l2: float = 0.0) -> np.ndarray:
    """(R, P, P) Fisher matrix of a model with no hidden layer, s = [x 1]·[W; b].

    x_ones: the batch's inputs with a last column of ones, (B, d + 1) shared by every run or
    (R, B, d + 1); scores: (R, B, K). The parameter row is laid out as [W (d × K, row-major); b],
    i.e. the (d + 1) × K block [W; b] row-major: parameter (i, k) sits at i·K + k.
    """
    rows, _, k = scores.shape
    a = x_ones if x_ones.ndim == 3 else np.broadcast_to(x_ones, (rows, *x_ones.shape))
    h = output_curvature(loss, scores)
    inputs = a.shape[2]
    if loss == "cce":
        # F[(i,k),(j,l)] = Σ_n a_ni a_nj H_n[k,l]
        f = np.einsum("rni,rnj,rnkl->rikjl", a, a, h, optimize=True).reshape(rows, inputs * k, inputs * k)
    else:  # mse and bce: one output
        f = np.einsum("rni,rn,rnj->rij", a, h, a, optimize=True)
    if l2:
        weights = (inputs - 1) * k  # the last K columns are the biases
        idx = np.arange(weights)
        f[:, idx, idx] += l2
    return f


def mlp_fisher(network, params: np.ndarray, x_ones: np.ndarray, loss: str, l2: float = 0.0) -> np.ndarray:
    """(R, P, P) Gauss-Newton (Fisher) matrix of a network with hidden layers: mean of Jᵀ·H_s·J.

    x_ones: the batch's inputs with a last column of ones ((B, d + 1) or (R, B, d + 1))."""
    scores, cache = network.forward(params, x_ones, ones=True)
    rows, batch, k = scores.shape
    layout = network.layout
    jac = np.zeros((k, rows, batch, network.n_params))
    for out in range(k):
        delta = np.zeros((rows, batch, k))
        delta[..., out] = 1.0
        for i in range(network.n_hidden, -1, -1):
            s = layout.layers[i]
            h = np.broadcast_to(cache.inputs[i], (rows, batch, cache.inputs[i].shape[-1]))
            block = (h[..., :, None] * delta[..., None, :]).reshape(rows, batch, -1)
            if i == 0:  # the first layer's input ends in the ones column: [W; b] is one block
                jac[out, :, :, s.start:s.end] = block
                break
            jac[out, :, :, s.start:s.bias] = block
            jac[out, :, :, s.bias:s.end] = delta
            grad_h = np.matmul(delta, cache.weights[i].transpose(0, 2, 1))
            delta = network.activation.backward(cache.pre[i - 1], cache.post[i - 1], grad_h)
    h_s = output_curvature(loss, scores)
    if loss == "cce":
        f = np.einsum("krnp,rnkl,lrnq->rpq", jac, h_s, jac, optimize=True)
    else:
        f = np.einsum("rnp,rn,rnq->rpq", jac[0], h_s, jac[0], optimize=True)
    if l2:
        for s in layout.layers:
            idx = np.arange(s.start, s.bias)
            f[:, idx, idx] += l2
    return f
