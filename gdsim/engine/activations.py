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


def sigmoid(z: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-z), written through tanh so it never overflows for large |z|."""
    return 0.5 * np.tanh(0.5 * z) + 0.5


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
        return grad_a * a * (1.0 - a)


class Tanh(Activation):
    name = "tanh"
    formula = "a = tanh(z);  da/dz = 1 - a^2"

    def forward(self, z):
        return np.tanh(z)

    def backward(self, z, a, grad_a):
        return grad_a * (1.0 - a * a)


class ReLU(Activation):
    name = "relu"
    formula = "a = max(z, 0);  da/dz = 1 if z > 0 else 0"

    def forward(self, z):
        return np.maximum(z, 0.0)

    def backward(self, z, a, grad_a):
        # torch's convention: the derivative at exactly z = 0 is 0.
        return grad_a * (z > 0.0)


class LeakyReLU(Activation):
    name = "leaky_relu"
    formula = f"a = z if z > 0 else {LEAKY_SLOPE} z;  da/dz = 1 if z > 0 else {LEAKY_SLOPE}"

    def forward(self, z):
        return np.where(z > 0.0, z, LEAKY_SLOPE * z)

    def backward(self, z, a, grad_a):
        return np.where(z > 0.0, grad_a, LEAKY_SLOPE * grad_a)


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
