"""The checker's problem: derived once, statement tapes cut from the one graph, local partials as derive finds them."""

from __future__ import annotations

import math
import sys

import pytest
import sympy as sp

import backproof.derivation
import backproof.graph
from backproof.check import Problem, diagnose, parse_answers, report
from backproof.check.answers import load_check
from backproof.check.diagnose import check
from backproof.check.mistakes import (
    ActivationDerivativeMissing,
    ActivationInsteadOfDerivative,
    DerivativeAtOutput,
    ForkEdgeMissing,
)
from backproof.check.quantities import Evaluator, Quantity
from backproof.check.tapes import statement_tapes
from backproof.derivation import derive
from backproof.graph import build_graph, topological_order
from backproof.parse import parse_program
from backproof.program import Program, Statement

SEED = "a1 = w1*x + b1\na2 = w2*a1 + b2\nJ = 0.5*(a2 - y)**2"
SEED_AT = "x=1,y=5,w1=2,b1=0,w2=3,b2=1"


def _count_calls(monkeypatch, func) -> list:
    """Replace ``func`` wherever a backproof module holds it by name; return the call log."""
    calls: list = []

    def counting(*args, **kwargs):
        calls.append(args)
        return func(*args, **kwargs)

    for name, mod in list(sys.modules.items()):
        if name == "backproof" or name.startswith("backproof."):
            for attr, value in list(vars(mod).items()):
                if value is func:
                    monkeypatch.setattr(mod, attr, counting)
    return calls


def test_finding_check_derives_a_problem_once(tmp_path, monkeypatch):
    """`backproof check` on a three-statement problem: derive once, build the graph once."""
    f = tmp_path / "hw.yaml"
    f.write_text("problem:\n  program: |\n" + "".join(f"    {line}\n" for line in SEED.splitlines())
                 + "  at: {x: 1, y: 5, w1: 2, b1: 0, w2: 3, b2: 1}\n  learning_rate: 0.1\n"
                 "answers:\n  a1: 2\n  a2: 7\n  J: 2\n  dJ/da2: 2\n  dJ/dw2: 4\n  dJ/da1: 4\n"
                 "  dJ/dw1: 4\n  w1_new: 1.4\n  b1_new: -0.6\n", encoding="utf-8")
    derives = _count_calls(monkeypatch, backproof.derivation.derive)
    graphs = _count_calls(monkeypatch, backproof.graph.build_graph)
    result = check(load_check(f))
    report.render_markdown(result)
    assert len(result.problem.program.statements) == 3
    assert len(derives) == 1
    assert len(graphs) == 1
    # The counting wrappers really were in the path (the test can fail).
    assert [i.verdict for i in result.items][:2] == ["correct", "correct"]


@pytest.mark.parametrize("program", [
    SEED,
    "d = a + b; e = b - c; y = d*e",
    "u = x*x; v = u*x + sin(u); y = v/u - x",
    "s = sigmoid(w*x + b); y = s*s + log(s)",
    "a = w*x; b = 2*w; J = a**2 + w",          # b is not needed by J: its tape comes from its own graph
], ids=["seed", "fork", "shared-name", "sigmoid", "dead-statement"])
def test_statement_tapes_match_a_graph_of_each_statement_alone(program):
    """The slice of the one graph equals what a graph and a derivation of the statement alone give."""
    prog = parse_program(program)
    tapes = statement_tapes(prog, build_graph(prog))
    for st in prog.statements:
        single = Program((Statement(st.name, st.expr),), st.name)
        g = build_graph(single)
        tape = tapes[st.name]
        assert [e.id for e in tape.entries] == topological_order(g)
        assert [e.kind for e in tape.entries] == [g.nodes[n]["kind"] for n in topological_order(g)]
        d = derive(single, expand=False, verify=False)
        for n in tape.names_used:
            # Oracle: sympy.diff of the statement in its names, and derive of the statement alone.
            assert sp.simplify(tape.symbolic[n] - sp.diff(st.expr, sp.Symbol(n, real=True))) == 0
            assert tape.symbolic[n] == d.symbolic.get(n, sp.Integer(0))


def test_problem_truth_from_the_one_derivation_matches_derive_of_each_name():
    p = Problem(SEED, at=SEED_AT, learning_rate="0.1")
    for s in p.assigned:
        d = derive(p.program, SEED_AT, of=s, expand=False, verify=False)
        assert p.truth(p.resolve(s)) == d.values[s]
    r = diagnose(p, parse_answers(p, {"dJ/da1": "6", "da2/da1": "3"}))
    assert [i.verdict for i in r.items] == ["correct", "correct"]


def test_statement_forward_on_the_shared_engine_lets_nan_through():
    """A student's own numbers may lead outside a function's domain: the recomputation gives NaN, not an error."""
    from backproof.check.quantities import Evaluator, Quantity
    p = Problem("a = w*x; J = log(a)", at="w=1,x=2")
    ev = Evaluator(p, {Quantity("value", "a"): -1.0})
    assert math.isnan(ev.get(Quantity("value", "J")))
    # Oracle: the truth from the derivation, recomputed on the engine without the student's numbers.
    assert Evaluator(p, {}).get(Quantity("value", "J")) == pytest.approx(float(sp.log(2)), rel=1e-12)
    r = diagnose(p, parse_answers(p, {"a": "-1", "J": "0.5"}))
    assert [i.verdict for i in r.items] == ["incorrect", "incorrect"]


def test_statement_backward_on_the_shared_engine_uses_the_students_numbers_and_lets_inf_through():
    """∂J/∂a comes from the engine's reverse pass over J's statement, at the student's a."""
    p = Problem("a = w*x; J = sqrt(a)", at="w=2,x=2")
    # Hand-computed: ∂J/∂a = 1/(2√a), ∂J/∂w = x/(2√a); with the student's a = 9: 1/6 and 2/6.
    ev = Evaluator(p, {Quantity("value", "a"): 9.0})
    assert ev.get(Quantity("grad", "J", "a")) == pytest.approx(1 / 6, rel=1e-15)
    assert ev.get(Quantity("grad", "J", "w")) == pytest.approx(2 / 6, rel=1e-15)
    # At a = 0 the slope is infinite: the recomputation says so instead of raising.
    assert Evaluator(p, {Quantity("value", "a"): 0.0}).get(Quantity("grad", "J", "a")) == math.inf


def test_edge_mutations_change_one_edge_of_the_engines_reverse_pass():
    """The five mistakes that change one local derivative, against hand-computed numbers."""
    p = Problem("z = w*x; a = sigmoid(z); J = a*(a + 1)", at="w=0.5,x=2")
    sig = next(e.id for e in p.tapes["a"].entries if e.op == "sigmoid")
    add = next(e for e in p.tapes["J"].entries if e.op == "add")
    mul = next(e for e in p.tapes["J"].entries if e.op == "mul")

    def s(v):
        return 1 / (1 + math.exp(-v))

    a = s(1.0)                       # z = 0.5·2 = 1
    dj_da = 2 * a + 1                # J = a² + a
    cases = {
        None: dj_da * a * (1 - a),                                  # σ′(z) = σ(z)(1 − σ(z))
        ActivationDerivativeMissing("a", sig): dj_da * 1.0,         # σ′ taken as 1
        ActivationInsteadOfDerivative("a", sig): dj_da * a,         # σ(z) for σ′(z)
        DerivativeAtOutput("a", sig): dj_da * s(a) * (1 - s(a)),    # σ′(a) for σ′(z)
        # the use of a inside a + 1 left out: only the multiplication's a + 1 is left
        ForkEdgeMissing("J", "a", add.id, add.operands.index("a")): (a + 1) * a * (1 - a),
        # the use of a as the product's factor left out: only (the add's) a is left
        ForkEdgeMissing("J", "a", mul.id, mul.operands.index("a")): a * a * (1 - a),
    }
    for mutation, expected in cases.items():
        got = Evaluator(p, {}, mutation=mutation).get(Quantity("grad", "J", "z"))
        assert got == pytest.approx(expected, rel=1e-13), mutation


def test_truth_named_writes_a_gradient_in_the_programs_own_names():
    """What a student writes for ∂J/∂w1: a1·(1 − a1), not σ(w1·x + b1)·(1 − σ(w1·x + b1)); it must
    still be the same function as the gradient in the inputs (sympy.diff of the whole loss)."""
    p = Problem("z1 = w1*x + b1\na1 = sigmoid(z1)\nz2 = w2*a1 + b2\na2 = sigmoid(z2)\nJ = 0.5*(a2 - y)**2")
    a1, a2, w2, x, y = sp.symbols("a1 a2 w2 x y", real=True)
    named = p.truth_named(Quantity("grad", "J", "w1"))
    assert sp.expand(named - w2 * x * a1 * (1 - a1) * a2 * (1 - a2) * (a2 - y)) == 0
    w1, b1, b2 = sp.symbols("w1 b1 b2", real=True)

    def sig(z):
        return 1 / (1 + sp.exp(-z))
    s1 = sig(w1 * x + b1)
    s2 = sig(w2 * s1 + b2)
    loss = sp.Rational(1, 2) * (s2 - y) ** 2
    at = {w1: sp.Rational(3, 10), x: sp.Rational(1, 2), b1: sp.Rational(-1, 10), w2: sp.Rational(4, 5),
          b2: sp.Rational(1, 5), y: 1}
    inputs = named.xreplace({a2: s2, a1: s1})
    assert abs(float((inputs - sp.diff(loss, w1)).xreplace(at).evalf(30))) < 1e-25
