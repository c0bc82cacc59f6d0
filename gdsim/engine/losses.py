"""Loss functions on a model's raw output scores, batched over runs, with hand-written gradients.

Every loss takes `scores` of shape (R, B, K) (R runs, B samples, K outputs: the model's last
layer before any sigmoid or softmax) and `targets` of shape (B, K) or (R, B, K), already encoded
by `encode_targets` (a column of numbers, 0/1 labels, +-1 labels or one-hot rows). It returns the
mean loss per run (R,) and the gradient of that mean with respect to the scores (R, B, K).

Classification losses work "from logits": sigmoid and softmax are folded into the loss, which is
both cheaper and numerically stable (no log of a probability that rounded to 0).
"""

from __future__ import annotations

import numpy as np

from gdsim.engine.problem import ProblemError


class Loss:
    """A loss: `grad(scores, targets) -> (loss[R], dloss/dscores)` and `value(scores, targets)`."""

    name = ""
    formula = ""
    tasks: tuple[str, ...] = ()

    def encode_targets(self, y: np.ndarray, n_outputs: int) -> np.ndarray:
        """y as the (n, K) float array this loss compares the scores with."""
        return np.asarray(y, dtype=np.float64).reshape(len(y), 1)

    def value(self, scores: np.ndarray, targets: np.ndarray) -> np.ndarray:
        return self.grad(scores, targets)[0]

    def grad(self, scores: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError


class MSE(Loss):
    name = "mse"
    formula = "L = mean (y_hat - y)^2"
    tasks = ("regression",)

    def value(self, scores, targets):
        diff = scores - targets
        return np.mean(diff * diff, axis=(1, 2))

    def grad(self, scores, targets):
        diff = scores - targets
        count = diff.shape[1] * diff.shape[2]
        return np.mean(diff * diff, axis=(1, 2)), diff * (2.0 / count)


class MAE(Loss):
    name = "mae"
    formula = "L = mean |y_hat - y|"
    tasks = ("regression",)

    def value(self, scores, targets):
        return np.mean(np.abs(scores - targets), axis=(1, 2))

    def grad(self, scores, targets):
        diff = scores - targets
        count = diff.shape[1] * diff.shape[2]
        return np.mean(np.abs(diff), axis=(1, 2)), np.sign(diff) * (1.0 / count)


class BCE(Loss):
    name = "bce"
    formula = "L = mean [log(1 + e^s) - y s]  (sigmoid + binary cross-entropy on the score s)"
    tasks = ("binary",)

    def value(self, scores, targets):
        return self._parts(scores, targets)[0]

    def grad(self, scores, targets):
        loss, e, one_plus_e = self._parts(scores, targets)
        count = scores.shape[1] * scores.shape[2]
        # sigmoid(s) from the same e = e^-|s|: 1 / (1 + e) for s >= 0, e / (1 + e) below.
        prob = np.maximum(e, scores >= 0.0)
        prob /= one_plus_e
        prob -= targets
        prob *= 1.0 / count
        return loss, prob

    @staticmethod
    def _parts(scores, targets):
        """The mean loss (R,), e = e^-|s| and 1 + e (rounded), for the gradient to reuse."""
        # log(1 + e^s) - y s, written so that e^s never overflows: max(s, 0) + log1p(e^-|s|).
        e = np.abs(scores)
        np.negative(e, out=e)
        np.exp(e, out=e)
        per = np.maximum(scores, 0.0)
        per -= scores * targets
        u = e + 1.0
        per += log1p_small(e, u)
        return np.add.reduce(per, axis=(1, 2)) / (scores.shape[1] * scores.shape[2]), e, u


def log1p_small(e: np.ndarray, u: np.ndarray) -> np.ndarray:
    """log(1 + e) for 0 <= e <= 1, given u = 1 + e as rounded: log(u) plus the rounding error
    c = (1 + e) - u over u, which is exact to working precision (c = e - (u - 1), both steps
    exact for u in [1, 2]). libm's log1p is scalar and costs several times a log here.
    """
    c = u - 1.0
    np.subtract(e, c, out=c)
    c /= u
    c += np.log(u)
    return c


class CCE(Loss):
    name = "cce"
    formula = "L = mean [log sum_k e^s_k - s_y]  (softmax + categorical cross-entropy)"
    tasks = ("binary", "multiclass")

    def encode_targets(self, y, n_outputs):
        labels = np.asarray(y).astype(np.int64)
        return (labels[:, None] == np.arange(n_outputs)).astype(np.float64)

    def _shifted(self, scores):
        # Subtracting each row's largest score keeps exp() from overflowing (log-sum-exp trick).
        shifted = scores - scores.max(axis=2, keepdims=True)
        exp = np.exp(shifted)
        total = exp.sum(axis=2, keepdims=True)
        return shifted, exp, total

    def value(self, scores, targets):
        shifted, _, total = self._shifted(scores)
        per = np.log(total[..., 0]) - np.sum(shifted * targets, axis=2)
        return np.mean(per, axis=1)

    def grad(self, scores, targets):
        shifted, exp, total = self._shifted(scores)
        per = np.log(total[..., 0]) - np.sum(shifted * targets, axis=2)
        batch = scores.shape[1]
        return np.mean(per, axis=1), (exp / total - targets) * (1.0 / batch)


class Hinge(Loss):
    name = "hinge"
    formula = "L = mean max(0, 1 - t s)  with labels t = -1 or +1 on the raw score s"
    tasks = ("binary",)

    def encode_targets(self, y, n_outputs):
        return 2.0 * np.asarray(y, dtype=np.float64).reshape(len(y), 1) - 1.0

    def value(self, scores, targets):
        return np.mean(np.maximum(1.0 - targets * scores, 0.0), axis=(1, 2))

    def grad(self, scores, targets):
        margin = 1.0 - targets * scores
        count = scores.shape[1] * scores.shape[2]
        active = margin > 0.0
        loss = np.mean(np.maximum(margin, 0.0), axis=(1, 2))
        return loss, (-1.0 / count) * targets * active


LOSSES: dict[str, type[Loss]] = {"mse": MSE, "mae": MAE, "bce": BCE, "cce": CCE, "hinge": Hinge}


def make_loss(name: str) -> Loss:
    """The loss called `name`; ProblemError listing the choices otherwise."""
    try:
        return LOSSES[name]()
    except (KeyError, TypeError):
        raise ProblemError(f"loss {name!r} is not known; choose one of: {', '.join(LOSSES)}") from None
