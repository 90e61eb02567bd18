"""Every row of the op table, every facet: SymPy partials, NumPy forward, NumPy VJP.

Oracles only: ``sympy.diff`` of the SymPy forward (sigmoid, relu and softplus first
rewritten into elementary functions, so SymPy's own rules decide), SymPy's exact value
of the forward, and central differences of the NumPy forward. Points are drawn per
op from a domain where the op is smooth (logs and square roots of positive numbers,
no kinks, no poles); ±1000 checks that the stable forms stay finite.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from backproof.functions import rewrite_elementary
from backproof.ops import OPS
from backproof.printing import format_number

RNG_SEED = 20261122
N_POINTS = 40

# Per op: one (low, high) range per operand; variadic ops are tested with 2 and 3.
DOMAINS = {
    "add": [(-3, 3)] * 2, "sub": [(-3, 3)] * 2, "neg": [(-3, 3)], "mul": [(-3, 3)] * 2,
    "div": [(-3, 3), (0.3, 3)], "pow": [(0.2, 3), (-2, 3)], "sqrt": [(0.05, 5)],
    "exp": [(-5, 5)], "log": [(0.05, 5)], "sin": [(-4, 4)], "cos": [(-4, 4)],
    "tan": [(-1.2, 1.2)], "tanh": [(-4, 4)], "sigmoid": [(-6, 6)], "relu": [(-3, 3)],
    "abs": [(-3, 3)], "max": [(-3, 3)] * 2, "min": [(-3, 3)] * 2, "softplus": [(-6, 6)],
    "step": [(-3, 3)], "sign": [(-3, 3)], "identity": [(-3, 3)],
    "leaky_relu": [(-3, 3)], "atan": [(-4, 4)],
    # issue 14
    "elu": [(-4, 3)], "selu": [(-4, 3)], "gelu": [(-5, 5)], "silu": [(-6, 6)], "softsign": [(-4, 4)],
    "mish": [(-6, 6)], "logsigmoid": [(-6, 6)], "hardsigmoid": [(-5, 5)], "relu6": [(-2, 8)],
    "hardtanh": [(-2, 2)], "sinh": [(-4, 4)], "cosh": [(-4, 4)], "log2": [(0.05, 5)],
    "log10": [(0.05, 5)], "asin": [(-0.95, 0.95)], "acos": [(-0.95, 0.95)], "erf": [(-3, 3)],
}
#: Differentiable everywhere but defined piecewise: SymPy's diff gives Heaviside pieces that
#: simplify cannot merge (elu′ = H(x) + eˣH(−x) = e^min(0,x)); compared by value only.
PIECEWISE_SMOOTH = {"elu"}
VARIADIC3 = {"add3": "add", "mul3": "mul", "max3": "max", "min3": "min"}
#: Minimum distance from a kink (relu/abs/step/sign at 0, max/min at a tie).
KINK_MARGIN = 0.05
#: Ops that must stay finite, with finite VJPs, for operands of ±1000.
EXTREME_SAFE = ["add", "sub", "neg", "mul", "div", "sin", "cos", "tanh", "sigmoid", "relu",
                "abs", "max", "min", "softplus", "step", "sign", "identity", "sqrt", "log",
                "leaky_relu", "atan",
                "elu", "selu", "silu", "softsign", "mish", "logsigmoid", "hardsigmoid",
                "relu6", "hardtanh", "log2", "log10", "erf"]
#: The kinks of each op with one (default: 0 for unary ops, a tie for binary ones).
KINKS = {"hardsigmoid": [[-3.0], [3.0]], "relu6": [[0.0], [6.0]], "hardtanh": [[-1.0], [1.0]]}


def _kink_points(name: str, n_operands: int, tie: float = 0.7) -> list[list[float]]:
    if n_operands == 3:  # max/min of three: all three tie, or two tie at the extremum
        other = tie - 1.1 if name == "max" else tie + 1.1
        return [[tie, tie, tie], [tie, tie, other], [other, tie, tie]]
    return KINKS.get(name, [[0.0] * n_operands if n_operands == 1 else [tie, tie]])

CASES = sorted(OPS) + sorted(VARIADIC3)


def _op_and_domain(case: str):
    name = VARIADIC3.get(case, case)
    dom = DOMAINS[name]
    if case in VARIADIC3:
        dom = dom + dom[:1]
    return name, dom


def _points(case: str, n: int = N_POINTS, seed: int = RNG_SEED) -> list[np.ndarray]:
    """n points in the op's domain, at least KINK_MARGIN from any kink."""
    name, dom = _op_and_domain(case)
    rng = np.random.default_rng(seed + sum(map(ord, case)))
    out: list[list[float]] = []
    while len(out) < n:
        p = [rng.uniform(lo, hi) for lo, hi in dom]
        if OPS[name].branch is not None and np.any(np.abs(OPS[name].branch(*p)) < KINK_MARGIN):
            continue
        out.append(p)
    return [np.array(col) for col in zip(*out)]


def _real_symbols(k: int):
    return tuple(sp.Symbol(n, real=True) for n in "abc"[:k])


def _exact(x: float) -> sp.Rational:
    return sp.Rational(float(x))  # the exact binary value of the float


def _sym_value(expr: sp.Expr, syms, point) -> float:
    # maxn: σ′(±1000) cancels some 435 digits; evalf must be allowed to go that far.
    v = sp.N(expr.xreplace(dict(zip(syms, map(_exact, point)))), 30, maxn=2000)
    return float(v)


# --- the table's shape -----------------------------------------------------------------

def test_kink_facets_come_together():
    """A row with a kink has its predicate, its branch and its convention; a smooth row none."""
    for name, op in OPS.items():
        assert (op.nondiff is None) == (op.branch is None), name
        assert (op.nondiff is None) == (op.convention == ""), name


@pytest.mark.parametrize("case", CASES)
def test_every_op_has_a_test_domain(case):
    name, dom = _op_and_domain(case)
    op = OPS[name]
    assert op.arity is None or op.arity == len(dom)


# --- SymPy partials vs sympy.diff --------------------------------------------------------

@pytest.mark.parametrize("case", CASES)
def test_sympy_partials_equal_sympy_diff(case):
    name, dom = _op_and_domain(case)
    op = OPS[name]
    syms = _real_symbols(len(dom))
    fwd = rewrite_elementary(op.forward(*syms))
    partials = op.partials(*syms)
    assert len(partials) == len(syms)
    pts = _points(case, n=12)
    for i, s in enumerate(syms):
        oracle = sp.diff(fwd, s)
        mine = rewrite_elementary(partials[i])
        if op.nondiff is None and name not in PIECEWISE_SMOOTH:
            # Smooth ops: equal as expressions.
            assert sp.simplify(mine - oracle) == 0, (name, i, mine, oracle)
        # Every op (kinks included, away from them): equal in value, exactly evaluated.
        for p in zip(*pts):
            a = _sym_value(mine, syms, p)
            b = _sym_value(oracle.replace(sp.DiracDelta, lambda *_: sp.Integer(0)), syms, p)
            assert a == pytest.approx(b, rel=1e-12, abs=1e-14), (name, i, p)


# --- NumPy forward vs SymPy forward --------------------------------------------------------

@pytest.mark.parametrize("case", CASES)
def test_numpy_forward_equals_sympy_forward(case):
    name, dom = _op_and_domain(case)
    op = OPS[name]
    syms = _real_symbols(len(dom))
    pts = _points(case)
    with np.errstate(all="raise"):
        got = np.broadcast_to(op.np_forward(*pts), pts[0].shape)
    expected = [_sym_value(op.forward(*syms), syms, p) for p in zip(*pts)]
    np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-300)


# --- NumPy VJP vs central differences and vs the SymPy partials -------------------------

@pytest.mark.parametrize("case", CASES)
def test_numpy_vjp_matches_central_differences(case):
    name, _dom = _op_and_domain(case)
    op = OPS[name]
    pts = _points(case)
    g = np.random.default_rng(1).uniform(-2, 2, pts[0].shape)
    out = op.np_forward(*pts)
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        vjp = op.np_vjp(g, out, *pts)
    assert len(vjp) == len(pts)
    for i in range(len(pts)):
        h = 1e-6 * np.maximum(1.0, np.abs(pts[i]))
        up = list(pts)
        dn = list(pts)
        up[i] = pts[i] + h
        dn[i] = pts[i] - h
        fd = g * (op.np_forward(*up) - op.np_forward(*dn)) / ((pts[i] + h) - (pts[i] - h))
        np.testing.assert_allclose(np.broadcast_to(vjp[i], fd.shape), fd, rtol=1e-5, atol=1e-8,
                                   err_msg=f"{name} operand {i}")


@pytest.mark.parametrize("case", CASES)
def test_numpy_vjp_equals_sympy_partials(case):
    """The two hand-written derivative facets agree to rounding (g = 1)."""
    name, dom = _op_and_domain(case)
    op = OPS[name]
    syms = _real_symbols(len(dom))
    pts = _points(case, n=15)
    out = op.np_forward(*pts)
    vjp = op.np_vjp(np.ones_like(pts[0]), out, *pts)
    partials = op.partials(*syms)
    for i in range(len(syms)):
        expected = [_sym_value(partials[i], syms, p) for p in zip(*pts)]
        np.testing.assert_allclose(np.broadcast_to(vjp[i], pts[0].shape), expected,
                                   rtol=1e-12, atol=1e-14, err_msg=f"{name} operand {i}")


@pytest.mark.parametrize("case", [c for c in CASES if OPS[VARIADIC3.get(c, c)].nondiff])
def test_vjp_at_the_kink_follows_the_convention(case):
    """At the kink the NumPy VJP and the SymPy partial give the same conventional value."""
    name, dom = _op_and_domain(case)
    op = OPS[name]
    syms = _real_symbols(len(dom))
    for p in _kink_points(name, len(dom)):
        assert op.nondiff(*p)
        vjp = op.np_vjp(1.0, op.np_forward(*map(np.float64, p)), *map(np.float64, p))
        partials = op.partials(*syms)
        for i in range(len(syms)):
            assert float(vjp[i]) == _sym_value(partials[i], syms, p), (name, i, p)


@pytest.mark.parametrize("case", [c for c in CASES if OPS[VARIADIC3.get(c, c)].nondiff])
def test_branch_is_zero_exactly_at_the_kink(case):
    name, dom = _op_and_domain(case)
    op = OPS[name]
    for p in zip(*_points(case, n=10)):
        assert not op.nondiff(*p)
        assert OPS[name].branch(*p) != 0
    for kink in _kink_points(name, len(dom), tie=1.5):
        assert op.nondiff(*kink) and OPS[name].branch(*kink) == 0, (name, kink)


# --- extreme inputs --------------------------------------------------------------------

@pytest.mark.parametrize("case", EXTREME_SAFE)
@pytest.mark.parametrize("x", [-1000.0, 1000.0], ids=["-1000", "+1000"])
def test_extreme_inputs_stay_finite(case, x):
    name, dom = _op_and_domain(case)
    op = OPS[name]
    positive = name in ("sqrt", "log", "log2", "log10")
    x = abs(x) if positive else x
    vals = [np.array([x, -x if not positive else 2 * x])] * len(dom)
    if len(dom) == 2:
        vals = [vals[0], vals[0][::-1].copy()]
    with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
        out = op.np_forward(*vals)
        vjp = op.np_vjp(np.ones_like(vals[0]), out, *vals)
    assert np.all(np.isfinite(out))
    assert all(np.all(np.isfinite(v)) for v in vjp)
    syms = _real_symbols(len(dom))
    expected = [_sym_value(op.forward(*syms), syms, p) for p in zip(*vals)]
    np.testing.assert_allclose(np.broadcast_to(out, vals[0].shape), expected, rtol=1e-13, atol=1e-300)
    for i in range(len(syms)):
        exp_i = [_sym_value(rewrite_elementary(op.partials(*syms)[i]), syms, p) for p in zip(*vals)]
        np.testing.assert_allclose(np.broadcast_to(vjp[i], vals[0].shape), exp_i,
                                   rtol=1e-12, atol=1e-300, err_msg=f"{name} operand {i}")


def test_sigmoid_and_softplus_saturate_without_overflow():
    x = np.array([-1000.0, -40.0, 0.0, 40.0, 1000.0])
    with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
        s = OPS["sigmoid"].np_forward(x)
        sp_ = OPS["softplus"].np_forward(x)
    assert s.tolist()[0] == 0.0 and s.tolist()[-1] == 1.0 and s[2] == 0.5
    assert sp_[0] == 0.0 and sp_[-1] == 1000.0


def test_gelu_saturates_without_overflow():
    """gelu at ±1000 (not in EXTREME_SAFE: SymPy cannot evaluate 1 + erf(−707) exactly in
    bounded time): x·Φ(x) is x at +1000 and underflows to 0 at −1000, its derivative 1 and 0."""
    x = np.array([-1000.0, -40.0, 40.0, 1000.0])
    with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
        out = OPS["gelu"].np_forward(x)
        (d,) = OPS["gelu"].np_vjp(np.ones_like(x), out, x)
    assert out.tolist() == [0.0, 0.0, 40.0, 1000.0] and d.tolist() == [0.0, 0.0, 1.0, 1.0]


# --- the activation facet: layer engine, write-up formulas, a network per activation ------

ACTIVATION_ROWS = sorted(name for name, op in OPS.items() if op.layer is not None)


@pytest.mark.parametrize("name", ACTIVATION_ROWS)
def test_layer_derivative_from_a_and_z_equals_the_partial(name):
    """The matrix view's route (g′ from z and a = g(z)) agrees with the SymPy partial."""
    op = OPS[name]
    z = sp.Symbol("z", real=True)
    for (p,) in zip(*_points(name, n=12)):
        zv = _exact(p)
        a = op.forward(zv)
        got = _sym_value(op.layer.derivative_of(zv, a), (), ())
        assert got == pytest.approx(_sym_value(op.partials(z)[0], (z,), (p,)), rel=1e-12, abs=1e-14)


@pytest.mark.parametrize("name", ACTIVATION_ROWS)
def test_layer_engine_activation_is_the_row(name):
    """The Dense engine's activation: the row's forward, and a JVP matching central differences."""
    from backproof.engine import ACTIVATIONS
    act, op = ACTIVATIONS[name], OPS[name]
    (z,) = _points(name)
    v = np.random.default_rng(2).uniform(-2, 2, z.shape)
    np.testing.assert_array_equal(act(z), op.np_forward(z))
    h = 1e-6 * np.maximum(1.0, np.abs(z))
    fd = v * (act(z + h) - act(z - h)) / ((z + h) - (z - h))
    np.testing.assert_allclose(act.jvp(z, v), fd, rtol=1e-5, atol=1e-8)
    # The text write-up names the function by its row's symbol or name.
    assert op.layer.derivative and op.layer.derivative_latex("z", "a")


@pytest.mark.parametrize("name", ACTIVATION_ROWS)
def test_every_activation_row_serves_in_a_network(name):
    """A 2-2-1 network with this hidden activation: spec accepted, derivation = matrix view =
    NumPy layer engine = central differences, and every write-up renders."""
    from backproof.nn import explain_network
    from backproof.nn.report import render_json, render_markdown, render_text
    spec = {"inputs": [0.5, -0.3], "targets": [0.2], "loss": "half_sse",
            "layers": [{"units": 2, "activation": name, "weights": [[0.4, -0.2], [-0.7, 0.3]],
                        "bias": [0.1, -0.05]},
                       {"units": 1, "activation": "identity", "weights": [[0.6, -0.9]], "bias": [0.2]}]}
    result = explain_network(spec)
    assert result.check.ok, result.check.summary
    assert result.view_diff is not None and result.view_diff < 1e-20
    text = render_text(result, view="both")
    # Issue 11: the slope is the unit's own local derivative, written in its names and then
    # with its number (the op row's text form, "σ′(z) = a(1 − a)", is no longer pasted in).
    if name == "identity":  # a = z: δ is ∂J/∂a itself
        assert "(identity: a = z)" in text
    else:
        assert "δ⁽¹⁾₁ = ∂J/∂a⁽¹⁾₁ · ∂a⁽¹⁾₁/∂z⁽¹⁾₁" in text
        slope = next(d.da_dz for d in result.scalar.deltas if d.layer == 1 and d.unit == 0)
        assert f"· {format_number(slope)}" in text or f"· ({format_number(slope)})" in text
    assert "**" not in text
    render_markdown(result, view="both")
    render_json(result)


# --- kink conventions against PyTorch ------------------------------------------------------

#: PyTorch's counterpart of every op with a kink (called as ``f(torch, *operands)``), to
#: compare the derivative at the kink; None where PyTorch has no differentiable one.
TORCH_KINKS = {
    "relu": lambda torch, a: torch.relu(a),
    "abs": lambda torch, a: torch.abs(a),
    # Two operands: torch.maximum; more: amax, which shares a tie equally as --tie half does.
    "max": lambda torch, *x: torch.maximum(*x) if len(x) == 2 else torch.amax(torch.stack(x)),
    "min": lambda torch, *x: torch.minimum(*x) if len(x) == 2 else torch.amin(torch.stack(x)),
    "sign": lambda torch, a: torch.sign(a),
    "step": None,  # torch.heaviside has no derivative
    "leaky_relu": lambda torch, a: torch.nn.functional.leaky_relu(a, 0.01),
    "selu": lambda torch, a: torch.nn.functional.selu(a),
    "hardsigmoid": lambda torch, a: torch.nn.functional.hardsigmoid(a),
    "relu6": lambda torch, a: torch.nn.functional.relu6(a),
    "hardtanh": lambda torch, a: torch.nn.functional.hardtanh(a),
}


@pytest.mark.parametrize("case", [c for c in CASES if OPS[VARIADIC3.get(c, c)].nondiff])
def test_kink_convention_matches_pytorch(case):
    """At the kink the row's NumPy VJP gives PyTorch's gradient (where PyTorch is installed)."""
    name, dom = _op_and_domain(case)
    assert name in TORCH_KINKS, f"{name}: add PyTorch's counterpart (or None) to TORCH_KINKS"
    torch = pytest.importorskip("torch", reason="PyTorch is not installed: kink conventions "
                                                "not compared with it")
    if TORCH_KINKS[name] is None:
        pytest.skip(f"{name}: PyTorch has no differentiable counterpart")
    op = OPS[name]
    for p in _kink_points(name, len(dom)):
        args = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in p]
        TORCH_KINKS[name](torch, *args).backward()
        vjp = op.np_vjp(1.0, op.np_forward(*map(np.float64, p)), *map(np.float64, p))
        for i, t in enumerate(args):
            assert float(vjp[i]) == t.grad.item(), (name, i, p)


def test_swappable_rows_are_binary_and_not_symmetric():
    """The checker swaps the operands of these rows: swapping must change the value."""
    for name, op in OPS.items():
        if op.swappable:
            assert op.arity == 2, name
            a, b = sp.Rational(3, 2), sp.Rational(5, 7)
            assert op.forward(a, b) != op.forward(b, a), name


# --- issue 10: every reader takes the operation from its row --------------------------------

FUNCTION_ROWS = sorted(name for name, op in OPS.items() if op.function)


@pytest.mark.parametrize("name", FUNCTION_ROWS)
def test_finding_parser_graph_and_engine_read_the_rows(name):
    """A function row is parsed by its name, recovered as its gate by the graph (also from
    SymPy's own form), and run by the NumPy engine with the row's forward: no other list."""
    from backproof.engine import grad
    from backproof.graph import build_graph, to_tape
    from backproof.parse import parse_program
    from backproof.program import Program, Statement
    op = OPS[name]
    args = ", ".join(["x", "w"][: op.arity or 2])
    program = parse_program(f"y = {op.function}({args})")
    g = build_graph(program)
    assert [d["op"] for _, d in g.nodes(data=True) if d["kind"] == "op"] == [name]
    # The same gate from the SymPy expression itself (as SymPy input is read).
    x, w = sp.Symbol("x", real=True), sp.Symbol("w", real=True)
    expr = op.forward(*[x, w][: op.arity or 2])
    g2 = build_graph(Program((Statement("y", expr),), "y"))
    assert [d["op"] for _, d in g2.nodes(data=True) if d["kind"] == "op"] == [name]
    (p,) = zip(*_points(name, n=1))
    point = dict(zip(["x", "w"], p))
    value, _ = grad(to_tape(g), point)
    assert float(value) == float(np.asarray(op.np_forward(*p)))


def test_finding_one_activation_vocabulary():
    """The spec, the layer engine, the write-ups and the checker take their activations
    from the rows (softmax, not elementwise, is the one activation that is no row)."""
    from backproof.check.quantities import ACTIVATIONS as CHECKED
    from backproof.engine import ACTIVATIONS as ENGINE
    from backproof.nn.spec import ACTIVATIONS as SPEC
    from backproof.nn.views import ACT_DERIVATIVE
    rows = [name for name in sorted(OPS) if OPS[name].layer is not None]
    assert list(SPEC) == list(ENGINE) == rows + ["softmax"]
    assert set(ACT_DERIVATIVE) == set(rows) | {"softmax"}
    assert {name for name, op in OPS.items() if op.checker_activation} == CHECKED


def test_finding_no_second_op_table():
    """NP_OPS (a copy held equal by a test) is gone, and the one table imports no SymPy."""
    import importlib.util
    import subprocess
    import sys
    assert importlib.util.find_spec("backproof.npops") is None
    code = "import sys, backproof.ops, backproof.losses; print('sympy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         timeout=120)  # a guard against a hang only
    assert out.stdout.strip() == "False"


#: PyTorch's counterpart of the smooth functions of issue 14: value and gradient compared.
TORCH_SMOOTH = {
    "elu": lambda torch, a: torch.nn.functional.elu(a), "gelu": lambda torch, a: torch.nn.functional.gelu(a),
    "silu": lambda torch, a: torch.nn.functional.silu(a), "mish": lambda torch, a: torch.nn.functional.mish(a),
    "softsign": lambda torch, a: torch.nn.functional.softsign(a),
    "logsigmoid": lambda torch, a: torch.nn.functional.logsigmoid(a),
    "sinh": lambda torch, a: torch.sinh(a), "cosh": lambda torch, a: torch.cosh(a),
    "log2": lambda torch, a: torch.log2(a), "log10": lambda torch, a: torch.log10(a),
    "asin": lambda torch, a: torch.asin(a), "acos": lambda torch, a: torch.acos(a),
    "erf": lambda torch, a: torch.erf(a),
}


@pytest.mark.parametrize("name", sorted(TORCH_SMOOTH))
def test_new_functions_match_pytorch(name):
    """The row's NumPy forward and VJP against PyTorch's function and autograd (float64)."""
    torch = pytest.importorskip("torch", reason="PyTorch is not installed: not compared with it")
    (x,) = _points(name, n=20)
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    y = TORCH_SMOOTH[name](torch, t)
    y.sum().backward()
    op = OPS[name]
    out = op.np_forward(x)
    (vjp,) = op.np_vjp(np.ones_like(x), out, x)
    np.testing.assert_allclose(out, y.detach().numpy(), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(vjp, t.grad.numpy(), rtol=1e-12, atol=1e-15)
