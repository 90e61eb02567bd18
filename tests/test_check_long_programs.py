"""Homework checks of long programs stay bounded (issue 12, "bounded time and memory").

A chain of ``tanh`` statements written out in the inputs shares its subexpressions: each
statement's derivative uses the one before twice, so evaluating the formula as a tree doubles
with every statement. A wrong symbolic answer on a 20-statement chain once never finished
(sympy.N and sympy.cse on the written-out truth); past the derivation's size limit the truth
raised an internal KeyError.
"""

from __future__ import annotations

import math

import sympy as sp

from backproof.check import Problem, diagnose, parse_answers
from backproof.check.compare import value_at
from backproof.check.quantities import Quantity


def chain(n: int) -> str:
    lines = ["v0 = tanh(w*x)"] + [f"v{i} = tanh(w*v{i - 1} + {i % 3 + 1}*x)" for i in range(1, n)]
    return "\n".join(lines)


def chain_by_hand(n: int, w: float, x: float) -> list[float]:
    """The chain's values in plain Python: the oracle."""
    v = [math.tanh(w * x)]
    for i in range(1, n):
        v.append(math.tanh(w * v[-1] + (i % 3 + 1) * x))
    return v


def test_value_at_a_written_out_chain_is_the_plain_computation():
    """The local derivative ∂v19/∂v18 = w·(1 − v19²), written out in the inputs (a formula whose
    tree has about a million nodes), evaluated by value_at at w = 1/3, x = 2/7."""
    p = Problem(chain(20))
    truth = p.truth_symbolic(Quantity("grad", "v19", "v18"))
    w, x = sp.Symbol("w", real=True), sp.Symbol("x", real=True)
    got = value_at(truth, {w: sp.Rational(1, 3), x: sp.Rational(2, 7)})
    v = chain_by_hand(20, 1 / 3, 2 / 7)
    want = (1 / 3) * (1 - v[19] ** 2)
    assert got is not None and abs(got.real - want) <= 1e-12 * abs(want)


def test_a_wrong_formula_on_a_long_chain_is_named_not_hung():
    """w for ∂v19/∂v18 = w·(1 − v19²): the derivative of tanh left out, named as such."""
    p = Problem(chain(20))
    item = diagnose(p, parse_answers(p, {"dv19/dv18": "w"})).items[0]
    assert item.verdict == "incorrect"
    assert item.diagnosis.mistake == "activation_derivative_missing", item.diagnosis.explanation


def test_a_formula_past_the_size_limit_is_undecided_with_a_reason():
    """60 statements: the truth in the inputs is past the derivation's size limit; the answer is
    undecided and says what to do, never an internal error."""
    p = Problem(chain(60))
    item = diagnose(p, parse_answers(p, {"dv59/dv50": "w"})).items[0]
    assert item.verdict == "undecided"
    assert "too large to compare symbolically" in item.diagnosis.explanation
    assert "answer it with a number" in item.diagnosis.explanation


def test_a_long_expected_formula_stays_out_of_the_verdict_table():
    """Mazur's ∂E_total/∂w1 in the spec's names is over a hundred characters: in the table it
    would push the verdict column out of sight (the HTML table scrolls), so the table says
    "below" (a wrong answer) or "as yours" (a right one); the formula is written out under
    "What to look at"."""
    from pathlib import Path

    from backproof.check import report
    from backproof.check.answers import command_line_network_check
    from backproof.check.diagnose import check
    from backproof.report.text import print_text

    spec = Path(__file__).resolve().parent.parent / "examples" / "mazur.yaml"
    right = "out_h1*out_o1*(1 - out_o1)*(out_o1 - target_o1)"
    result = check(command_line_network_check(str(spec), None, [f"dE_total/dw5={right}", "dE_total/dw1=i1*out_h1"]))
    doc = report.feedback_document(result)
    table = next(b for b in doc.blocks if type(b).__name__ == "Table")
    cells = {row[1][0].text: row[3][0] for row in table.rows}
    assert type(cells["dE_total/dw5"]).__name__ == "Text" and cells["dE_total/dw5"].text == "as yours"
    assert type(cells["dE_total/dw1"]).__name__ == "Text" and cells["dE_total/dw1"].text == "below"
    assert "Expected: ∂E_total/∂w1 = " in print_text(doc)
