"""Network gradients against independent oracles: sympy.diff of the loss, central
differences, the NumPy layer engine; the matrix view against the scalar view."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from backproof.derivation import derive
from backproof.engine import back_propagation, forward_prop, gd_step, loss_value
from backproof.functions import rewrite_elementary
from backproof.nn import explain_network, program_from_spec
from backproof.nn.explain import engine_layers
from backproof.nn.views import compare_views, matrix_view, scalar_view
from backproof.parse import parse_program

# (id, hidden activations, output activation, loss, input width, samples)
CASES = [
    ("identity-mse-1", ["identity"], "identity", "mse", 2, 1),
    ("sigmoid-half_sse-2", ["sigmoid"], "sigmoid", "half_sse", 2, 2),
    ("tanh-sse-1", ["tanh"], "tanh", "sse", 3, 1),
    ("relu-mse-3", ["relu"], "identity", "mse", 2, 3),
    ("relu-out-sse-1", ["tanh"], "relu", "sse", 2, 1),
    ("sigmoid-bce-1", ["sigmoid"], "sigmoid", "bce", 2, 1),
    ("tanh-bce-3", ["tanh"], "sigmoid", "bce", 2, 3),
    ("relu-ce-1", ["relu"], "softmax", "ce", 2, 1),
    ("tanh-ce-2", ["tanh"], "softmax", "ce", 3, 2),
    ("softmax-hidden-mse-1", ["softmax"], "identity", "mse", 2, 1),
    ("softmax-out-half_sse-2", ["sigmoid"], "softmax", "half_sse", 2, 2),
    ("deep-tanh-relu-bce-2", ["tanh", "relu"], "sigmoid", "bce", 2, 2),
    ("single-layer-ce-2", [], "softmax", "ce", 2, 2),
]


def _round(x):
    return float(np.round(x, 3))


def random_spec(hidden, out, loss, width, samples, seed):
    rng = np.random.default_rng(seed)
    sizes = [width] + [3] * len(hidden) + [3 if out == "softmax" else 2]
    acts = hidden + [out]
    layers = []
    for l, act in enumerate(acts):
        units, fan_in = sizes[l + 1], sizes[l]
        layers.append({"units": units, "activation": act,
                       "weights": [[_round(v) for v in rng.uniform(-1, 1, fan_in)] for _ in range(units)],
                       # away from 0 so no ReLU sits on its kink
                       "bias": [_round(v) for v in rng.choice([-1, 1], units) * rng.uniform(0.2, 0.6, units)]})
    K = sizes[-1]
    X = [[_round(v) for v in rng.uniform(-2, 2, width)] for _ in range(samples)]
    if loss == "bce":
        T = [[_round(v) for v in rng.uniform(0, 1, K)] for _ in range(samples)]
    elif loss == "ce":
        T = [[0.2, 0.3, 0.5] if s % 2 else [0, 1, 0] for s in range(samples)]
    else:
        T = [[_round(v) for v in rng.uniform(-1, 1, K)] for _ in range(samples)]
    return {"inputs": X[0] if samples == 1 else X, "targets": T[0] if samples == 1 else T,
            "layers": layers, "loss": loss, "learning_rate": 0.3}


SPECS = {cid: random_spec(h, o, loss, w, n, seed) for seed, (cid, h, o, loss, w, n) in enumerate(CASES)}


def _derived(net):
    d = derive(net.program, at=net.at, wrt=net.params, expand=False, verify=False)
    return d, {p: d.gradients[p] for p in net.params}


def _oracle_params(net):
    """One weight and one bias per layer (every layer, every activation, every loss):
    sympy.diff of a whole network costs about half a second per parameter."""
    lay = net.layout
    return [name for l in range(len(lay.W)) for name in (lay.W[l][-1][-1], lay.b[l][0])]


@pytest.mark.parametrize("cid", list(SPECS))
def test_gradients_equal_sympy_diff(cid):
    """The oracle: J written out as one expression in the parameter (every other value
    substituted), sigmoid/relu rewritten into elementary functions, then sympy.diff."""
    net = program_from_spec(SPECS[cid])
    _, grads = _derived(net)
    statements = [(sp.Symbol(st.name, real=True), rewrite_elementary(st.expr))
                  for st in net.program.statements]
    for p in _oracle_params(net):
        P = sp.Symbol(p, real=True)
        env = {sp.Symbol(k, real=True): sp.Float(v, 40) for k, v in net.at.items() if k != p}
        for sym, expr in statements:
            env[sym] = expr.xreplace(env)
        oracle = sp.N(sp.diff(env[sp.Symbol("J", real=True)], P).xreplace({P: sp.Float(net.at[p], 40)}), 30)
        assert abs(oracle - grads[p]) <= sp.Float("1e-20") * max(1, abs(oracle)), (p, oracle, grads[p])


@pytest.mark.parametrize("cid", list(SPECS))
def test_gradients_equal_engine_and_central_differences(cid):
    net = program_from_spec(SPECS[cid])
    d, grads = _derived(net)
    spec = net.spec
    X = np.array(spec.inputs, dtype=float)
    T = np.array(spec.targets, dtype=float)
    layers = engine_layers(spec)
    cache = forward_prop(X, layers)
    assert loss_value(cache, layers, T, spec.loss) == pytest.approx(float(d.values["J"]), rel=1e-12)
    engine = back_propagation(cache, layers, T, spec.loss)
    lay = net.layout
    for l, (dW, db) in enumerate(engine):
        for i, row in enumerate(lay.W[l]):
            for j, name in enumerate(row):
                assert float(grads[name]) == pytest.approx(dW[i, j], rel=1e-10, abs=1e-13)
        for i, name in enumerate(lay.b[l]):
            assert float(grads[name]) == pytest.approx(db[i], rel=1e-10, abs=1e-13)

    def J_at(name, value):
        vals = dict(net.at)
        vals[name] = value
        L = engine_layers(spec, vals, net)
        return loss_value(forward_prop(X, L), L, T, spec.loss)

    for name in net.params:
        v = float(net.at[name])
        h = 1e-6
        numeric = (J_at(name, v + h) - J_at(name, v - h)) / (2 * h)
        assert numeric == pytest.approx(float(grads[name]), rel=1e-5, abs=1e-8), name


@pytest.mark.parametrize("cid", list(SPECS))
def test_matrix_view_equals_scalar_view(cid):
    net = program_from_spec(SPECS[cid])
    d, _ = _derived(net)
    sv, mv = scalar_view(net, d), matrix_view(net)
    assert compare_views(net, sv, mv) < 1e-25
    assert abs(mv.loss - sv.loss) < 1e-25
    # Each δ in the scalar view is ∂J/∂a · ∂a/∂z, and each parameter gradient Σ δ·a.
    for delta in sv.deltas:
        if delta.da_dz is not None:
            assert abs(delta.dJ_da * delta.da_dz - delta.delta) < 1e-25
        else:
            assert abs(sum(g * j for _, g, j in delta.softmax_terms) - delta.delta) < 1e-25
    for p in sv.params:
        assert abs(sum(dv * av for _, _, dv, av in p.terms) - p.gradient) < 1e-25


@pytest.mark.parametrize("cid", ["sigmoid-bce-1", "tanh-bce-3", "relu-ce-1", "tanh-ce-2", "single-layer-ce-2"])
def test_fused_pairs_simplify_to_prediction_minus_target(cid):
    net = program_from_spec(SPECS[cid])
    out = matrix_view(net).layers[-1]
    K, n = out.A.shape
    k = K if net.spec.loss == "bce" else 1
    expected = (out.A - out.grad_a * 0 - sp.Matrix(net.spec.targets).T) / (k * n)
    assert out.simplified is not None
    assert max(abs(a - b) for a, b in zip(out.delta, expected)) < 1e-25
    assert max(abs(a - b) for a, b in zip(out.simplified, expected)) < 1e-25


@pytest.mark.parametrize("cid", ["sigmoid-half_sse-2", "deep-tanh-relu-bce-2", "tanh-ce-2"])
def test_program_text_agrees_with_explain(cid):
    """The printed program, parsed back as `backproof explain` would, gives the same numbers."""
    net = program_from_spec(SPECS[cid])
    _d, grads = _derived(net)
    again = derive(parse_program(str(net.program)), at=dict(net.at), wrt=net.params, expand=False, verify=False)
    for p in net.params:
        assert abs(again.gradients[p] - grads[p]) < 1e-25


@pytest.mark.parametrize("mode", ["simultaneous", "sequential"])
@pytest.mark.parametrize("cid", ["sigmoid-half_sse-2", "deep-tanh-relu-bce-2", "tanh-ce-2"])
def test_update_matches_engine_gd_step(cid, mode):
    net = program_from_spec(SPECS[cid])
    result = explain_network(net, mode=mode, check=False)
    spec = net.spec
    X, T = np.array(spec.inputs, dtype=float), np.array(spec.targets, dtype=float)
    layers = engine_layers(spec)
    cache = forward_prop(X, layers)
    new = gd_step(layers, back_propagation(cache, layers, T, spec.loss), 0.3, mode,
                  cache=cache, T=T, loss=spec.loss)
    updated = result.updated()
    lay = net.layout
    for l, layer in enumerate(new):
        for i, row in enumerate(lay.W[l]):
            for j, name in enumerate(row):
                assert float(updated[name]) == pytest.approx(layer.W[i, j], rel=1e-12, abs=1e-14)
        for i, name in enumerate(lay.b[l]):
            assert float(updated[name]) == pytest.approx(layer.b[i], rel=1e-12, abs=1e-14)
    for s in result.updates:
        old, grad, eta = s.factors
        assert s.kind.value == "update" and abs(s.value - (old - eta * grad)) < 1e-25
    if mode == "sequential":
        # The output layer's update is the same in both modes; an earlier layer's differs.
        simul = explain_network(net, check=False).updated()
        assert all(updated[p] == simul[p] for row in lay.W[-1] for p in row)
        assert all(updated[p] == simul[p] for p in lay.b[-1])
        assert any(updated[p] != simul[p] for row in lay.W[0] for p in row)


def test_engine_check_reports_agreement():
    result = explain_network(SPECS["tanh-ce-2"])
    assert result.check.ok and result.check.engine_max_rel < 1e-12 and result.check.fd_max_rel < 1e-5


def test_engine_check_catches_a_wrong_gradient():
    from backproof.nn.explain import engine_check
    net = program_from_spec(SPECS["sigmoid-bce-1"])
    _, grads = _derived(net)
    wrong = dict(grads)
    wrong[net.params[0]] = grads[net.params[0]] * sp.Rational(11, 10) + sp.Rational(1, 100)
    chk = engine_check(net, wrong, derive(net.program, at=net.at, expand=False).values["J"])
    assert not chk.ok and not chk.engine_ok and chk.fd_ok is False and chk.worst == net.params[0]


def test_views_are_linear_in_the_network():
    """One δ per unit and sample, one row per parameter: the scalar view never recomputes."""
    net = program_from_spec(SPECS["deep-tanh-relu-bce-2"])
    d, _ = _derived(net)
    sv = scalar_view(net, d)
    units = sum(layer.units for layer in net.spec.layers)
    assert len(sv.deltas) == units * net.spec.n_samples
    assert [p.name for p in sv.params] == [p for l in reversed(range(3)) for p in net.params
                                           if net.clusters[p] == net.clusters[net.layout.b[l][0]]]
    # Each hidden unit's ∂J/∂a cites the δ's of the layer above by name (shared, not recomputed).
    names = {x.name for x in sv.deltas}
    assert all(dn in names for x in sv.deltas for dn, _, _, _ in x.back)


def test_too_large_a_network_is_refused_with_its_size():
    # Issue 9: refused from the shapes when the spec is read (a LimitError naming the
    # field and the limit), no longer after building the network.
    from backproof.errors import LimitError
    spec = {"inputs": [0.0] * 64, "targets": [1] + [0] * 9, "loss": "ce",
            "layers": [{"units": 256, "activation": "relu"}, {"units": 128, "activation": "relu"},
                       {"units": 10, "activation": "softmax"}]}
    with pytest.raises(LimitError, match=r"^layers\[0\]\.units: 16640 parameters is over the limit "
                                         r"net_parameters = 10000 parameters"):
        explain_network(spec)


def test_saturated_bce_explains_itself():
    from backproof.errors import EvaluationError
    with pytest.raises(EvaluationError, match="within 1e-30 of 0 or 1"):
        explain_network({"inputs": [100], "targets": [1], "loss": "bce",
                         "layers": [{"units": 1, "activation": "sigmoid", "weights": [[1]]}]})


def test_output_is_deterministic():
    a = explain_network(SPECS["tanh-ce-2"])
    b = explain_network(SPECS["tanh-ce-2"])
    from backproof.nn.report import render_json, render_markdown, render_text
    for render in (render_text, render_markdown, render_json):
        assert render(a) == render(b)
