"""The NumPy reverse-mode engine over a program's tape.

Oracles: ``sympy.diff`` of the output written in the inputs (sigmoid, relu and
softplus rewritten into elementary functions first), evaluated exactly at the float64
point the engine sees; and the engine's own single-point answers for batches.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from backproof.engine import EngineError, NumericalError, backward, forward, grad
from backproof.errors import BackproofError, ProgramError
from backproof.functions import rewrite_elementary
from backproof.graph import build_graph, tape_of, to_tape
from backproof.parse import parse_program, parse_values
from program_strategies import expressions as shared_expressions

SRC = Path(__file__).resolve().parents[1] / "src"

# Why these tolerances: a batch runs NumPy's SIMD loops (AVX2/AVX-512 kernels for `**`,
# exp, log, ...), one point runs the scalar loop; NumPy documents those kernels as accurate
# to a few ulps, not as identical to the scalar path, and on an AVX-512 CPU the `powers`
# seed differs by 1 ulp. A handful of operations, each at most ~1 ulp apart, stay within 4.
BATCH_VS_POINT_ULPS = 4
# The engine's float64 arithmetic vs the derivation's SymPy numbers rounded once to float.
ENGINE_VS_SYMBOLIC_ULPS = 4

# The seeds' worked examples (values computed here, never copied from the notes).
SEED_EXAMPLES = {
    "graph": ("d = a + b; e = b - c; y = d*e", {"a": 2, "b": 1, "c": 0}),
    "linear": ("y = 2*x + 3", {"x": 1.5}),
    "chain": ("f = (x + 2)**2", {"x": 1}),
    "partials": ("f = w*2 + b", {"w": 0.5, "b": -1}),
    "training": ("yhat = w*x + b; L = 0.5*(yhat - y)**2", {"w": 0, "b": 0, "x": 1, "y": 2}),
    "two-layer": ("a1 = w1*x + b1; a2 = w2*a1 + b2; J = 0.5*(a2 - y)**2",
                  {"x": 1, "y": 5, "w1": 2, "b1": 0, "w2": 3, "b2": 1}),
    "neuron": ("z = w1*x1 + w2*x2 + b; a = sigmoid(z); L = -(t*log(a) + (1 - t)*log(1 - a))",
               {"w1": 0.15, "w2": 0.2, "x1": 0.05, "x2": 0.1, "b": 0.35, "t": 0.01}),
    "tanh": ("h = tanh(w*x + b); y = h*h + h", {"w": 0.3, "x": 2, "b": -1}),
    "functions": ("u = sin(x)*cos(y) + tan(x/3); v = exp(-u*u) + sqrt(1 + y*y); "
                  "out = log(v) + softplus(u) - relu(x - y) + abs(y) + max(x, y) - min(x, u)",
                  {"x": 0.7, "y": -1.3}),
    "powers": ("y = x**3 + 2**x + x**y2 + sign(x)*step(x)", {"x": 1.3, "y2": 0.4}),
}


def _oracle(text: str, point: dict) -> dict[str, float]:
    """∂output/∂input by sympy.diff of the expanded output, exactly at the float point."""
    prog = parse_program(text)
    out = rewrite_elementary(prog.expanded()[prog.output])
    at = {sp.Symbol(k, real=True): sp.Rational(float(v)) for k, v in point.items()}
    res = {}
    for n in point:
        d = sp.diff(out, sp.Symbol(n, real=True)).replace(sp.DiracDelta, lambda *_: sp.Integer(0))
        res[n] = float(sp.N(d.xreplace(at), 30, maxn=500))
    return res


@pytest.mark.parametrize("name", sorted(SEED_EXAMPLES))
def test_engine_matches_sympy_diff_on_examples(name):
    text, point = SEED_EXAMPLES[name]
    value, grads = grad(tape_of(text), at=point)
    oracle = _oracle(text, point)
    for n, expected in oracle.items():
        assert float(grads[n]) == pytest.approx(expected, rel=1e-12, abs=1e-15), n
    prog = parse_program(text)
    expected_value = float(sp.N(prog.expanded()[prog.output].xreplace(
        {sp.Symbol(k, real=True): sp.Rational(float(v)) for k, v in point.items()}), 30))
    assert float(value) == pytest.approx(expected_value, rel=1e-13)


def test_engine_matches_the_symbolic_derivation_for_intermediates():
    from backproof.derivation import derive
    text, point = SEED_EXAMPLES["two-layer"]
    d = derive(text, at=point)
    _, grads = grad(tape_of(text), at=point)
    # Two code paths (SymPy numbers rounded once vs NumPy float64 arithmetic): equal within
    # ENGINE_VS_SYMBOLIC_ULPS, not bit for bit.
    for n, v in d.named_gradients().items():
        np.testing.assert_array_max_ulp(np.float64(grads[n]), np.float64(float(v)),
                                        maxulp=ENGINE_VS_SYMBOLIC_ULPS)


@pytest.mark.parametrize("name", sorted(SEED_EXAMPLES))
def test_batch_equals_one_point_at_a_time(name):
    text, point = SEED_EXAMPLES[name]
    tape = to_tape(build_graph(parse_program(text)))
    rng = np.random.default_rng(3)
    batch = {k: float(v) + rng.uniform(-0.05, 0.05, 7) for k, v in point.items()}
    bv, bg = grad(tape, batch)
    assert bv.shape == (7,)
    for i in range(7):
        v, g = grad(tape, {k: a[i] for k, a in batch.items()})
        np.testing.assert_array_max_ulp(np.float64(v), bv[i], maxulp=BATCH_VS_POINT_ULPS)
        for n in g:
            assert bg[n].shape == (7,)
            np.testing.assert_array_max_ulp(np.float64(g[n]), bg[n][i], maxulp=BATCH_VS_POINT_ULPS)


def test_fork_gradients_add_up_and_the_dict_is_keyed_by_node_id():
    tape = to_tape(build_graph(parse_program("y = x*x*x + x")))
    _, g = grad(tape, {"x": 2.0})
    assert float(g["x"]) == 3 * 4 + 1
    ids = {e.id for e in tape.entries if e.kind != "const"}
    assert set(g) == ids


def test_engine_is_pure():
    tape = to_tape(build_graph(parse_program("h = a*b; y = h + h*a")))
    a = np.array([1.0, 2.0])
    before = a.copy()
    first = grad(tape, {"a": a, "b": 3.0})
    second = grad(tape, {"a": a, "b": 3.0})
    np.testing.assert_array_equal(a, before)
    assert first.gradients.keys() == second.gradients.keys()
    for n in first.gradients:
        np.testing.assert_array_equal(first.gradients[n], second.gradients[n])
        assert first.gradients[n] is not second.gradients[n]
    assert tape == to_tape(build_graph(parse_program("h = a*b; y = h + h*a")))


def test_override_replaces_a_node_value_downstream_only():
    tape = to_tape(build_graph(parse_program("h = a*b; y = h*h + a")))
    vals = forward(tape, {"a": 2.0, "b": 3.0}, overrides={"h": 10.0})
    assert float(vals["h:mul1"]) == 6.0  # upstream of the override: computed
    assert float(vals["h"]) == 10.0
    assert float(vals["y"]) == 102.0
    g = backward(tape, vals)
    assert float(g["h"]) == 20.0


def test_outputs_other_than_the_last():
    v, g = grad(tape_of("z = x*y; w = z + 1; q = w*w", of="w"), at={"x": 2, "y": 3})
    assert float(v) == 7.0 and float(g["x"]) == 3.0 and "q" not in g


def test_at_as_text():
    # The engine never parses: the front layer reads the text, the engine takes numbers.
    at = {k: float(v) for k, v in parse_values("a=2,b=-3").items()}
    v, g = grad(tape_of("y = a*b"), at=at)
    assert float(v) == -6.0 and float(g["a"]) == -3.0
    with pytest.raises(EngineError, match="expected a mapping name -> value, got str"):
        grad(tape_of("y = a*b"), at="a=2,b=-3")


# --- errors: one line naming the node ------------------------------------------------

@pytest.mark.parametrize("text, point, node, op, phase", [
    ("y = log(x)", {"x": 0.0}, "y:log1", "log", "forward"),
    ("y = log(x)", {"x": -1.0}, "y:log1", "log", "forward"),
    ("h = 1/x; y = h + 1", {"x": 0.0}, "h:div1", "div", "forward"),
    ("y = exp(x)", {"x": 1000.0}, "y:exp1", "exp", "forward"),
    ("y = sqrt(x)", {"x": -1.0}, "y:sqrt1", "sqrt", "forward"),
    ("y = sqrt(x)", {"x": 0.0}, "y:sqrt1", "sqrt", "backward"),
    ("y = x*x", {"x": 1e200}, "y:mul1", "mul", "forward"),
    ("y = x**0.3", {"x": 0.0}, "y:pow1", "pow", "backward"),
], ids=["log0", "log-neg", "div0", "exp-overflow", "sqrt-neg", "sqrt-grad-at-0", "mul-overflow",
        "pow-grad-at-0"])
def test_numerical_errors_name_the_node(text, point, node, op, phase):
    with pytest.raises(NumericalError) as info:
        grad(tape_of(text), at=point)
    msg = str(info.value)
    assert f"node {node!r} ({op}) {phase}" in msg
    assert info.value.where == f"node {node!r} ({op}) {phase}"
    assert "\n" not in msg
    assert isinstance(info.value, BackproofError)


def test_numerical_error_names_the_first_bad_point_of_a_batch():
    with pytest.raises(NumericalError, match=r"at point 2 \(operand x = 0\.0\)"):
        grad(tape_of("y = log(x)"), at={"x": np.array([1.0, 2.0, 0.0, 0.0])})


def test_non_strict_mode_lets_nan_through():
    tape = to_tape(build_graph(parse_program("y = log(x)")))
    vals = forward(tape, {"x": np.array([1.0, -1.0])}, strict=False)
    assert np.isnan(vals["y"][1]) and vals["y"][0] == 0.0


# --- the local hook: changing what one edge of the reverse pass carries ----------------------

FORK = "u = x*y; z = sin(u) + u*x"   # u feeds sin and mul: two edges out of one node


def _doubled_sin_edge_oracle(x0: float, y0: float) -> dict[str, float]:
    """∂z/∂x, ∂z/∂y with ∂sin(u)/∂u counted twice, by sympy.diff.

    Writing sin's operand as 2u − u₀ (u₀ = u's value at the point) keeps every value and
    doubles the derivative along that edge only, which is what the hook does.
    """
    x, y = sp.symbols("x y", real=True)
    at = {x: sp.Rational(x0), y: sp.Rational(y0)}
    u = x * y
    z = sp.sin(2 * u - u.xreplace(at)) + u * x
    return {str(v): float(sp.N(sp.diff(z, v).xreplace(at), 30)) for v in (x, y)}


def _double_sin(entry, k, g, contribution):
    return 2 * contribution if entry.op == "sin" else contribution


def test_local_hook_doubling_one_edge_matches_sympy_diff():
    tape = tape_of(FORK)
    xs, ys = np.array([0.3, -1.1, 2.0]), np.array([0.7, 0.4, -0.25])
    values = forward(tape, {"x": xs, "y": ys})
    hooked = backward(tape, values, local=_double_sin)
    for i in range(3):
        oracle = _doubled_sin_edge_oracle(float(xs[i]), float(ys[i]))
        for n in ("x", "y"):
            assert hooked[n][i] == pytest.approx(oracle[n], rel=1e-12, abs=1e-15), (n, i)
    # ∂z/∂u by hand: 2·cos(u) along the doubled edge, plus x along the other one.
    np.testing.assert_allclose(hooked["u"], 2 * np.cos(xs * ys) + xs, rtol=1e-13)
    # The doubled edge really changed the answer: without the hook it is cos(u) + x.
    np.testing.assert_allclose(backward(tape, values)["u"], np.cos(xs * ys) + xs, rtol=1e-13)


def test_local_hook_sees_every_edge_into_a_non_constant_operand_once_with_its_gradient():
    tape = tape_of("h = 2*a*b; y = h*h + exp(a)")
    values = forward(tape, {"a": 0.5, "b": -1.5})
    plain = backward(tape, values)
    seen = []

    def record(entry, k, g, contribution):
        seen.append((entry.id, k))
        # g is the consumer's own (finished) gradient: reverse tape order guarantees it.
        np.testing.assert_array_equal(g, plain[entry.id])
        return contribution

    unchanged = backward(tape, values, local=record)
    kind = {e.id: e.kind for e in tape.entries}
    edges = [(e.id, k) for e in tape.entries if e.kind in ("op", "name")
             for k, u in enumerate(e.operands) if kind[u] != "const"]
    assert sorted(seen) == sorted(edges) and len(seen) == len(set(seen))
    # A hook that returns what it is given leaves every gradient as the engine computes it.
    assert unchanged.keys() == plain.keys()
    for n in plain:
        np.testing.assert_array_equal(unchanged[n], plain[n])


def test_local_hook_dropping_an_edge_keeps_the_other_path():
    tape = tape_of(FORK)
    values = forward(tape, {"x": 0.3, "y": 0.7})
    dropped = backward(tape, values, local=lambda e, k, g, c: 0.0 if e.op == "sin" else c)
    # Only the path through u*x is left: ∂z/∂u = x, ∂z/∂x = u + x·y (u = x·y), ∂z/∂y = x·x.
    assert float(dropped["u"]) == pytest.approx(0.3, rel=1e-15)
    assert float(dropped["x"]) == pytest.approx(0.3 * 0.7 + 0.3 * 0.7, rel=1e-14)
    assert float(dropped["y"]) == pytest.approx(0.3 * 0.3, rel=1e-14)


def test_local_hook_result_is_checked_in_strict_mode_and_passes_when_not_strict():
    tape = tape_of(FORK)
    values = forward(tape, {"x": 0.3, "y": 0.7})

    def poison(entry, k, g, contribution):
        return np.inf * contribution if entry.op == "sin" else contribution

    sin_id = next(e.id for e in tape.entries if e.op == "sin")
    with pytest.raises(NumericalError, match=f"node '{sin_id}' \\(sin\\) backward: the gradient is not finite"):
        backward(tape, values, local=poison)
    assert np.isinf(backward(tape, values, strict=False, local=poison)["u"])


@pytest.mark.parametrize("at, match", [
    ({"a": 1.0}, "no value given for input b"),
    ({"a": 1.0, "b": 2.0, "z": 3.0}, "unknown input z"),
    ({"a": float("nan"), "b": 1.0}, "input a: contains a non-finite value"),
    ({"a": "x", "b": 1.0}, "input a: not a number"),
    ({"a": np.zeros(2), "b": np.zeros(3)}, "do not broadcast"),
], ids=["missing", "unknown", "nan", "text", "shapes"])
def test_bad_inputs_are_engine_errors(at, match):
    with pytest.raises(EngineError, match=match):
        grad(tape_of("y = a*b"), at=at)


def test_unknown_override_and_wrong_of():
    tape = to_tape(build_graph(parse_program("y = a*b")))
    with pytest.raises(EngineError, match="override of unknown node q"):
        forward(tape, {"a": 1, "b": 2}, overrides={"q": 1.0})
    with pytest.raises(ProgramError, match="this tape's output is 'y'"):
        tape_of(tape, of="a")
    with pytest.raises(EngineError, match="expected a Tape"):
        grad(3.0, {})
    with pytest.raises(EngineError, match="expected a Tape"):
        grad("y = a*b", {"a": 1, "b": 2})  # text goes through backproof.graph.tape_of
    with pytest.raises(ProgramError, match="expected a Tape, a Program or program text"):
        tape_of(3.0)


def test_finding_engine_imports_no_parser_graph_or_program():
    """Nothing under backproof.engine imports parse, graph, program or sympy, even inside
    a function (the import statements of every module, read with ast)."""
    import ast
    banned = {"backproof.parse", "backproof.graph", "backproof.program", "sympy"}
    found = []
    for path in sorted((SRC / "backproof" / "engine").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                base = ["backproof", "engine"][: 2 - node.level + 1] if node.level else []
                mod = ".".join(base + ([node.module] if node.module else []))
                names = [mod] + [f"{mod}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            found += [f"{path.name}:{node.lineno} {n}" for n in names
                      if any(n == b or n.startswith(b + ".") for b in banned)]
    assert found == []


def test_engine_never_imports_sympy():
    code = (
        "import sys\n"
        "from types import SimpleNamespace as NS\n"
        "import backproof.engine as E\n"
        "t = NS(entries=(NS(id='x', kind='input', op=None, operands=(), value=None),\n"
        "                NS(id='c', kind='const', op=None, operands=(), value=3.0),\n"
        "                NS(id='m', kind='op', op='mul', operands=('x', 'c'), value=None),\n"
        "                NS(id='s', kind='op', op='sigmoid', operands=('m',), value=None),\n"
        "                NS(id='y', kind='name', op='identity', operands=('s',), value=None)),\n"
        "       output='y', inputs=('x',))\n"
        "v, g = E.grad(t, {'x': [0.0, 1.0]})\n"
        "print(float(g['x'][0]), 'sympy' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"PYTHONPATH": str(SRC)}, check=True).stdout.split()
    assert out == ["0.75", "False"]


# --- property: random programs, engine = sympy.diff -------------------------------------

NAMES = ("x", "y", "z")
UNARY = ("sin", "cos", "tanh", "sigmoid", "softplus", "relu", "abs", "exp", "-")


def expressions(names):
    return shared_expressions(names, UNARY)


@st.composite
def programs(draw):
    k = draw(st.integers(1, 3))
    names = list(NAMES)
    lines = []
    for i in range(k):
        lines.append(f"s{i} = {draw(expressions(tuple(names)))}")
        names.append(f"s{i}")
    return "\n".join(lines)


@settings(max_examples=settings().max_examples)
@given(text=programs(), point=st.tuples(*[st.floats(-2, 2, allow_nan=False)] * 3))
def test_random_programs_engine_equals_sympy_diff(text, point):
    prog = parse_program(text)
    tape = to_tape(build_graph(prog))
    at = {n: v for n, v in zip(NAMES, point) if n in tape.inputs}
    try:
        _, grads = grad(tape, at)
    except NumericalError:
        assume(False)
    # Kinks: sympy.diff has no convention there; the crosscheck tests cover them.
    vals = forward(tape, at)
    from backproof.ops import OPS
    for e in tape.entries:
        if e.kind == "op" and OPS[e.op].branch is not None:
            assume(np.all(np.abs(OPS[e.op].branch(*[vals[u] for u in e.operands])) > 1e-9))
    oracle = _oracle(text, at)
    for n in tape.inputs:
            assert float(grads[n]) == pytest.approx(oracle[n], rel=1e-9, abs=1e-11), (text, n)
