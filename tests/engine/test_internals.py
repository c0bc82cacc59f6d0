"""Network internals: per-layer gradient norms in the history, weight histograms and sparsity,
and the evaluation metrics in CLI records."""

from __future__ import annotations

import json

import numpy as np

from gdsim import records
from gdsim.build import build
from gdsim.engine.internals import layer_weights, weight_share_below
from gdsim.scenario.load import load_scenario

NET = """
[scenario]
title = "t"
claim = "c"
steps = 30
[problem]
dataset = "moons"
samples = 80
model = "mlp"
hidden = [6, 4]
eval_every = 10
[optimizer]
name = "sgd"
lr = 0.1
[[runs]]
label = "a"
[[runs]]
label = "b"
seed = 3
"""


def sim_from(tmp_path, source: str):
    path = tmp_path / "s.toml"
    path.write_text(source)
    return build(load_scenario(path))


def test_history_records_each_layers_gradient_norm(tmp_path):
    sim = sim_from(tmp_path, NET)
    assert sim.n_layers == 3 and "layer_grad_norm" in sim.history.fields
    sim.step(7)
    steps, norms = sim.history.series("layer_grad_norm")
    assert norms.shape == (8, 2, 3)
    for cohort in sim.cohorts:
        expected = cohort.problem.layer_grad_norms(cohort.grad)
        np.testing.assert_array_equal(norms[-1, cohort.rows], expected)
    # the layers' norms make up the whole gradient's norm
    total = np.sqrt((norms[-1] ** 2).sum(axis=1))
    np.testing.assert_allclose(total, sim.grad_norm, rtol=1e-12)


def test_no_layer_field_for_surfaces_or_single_layer_models(tmp_path):
    surface = sim_from(tmp_path, '[scenario]\ntitle="t"\nclaim="c"\n[problem]\nsurface="quadratic"\n')
    assert surface.n_layers == 0 and "layer_grad_norm" not in surface.history.fields
    linear = sim_from(tmp_path, NET.replace('model = "mlp"\nhidden = [6, 4]', 'model = "logistic"'))
    assert "layer_grad_norm" not in linear.history.fields


def test_weight_histograms_and_sparsity(tmp_path):
    sim = sim_from(tmp_path, NET)
    network = sim.cohorts[0].problem.network
    params = sim.cohorts[0].params.copy()
    weights = network.layout.weights(params)
    weights[0][0, 0, :3] = 0.0  # three connections of run a cut
    layers = layer_weights(network, params[0], bins=8, tol=0.01)
    assert [layer.count for layer in layers] == [2 * 6, 6 * 4, 4 * 1]
    assert [int(layer.counts.sum()) for layer in layers] == [layer.count for layer in layers]
    small = [int(np.sum(np.abs(w[0]) < 0.01)) for w in weights]
    assert [layer.small for layer in layers] == small and small[0] >= 3
    share = weight_share_below(network, params, 0.01)
    assert share[0] == sum(small) / sum(layer.count for layer in layers)
    assert layers[0].edges[0] == -layers[0].edges[-1]  # symmetric around zero


def test_records_carry_precision_recall_and_errors(tmp_path):
    sim = sim_from(tmp_path, NET)
    sim.step(10)
    rows = [json.loads(records.to_json(r)) for r in records.step_records(sim)]
    for key in ("train_precision", "val_precision", "train_recall", "val_recall"):
        assert all(isinstance(row[key], float) for row in rows), key
    expected = sim.cohorts[0].problem.evaluate(sim.cohorts[0].params, "val")
    assert rows[0]["val_precision"] == float(expected["precision"][0])
    assert rows[0]["val_recall"] == float(expected["recall"][0])
    assert "train_mae" not in rows[0]
    regression = sim_from(tmp_path, NET.replace('dataset = "moons"', 'dataset = "line"').replace(
        'model = "mlp"', 'model = "mlp"\nloss = "mse"'))
    regression.step(10)
    row = next(records.step_records(regression))
    assert all(isinstance(row[k], float) for k in ("train_mae", "val_mae", "train_mse", "val_mse"))
    assert "val_precision" not in row
    header = records.csv_header(row)
    assert "val_mse" in header and len(header) == len(records.csv_row(row))


def test_layer_grad_norms_are_each_layers_own_norm(tmp_path):
    sim = sim_from(tmp_path, NET)
    network = sim.cohorts[0].problem.network
    grad = np.random.default_rng(0).normal(size=(4, network.n_params))
    expected = np.stack([np.linalg.norm(grad[:, s.start : s.end], axis=1) for s in network.layout.layers], axis=1)
    np.testing.assert_allclose(network.layer_grad_norms(grad), expected, rtol=1e-13)


def test_layer_grad_norms_leave_batch_norm_gammas_out(tmp_path):
    sim = sim_from(tmp_path, NET.replace('hidden = [6, 4]', 'hidden = [6, 4]\nbatch_norm = true'))
    network = sim.cohorts[0].problem.network
    assert network.layout.gamma_slices  # the gammas come after the last layer
    grad = np.random.default_rng(1).normal(size=(3, network.n_params))
    expected = np.stack([np.linalg.norm(grad[:, s.start : s.end], axis=1) for s in network.layout.layers], axis=1)
    np.testing.assert_allclose(network.layer_grad_norms(grad), expected, rtol=1e-13)
