"""Homework feedback pages: self-contained HTML with MathML maths, and equality chains that never
repeat a term (issue 11, findings 2, 4 and 7 for the check reports).

The HTML page is checked twice: as text (no script, no URL, the content-security policy, the
MathML is SymPy's presentation MathML of the derivation's expressions) and in headless
Chromium (no network request at all, ``<math>`` elements laid out as maths, a screenshot that
is not blank).
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest
import sympy as sp
from sympy.printing.mathml import mathml

from backproof.check import Problem, diagnose, parse_answers
from backproof.check.answers import load_check
from backproof.check.diagnose import check
from backproof.check.quantities import Quantity
from backproof.check.report import (
    derivation_latex,
    derivation_mathml,
    render_html,
    render_markdown,
    render_text,
)
from tools import compile_latex, image_not_blank, open_html, pdf_page_not_blank

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "homework"

# The two-layer example of the README, with the student who forgot the ½ of the loss.
HALF_PROGRAM = "a1 = w1*x + b1\na2 = w2*a1 + b2\nJ = 0.5*(a2 - y)**2"
HALF_AT = "x=1,y=5,w1=2,b1=0,w2=3,b2=1"


def _forgot_half():
    p = Problem(HALF_PROGRAM, at=HALF_AT, learning_rate=0.1)
    return diagnose(p, parse_answers(p, {"a2": 7, "dJ/da2": 4, "dJ/dw2": 8}))


def _chain_terms(formula: str) -> list[str]:
    """The terms of an equality chain ``a = b = c   (note)``, the note left off."""
    return formula.split("   (")[0].split(" = ")


def _assert_no_repeated_term(chain: list[str], where: str) -> None:
    for left, right in itertools.pairwise(chain):
        assert left != right, f"{where}: the term {left!r} is written twice in a row: {' = '.join(chain)}"


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
    for text in (render_text(result), render_markdown(result), render_html(result)):
        assert "∂J/∂a2 = ∂J/∂a2" not in text and "= 2 = 2" not in text


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_no_equality_chain_repeats_a_term_in_the_examples(path):
    result = check(load_check(path))
    for item in result.items:
        for formula in (item.formula, item.carried_formula):
            if formula:
                _assert_no_repeated_term(_chain_terms(formula), f"{path.name} {item.name}")
        if item.verdict in ("incorrect", "missing") and not item.symbolic:
            for line in derivation_latex(result.problem, item.quantity):
                body = re.sub(r"\\quad\\text\{.*\}$", "", line).replace(r"\mathrel{+}=", "=")
                _assert_no_repeated_term(body.split(" = "), f"{path.name} {item.name} LaTeX")


def test_finding_negative_factor_keeps_parentheses_in_check_feedback():
    # ∂J/∂a = ∂J/∂b · ∂b/∂a = 2 · (−2): the negative local factor c = −2 keeps its parentheses.
    p = Problem("a = w*x\nb = a*c\nJ = 2*b", at="w=3,x=2,c=-2")
    result = diagnose(p, parse_answers(p, {"dJ/da": 4}))
    latex = " ".join(derivation_latex(p, Quantity("grad", "J", "a")))
    assert r"2 \cdot \left(-2\right) = -4" in latex and r"\cdot -" not in latex
    page = render_html(result)
    assert ('<mn>2</mn><mo>·</mo><mrow><mo stretchy="false">(</mo><mrow><mo>−</mo><mn>2</mn></mrow>'
            '<mo stretchy="false">)</mo></mrow>') in page
    # The plain-text formula too: 2 × (-2), not 2 × -2 (the oracle: d(2·a·c)/da at c = -2).
    item = {i.name: i for i in result.items}["dJ/da"]
    a, c = sp.symbols("a c")
    assert item.formula.startswith(f"∂J/∂a = ∂J/∂b·∂b/∂a = 2 × (-2) = {sp.diff(2 * a * c, a).subs(c, -2)}")


def test_finding_check_html_loads_nothing():
    result = check(load_check(EXAMPLES / "seed.yaml"))
    page = render_html(result)
    assert "<script" not in page.lower() and "mathjax" not in page.lower()
    assert not re.search(r"(https?:|//[a-z])", page, re.IGNORECASE), "no URL of any kind"
    assert "<link" not in page and " src=" not in page
    assert ('<meta http-equiv="Content-Security-Policy" content="default-src &#x27;none&#x27;; '
            "style-src &#x27;unsafe-inline&#x27;; img-src data:\">") in page
    assert "\\[" not in page and "\\frac" not in page  # no LaTeX left for a script to typeset
    with pytest.raises(TypeError):
        render_html(result, mathjax=False)  # type: ignore[call-arg]  # the option is gone


def test_html_maths_is_sympys_mathml_of_the_steps():
    """Every derivation line is a <math> element, built by SymPy's presentation printer."""
    result = check(load_check(EXAMPLES / "seed.yaml"))
    page = render_html(result)
    wrong = [i for i in result.items if i.verdict in ("incorrect", "missing") and not i.symbolic]
    lines = [m for i in wrong for m in derivation_mathml(result.problem, i.quantity)]
    assert lines and page.count('<math display="block">') == len(lines)
    assert all(line in page for line in lines)
    # ∂a2/∂a1 = w2: the local derivative's expression as SymPy's printer writes it.
    w2 = mathml(sp.Symbol("w2"), printer="presentation")
    assert any(w2 in line and "(product rule)" in line for line in lines)
    # A value step prints the statement through the same printer (a minus sign, not a hyphen).
    p = Problem(HALF_PROGRAM, at=HALF_AT)
    value_lines = derivation_mathml(p, Quantity("value", "J"))
    printed = mathml(sp.sympify("a2 - y"), printer="presentation", order="none").replace("<mo>-</mo>", "<mo>−</mo>")
    assert any(printed in line for line in value_lines)


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
        assert "∂J/∂a2 = a2 - y = 2" in page.inner_text("body")
        assert image_not_blank(page.screenshot(full_page=True))
    finally:
        page.close()


@pytest.mark.needs_tex
def test_check_feedback_latex_compiles(tmp_path):
    """The maths of every derivation line the Markdown feedback of the examples shows is LaTeX that
    pdflatex accepts. The rule names beside them are left out: some hold Unicode (σ′, −) that
    MathJax and GitHub typeset in ``\\text`` but pdflatex does not (the closed list of rule names
    of issue 11 is plain words)."""
    lines = []
    for path in sorted(EXAMPLES.glob("*.yaml")):
        result = check(load_check(path))
        for item in result.items:
            if item.verdict in ("incorrect", "missing") and not item.symbolic:
                lines += [re.sub(r"\\quad\\text\{.*\}$", "", line)
                          for line in derivation_latex(result.problem, item.quantity)]
    assert len(lines) > 20
    body = "\n".join(f"\\[{line}\\]" for line in lines)
    pdf = compile_latex("\\documentclass{article}\n\\usepackage{amsmath,amssymb}\n\\begin{document}\n"
                        f"{body}\n\\end{{document}}\n", tmp_path)
    assert pdf_page_not_blank(pdf, tmp_path)
