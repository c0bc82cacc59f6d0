"""A model learning from a data set, as a Problem: R runs train at once on one shared data set.

Each run has its own initialization (run_rng(seed, STREAM_INIT)), its own mini-batch order
(reshuffled each epoch from run_rng(seed, STREAM_BATCH)) and its own dropout masks
(run_rng(seed, STREAM_DROPOUT); gdsim.engine.batches); the data set and its split come from `data_seed` alone.

Which models and losses go together (anything else is a ProblemError saying why):
  regression (line, plane, numeric CSV target): model linear or mlp; loss mse (default) or mae.
  two classes: model logistic (loss bce or hinge), softmax (cce) or mlp (bce, hinge or cce).
  more classes: model softmax or mlp; loss cce.
bce and hinge use one output score per sample; cce uses one score per class.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import replace

import numpy as np

from gdsim.engine.activations import make_activation, sigmoid
from gdsim.engine.batches import Batch, BatchSampler
from gdsim.engine.datasets import Dataset, make_dataset, split_indices, standardizer
from gdsim.engine.fisher import fisher_refusal, linear_fisher, mlp_fisher
from gdsim.engine.losses import make_loss
from gdsim.engine.metrics import classification_metrics, regression_metrics
from gdsim.engine.models import Network, NormStats
from gdsim.engine.problem import ProblemError

MODELS = ("linear", "logistic", "softmax", "mlp")
CLASSIFICATION_LOSSES = {"logistic": ("bce", "hinge"), "softmax": ("cce",), "mlp": ("bce", "hinge", "cce")}
# Evaluation and grids take blocks of runs of at most this many float64 entries (memory for many runs).
_CHUNK_ENTRIES = 4_000_000


def _wanted_task(model: str, loss: str | None) -> str | None:
    if model in ("logistic", "softmax") or loss in ("bce", "cce", "hinge"):
        return "classification"
    if model == "linear" or loss in ("mse", "mae"):
        return "regression"
    return None


def _check_model_and_loss(model: str, loss: str | None, data: Dataset, label: str) -> str:
    """The loss to use (the natural one when `loss` is None); ProblemError if they do not fit."""
    if model not in MODELS:
        raise ProblemError(f"model {model!r} is not known; choose one of: {', '.join(MODELS)}")
    k = data.n_classes
    if data.task == "regression":
        if model not in ("linear", "mlp"):
            raise ProblemError(f"model {model!r} is for classification, but dataset {label} is a regression "
                               "data set (a number to predict): use model 'linear' or 'mlp'")
        loss = loss or "mse"
        if loss not in ("mse", "mae"):
            make_loss(loss)
            raise ProblemError(f"loss {loss!r} is for classification, but dataset {label} is a regression "
                               "data set: use loss 'mse' or 'mae'")
        return loss
    if model == "linear":
        raise ProblemError(f"model 'linear' predicts a number, but dataset {label} has {k} classes: "
                           "use model 'logistic' (2 classes), 'softmax' or 'mlp'")
    if model == "logistic" and k > 2:
        raise ProblemError(f"model 'logistic' separates 2 classes, but dataset {label} has {k}: "
                           "use model 'softmax' or 'mlp'")
    allowed = CLASSIFICATION_LOSSES[model] if k == 2 else ("cce",)
    loss = loss or allowed[0]
    if loss not in allowed:
        make_loss(loss)
        if loss in ("mse", "mae"):
            why = f"is for regression, but dataset {label} has {k} classes"
        elif k > 2:
            why = f"needs 2 classes, but dataset {label} has {k}"
        else:
            why = f"does not fit model {model!r}"
        raise ProblemError(f"loss {loss!r} {why}: use loss {' or '.join(repr(a) for a in allowed)}")
    return loss


def _number(key: str, value, low: float, high: float = math.inf, high_open: bool = False) -> float:
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < low or value > high or (high_open and value >= high):
        bound = f"from {low:g} to below {high:g}" if high_open else f">= {low:g}"
        raise ProblemError(f"{key} must be a number {bound}, got {value!r}")
    return float(value)


def _hidden_sizes(hidden) -> tuple[int, ...]:
    try:
        sizes = tuple(hidden)
    except TypeError:
        sizes = (hidden,)
    if not sizes or not all(isinstance(h, (int, np.integer)) and not isinstance(h, bool) and 1 <= h <= 4096
                            for h in sizes):
        raise ProblemError(f"hidden must be a list of layer widths from 1 to 4096 like [16, 16], got {hidden!r}")
    if len(sizes) > 32:
        raise ProblemError(f"hidden has {len(sizes)} layers; at most 32 are supported")
    return tuple(int(h) for h in sizes)


def _scaled(data: Dataset, scale, label: str) -> Dataset:
    """The data set with input column i multiplied by scale[i] (the true weights divided by it)."""
    scale = np.asarray(scale, dtype=np.float64).ravel()
    d = data.x.shape[1]
    if len(scale) != d or not (np.isfinite(scale).all() and (scale > 0).all()):
        raise ProblemError(f"feature_scale must be {d} numbers > 0, one per input feature of dataset {label}, "
                           f"got {list(scale)}")
    coef = data.true_coefficients
    if coef is not None:
        coef = np.concatenate([coef[:d] / scale, coef[d:]])
    return replace(data, x=data.x * scale, true_coefficients=coef)


def make_dataset_problem(
    *, dataset: str, samples: int = 300, noise: float = 0.2, split=(0.7, 0.15, 0.15),
    standardize: bool = False, model: str = "mlp", hidden=(16,), activation: str = "tanh",
    init: str = "xavier", init_scale: float = 0.1, loss: str | None = None,
    batch_size: int | None = None, l1: float = 0.0, l2: float = 0.0, dropout: float = 0.0,
    data_seed: int = 0, path: str | None = None, target: str | None = None,
    base_dir: str | None = None, classes: int | None = None, batch_norm: bool = False,
    outliers: float = 0.0, imbalance: float | None = None, feature_scale=None,
) -> "DatasetProblem":
    """A DatasetProblem from scenario settings; ProblemError (or DatasetError) on bad settings.

    loss None picks the natural loss (mse, bce or cce); batch_size None (or any size >= the
    training set) means full-batch gradient descent. `hidden`, `activation` and `dropout` only
    apply to model 'mlp'.
    """
    if model not in MODELS:
        raise ProblemError(f"model {model!r} is not known; choose one of: {', '.join(MODELS)}")
    if loss is not None:
        make_loss(loss)
    # The cheap checks first, so a bad key is reported before a large CSV file is read.
    hidden_sizes = _hidden_sizes(hidden) if model == "mlp" else ()
    act = make_activation(activation)
    if init not in ("zeros", "normal", "xavier", "he"):
        raise ProblemError(f"init {init!r} is not known; choose one of: zeros, normal, xavier, he")
    init_scale = _number("init_scale", init_scale, 0.0)
    l1 = _number("l1", l1, 0.0)
    l2 = _number("l2", l2, 0.0)
    dropout = _number("dropout", dropout, 0.0, 1.0, high_open=True)
    if dropout > 0 and not hidden_sizes:
        raise ProblemError(f"dropout applies to hidden layers, and model {model!r} has none: use model 'mlp'")
    if not isinstance(batch_norm, (bool, np.bool_)):
        raise ProblemError(f"batch_norm must be true or false, got {batch_norm!r}")
    if batch_norm and not hidden_sizes:
        raise ProblemError(f"batch_norm normalizes hidden layers, and model {model!r} has none: use model 'mlp'")
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer))
                                   or batch_size < 1):
        raise ProblemError(f"batch_size must be a whole number >= 1 (1 = stochastic GD), got {batch_size!r}")
    data = make_dataset(dataset, samples=samples, noise=noise, classes=classes, data_seed=data_seed,
                        path=path, target=target, base_dir=base_dir, want=_wanted_task(model, loss),
                        outliers=outliers, imbalance=imbalance)
    label = repr(dataset) if dataset != "csv" else f"'csv' ({path})"
    if feature_scale is not None:
        data = _scaled(data, feature_scale, label)
    loss = _check_model_and_loss(model, loss, data, label)
    train, val, test = split_indices(len(data.y), split, data_seed)
    n_train = len(train)
    batch = n_train if batch_size is None else min(int(batch_size), n_train)
    if batch_norm and (batch < 2 or n_train % batch == 1):
        # torch refuses too: a batch of one sample has no variance to normalize by
        size = "batch_size = 1" if batch < 2 else f"the last batch of each epoch ({n_train} % {batch} = 1)"
        raise ProblemError(f"batch_norm needs at least 2 samples in every mini-batch, and {size} has one: "
                           "choose another batch_size")
    return DatasetProblem(data, (train, val, test), standardize=bool(standardize), model=model,
                          hidden=hidden_sizes, activation=act, init=init, init_scale=init_scale,
                          loss=loss, batch_size=batch, l1=l1, l2=l2, dropout=dropout,
                          batch_norm=bool(batch_norm))


class DatasetProblem:
    """A model on a data set (see the module docstring); implements gdsim.engine.problem.Problem.

    `loss_and_grad` gives the mini-batch training loss plus the l1/l2 penalty; `evaluate` gives
    the data loss alone (no penalty, no dropout) on a whole split, so train and validation
    figures compare like for like.
    """

    def __init__(self, data: Dataset, splits, *, standardize: bool, model: str, hidden: tuple[int, ...],
                 activation, init: str, init_scale: float, loss: str, batch_size: int,
                 l1: float, l2: float, dropout: float, batch_norm: bool = False):
        self.data = data
        self.model = model
        self.task = data.task
        self.loss_name = loss
        self.loss = make_loss(loss)
        self.init = init
        self.init_scale = init_scale
        self.l1, self.l2, self.dropout = l1, l2, dropout
        self.n_inputs = data.x.shape[1]
        self.n_outputs = data.n_classes if loss == "cce" else 1
        self.class_names = data.class_names
        self.feature_names = data.feature_names
        self.true_coefficients = data.true_coefficients
        self.network = Network([self.n_inputs, *hidden, self.n_outputs], activation, batch_norm)
        # Batch norm's running statistics are per-run state the simulation keeps (Cohort.problem_state)
        self.batch_norm = self.has_state = self.network.batch_norm
        self.n_params = self.network.n_params
        self.layer_names = self.network.layer_names
        x = data.x
        # The data set's rows in each split, and the inputs' shift and scale (0 and 1 without
        # standardize): views that draw the data (the digits, a fitted line) need the raw values.
        self.split_rows = dict(zip(("train", "val", "test"), splits))
        self.x_mean, self.x_scale = np.zeros(x.shape[1]), np.ones(x.shape[1])
        if standardize:
            self.x_mean, self.x_scale = standardizer(x[splits[0]])
            x = (x - self.x_mean) / self.x_scale
        self._x_all = x
        # Each split keeps its inputs, raw targets and loss-encoded targets, computed once.
        self._splits = {}
        for name, idx in zip(("train", "val", "test"), splits):
            xs = np.ascontiguousarray(x[idx])
            ys = data.y[idx]
            self._splits[name] = (xs, ys, self.loss.encode_targets(ys, self.n_outputs))
        self._x_train, self._y_train, self._t_train = self._splits["train"]
        # Training rows as [x, 1, t], so that one gather per step fetches a mini-batch's inputs,
        # with the ones column that folds the first layer's bias into its product (see
        # Network.forward), and targets together. The two views it is split into are strided,
        # which matmul and the losses take as they are.
        ones = np.ones((len(self._x_train), 1))
        self._train_rows = np.concatenate([self._x_train, ones, self._t_train], axis=1)
        self._x_train_ones = np.ascontiguousarray(self._train_rows[:, : self.n_inputs + 1])
        self.n_train, self.n_val, self.n_test = (len(i) for i in splits)
        self.batch_size = batch_size
        self.steps_per_epoch = math.ceil(self.n_train / batch_size)
        # Linear regression with MSE on the whole training set is a quadratic in the parameters
        # (an n-dimensional one): its Hessian (2/N)·AᵀA + l2 on the weights, A = [x 1], is
        # constant, so Newton's method and cg's exact line search apply. Mini-batches, L1 and any
        # other model or loss have no Hessian here.
        self.quadratic = model == "linear" and loss == "mse" and batch_size >= self.n_train and l1 == 0
        if self.quadratic:
            a = self._x_train_ones  # the layout's order: the weights, then the bias
            self._hessian = (2.0 / len(a)) * (a.T @ a)
            self._hessian[np.arange(self.n_inputs), np.arange(self.n_inputs)] += l2
        self.points = (self._x_train, self._y_train)
        self._grid_cache: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    @property
    def description(self) -> str:
        """One line for the app, e.g. "mlp 2-16-16-1 tanh, loss bce, 337 parameters"."""
        sizes = "-".join(str(s) for s in self.network.layout.sizes)
        act = f" {self.network.activation.name}" if self.network.n_hidden else ""
        act += " + batch norm" if self.batch_norm else ""
        return f"{self.model} {sizes}{act}, loss {self.loss_name}, {self.n_params} parameters"

    def init_params(self, seeds) -> np.ndarray:
        return self.network.init_params(seeds, self.init, self.init_scale)

    def sampler(self, seeds) -> BatchSampler:
        return BatchSampler(seeds, self.n_train, self.batch_size, self.network.hidden_units, self.dropout)

    def init_state(self, rows: int) -> NormStats | None:
        """Per-run state beside the parameters: batch norm's running statistics (None without)."""
        return self.network.init_stats(rows) if self.batch_norm else None

    def train_step(self, params: np.ndarray, batch: Batch | None, state: NormStats | None):
        """loss_and_grad, and the state after this train-mode forward pass: (loss, grad, state)."""
        loss, grad, cache = self._loss_grad_cache(params, batch)
        if state is not None:
            state = self.network.updated_stats(state, cache)
        return loss, grad, state

    def loss_and_grad(self, params: np.ndarray, batch: Batch | None) -> tuple[np.ndarray, np.ndarray]:
        """Mini-batch mean loss + l1/l2 penalty (R,) and its gradient (R, P), by backpropagation
        (with batch norm in train mode; the running statistics are left alone: see train_step)."""
        return self._loss_grad_cache(params, batch)[:2]

    def _loss_grad_cache(self, params: np.ndarray, batch: Batch | None):
        indices = masks = None
        if batch is not None:
            indices, masks = batch
        if indices is None:
            x, t = self._x_train_ones, self._t_train
        else:
            # np.take gathers rows several times faster than fancy indexing for (R, B) indices.
            rows = np.take(self._train_rows, indices, axis=0)
            x, t = rows[..., : self.n_inputs + 1], rows[..., self.n_inputs + 1 :]
        scores, cache = self.network.forward(params, x, masks, ones=True)
        loss, dscores = self.loss.grad(scores, t)
        grad = self.network.backward(params, cache, dscores)
        if self.l1 or self.l2:
            loss = loss + self.network.penalty(params, self.l1, self.l2)
            self.network.add_penalty_grad(params, grad, self.l1, self.l2)
        return loss, grad, cache

    def fisher(self, params: np.ndarray, batch: Batch | None) -> np.ndarray:
        """(R, P, P) Fisher matrix of the model's predictions on `batch`'s inputs (gdsim.engine.fisher)."""
        reason = fisher_refusal(self)
        if reason is not None:
            raise NotImplementedError(reason)
        indices = None if batch is None else batch.indices
        x = self._x_train_ones if indices is None else np.take(self._x_train_ones, indices, axis=0)
        if self.network.n_hidden:
            return mlp_fisher(self.network, params, x, self.loss_name, self.l2)
        scores = self.network.forward(params, x, ones=True)[0]
        return linear_fisher(x, scores, self.loss_name, self.l2)

    def hessian(self, params: np.ndarray) -> np.ndarray:
        """(R, P, P): only for full-batch linear regression with MSE (see `quadratic`)."""
        if not self.quadratic:
            raise NotImplementedError("only full-batch linear regression (mse) has a Hessian here")
        return np.broadcast_to(self._hessian, (params.shape[0], self.n_params, self.n_params))

    def scores(self, params: np.ndarray, x: np.ndarray, state: NormStats | None = None) -> np.ndarray:
        """The raw output scores (R, n, K) for inputs x (n, d) in the model's (standardized) units,
        in eval mode: with batch norm, `state` (the runs' running statistics) is required.

        Runs are taken a block at a time so that many runs on a large data set never hold one
        (R, n, width) activation array beyond a few tens of megabytes.
        """
        if self.batch_norm and state is None:
            raise ValueError("a network with batch norm is evaluated with its running statistics: pass state=")
        width = max(self.network.layout.sizes)
        block = max(1, _CHUNK_ENTRIES // max(1, len(x) * width))

        def rows(a, b):
            stats = None if state is None else NormStats(state.mean[a:b], state.var[a:b])
            return self.network.forward(params[a:b], x, stats=stats)[0]

        if params.shape[0] <= block:
            return rows(0, params.shape[0])
        return np.concatenate([rows(i, i + block) for i in range(0, params.shape[0], block)])

    def evaluate(self, params: np.ndarray, split: str, state: NormStats | None = None) -> dict[str, np.ndarray]:
        """Data loss and metrics (each (R,)) on the whole 'train', 'val' or 'test' split, in eval
        mode (no dropout; batch norm with the running statistics `state`)."""
        if split not in self._splits:
            raise ValueError(f"split must be 'train', 'val' or 'test', got {split!r}")
        x, y, t = self._splits[split]
        rows = params.shape[0]
        if len(y) == 0:
            metrics = ("mae", "mse") if self.task == "regression" else ("accuracy", "precision", "recall")
            return {name: np.full(rows, np.nan) for name in ("loss", *metrics)}
        scores = self.scores(params, x, state)
        result = {"loss": self.loss.value(scores, t)}
        if self.task == "regression":
            result.update(regression_metrics(scores[..., 0], y))
        else:
            result.update(classification_metrics(self.predict_classes(scores), y, self.data.n_classes))
        return result

    def split_points(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        """Inputs (n, d) in the model's (standardized) units and raw targets (n,) of a split."""
        if split not in self._splits:
            raise ValueError(f"split must be 'train', 'val' or 'test', got {split!r}")
        x, y, _ = self._splits[split]
        return x, y

    def predict_classes(self, scores: np.ndarray) -> np.ndarray:
        """Predicted class numbers (R, n): score > 0 for one output, the largest score otherwise."""
        if scores.shape[2] == 1:
            return (scores[..., 0] > 0).astype(np.int64)
        return np.argmax(scores, axis=2)

    def layer_grad_norms(self, grad: np.ndarray) -> np.ndarray:
        return self.network.layer_grad_norms(grad)

    def decision_grid(self, params: np.ndarray, n: int = 40, state: NormStats | None = None):
        """xs (n,), ys (n,) and (R, n, n) values at (ys[i], xs[j]) over the data's box (padded 10%):
        P(class 1) for two classes (sigmoid of the score, also for hinge), else the argmax class.
        None unless the data has 2 inputs and classes."""
        if self.task == "regression" or self.n_inputs != 2:
            return None
        xs, ys, points = self.input_grid(n)
        scores = self.scores(params, points, state)
        if scores.shape[2] == 1:
            values = sigmoid(scores[..., 0])
        elif scores.shape[2] == 2:
            values = sigmoid(scores[..., 1] - scores[..., 0])
        else:
            values = np.argmax(scores, axis=2).astype(np.float64)
        return xs, ys, values.reshape(params.shape[0], n, n)

    def input_grid(self, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """xs (n,), ys (n,) over the 2-input data's box (all splits, padded 10%, model units) and
        the (n*n, 2) points (ys[i], xs[j]) row by row; cached per n."""
        if n not in self._grid_cache:
            low, high = self._x_all.min(axis=0), self._x_all.max(axis=0)
            pad = 0.1 * np.where(high > low, high - low, 1.0)
            xs = np.linspace(low[0] - pad[0], high[0] + pad[0], n)
            ys = np.linspace(low[1] - pad[1], high[1] + pad[1], n)
            gx, gy = np.meshgrid(xs, ys)
            self._grid_cache[n] = (xs, ys, np.column_stack([gx.ravel(), gy.ravel()]))
        return self._grid_cache[n]

    def epoch_at(self, step: int) -> float:
        """Epochs done after `step` updates (one epoch = steps_per_epoch mini-batches)."""
        return step / self.steps_per_epoch
