"""Make tests/golden/model_golden.npz + .json: network losses and gradients computed by torch.autograd.

Run in a separate venv that has torch and numpy (never gdsim's own venv):
    python3 -m venv /tmp/torchvenv && /tmp/torchvenv/bin/pip install torch==2.13.0 numpy
    /tmp/torchvenv/bin/python tests/golden/make_model_golden.py

It does not import gdsim: it rebuilds gdsim's parameter layout (per layer W as fan_in x fan_out
row-major, then b) and lets torch differentiate the loss through it, so test_models.py can
compare gdsim's hand-written backpropagation with an independent implementation.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

HERE = Path(__file__).parent
ROWS, BATCH, INPUTS = 2, 5, 3
LEAKY_SLOPE = 0.01
ACTS = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "leaky_relu": lambda z: F.leaky_relu(z, LEAKY_SLOPE),
}


def torch_loss(name: str, scores: torch.Tensor, y: np.ndarray) -> torch.Tensor:
    """Mean loss per run (R,) from scores (R, B, K) and raw targets y (B,)."""
    if name == "mse":
        t = torch.tensor(y).reshape(1, -1, 1).expand_as(scores)
        return F.mse_loss(scores, t, reduction="none").mean(dim=(1, 2))
    if name == "mae":
        t = torch.tensor(y).reshape(1, -1, 1).expand_as(scores)
        return F.l1_loss(scores, t, reduction="none").mean(dim=(1, 2))
    if name == "bce":
        t = torch.tensor(y).reshape(1, -1, 1).expand_as(scores)
        return F.binary_cross_entropy_with_logits(scores, t, reduction="none").mean(dim=(1, 2))
    if name == "hinge":
        t = 2 * torch.tensor(y).reshape(1, -1, 1) - 1
        return torch.clamp(1 - t * scores, min=0).mean(dim=(1, 2))
    labels = torch.tensor(y.astype(np.int64))
    return torch.stack([F.cross_entropy(scores[r], labels) for r in range(scores.shape[0])])


def forward(params: torch.Tensor, x: torch.Tensor, sizes, act, masks) -> tuple[torch.Tensor, torch.Tensor]:
    """Scores (R, B, K) and the l1 / l2 sums over the weights (R,), (R,)."""
    pos, h = 0, x
    abs_sum = torch.zeros(params.shape[0], dtype=torch.float64)
    sq_sum = torch.zeros(params.shape[0], dtype=torch.float64)
    layers = list(zip(sizes[:-1], sizes[1:]))
    for i, (fan_in, fan_out) in enumerate(layers):
        w = params[:, pos : pos + fan_in * fan_out].reshape(-1, fan_in, fan_out)
        pos += fan_in * fan_out
        b = params[:, pos : pos + fan_out]
        pos += fan_out
        abs_sum = abs_sum + w.abs().sum(dim=(1, 2))
        sq_sum = sq_sum + (w * w).sum(dim=(1, 2))
        h = torch.matmul(h, w) + b[:, None, :]
        if i < len(layers) - 1:
            h = ACTS[act](h)
            if masks is not None:
                h = h * torch.tensor(masks[i])
    return h, abs_sum, sq_sum


def case(rng, name, sizes, act, loss, l1, l2, shared=True, dropout=0.0):
    n_params = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
    params = rng.normal(0, 0.7, (ROWS, n_params))
    x = rng.normal(0, 1.0, (BATCH, sizes[0]) if shared else (ROWS, BATCH, sizes[0]))
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
        masks = [(rng.random((ROWS, BATCH, u)) < keep) / keep for u in sizes[1:-1]]
    p = torch.tensor(params, requires_grad=True)
    scores, abs_sum, sq_sum = forward(p, torch.tensor(x), sizes, act, masks)
    total = torch_loss(loss, scores, y) + l1 * abs_sum + 0.5 * l2 * sq_sum
    total.sum().backward()  # rows are independent, so the sum's gradient is each row's gradient
    arrays = {"params": params, "x": x, "y": y, "loss": total.detach().numpy(), "grad": p.grad.numpy()}
    if masks is not None:
        for i, m in enumerate(masks):
            arrays[f"mask{i}"] = m
    meta = {"sizes": sizes, "activation": act, "loss": loss, "l1": l1, "l2": l2,
            "shared_x": shared, "masks": 0 if masks is None else len(masks)}
    return name, meta, arrays


def main() -> None:
    torch.set_default_dtype(torch.float64)
    rng = np.random.default_rng(20260101)
    cases = []
    outputs = {"mse": 1, "mae": 1, "bce": 1, "hinge": 1, "cce": 4}
    for l1, l2, tag in ((0.0, 0.0, ""), (0.01, 0.05, "_reg")):
        cases.append(case(rng, f"linear_mse{tag}", [INPUTS, 1], "tanh", "mse", l1, l2))
        cases.append(case(rng, f"logistic_bce{tag}", [INPUTS, 1], "tanh", "bce", l1, l2))
        cases.append(case(rng, f"logistic_hinge{tag}", [INPUTS, 1], "tanh", "hinge", l1, l2))
        cases.append(case(rng, f"softmax_cce{tag}", [INPUTS, 4], "tanh", "cce", l1, l2))
        for act in ACTS:
            for loss, k in outputs.items():
                sizes = [INPUTS, 5, 4, k]
                cases.append(case(rng, f"mlp_{act}_{loss}{tag}", sizes, act, loss, l1, l2))
    cases.append(case(rng, "mlp_tanh_bce_per_run_x", [INPUTS, 6, 1], "tanh", "bce", 0.0, 0.0, shared=False))
    cases.append(case(rng, "mlp_relu_cce_dropout", [INPUTS, 6, 5, 3], "relu", "cce", 0.0, 0.01,
                      dropout=0.3))
    cases.append(case(rng, "mlp_sigmoid_deep", [INPUTS, 4, 4, 4, 4, 4, 1], "sigmoid", "bce", 0.0, 0.0))
    flat = {f"{name}/{key}": value for name, _, arrays in cases for key, value in arrays.items()}
    np.savez_compressed(HERE / "model_golden.npz", **flat)
    index = {"torch": torch.__version__, "numpy": np.__version__, "cases": {n: m for n, m, _ in cases}}
    (HERE / "model_golden.json").write_text(json.dumps(index, indent=1) + "\n")
    print(f"wrote {len(cases)} cases to {HERE / 'model_golden.npz'}")


if __name__ == "__main__":
    main()
