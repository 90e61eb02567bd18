"""Training on the NumPy engine, the plots, and the Python builder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import backproof
from backproof.engine import Dense
from backproof.errors import SpecError
from backproof.nn import Layer, Network, explain_network, program_from_spec_file, train_network
from backproof.nn.numeric import LossFunction
from backproof.nn.plots import build_plots, write_plots

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
ALL = ["mazur", "sigmoid_bce", "linear_chain", "wx_plus_b", "three_input", "softmax_blobs"]


@pytest.mark.parametrize("mode", ["simultaneous", "sequential"])
@pytest.mark.parametrize("name", ["mazur", "three_input", "sigmoid_bce"])
def test_training_records_the_path_it_took(name, mode):
    """Training is the engine's loop (``backproof.engine.train``) with a recorder. The
    recorded path is checked against an independent forward pass (plain arrays, no
    ``Dense``): the loss at every recorded point is the loss the loop reported there."""
    net = program_from_spec_file(EXAMPLES / f"{name}.yaml")
    h = train_network(net, steps=25, tolerance=1e-9, mode=mode)
    assert all(len(v) == h.steps + 1 for v in h.path.values())
    assert set(h.path) == set(net.params)
    for p in net.params:
        assert h.path[p][0] == float(net.at[p]) and h.path[p][-1] == h.final[p]
    for k in range(h.steps + 1):
        f = LossFunction(net, {p: h.path[p][k] for p in net.params})
        assert f() == pytest.approx(h.losses[k], rel=1e-12, abs=1e-15)
    lay = net.layout
    for l, layer in enumerate(h.layers):
        for i, row in enumerate(lay.W[l]):
            for j, p in enumerate(row):
                assert h.final[p] == layer.W[i, j]


@pytest.mark.parametrize("name", ALL)
def test_training_decreases_the_loss_on_every_example(name):
    steps = 300 if name == "softmax_blobs" else 50
    h = train_network(EXAMPLES / f"{name}.yaml", steps=steps)
    assert h.final_loss < h.losses[0]
    if name != "linear_chain":
        assert h.losses[1] < h.losses[0]
    if name == "softmax_blobs":
        # The classifier learns: most training points are classified correctly.
        spec = program_from_spec_file(EXAMPLES / f"{name}.yaml").spec
        from backproof.engine import forward_prop
        pred = forward_prop(np.array(spec.inputs, dtype=float), list(h.layers)).output.argmax(axis=1)
        truth = np.array(spec.targets, dtype=float).argmax(axis=1)
        assert (pred == truth).mean() >= 0.9


def test_seed_linear_chain_first_step_overshoots():
    """Seed 004 says its update with η = 0.1 reduces the loss; it raises it (2 → 2.2472),
    then training converges."""
    h = train_network(EXAMPLES / "linear_chain.yaml", steps=30)
    assert h.losses[0] == 2.0 and h.losses[1] == pytest.approx(2.2472, rel=1e-12)
    assert all(b < a for a, b in zip(h.losses[1:], h.losses[2:]))
    assert train_network(EXAMPLES / "linear_chain.yaml", steps=1, learning_rate=0.05).losses[1] < 2.0


def test_first_training_step_is_the_explained_update():
    r = explain_network(EXAMPLES / "mazur.yaml")
    h = train_network(EXAMPLES / "mazur.yaml", steps=1)
    for name, new in r.updated().items():
        assert h.path[name][1] == pytest.approx(float(new), rel=1e-14, abs=1e-16)
    assert h.losses[0] == pytest.approx(float(r.loss), rel=1e-14)


@pytest.mark.parametrize("tol,reason", [(0.0, "steps"), (1e-3, "loss_decrease"), (10.0, "gradient_norm")])
def test_stopping_rules(tol, reason):
    h = train_network(EXAMPLES / "three_input.yaml", steps=500, tolerance=tol)
    assert h.stopped_because == reason
    assert (h.steps == 500) == (reason == "steps")
    assert reason.split("_")[0] in h.reason or reason == "steps"


def test_training_needs_a_learning_rate():
    with pytest.raises(SpecError, match="learning_rate: missing field"):
        train_network({"inputs": [1], "targets": [2], "loss": "sse",
                       "layers": [{"units": 1, "activation": "identity"}]})


def test_plots_are_valid_deterministic_images(tmp_path):
    net = program_from_spec_file(EXAMPLES / "linear_chain.yaml")
    h = train_network(net, steps=20)
    files = build_plots(net, h)
    assert sorted(files) == sorted(f"linear_chain_{k}.{ext}" for k in ("loss", "loss_vs_w2", "surface_w1_w2")
                                   for ext in ("png", "svg"))
    for name, data in files.items():
        if name.endswith(".png"):
            assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 5000
        else:
            assert data.lstrip().startswith(b"<?xml") and b"<svg" in data
    assert build_plots(net, h) == files  # same run, same bytes
    paths = write_plots(files, tmp_path / "plots")
    assert all(p.exists() and p.read_bytes() == files[p.name] for p in paths)


def test_plot_of_an_unknown_parameter_is_an_error():
    net = program_from_spec_file(EXAMPLES / "wx_plus_b.yaml")
    with pytest.raises(SpecError, match="unknown parameter 'q'"):
        build_plots(net, train_network(net), weight="q")


# --- the Python builder ---------------------------------------------------------------

def test_builder_equals_the_spec():
    spec = {"inputs": [0.5, -1.0], "targets": [1], "loss": "bce", "learning_rate": 0.5,
            "layers": [{"units": 2, "activation": "sigmoid", "weights": [[0.1, 0.2], [0.3, 0.4]], "bias": 0},
                       {"units": 1, "activation": "sigmoid", "weights": [[0.5, -0.5]], "bias": 0.1}]}
    built = Network([Layer(2, "sigmoid", weights=[[0.1, 0.2], [0.3, 0.4]], bias=0),
                     Layer(1, "sigmoid", weights=np.array([[0.5, -0.5]]), bias=0.1)],
                    loss="bce", learning_rate=0.5)
    a = built.explain(inputs=[0.5, -1.0], targets=[1])
    b = Network.from_spec(spec).explain()
    c = explain_network(spec)
    assert a.gradients() == b.gradients() == c.gradients()
    assert a.updated() == c.updated()


def test_builder_accepts_engine_dense_layers_and_is_lazy_exported():
    layers = [Dense([[1.0, -1.0]], [0.5], "tanh"), Dense([[2.0]], [0.0], "identity")]
    net = backproof.Network(layers, loss="half_sse", learning_rate=0.1)
    r = net.explain(inputs=[[1.0, 2.0], [0.0, 1.0]], targets=[[1.0], [0.0]])
    assert r.net.spec.sizes == (2, 1, 1) and r.net.spec.n_samples == 2
    assert net.train(inputs=[[1.0, 2.0], [0.0, 1.0]], targets=[[1.0], [0.0]], steps=3).steps == 3


def test_builder_initialises_missing_weights():
    net = Network([Layer(3, "relu"), Layer(2, "softmax")], loss="ce", seed=7, initializer="he")
    spec = net.spec(inputs=[1.0, 2.0], targets=[0, 1])
    assert spec.layers[0].initialized and spec.layers[0].initializer == "he"
    assert net.spec(inputs=[1.0, 2.0], targets=[0, 1]).layers == spec.layers


def test_builder_rejects_other_layer_types():
    with pytest.raises(SpecError, match=r"layers\[0\]: expected backproof.nn.Layer"):
        Network([(2, "sigmoid")])


def test_builder_from_file():
    r = Network.from_spec(EXAMPLES / "mazur.yaml").explain()
    assert abs(float(r.loss) - 0.298371109) < 1e-9


def test_training_overflow_names_the_step():
    """The nn wording of a diverging run is kept now that the loop is the engine's."""
    from backproof.engine import NumericalError
    spec = {"inputs": [1e100], "targets": [0], "loss": "sse", "learning_rate": 1e100,
            "layers": [{"units": 1, "activation": "identity", "weights": [[1]], "bias": 0}]}
    with pytest.raises(NumericalError) as info:
        train_network(spec, steps=5)
    assert str(info.value).startswith("training step ") and info.value.where.startswith("step ")
