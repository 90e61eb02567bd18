"""Conventions and edge cases of the operations (issue 14): the tie convention of max/min,
n-ary max/min, log(x, base), x**0 at 0, forward values that must not underflow, and forms
that must read back in the language.

Oracles: PyTorch's own conventions (torch.maximum/amax share a tie, max over a dimension gives
it to the first; skipped where PyTorch is absent), CS231n's indicator formulas, sympy.diff,
mpmath at 50 digits, and the parser itself for the forms written out.
"""

from __future__ import annotations

import json
import math

import mpmath
import numpy as np
import pytest
import sympy as sp

from backproof import derive
from backproof.cli import main
from backproof.commands.graph import TIES as CLI_TIES
from backproof.errors import LimitError
from backproof.graph import build_graph
from backproof.losses import LOSS_ROWS
from backproof.ops import OPS, TIES, current_tie, tie_convention
from backproof.parse import parse_expression, parse_program
from backproof.printing import to_text

#: Tie points of max/min: (operands, which of them attain the extremum).
TIE_POINTS = {
    "max": [((0.7, 0.7), (0, 1)), ((0.7, 0.7, 0.7), (0, 1, 2)), ((-0.4, 0.7, 0.7), (1, 2)),
            ((0.7, -0.4, 0.7), (0, 2))],
    "min": [((0.7, 0.7), (0, 1)), ((0.7, 0.7, 0.7), (0, 1, 2)), ((1.8, 0.7, 0.7), (1, 2)),
            ((0.7, 1.8, 0.7), (0, 2))],
}


def _expected(tie: str, n: int, attain: tuple[int, ...]) -> list[float]:
    """The share of each operand: half 1/m each of the m that attain, first the first of them, all 1 each."""
    if tie == "half":
        return [1 / len(attain) if i in attain else 0.0 for i in range(n)]
    if tie == "first":
        return [1.0 if i == attain[0] else 0.0 for i in range(n)]
    return [1.0 if i in attain else 0.0 for i in range(n)]


CASES = [(name, tie, p, attain) for name, points in TIE_POINTS.items() for tie in TIES for p, attain in points]


def test_the_cli_offers_the_table_conventions():
    assert CLI_TIES == TIES and current_tie() == "half"


@pytest.mark.parametrize("name, tie, point, attain", CASES, ids=lambda v: str(v))
def test_numpy_vjp_and_sympy_partials_follow_the_convention(name, tie, point, attain):
    op = OPS[name]
    syms = sp.symbols("a b c", real=True)[: len(point)]
    with tie_convention(tie):
        vjp = [float(v) for v in op.np_vjp(1.0, op.np_forward(*point), *point)]
        partials = op.partials(*syms)
        exact = [float(p.xreplace(dict(zip(syms, map(sp.Rational, map(str, point)))))) for p in partials]
        assert op.nondiff(*point)
        assert "tie" in op.convention_at(len(point))
    want = _expected(tie, len(point), attain)
    assert vjp == want and exact == want


def test_a_tie_below_the_max_is_no_kink():
    assert not OPS["max"].nondiff(2.0, 0.5, 0.5) and OPS["max"].nondiff(2.0, 2.0, 0.5)
    assert not OPS["min"].nondiff(0.5, 2.0, 2.0) and OPS["min"].nondiff(0.5, 0.5, 2.0)
    d = derive("y = max(a, b, c)", "a=2, b=1, c=1", verify=False)
    assert not any(s.note for s in d.steps)


def test_pytorch_shares_a_tie_as_half_and_gives_it_to_the_first_over_a_dimension():
    torch = pytest.importorskip("torch", reason="PyTorch is not installed: tie conventions not compared with it")
    for name, points in TIE_POINTS.items():
        op = OPS[name]
        for point, _ in points:
            for tie, fn in (("half", "amax" if name == "max" else "amin"), ("first", name)):
                xs = torch.tensor(point, dtype=torch.float64, requires_grad=True)
                out = getattr(torch, fn)(xs) if tie == "half" else getattr(torch, fn)(xs, 0).values
                out.backward()
                with tie_convention(tie):
                    mine = [float(v) for v in op.np_vjp(1.0, op.np_forward(*point), *point)]
                assert mine == xs.grad.tolist(), (name, tie, point)
            if len(point) == 2:  # torch.maximum/minimum: half at a tie, as the default
                a, b = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in point)
                getattr(torch, "maximum" if name == "max" else "minimum")(a, b).backward()
                assert [float(v) for v in op.np_vjp(1.0, op.np_forward(*point), *point)] == [a.grad.item(),
                                                                                             b.grad.item()]


def test_all_is_cs231ns_indicators():
    """CS231n writes ∂max(x, y)/∂x = 1(x ≥ y) and ∂max(x, y)/∂y = 1(y ≥ x)."""
    rng = np.random.default_rng(14)
    x = np.round(rng.uniform(-2, 2, 200), 1)
    y = np.round(rng.uniform(-2, 2, 200), 1)  # one decimal: many ties
    assert np.any(x == y)
    with tie_convention("all"):
        dx, dy = OPS["max"].np_vjp(np.ones_like(x), np.maximum(x, y), x, y)
        mx, my = OPS["min"].np_vjp(np.ones_like(x), np.minimum(x, y), x, y)
    assert np.array_equal(dx, (x >= y).astype(float)) and np.array_equal(dy, (y >= x).astype(float))
    assert np.array_equal(mx, (x <= y).astype(float)) and np.array_equal(my, (y <= x).astype(float))


def test_a_convention_is_scoped_and_checked():
    with tie_convention("first"):
        assert current_tie() == "first"
        with tie_convention("all"):
            assert current_tie() == "all"
        assert current_tie() == "first"
    assert current_tie() == "half"
    with pytest.raises(ValueError, match="must be one of half, first, all"), tie_convention("left"):
        pass


# --- the option on the commands ------------------------------------------------------------------

@pytest.mark.parametrize("tie, want", [("half", (1, 1, 0)), ("first", (2, 0, 0)), ("all", (2, 2, 0))])
def test_explain_tie_sets_gradients_and_the_written_convention(tie, want, tmp_path):
    out = tmp_path / "y.json"
    assert main(["explain", "y = 2*max(a, b, c)", "--at", "a=1,b=1,c=0", "--tie", tie, "--format", "json",
                 "-o", str(out)]) == 0
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert tuple(doc["gradients"][n] for n in "abc") == want
    notes = " ".join(str(s.get("note", "")) for s in doc["steps"])
    assert ("1/m each of m" in notes) if tie == "half" else (f"--tie {tie}" in notes)
    txt = tmp_path / "y.txt"
    assert main(["explain", "y = max(a, b)", "--at", "a=1,b=1", "--tie", tie, "-o", str(txt)]) == 0
    text = txt.read_text(encoding="utf-8")
    # The default states the convention as it always has.
    assert ("each operand receives half of the gradient" in text) if tie == "half" else f"--tie {tie}" in text


@pytest.mark.parametrize("tie", TIES)
def test_crosscheck_engine_honours_the_tie(tie, capsys):
    assert main(["crosscheck", "y = max(a, b)*3 + min(b, a)", "--at", "a=2,b=2", "--tie", tie,
                 "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    rows = {r["name"]: r for r in doc["rows"]}
    for n in "ab":  # the symbolic side and the NumPy engine agree under every convention
        assert rows[n]["symbolic"] == rows[n]["engine"], (tie, rows[n])
    want = {"half": (2, 2), "first": (3, 1), "all": (4, 4)}[tie]
    assert (rows["a"]["symbolic"], rows["b"]["symbolic"]) == want


def test_first_means_the_first_written(tmp_path):
    """SymPy sorts Max's operands; the gate keeps them as written, so max(b, a) gives b the tie."""
    g = build_graph(parse_program("y = max(b, a)"))
    gate = next(n for n, d in g.nodes(data=True) if d.get("op") == "max")
    assert [u for u, _, _ in sorted(g.in_edges(gate, keys=True), key=lambda e: e[2])] == ["b", "a"]
    with tie_convention("first"):
        grads = derive("y = max(b, a)", "a=1, b=1", verify=False).named_gradients()
    assert grads["b"] == 1 and grads["a"] == 0


def test_graph_and_check_take_the_option(tmp_path, capsys):
    dot = tmp_path / "g.dot"
    assert main(["graph", "y = max(a, b)", "--at", "a=1,b=1", "--tie", "all", "-o", str(dot)]) == 0
    assert main(["graph", "y = max(a, b)", "--at", "a=1,b=1", "--tie", "bogus", "-o", str(dot)]) == 2
    # A student who used CS231n's 1(x ≥ y) is right under --tie first (or all), not under the default.
    check = ["check", "y = max(a, b)", "--at", "a=1,b=1", "--answer", "dy/da=1", "--format", "json"]
    capsys.readouterr()
    main(check + ["--tie", "first"])
    assert json.loads(capsys.readouterr().out)["items"][0]["verdict"] == "correct"
    main(check)
    assert json.loads(capsys.readouterr().out)["items"][0]["verdict"] != "correct"


# --- n-ary max/min and log(x, base) -------------------------------------------------------------------

def test_nary_max_is_one_gate_and_matches_sympy_diff():
    g = build_graph(parse_program("y = max(a, b, c)*min(a, b, c, 1)"))
    gates = sorted((d["op"], g.in_degree(n)) for n, d in g.nodes(data=True) if d.get("op") in ("max", "min"))
    assert gates == [("max", 3), ("min", 4)]
    d = derive("y = max(a, b, c)*min(a, b, c, 1)", "a=0.5, b=2, c=-1")
    a, b, c = sp.symbols("a b c", real=True)
    oracle = sp.Max(a, b, c) * sp.Min(a, b, c, 1)
    point = {a: sp.Rational(1, 2), b: 2, c: -1}
    for s in (a, b, c):
        assert d.named_gradients()[s.name] == sp.diff(oracle, s).subs(point)
    assert to_text(parse_expression("max(b, a, c)")) == "max(b, a, c)"


def test_too_many_operands_are_refused_by_the_limit():
    with pytest.raises(LimitError, match="function_arguments"):
        parse_program("y = max(a, b, c, d, f, g, h, i, j)")


@pytest.mark.parametrize("text, gate", [("log(x, 2)", "log2"), ("log(x, 10)", "log10"), ("log(x, 3)", "div"),
                                        ("log(x, b)", "div")])
def test_log_with_a_base(text, gate):
    p = parse_program(f"y = {text}")
    ops = {d["op"] for _, d in build_graph(p).nodes(data=True) if d.get("op")}
    assert gate in ops
    x, b = sp.symbols("x b", real=True)
    base = {"2": 2, "10": 10, "3": 3, "b": b}[text.split(", ")[1][:-1]]
    d = derive(f"y = {text}", "x=5, b=7" if "b" in text else "x=5")
    oracle = sp.log(x) / sp.log(base)
    point = {x: 5, b: 7}
    assert abs(float(d.values["y"]) - float(oracle.subs(point))) < 1e-14
    for s in oracle.free_symbols:
        assert abs(float(d.named_gradients()[s.name]) - float(sp.diff(oracle, s).subs(point))) < 1e-14


# --- x**0 ---------------------------------------------------------------------------------------------

def test_power_zero_has_derivative_zero_at_zero():
    d = derive("y = x**0 + 3*x", "x=0")
    assert d.named_gradients()["x"] == 3 and d.values["y"] == 1
    x = sp.Symbol("x", real=True)
    assert sp.diff(x**0 + 3 * x, x) == 3
    d_base, _ = OPS["pow"].np_vjp(1.0, 1.0, 0.0, 0.0)
    assert float(d_base) == 0.0
    torch = pytest.importorskip("torch", reason="PyTorch is not installed: x**0 not compared with it")
    t = torch.tensor(0.0, dtype=torch.float64, requires_grad=True)
    (t**0).backward()
    assert t.grad.item() == float(d_base)


# --- no underflow where a stable formula exists ---------------------------------------------------------

def _mp(f, x: float) -> float:
    with mpmath.workdps(50):
        return float(f(mpmath.mpf(x)))


SOFTPLUS = lambda x: mpmath.log1p(mpmath.exp(x))  # noqa: E731
LOGSIGMOID = lambda x: -mpmath.log1p(mpmath.exp(-x))  # noqa: E731


@pytest.mark.parametrize("name, x, oracle", [("softplus", -100.0, SOFTPLUS), ("softplus", -700.0, SOFTPLUS),
                                             ("logsigmoid", 100.0, LOGSIGMOID), ("logsigmoid", 700.0, LOGSIGMOID)])
def test_no_underflow_in_the_engine_and_the_exact_values(name, x, oracle):
    want = _mp(oracle, x)
    assert want != 0.0
    got = float(OPS[name].np_forward(np.float64(x)))
    assert math.isclose(got, want, rel_tol=1e-13)
    d = derive(f"y = {name}(x)", f"x={int(x)}", verify=False)
    assert math.isclose(float(d.values["y"]), want, rel_tol=1e-13)
    assert math.isclose(_mp(oracle, -100.0 if name == "softplus" else 100.0), 3.7200759760208e-44 *
                        (1 if name == "softplus" else -1), rel_tol=1e-12)


def test_bce_on_logits_does_not_underflow():
    want = _mp(SOFTPLUS, -100.0)  # −log σ(100) = softplus(−100) = 3.72e-44
    bce = LOSS_ROWS["bce"]
    for z, t in ((100.0, 1.0), (-100.0, 0.0)):
        zz, tt = np.array([[z]]), np.array([[t]])
        assert math.isclose(float(bce.np_per_sample(zz, OPS["sigmoid"].np_forward(zz), tt)[0]), want, rel_tol=1e-13)
    # In the language, BCE on a logit written without a difference of large terms (each node's
    # exact value has 30 digits, so softplus(z) − t·z would cancel to 0 at z = 100, t = 1).
    for z, t in ((100, 1), (-100, 0)):
        d = derive("L = max(z, 0) - t*z + softplus(-abs(z))", f"z={z}, t={t}", verify=False)
        assert math.isclose(float(d.values["L"]), want, rel_tol=1e-13)


# --- every form written reads back ----------------------------------------------------------------------

FUNCTION_ROWS = sorted(name for name, op in OPS.items() if op.function)
#: A point inside every function's domain and away from every kink.
POINT = {"x": sp.Rational(3, 10), "w": sp.Rational(7, 10)}


@pytest.mark.parametrize("name", FUNCTION_ROWS)
def test_every_expanded_form_reads_back(name):
    op = OPS[name]
    args = ", ".join(["x", "w"][: op.arity or 2])
    d = derive(f"h = {op.function}({args})\ny = h*x + {op.function}({args})**2",
               {n: v for n, v in POINT.items() if n in args})
    doc_forms = [to_text(e) for e in list(d.simplified.values()) + list(d.in_inputs.values())]
    doc_forms += [to_text(s.inputs_form) for s in d.steps if s.inputs_form is not None]
    assert doc_forms
    syms = {sp.Symbol(n, real=True): v for n, v in POINT.items()}
    for form, expr in zip(doc_forms, list(d.simplified.values()) + list(d.in_inputs.values())):
        back = parse_expression(form)
        assert abs(float(sp.N((back - expr).xreplace(syms), 30))) < 1e-20, (name, form)
    for form in doc_forms:
        parse_expression(form)


@pytest.mark.parametrize("fn", ["sech", "csch", "coth", "sec", "csc", "cot", "acot", "erfc", "asinh", "acosh",
                                "atanh", "acoth"])
def test_sympy_functions_outside_the_language_print_through_it(fn):
    x = sp.Symbol("x", real=True)
    expr = 2 * getattr(sp, fn)(x) ** 2 + x
    point = {x: sp.Rational(13, 10) if fn not in ("atanh",) else sp.Rational(3, 10)}
    back = parse_expression(to_text(expr))
    assert abs(complex(sp.N((back - expr).xreplace(point), 30))) < 1e-20, (fn, to_text(expr))


def test_a_constant_softplus_reads_back_after_expansion():
    """softplus of a negative constant evaluates through atanh (no cancellation); it prints readably."""
    d = derive("y = softplus(-2)*x", "x=1")
    form = to_text(d.in_inputs["x"])
    assert math.isclose(float(parse_expression(form)), math.log1p(math.exp(-2)), rel_tol=1e-14)


def test_the_python_api_under_a_convention():
    """From Python the convention is a scoped setting around the call (as numpy.errstate)."""
    from backproof import explain
    with tie_convention("all"):
        r = explain("y = max(a, b)", "a=1, b=1")
    assert r.named_gradients() == {"a": 1, "b": 1} and r.ok
    assert {row.verdict for row in r.verification.rows} == {"not differentiable"}
    assert explain("y = max(a, b)", "a=1, b=1").named_gradients() == {"a": sp.Rational(1, 2), "b": sp.Rational(1, 2)}


@pytest.mark.parametrize("tie", ["first", "all"])
def test_a_partial_at_a_tie_reads_back_with_its_value(tie):
    """1(x ≥ y) is printed as 1 - step(y - x), which the language reads as 1 at a tie."""
    a, b = sp.symbols("a b", real=True)
    with tie_convention(tie):
        partials = OPS["max"].partials(a, b)
    for p in partials:
        back = parse_expression(to_text(p))
        for point in ({a: 1, b: 1}, {a: 2, b: 1}, {a: 1, b: 2}):
            assert back.xreplace(point) == p.xreplace(point), (tie, to_text(p), point)
