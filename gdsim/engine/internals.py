"""What a network's weights look like inside: per-layer histograms and how many weights are ~zero.

Computed here once for every view that shows them (the app's weights panel; `sparsity` in
[[expect]] measures the same share with weight_share_below). Biases are left out: sparsity is
about connections, and a bias is not one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

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
