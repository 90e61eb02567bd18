"""Homework feedback: one document printed by the shared printers (text, Markdown, LaTeX, HTML),
notation that teaches, and equality chains that never repeat a term (issue 11, findings 1, 2, 3,
4, 7 and 8 for the check reports).

The HTML page is checked twice: as text (no URL, a content-security policy that forbids every
fetch, the maths is SymPy's presentation MathML of the document's terms) and in headless
Chromium (no network request at all, ``<math>`` elements laid out as maths, a screenshot that
is not blank). The LaTeX of every example compiles with pdflatex.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest
import sympy as sp
from sympy.printing.mathml import mathml as sympy_mathml

from backproof.check import MISTAKE_NAMES, Problem, diagnose, parse_answers
from backproof.check.answers import load_check
from backproof.check.diagnose import check
from backproof.check.quantities import Quantity
from backproof.check.report import (
    derivation_equations,
    feedback_document,
    render_html,
    render_latex,
    render_markdown,
    render_text,
)
from backproof.report.document import Bullets, Equations, Math, Paragraph, Table
from backproof.report.html import chain, mathml
from backproof.report.notation import Local, term_text
from tools import compile_latex, image_not_blank, open_html, pdf_page_not_blank

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "homework"
PATHS = sorted(EXAMPLES.glob("*.yaml"))

# The two-layer example of the README, with the student who forgot the ½ of the loss.
HALF_PROGRAM = "a1 = w1*x + b1\na2 = w2*a1 + b2\nJ = 0.5*(a2 - y)**2"
HALF_AT = "x=1,y=5,w1=2,b1=0,w2=3,b2=1"


def _forgot_half():
    p = Problem(HALF_PROGRAM, at=HALF_AT, learning_rate=0.1)
    return diagnose(p, parse_answers(p, {"a2": 7, "dJ/da2": 4, "dJ/dw2": 8}))


def _results():
    return [(path, check(load_check(path))) for path in PATHS]


def _chain_terms(formula: str) -> list[str]:
    """The terms of an equality chain ``a = b = c; local = …``, the locals left off."""
    return formula.split("; ")[0].split(" = ")


def _assert_no_repeated_term(chain: list[str], where: str) -> None:
    for left, right in itertools.pairwise(chain):
        assert left != right, f"{where}: the term {left!r} is written twice in a row: {' = '.join(chain)}"


def _chains(doc):
    """Every chain of terms of a document (inline maths and derivation lines), with the block's kind."""
    def runs(inlines):
        return [r.terms for r in inlines if isinstance(r, Math)]
    for block in doc.blocks:
        if isinstance(block, Paragraph):
            yield from runs(block.runs)
        elif isinstance(block, Bullets):
            for item in block.items:
                yield from runs(item)
        elif isinstance(block, Table):
            for row in block.rows:
                for cell in row:
                    yield from runs(cell)
        elif isinstance(block, Equations):
            for eq in block.lines:
                yield eq.terms
                if eq.aside:
                    yield eq.aside


def _formats(result) -> dict[str, str]:
    return {"text": render_text(result), "md": render_markdown(result), "tex": render_latex(result),
            "html": render_html(result)}


def test_finding_homework_feedback_repeats_no_term():
    result = _forgot_half()
    item = {i.name: i for i in result.items}["dJ/da2"]
    assert item.verdict == "incorrect" and item.diagnosis.mistake == "loss_half_factor"
    # The oracle: sympy.diff of the loss, at a2 = w2*a1 + b2 = 7 and y = 5.
    a2, y = sp.symbols("a2 y")
    truth = sp.diff(sp.Rational(1, 2) * (a2 - y) ** 2, a2).subs({a2: 7, y: 5})
    chain = _chain_terms(item.formula)
    _assert_no_repeated_term(chain, "dJ/da2")
    assert chain[0] == "∂J/∂a2" and chain[-1] == str(truth) == "2"
    assert "a2 - y" in chain  # the local derivative itself, written once
    for text in _formats(result).values():
        assert "∂J/∂a2 = ∂J/∂a2" not in text and "= 2 = 2" not in text
    # Symbols = numbers = value, term for term: a2 - y = 7 - 5 = 2.
    assert "Expected: ∂J/∂a2 = a2 - y = 7 - 5 = 2" in render_text(result)


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_no_equality_chain_repeats_a_term_in_the_examples(path):
    result = check(load_check(path))
    for item in result.items:
        for formula in (item.formula, item.carried_formula):
            if formula:
                _assert_no_repeated_term(_chain_terms(formula), f"{path.name} {item.name}")
    chains = list(_chains(feedback_document(result)))
    assert chains or result.all_correct
    for terms in chains:
        _assert_no_repeated_term([term_text(t) for t in terms], f"{path.name}")


def test_finding_negative_factor_keeps_parentheses_in_check_feedback():
    # ∂J/∂a = ∂J/∂b · ∂b/∂a = 2 · (−2): the negative local factor c = −2 keeps its parentheses.
    p = Problem("a = w*x\nb = a*c\nJ = 2*b", at="w=3,x=2,c=-2")
    result = diagnose(p, parse_answers(p, {"dJ/da": 4}))
    # The oracle: d(2·a·c)/da at c = -2.
    a, c = sp.symbols("a c")
    value = sp.diff(2 * a * c, a).subs(c, -2)
    assert value == -4
    assert r"2 \cdot \left(-2\right) = -4" in render_markdown(result)
    for text in (render_markdown(result), render_latex(result)):
        assert r"\cdot -" not in text
    page = render_html(result)
    assert re.search(r'<mn>2</mn><mo>(·|&#183;|&#xB7;)</mo><mrow><mo stretchy="false">\(</mo>'
                     r'<mn>(−|&#8722;)2</mn><mo stretchy="false">\)</mo></mrow>', page)
    assert "∂J/∂a = ∂J/∂b · ∂b/∂a = 2 · (-2) = -4" in render_text(result)
    # The plain-text formula of the JSON too: 2·(-2), not 2·-2.
    item = {i.name: i for i in result.items}["dJ/da"]
    assert item.formula.startswith(f"∂J/∂a = ∂J/∂b·∂b/∂a = 2·(-2) = {value}")


def test_finding_check_html_loads_nothing():
    result = check(load_check(EXAMPLES / "seed.yaml"))
    page = render_html(result)
    assert "mathjax" not in page.lower()
    no_ns = page.replace('xmlns="http://www.w3.org/1998/Math/MathML"', "")
    assert not re.search(r"(https?:|//[a-z])", no_ns, re.IGNORECASE), "no URL of any kind"
    assert "<link" not in page and " src=" not in page
    # The shared printer's policy: nothing may be fetched (its one inline script only highlights
    # a diagram's nodes, and needs no fetch).
    csp = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)">', page)
    assert csp and "default-src 'none'" in csp.group(1).replace("&#x27;", "'")
    assert "\\[" not in page and "\\frac" not in page  # no LaTeX left for a script to typeset
    with pytest.raises(TypeError):
        render_html(result, mathjax=False)  # type: ignore[call-arg]  # the option is gone


def test_html_maths_is_sympys_mathml_of_the_steps():
    """Every derivation line is a <math> element of the shared printer (SymPy's presentation MathML)."""
    result = check(load_check(EXAMPLES / "seed.yaml"))
    page = render_html(result)
    wrong = [i for i in result.items if i.verdict in ("incorrect", "missing") and not i.symbolic]
    lines = [eq for i in wrong for part in derivation_equations(result.problem, i.quantity) for eq in part]
    assert lines and all(chain(eq.terms) in page for eq in lines)
    # ∂u₂/∂a1 = w2: the local derivative's expression, w₂ as the notation's MathML printer writes it.
    assert any(eq.tag == "product rule" and "w2" in [term_text(t) for t in eq.terms] for eq in lines)
    assert "<msub><mi>w</mi><mn>2</mn></msub>" in page
    # The terms are SymPy expressions printed by SymPy's presentation printer (a plain symbol alike).
    assert sympy_mathml(sp.Symbol("x"), printer="presentation") in mathml((sp.Symbol("x"),))
    # A value step prints the statement through the same printer, with a minus sign (not a hyphen).
    p = Problem(HALF_PROGRAM, at=HALF_AT)
    value_lines, _ = derivation_equations(p, Quantity("value", "J"))
    assert any("<mo>−</mo>" in mathml(eq.terms) for eq in value_lines)


def test_finding_check_local_derivative_is_the_gates_own_partial():
    """No local partial in any feedback is written with the differentiated name's own symbol:
    ∂J/∂a is the whole gradient, so J's own partial is written on its expression (∂(a·b)/∂a)."""
    p = Problem("b = a*a\nJ = a*b", at="a=3")
    result = diagnose(p, parse_answers(p, {"dJ/da": 5}))
    text = render_text(result)
    # The oracle: sympy.diff of J = a·a² = a³ at a = 3.
    a = sp.Symbol("a")
    assert sp.diff(a ** 3, a).subs(a, 3) == 27
    assert "Expected: ∂J/∂a = ∂J/∂b · ∂b/∂a + ∂(a · b)/∂a = 3 · 6 + 9 = 27" in text
    for path, res in [*_results(), (Path("fork"), result)]:
        out = sp.Symbol(res.problem.output)
        for terms in _chains(feedback_document(res)):
            for t in terms:
                for local in sp.Tuple(t).atoms(Local):
                    assert local.args[0] != out, f"{path.name}: {term_text(local)} uses the output's symbol"


def test_finding_check_feedback_writes_derivatives_in_names():
    """σ′ in the names the student has (a2·(1 − a2)), symbols = numbers = value term for term, and
    unnamed parts of a statement get the derivation's short names, each defined before use."""
    result = check(load_check(EXAMPLES / "mistake-loss-half-factor.yaml"))
    text = render_text(result)
    assert "where ∂a2/∂z2 = a2 · (1 - a2) = 0.64794 · (1 - 0.64794) = 0.228114" in text
    assert "sigmoid(z2)" not in text
    a2 = 0.64794  # the oracle: σ′(z) = σ(z)(1 − σ(z)) at σ(z2) = a2
    assert abs(a2 * (1 - a2) - 0.228114) < 1e-6
    u3, u4 = text.index("u₃ = a2 - y   (short name)"), text.index("u₄ = u₃²   (short name)")
    assert u3 < u4 < text.index("∂u₄/∂u₃ = 2 · u₃")
    assert "((a2 - y)" not in text and "∂J/∂(" not in text.replace("∂J/∂(u", "")


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_finding_check_outputs_have_no_python_powers_and_no_mistake_codes(path):
    result = check(load_check(path))
    for fmt, text in _formats(result).items():
        assert "**" not in text, f"{path.name} {fmt}: a Python power (or Markdown bold) is printed"
        assert not re.search(r"1 \\frac", text), f"{path.name} {fmt}"
        for code in MISTAKE_NAMES:
            assert code not in text, f"{path.name} {fmt}: the mistake code {code} reaches the student"
    # The codes stay in the JSON (data for scripts and the grade sheets).
    from backproof.check.report import render_json
    mistakes = {i.diagnosis.mistake for i in result.items if i.diagnosis and i.diagnosis.mistake}
    assert all(f'"mistake": "{m}"' in render_json(result) for m in mistakes)


def test_finding_counts_are_pluralised():
    result = check(load_check(EXAMPLES / "seed.yaml"))
    text = render_text(result)
    assert "Score: 12/13 (10 correct, 2 carried errors, 1 incorrect)." in text
    assert "carried error," not in text and "1 incorrect" in text


def _open_feedback(browser, tmp_path, result):
    page, requests = open_html(browser, render_html(result), tmp_path, name="feedback.html")
    return page, requests


def test_check_html_in_a_browser_makes_no_request_and_shows_mathml(browser, tmp_path):
    result = check(load_check(EXAMPLES / "seed.yaml"))
    page, requests = _open_feedback(browser, tmp_path, result)
    try:
        assert requests == []
        maths = page.locator("math")
        assert maths.count() >= 5
        # Laid out as maths: a line with a fraction is taller than a line of body text.
        text_height = page.locator("h3").first.bounding_box()["height"]
        heights = [maths.nth(k).bounding_box()["height"] for k in range(maths.count())]
        assert max(heights) > 1.3 * text_height
        assert page.locator("mfrac").count() >= 5
        visible = page.inner_text("body")
        assert "\\frac" not in visible and "\\partial" not in visible
        shot = page.screenshot(full_page=True)
        (tmp_path / "feedback.png").write_bytes(shot)  # kept in tmp_path for a look when a test fails
        assert image_not_blank(shot)
    finally:
        page.close()


def test_forgot_half_page_in_a_browser(browser, tmp_path):
    page, requests = _open_feedback(browser, tmp_path, _forgot_half())
    try:
        assert requests == []
        assert page.locator("math").count() >= 1
        expected = page.locator("li", has_text="Expected").first.locator("math")
        assert expected.count() == 1
        # ∂J/∂a2 = a2 − y = 7 − 5 = 2, as the browser holds it (MathML text, no spaces).
        assert "=a2−y=7−5=2" in expected.text_content()
        assert image_not_blank(page.screenshot(full_page=True))
    finally:
        page.close()


@pytest.mark.needs_tex
def test_check_feedback_latex_compiles(tmp_path):
    """The LaTeX feedback (``--format tex``) of every example is an article pdflatex compiles."""
    for path in PATHS:
        tex = render_latex(check(load_check(path)))
        assert tex.startswith("\\documentclass")
        pdf = compile_latex(tex, tmp_path / path.stem, name=path.stem)
        assert pdf_page_not_blank(pdf, tmp_path)


def test_finding_number_formatting_in_one_place():
    """The checker's reports and the cross-check format numbers with backproof.printing.format_number
    (or the notation's num): no private number-formatting helper is left (issue 11, finding 8)."""
    src = Path(__file__).resolve().parent.parent / "src" / "backproof"
    files = [*sorted((src / "check").glob("*.py")), src / "commands" / "crosscheck.py"]
    helpers = re.compile(r"def _(n|num|fmt|paren)\(|format\([^)]*\"\.\d+g\"\)|:\.\d+g\}")
    found = [f"{p.name}: {m.group(0)}" for p in files for m in helpers.finditer(p.read_text(encoding="utf-8"))]
    assert found == []


_TOKEN = re.compile(r"[A-Za-z_][A-Za-z_0-9]*|-?\d+(?:\.\d+)?(?:e-?\d+)?")


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_finding_symbols_and_numbers_correspond_term_for_term(path):
    """In every formula of the feedback that substitutes numbers, the numbers stand in the order of
    the symbols above them: ``w1 · x + b1 = 2 · 1 + 0``, never ``b1 + w1 · x = 2 · 1 + 0``."""
    from backproof.check.report import formula_terms
    from backproof.printing import format_number

    result = check(load_check(path))
    checked = 0
    for item in result.items:
        for fm in (item.steps, item.carried_steps):
            if fm is None or fm.kind not in ("value", "grad"):
                continue
            values = {k: format_number(v) for k, v in fm.values}
            chain, locals_ = formula_terms(fm)
            for terms in [chain, *locals_]:
                texts = [term_text(t) for t in terms]
                for sym, nums in itertools.pairwise(texts):
                    names = _TOKEN.findall(sym)
                    if "∂" in sym or not any(n in values for n in names) or not any(ch.isdigit() for ch in nums):
                        continue
                    if nums == texts[-1]:  # the value itself, not the substitution
                        continue
                    assert [values.get(n, n) for n in names] == _TOKEN.findall(nums), f"{path.name}: {texts}"
                    checked += 1
    assert checked or result.all_correct or all(i.symbolic for i in result.items)
