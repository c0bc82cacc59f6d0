"""Fully connected networks on a flat (R, P) parameter matrix: layout, initialization, backprop.

Linear, logistic and softmax regression are networks with no hidden layer; an MLP has one or more.
Each run's parameters are one row of an (R, P) matrix laid out layer by layer as
`W1 (fan_in x fan_out, row-major), b1, W2, b2, ...`. `Layout.weights(params)` reshapes slices of
that matrix into (R, fan_in, fan_out) views without copying, so a gradient written into the views
of an (R, P) array is already the flat gradient every optimizer expects.

Forward and backward passes handle all runs at once with batched matrix products
((R, B, in) @ (R, in, out)); when all runs share the same inputs (full batch) the input is a
single (B, in) array that broadcasts against every run's weights, so it is never copied R times.

Batch normalization (Ioffe & Szegedy 2015; torch.nn.BatchNorm1d, eps 1e-5, momentum 0.1) sits in
every hidden layer between the product and the activation: z = h W, ẑ = (z − μ)/√(σ² + ε),
y = γ ẑ + b, a = f(y). The layer's bias b is BatchNorm's β (a bias before the normalization
would be subtracted again), and the γ of all hidden layers sit at the end of the row. In train
mode μ, σ² are the batch's (σ² biased); in eval mode they are the running statistics, which the
caller keeps per run beside the parameters (`NormStats`), never inside the optimizer.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from gdsim.engine.activations import Activation
from gdsim.engine.problem import STREAM_INIT, ProblemError, run_rng

INITS = ("zeros", "normal", "xavier", "he")
BN_EPS = 1e-5  # torch.nn.BatchNorm1d's defaults
BN_MOMENTUM = 0.1


# The forward rule in the maths panel's words (the backward pass is in Network._backward_bn).
BATCH_NORM_RULE = (
    "z ← h·W,   ẑ ← (z − μ)/√(σ² + 10⁻⁵),   y ← γ·ẑ + β,   a ← f(y)\n"
    "training steps: μ, σ² of the mini-batch; r_μ ← 0.9·r_μ + 0.1·μ,  r_σ² ← 0.9·r_σ² + 0.1·σ²·B/(B−1)\n"
    "evaluation (val, test, map): μ, σ² ← r_μ, r_σ²"
)


class LayerSlice(NamedTuple):
    """Where one layer's weights and bias sit in a parameter row."""

    start: int  # first weight column
    bias: int  # first bias column (= end of the weights)
    end: int  # one past the last bias column
    fan_in: int
    fan_out: int


class Layout:
    """The positions of every layer's weights and biases in a flat parameter row (and, with batch
    norm, every hidden layer's γ after them all)."""

    def __init__(self, sizes: list[int], batch_norm: bool = False):
        self.sizes = list(sizes)
        self.layers: list[LayerSlice] = []
        pos = 0
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            bias = pos + fan_in * fan_out
            self.layers.append(LayerSlice(pos, bias, bias + fan_out, fan_in, fan_out))
            pos = bias + fan_out
        self.gamma_slices: list[tuple[int, int]] = []
        if batch_norm:
            for units in sizes[1:-1]:
                self.gamma_slices.append((pos, pos + units))
                pos += units
        self.n_params = pos

    def gammas(self, params: np.ndarray) -> list[np.ndarray]:
        """(R, units) views of every hidden layer's batch-norm scale γ (empty without batch norm)."""
        return [params[:, a:b] for a, b in self.gamma_slices]

    def weights(self, params: np.ndarray) -> list[np.ndarray]:
        """(R, fan_in, fan_out) views of every layer's weights (writes go into `params`)."""
        rows = params.shape[0]
        return [params[:, s.start : s.bias].reshape(rows, s.fan_in, s.fan_out) for s in self.layers]

    def weights_and_bias(self, params: np.ndarray, i: int) -> np.ndarray:
        """(R, fan_in + 1, fan_out) view of layer i: its weights with its bias as one more row (the
        layout puts each bias right after its weights, so this is one block of a parameter row)."""
        s = self.layers[i]
        return params[:, s.start : s.end].reshape(params.shape[0], s.fan_in + 1, s.fan_out)

    def biases(self, params: np.ndarray) -> list[np.ndarray]:
        """(R, fan_out) views of every layer's biases."""
        return [params[:, s.bias : s.end] for s in self.layers]


class Cache(NamedTuple):
    """What the forward pass keeps for the backward pass."""

    inputs: list[np.ndarray]  # the input of each layer: (B, in) shared, or (R, B, in)
    pre: list[np.ndarray]  # hidden pre-activations z
    post: list[np.ndarray]  # hidden activations a (before dropout)
    masks: tuple[np.ndarray, ...] | None  # inverted-dropout masks per hidden layer
    weights: list[np.ndarray]  # the weight views used, so backward need not rebuild them
    ones: bool  # inputs[0] ends in a column of ones (see Network.forward)
    norms: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] | None = None
    # batch norm per hidden layer: (ẑ, 1/√(σ²+ε), μ, σ²), each (R, B, u) or (R, 1, u)
    train: bool = True  # batch norm used the batch's statistics (else the running ones)


class NormStats(NamedTuple):
    """Batch norm's running statistics for R runs: (R, Σ hidden units) each, layer after layer."""

    mean: np.ndarray
    var: np.ndarray


class Network:
    """A fully connected network: hidden layers with one activation, a linear output layer.

    The output layer has no activation here: sigmoid and softmax belong to the loss (from logits).
    """

    def __init__(self, sizes: list[int], activation: Activation, batch_norm: bool = False):
        self.batch_norm = bool(batch_norm) and len(sizes) > 2
        self.layout = Layout(sizes, self.batch_norm)
        self.activation = activation
        self.n_params = self.layout.n_params
        self._layer_starts = np.array([s.start for s in self.layout.layers], dtype=np.intp)
        self._layers_end = self.layout.layers[-1].end  # batch norm's gammas sit after the layers
        self.n_hidden = len(sizes) - 2
        self.hidden_units = tuple(sizes[1:-1])
        bounds = np.cumsum((0, *self.hidden_units))
        self._unit_slices = [slice(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]

    def init_stats(self, rows: int) -> NormStats:
        """torch's starting running statistics: mean 0, variance 1."""
        units = sum(self.hidden_units)
        return NormStats(np.zeros((rows, units)), np.ones((rows, units)))

    def updated_stats(self, stats: NormStats, cache: Cache) -> NormStats:
        """Running statistics after one train-mode forward pass (torch: the variance folded in is
        the batch's unbiased one, σ²·B/(B−1)). New arrays; `stats` is not modified."""
        mean, var = stats.mean.copy(), stats.var.copy()
        for cols, (_, _, mu, sigma2) in zip(self._unit_slices, cache.norms):
            batch = cache.inputs[0].shape[-2]
            mean[:, cols] = (1 - BN_MOMENTUM) * mean[:, cols] + BN_MOMENTUM * mu[:, 0, :]
            unbiased = sigma2[:, 0, :] * (batch / (batch - 1))
            var[:, cols] = (1 - BN_MOMENTUM) * var[:, cols] + BN_MOMENTUM * unbiased
        return NormStats(mean, var)

    @property
    def layer_names(self) -> tuple[str, ...]:
        return tuple(f"layer {i + 1}" for i in range(self.n_hidden)) + ("output",)

    def init_params(self, seeds: np.ndarray, scheme: str, scale: float = 0.1) -> np.ndarray:
        """(R, P) starting parameters, row r from run_rng(seeds[r], STREAM_INIT); biases start at 0.

        zeros: W = 0.  normal: W ~ N(0, scale^2).
        xavier: W ~ U(-a, a), a = sqrt(6 / (fan_in + fan_out))  (torch.nn.init.xavier_uniform_).
        he: W ~ N(0, 2 / fan_in)  (torch.nn.init.kaiming_normal_, fan_in mode, relu gain).
        """
        if scheme not in INITS:
            raise ProblemError(f"init {scheme!r} is not known; choose one of: {', '.join(INITS)}")
        seeds = np.asarray(seeds).ravel()
        params = np.zeros((len(seeds), self.n_params))
        for a, b in self.layout.gamma_slices:
            params[:, a:b] = 1.0  # batch norm's γ starts at 1 (torch), whatever the scheme
        if scheme == "zeros":
            return params
        for row, seed in enumerate(seeds):
            rng = run_rng(int(seed), STREAM_INIT)
            for s in self.layout.layers:
                shape = s.fan_in * s.fan_out
                if scheme == "normal":
                    w = scale * rng.standard_normal(shape)
                elif scheme == "xavier":
                    bound = np.sqrt(6.0 / (s.fan_in + s.fan_out))
                    w = rng.uniform(-bound, bound, shape)
                else:
                    w = np.sqrt(2.0 / s.fan_in) * rng.standard_normal(shape)
                params[row, s.start : s.bias] = w
        return params

    def forward(
        self, params: np.ndarray, x: np.ndarray, masks: tuple[np.ndarray, ...] | None = None,
        *, ones: bool = False, stats: NormStats | None = None,
    ) -> tuple[np.ndarray, Cache]:
        """Output scores (R, B, K) for inputs x ((B, in) shared by all runs, or (R, B, in)).

        With batch norm: stats None is train mode (the batch's statistics; Network.updated_stats
        folds them into the running ones), stats given is eval mode (those running statistics).

        ones=True: x carries one more, last column of ones ((B, in + 1) or (R, B, in + 1)). The
        first layer is then the single product [x 1] [W; b], and the backward pass gets its
        weight and bias gradients from one product too: for these tiny per-run matrices a row
        more costs next to nothing, while a bias add broadcast over the batch is a full pass.
        (Hidden layers keep the separate bias add: a ones column beside an activation would
        make every elementwise pass on it strided, which costs more than it saves.)
        """
        if self.batch_norm:
            return self._forward_bn(params, x[..., :-1] if ones else x, masks, stats)
        weights = self.layout.weights(params)
        rows = params.shape[0]
        # (R, 1, fan_out) bias views broadcast over the batch without an extra indexing step.
        biases = [params[:, s.bias : s.end].reshape(rows, 1, s.fan_out) for s in self.layout.layers]

        def affine(i: int, h: np.ndarray) -> np.ndarray:  # h W + b of layer i
            if i == 0 and ones:
                return np.matmul(h, self.layout.weights_and_bias(params, 0))
            z = np.matmul(h, weights[i])
            z += biases[i]
            return z

        inputs, pre, post = [x], [], []
        h = x
        for i in range(self.n_hidden):
            z = affine(i, h)
            a = self.activation.forward(z)
            pre.append(z)
            post.append(a)
            h = a * masks[i] if masks is not None else a
            inputs.append(h)
        return affine(self.n_hidden, h), Cache(inputs, pre, post, masks, weights, ones)

    def backward(self, params: np.ndarray, cache: Cache, dscores: np.ndarray) -> np.ndarray:
        """The (R, P) gradient of the loss given dloss/dscores (R, B, K): backpropagation.

        For the layer with input h and output z = h W + b, and delta = dloss/dz:
        dW = h^T delta, db = sum of delta over the batch, and the layer below gets
        dloss/dh = delta W^T, times the dropout mask, times the activation's derivative.
        """
        if cache.norms is not None:
            return self._backward_bn(params, cache, dscores)
        rows = params.shape[0]
        grad = np.empty((rows, self.n_params))
        weights = cache.weights
        grad_w = self.layout.weights(grad)
        # Bias gradients as (R, 1, fan_out) views, filled by a ones-row product: a matmul sums
        # over the batch several times faster than np.sum along the middle axis.
        grad_b = [grad[:, s.bias : s.end].reshape(rows, 1, s.fan_out) for s in self.layout.layers]
        ones = np.ones((1, dscores.shape[1]))
        delta = dscores
        for i in range(self.n_hidden, -1, -1):
            h = cache.inputs[i]
            h_t = h.T if h.ndim == 2 else h.transpose(0, 2, 1)
            if i == 0 and cache.ones:
                np.matmul(h_t, delta, out=self.layout.weights_and_bias(grad, 0))
                break
            np.matmul(h_t, delta, out=grad_w[i])
            np.matmul(ones, delta, out=grad_b[i])
            if i == 0:
                break
            grad_h = np.matmul(delta, weights[i].transpose(0, 2, 1))
            if cache.masks is not None:
                grad_h *= cache.masks[i - 1]
            delta = self.activation.backward(cache.pre[i - 1], cache.post[i - 1], grad_h)
        return grad

    def _forward_bn(self, params, x, masks, stats: NormStats | None) -> tuple[np.ndarray, Cache]:
        """forward() with batch norm in every hidden layer (see the module docstring)."""
        weights = self.layout.weights(params)
        rows = params.shape[0]
        biases = [params[:, s.bias : s.end].reshape(rows, 1, s.fan_out) for s in self.layout.layers]
        gammas = [g.reshape(rows, 1, -1) for g in self.layout.gammas(params)]
        inputs, pre, post, norms = [x], [], [], []
        h = x
        for i in range(self.n_hidden):
            z = np.matmul(h, weights[i])
            if stats is None:
                mu = z.mean(axis=1, keepdims=True)
                centered = z - mu
                sigma2 = (centered * centered).mean(axis=1, keepdims=True)  # biased, as torch
            else:
                cols = self._unit_slices[i]
                mu, sigma2 = stats.mean[:, None, cols], stats.var[:, None, cols]
                centered = z - mu
            inv = 1.0 / np.sqrt(sigma2 + BN_EPS)
            z_hat = centered * inv
            y = z_hat * gammas[i] + biases[i]
            a = self.activation.forward(y)
            norms.append((z_hat, inv, mu, sigma2))
            pre.append(y)
            post.append(a)
            h = a * masks[i] if masks is not None else a
            inputs.append(h)
        out = self.n_hidden
        scores = np.matmul(h, weights[out]) + biases[out]
        return scores, Cache(inputs, pre, post, masks, weights, False, norms, stats is None)

    def _backward_bn(self, params, cache: Cache, dscores: np.ndarray) -> np.ndarray:
        """backward() with batch norm. With dy = dloss/dy of a hidden layer (y = γ ẑ + b):
        dγ = Σ_batch dy·ẑ, db = Σ_batch dy, dẑ = γ·dy, and dloss/dz is
        train:  (dẑ − mean(dẑ) − ẑ·mean(dẑ·ẑ)) / √(σ² + ε)   (μ and σ² depend on z too)
        eval:   dẑ / √(σ² + ε)                                 (running statistics are constants)."""
        rows = params.shape[0]
        grad = np.empty((rows, self.n_params))
        grad_w = self.layout.weights(grad)
        grad_b = [grad[:, s.bias : s.end].reshape(rows, 1, s.fan_out) for s in self.layout.layers]
        grad_g = [g.reshape(rows, 1, -1) for g in self.layout.gammas(grad)]
        gammas = [g.reshape(rows, 1, -1) for g in self.layout.gammas(params)]
        delta = dscores  # dloss/d(output of layer i's product + bias)
        for i in range(self.n_hidden, -1, -1):
            h = cache.inputs[i]
            h_t = h.T if h.ndim == 2 else h.transpose(0, 2, 1)
            if i < self.n_hidden:  # a hidden layer: delta is dloss/dy; take it through the norm
                z_hat, inv, _, _ = cache.norms[i]
                grad_b[i][...] = delta.sum(axis=1, keepdims=True)
                grad_g[i][...] = (delta * z_hat).sum(axis=1, keepdims=True)
                d_hat = delta * gammas[i]
                if cache.train:
                    d_hat = d_hat - d_hat.mean(axis=1, keepdims=True) - z_hat * (d_hat * z_hat).mean(
                        axis=1, keepdims=True)
                delta = d_hat * inv
            else:
                grad_b[i][...] = delta.sum(axis=1, keepdims=True)
            np.matmul(h_t, delta, out=grad_w[i])
            if i == 0:
                break
            grad_h = np.matmul(delta, cache.weights[i].transpose(0, 2, 1))
            if cache.masks is not None:
                grad_h *= cache.masks[i - 1]
            delta = self.activation.backward(cache.pre[i - 1], cache.post[i - 1], grad_h)
        return grad

    def penalty(self, params: np.ndarray, l1: float, l2: float) -> np.ndarray:
        """l1 * sum|W| + l2 / 2 * sum W^2 over every weight (not the biases), per run (R,)."""
        total = np.zeros(params.shape[0])
        for s in self.layout.layers:
            w = params[:, s.start : s.bias]
            if l1:
                total += l1 * np.abs(w).sum(axis=1)
            if l2:
                total += 0.5 * l2 * np.einsum("rp,rp->r", w, w)
        return total

    def add_penalty_grad(self, params: np.ndarray, grad: np.ndarray, l1: float, l2: float) -> None:
        """grad += l1 sign(W) + l2 W on the weight columns (l2 then equals torch's weight_decay)."""
        for s in self.layout.layers:
            w = params[:, s.start : s.bias]
            if l1:
                grad[:, s.start : s.bias] += l1 * np.sign(w)
            if l2:
                grad[:, s.start : s.bias] += l2 * w

    def layer_grad_norms(self, grad: np.ndarray) -> np.ndarray:
        """(R, layers): the Euclidean norm of each layer's weight-and-bias gradient.

        Layers sit one after another in a row, so one reduceat sums every layer's squares: three
        NumPy calls whatever the depth (the history records this at every kept step; ~6 µs
        against ~60 µs for one einsum per layer of a 7-layer network)."""
        layers = grad[:, : self._layers_end]
        return np.sqrt(np.add.reduceat(layers * layers, self._layer_starts, axis=1))
