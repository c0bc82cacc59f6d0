"""The built-in library covers the engine and the source material: every optimizer, schedule,
loss, activation, model and generated data set gdsim offers is used by at least one scenario's
runs (not only mentioned in a tip), and every topic of the material has its scenario.

The engine's own name lists are the reference, so a new optimizer or loss without a scenario,
or a scenario removed, fails here.
"""

from __future__ import annotations

from collections import defaultdict

import pytest

from gdsim.build import build, resolve_runs
from gdsim.engine.activations import ACTIVATIONS
from gdsim.engine.datasets import GENERATED
from gdsim.engine.learning import MODELS
from gdsim.engine.losses import LOSSES
from gdsim.engine.models import INITS
from gdsim.engine.optimizers import OPTIMIZER_NAMES
from gdsim.engine.schedules import SCHEDULE_NAMES
from gdsim.scenario.library import list_entries
from gdsim.scenario.load import load_scenario

ENTRIES = {entry.id: entry for entry in list_entries() if entry.builtin}


def _optimizer_kind(optimizer) -> str:
    """An optimizer's name as gdsim offers it: sgd's momentum and nesterov shortcuts count apart."""
    if optimizer.name == "sgd":
        if optimizer.hyper.get("nesterov"):
            return "nesterov"
        if optimizer.hyper.get("momentum", 0) > 0:
            return "momentum"
    return optimizer.name


@pytest.fixture(scope="module")
def used() -> dict[str, dict[str, set[str]]]:
    """{aspect: {name: scenario ids whose runs use it}} over the whole built-in library."""
    found: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for scenario_id, entry in ENTRIES.items():
        loaded = load_scenario(entry.path, id=scenario_id)
        sim = build(loaded, record=False)
        for cohort in sim.cohorts:
            found["optimizer"][_optimizer_kind(cohort.optimizer)].add(scenario_id)
            found["schedule"][cohort.schedule.name].add(scenario_id)
            if cohort.schedule.params.get("warmup", 0) > 0:
                found["feature"]["warmup"].add(scenario_id)
            problem = cohort.problem
            network = getattr(problem, "network", None)
            if network is None:
                continue
            found["loss"][problem.loss_name].add(scenario_id)
            found["model"][problem.model].add(scenario_id)
            found["dataset"][problem.data.name].add(scenario_id)
            found["init"][problem.init].add(scenario_id)
            if network.n_hidden:
                found["activation"][network.activation.name].add(scenario_id)
        for config in resolve_runs(loaded):
            settings = config.problem
            for key in ("l1", "l2", "dropout", "clip_norm", "patience", "outliers", "imbalance", "feature_scale"):
                if settings.get(key):
                    found["feature"][key].add(scenario_id)
            for key in ("batch_norm", "restore_best", "standardize"):
                if settings.get(key) is True:
                    found["feature"][key].add(scenario_id)
            if "dataset" not in settings and settings.get("noise"):
                found["feature"]["gradient noise"].add(scenario_id)
            if settings.get("batch_size") == 1:
                found["feature"]["stochastic (batch 1)"].add(scenario_id)
            elif settings.get("batch_size"):
                found["feature"]["mini-batch"].add(scenario_id)
            if config.optimizer.get("weight_decay"):
                found["feature"]["weight_decay"].add(scenario_id)
    return found


@pytest.mark.parametrize("aspect, offered", [
    ("optimizer", OPTIMIZER_NAMES),
    ("schedule", SCHEDULE_NAMES),
    ("loss", tuple(LOSSES)),
    ("activation", tuple(ACTIVATIONS)),
    ("model", MODELS),
    ("dataset", GENERATED),
    ("init", INITS),
])
def test_every_engine_choice_is_used_by_a_scenario(used, aspect, offered):
    missing = sorted(set(offered) - set(used[aspect]))
    assert not missing, f"no built-in scenario's runs use the {aspect}(s) {missing}; add a scenario that does"


FEATURES = ("warmup", "l1", "l2", "weight_decay", "dropout", "batch_norm", "clip_norm", "patience",
            "restore_best", "standardize", "gradient noise", "stochastic (batch 1)", "mini-batch",
            "outliers", "imbalance", "feature_scale")


@pytest.mark.parametrize("feature", FEATURES)
def test_every_training_feature_is_used_by_a_scenario(used, feature):
    assert used["feature"][feature], f"no built-in scenario's runs use {feature}"


def test_the_coverage_check_sees_what_a_scenario_uses(used):
    # A subtly broken check (e.g. reading only the first cohort) would miss these.
    assert "adagrad-rmsprop" in used["optimizer"]["rmsprop"]
    assert "nesterov-momentum" in used["optimizer"]["nesterov"]
    assert "nesterov-momentum" in used["optimizer"]["momentum"]
    assert "cosine-warmup" in used["schedule"]["exponential"]
    assert "mae-vs-mse" in used["loss"]["mae"]
    assert "dying-relu" in used["activation"]["leaky_relu"]
    assert "adamw-vs-l2" in used["feature"]["weight_decay"]
    assert "natural-gradient" in used["optimizer"]["natural"]
    assert "natural-gradient" in used["feature"]["feature_scale"]


# Each topic of the source material (shared/GD-FACTS.md) with the built-in scenarios that teach it.
TOPICS = {
    # the algorithm and its variants
    "iterate until a stopping rule (iterations, convergence, early stopping)": ["single-step", "train-val-test"],
    "batch, stochastic and mini-batch gradient descent": ["batch-size", "epochs-vs-steps"],
    "momentum: faster through ravines, can overshoot": ["right-optimizer", "momentum-overshoot"],
    "Nesterov momentum": ["nesterov-momentum"],
    "adaptive methods: AdaGrad, RMSprop, Adam": ["adagrad-rmsprop", "adam-defaults"],
    "second-order methods: Newton's method": ["newton-saddle", "single-step"],
    "second-order methods: conjugate gradient": ["conjugate-gradient"],
    "natural gradient (emerging)": ["natural-gradient"],
    "schedules: constant, step decay, exponential decay": ["lr-schedule", "cosine-warmup"],
    "schedules: cosine with warm-up": ["cosine-warmup"],
    "schedules: reduce on plateau": ["reduce-on-plateau"],
    # the five misconceptions
    "it always finds the global minimum": ["global-minimum"],
    "it is deterministic": ["deterministic"],
    "it converges in a single step": ["single-step", "epochs-vs-steps"],
    "it is always the right optimizer": ["right-optimizer"],
    "it always converges to a good solution": ["overfitting"],
    # challenges and remedies
    "plateaus": ["plateau"],
    "local minima (rare in wide networks, real in small ones)": ["global-minimum", "local-minima-networks"],
    "saddle points": ["saddle-point", "newton-saddle"],
    "vanishing gradients": ["vanishing-gradients"],
    "exploding gradients and clipping": ["exploding-gradients"],
    "initialization (Xavier/Glorot, He, zeros)": ["zero-init", "vanishing-gradients", "dying-relu"],
    "learning-rate sensitivity": ["learning-rate"],
    # tables of the material
    "activations: sigmoid, tanh, ReLU, leaky ReLU": ["vanishing-gradients", "dying-relu"],
    "softmax and categorical cross-entropy": ["softmax-spirals"],
    "losses: MSE, binary cross-entropy, hinge": ["hinge-vs-bce", "mae-vs-mse"],
    "regularization: L1 and L2": ["l1-sparsity", "overfitting"],
    "regularization: dropout": ["dropout"],
    "regularization: batch normalization": ["batch-norm"],
    "AdamW vs Adam with L2": ["adamw-vs-l2"],
    "the 70/15/15 split and a test set": ["train-val-test"],
    "metrics: accuracy, precision, recall": ["class-imbalance"],
    "metrics: MAE, MSE": ["mae-vs-mse"],
    "training curves: training above validation": ["overfitting", "dropout"],
    "feature scaling": ["feature-scaling", "natural-gradient"],
    # The material's 784 -> 256 -> 128 -> 64 -> 10 network on 28x28 images, scaled to the shipped
    # 8x8 UCI digits: 64 -> 128 -> 64 -> 10.
    "the example network 784 -> 256 -> 128 -> 64 -> 10 (as 64 -> 128 -> 64 -> 10 on 8x8 digits)": ["digits"],
    "schedules with noise (mini-batch noise needs a decaying rate)": ["lr-schedule"],
}

# Topics of the material no scenario can show with what the engine offers (kept visible here).
NOT_SHOWN: dict[str, str] = {}  # none left: natural gradient and the example network have theirs


@pytest.mark.parametrize("topic", sorted(TOPICS))
def test_every_topic_of_the_material_has_its_scenarios(topic):
    missing = [scenario_id for scenario_id in TOPICS[topic] if scenario_id not in ENTRIES]
    assert not missing, f"topic {topic!r}: built-in scenario(s) {missing} not in the library"


def test_the_example_network_topic_builds_that_network():
    # The mapped scenario must really run the material's layer shape (scaled to 8x8 inputs).
    loaded = load_scenario(ENTRIES["digits"].path, id="digits")
    sizes = {tuple(c.problem.network.layout.sizes) for c in build(loaded, record=False).cohorts
             if getattr(c.problem, "network", None) is not None}
    assert (64, 128, 64, 10) in sizes


def test_the_library_is_large_enough():
    assert len(ENTRIES) >= 32
    assert not set(NOT_SHOWN) & set(TOPICS)
