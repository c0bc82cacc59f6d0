"""Activation functions of hidden layers, each a forward map and its hand-written derivative.

Every activation works on arrays of any shape (R runs x B samples x units) element by element.
`backward(z, a, grad_a)` turns the gradient with respect to the activation's output `a` into the
gradient with respect to its input `z`; it receives both so that each function can use whichever
makes its derivative cheapest (tanh and sigmoid reuse `a`, relu looks at `z`).
"""

from __future__ import annotations

import numpy as np

from gdsim.engine.problem import ProblemError

# torch.nn.LeakyReLU's default negative slope, so the golden files and the maths panel agree.
LEAKY_SLOPE = 0.01


# Both functions below go through np.exp instead of np.tanh: libm's tanh is scalar and costs
# several times an exp, and activations are the bulk of a step's time with many runs. Where the
# exponent is large, e^x overflows to inf and the formula still gives the exact limit (2 / inf = 0);
# the overflow warning is silenced rather than the exponent capped, which saved a pass over the
# array. Against the exact values the results differ by at most 4e-16 (absolute).


def sigmoid(z: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-z)."""
    e = np.negative(z)
    with np.errstate(over="ignore"):
        np.exp(e, out=e)
    e += 1.0
    return np.divide(1.0, e, out=e)


def tanh(z: np.ndarray) -> np.ndarray:
    """tanh(z) = 2 / (1 + e^-2z) - 1."""
    with np.errstate(over="ignore"):  # -2z itself overflows for |z| > 9e307
        e = np.multiply(z, -2.0)
        np.exp(e, out=e)
    e += 1.0
    np.divide(2.0, e, out=e)
    e -= 1.0
    return e


class Activation:
    """An activation: `forward(z) -> a` and `backward(z, a, grad_a) -> grad_z`."""

    name = "identity"
    formula = "a = z"

    def forward(self, z: np.ndarray) -> np.ndarray:
        return z

    def backward(self, z: np.ndarray, a: np.ndarray, grad_a: np.ndarray) -> np.ndarray:
        return grad_a


class Sigmoid(Activation):
    name = "sigmoid"
    formula = "a = 1 / (1 + e^-z);  da/dz = a (1 - a)  (at most 1/4: gradients shrink layer by layer)"

    def forward(self, z):
        return sigmoid(z)

    def backward(self, z, a, grad_a):
        out = 1.0 - a
        out *= a
        out *= grad_a
        return out


class Tanh(Activation):
    name = "tanh"
    formula = "a = tanh(z);  da/dz = 1 - a^2"

    def forward(self, z):
        return tanh(z)

    def backward(self, z, a, grad_a):
        out = a * a
        np.subtract(1.0, out, out=out)
        out *= grad_a
        return out


class ReLU(Activation):
    name = "relu"
    formula = "a = max(z, 0);  da/dz = 1 if z > 0 else 0"

    def forward(self, z):
        return np.maximum(z, 0.0)

    def backward(self, z, a, grad_a):
        # torch's convention: the derivative at exactly z = 0 is 0.
        return np.multiply(grad_a, z > 0.0)


class LeakyReLU(Activation):
    name = "leaky_relu"
    formula = f"a = z if z > 0 else {LEAKY_SLOPE} z;  da/dz = 1 if z > 0 else {LEAKY_SLOPE}"

    def forward(self, z):
        return np.maximum(z, LEAKY_SLOPE * z)  # the slope is below 1, so max picks the right branch

    def backward(self, z, a, grad_a):
        # Slope 1 where z > 0, else LEAKY_SLOPE (a multiply is far cheaper than np.where here).
        slope = (z > 0.0).astype(np.float64)
        slope *= 1.0 - LEAKY_SLOPE
        slope += LEAKY_SLOPE
        slope *= grad_a
        return slope


ACTIVATIONS: dict[str, type[Activation]] = {
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
}


def make_activation(name: str) -> Activation:
    """The hidden-layer activation called `name`; ProblemError listing the choices otherwise."""
    try:
        return ACTIVATIONS[name]()
    except (KeyError, TypeError):
        choices = ", ".join(ACTIVATIONS)
        raise ProblemError(f"activation {name!r} is not known; choose one of: {choices}") from None
