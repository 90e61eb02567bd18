"""The computational graph looks the way a student draws it, from text or from SymPy."""

from __future__ import annotations

from collections import Counter

import pytest
import sympy as sp

from backproof.graph import build_graph, decompose, node_label, to_tape, topological_order
from backproof.parse import parse_program
from backproof.program import Program

a, b, c, x = sp.symbols("a b c x")


def ops_of(g):
    return Counter(d["op"] for _, d in g.nodes(data=True) if d["kind"] == "op")


def test_seed_graph_has_one_node_per_shared_variable():
    g = build_graph(parse_program("y = (a+b)*(b-c)"))
    assert ops_of(g) == Counter({"add": 1, "sub": 1, "mul": 1})
    assert sorted(v for _, v in g.out_edges("b")) == ["y:add1", "y:sub1"]
    # edges are keyed by argument position
    assert sorted(g.in_edges("y:sub1", keys=True)) == [("b", "y:sub1", 0), ("c", "y:sub1", 1)]


def test_named_intermediates_are_nodes():
    g = build_graph(parse_program("d = a + b; e = b - c; y = d*e"))
    assert {n for n, d in g.nodes(data=True) if d["kind"] == "name"} == {"d", "e", "y"}
    assert node_label(g, "d:add1") == "d"  # an op producing a name is called by that name
    assert sorted(g.predecessors("y:mul1")) == ["d", "e"]


@pytest.mark.parametrize("expr, op, operands", [
    (b - c, "sub", [b, c]),
    (a / b, "div", [a, b]),
    (x / 2, "div", [x, 2]),
    (1 / b, "div", [1, b]),
    (-a, "neg", [a]),
    (a - b - c, "sub", None),
    (sp.sqrt(x), "sqrt", [x]),
    (sp.exp(x), "exp", [x]),
    (a**3, "pow", [a, 3]),
    (b**-2, "div", None),
    (sp.Max(a, b, c), "max", None),
], ids=["sub", "div", "div-const", "reciprocal", "neg", "sub-chain", "sqrt", "exp", "pow",
        "neg-power", "max3"])
def test_sympy_canonical_forms_are_read_back_into_gates(expr, op, operands):
    got_op, got_operands = decompose(expr)
    assert got_op == op
    if operands is not None:
        assert [sp.sympify(o) for o in got_operands] == [sp.sympify(o) for o in operands]


@pytest.mark.parametrize("text, sympy_expr", [
    ("y = (a+b)*(b-c)", (a + b) * (b - c)),
    ("y = a/b - c", a / b - c),
    ("y = exp(a)*sin(b)", sp.exp(a) * sp.sin(b)),
    ("y = (a - b)**2/2", (a - b)**2 / 2),
], ids=["seed", "div-sub", "funcs", "half-square"])
def test_text_and_sympy_give_the_same_gates(text, sympy_expr):
    g_text = build_graph(parse_program(text))
    g_sym = build_graph(Program.from_sympy(sympy_expr, name="y"))
    assert ops_of(g_text) == ops_of(g_sym)
    inputs = lambda g: sorted(n for n, d in g.nodes(data=True) if d["kind"] == "input")  # noqa: E731
    assert inputs(g_text) == inputs(g_sym)


def test_node_ids_are_deterministic():
    src = "d = a + b; e = b - c; y = d*e + d/e"
    one, two = build_graph(parse_program(src)), build_graph(parse_program(src))
    assert list(one.nodes) == list(two.nodes)
    assert topological_order(one) == topological_order(two)
    assert all(":" in n for n, d in one.nodes(data=True) if d["kind"] in ("op", "const"))


def test_only_what_the_output_needs_is_kept():
    prog = parse_program("d = a + b; e = c*2; y = d*d").with_output("y")
    g = build_graph(prog)
    assert "c" not in g and "e" not in g


def test_tape_is_plain_data_in_topological_order():
    tape = to_tape(build_graph(parse_program("y = 2*x + x")))
    seen = set()
    for e in tape.entries:
        assert all(o in seen for o in e.operands)
        assert e.value is None or isinstance(e.value, float)
        seen.add(e.id)
    assert tape.output == "y" and tape.inputs == ("x",)
