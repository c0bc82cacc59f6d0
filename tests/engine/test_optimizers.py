"""Optimizers: torch.optim trajectories replayed to 1e-9, Newton by hand, properties, and error messages."""

from __future__ import annotations

import copy
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from gdsim.engine.optimizers import (
    DEFAULTS,
    OPTIMIZER_NAMES,
    RULES,
    OptimizerError,
    explain_step,
    make_optimizer,
    state_rows,
)
from gdsim.engine.schedules import make_schedule
from gdsim.errors import UserError

GOLDEN = Path(__file__).resolve().parents[1] / "golden"


def _load_generator():
    """The generator's NumPy gradient functions (it imports torch only inside main())."""
    spec = importlib.util.spec_from_file_location("make_optim_golden", GOLDEN / "make_optim_golden.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GEN = _load_generator()
TRAJECTORIES = json.loads((GOLDEN / "optim_trajectories.json").read_text())
CASES = {case["id"]: case for case in TRAJECTORIES["cases"]}


def _hyper(raw: dict) -> dict:
    return {k: tuple(v) if k == "betas" else v for k, v in raw.items()}


@pytest.mark.parametrize("case_id", sorted(CASES))
def test_trajectory_matches_torch(case_id):
    case = CASES[case_id]
    ref = np.array(case["trajectory"])
    opt = make_optimizer(case["optimizer"], **_hyper(case["hyper"]))
    schedule = None
    if case["schedule"]:
        settings_ = dict(case["schedule"])
        schedule = make_schedule(settings_.pop("name"), opt.hyper["lr"], **settings_)
    params = ref[0].copy()
    state = opt.init(params)
    out, lrs = [params], []
    for k in range(len(ref) - 1):
        lr = schedule.lr_at(k) if schedule else opt.hyper["lr"]
        lrs.append(lr)
        params, state = opt.update(GEN.GRADS[case["function"]](params), state, params, lr)
        out.append(params)
    np.testing.assert_allclose(lrs, case["lrs"], rtol=1e-9, atol=0)
    np.testing.assert_allclose(np.array(out), ref, rtol=1e-9, atol=1e-12)
    # The runs really moved (a test that replays a standing still trajectory proves little).
    assert np.abs(ref[-1] - ref[0]).max() > 1e-2


def test_golden_covers_every_torch_optimizer_and_option():
    seen = {(c["optimizer"], k) for c in CASES.values() for k in c["hyper"]}
    for name, option in [("sgd", "momentum"), ("sgd", "dampening"), ("sgd", "nesterov"),
                         ("sgd", "weight_decay"), ("adagrad", "lr_decay"),
                         ("adagrad", "initial_accumulator_value"), ("rmsprop", "centered"),
                         ("rmsprop", "momentum"), ("rmsprop", "weight_decay"), ("adam", "amsgrad"),
                         ("adam", "weight_decay"), ("adamw", "amsgrad")]:
        assert (name, option) in seen
    assert any(len(c["trajectory"][0]) > 1 for c in CASES.values())  # multi-row cases
    # options that share lines of the update, together (weight decay where it meets each other term)
    combos = [set(c["hyper"]) | {c["optimizer"]} for c in CASES.values()]
    for together in [{"sgd", "nesterov", "weight_decay"},
                     {"adagrad", "lr_decay", "weight_decay"}, {"rmsprop", "momentum", "weight_decay"},
                     {"adam", "amsgrad", "weight_decay"}, {"adamw", "amsgrad", "weight_decay"}]:
        assert any(together <= combo for combo in combos), together
    assert any(c["hyper"].keys() == {"lr", "weight_decay"} and c["optimizer"] == name
               for c in CASES.values() for name in ("sgd", "rmsprop")), "weight decay alone"
    multi = {c["optimizer"] for c in CASES.values() if len(c["trajectory"][0]) > 1}
    assert multi >= {"sgd", "adagrad", "rmsprop", "adam", "adamw"}


def test_defaults_are_torch_defaults():
    assert TRAJECTORIES["torch"].startswith("2.13.0")
    for name, torch_defaults in TRAJECTORIES["defaults"].items():
        expected = {k: tuple(v) if k == "betas" else v for k, v in torch_defaults.items()}
        assert DEFAULTS[name] == expected, name
        assert make_optimizer(name).hyper == expected


def test_names_rules_and_shortcuts():
    assert OPTIMIZER_NAMES == ("sgd", "adagrad", "rmsprop", "adam", "adamw", "newton", "cg", "natural",
                               "momentum", "nesterov")
    assert set(RULES) == set(DEFAULTS)
    assert all("θ" in rule for rule in RULES.values())
    m = make_optimizer("momentum")
    assert (m.name, m.hyper["momentum"], m.hyper["nesterov"]) == ("sgd", 0.9, False)
    n = make_optimizer("Nesterov", lr=0.1, momentum=0.5)
    assert (n.name, n.hyper["lr"], n.hyper["momentum"], n.hyper["nesterov"]) == ("sgd", 0.1, 0.5, True)
    assert make_optimizer("newton").needs_hessian and not make_optimizer("adam").needs_hessian
    assert make_optimizer("natural").needs_fisher and not make_optimizer("newton").needs_fisher


# ---- Newton ------------------------------------------------------------------------------

def _quad_hessian(r: int) -> np.ndarray:
    return np.broadcast_to(np.array(GEN.QUAD_A), (r, 2, 2)).copy()


def test_newton_one_step_lands_on_quadratic_minimum():
    opt = make_optimizer("newton")
    params = np.array([[-2.0, 1.5], [3.0, 3.0], [10.0, -7.0]])
    new, state = opt.update(GEN.quadratic_grad(params), opt.init(params), params, 1.0,
                            hessian=_quad_hessian(3))
    np.testing.assert_allclose(new, np.tile(GEN.QUAD_CENTER, (3, 1)), rtol=0, atol=1e-12)
    assert state.step == 1


def test_newton_damped_step_by_hand():
    # H = [[2, 0], [0, 8]], damping 2 -> H + 2I = diag(4, 10); g = (4, 5); lr 0.5
    # d = (1, 0.5); θ_new = θ - 0.5·d = (1 - 0.5, 1 - 0.25)
    opt = make_optimizer("newton", lr=0.5, damping=2.0)
    params = np.array([[1.0, 1.0]])
    hessian = np.array([[[2.0, 0.0], [0.0, 8.0]]])
    new, _ = opt.update(np.array([[4.0, 5.0]]), opt.init(params), params, 0.5, hessian=hessian)
    np.testing.assert_allclose(new, [[0.5, 0.75]], rtol=1e-15)
    names = [name for name, _ in explain_step(opt, np.array([[4.0, 5.0]]), opt.init(params),
                                              params, 0.5, hessian=hessian)]
    assert names == ["g", "H", "d", "step", "params"]


def test_newton_singular_rows_fall_back_without_raising():
    opt = make_optimizer("newton")
    params = np.array([[1.0, 2.0], [1.0, 2.0], [0.0, 0.0]])
    grads = np.array([[2.0, 3.0], [2.0, 3.0], [1.0, 1.0]])
    hessian = np.array([
        [[4.0, 0.0], [0.0, 0.0]],  # singular: least squares gives d = (0.5, 0)
        [[4.0, 0.0], [0.0, 1.0]],  # regular: d = (0.5, 3)
        [[np.nan, 0.0], [0.0, 1.0]],  # a diverged run: NaN, frozen by the simulation
    ])
    new, _ = opt.update(grads, opt.init(params), params, 1.0, hessian=hessian)
    np.testing.assert_allclose(new[0], [0.5, 2.0], rtol=1e-15)
    np.testing.assert_allclose(new[1], [0.5, -1.0], rtol=1e-15)
    assert np.isnan(new[2]).all()


def test_newton_needs_the_hessian():
    opt = make_optimizer("newton")
    params = np.zeros((1, 2))
    with pytest.raises(OptimizerError, match="newton needs the Hessian"):
        opt.update(params, opt.init(params), params, 1.0)


# ---- every optimizer: convergence, explain, velocity -------------------------------------

CONFIGS = [
    ("sgd", {"lr": 0.1}),
    ("momentum", {"lr": 0.02}),
    ("nesterov", {"lr": 0.02}),
    ("sgd", {"lr": 0.05, "momentum": 0.5, "dampening": 0.3}),
    ("adagrad", {"lr": 0.5}),
    ("rmsprop", {"lr": 0.05}),
    ("rmsprop", {"lr": 0.02, "momentum": 0.5, "centered": True}),
    ("adam", {"lr": 0.05}),
    ("adam", {"lr": 0.05, "amsgrad": True}),
    ("adamw", {"lr": 0.05, "weight_decay": 0.0}),
    ("newton", {"lr": 0.5}),
]


def _run(opt, params, steps, lr=None):
    state = opt.init(params)
    for k in range(steps):
        rate = opt.hyper["lr"] if lr is None else lr(k)
        hessian = _quad_hessian(len(params)) if opt.needs_hessian else None
        params, state = opt.update(GEN.quadratic_grad(params), state, params, rate, hessian=hessian)
    return params, state


@pytest.mark.parametrize("name,hyper", CONFIGS)
def test_every_optimizer_converges_on_a_convex_quadratic(name, hyper):
    opt = make_optimizer(name, **hyper)
    start = np.array([[-2.0, 1.5], [4.0, 4.0]])
    lr = None
    if name == "rmsprop" and not hyper.get("momentum"):
        # Plain RMSprop takes steps of about lr whatever the gradient, so with a constant lr
        # it hovers around the minimum; drop the lr in steps to let it settle.
        lr = make_schedule("step", opt.hyper["lr"], step_size=250, gamma=0.3).lr_at
    final, _ = _run(opt, start, 1000, lr=lr)
    np.testing.assert_allclose(final, np.tile(GEN.QUAD_CENTER, (2, 1)), rtol=0, atol=1e-4)


@pytest.mark.parametrize("name,hyper", CONFIGS + [("sgd", {"lr": 0.1, "weight_decay": 0.1}),
                                                  ("adam", {"lr": 0.1, "weight_decay": 0.1}),
                                                  ("adamw", {"lr": 0.1, "amsgrad": True}),
                                                  ("adagrad", {"lr": 0.1, "weight_decay": 0.2})])
def test_explain_step_agrees_with_update(name, hyper):
    opt = make_optimizer(name, **hyper)
    params = np.array([[-2.0, 1.5], [0.5, 0.5], [3.0, -1.0]])
    params, state = _run(opt, params, 3)  # a state with history in it
    grads = GEN.quadratic_grad(params)
    hessian = _quad_hessian(3) if opt.needs_hessian else None
    new, _ = opt.update(grads, state, params, 0.03, hessian=hessian)
    steps = explain_step(opt, grads, state, params, 0.03, hessian=hessian)
    named = dict(steps)
    assert len(named) == len(steps)  # names are unique
    assert steps[0][0] == "g" and steps[-1][0] == "params"
    np.testing.assert_array_equal(named["params"], new)
    before = named.get("params_decayed", params)  # AdamW decays θ before the step
    np.testing.assert_array_equal(before + named["step"], new)
    # The textbook form of the rule, from the named quantities, gives the same step.
    lr = 0.03
    if name in ("adam", "adamw"):
        textbook = -lr * named["m_hat"] / (np.sqrt(named["v_hat"]) + opt.hyper["eps"])
        np.testing.assert_allclose(named["step"], textbook, rtol=1e-6)
    if "v" in named and name in ("sgd", "momentum", "nesterov"):
        np.testing.assert_array_equal(named["v"], opt.velocity(opt.update(grads, state, params, lr)[1]))


def test_velocity_is_the_momentum_buffer_or_none():
    params = np.array([[1.0, 2.0]])
    grads = np.array([[0.5, -1.0]])
    for name, hyper, has in [("sgd", {}, False), ("momentum", {}, True), ("adagrad", {}, False),
                             ("rmsprop", {}, False), ("rmsprop", {"momentum": 0.9}, True),
                             ("adam", {}, True), ("adamw", {}, True), ("newton", {}, False)]:
        opt = make_optimizer(name, **hyper)
        hessian = np.eye(2)[None] if opt.needs_hessian else None
        _, state = opt.update(grads, opt.init(params), params, 0.1, hessian=hessian)
        velocity = opt.velocity(state)
        assert (velocity is not None) == has, (name, hyper)
        if has:
            assert velocity.shape == params.shape
    # sgd's first step takes v = g whatever the dampening (torch's convention)
    opt = make_optimizer("sgd", momentum=0.9, dampening=0.5)
    _, state = opt.update(grads, opt.init(params), params, 0.1)
    np.testing.assert_array_equal(opt.velocity(state), grads)


def test_state_rows_slices_arrays_and_keeps_step():
    opt = make_optimizer("adam", amsgrad=True)
    params = np.arange(8.0).reshape(4, 2)
    _, state = opt.update(params, opt.init(params), params, 0.1)
    part = state_rows(state, [1, 3])
    assert part.step == 1 and part.exp_avg.shape == (2, 2)
    np.testing.assert_array_equal(part.max_exp_avg_sq, state.max_exp_avg_sq[[1, 3]])


# ---- properties --------------------------------------------------------------------------

finite = st.floats(-10, 10, allow_nan=False, allow_infinity=False)
matrices = arrays(np.float64, st.tuples(st.integers(1, 4), st.just(3)), elements=finite)
configs = st.sampled_from(CONFIGS[:-1] + [("sgd", {"lr": 0.1, "weight_decay": 0.1}),
                                          ("adam", {"lr": 0.1, "weight_decay": 0.1}),
                                          ("adagrad", {"lr": 0.1, "lr_decay": 0.1})])


@settings(max_examples=40, deadline=None)
@given(configs, matrices, st.data())
def test_update_never_mutates_its_inputs(config, params, data):
    opt = make_optimizer(config[0], **config[1])
    grads = data.draw(arrays(np.float64, params.shape, elements=finite))
    state = opt.init(params)
    for _ in range(2):
        keep = (params.copy(), grads.copy(), copy.deepcopy(state))
        new_params, new_state = opt.update(grads, state, params, 0.05)
        np.testing.assert_array_equal(params, keep[0])
        np.testing.assert_array_equal(grads, keep[1])
        for old, now in zip(keep[2], state, strict=True):
            if isinstance(old, np.ndarray):
                np.testing.assert_array_equal(old, now)
        for new in new_state:
            assert not (isinstance(new, np.ndarray) and np.shares_memory(new, grads))
        params, state = new_params, new_state


@settings(max_examples=40, deadline=None)
@given(configs, matrices, st.data())
def test_a_rows_trajectory_does_not_depend_on_other_rows(config, params, data):
    opt = make_optimizer(config[0], **config[1])
    grad_seq = [data.draw(arrays(np.float64, params.shape, elements=finite)) for _ in range(3)]
    together, state = params, opt.init(params)
    for g in grad_seq:
        together, state = opt.update(g, state, together, 0.05)
    for r in range(len(params)):
        alone, state_r = params[r:r + 1], opt.init(params[r:r + 1])
        for g in grad_seq:
            alone, state_r = opt.update(g[r:r + 1], state_r, alone, 0.05)
        np.testing.assert_array_equal(alone[0], together[r])


@settings(max_examples=30, deadline=None)
@given(matrices, st.floats(0, 0.99), st.floats(0, 1), st.booleans())
def test_zero_gradient_leaves_sgd_params_unchanged(params, momentum, lr, nesterov):
    opt = make_optimizer("sgd", lr=lr, momentum=momentum, nesterov=nesterov and momentum > 0)
    new, state = opt.update(np.zeros_like(params), opt.init(params), params, lr)
    new, _ = opt.update(np.zeros_like(params), state, new, lr)
    np.testing.assert_array_equal(new, params)


@settings(max_examples=25, deadline=None)
@given(configs, matrices, st.data())
def test_one_lr_per_row_equals_separate_scalar_runs(config, params, data):
    opt = make_optimizer(config[0], **config[1])
    lrs = np.array(data.draw(st.lists(st.floats(0, 0.5), min_size=len(params), max_size=len(params))))
    grads = data.draw(arrays(np.float64, params.shape, elements=finite))
    together, state = opt.update(grads, opt.init(params), params, lrs)
    together, _ = opt.update(grads, state, together, lrs)
    for r in range(len(params)):
        alone, state_r = opt.update(grads[r:r + 1], opt.init(params[r:r + 1]), params[r:r + 1], lrs[r])
        alone, _ = opt.update(grads[r:r + 1], state_r, alone, lrs[r])
        np.testing.assert_array_equal(alone[0], together[r])


# ---- validation messages -----------------------------------------------------------------

@pytest.mark.parametrize("name,hyper,message", [
    ("adamx", {}, "Unknown optimizer 'adamx' (did you mean 'adam'?); valid names: sgd, adagrad, "
                  "rmsprop, adam, adamw, newton, cg, natural, momentum, nesterov"),
    ("lbfgs", {}, "Unknown optimizer 'lbfgs'; valid names: sgd, adagrad"),
    ("sgd", {"betas": (0.9, 0.99)},
     "'betas' does not apply to sgd; it takes: lr, momentum, dampening, weight_decay, nesterov"),
    ("momentum", {"eps": 1e-8}, "'eps' does not apply to momentum (sgd); it takes: lr, momentum"),
    ("sgd", {"lr": -1}, "Invalid learning rate: -1 ('lr' must be a finite number >= 0)"),
    ("adam", {"lr": float("nan")}, "Invalid learning rate: nan"),
    ("sgd", {"momentum": -0.5}, "Invalid momentum value: -0.5"),
    ("sgd", {"weight_decay": -1e-4}, "Invalid weight_decay value: -0.0001"),
    ("sgd", {"nesterov": True}, "Nesterov momentum requires a momentum and zero dampening"),
    ("nesterov", {"dampening": 0.1}, "Nesterov momentum requires a momentum and zero dampening"),
    ("adam", {"betas": (1.0, 0.999)}, "Invalid beta parameter at index 0: 1 ('betas' must be in [0, 1))"),
    ("adamw", {"betas": (0.9, -0.1)}, "Invalid beta parameter at index 1: -0.1"),
    ("adam", {"betas": 0.9}, "adam: 'betas' must be a pair of numbers like (0.9, 0.999), got 0.9"),
    ("adam", {"eps": -1e-8}, "Invalid epsilon value: -1e-08"),
    ("adam", {"amsgrad": "yes"}, "adam: 'amsgrad' must be true or false, got 'yes'"),
    ("adagrad", {"lr_decay": -1}, "Invalid lr_decay value: -1"),
    ("adagrad", {"initial_accumulator_value": -0.1}, "Invalid initial_accumulator_value value: -0.1"),
    ("rmsprop", {"alpha": 1.5}, "Invalid alpha value: 1.5 ('alpha' must be in [0, 1])"),
    ("rmsprop", {"alpha": -0.1}, "Invalid alpha value: -0.1"),
    ("rmsprop", {"lr": "0.1"}, "rmsprop: 'lr' must be a number, got '0.1'"),
    ("newton", {"damping": -1}, "Invalid damping value: -1"),
    ("newton", {"momentum": 0.9}, "'momentum' does not apply to newton; it takes: lr, damping"),
])
def test_bad_settings_give_one_line_messages(name, hyper, message):
    with pytest.raises(OptimizerError) as info:
        make_optimizer(name, **hyper)
    text = str(info.value)
    assert text.startswith(message)
    assert "\n" not in text
    assert isinstance(info.value, ValueError) and isinstance(info.value, UserError)
    # The scenario loader finds the offending key by its quoted name in the message.
    assert any(f"'{key}'" in text for key in hyper) or not hyper
