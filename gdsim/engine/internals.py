"""What a network looks like inside: per-layer weight histograms, how many weights are ~zero, and
what each hidden unit computes over the input plane of a 2-input network.

Computed here once for every view that shows them (the app's weights panel and Data tab;
`sparsity` in [[expect]] measures the same share with weight_share_below). Biases are left out
of the weight counts: sparsity is about connections, and a bias is not one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gdsim.engine.activations import sigmoid

SPARSE_BELOW = 0.01  # a weight this small counts as zero (the `sparsity` metric's default)


@dataclass(frozen=True)
class LayerWeights:
    """One layer's weights of one run, summarised for drawing."""

    name: str  # "layer 1 (2→32)"
    count: int  # weights in the layer
    small: int  # weights with |w| < tol
    counts: np.ndarray  # histogram counts (bins,)
    edges: np.ndarray  # histogram edges (bins + 1,), shared by every layer of the run
    largest: float  # max |w|


def weight_share_below(network, params: np.ndarray, tol: float = SPARSE_BELOW) -> np.ndarray:
    """(R,): the share of each run's weights (biases excluded) with |w| < tol."""
    weights = np.concatenate([w.reshape(len(params), -1) for w in network.layout.weights(params)], axis=1)
    return (np.abs(weights) < tol).mean(axis=1)


def layer_weights(network, row: np.ndarray, bins: int = 16, tol: float = SPARSE_BELOW) -> list[LayerWeights]:
    """Per layer of one run's parameter row (P,): a histogram over edges common to all layers
    (symmetric around 0, so layers compare at a glance) and the count of |w| < tol."""
    params = np.asarray(row, dtype=np.float64).reshape(1, -1)
    layers = [w.reshape(-1) for w in network.layout.weights(params)]
    finite = [w[np.isfinite(w)] for w in layers]
    largest = max((float(np.abs(w).max()) for w in finite if len(w)), default=0.0)
    reach = largest if largest > 0 else 1.0
    edges = np.linspace(-reach, reach, max(2, int(bins)) + 1)
    out = []
    for i, (w, s) in enumerate(zip(finite, network.layout.layers)):
        counts, _ = np.histogram(w, bins=edges)
        out.append(LayerWeights(
            name=f"layer {i + 1} ({s.fan_in}→{s.fan_out})",
            count=int(w.size),
            small=int(np.sum(np.abs(w) < tol)),
            counts=counts,
            edges=edges,
            largest=float(np.abs(w).max()) if len(w) else 0.0,
        ))
    return out


@dataclass(frozen=True)
class UnitMaps:
    """What every unit of one run's 2-input network computes over the input plane (TensorFlow
    Playground's small multiples), in eval mode (no dropout; batch norm's running statistics)."""

    xs: np.ndarray  # (n,) grid columns, in the model's (standardized) input units
    ys: np.ndarray  # (n,) grid rows, bottom to top
    layers: list[np.ndarray]  # per hidden layer, (units, n, n): the unit's output at (ys[i], xs[j])
    dead: list[np.ndarray]  # per hidden layer, (units,) bool: exactly 0 at every training point
    output: np.ndarray  # (n, n): P(class 1) for two classes, the predicted class for more, else the prediction
    kind: str  # "probability", "class" or "value": what `output` holds


def unit_maps(problem, row: np.ndarray, n: int = 24, state=None) -> UnitMaps | None:
    """UnitMaps of a parameter row (P,) of a network with 2 inputs (None for other problems).

    One batched forward pass takes the n*n grid points and the training points together: the
    grid gives the pictures, the training points say which units are dead (a ReLU unit whose
    input is negative for every training example outputs 0 there and gets no gradient)."""
    network = getattr(problem, "network", None)
    if network is None or getattr(problem, "n_inputs", 0) != 2:
        return None
    xs, ys, grid = problem.input_grid(n)
    x_train, _ = problem.split_points("train")
    params = np.asarray(row, dtype=np.float64).reshape(1, -1)
    with np.errstate(all="ignore"):
        scores, cache = network.forward(params, np.concatenate([grid, x_train]), stats=state)
    m = len(grid)
    layers = [np.ascontiguousarray(a[0, :m].T).reshape(-1, n, n) for a in cache.post]
    dead = [np.all(a[0, m:] == 0, axis=0) for a in cache.post]
    out = scores[0, :m]
    if problem.task == "regression":
        output, kind = out[:, 0], "value"
    elif out.shape[1] == 1:
        output, kind = sigmoid(out[:, 0]), "probability"
    elif out.shape[1] == 2:
        output, kind = sigmoid(out[:, 1] - out[:, 0]), "probability"
    else:
        output, kind = np.argmax(out, axis=1).astype(np.float64), "class"
    return UnitMaps(xs, ys, layers, dead, output.reshape(n, n), kind)
