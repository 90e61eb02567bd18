"""The expression language: what parses, into what, and every rejection with its position."""

from __future__ import annotations

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from backproof.errors import ParseError, ProgramError
from backproof.graph import build_graph
from backproof.parse import normalize, parse_expression, parse_program, parse_statements, parse_values
from backproof.program import Program

R = lambda n: sp.Symbol(n, real=True)  # noqa: E731


@pytest.mark.parametrize("source, output, inputs, expanded", [
    ("d = a + b; e = b - c; y = d*e", "y", ("a", "b", "c"), "(a + b)*(b - c)"),
    ("y = (a+b)*(b-c)", "y", ("a", "b", "c"), "(a + b)*(b - c)"),
    ("a1 = w1*x + b1\na2 = w2*a1 + b2\nJ = (a2 - y)**2/2", "J", ("b1", "w1", "x", "b2", "w2", "y"),
     "(b2 + w2*(b1 + w1*x) - y)**2/2"),
    ("y = x^2", "y", ("x",), "x**2"),
    ("y = 2.5e-1 * x", "y", ("x",), "x/4"),
    ("y = −x × 3 · z", "y", ("x", "z"), "-3*x*z"),
    ("y = α*β", "y", ("alpha", "beta"), "alpha*beta"),
    ("y = σ(z) + sigma(z)", "y", ("z",), "2*sigmoid(z)"),
    ("y = ln(x) - log(x)", "y", ("x",), "0"),
    ("y = exp(1) + e + pi*x", "y", ("x",), "pi*x + 2*E"),
    ("y = max(a, b) + min(a, b) + abs(a) + relu(b) + softplus(a) + sqrt(b) + tanh(a)", "y", ("a", "b"),
     "Max(a, b) + Min(a, b) + Abs(a) + relu(b) + softplus(a) + sqrt(b) + tanh(a)"),
    ("y = sin(x) + cos(x) + tan(x)", "y", ("x",), "sin(x) + cos(x) + tan(x)"),
    ("y = a; z = y * 2  # comment with ½ and ∂", "z", ("a",), "2*a"),
    ("(a + b) * c", "f", ("a", "b", "c"), "c*(a + b)"),
    ("y = x * -1", "y", ("x",), "-x"),
    ("y = x * 2**step(0.5)", "y", ("x",), "2*x"),
    ("x1 = 1\ny = x1 + q", "y", ("q",), "q + 1"),
], ids=["seed-fork", "seed-inline", "seed-two-layer", "caret-power", "scientific", "unicode-ops",
        "greek", "sigma-alias", "ln-alias", "constants", "functions", "trig", "comment", "bare-expr",
        "times-minus-one", "step-exponent", "constant-statement"])
def test_valid_programs(source, output, inputs, expanded):
    prog = parse_program(source)
    assert prog.output == output
    assert prog.inputs == inputs
    got = prog.expanded()[output]
    want = sp.sympify(expanded, locals={n: R(n) for n in inputs} | {
        "sigmoid": __import__("backproof.functions", fromlist=["sigmoid"]).sigmoid,
        "relu": __import__("backproof.functions", fromlist=["relu"]).relu,
        "softplus": __import__("backproof.functions", fromlist=["softplus"]).softplus})
    assert sp.simplify(got - want) == 0


def test_number_literals_are_exact():
    assert parse_expression("0.1") == sp.Rational(1, 10)
    assert parse_expression("1e-3") == sp.Rational(1, 1000)
    assert parse_expression("2") == 2


def test_the_structure_written_survives():
    """`a + a` stays two edges into one + node; `b - c` stays a subtraction."""
    g = build_graph(parse_program("b2 = a + a"))
    assert [(u, v, k) for u, v, k in g.edges(keys=True) if u == "a"] == [("a", "b2:add1", 0), ("a", "b2:add1", 1)]
    g = build_graph(parse_program("y = b - c"))
    assert g.nodes["y:sub1"]["op"] == "sub"


@pytest.mark.parametrize("source, message, line, col", [
    ("y = a.b", "attribute access", 1, 5),
    ('y = __import__("os")', "unknown function '__import__'", 1, 5),
    ("y = open('f')", "unknown function 'open'", 1, 5),
    ("y = x\nx = 2", "'x' is used before it is assigned", 1, 5),
    ("a = b + 1; b = a + 1", "cycle: a -> b -> a", 1, 5),
    ("y = y + 1", "used in its own definition", 1, 5),
    ("pi = 3", "cannot assign to 'pi': it is a constant", 1, 1),
    ("exp = 3", "cannot assign to 'exp': it is a function name", 1, 1),
    ("y = 1; y = y(2)", "unknown function 'y'", 1, 12),
    ("y = (a +", "was never closed", 1, 5),
    ("y = a +", "syntax error", 1, 8),
    ("y = 2**10**10", "exponent 10**10 must be a real number of at most 1000", 1, 5),
    ("y = 2**sqrt(-1)", "exponent sqrt(-1) must be a real number", 1, 5),
    ("y = é", "character 'é' is not allowed", 1, 5),
    ("y = max(a)", "max() takes at least 2 arguments, got 1", 1, 5),
    ("y = log(x, 1)", "base of log(x, base) must be a positive number other than 1", 1, 12),
    ("y = log(x, -2)", "base of log(x, base)", 1, 12),
    ("y = exp(x=1)", "takes no keyword arguments", 1, 9),
    ("y = exp + 1", "'exp' is a function; call it like exp(x)", 1, 5),
    ("y = e + 1; e = 2", "use exp(1) for it", 1, 5),
    ("y = a if b else c", "conditional expression", 1, 5),
    ("y = [a, b]", "list", 1, 5),
    ("y = a % b", "modulo (%)", 1, 5),
    ("y = a < b", "comparison", 1, 5),
    ("y = 'text'", "str literal", 1, 5),
    ("y = True", "bool literal", 1, 5),
    ("y += 1", "which is not assigned before this line", 1, 1),
    ("y = 1; y //= 2", "floor division", 1, 8),
    ("y = a.b()", "unknown method '.b()'", 1, 5),
    ("y = a.relu(2)", ".relu() takes no arguments", 1, 5),
    ("y = a.backward()", "unknown method", 1, 5),
    ("y = a\ny.backward()\nz = 1", "only as the last statement", 2, 1),
    ("y = a\nq.backward()", "'q' is not assigned", 2, 1),
    ("import os", "import", 1, 1),
    ("a = b = 1", "exactly one name on the left", 1, 1),
    ("y = a\nb + 1\nz = 2", "only as the last statement", 2, 1),
    ("", "empty", 1, 1),
    ("x = 1\n  y = 2", "unexpected indent", 2, None),
    ("y = lambda: 1", "lambda", 1, 5),
    ("y = f(x)(z)", "only named functions can be called", 1, 5),
    ("y = α·b +", "syntax error", 1, 10),
], ids=lambda v: str(v)[:30] if isinstance(v, str) else None)
def test_rejections_name_the_construct_and_position(source, message, line, col):
    with pytest.raises(ParseError) as info:
        parse_program(source)
    err = info.value
    assert message in str(err)
    assert err.line == line
    if col is None:  # CPython decides where an indentation error points
        return
    assert err.col == col
    if source:
        caret = err.caret()
        assert caret.splitlines()[-1].index("^") == col - 1 + 2  # two spaces of indent


def test_columns_map_back_through_unicode():
    """`α` becomes `alpha` internally; the column reported is the one the user typed."""
    with pytest.raises(ParseError) as info:
        parse_program("y = α + β.x")
    assert info.value.col == 9  # the β of `β.x`
    assert normalize("α^2").text == "alpha**2"


@pytest.mark.parametrize("text, expected", [
    ("a=2,b=1,c=0", {"a": 2, "b": 1, "c": 0}),
    ("a = -0.5, b=1e3", {"a": sp.Rational(-1, 2), "b": 1000}),
    ("w=pi/2", {"w": sp.pi / 2}),
    ("α=1", {"alpha": 1}),
], ids=["ints", "signed-scientific", "constant", "greek"])
def test_parse_values(text, expected):
    assert parse_values(text) == expected


@pytest.mark.parametrize("text, message", [
    ("a", "expected NAME=VALUE"),
    ("a=2,a=3", "given twice"),
    ("a=x", "must be a number"),
    ("a=", "value of 'a'"),
    ("1a=2", "is not a name"),
    ("a=log(0)", "finite real"),
])
def test_parse_values_errors(text, message):
    with pytest.raises(ParseError, match=message.replace("(", r"\(")):
        parse_values(text)


# --- property: programs print back and re-parse to the same graph -------------------

_names = st.sampled_from(["a", "b", "c", "x1", "w_2"])
_numbers = st.sampled_from(["2", "0.5", "3", "1e-2", "10"])
_unary = st.sampled_from(["exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid", "relu", "abs", "softplus"])
_binary_fn = st.sampled_from(["max", "min"])
_binops = st.sampled_from(["+", "-", "*", "/", "**", "^"])


def _exprs():
    leaves = st.one_of(_names, _numbers)

    def extend(children):
        return st.one_of(
            st.tuples(children, _binops, children).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            st.tuples(_unary, children).map(lambda t: f"{t[0]}({t[1]})"),
            st.tuples(_binary_fn, children, children).map(lambda t: f"{t[0]}({t[1]}, {t[2]})"),
            children.map(lambda c: f"-{c}"),
        )
    return st.recursive(leaves, extend, max_leaves=8)


def _signature(g):
    nodes = sorted((n, d["kind"], d["op"], d["label"]) for n, d in g.nodes(data=True))
    edges = sorted(g.edges(keys=True))
    return nodes, edges


@settings(max_examples=200)
@given(st.lists(_exprs(), min_size=1, max_size=3))
def test_print_and_reparse_gives_the_same_graph(exprs):
    source = "\n".join(f"v{i} = {e}" + (f" + v{i - 1}" if i else "") for i, e in enumerate(exprs))
    prog = parse_program(source)
    again = parse_program(str(prog))
    assert _signature(build_graph(prog)) == _signature(build_graph(again))


# --- issue 10: the front layer has no cycle ------------------------------------------------------

def _backproof_imports(module: str) -> set[tuple[str, str]]:
    """(module, name) pairs a backproof module imports, module level and function level alike."""
    import ast
    import importlib.util
    from pathlib import Path
    tree = ast.parse(Path(importlib.util.find_spec(module).origin).read_text(encoding="utf-8"))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            out |= {(node.module or "", alias.name) for alias in node.names}
    return out


def test_finding_parse_program_cycle():
    """program.py no longer imports the parser (the parser builds Programs): no cycle
    parse <-> program, and Program.from_sympy refuses text with one line saying where it goes."""
    assert not any(mod == "parse" for mod, _ in _backproof_imports("backproof.program"))
    assert ("program", "Program") in _backproof_imports("backproof.parse")
    with pytest.raises(ProgramError) as exc:
        Program.from_sympy({"d": "a + b"})
    assert "parse_statements" in str(exc.value) and "'d'" in str(exc.value)
    # The parser reads the same pairs, text and SymPy alike, into the program parse_program gives.
    pairs = {"d": "a + b", "e": R("b") - R("c"), "y": "d*e"}
    assert parse_statements(pairs).expanded() == parse_program("d = a + b; e = b - c; y = d*e").expanded()


def test_finding_parse_imports_no_private_name():
    """graph.py used parse._call; nothing imports a private name of the parser now."""
    assert not any(name.startswith("_") for mod, name in _backproof_imports("backproof.graph"))
    assert not any(name.startswith("_") for mod, name in _backproof_imports("backproof.report.common"))


@pytest.mark.parametrize("source, exponent", [
    ("y = x**(400*atan(1))", sp.pi * 100),
    ("y = x**(2000*leaky_relu(0.25))", sp.Integer(500)),
    ("y = x**(400*tan(0.7))", 400 * sp.tan(sp.Rational(7, 10))),
], ids=["atan", "leaky_relu", "tan"])
def test_finding_size_estimates_read_the_op_rows(source, exponent):
    """The parser's float64 estimate of a constant evaluated a hand-written list of functions,
    so a constant exponent through a newer row (atan, leaky_relu) was refused at 4000 or 20000
    when its value is 314 or 500; it now evaluates every function by its row's NumPy forward."""
    y = parse_program(source).statement("y").expr
    assert sp.simplify(y.exp - exponent) == 0  # the exponent itself is kept exactly


@pytest.mark.parametrize("source", ["y = x**(2000*atan(1))", "y = x**(8000*leaky_relu(0.25))"])
def test_size_estimates_still_refuse_large_exponents(source):
    with pytest.raises(ParseError, match="power_exponent = 1000"):
        parse_program(source)


def _exponent_segment(text: str) -> str:
    """The oracle: ``ast.get_source_segment`` of the first power's exponent in ``text``."""
    import ast

    power = next(n for n in ast.walk(ast.parse(text)) if isinstance(n, ast.BinOp) and isinstance(n.op, ast.Pow))
    return ast.get_source_segment(text, power.right)


@pytest.mark.parametrize("source", [
    "y = x**(1000 +\n 1)",
    "y = x**(1000\r\n + 1)",
    "a = 2\r\nb = 3\ry = x**(\n1000\n\n+ 1)",
    "a = 2\n\x0cy = x**(999 + 2)",
    "a = 2; b = 3; y = a*x**(1e400)",
    "a = 2\nb = 3\ny = x**(500*4)",
], ids=["lf", "crlf", "mixed-ends", "form-feed", "one-line", "last-line"])
def test_finding_parse_segments_sliced_from_lines_split_once(source, monkeypatch):
    """``parse_program`` called ``ast.get_source_segment`` on the whole text once per number
    literal, which splits every line again: 6,250 statements took 22.8 s (issue 13). The
    segments are now sliced from lines split once; the messages quote what ``ast`` would."""
    import ast

    expected = _exponent_segment(source)
    calls = []
    monkeypatch.setattr(ast, "get_source_segment", lambda *a, **k: calls.append(a) or "?")
    with pytest.raises(ParseError, match="power_exponent = 1000") as exc:
        parse_program(source)
    assert f"constant exponent {expected} must be" in str(exc.value)
    assert calls == []  # no call splits the whole text any more


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["0.1", "2", "1_000", "3.25e-2", "7E3", "0.000_5"]),
                          st.sampled_from(["\n", "\r\n", "\r", "; "])), min_size=1, max_size=12),
       st.booleans())
def test_number_literals_exact_across_line_ends(literals, wrap):
    """Every literal is read exactly (``0.1`` is 1/10) whatever the line ends and wrapping."""
    parts = []
    for i, (lit, end) in enumerate(literals):
        value = f"(\n{lit}\n)" if wrap else lit
        parts.append(f"v{i} = α*{value}{end}")
    program = parse_program("".join(parts))
    for i, (lit, _) in enumerate(literals):
        expr = program.statement(f"v{i}").expr
        (alpha,) = expr.free_symbols
        assert alpha.name == "alpha"
        assert expr.doit() == alpha * sp.Rational(lit.replace("_", ""))


@pytest.mark.parametrize("enabled", [True, False])
@pytest.mark.parametrize("source", ["d = a + b; y = d*0.5", "y = x**1001", "y = "])
def test_parse_leaves_the_garbage_collector_as_it_found_it(source, enabled):
    """The parse pauses cyclic collection (issue 13: it made parsing grow as n^1.14) and
    restores the caller's setting, after a result and after an error alike."""
    import gc

    was = gc.isenabled()
    try:
        gc.enable() if enabled else gc.disable()
        try:
            parse_program(source)
        except ParseError:
            pass
        assert gc.isenabled() is enabled
    finally:
        gc.enable() if was else gc.disable()
