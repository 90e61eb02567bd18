"""Network specs: every malformed field gives its own one-line error naming the field path."""

from __future__ import annotations

import copy
import json

import pytest
import sympy as sp

from backproof.errors import SpecError
from backproof.nn import program_from_spec, program_from_spec_file, validate_spec
from backproof.nn.spec import ACTIVATIONS, load_spec_file, param_entries

BASE = {
    "inputs": [0.05, 0.10],
    "targets": [0.01, 0.99],
    "layers": [
        {"units": 2, "activation": "sigmoid", "weights": [[0.15, 0.20], [0.25, 0.30]], "bias": 0.35},
        {"units": 2, "activation": "sigmoid", "weights": [[0.40, 0.45], [0.50, 0.55]], "bias": 0.60},
    ],
    "loss": "half_sse",
    "learning_rate": 0.5,
}


def mutate(path, value=None, delete=False, base=BASE):
    spec = copy.deepcopy(base)
    node = spec
    for key in path[:-1]:
        node = node[key]
    if delete:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return spec


BCE = dict(BASE, loss="bce")
CE = dict(BASE, loss="ce", layers=[BASE["layers"][0], dict(BASE["layers"][1], activation="softmax")],
          targets=[0, 1])

# (id, spec, fragments every one of which must appear in the message)
BAD = [
    ("ragged-weights", mutate(["layers", 0, "weights"], [[0.15, 0.2], [0.25]]),
     ["layers[0].weights", "ragged matrix", "lengths 2, 1", "2 × 2"]),
    ("wrong-shape-weights", mutate(["layers", 1, "weights"], [[0.4, 0.45, 0.1], [0.5, 0.55, 0.1]]),
     ["layers[1].weights", "expected a 2 × 2 matrix (units × fan_in", "got 2 × 3"]),
    ("too-many-rows", mutate(["layers", 0, "weights"], [[1, 2], [3, 4], [5, 6]]),
     ["layers[0].weights", "got 3 × 2"]),
    ("bias-length", mutate(["layers", 0, "bias"], [0.1, 0.2, 0.3]),
     ["layers[0].bias", "a list of 2 numbers", "got a list of 3"]),
    ("unknown-activation", mutate(["layers", 0, "activation"], "swish"),
     ["layers[0].activation", "'swish'", ", ".join(ACTIVATIONS)]),
    ("unknown-loss", mutate(["loss"], "huber"), ["loss", "'huber'", "mse, sse, half_sse, bce, ce"]),
    ("string-weight", mutate(["layers", 0, "weights"], [[0.15, "0.2"], [0.25, 0.3]]),
     ["layers[0].weights[0][1]", "expected a number", "the string '0.2'", "without quotes"]),
    ("string-input", mutate(["inputs"], [0.05, "x"]), ["inputs[1]", "expected a number", "'x'"]),
    ("bool-rate", mutate(["learning_rate"], True), ["learning_rate", "boolean"]),
    ("nan-weight", mutate(["layers", 1, "weights"], [[float("nan"), 0.45], [0.5, 0.55]]),
     ["layers[1].weights[0][0]", "finite", "nan"]),
    ("inf-bias", mutate(["layers", 1, "bias"], float("inf")), ["layers[1].bias", "finite", "inf"]),
    ("bce-target-range", dict(BCE, targets=[0.5, 1.5]), ["targets[1]", "outside [0, 1]", "bce"]),
    ("bce-needs-sigmoid", dict(BCE, layers=[BASE["layers"][0], dict(BASE["layers"][1], activation="tanh")]),
     ["layers[1].activation", "bce needs a sigmoid output layer", "tanh"]),
    ("ce-needs-softmax", dict(CE, layers=BASE["layers"]), ["ce needs a softmax output layer"]),
    ("ce-sum", dict(CE, targets=[0.5, 0.6]), ["targets", "sum to 1", "1.1"]),
    ("missing-layers", mutate(["layers"], delete=True), ["layers", "missing field"]),
    ("missing-loss", mutate(["loss"], delete=True), ["loss", "missing field"]),
    ("missing-targets", mutate(["targets"], delete=True), ["targets", "missing field"]),
    ("missing-units", mutate(["layers", 0, "units"], delete=True), ["layers[0].units", "missing field"]),
    ("missing-activation", mutate(["layers", 1, "activation"], delete=True),
     ["layers[1].activation", "missing field"]),
    ("zero-units", mutate(["layers", 0, "units"], 0), ["layers[0].units", "integer >= 1", "got 0"]),
    ("unknown-field", mutate(["learnin_rate"], 0.1), ["learnin_rate", "unknown field", "learning_rate"]),
    ("unknown-layer-field", mutate(["layers", 0, "bais"], 0.1), ["layers[0].bais", "unknown field"]),
    ("targets-width", mutate(["targets"], [0.01, 0.99, 0.5]), ["targets", "a list of 2 numbers", "got a list of 3"]),
    ("batch-targets-shape", dict(BASE, inputs=[[1, 2], [3, 4]], targets=[[1, 2]]),
     ["targets", "2 × 2 matrix (samples × output units", "got 1 × 2"]),
    ("ragged-inputs", mutate(["inputs"], [[1, 2], [3]]), ["inputs", "ragged"]),
    ("negative-rate", mutate(["learning_rate"], -0.1), ["learning_rate", "> 0"]),
    ("bad-mode", mutate(["mode"], "together"), ["mode", "simultaneous, sequential"]),
    ("alias-bad-entry", mutate(["names"], {"w9": "W3[0][0]"}), ["names.w9", "W3[0][0] does not exist"]),
    ("alias-malformed-entry", mutate(["names"], {"w9": "W1(0,0)"}), ["names.w9", "expected an entry like"]),
    ("alias-clash", mutate(["names"], {"x_0": "W1[0][0]"}), ["names.x_0", "already the name"]),
    ("alias-reserved", mutate(["names"], {"exp": "W1[0][0]"}), ["names.exp", "reserved"]),
    ("alias-twice", mutate(["names"], {"p": "W1[0][0]", "q": "W1[0][0]"}), ["names.q", "already named 'p'"]),
    ("plot-unknown", mutate(["plot"], {"weight": "w99"}), ["plot.weight", "unknown parameter"]),
    ("data-and-inputs", mutate(["data"], {"generator": "xor"}), ["inputs", "either inputs and targets or data"]),
    ("weights-and-initializer", mutate(["layers", 0, "initializer"], "he"),
     ["layers[0].initializer", "either weights or an initializer"]),
    ("not-a-mapping", [1, 2], ["spec", "expected a mapping"]),
]


@pytest.mark.parametrize("spec,fragments", [(s, f) for _, s, f in BAD], ids=[i for i, _, _ in BAD])
def test_malformed_spec_gives_its_own_error(spec, fragments):
    with pytest.raises(SpecError) as exc:
        validate_spec(spec, "net.yaml")
    msg = str(exc.value)
    assert "\n" not in msg
    assert msg.startswith("net.yaml: ")
    for frag in fragments:
        assert frag in msg, (frag, msg)


def test_every_bad_spec_has_a_distinct_message():
    messages = set()
    for _, spec, _ in BAD:
        with pytest.raises(SpecError) as exc:
            validate_spec(spec)
        messages.add(str(exc.value))
    assert len(messages) == len(BAD)


def test_numbers_are_exact():
    spec = validate_spec(BASE)
    assert spec.layers[0].weights[0][0] == sp.Rational(3, 20)
    assert spec.layers[1].bias == (sp.Rational(3, 5), sp.Rational(3, 5))
    assert spec.inputs == ((sp.Rational(1, 20), sp.Rational(1, 10)),)
    assert spec.single and spec.n_params == 12


@pytest.mark.parametrize("fmt,text", [
    ("yaml", "inputs: [1]\ntargets: [2]\nloss: sse\nlearning_rate: 1e-3\n"
             "layers:\n  - {units: 1, activation: identity, weights: [[0.5]], bias: 0}\n"),
    ("json", json.dumps({"inputs": [1], "targets": [2], "loss": "sse", "learning_rate": 1e-3,
                         "layers": [{"units": 1, "activation": "identity", "weights": [[0.5]], "bias": 0}]})),
    ("toml", 'inputs = [1]\ntargets = [2]\nloss = "sse"\nlearning_rate = 1e-3\n'
             '[[layers]]\nunits = 1\nactivation = "identity"\nweights = [[0.5]]\nbias = 0\n'),
], ids=["yaml", "json", "toml"])
def test_three_formats_give_the_same_spec(tmp_path, fmt, text):
    p = tmp_path / f"n.{fmt}"
    p.write_text(text)
    net = program_from_spec_file(p)
    assert net.learning_rate == sp.Rational(1, 1000)  # YAML's 1e-3 is a number too
    assert net.at["w1_0_0"] == sp.Rational(1, 2)


@pytest.mark.parametrize("name,text,fragment", [
    ("bad.yaml", "layers: [\n", "not valid YAML"),
    ("bad.json", "{\"layers\": }", "line 1, column 12: not valid JSON"),
    ("bad.toml", "layers = [", "not valid TOML"),
    ("bad.txt", "x", "unknown spec file extension '.txt'"),
], ids=["yaml", "json", "toml", "extension"])
def test_unreadable_files(tmp_path, name, text, fragment):
    p = tmp_path / name
    p.write_text(text)
    with pytest.raises(SpecError, match=None) as exc:
        load_spec_file(p)
    assert fragment in str(exc.value)
    assert str(p) in str(exc.value)


def test_missing_file(tmp_path):
    with pytest.raises(SpecError, match="file not found"):
        load_spec_file(tmp_path / "nope.yaml")


def test_shapes_and_shortcuts():
    # A bare number is one sample of width 1; a flat target list with one output is per sample.
    spec = validate_spec({"inputs": 3, "targets": 1, "loss": "mse",
                          "layers": [{"units": 1, "activation": "relu"}]})
    assert spec.inputs == ((3,),) and spec.targets == ((1,),)
    spec = validate_spec({"inputs": [[0, 1], [1, 0], [1, 1]], "targets": [1, 1, 0], "loss": "bce",
                          "layers": [{"units": 1, "activation": "sigmoid"}]})
    assert spec.targets == ((1,), (1,), (0,)) and not spec.single


def test_initialised_weights_follow_the_seed():
    data = {"inputs": [1, 2], "targets": [0, 1, 0], "loss": "ce", "seed": 3,
            "layers": [{"units": 4, "activation": "relu", "initializer": "he"},
                       {"units": 3, "activation": "softmax"}]}
    a, b = validate_spec(data), validate_spec(data)
    assert a.layers == b.layers
    assert a.layers[0].initialized and a.layers[0].initializer == "he"
    assert a.layers[1].initializer == "xavier"
    assert all(v == 0 for v in a.layers[0].bias)
    c = validate_spec(dict(data, seed=4))
    assert c.layers[0].weights != a.layers[0].weights


def test_blobs_generator():
    spec = validate_spec({"data": {"generator": "blobs", "samples": 30, "classes": 3, "seed": 1},
                          "loss": "ce", "layers": [{"units": 3, "activation": "softmax"}]})
    assert spec.n_samples == 30 and len(spec.inputs[0]) == 2
    assert all(sum(row) == 1 for row in spec.targets)
    assert [row.index(1) for row in spec.targets[:6]] == [0, 1, 2, 0, 1, 2]
    with pytest.raises(SpecError, match="3 classes need an output layer of 3 units"):
        validate_spec({"data": {"generator": "blobs", "classes": 3}, "loss": "ce",
                       "layers": [{"units": 2, "activation": "softmax"}]})


def test_names_and_matrix_names():
    net = program_from_spec(dict(BASE, names={"w5": "W2[0][0]", "w1": "W1[0][0]"}))
    assert net.matrix_names["W2[0][0]"] == "w5" and net.matrix_names["w5"] == "w5"
    assert net.matrix_names["W2[0][1]"] == "w2_0_1" and net.matrix_names["b2[1]"] == "b2_1"
    assert net.matrix_names["a2[0]"] == "a2_0" and net.matrix_names["x[1]"] == "x_1"
    assert net.params[:6] == ("w1", "w1_0_1", "w1_1_0", "w1_1_1", "b1_0", "b1_1")
    assert set(net.params) == {net.matrix_names[e] for e, _ in param_entries(net.spec)}
    assert set(net.at) == set(net.program.inputs)
    assert net.clusters["w5"] == "layer 2 (sigmoid)" and net.clusters["x_0"] == "input"
    assert net.clusters["J"] == "loss (half_sse)"
