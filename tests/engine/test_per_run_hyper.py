"""Per-run hyperparameter arrays (a sweep's cohort): each row equals the scalar run, bit for bit.

A row of an optimizer built with (R,) arrays computes the same operations, in the same order, as
an optimizer built with that row's scalars, so the comparison is of bytes, not a tolerance.
"""

from __future__ import annotations

import numpy as np
import pytest

from gdsim.engine.optimizers import OptimizerError, make_optimizer
from gdsim.engine.schedules import make_schedule, per_run_schedule

R, P, STEPS = 7, 5, 12

# (optimizer, per-run values per key): each list has R values; every rule's terms get a mix.
CASES = {
    "sgd momentum+wd": ("sgd", {"lr": [0.01, 0.02, 0.1, 0.3, 0.05, 0.2, 0.001],
                                "momentum": [0.0, 0.5, 0.9, 0.99, 0.0, 0.3, 0.7],
                                "weight_decay": [0.0, 1e-3, 0.1, 0.0, 0.5, 0.0, 1e-4]}),
    "sgd dampening": ("sgd", {"momentum": [0.9, 0.5, 0.1, 0.0, 0.99, 0.3, 0.6],
                              "dampening": [0.0, 0.1, 0.5, 0.2, 0.9, 0.0, 1.0]}),
    "nesterov": ("nesterov", {"momentum": [0.9, 0.5, 0.1, 0.05, 0.99, 0.3, 0.6],
                              "weight_decay": [0.0, 1e-3, 0.1, 0.0, 0.5, 0.0, 1e-4]}),
    "adagrad": ("adagrad", {"lr_decay": [0.0, 0.1, 0.01, 0.5, 0.0, 1.0, 0.2],
                            "initial_accumulator_value": [0.0, 0.1, 1.0, 0.0, 2.0, 0.5, 0.01],
                            "eps": [1e-10, 1e-8, 1e-3, 0.1, 1e-10, 1e-6, 1.0]}),
    "rmsprop centered": ("rmsprop", {"alpha": [0.99, 0.9, 0.5, 0.0, 1.0, 0.3, 0.7],
                                     "momentum": [0.1, 0.5, 0.9, 0.0, 0.3, 0.8, 0.0],
                                     "weight_decay": [0.0, 1e-3, 0.1, 0.0, 0.5, 0.0, 1e-4],
                                     "centered": True}),
    "rmsprop": ("rmsprop", {"eps": [1e-8, 1e-3, 0.1, 1e-8, 1e-6, 1.0, 1e-4],
                            "momentum": [0.0, 0.5, 0.9, 0.0, 0.3, 0.8, 0.95]}),
    "adam betas": ("adam", {"betas": ([0.9, 0.5, 0.0, 0.99, 0.3, 0.7, 0.45],
                                      [0.999, 0.9, 0.5, 0.0, 0.99, 0.3, 0.75]),
                            "eps": [1e-8, 1e-3, 0.1, 1e-8, 1e-6, 1.0, 1e-4],
                            "weight_decay": [0.0, 0.1, 0.0, 1e-3, 0.5, 0.0, 0.01]}),
    "adamw amsgrad": ("adamw", {"betas": ([0.9, 0.5, 0.0, 0.99, 0.3, 0.7, 0.45], 0.999),
                                "weight_decay": [0.0, 0.1, 0.0, 1e-3, 0.5, 0.0, 0.01], "amsgrad": True}),
    "newton damping": ("newton", {"damping": [0.0, 0.1, 1.0, 10.0, 0.5, 0.0, 3.0],
                                  "lr": [1.0, 0.5, 0.1, 1.0, 0.9, 0.3, 0.7]}),
}


def _row_hyper(hyper: dict, r: int) -> dict:
    out = {}
    for key, value in hyper.items():
        if key == "betas":
            out[key] = tuple(v[r] if isinstance(v, list) else v for v in value)
        else:
            out[key] = value[r] if isinstance(value, list) else value
    return out


def _arrays(hyper: dict) -> dict:
    out = {}
    for key, value in hyper.items():
        if key == "betas":
            out[key] = tuple(np.array(v) if isinstance(v, list) else v for v in value)
        else:
            out[key] = np.array(value) if isinstance(value, list) else value
    return out


@pytest.mark.parametrize("case", sorted(CASES))
def test_per_run_arrays_equal_scalar_runs_one_at_a_time(case):
    name, hyper = CASES[case]
    rng = np.random.default_rng(3)
    params0 = rng.normal(size=(R, P))
    grads = rng.normal(size=(STEPS, R, P)) * rng.choice([1e-3, 1.0, 50.0], size=(STEPS, R, 1))
    hessians = np.einsum("srpq,srkq->srpk", g := rng.normal(size=(STEPS, R, P, P)), g) if name == "newton" else None
    lr = np.array(hyper["lr"]) if "lr" in hyper else 0.05
    many = make_optimizer(name, **_arrays({k: v for k, v in hyper.items() if k != "lr"}))
    assert many.per_run and many.elementwise is None
    params, state = params0, many.init(params0)
    for k in range(STEPS):
        extra = {"hessian": hessians[k]} if hessians is not None else {}
        params, state = many.update(grads[k], state, params, lr, **extra)
    for r in range(R):
        one = make_optimizer(name, **{k: v for k, v in _row_hyper(hyper, r).items() if k != "lr"})
        assert not one.per_run
        p, s = params0[r:r + 1], one.init(params0[r:r + 1])
        lr_r = float(lr[r]) if isinstance(lr, np.ndarray) else lr
        for k in range(STEPS):
            extra = {"hessian": hessians[k][r:r + 1]} if hessians is not None else {}
            p, s = one.update(grads[k][r:r + 1], s, p, lr_r, **extra)
        assert p.tobytes() == params[r:r + 1].tobytes(), f"{case}: row {r} differs"
        for mine, theirs in zip(s[1:], state[1:]):
            if isinstance(mine, np.ndarray):
                assert mine.tobytes() == theirs[r:r + 1].tobytes(), f"{case}: state of row {r} differs"


def test_a_run_with_zero_momentum_among_others_equals_plain_sgd():
    """momentum 0 in a per-run array takes the momentum path (v = 0·v + g = g): same bits as plain SGD."""
    rng = np.random.default_rng(0)
    params0, grads = rng.normal(size=(3, 4)), rng.normal(size=(6, 3, 4))
    many = make_optimizer("sgd", lr=0.1, momentum=np.array([0.0, 0.9, 0.5]))
    plain = make_optimizer("sgd", lr=0.1)
    a, sa = params0, many.init(params0)
    b, sb = params0[:1], plain.init(params0[:1])
    assert sb.momentum_buffer is None
    for g in grads:
        a, sa = many.update(g, sa, a, 0.1)
        b, sb = plain.update(g[:1], sb, b, 0.1)
    assert a[:1].tobytes() == b.tobytes()


@pytest.mark.parametrize("hyper, message", [
    ({"momentum": np.array([0.9, -0.1])}, "Invalid momentum value: -0.1"),
    ({"lr": [0.1, np.inf]}, "Invalid learning rate: inf"),
    ({"momentum": np.array([0.9, 0.5]), "weight_decay": np.array([0.1, 0.2, 0.3])}, "one value per run each"),
    ({"momentum": np.zeros((2, 2))}, "one number per run"),
    ({"momentum": ["a", "b"]}, "one number per run"),
    ({"momentum": np.array([0.5, 0.0]), "nesterov": True}, "Nesterov momentum requires a momentum"),
])
def test_bad_per_run_values_are_refused_with_the_value(hyper, message):
    with pytest.raises(OptimizerError, match=message.replace("(", r"\(")):
        make_optimizer("sgd", **hyper)


def test_bad_per_run_betas_name_the_index():
    with pytest.raises(OptimizerError, match="beta parameter at index 1: 1"):
        make_optimizer("adam", betas=(0.9, np.array([0.9, 1.0])))


def test_per_run_arrays_are_copied_and_read_only():
    values = np.array([0.1, 0.9])
    opt = make_optimizer("sgd", momentum=values)
    values[0] = 0.5
    assert opt.hyper["momentum"][0] == 0.1
    assert not opt.hyper["momentum"].flags.writeable


@pytest.mark.parametrize("name, settings", [
    ("constant", {}), ("step", {"step_size": 3, "gamma": 0.5}), ("exponential", {"gamma": 0.9}),
    ("cosine", {"t_max": 7, "eta_min": 1e-4, "warmup": 4}), ("constant", {"warmup": 5}),
])
def test_per_run_schedule_equals_one_schedule_per_run(name, settings):
    lrs = np.array([0.1, 0.3, 0.1, 1e-3, 2.0])
    many = per_run_schedule(name, lrs, **settings)
    ks = np.arange(0, 40)
    table = np.asarray(many.lr_at(ks))
    assert table.shape == (40, 5)
    for r, lr in enumerate(lrs):
        one = make_schedule(name, float(lr), **settings)
        assert table[:, r].tobytes() == one.lr_at(ks).tobytes()
        assert np.asarray(many.lr_at(17))[r] == one.lr_at(17)
