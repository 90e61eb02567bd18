"""Properties every write-up has, over hypothesis-generated programs (issue 11).

- A local derivative is the gate's own partial: never written with the output's symbol.
- A line's numbers stand in the order of its symbols: a chain line's factors are the upstream
  gradient and the local derivative, a sum's terms the path contributions, each as the step
  it names computed it.
- No ``**``, no ``1 \\frac``, no double superscript in any format.
- Every rule cited is from the closed list (``ops.RULE_NAMES``).
"""

from __future__ import annotations

import re
from dataclasses import replace

import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backproof import derive
from backproof.ops import RULE_NAMES
from backproof.printing import format_number
from backproof.report.derivation_doc import WriteupOptions, derivation_document
from backproof.report.document import Code, Equations
from backproof.report.html import print_html
from backproof.report.latex import print_latex
from backproof.report.markdown import print_markdown
from backproof.report.notation import Grad, Local, Via
from backproof.report.text import print_text
from backproof.steps import StepKind
from program_strategies import expressions

UNARY = ("sin", "cos", "tanh", "sigmoid", "exp", "-", "relu")
POINT = {"a": 0.7, "b": -1.3, "x": 0.4}


@st.composite
def programs(draw):
    names = ["a", "b", "x"]
    lines = []
    for i in range(draw(st.integers(1, 3))):
        lines.append(f"s{i} = {draw(expressions(tuple(names), UNARY))}")
        names.append(f"s{i}")
    return "\n".join(lines)


def _derivation(text: str):
    from backproof.parse import parse_program
    inputs = parse_program(text).inputs
    return derive(text, at={n: v for n, v in POINT.items() if n in inputs}, verify=False)


def _lines(doc):
    return [eq for b in doc.blocks if isinstance(b, Equations) for eq in b.lines]


def _atoms(expr, cls):
    return [a for a in sp.preorder_traversal(expr) if isinstance(a, cls)]


SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(programs(), st.booleans(), st.sampled_from(["leibniz", "delta", "cs231n"]))
def test_local_partials_never_use_the_output_symbol(text, compact, notation):
    d = _derivation(text)
    doc = derivation_document(d, options=WriteupOptions(compact=compact, notation=notation))
    out = sp.Symbol(d.output)
    for eq in _lines(doc):
        for term in eq.terms + eq.aside:
            for local in _atoms(term, Local):
                assert local.args[0] != out, (text, eq)


@SETTINGS
@given(programs())
def test_numbers_follow_the_symbols_term_for_term(text):
    d = _derivation(text)
    doc = derivation_document(d)
    steps = {s.index: s for s in d.steps}
    chain_value = {(s.target, s.via): s.value for s in d.steps if s.kind is StepKind.CHAIN}
    for eq in _lines(doc):
        s = steps[eq.index]
        if eq.kind == "chain":
            symbols, numbers = eq.terms[1], eq.terms[2]
            up, local = symbols.args
            assert isinstance(up, Grad) and isinstance(local, Local)
            # the upstream gradient's value, then the local derivative's, as in the symbols
            assert [n.text.strip("()") for n in numbers.args] == [format_number(f) for f in s.factors]
            assert format_number(s.factors[0]) == format_number(d.gradients[s.via]) or s.via not in d.gradients
        if eq.kind == "sum":
            vias, numbers = eq.terms[1], eq.terms[2]
            assert all(isinstance(v, Via) for v in vias.args)
            want = [format_number(chain_value[(s.target, t)]) for t in s.terms]
            assert [n.text.strip("()") for n in numbers.args] == want
            assert [v.args[1] for v in vias.args] == [doc_symbol for doc_symbol in
                                                       (_symbol_of(doc, d, t) for t in s.terms)]


def _symbol_of(doc, d, nid):
    from backproof.report.derivation_doc import Names
    return Names(d).of(nid)


FORBIDDEN = [("**", "Python's power operator"), ("1 \\frac", "a 1 before a fraction"),
             ("1 \\cdot \\frac{1}", "a 1 times a reciprocal")]
DOUBLE_SUPERSCRIPT = re.compile(r"\^\{[^{}]*\}\^|\^[0-9a-z]\^")


@SETTINGS
@given(programs(), st.booleans())
def test_no_python_syntax_or_broken_tex_in_any_format(text, compact):
    d = _derivation(text)
    doc = derivation_document(d, options=WriteupOptions(compact=compact))
    # The program block quotes the program as code (it may contain **); everything else is maths.
    doc = replace(doc, blocks=tuple(b for b in doc.blocks if not isinstance(b, Code)))
    outputs = {"text": print_text(doc), "md": print_markdown(doc), "tex": print_latex(doc),
               "html": print_html(doc)}
    for fmt, body in outputs.items():
        for bad, why in FORBIDDEN:
            assert bad not in body, (fmt, why, text)
        if fmt in ("md", "tex"):
            assert not DOUBLE_SUPERSCRIPT.search(body), (fmt, text)


@SETTINGS
@given(programs())
def test_every_rule_is_from_the_closed_list(text):
    d = _derivation(text)
    for s in d.steps:
        if s.kind in (StepKind.LOCAL, StepKind.CHAIN, StepKind.SUM):
            assert s.rule in RULE_NAMES, s.rule


def test_rules_a_calculus_text_uses():
    """2*x is the constant multiple rule, x/3 too, 1/x the reciprocal rule, 2**x exponential."""
    d = derive("y = 2*x + x/3 + 1/x + 2**x + x**3 + x*z", at={"x": 2, "z": 3}, verify=False)
    rules = {(s.via, s.target): s.rule for s in d.steps if s.kind is StepKind.LOCAL and s.target == "x"}
    by_gate = {d.label(via): rule for (via, _), rule in rules.items()}
    assert by_gate == {"2*x": "constant multiple rule", "x/3": "constant multiple rule",
                       "1/x": "reciprocal rule", "2**x": "exponential rule", "x**3": "power rule",
                       "x*z": "product rule"}


def test_constants_are_never_differentiated():
    d = derive("J = (1/2)*(a - y)**2", at={"a": 3, "y": 1}, verify=False)
    text = print_text(derivation_document(d))
    assert "∂J/∂(1/2)" not in text and "1/2)/∂" not in text
    assert all(d.graph.nodes[s.target]["kind"] != "const" and d.label(s.target) != "1/2"
               for s in d.steps if s.kind is not StepKind.RESULT)


def test_named_nodes_are_used_inside_derivatives():
    """tanh′ in the name the student gave (1 - h²), σ′ as p·(1 - p), unnamed gates as u₁, u₂."""
    d = derive("h = tanh(b + w*x)\np = sigmoid(v*h)\nJ = (p - t)**2", at={"b": 0.1, "w": 0.5, "x": 2,
                                                                         "v": 1.5, "t": 1}, verify=False)
    text = print_text(derivation_document(d))
    assert "∂h/∂u₂ = 1 - h²" in text
    assert "∂p/∂u₃ = p · (1 - p)" in text or "∂p/∂u₃ = (1 - p) · p" in text
    assert "tanh(b + w" not in text.split("Gradients")[0].split("Backward pass")[1]


def test_upstream_and_local_have_distinct_symbols_for_a_square():
    """y = x*x: the two local partials (x and x) and the total (2x = 6) never share a symbol."""
    d = derive("y = x*x", at={"x": 3}, verify=False)
    text = print_text(derivation_document(d))
    assert "∂(x · x)/∂x₍₁₎ = x = 3" in text and "∂(x · x)/∂x₍₂₎ = x = 3" in text
    assert "∂y/∂x = ∂y/∂x|via y + ∂y/∂x|via y = 3 + 3 = 6" in text
