"""Parameters the way tutorials use them (issue 14): frozen and shared parameters, named nodes.

Oracles: the derivation's own chain rule against the sum of a shared bias's uses, the NumPy
engine and central differences (explain's check), a hand-written masked gradient-descent
loop, PyTorch where installed, and the symbolic sequential update against the engine's.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backproof.check.quantities import QuantityError
from backproof.cli import main
from backproof.engine import Constraint, Dense, back_propagation, constrain, forward_prop
from backproof.errors import SpecError
from backproof.nn import explain_network, program_from_spec, train_network
from backproof.nn.numeric import engine_constraints
from backproof.nn.spec import validate_spec
from backproof.render.network import display_names

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _spec(**over):
    """A 2-2-2 sigmoid network (Mazur's numbers) with ``over`` replacing top-level fields."""
    base = {"inputs": [0.05, 0.10], "targets": [0.01, 0.99], "loss": "half_sse", "learning_rate": 0.5,
            "layers": [{"units": 2, "activation": "sigmoid", "weights": [[0.15, 0.20], [0.25, 0.30]],
                        "bias": 0.35},
                       {"units": 2, "activation": "sigmoid", "weights": [[0.40, 0.45], [0.50, 0.55]],
                        "bias": 0.60}]}
    base.update(over)
    return base


def _layers(**fields):
    """The base layers with ``fields`` merged into layer 1 (key ``l1``) and layer 2 (``l2``)."""
    layers = [dict(L) for L in _spec()["layers"]]
    layers[0].update(fields.get("l1", {}))
    layers[1].update(fields.get("l2", {}))
    return layers


def _random_spec(rng, shared=(True, False), frozen=(), samples=1, mode="simultaneous", loss="half_sse"):
    sizes = [3, 3, 2]
    layers = []
    for l in range(2):
        W = np.round(rng.normal(0, 0.8, size=(sizes[l + 1], sizes[l])), 3).tolist()
        b = float(np.round(rng.normal(), 3))
        bias = {"value": b, "shared": True} if shared[l] else np.round(rng.normal(size=sizes[l + 1]), 3).tolist()
        layers.append({"units": sizes[l + 1], "activation": "tanh" if l == 0 else "sigmoid",
                       "weights": W, "bias": bias})
    X = np.round(rng.normal(size=(samples, 3)), 3).tolist()
    T = np.round(rng.uniform(0.1, 0.9, size=(samples, 2)), 3).tolist()
    return {"inputs": X if samples > 1 else X[0], "targets": T if samples > 1 else T[0], "loss": loss,
            "learning_rate": 0.3, "mode": mode, "layers": layers, "frozen": list(frozen)}


# --- the schema ---------------------------------------------------------------------------------

def test_trainable_and_shared_fields_are_read():
    spec = validate_spec(_spec(layers=_layers(l1={"bias": {"value": 0.35, "shared": True},
                                                  "trainable": {"bias": False}},
                                              l2={"trainable": False})))
    L1, L2 = spec.layers
    assert (L1.shared_bias, L1.trainable_weights, L1.trainable_bias) == (True, True, False)
    assert (L2.shared_bias, L2.trainable_weights, L2.trainable_bias) == (False, False, False)
    assert spec.n_params == 4 + 1 + 4 + 2
    assert spec.frozen == ("b1", "w2_0_0", "w2_0_1", "w2_1_0", "w2_1_1", "b2_0", "b2_1")


def test_frozen_list_takes_names_and_entries():
    spec = validate_spec(_spec(names={"w5": "W2[0][0]"}, frozen=["w5", "W1[1][0]", "b2[1]"]))
    assert spec.frozen == ("w1_1_0", "w5", "b2_1")
    net = program_from_spec(_spec(names={"w5": "W2[0][0]"}, frozen=["w5", "W1[1][0]", "b2[1]"]))
    assert "w5" not in net.trainable and "w1_0_0" in net.trainable


def test_a_shared_bias_is_one_parameter_in_every_units_sum():
    net = program_from_spec(_spec(layers=_layers(l1={"bias": {"value": 0.35, "shared": True}})))
    lines = str(net.program).splitlines()
    assert lines[0] == "z1_0 = b1 + w1_0_0*x_0 + w1_0_1*x_1" and lines[1] == "z1_1 = b1 + w1_1_0*x_0 + w1_1_1*x_1"
    assert net.params.count("b1") == 1 and net.shared == {"b1": 2}
    assert net.matrix_names["b1[0]"] == net.matrix_names["b1[1]"] == "b1"


def test_names_rename_nodes_and_split_the_loss():
    names = {"net_h1": "z1[0]", "out_o1": "a2[0]", "E_o1": "E[0]", "E_total": "J", "i1": "x[0]"}
    net = program_from_spec(_spec(names=names))
    text = str(net.program)
    assert "net_h1 = b1_0 + i1*w1_0_0 + w1_0_1*x_1" in text
    assert "out_o1 = sigmoid(z2_0)" in text
    assert "E_o1 = (out_o1 - y_0)**2/2" in text and "E_1 = (a2_1 - y_1)**2/2" in text
    assert text.splitlines()[-1] == "E_total = E_o1 + E_1" and net.output == "E_total"


@pytest.mark.parametrize("loss,act", [("half_sse", "sigmoid"), ("mse", "sigmoid"), ("sse", "tanh"),
                                      ("bce", "sigmoid"), ("ce", "softmax")])
def test_naming_the_per_output_errors_changes_no_number(loss, act):
    """E[k] splits the loss into one statement per output; its value and every gradient stay."""
    targets = [0.2, 0.8] if loss == "ce" else [0.01, 0.99]
    base = _spec(loss=loss, targets=targets, layers=_layers(l2={"activation": act}))
    plain = explain_network(base)
    named = explain_network({**base, "names": {"E_a": "E[0]", "E_b": "E[1]", "loss": "J"}})
    assert named.net.output == "loss"
    assert float(named.loss) == pytest.approx(float(plain.loss), rel=1e-25)
    for p, g in plain.gradients().items():
        assert float(named.gradients()[p]) == pytest.approx(float(g), rel=1e-20, abs=1e-30), p
    assert named.check.ok


# --- the derivation, the engine and training ---------------------------------------------------

@pytest.mark.parametrize("seed", range(4))
def test_a_shared_bias_gets_the_sum_of_its_uses_gradients(seed):
    rng = np.random.default_rng(seed)
    samples = 1 + seed % 2
    r = explain_network(_random_spec(rng, shared=(True, True), samples=samples))
    G = r.derivation.gradients
    lay = r.net.layout
    for l in range(2):
        uses = sum(G[z] for s in range(samples) for z in lay.z[l][s])
        assert float(G[lay.b[l][0]]) == pytest.approx(float(uses), rel=1e-20)
    assert r.check.ok and r.check.fd_compared  # NumPy engine and central differences agree
    assert r.view_diff < 1e-20  # the matrix view's Σᵢ db agrees with the scalar view


def _masked_gd(spec, steps):
    """Gradient descent written by hand on the engine's raw gradients: frozen entries masked,
    a shared bias moved by the sum of its units' gradients."""
    layers = [Dense(np.array(L["weights"], float),
                    np.full(len(L["weights"]), L["bias"]["value"]) if isinstance(L["bias"], dict)
                    else np.array(L["bias"], float), L["activation"]) for L in spec["layers"]]
    net = program_from_spec(spec)
    masks = [(np.array([[w in net.frozen for w in row] for row in net.layout.W[l]]),
              np.array([b in net.frozen for b in net.layout.b[l]])) for l in range(len(layers))]
    X, T = np.atleast_2d(spec["inputs"]), np.atleast_2d(spec["targets"])
    for _ in range(steps):
        grads = back_propagation(forward_prop(X, layers), layers, T, spec["loss"])
        new = []
        for L, (dW, db), (mW, mb), raw in zip(layers, grads, masks, spec["layers"]):
            if isinstance(raw["bias"], dict):
                db = np.full_like(db, db.sum())
            new.append(L.replace(W=L.W - 0.3 * np.where(mW, 0.0, dW), b=L.b - 0.3 * np.where(mb, 0.0, db)))
        layers = new
    return layers


@pytest.mark.parametrize("seed", range(3))
def test_training_keeps_frozen_parameters_and_ties_shared_ones(seed):
    rng = np.random.default_rng(10 + seed)
    spec = _random_spec(rng, shared=(True, False), frozen=["W2[1][0]", "b1", "w1_2_1"][: seed + 1],
                        samples=2)
    h = train_network(spec, steps=5)
    net = program_from_spec(spec)
    for p in net.frozen:
        assert h.final[p] == float(net.at[p]), p
    ref = _masked_gd(spec, 5)
    for l, L in enumerate(ref):
        for i, row in enumerate(net.layout.W[l]):
            for j, name in enumerate(row):
                assert h.final[name] == pytest.approx(L.W[i, j], rel=1e-12, abs=1e-15)
        for i, name in enumerate(net.layout.b[l]):
            assert h.final[name] == pytest.approx(L.b[i], rel=1e-12, abs=1e-15)
    assert h.layers[0].b[0] == h.layers[0].b[1] == h.layers[0].b[2]  # the shared copies stay equal


def test_sequential_update_with_frozen_output_weights_symbolic_equals_engine():
    """Two routes: the write-up's sequential update (exact matrices) and the engine's."""
    spec = _spec(mode="sequential", frozen=["W2[0][0]", "W2[1][1]"],
                 layers=_layers(l2={"bias": {"value": 0.6, "shared": True}}))
    r = explain_network(spec)
    h = train_network(spec, steps=1)
    for name, value in r.updated().items():
        assert float(value) == pytest.approx(h.final[name], rel=1e-13), name
    # The frozen w2_0_0 is not changed, so the error reaches layer 1 through its old value:
    # the sequential gradients differ from a run where it is trainable.
    free = train_network(_spec(mode="sequential", layers=_layers(l2={"bias": {"value": 0.6, "shared": True}})),
                         steps=1)
    assert h.final["w1_0_0"] != pytest.approx(free.final["w1_0_0"], rel=1e-9)
    assert h.final["w2_0_0"] == 0.4


def test_engine_constraints_gradients():
    dW, db = np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([0.5, 0.25])
    (cW, cb), = constrain([(dW, db)], [Constraint(np.array([[False, True], [False, False]]),
                                                  np.array([False, False]), True)])
    assert cW.tolist() == [[1.0, 0.0], [3.0, 4.0]] and cb.tolist() == [0.75, 0.75]
    assert dW[0, 1] == 2.0  # the input is not changed
    assert engine_constraints(validate_spec(_spec())) is None  # nothing frozen: the engine runs as before


def test_torch_agrees_on_frozen_and_shared_parameters():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    spec = _random_spec(rng, shared=(True, True), frozen=["W1[0][1]", "b2"], samples=3)
    h = train_network(spec, steps=3)
    dt = torch.float64
    L1, L2 = spec["layers"]
    W1 = torch.tensor(L1["weights"], dtype=dt, requires_grad=True)
    W2 = torch.tensor(L2["weights"], dtype=dt, requires_grad=True)
    b1 = torch.tensor(L1["bias"]["value"], dtype=dt, requires_grad=True)
    b2 = torch.tensor(L2["bias"]["value"], dtype=dt, requires_grad=True)
    X, T = torch.tensor(spec["inputs"], dtype=dt), torch.tensor(spec["targets"], dtype=dt)
    mask = torch.ones_like(W1)
    mask[0, 1] = 0.0
    losses = []
    for k in range(4):
        out = torch.sigmoid(torch.tanh(X @ W1.T + b1) @ W2.T + b2)
        J = torch.mean(0.5 * torch.sum((out - T) ** 2, dim=1))
        losses.append(float(J.detach()))
        if k == 3:
            break
        for p in (W1, W2, b1, b2):
            p.grad = None
        J.backward()
        with torch.no_grad():
            W1 -= 0.3 * W1.grad * mask
            W2 -= 0.3 * W2.grad
            b1 -= 0.3 * b1.grad  # one scalar: autograd adds up its uses
    assert h.losses == pytest.approx(losses[:4], rel=1e-12)
    assert h.final["b1"] == pytest.approx(float(b1.detach()), rel=1e-12)
    assert h.final["b2"] == L2["bias"]["value"]
    assert h.final["w1_0_1"] == L1["weights"][0][1]


@pytest.mark.parametrize("name, make", [
    ("adam", lambda torch, ps: torch.optim.Adam(ps, lr=0.3)),
    ("momentum", lambda torch, ps: torch.optim.SGD(ps, lr=0.3, momentum=0.9)),
])
def test_optimisers_keep_frozen_parameters_and_move_a_shared_bias_as_one(name, make):
    """The training loop's optimisers (issue 14) on a spec with frozen and shared parameters:
    torch.optim over the free parameters only (a frozen entry's gradient masked to 0, a shared
    bias one scalar tensor) gives the same losses and parameters."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(11)
    spec = _random_spec(rng, shared=(True, True), frozen=["W1[0][1]", "b2"], samples=3)
    h = train_network(dict(spec, optimizer=name), steps=3)
    dt = torch.float64
    L1, L2 = spec["layers"]
    W1 = torch.tensor(L1["weights"], dtype=dt, requires_grad=True)
    W2 = torch.tensor(L2["weights"], dtype=dt, requires_grad=True)
    b1 = torch.tensor(L1["bias"]["value"], dtype=dt, requires_grad=True)
    b2 = torch.tensor(L2["bias"]["value"], dtype=dt)           # frozen: not a parameter at all
    X, T = torch.tensor(spec["inputs"], dtype=dt), torch.tensor(spec["targets"], dtype=dt)
    opt = make(torch, [W1, W2, b1])
    losses = []
    for k in range(4):
        out = torch.sigmoid(torch.tanh(X @ W1.T + b1) @ W2.T + b2)
        J = torch.mean(0.5 * torch.sum((out - T) ** 2, dim=1))
        losses.append(float(J.detach()))
        if k == 3:
            break
        opt.zero_grad()
        J.backward()
        W1.grad[0, 1] = 0.0          # W1[0][1] is frozen: its gradient never reaches the optimiser
        opt.step()
    assert h.losses == pytest.approx(losses, rel=1e-12)
    assert h.final["b1"] == pytest.approx(float(b1.detach()), rel=1e-12)
    assert h.final["w1_0_1"] == L1["weights"][0][1] and h.final["b2"] == L2["bias"]["value"]


# --- bad specs -------------------------------------------------------------------------------------

BAD = [
    ("trainable-type", {"layers": _layers(l1={"trainable": "no"})},
     "layers[0].trainable: expected true, false or a mapping {weights: true, bias: false}, got the string 'no'"),
    ("trainable-field", {"layers": _layers(l1={"trainable": {"biases": False}})},
     "layers[0].trainable.biases: unknown field (allowed fields: weights, bias)"),
    ("trainable-value", {"layers": _layers(l2={"trainable": {"bias": 0}})},
     "layers[1].trainable.bias: expected true or false, got 0"),
    ("bias-field", {"layers": _layers(l1={"bias": {"value": 1, "tied": True}})},
     "layers[0].bias.tied: unknown field (allowed fields: value, shared)"),
    ("bias-value", {"layers": _layers(l1={"bias": {"shared": True}})}, "layers[0].bias.value: missing field"),
    ("bias-shared-list", {"layers": _layers(l1={"bias": {"value": [1, 2], "shared": True}})},
     "layers[0].bias.value: a shared bias is one number (every unit uses it), got a list of 2"),
    ("bias-shared-type", {"layers": _layers(l1={"bias": {"value": 1, "shared": "yes"}})},
     "layers[0].bias.shared: expected true or false, got the string 'yes'"),
    ("frozen-type", {"frozen": "w1"}, "frozen: expected a list of parameters"),
    ("frozen-unknown", {"frozen": ["w1_0_0", "w9"]}, "frozen[1]: unknown parameter the string 'w9'"),
    ("frozen-node", {"frozen": ["z1_0"]}, "frozen[0]: unknown parameter the string 'z1_0'"),
    ("names-node", {"names": {"out": "a3[0]"}}, "names.out: a3[0] does not exist (nodes: x[0], x[1]"),
    ("names-entry", {"names": {"err": "E[2]"}}, "names.err: E[2] does not exist"),
    ("names-shape", {"names": {"q": "q[0]"}}, "names.q: expected an entry like W2[0][1], b1[0], b1 (a shared bias)"),
    ("names-shared", {"names": {"bias": "b1[0]"}, "layers": _layers(l1={"bias": {"value": 1, "shared": True}})},
     "names.bias: layer 1 shares one bias: name it as b1"),
    ("names-samples", {"names": {"h": "z1[0]"}, "inputs": [[1, 2], [3, 4]], "targets": [[0, 1], [1, 0]]},
     "names.h: z1[0] names a node of every sample; names of nodes need one sample (the spec has 2)"),
    ("names-clash", {"names": {"b1": "z1[0]"}, "layers": _layers(l1={"bias": {"value": 1, "shared": True}})},
     "names.b1: 'b1' is already the name of another quantity of the network"),
]


@pytest.mark.parametrize("over,message", [(o, m) for _, o, m in BAD], ids=[i for i, _, _ in BAD])
def test_bad_specs_name_the_field(over, message):
    with pytest.raises(SpecError) as exc:
        validate_spec(_spec(**over), "net.yaml")
    text = str(exc.value)
    assert text.startswith("net.yaml: ") and message in text and "\n" not in text


def test_bad_spec_through_the_cli_is_one_line_and_exit_2(tmp_path, capsys):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(_spec(layers=_layers(l2={"trainable": {"weights": "false"}}))))
    out = tmp_path / "out.md"
    assert main(["net", str(path), "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "layers[1].trainable.weights: expected true or false" in err
    assert "Traceback" not in err and not out.exists()


# --- write-up, diagram, JSON ---------------------------------------------------------------------

def test_diagram_and_json_use_the_spec_names(tmp_path):
    net = program_from_spec(_spec(names={"net_h1": "z1[0]", "out_o1": "a2[0]", "E_total": "J"}))
    shown = display_names(net)
    assert shown["net_h1"] == "net_h1" and shown["out_o1"] == "out_o1" and shown["z1_1"] == "z⁽¹⁾₂"
    out = tmp_path / "m.json"
    assert main(["net", str(EXAMPLES / "mazur.yaml"), "--steps", "1", "--format", "json", "-o", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["frozen"] == ["b1", "b2"] and doc["shared"] == {"b1": 2, "b2": 2}
    assert doc["names"]["out_o1"]["entry"] == "a2[0]" and doc["names"]["out_o1"]["updated"] is None
    assert doc["names"]["E_total"]["value"] == pytest.approx(0.298371109, abs=5e-10)
    assert doc["updated"]["b1"] == [0.35, 0.35]
    assert [s["target"] for s in doc["update"]["steps"]] == ["w1", "w2", "w3", "w4", "w5", "w6", "w7", "w8"]


# --- homework: the spec's names are answerable -------------------------------------------------------

def test_mazur_homework_names_the_fork_slip(tmp_path):
    out = tmp_path / "r.json"
    assert main(["check", str(EXAMPLES / "homework" / "mazur.yaml"), "--format", "json", "-o", str(out)]) == 1
    doc = json.loads(out.read_text())
    verdicts = {i["quantity"]: i["verdict"] for i in doc["items"]}
    assert verdicts["E_total"] == verdicts["out_o1"] == verdicts["dE_total/dw5"] == verdicts["w5_new"] == "correct"
    assert verdicts["dE_total/dout_h1"] == "incorrect"
    first = next(i for i in doc["items"] if i["quantity"] == "dE_total/dout_h1")
    assert first["diagnosis"]["mistake"] == "fork_path_missing" and first["first_wrong"]
    for q in ("dE_total/dnet_h1", "dE_total/dw1", "w1_new"):
        assert verdicts[q] == "carried_error", q


def _answer_file(tmp_path, answers: str) -> Path:
    spec = (EXAMPLES / "homework" / "mazur.yaml").read_text()
    head = spec.split("answers:")[0]
    path = tmp_path / "hw.yaml"
    path.write_text(head + "answers:\n" + answers)
    return path


def test_network_names_hand_values_all_correct(tmp_path, capsys):
    """Values from the hand computation of tests/test_nn_mazur.py's figures (the post's digits)."""
    path = _answer_file(tmp_path, '  out_h2: 0.596884378\n  "dE_total/dout_o2": -0.217071535\n'
                                  '  "dE_total/dout_h1": 0.036350306\n  w1_new: 0.149780716\n'
                                  '  "dE_total/db2": 0.100400325\n  E_o2: 0.023560026\n')
    assert main(["check", str(path)]) == 0
    assert "Every answer is right" in capsys.readouterr().out


def test_a_frozen_parameter_has_no_update_answer(tmp_path, capsys):
    path = _answer_file(tmp_path, "  b1_new: 0.34\n")
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert "'b1' is frozen in this network (trainable: false)" in err and err.count("\n") == 1


def test_problem_refuses_frozen_update_directly():
    from backproof.check.quantities import Problem

    p = Problem("z = w*x + b; J = z**2", at="w=1,x=2,b=0", learning_rate="0.1", frozen=("b",))
    assert p.truth(p.resolve("w_new")) == pytest.approx(0.2)
    with pytest.raises(QuantityError, match="'b' is frozen"):
        p.resolve("b_new")


@pytest.mark.parametrize("fmt", ["text", "md", "tex", "html", "json"])
def test_several_samples_shared_frozen_sequential_in_every_format(tmp_path, fmt):
    spec = {"inputs": [[0.1, 0.2], [0.5, -0.3], [1.0, 0.0]], "targets": [[1], [0], [1]], "loss": "bce",
            "learning_rate": 0.5, "mode": "sequential", "frozen": ["W1[0][1]"],
            "layers": [{"units": 3, "activation": "tanh", "weights": [[0.1, 0.2], [0.3, -0.1], [0.2, 0.2]],
                        "bias": {"value": 0.1, "shared": True}},
                       {"units": 1, "activation": "sigmoid", "weights": [[0.5, -0.4, 0.3]], "bias": 0.2,
                        "trainable": {"weights": False}}]}
    path = tmp_path / "n.json"
    path.write_text(json.dumps(spec))
    out = tmp_path / f"n.{fmt}"
    assert main(["net", str(path), "--view", "both", "--steps", "3", "--format", fmt, "-o", str(out)]) == 0
    text = out.read_text()
    assert ("w1_0_1" in text) if fmt == "json" else ("frozen" in text and "shared" in text)
    r = explain_network(spec)
    assert r.check.ok and r.view_diff < 1e-20
    h = train_network(spec, steps=3)
    assert h.final["w1_0_1"] == 0.2 and h.final["w2_0_2"] == 0.3
    assert [float(v) for k, v in r.updated().items() if k.startswith("w2_")] == [0.5, -0.4, 0.3]


# --- property: the write-up's update and the engine's step agree for any frozen/shared choice ------

@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), shared=st.tuples(st.booleans(), st.booleans()),
       mode=st.sampled_from(["simultaneous", "sequential"]), samples=st.integers(1, 2),
       picks=st.sets(st.integers(0, 16), max_size=6))
def test_symbolic_update_equals_the_engine_step(seed, shared, mode, samples, picks):
    rng = np.random.default_rng(seed)
    spec = _random_spec(rng, shared=shared, samples=samples, mode=mode)
    names = list(program_from_spec(spec).params)
    spec["frozen"] = sorted({names[k % len(names)] for k in picks})
    r = explain_network(spec, check=False)
    h = train_network(spec, steps=1)
    for name, value in r.updated().items():
        assert float(value) == pytest.approx(h.final[name], rel=1e-11, abs=1e-14), name
    for name in spec["frozen"]:
        assert h.final[name] == float(r.net.at[name])


def test_python_builder_takes_shared_and_frozen_layers():
    from backproof.nn import Layer, Network

    net = Network([Layer(2, "sigmoid", weights=[[0.15, 0.20], [0.25, 0.30]], bias={"value": 0.35, "shared": True},
                         trainable={"bias": False}),
                   Layer(2, "sigmoid", weights=[[0.40, 0.45], [0.50, 0.55]], bias={"value": 0.60, "shared": True},
                         trainable={"bias": False})],
                  loss="half_sse", learning_rate=0.5, names={"w5": "W2[0][0]", "E_total": "J"})
    r = net.explain(inputs=[0.05, 0.10], targets=[0.01, 0.99])
    assert r.net.params == ("w1_0_0", "w1_0_1", "w1_1_0", "w1_1_1", "b1", "w5", "w2_0_1", "w2_1_0", "w2_1_1", "b2")
    assert f"{float(r.updated()['w5']):.8f}" == "0.35891648" and r.updated()["b1"] == r.net.at["b1"]
    assert r.net.output == "E_total"
