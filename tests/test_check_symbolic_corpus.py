"""A generated corpus of symbolic answers: every classic slip that has a formula, named.

The submissions are made by hand-written backpropagation on SymPy symbols (the oracle):
the same plain code a student writes (σ as ``1/(1 + exp(−z))``, σ′ as ``a·(1 − a)``, each
gradient the upstream one times a local derivative), with one slip inserted into it the way a
student makes it. Nothing here calls backproof's derivation or its mutation code to make a
submission; the oracle's correct formulas are checked against ``sympy.diff`` of the loss.

Each formula is submitted twice: in the program's names (``(a2 - y)*a2*(1 - a2)``, how a
student writes a backprop formula) and written out in the inputs (``1/(1 + exp(-b1 - w1*x))``
…). For each slip the test asserts the verdict (incorrect), the mistake named, and that
the explanation names the place: the local derivative, the path or the node.

Kinds with no symbolic form (:data:`NO_SYMBOLIC_FORM`) are listed with the reason.
"""

from __future__ import annotations

import pytest
import sympy as sp

from backproof.check import MISTAKE_NAMES, Problem, diagnose, parse_answers

#: Mistake kinds a formula cannot show, and why.
NO_SYMBOLIC_FORM = {
    "wrong_value": "a wrong number substituted for a variable: in a formula the variable is written as a "
                   "name, so there is no number to get wrong",
    "updated_weight_used": "the updated weight used too early is a slip in the order of numeric steps: in a "
                           "formula the student writes w2 (the weight before the update), whatever order "
                           "they compute in",
}

R = dict(real=True)


def _sym(names: str) -> tuple[sp.Symbol, ...]:
    return sp.symbols(names, **R)


def _sig(z):
    return 1 / (1 + sp.exp(-z))


class _Names:
    """How the oracle's student writes a value computed earlier: by its name, or written out."""

    def __init__(self, in_names: bool):
        self.in_names = in_names

    def __call__(self, name: str, expr: sp.Expr) -> sp.Expr:
        return sp.Symbol(name, **R) if self.in_names else expr


# --- problem A: two sigmoid layers, half squared error ------------------------------------------

TWO_LAYER = """z1 = w1*x + b1
a1 = sigmoid(z1)
z2 = w2*a1 + b2
a2 = sigmoid(z2)
J = 0.5*(a2 - y)**2"""
LR = sp.Rational(1, 2)


def two_layer(mistake=None, in_names=True):
    """Backprop by hand on symbols, in the order a student writes it, with one slip if asked."""
    x, y, w1, b1, w2, b2 = _sym("x y w1 b1 w2 b2")
    v = _Names(in_names)
    out = {}
    z1 = v("z1", w1 * x + b1)
    a1 = v("a1", _sig(z1))
    z2 = v("z2", w2 * a1 + b2)
    a2 = v("a2", _sig(z2))
    if not in_names:
        out.update(z1=z1, a1=a1, z2=z2, a2=a2, J=sp.Rational(1, 2) * (a2 - y) ** 2)
    g_a2 = a2 - y
    if mistake == "loss_half_factor":
        g_a2 = 2 * (a2 - y)                       # d/du of ½u² taken as 2u
    if mistake == "operands_swapped":
        g_a2 = y - a2
    out["dJ/da2"] = g_a2
    d_sig2 = a2 * (1 - a2)
    if mistake == "activation_derivative_missing":
        d_sig2 = 1
    if mistake == "activation_instead_of_derivative":
        d_sig2 = a2
    if mistake == "derivative_at_output":
        d_sig2 = _sig(a2) * (1 - _sig(a2))         # σ′ evaluated at a2 instead of at z2
    if mistake == "sigmoid_prime_plus":
        d_sig2 = a2 * (1 + a2)
    out["dJ/dz2"] = g_z2 = g_a2 * d_sig2
    out["dJ/dw2"] = g_w2 = g_z2 * a1
    out["dJ/db2"] = g_b2 = g_z2
    w2_new = w2 - LR * g_w2
    if mistake == "update_sign":
        w2_new = w2 + LR * g_w2
    if mistake == "learning_rate_missing":
        w2_new = w2 - g_w2
    if mistake == "learning_rate_twice":
        w2_new = w2 - LR * LR * g_w2
    out["w2_new"] = w2_new
    out["b2_new"] = b2 - LR * g_b2
    out["dJ/da1"] = g_a1 = g_z2 * w2
    out["dJ/dz1"] = g_z1 = g_a1 * a1 * (1 - a1)
    dz1_dw1 = x if mistake != "chain_inverted" else 1 / x     # ∂w1/∂z1 used for ∂z1/∂w1
    out["dJ/dw1"] = g_w1 = g_z1 * dz1_dw1
    out["dJ/db1"] = g_b1 = g_z1
    out["w1_new"] = w1 - LR * g_w1
    out["b1_new"] = b1 - LR * g_b1
    return out


def two_layer_loss():
    x, y, w1, b1, w2, b2 = _sym("x y w1 b1 w2 b2")
    return sp.Rational(1, 2) * (_sig(w2 * _sig(w1 * x + b1) + b2) - y) ** 2


# --- problem B: a hidden value whose output forks -------------------------------------------------

FORK = """h = w1*x
p = w2*h
q = w3*h
J = 0.5*(p + q - y)**2"""


def fork(mistake=None, in_names=True, where="h"):
    x, y, w1, w2, w3 = _sym("x y w1 w2 w3")
    v = _Names(in_names)
    out = {}
    h = v("h", w1 * x)
    p = v("p", w2 * h)
    q = v("q", w3 * h)
    if not in_names:
        out.update(h=h, p=p, q=q, J=sp.Rational(1, 2) * (p + q - y) ** 2)
    out["dJ/dp"] = g_p = p + q - y
    out["dJ/dq"] = g_q = p + q - y
    g_h = g_p * w2 + g_q * w3
    if mistake == "fork_path_missing":
        g_h = g_p * w2                            # the path through q forgotten
    if mistake == "sign_flip":
        g_h = g_p * w2 - g_q * w3                 # ∂q/∂h taken as −w3
    out["dJ/dh"] = g_h
    out["dJ/dw1"] = g_h * x
    out["w1_new"] = w1 - LR * g_h * x
    return out


def fork_loss():
    x, y, w1, w2, w3 = _sym("x y w1 w2 w3")
    return sp.Rational(1, 2) * (w2 * w1 * x + w3 * w1 * x - y) ** 2


# --- problem C: a name used twice inside one statement (the example) ------------------------

INLINE = "y = (a + b)*(b - c)"


def inline(mistake=None, in_names=True):
    a, b, c = _sym("a b c")
    out = {"y": (a + b) * (b - c)} if not in_names else {}
    out["dy/da"] = b - c
    out["dy/db"] = (b - c) + (a + b) if mistake != "fork_path_missing" else (b - c)  # only the path through a + b
    out["dy/dc"] = -(a + b) if mistake != "sign_flip" else (a + b)                    # ∂(b − c)/∂c taken as +1
    return out


def inline_loss():
    a, b, c = _sym("a b c")
    return (a + b) * (b - c)


PROBLEMS = {
    "two_layer": (TWO_LAYER, two_layer, two_layer_loss, "J"),
    "fork": (FORK, fork, fork_loss, "J"),
    "inline": (INLINE, inline, inline_loss, "y"),
}

# (mistake, problem, the quantity where it happens, words the explanation must contain)
CASES = [
    ("update_sign", "two_layer", "w2_new", "w2 + η·∂J/∂w2"),
    ("learning_rate_missing", "two_layer", "w2_new", "w2 − ∂J/∂w2"),
    ("learning_rate_twice", "two_layer", "w2_new", "η²"),
    ("activation_derivative_missing", "two_layer", "dJ/dz2", "∂a2/∂z2 taken as 1"),
    ("activation_instead_of_derivative", "two_layer", "dJ/dz2", "σ(z2) used instead of its derivative"),
    ("derivative_at_output", "two_layer", "dJ/dz2", "taken at the output a2 instead of at z2"),
    ("sigmoid_prime_plus", "two_layer", "dJ/dz2", "σ(1 + σ) for ∂a2/∂z2"),
    ("loss_half_factor", "two_layer", "dJ/da2", "twice the right one"),
    ("operands_swapped", "two_layer", "dJ/da2", "y − a2 instead of a2 − y"),
    ("chain_inverted", "two_layer", "dJ/dw1", "∂w1/∂z1 = 1/x used instead of ∂z1/∂w1 = x"),
    ("fork_path_missing", "fork", "dJ/dh", "you followed only the path through p; h also feeds q"),
    ("fork_path_missing", "fork", "dJ/dw1", "one path at the fork at h left out"),
    ("fork_path_missing", "inline", "dy/db", "you followed only the path through a + b; b also feeds b − c"),
    ("sign_flip", "fork", "dJ/dh", "the sign of ∂q/∂h = w3 was lost"),
    ("sign_flip", "inline", "dy/dc", "the sign of ∂(b − c)/∂c = −1 was lost"),
    # a slip in the gradient, carried into the update written as a formula:
    ("fork_path_missing", "fork", "w1_new", "in the gradient ∂J/∂w1 your update uses"),
]

_CACHE: dict = {}


def _problem(key: str) -> Problem:
    if key not in _CACHE:
        _CACHE[key] = Problem(PROBLEMS[key][0], learning_rate=str(LR))
    return _CACHE[key]


def _text(expr) -> str:
    return sp.sstr(expr)


def test_every_kind_has_a_case_or_a_reason():
    assert {c[0] for c in CASES} | set(NO_SYMBOLIC_FORM) == set(MISTAKE_NAMES)
    assert not {c[0] for c in CASES} & set(NO_SYMBOLIC_FORM)


@pytest.mark.parametrize("key", sorted(PROBLEMS))
def test_oracle_agrees_with_sympy_diff(key):
    """The hand-written backprop (written out in the inputs) is the derivative of the loss."""
    _prog, fn, loss, out = PROBLEMS[key]
    forms = fn(in_names=False)
    lr = LR
    for name, form in forms.items():
        if name.startswith(f"d{out}/d"):
            wrt = sp.Symbol(name[len(out) + 3:], **R)
            if wrt.name in {s.name for s in loss().free_symbols}:
                assert sp.simplify(form - sp.diff(loss(), wrt)) == 0, name
        elif name.endswith("_new"):
            w = sp.Symbol(name[:-4], **R)
            assert sp.simplify(form - (w - lr * sp.diff(loss(), w))) == 0, name


@pytest.mark.parametrize("in_names", [True, False], ids=["in-names", "in-inputs"])
@pytest.mark.parametrize("key", sorted(PROBLEMS))
def test_correct_symbolic_answers_are_all_correct(key, in_names):
    p = _problem(key)
    forms = PROBLEMS[key][1](in_names=in_names)
    result = diagnose(p, parse_answers(p, {k: _text(v) for k, v in forms.items()}))
    bad = [(i.name, i.verdict, i.diagnosis) for i in result.items if i.verdict != "correct"]
    assert not bad
    assert all(i.symbolic for i in result.items)


def _case_id(case) -> str:
    return f"{case[0]}-{case[1]}-{case[2]}"


@pytest.mark.parametrize("in_names", [True, False], ids=["in-names", "in-inputs"])
@pytest.mark.parametrize("mistake,key,where,words", CASES, ids=[_case_id(c) for c in CASES])
def test_symbolic_slip_is_named_where_it_happened(mistake, key, where, words, in_names):
    p = _problem(key)
    fn = PROBLEMS[key][1]
    right, wrong = fn(in_names=in_names), fn(mistake, in_names=in_names)
    assert sp.simplify(wrong[where] - right[where]) != 0, "the generated slip must change the formula"
    # The answers before the slip that it leaves right (as the student wrote them), and the slipped one.
    names = list(wrong)
    before = [k for k in names[:names.index(where)] if sp.simplify(wrong[k] - right[k]) == 0]
    result = diagnose(p, parse_answers(p, {k: _text(wrong[k]) for k in [*before, where]}))
    items = {i.name: i for i in result.items}
    assert all(items[k].verdict == "correct" for k in before)
    hit = items[where]
    assert hit.verdict == "incorrect" and hit.first
    d = hit.diagnosis
    assert d.mistake == mistake, d.explanation
    assert words in d.explanation, d.explanation
    assert "wrong_value" not in d.also and mistake not in d.explanation, "codes stay out of the student's text"
    # The counterexample is a point a student can check by hand, and really separates the formulas.
    point = hit.counterexample
    assert point and all(v in (-1, 0, 1, 2, 3) for v in point.values()), point


def test_downstream_formulas_after_a_slip_are_not_judged_correct():
    """A slip carried into later formulas leaves them wrong (symbolic answers have no follow-through):
    each later formula that differs from the truth is incorrect, never correct."""
    p = _problem("two_layer")
    right, wrong = two_layer(), two_layer("activation_derivative_missing")
    result = diagnose(p, parse_answers(p, {k: _text(v) for k, v in wrong.items()}))
    for item in result.items:
        differs = sp.simplify(wrong[item.name] - right[item.name]) != 0
        assert item.verdict == ("incorrect" if differs else "correct"), item.name


def test_an_unexplained_formula_gets_no_name_and_a_simple_counterexample():
    p = _problem("two_layer")
    item = diagnose(p, parse_answers(p, {"dJ/dz2": _text(7 * two_layer()["dJ/dz2"])})).items[0]
    assert item.verdict == "incorrect" and item.diagnosis.mistake is None
    assert "not equal to" in item.diagnosis.explanation
    assert all(v in (-1, 0, 1, 2, 3) for v in item.counterexample.values())


def test_the_right_formula_is_shown_in_the_programs_names():
    """The student reads the right formula the way they write one: a2·(1 − a2), not σ(b2 + w2·σ(…))."""
    p = _problem("two_layer")
    slipped = two_layer("activation_derivative_missing")["dJ/dz2"]
    item = diagnose(p, parse_answers(p, {"dJ/dz2": _text(slipped)})).items[0]
    shown = item.diagnosis.explanation.split("the right formula is ")[1]
    assert "a2" in shown and "sigmoid" not in shown and "exp" not in shown, shown


# --- problem D: a hidden unit feeding two output units, as in a network -------------------------------

WIDE = """z1 = w1*x
a1 = sigmoid(z1)
z2 = w2*a1 + b2
z3 = w3*a1 + b3
J = 0.5*(z2 - y)**2 + 0.5*(z3 - t)**2"""


def test_a_path_left_out_in_a_network_is_named_by_the_statement_it_goes_through():
    """a1 is used once in z2 = w2*a1 + b2 and once in z3: the path is named z3 (∂J/∂z3·∂z3/∂a1),
    not by the product w3·a1 inside it."""
    x, y, t, w1, w2, w3 = _sym("x y t w1 w2 w3")
    a1, z2, z3 = _sym("a1 z2 z3")
    g_z2, g_z3 = z2 - y, z3 - t                   # by hand, in the program's names
    right = (g_z2 * w2 + g_z3 * w3) * a1 * (1 - a1) * x
    slipped = g_z2 * w2 * a1 * (1 - a1) * x       # the path through z3 forgotten
    b2, b3 = _sym("b2 b3")
    expand = {a1: _sig(w1 * x), z2: w2 * _sig(w1 * x) + b2, z3: w3 * _sig(w1 * x) + b3}
    half = sp.Rational(1, 2)
    loss = half * (w2 * _sig(w1 * x) + b2 - y) ** 2 + half * (w3 * _sig(w1 * x) + b3 - t) ** 2
    assert sp.simplify(right.xreplace(expand) - sp.diff(loss, w1)) == 0
    p = Problem(WIDE)
    item = diagnose(p, parse_answers(p, {"dJ/dw1": _text(slipped)})).items[0]
    assert item.verdict == "incorrect" and item.diagnosis.mistake == "fork_path_missing"
    assert ("a1 feeds z2 and z3, and you followed only the path through z2; to ∂J/∂a1 add ∂J/∂z3·∂z3/∂a1"
            in item.diagnosis.explanation), item.diagnosis.explanation


@pytest.mark.parametrize("eta", ["η", "eta", "1/2", "0.5"])
def test_an_update_formula_may_write_the_learning_rate_as_eta(eta):
    """In an update formula η (or eta) is the problem's learning rate; the slips are named the same."""
    p = _problem("two_layer")
    g_w2 = _text(two_layer()["dJ/dw2"])
    right = diagnose(p, parse_answers(p, {"w2_new": f"w2 - {eta}*({g_w2})"})).items[0]
    assert right.verdict == "correct", right.diagnosis
    twice = diagnose(p, parse_answers(p, {"w2_new": f"w2 - ({eta})**2*({g_w2})"})).items[0]
    assert twice.verdict == "incorrect" and twice.diagnosis.mistake == "learning_rate_twice"


def test_eta_outside_an_update_is_refused_with_a_hint():
    from backproof.check.answers import AnswerFileError
    p = _problem("two_layer")
    with pytest.raises(AnswerFileError, match=r"unknown name eta .*learning rate only in an update"):
        parse_answers(p, {"dJ/dw2": "eta*a1"})


def test_the_half_dropped_in_one_term_of_the_loss_is_named_with_that_term():
    """J = ½(z2 − y)² + ½(z3 − t)²: a student who differentiates the first term as (z2 − y)² (2·(z2 − y))
    and the second right gets the ½ named for the term with z2 − y."""
    x, y, t, w2, w3 = _sym("x y t w2 w3")
    a1, z2, z3 = _sym("a1 z2 z3")
    slipped = (2 * (z2 - y) * w2 + (z3 - t) * w3) * a1 * (1 - a1) * x
    p = Problem(WIDE)
    item = diagnose(p, parse_answers(p, {"dJ/dw1": _text(slipped)})).items[0]
    assert item.verdict == "incorrect" and item.diagnosis.mistake == "loss_half_factor"
    assert "the ½ of the term (z2 − y)² in J" in item.diagnosis.explanation, item.diagnosis.explanation


# --- random programs: the symbolic slips never fail, and a negated formula is always named --------------

from hypothesis import HealthCheck, assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from program_strategies import expressions as shared_expressions  # noqa: E402

_UNARY = ("sin", "tanh", "sigmoid", "softplus", "relu", "exp", "-")


@st.composite
def _programs(draw):
    names = ["x", "y"]
    lines = []
    for i in range(draw(st.integers(1, 2))):
        lines.append(f"s{i} = {draw(shared_expressions(tuple(names), _UNARY))}")
        names.append(f"s{i}")
    return "\n".join(lines)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_programs(), wrt=st.sampled_from(["x", "y"]), how=st.sampled_from(["negated", "doubled", "plus x"]))
def test_random_programs_get_a_verdict_and_a_negated_formula_is_named(text, wrt, how):
    """Any wrong formula gets a verdict (never an exception); the truth with the opposite sign is
    always named (a sign lost somewhere on the way, or the slip that gives the same formula)."""
    p = Problem(text)
    assume(wrt in p.inputs)
    q = p.resolve(f"d{p.output}/d{wrt}")
    truth = p.truth_symbolic(q)
    wrong = {"negated": -truth, "doubled": 2 * truth, "plus x": truth + sp.Symbol("x", **R)}[how]
    assume(truth != 0 and wrong.free_symbols and len(sp.sstr(wrong)) < 600)  # a formula, not a number
    from backproof.printing import to_text  # the expression language (step, max), not SymPy's names
    item = diagnose(p, parse_answers(p, {str(q): to_text(wrong)})).items[0]
    assert item.verdict in ("incorrect", "undecided"), item
    if item.verdict == "incorrect":
        d = item.diagnosis
        assert d.mistake is None or d.mistake in MISTAKE_NAMES
        assert not (d.mistake and d.mistake in d.explanation)
        if how == "negated":
            assert d.mistake is not None, d.explanation
