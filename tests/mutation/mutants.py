"""Deliberately broken engines, and the built-in scenarios whose [[expect]] entries catch each.

A mutant is applied with pytest's MonkeyPatch at the point where a run's parts are built
(gdsim.build, the optimizer registry), so the broken part is what both the array path
(Cohort.step) and the float path for a few 2-D runs (gdsim.engine.scalar_step, which calls the
optimizer's own per-element rule and reads the cohort's problem, clip_norm and lr) use.
tests/mutation/test_mutants.py checks that each mutant really changes a small probe run on both
paths, and that `verify` of each listed killer fails an expectation under the mutant (and
passes without it).

To add a killer: write an [[expect]] in a built-in scenario that the mutant breaks, then add the
scenario's id to the mutant's `killers` (`python -m tests.mutation.score --find NAME` lists the
scenarios that kill it today). A mutant with no killer yet keeps killers = () and counts as a
survivor in the score (python -m tests.mutation.score).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest

import gdsim.build as build_mod
import gdsim.engine.optimizers as opt_mod
from gdsim.engine.optimizers_adaptive import AdamState, as_lr, elementwise


@dataclass(frozen=True)
class Mutant:
    name: str
    what: str
    apply: Callable[[pytest.MonkeyPatch], None]
    probe: str  # a small scenario (TOML) whose final parameters the mutant changes
    killers: tuple[str, ...] = ()  # built-in scenario ids whose verify fails under the mutant
    floats: bool = True  # a surface probe steps on floats (not plateau's lr state, not Newton: arrays only)
    observe: str = "params"  # "val": the mutant changes the probe's validation metrics, not its training


# -- how the mutants reach the engine ---------------------------------------------------------
def _optimizer(mp: pytest.MonkeyPatch, name: str, change: Callable) -> None:
    """Replace optimizer `name`'s builder by change(original builder)."""
    original, velocity = opt_mod._BUILDERS[name]
    mp.setitem(opt_mod._BUILDERS, name, (change(original), velocity))


def _hyper(name: str, **fixed) -> Callable[[pytest.MonkeyPatch], None]:
    """An optimizer built with some hyperparameters overridden (a function of the given ones)."""

    def apply(mp):
        def change(original):
            def build(**hyper):
                return original(**{**hyper, **{k: f(hyper) for k, f in fixed.items()}})
            return build
        _optimizer(mp, name, change)

    return apply


def _prepare(name: str, state_type: type, prepare: Callable) -> Callable[[pytest.MonkeyPatch], None]:
    """An optimizer whose per-step coefficients come from `prepare` (its rule unchanged)."""

    def apply(mp):
        def change(original):
            def build(**hyper):
                init, _update, rule = original(**hyper)
                return (init, *elementwise(state_type, prepare, rule.rule))
            return build
        _optimizer(mp, name, change)

    return apply


def _problem(change: Callable[[dict], dict]) -> Callable[[pytest.MonkeyPatch], None]:
    """Problems built from changed [problem] settings (data sets and surfaces alike)."""

    def apply(mp):
        original = build_mod.make_problem
        mp.setattr(build_mod, "make_problem", lambda settings, loaded, seed: original(change(dict(settings)), loaded, seed))

    return apply


def _without(key: str, only: str | None = None) -> Callable[[pytest.MonkeyPatch], None]:
    def change(settings: dict) -> dict:
        if only is None or (only == "dataset") == ("dataset" in settings):
            settings.pop(key, None)
        return settings
    return _problem(change)


def _cohort(**fixed) -> Callable[[pytest.MonkeyPatch], None]:
    """Cohorts built with some training aids overridden (clip_norm, patience...)."""

    def apply(mp):
        original = build_mod.Cohort
        mp.setattr(build_mod, "Cohort", lambda *args, **kw: original(*args, **{**kw, **fixed}))

    return apply


def _schedule(ignore: Callable[[str], bool]) -> Callable[[pytest.MonkeyPatch], None]:
    def apply(mp):
        original = build_mod.make_schedule

        def make(name, lr, **settings):
            return original("constant", lr) if ignore(name) else original(name, lr, **settings)
        mp.setattr(build_mod, "make_schedule", make)

    return apply


def _init_ignored(settings: dict) -> dict:
    if "init" in settings:
        settings["init"] = "xavier"
    return settings


def _val_is_train(mp: pytest.MonkeyPatch) -> None:
    original = build_mod.make_problem

    def make(settings, loaded, seed):
        problem = original(settings, loaded, seed)
        if hasattr(problem, "evaluate"):
            evaluate = problem.evaluate
            problem.evaluate = lambda params, split, *state: evaluate(params, "train", *state)
        return problem
    mp.setattr(build_mod, "make_problem", make)


def _l2_doubled(settings: dict) -> dict:
    if "l2" in settings:
        settings["l2"] = 2 * settings["l2"]  # the penalty λ·Σw² (gradient 2λw) instead of λ/2·Σw²
    return settings


def _warmup_ignored(mp: pytest.MonkeyPatch) -> None:
    original = build_mod.make_schedule

    def make(name, lr, **settings):
        settings.pop("warmup", None)
        settings.pop("warmup_start_factor", None)
        return original(name, lr, **settings)
    mp.setattr(build_mod, "make_schedule", make)


def _schedule_ahead(mp: pytest.MonkeyPatch) -> None:
    original = build_mod.make_schedule

    def make(name, lr, **settings):
        schedule = original(name, lr, **settings)
        if schedule.adaptive is not None:  # plateau: its lr is state, not a function of k
            return schedule
        return schedule._replace(lr_at=lambda k: schedule.lr_at(k + 1))
    mp.setattr(build_mod, "make_schedule", make)


def _cosine_as_linear(mp: pytest.MonkeyPatch) -> None:
    """Cosine annealing replaced by a straight line from the peak to eta_min over t_max steps."""
    original = build_mod.make_schedule

    def make(name, lr, **settings):
        schedule = original(name, lr, **settings)
        if schedule.name != "cosine":
            return schedule
        p = schedule.params
        warm, period, low, base = p["warmup"], p["t_max"], p["eta_min"], p["lr"]

        def one(k: int) -> float:
            if k < warm:
                return float(schedule.lr_at(k))
            return low + (base - low) * max(0.0, 1.0 - (k - warm) / period)

        def lr_at(k):
            ks = np.asarray(k)
            if ks.ndim == 0:
                return one(int(ks))
            return np.fromiter(map(one, ks.ravel().tolist()), dtype=np.float64, count=ks.size).reshape(ks.shape)
        return schedule._replace(lr_at=lr_at)
    mp.setattr(build_mod, "make_schedule", make)


def _dropout_not_inverted(mp: pytest.MonkeyPatch) -> None:
    """Dropout that zeroes units but does not scale the kept ones by 1/keep during training."""
    from gdsim.engine.batches import BatchSampler

    original = BatchSampler._next_masks

    def masks(self, width):
        keep = 1.0 - self._dropout
        return tuple(m * keep for m in original(self, width))
    mp.setattr(BatchSampler, "_next_masks", masks)


def _clip_by_value(mp: pytest.MonkeyPatch) -> None:
    """clip_norm applied to each gradient entry (torch's clip_grad_value_) instead of the whole
    gradient's length: the direction changes and the step is no longer capped at lr·clip_norm.
    (Cohort.step's array path; data-set probes only.)"""
    from gdsim.engine.cohort import Cohort

    original = Cohort.step

    def step(self, k, switch=None):
        clip = self.clip_norm
        if clip is None:
            return original(self, k, switch)
        self.grad, self.clip_norm = np.clip(self.grad, -clip, clip), None
        try:
            return original(self, k, switch)
        finally:
            self.clip_norm = clip
    mp.setattr(Cohort, "step", step)


def _patience_in_evaluations_of_one_step(mp: pytest.MonkeyPatch) -> None:
    """patience read as a number of steps rather than of evaluations (eval_every steps apart)."""
    original = build_mod.Cohort

    def make(*args, **kw):
        if kw.get("patience"):
            kw["patience"] = max(1, kw["patience"] // kw.get("eval_every", 1))
        return original(*args, **kw)
    mp.setattr(build_mod, "Cohort", make)


def _same_init(mp: pytest.MonkeyPatch) -> None:
    original = build_mod._starts
    mp.setattr(build_mod, "_starts", lambda problem, configs, seeds, where:
               original(problem, configs, np.zeros_like(seeds), where))


def _newton_as_gd(mp: pytest.MonkeyPatch) -> None:
    def change(original):
        def build(**hyper):
            init, _update, rule = original(**hyper)

            def update(grads, state, params, lr, hessian=None, *, record=None):
                return params - as_lr(lr) * grads, type(state)(state.step + 1)
            return init, update, rule
        return build
    _optimizer(mp, "newton", change)


def _cg_as_gd(mp: pytest.MonkeyPatch) -> None:
    def change(original):
        def build(**hyper):
            init, _update, rule = original(**hyper)

            def update(grads, state, params, lr, hessian=None, *, loss=None, loss_at=None, record=None):
                return params - as_lr(lr) * grads, type(state)(state.step + 1, None, None)
            return init, update, rule
        return build
    _optimizer(mp, "cg", change)


def _natural_without_fisher(mp: pytest.MonkeyPatch) -> None:
    def change(original):
        def build(**hyper):
            init, _update, rule = original(**hyper)

            def update(grads, state, params, lr, hessian=None, *, fisher=None, record=None):
                return params - as_lr(lr) * grads, type(state)(state.step + 1)
            return init, update, rule
        return build
    _optimizer(mp, "natural", change)


def _empirical_fisher(mp: pytest.MonkeyPatch) -> None:
    """The natural gradient with the "empirical Fisher" (Kunstner et al. 2019): the mean of the
    per-sample gradients' outer products g_n·g_nᵀ at the observed labels, instead of the model's
    expected curvature (the output curvature H_s is replaced by r·rᵀ with r = ∂loss_n/∂s)."""
    import gdsim.engine.fisher as fisher_mod
    from gdsim.engine.learning import DatasetProblem

    original_fisher = DatasetProblem.fisher
    original_curvature = fisher_mod.output_curvature

    def fisher(self, params, batch):
        indices = None if batch is None else batch.indices
        x = self._x_train_ones if indices is None else np.take(self._x_train_ones, indices, axis=0)
        t = self._t_train if indices is None else np.take(self._t_train, indices, axis=0)
        scores = self.network.forward(params, x, ones=True)[0]
        _, dscores = self.loss.grad(scores, t)  # ∂(mean loss)/∂s = r_n / B (one output: / B·K)
        rows, size, k = scores.shape
        r = dscores * size * (k if self.loss_name == "mse" else 1)  # per-sample ∂loss_n/∂s
        if self.loss_name == "cce":
            outer = r[..., :, None] * r[..., None, :] / size
        else:
            outer = r[..., 0] ** 2 / size
        mp.setattr(fisher_mod, "output_curvature", lambda loss, s: outer)
        try:
            return original_fisher(self, params, batch)
        finally:
            mp.setattr(fisher_mod, "output_curvature", original_curvature)
    mp.setattr(DatasetProblem, "fisher", fisher)


def _adagrad_forgets(mp: pytest.MonkeyPatch) -> None:
    def change(original):
        def build(**hyper):
            init, _update, rule = original(**hyper)

            def forgetful(coefs, grads, params, total, record=None):
                return rule.rule(coefs, grads, params, total * 0.0, record=record)
            return (init, *elementwise(rule.state, rule.prepare, forgetful))
        return build
    _optimizer(mp, "adagrad", change)


def _adam_no_bias_correction(mp: pytest.MonkeyPatch) -> None:
    def prepare(step, lr):
        return lr, lr, 1.0, 1.0, 1.0
    for name in ("adam", "adamw"):
        _prepare(name, AdamState, prepare)(mp)


def _nonzero(value) -> bool:
    return bool(np.any(np.asarray(value)))


def _weight_decay_sign(mp: pytest.MonkeyPatch) -> None:
    """Every optimizer's weight_decay with the wrong sign: SGD/Adam/RMSprop/Adagrad add -λθ to the
    gradient (the weights are pushed out, not pulled in), AdamW scales θ by (1 + ηλ)."""
    for name in ("sgd", "adam", "adamw", "rmsprop", "adagrad"):
        _hyper(name, weight_decay=lambda h: -np.asarray(h["weight_decay"]) if _nonzero(h["weight_decay"])
               else h["weight_decay"])(mp)


def _adamw_coupled(mp: pytest.MonkeyPatch) -> None:
    """AdamW's decay added to the gradient before Adam's rescaling (Adam with L2), not decoupled."""
    from functools import partial

    from gdsim.engine.optimizers_adaptive import adam

    _original, velocity = opt_mod._BUILDERS["adamw"]
    mp.setitem(opt_mod._BUILDERS, "adamw", (partial(adam, decoupled=False), velocity))


def _momentum_forgets(mp: pytest.MonkeyPatch) -> None:
    from gdsim.engine.optimizers import SgdState

    _prepare("sgd", SgdState, lambda step, lr: (lr, True))(mp)  # every step is "the first": v <- g


def _precision_recall_swapped(mp: pytest.MonkeyPatch) -> None:
    import gdsim.engine.learning as learning_mod

    original = learning_mod.classification_metrics

    def swapped(pred, labels, n_classes):
        result = original(pred, labels, n_classes)
        return {**result, "precision": result["recall"], "recall": result["precision"]}
    mp.setattr(learning_mod, "classification_metrics", swapped)


def _hinge_without_margin(mp: pytest.MonkeyPatch) -> None:
    from gdsim.engine.losses import Hinge

    def value(self, scores, targets):
        return np.mean(np.maximum(-targets * scores, 0.0), axis=(1, 2))

    def grad(self, scores, targets):
        margin = -targets * scores
        count = scores.shape[1] * scores.shape[2]
        return np.mean(np.maximum(margin, 0.0), axis=(1, 2)), (-1.0 / count) * targets * (margin > 0.0)
    mp.setattr(Hinge, "value", value)
    mp.setattr(Hinge, "grad", grad)


def _batch_norm_eval_on_batch(mp: pytest.MonkeyPatch) -> None:
    from gdsim.engine.models import Network

    original = Network._forward_bn
    mp.setattr(Network, "_forward_bn", lambda self, params, x, masks, stats: original(self, params, x, masks, None))


# -- small probes: a 2-D surface (float path and arrays) or a data set --------------------------
def _surface(optimizer: str, extra: str = "", problem: str = 'surface = "quadratic"\ncondition = 10') -> str:
    return f"""
[scenario]
title = "probe"
claim = "probe"
steps = 30

[problem]
{problem}

[optimizer]
{optimizer}
{extra}
[[runs]]
label = "a"
start = [-2.5, 1.5]
"""


def _data(problem: str, optimizer: str = 'name = "sgd"\nlr = 0.2', steps: int = 30,
          data: str = 'dataset = "moons"\nsamples = 60\nhidden = [8]') -> str:
    return f"""
[scenario]
title = "probe"
claim = "probe"
steps = {steps}

[problem]
{data}
{problem}

[optimizer]
{optimizer}

[[runs]]
label = "a"
"""


MUTANTS: tuple[Mutant, ...] = (
    Mutant("momentum-forgets-buffer", "SGD momentum restarts its velocity every step (plain GD)",
           _momentum_forgets, _surface('name = "sgd"\nlr = 0.05\nmomentum = 0.9'),
           killers=("momentum-overshoot", "nesterov-momentum", "right-optimizer", "plateau")),
    Mutant("nesterov-as-momentum", "Nesterov momentum computed as plain (heavy-ball) momentum",
           _hyper("sgd", nesterov=lambda h: False), _surface('name = "nesterov"\nlr = 0.05'),
           killers=("nesterov-momentum",)),
    Mutant("adam-no-bias-correction", "Adam and AdamW without the 1 - beta^t bias corrections",
           _adam_no_bias_correction, _surface('name = "adam"\nlr = 0.1'),
           killers=("adam-defaults", "adamw-vs-l2", "right-optimizer", "plateau")),
    Mutant("adamw-decay-ignored", "AdamW's decoupled weight decay is not applied",
           _hyper("adamw", weight_decay=lambda h: 0.0), _surface('name = "adamw"\nlr = 0.1\nweight_decay = 0.5'),
           killers=("adamw-vs-l2",)),
    Mutant("rmsprop-decay-wrong", "RMSprop's square average weights swapped: alpha -> 1 - alpha",
           _hyper("rmsprop", alpha=lambda h: 1.0 - h["alpha"]), _surface('name = "rmsprop"\nlr = 0.01'),
           killers=("adagrad-rmsprop",)),
    Mutant("adagrad-forgets", "Adagrad's sum of squared gradients restarts every step",
           _adagrad_forgets, _surface('name = "adagrad"\nlr = 0.5'),
           killers=("adagrad-rmsprop",)),
    Mutant("schedule-ignored", "every learning-rate schedule (but plateau) is constant",
           _schedule(lambda name: name != "plateau"),
           _surface('name = "sgd"\nlr = 0.05', '\n[schedule]\nname = "step"\nstep_size = 5\ngamma = 0.5\n'),
           killers=("lr-schedule", "cosine-warmup")),
    Mutant("plateau-ignored", "the reduce-on-plateau schedule never reduces the learning rate",
           _schedule(lambda name: name == "plateau"),
           _surface('name = "sgd"\nlr = 0.2', '\n[schedule]\nname = "plateau"\npatience = 1\nfactor = 0.5\n'),
           killers=("reduce-on-plateau",), floats=False),
    Mutant("momentum-applied-twice", "SGD momentum applied twice to its buffer: v <- mu (mu v) + g, i.e. momentum mu^2",
           _hyper("sgd", momentum=lambda h: np.asarray(h["momentum"]) ** 2 if _nonzero(h["momentum"]) else h["momentum"]),
           _surface('name = "sgd"\nlr = 0.05\nmomentum = 0.9'),
           killers=("momentum-overshoot", "nesterov-momentum", "right-optimizer")),
    Mutant("momentum-as-nesterov", "heavy-ball SGD momentum computed in Nesterov's form (g + mu v)",
           _hyper("sgd", nesterov=lambda h: _nonzero(h["momentum"]) and not _nonzero(h["dampening"])),
           _surface('name = "sgd"\nlr = 0.05\nmomentum = 0.9'),
           killers=("momentum-overshoot", "nesterov-momentum")),
    Mutant("weight-decay-sign", "weight_decay with the wrong sign in every optimizer (-λθ added; AdamW: θ(1 + ηλ))",
           _weight_decay_sign, _surface('name = "sgd"\nlr = 0.05\nweight_decay = 0.5'),
           killers=("adamw-vs-l2",)),
    Mutant("adamw-coupled", "AdamW's weight decay added to the gradient before Adam's rescaling (Adam + L2)",
           _adamw_coupled, _surface('name = "adamw"\nlr = 0.1\nweight_decay = 0.5'),
           killers=("adamw-vs-l2",)),
    Mutant("momentum-as-average", "SGD momentum as a moving average (dampening = momentum: v <- mu v + (1 - mu) g)",
           _hyper("sgd", dampening=lambda h: h["momentum"]), _surface('name = "sgd"\nlr = 0.05\nmomentum = 0.9'),
           killers=("momentum-overshoot",)),
    Mutant("warmup-ignored", "the schedule's linear warm-up is skipped", _warmup_ignored,
           _surface('name = "sgd"\nlr = 0.05', '\n[schedule]\nname = "constant"\nwarmup = 10\n'),
           killers=("cosine-warmup",)),
    Mutant("schedule-one-step-ahead", "update k uses the learning rate of update k + 1", _schedule_ahead,
           _surface('name = "sgd"\nlr = 0.05', '\n[schedule]\nname = "step"\nstep_size = 5\ngamma = 0.5\n'),
           killers=("cosine-warmup",)),
    Mutant("full-batch", "mini-batches replaced by the full batch (batch_size ignored)",
           _without("batch_size"), _data("batch_size = 4"),
           killers=("batch-size", "epochs-vs-steps")),
    Mutant("l1-ignored", "the L1 penalty is not applied", _without("l1"), _data("l1 = 0.05"),
           killers=("l1-sparsity",)),
    Mutant("l2-ignored", "the L2 penalty is not applied", _without("l2"), _data("l2 = 0.5"),
           killers=("l1-sparsity", "overfitting")),
    Mutant("l2-doubled", "the L2 penalty is twice as strong: gradient 2*l2*w instead of l2*w",
           _problem(_l2_doubled), _data("l2 = 0.5"), killers=("l1-sparsity",)),
    Mutant("dropout-ignored", "dropout is not applied", _without("dropout"), _data("dropout = 0.5"),
           killers=("dropout",)),
    Mutant("standardize-ignored", "features are not standardized", _without("standardize"),
           _data("standardize = true\ndata_seed = 3"),
           killers=("feature-scaling",)),
    Mutant("same-init", "every seed gets the same initialization / random start", _same_init,
           _data("", steps=5).replace('label = "a"', 'label = "a"\nseed = 7'),
           # local-minima-networks kills it too, but verifies in about two minutes: too slow here
           killers=("global-minimum",)),
    Mutant("noise-ignored", "gradient noise on surfaces is not added", _without("noise", only="surface"),
           _surface('name = "sgd"\nlr = 0.05', problem='surface = "quadratic"\ncondition = 10\nnoise = 1.0'),
           killers=("deterministic", "cosine-warmup", "saddle-point")),
    Mutant("early-stopping-never", "early stopping never stops a run (patience ignored)", _cohort(patience=None),
           _data("patience = 1\neval_every = 2\nsplit = [0.3, 0.7, 0.0]\nnoise = 0.4", 'name = "adam"\nlr = 0.05', steps=200),
           killers=("overfitting", "train-val-test")),
    Mutant("patience-in-steps", "early stopping's patience counted in steps, not in evaluations",
           _patience_in_evaluations_of_one_step,
           _data("patience = 6\neval_every = 3\nsplit = [0.3, 0.7, 0.0]\nnoise = 0.4", 'name = "adam"\nlr = 0.05', steps=200),
           killers=("overfitting", "train-val-test")),
    Mutant("restore-best-ignored", "early stopping keeps the last parameters, not the best ones (restore_best ignored)",
           _cohort(restore_best=False),
           _data("patience = 1\neval_every = 2\nsplit = [0.3, 0.7, 0.0]\nnoise = 0.4\nrestore_best = true",
                 'name = "adam"\nlr = 0.05', steps=200),
           killers=("overfitting", "train-val-test")),
    Mutant("cosine-as-linear", "cosine annealing decays the rate along a straight line instead of half a cosine",
           _cosine_as_linear,
           _surface('name = "sgd"\nlr = 0.05', '\n[schedule]\nname = "cosine"\nt_max = 30\n'),
           killers=("cosine-warmup",)),
    Mutant("dropout-not-inverted", "dropout does not scale the kept units by 1/keep in training (evaluation then sees larger signals)",
           _dropout_not_inverted, _data("dropout = 0.5"), killers=("dropout",)),
    Mutant("clipping-ignored", "gradient clipping is not applied", _cohort(clip_norm=None),
           _surface('name = "sgd"\nlr = 0.05', problem='surface = "quadratic"\ncondition = 10\nclip_norm = 0.1'),
           killers=("exploding-gradients",)),
    Mutant("clip-by-value", "gradient clipping per entry (clip_grad_value_) instead of by the gradient's length",
           _clip_by_value, _data("clip_norm = 0.1", optimizer='name = "sgd"\nlr = 0.5'),
           killers=("exploding-gradients",)),
    Mutant("init-ignored", "the init key is ignored: every network starts with Xavier's scale",
           _problem(_init_ignored), _data('init = "normal"\ninit_scale = 2.0'),
           killers=("exploding-gradients", "zero-init", "vanishing-gradients")),
    Mutant("val-is-train", "validation and test metrics are computed on the training split",
           _val_is_train, _data("patience = 2\neval_every = 2\nsplit = [0.3, 0.7, 0.0]\nnoise = 0.4",
                                'name = "adam"\nlr = 0.05', steps=200),
           killers=("overfitting", "train-val-test")),
    Mutant("outliers-ignored", "the outliers key of a regression data set is ignored (clean targets)",
           _without("outliers"), _data("outliers = 0.2", data='dataset = "line"\nsamples = 60\nmodel = "linear"'),
           killers=("mae-vs-mse",)),
    Mutant("imbalance-ignored", "the imbalance key is ignored (balanced classes)", _without("imbalance"),
           _data("imbalance = 0.1"),
           killers=("class-imbalance",)),
    Mutant("batch-norm-off", "batch normalization is not applied", _without("batch_norm"),
           _data("batch_norm = true"), killers=("batch-norm",)),
    Mutant("cg-as-gd", "conjugate gradient replaced by gradient descent at its lr", _cg_as_gd,
           _surface('name = "cg"\nlr = 0.05'),
           killers=("conjugate-gradient",), floats=False),  # CG needs whole rows: arrays only
    Mutant("newton-as-gd", "Newton's method replaced by gradient descent", _newton_as_gd,
           _surface('name = "newton"\nlr = 0.5'),
           killers=("single-step", "newton-saddle", "right-optimizer"), floats=False),  # Newton solves with the Hessian: arrays only
    Mutant("natural-without-fisher", "the natural gradient without the Fisher solve (plain gradient descent at its lr)",
           _natural_without_fisher,
           _data("", optimizer='name = "natural"\nlr = 0.5', data='dataset = "moons"\nsamples = 60\nmodel = "logistic"'),
           killers=("natural-gradient",)),
    Mutant("natural-empirical-fisher", "the natural gradient with the empirical Fisher (mean of g·gᵀ at the labels), not the true Fisher",
           _empirical_fisher,
           _data("", optimizer='name = "natural"\nlr = 0.5', data='dataset = "moons"\nsamples = 60\nmodel = "logistic"'),
           killers=("natural-gradient",)),
    Mutant("feature-scale-ignored", "[problem] feature_scale is not applied", _without("feature_scale"),
           _data("feature_scale = [1, 100]", data='dataset = "moons"\nsamples = 60\nmodel = "logistic"'),
           killers=("natural-gradient",)),
    Mutant("precision-recall-swapped", "precision and recall swapped", _precision_recall_swapped,
           _data("imbalance = 0.2\nsplit = [0.5, 0.5, 0.0]"), killers=("class-imbalance",), observe="val"),
    Mutant("hinge-without-margin", "hinge loss without its margin: max(0, -y s) instead of max(0, 1 - y s)",
           _hinge_without_margin, _data('loss = "hinge"\nmodel = "logistic"', data='dataset = "moons"\nsamples = 60'),
           killers=("hinge-vs-bce",)),
    Mutant("batch-norm-eval-on-batch", "batch norm evaluates with the batch's statistics, not the running ones",
           _batch_norm_eval_on_batch, _data("batch_norm = true\nsplit = [0.5, 0.5, 0.0]"),
           killers=("batch-norm",), observe="val"),
)

BY_NAME = {m.name: m for m in MUTANTS}


def applied(mutant: Mutant):
    """A context manager: the engine broken as `mutant` says while it is open."""
    import contextlib

    @contextlib.contextmanager
    def manager():
        with pytest.MonkeyPatch.context() as mp:
            mutant.apply(mp)
            yield
    return manager()
