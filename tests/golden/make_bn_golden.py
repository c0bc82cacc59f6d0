"""Make tests/golden/bn_golden.npz + .json: networks with batch normalization, by torch.autograd.

Run in a venv that has torch 2.13.0 and numpy (never a test or runtime dependency of gdsim):
    python3 -m venv /tmp/torchvenv && /tmp/torchvenv/bin/pip install torch==2.13.0 numpy
    /tmp/torchvenv/bin/python tests/golden/make_bn_golden.py

It does not import gdsim. It rebuilds gdsim's layout for batch norm (per layer W as
fan_in x fan_out row-major, then b; after all layers the γ of every hidden layer; a hidden
layer's b is BatchNorm's β, applied after the normalization, and its product has no bias of its
own) and runs torch.nn.functional.batch_norm (what torch.nn.BatchNorm1d calls; eps 1e-5,
momentum 0.1) run by run, in train mode (batch statistics; the running statistics are updated)
and in eval mode (the running statistics given), recording losses, gradients and the updated
running statistics for test_batch_norm.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from make_model_golden import ACTS, torch_loss

HERE = Path(__file__).parent
ROWS, BATCH = 2, 6


def forward_run(row: torch.Tensor, x: torch.Tensor, sizes, act, masks, stats, training: bool):
    """Scores (B, K) of one run; `stats` (mean, var) lists are updated in place in train mode."""
    layers = list(zip(sizes[:-1], sizes[1:]))
    hidden = sizes[1:-1]
    gamma_pos = sum(a * b + b for a, b in layers)
    pos, h = 0, x
    for i, (fan_in, fan_out) in enumerate(layers):
        w = row[pos : pos + fan_in * fan_out].reshape(fan_in, fan_out)
        pos += fan_in * fan_out
        b = row[pos : pos + fan_out]
        pos += fan_out
        if i < len(layers) - 1:
            gamma = row[gamma_pos + sum(hidden[:i]) : gamma_pos + sum(hidden[: i + 1])]
            z = h @ w
            y = F.batch_norm(z, stats[0][i], stats[1][i], weight=gamma, bias=b, training=training,
                             momentum=0.1, eps=1e-5)
            h = ACTS[act](y)
            if masks is not None:
                h = h * masks[i]
        else:
            h = h @ w + b
    return h


def case(rng, name, sizes, act, loss, shared=True, dropout=0.0):
    hidden = sizes[1:-1]
    n_params = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:])) + sum(hidden)
    params = rng.normal(0, 0.7, (ROWS, n_params))
    params[:, -sum(hidden):] = rng.uniform(0.5, 1.5, (ROWS, sum(hidden)))  # γ near 1, not all 1
    x = rng.normal(0.5, 1.5, (BATCH, sizes[0]) if shared else (ROWS, BATCH, sizes[0]))
    k = sizes[-1]
    if loss in ("mse", "mae"):
        y = rng.normal(0, 1.0, BATCH)
    elif loss == "cce":
        y = (np.arange(BATCH) % k).astype(np.float64)
    else:
        y = (np.arange(BATCH) % 2).astype(np.float64)
    masks = None
    if dropout:
        keep = 1 - dropout
        masks = [(rng.random((ROWS, BATCH, u)) < keep) / keep for u in hidden]
    mean0 = rng.normal(0, 0.5, (ROWS, sum(hidden)))
    var0 = rng.uniform(0.3, 2.0, (ROWS, sum(hidden)))
    arrays = {"params": params, "x": x, "y": y, "mean0": mean0, "var0": var0}
    bounds = np.cumsum((0, *hidden))
    for mode in ("train", "eval"):
        p = torch.tensor(params, requires_grad=True)
        losses, new_mean, new_var = [], [], []
        for r in range(ROWS):
            xr = torch.tensor(x if shared else x[r])
            mr = None if masks is None else [torch.tensor(m[r]) for m in masks]
            stats = ([torch.tensor(mean0[r, a:b]) for a, b in zip(bounds[:-1], bounds[1:])],
                     [torch.tensor(var0[r, a:b]) for a, b in zip(bounds[:-1], bounds[1:])])
            scores = forward_run(p[r], xr, sizes, act, mr, stats, mode == "train")
            losses.append(torch_loss(loss, scores[None], y)[0])
            new_mean.append(torch.cat(stats[0]).numpy())
            new_var.append(torch.cat(stats[1]).numpy())
        total = torch.stack(losses)
        total.sum().backward()
        arrays[f"{mode}_loss"] = total.detach().numpy()
        arrays[f"{mode}_grad"] = p.grad.numpy()
        if mode == "train":
            arrays["train_mean"] = np.stack(new_mean)
            arrays["train_var"] = np.stack(new_var)
    if masks is not None:
        for i, m in enumerate(masks):
            arrays[f"mask{i}"] = m
    meta = {"sizes": sizes, "activation": act, "loss": loss, "shared_x": shared,
            "masks": 0 if masks is None else len(masks)}
    return name, meta, arrays


def main() -> None:
    torch.set_default_dtype(torch.float64)
    rng = np.random.default_rng(20261202)
    cases = [
        case(rng, "bn_tanh_bce", [3, 5, 4, 1], "tanh", "bce"),
        case(rng, "bn_relu_cce_per_run_x_dropout", [3, 6, 5, 3], "relu", "cce", shared=False, dropout=0.3),
        case(rng, "bn_sigmoid_mse", [2, 4, 1], "sigmoid", "mse"),
        case(rng, "bn_leaky_relu_hinge", [3, 5, 1], "leaky_relu", "hinge"),
        case(rng, "bn_tanh_mae_deep", [2, 4, 4, 4, 1], "tanh", "mae"),
    ]
    flat = {f"{name}/{key}": value for name, _, arrays in cases for key, value in arrays.items()}
    np.savez_compressed(HERE / "bn_golden.npz", **flat)
    index = {"torch": torch.__version__, "numpy": np.__version__, "cases": {n: m for n, m, _ in cases}}
    (HERE / "bn_golden.json").write_text(json.dumps(index, indent=1) + "\n")
    print(f"wrote {len(cases)} cases to {HERE / 'bn_golden.npz'}")


if __name__ == "__main__":
    main()
