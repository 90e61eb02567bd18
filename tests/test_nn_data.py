"""The ``moons`` and ``spiral`` generators, the ``uniform`` initialiser and the training fields
of a network spec (issue 14, item 2).

Oracles: the generators' formulas written out (scikit-learn's ``make_moons`` curves, CS231n's
spiral) at zero noise; the examples' published figures (micrograd's demo: 100% accuracy;
CS231n's case study: 98%) from the NumPy engine; one-line errors with field paths and exit 2.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from backproof.cli import main
from backproof.engine import Dense
from backproof.errors import BackproofError, SpecError
from backproof.nn import program_from_spec_file, train_network
from backproof.nn.model import DataSpec
from backproof.nn.spec import generate_data, validate_spec

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_moons_lie_on_the_two_half_circles():
    X, y = generate_data(DataSpec("moons", 101, 2, 2, 5, 1.0, noise=0.0))
    assert (y == 0).sum() == 50 and (y == 1).sum() == 51
    outer, inner = X[y == 0], X[y == 1]
    np.testing.assert_allclose(np.hypot(*outer.T), 1.0, atol=2e-4)
    assert np.all(outer[:, 1] >= -1e-4)
    np.testing.assert_allclose(np.hypot(inner[:, 0] - 1, inner[:, 1] - 0.5), 1.0, atol=2e-4)
    assert np.all(inner[:, 1] <= 0.5 + 1e-4)
    assert not np.all(np.diff(y) >= 0)  # shuffled


def test_moons_are_seeded_and_noisy():
    a = generate_data(DataSpec("moons", 40, 2, 2, 1, 1.0, noise=0.1))
    b = generate_data(DataSpec("moons", 40, 2, 2, 1, 1.0, noise=0.1))
    c = generate_data(DataSpec("moons", 40, 2, 2, 2, 1.0, noise=0.1))
    assert np.array_equal(a[0], b[0]) and not np.array_equal(a[0], c[0])
    clean = generate_data(DataSpec("moons", 40, 2, 2, 1, 1.0, noise=0.0))
    assert 0.03 < np.std(a[0] - clean[0]) < 0.2


def test_spiral_is_cs231n_formula():
    per, K = 25, 3
    X, y = generate_data(DataSpec("spiral", per * K, K, 2, 0, 1.0, noise=0.0))
    for j in range(K):
        r = np.linspace(0.0, 1.0, per)
        t = np.linspace(4 * j, 4 * (j + 1), per)
        got = X[y == j]
        got = got[np.argsort(np.hypot(*got.T), kind="stable")]  # shuffled: back in radius order
        np.testing.assert_allclose(got, np.c_[r * np.sin(t), r * np.cos(t)], atol=5e-5)
    assert y.tolist() != sorted(y.tolist())  # shuffled


def test_uniform_initializer_is_micrograds_range():
    layer = Dense.init(50, 40, "relu", "uniform", rng=0)
    assert layer.W.min() >= -1 and layer.W.max() <= 1 and layer.W.min() < -0.9 and layer.W.max() > 0.9
    assert np.all(layer.b == 0)
    small = Dense.init(50, 40, "relu", "normal", rng=0, scale=0.01)
    assert 0.005 < small.W.std() < 0.02


@pytest.mark.parametrize(("patch", "where", "words"), [
    ({"optimizer": "adamw"}, "optimizer", "must be one of sgd, momentum"),
    ({"optimizer": {"name": "adam", "beta1": 1.5}}, "optimizer.beta1", "[0, 1)"),
    ({"optimizer": {"name": "momentum", "beta2": 0.9}}, "optimizer.beta2", "not a hyper-parameter of momentum"),
    ({"schedule": "cosine"}, "schedule", "constant, step, linear, exponential"),
    ({"schedule": {"kind": "step", "gamma": 0}}, "schedule.gamma", "(0, 1]"),
    ({"schedule": {"kind": "linear", "gamma": 0.5}}, "schedule.gamma", "not a field of the linear schedule"),
    ({"regularization": {"kind": "l3", "strength": 1}}, "regularization.kind", "l2, l1"),
    ({"regularization": {"kind": "l2", "strength": -1}}, "regularization.strength", ">= 0"),
    ({"regularization": {"kind": "l1", "strength": 1, "half": True}}, "regularization.half", "l2 only"),
    ({"batch": "mini"}, "batch", "full, online"),
    ({"batch": {"size": 0}}, "batch.size", ">= 1"),
    ({"show_steps": [0]}, "show_steps[0]", ">= 1"),
    ({"explain_samples": 0}, "explain_samples", ">= 1"),
    ({"init_scale": -2}, "init_scale", "> 0"),
    ({"data": {"generator": "spiral", "samples": 100, "classes": 3}}, "data.samples", "multiple of 3"),
    ({"data": {"generator": "moons", "noise": -0.1}}, "data.noise", ">= 0"),
    ({"data": {"generator": "moons", "classes": 3}}, "data.classes", "moons has 2 classes"),
    ({"data": {"generator": "moons", "rng": "mt"}}, "data.rng", "numpy, legacy"),
    ({"round_draws": "no"}, "round_draws", "true or false"),
    ({"optimizer": "adam", "mode": "sequential"}, "mode", "plain full-batch"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_bad_training_fields_give_one_line_with_their_path(patch, where, words):
    spec = {"data": {"generator": "moons", "samples": 20}, "loss": "hinge", "learning_rate": 0.1,
            "layers": [{"units": 4, "activation": "relu"}, {"units": 1, "activation": "identity"}]}
    spec.update(patch)
    if "data" in patch and patch["data"].get("generator") == "spiral":
        spec["loss"], spec["layers"][-1] = "ce", {"units": 3, "activation": "softmax"}
    with pytest.raises(SpecError) as info:
        validate_spec(spec)
    msg = str(info.value)
    assert msg.startswith(f"{where}: ") and words in msg and "\n" not in msg


def test_bad_field_exits_2_from_the_cli(tmp_path, capsys):
    p = tmp_path / "n.yaml"
    p.write_text("data: {generator: moons}\nloss: hinge\nlearning_rate: 1\noptimizer: {name: adam, eps: 0}\n"
                 "layers:\n  - {units: 1, activation: identity}\n", encoding="utf-8")
    out = tmp_path / "o.md"
    assert main(["net", str(p), "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "optimizer.eps" in err and "Traceback" not in err
    assert not out.exists()


def test_explain_samples_derives_few_and_trains_on_all():
    spec = validate_spec({"data": {"generator": "moons", "samples": 30, "seed": 2}, "loss": "hinge",
                          "explain_samples": 2, "learning_rate": 0.5, "steps": 3,
                          "layers": [{"units": 3, "activation": "tanh"}, {"units": 1, "activation": "identity"}]})
    assert spec.n_samples == 2 and len(spec.training.train_inputs) == 30
    assert [float(v) for v in spec.inputs[1]] == list(spec.training.train_inputs[1])
    h = train_network(spec, steps=3)
    assert h.samples == 30


#: micrograd's demo.ipynb, as saved: "step k loss …" is the loss before update k (k from 0).
MICROGRAD_PRINTED = {0: (0.8958, 5e-5), 1: (1.7236, 5e-5), 10: (0.2451, 5e-5), 50: (0.0988, 5e-5),
                     96: (0.010980043387921506, 1e-15), 97: (0.010979446081684675, 1e-15),
                     98: (0.010978888332907229, 1e-15), 99: (0.010978370135492717, 1e-15)}


def test_micrograd_demo_gives_the_notebooks_numbers():
    """micrograd's demo notebook: the same draws (legacy NumPy generator in scikit-learn's call
    order, Python's random.uniform), the same loop — the printed losses and 100% accuracy."""
    net = program_from_spec_file(EXAMPLES / "micrograd_moons.yaml")
    h = train_network(net)
    assert h.steps == 100 and h.samples == 100
    for k, (printed, tol) in MICROGRAD_PRINTED.items():
        assert h.losses[k] == pytest.approx(printed, abs=tol), k
    assert h.accuracy == 1.0
    from backproof.nn.numeric import engine_layers, training_arrays
    from backproof.nn.train import classification_accuracy
    assert classification_accuracy(engine_layers(net.spec), *training_arrays(net.spec)) == 0.5  # step 0: 50%
    # The rate of each shown step is micrograd's 1.0 − 0.9·k/100 (k from 0).
    assert [s.lr for s in h.shown] == [pytest.approx(1.0 - 0.9 * (s.k - 1) / 100, rel=1e-15) for s in h.shown]


def test_cs231n_spiral_reaches_the_notes_accuracy():
    """CS231n's case study: 2-layer net, 98% training accuracy; the loss starts at log 3."""
    h = train_network(program_from_spec_file(EXAMPLES / "cs231n_spiral.yaml"))
    assert h.losses[0] == pytest.approx(np.log(3), abs=2e-3)
    assert h.accuracy >= 0.98
    assert h.final_loss < 0.26


def test_random_training_fields_give_a_spec_or_one_line_error():
    """Hypothesis: any value in the training fields is read or refused with one line naming
    its field, never another exception."""
    hypothesis = pytest.importorskip("hypothesis")
    st = hypothesis.strategies
    junk = st.one_of(st.none(), st.booleans(), st.integers(-3, 10**6), st.floats(allow_nan=True),
                     st.text(max_size=6), st.lists(st.integers(-2, 5), max_size=12))
    fields = st.fixed_dictionaries({}, optional={
        "optimizer": st.one_of(junk, st.sampled_from(["sgd", "adam", "nesterov"]),
                               st.fixed_dictionaries({"name": st.sampled_from(["adam", "rmsprop", "x"])},
                                                     optional={"beta1": junk, "eps": junk, "alpha": junk})),
        "schedule": st.one_of(junk, st.fixed_dictionaries({"kind": st.sampled_from(["step", "linear", "q"])},
                                                          optional={"gamma": junk, "step_size": junk,
                                                                    "final": junk})),
        "regularization": st.one_of(junk, st.fixed_dictionaries(
            {"kind": st.sampled_from(["l1", "l2", "l0"]), "strength": junk}, optional={"half": junk})),
        "batch": st.one_of(junk, st.sampled_from(["full", "online"]),
                           st.fixed_dictionaries({"size": junk}, optional={"seed": junk})),
        "show_steps": junk, "explain_samples": junk, "init_scale": junk, "round_draws": junk,
        "initializer": st.sampled_from(["uniform", "python_uniform", "normal"]),
    })

    @hypothesis.settings(max_examples=150, deadline=None, derandomize=True)
    @hypothesis.given(fields)
    def check(extra):
        spec = {"data": {"generator": "moons", "samples": 12}, "loss": "hinge", "learning_rate": 0.1,
                "layers": [{"units": 2, "activation": "relu"}, {"units": 1, "activation": "identity"}], **extra}
        try:
            validate_spec(spec)
        except BackproofError as exc:  # SpecError, or LimitError for a number of 100+ digits
            msg = str(exc)
            assert "\n" not in msg and msg.split(":")[0].split(".")[0].split("[")[0] in extra, msg

    check()
