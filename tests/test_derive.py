"""Derivations against oracles: sympy.diff, central differences and published examples."""

from __future__ import annotations

import pytest
import sympy as sp

from backproof.api import explain
from backproof.derivation import EXPAND_LIMIT, derive
from backproof.errors import EvaluationError, ProgramError, VerificationError
from backproof.functions import rewrite_elementary
from backproof.parse import parse_program, parse_values
from backproof.steps import StepKind
from backproof.verify import prove

CASES = [
    ("d = a + b; e = b - c; y = d*e", "a=2,b=1,c=0"),
    ("y = (a+b)*(b-c)", "a=2,b=1,c=0"),
    ("b2 = a + a", "a=3"),
    ("a1 = w1*x + b1; a2 = w2*a1 + b2; J = (a2 - y)**2/2", "x=1,y=5,w1=2,b1=0,w2=3,b2=1"),
    ("yhat = w*x + b; L = (yhat - y)**2/2", "x=1,y=2,w=0,b=0"),
    ("q = x + y; f = q*z", "x=-2,y=5,z=-4"),
    ("h = tanh(w*x + b); y = h*h + h", "w=0.3,x=2,b=-1"),
    ("z = w*x + b; p = sigmoid(z); L = -(t*log(p) + (1 - t)*log(1 - p))", "w=0.5,x=1.5,b=-0.2,t=1"),
    ("y = a/b - sqrt(a)*exp(-b) + a**b", "a=1.5,b=0.7"),
    ("y = relu(a - b) + softplus(a*b) + abs(b) + max(a, 2*b) + min(a, b)", "a=1.2,b=-0.4"),
    ("u = sin(x)*cos(y); v = tan(u) + u**2; w = v/u", "x=0.4,y=1.1"),
]
IDS = ["seed-fork", "seed-inline", "a-plus-a", "seed-two-layer", "seed-neuron", "cs231n", "staged-tanh",
       "sigmoid-bce", "quotient-power", "kinks-away", "trig-chain"]


def oracle_gradient(program, name, at):
    """∂output/∂name by sympy.diff of the output written out in the inputs."""
    expanded = program.expanded()
    out = rewrite_elementary(expanded[program.output])
    return sp.N(sp.diff(out, sp.Symbol(name, real=True)).subs(
        {sp.Symbol(k, real=True): v for k, v in at.items()}), 30)


H = sp.Rational(1, 10**8)


def central_difference(program, name, at, h=H):
    out = rewrite_elementary(program.expanded()[program.output])
    point = {sp.Symbol(k, real=True): v for k, v in at.items()}
    s = sp.Symbol(name, real=True)
    hi = sp.N(out.subs({**point, s: point[s] + h}), 40)
    lo = sp.N(out.subs({**point, s: point[s] - h}), 40)
    return (hi - lo) / (2 * h)


@pytest.mark.parametrize("source, at", CASES, ids=IDS)
def test_input_gradients_equal_sympy_diff_and_central_differences(source, at):
    program = parse_program(source)
    values = parse_values(at)
    d = derive(program, at=values)
    for name in program.inputs:
        got = d.gradients[name]
        want = oracle_gradient(program, name, values)
        assert abs(got - want) <= 1e-20 + 1e-25 * abs(want), name
        fd = central_difference(program, name, values)
        assert abs(float(got) - float(fd)) <= 1e-6 * max(1.0, abs(float(fd))), name


@pytest.mark.parametrize("source, at", CASES, ids=IDS)
def test_every_gradient_is_proved(source, at):
    d = derive(source, at=at)
    proof = prove(d)  # the proof is an oracle of the layer above: explain() runs it
    assert {i.name for i in proof.items} == set(d.wrt)
    assert all(i.method in ("symbolic", "numeric") for i in proof.items)


@pytest.mark.parametrize("source, at", CASES, ids=IDS)
def test_intermediate_gradients_by_perturbing_the_intermediate(source, at):
    """∂out/∂m for a named m: rewrite the program with m replaced by m + h."""
    program = parse_program(source)
    values = parse_values(at)
    d = derive(program, at=values)
    for st in program.statements:
        if st.name == program.output:
            continue
        h = sp.Rational(1, 10**8)
        results = []
        for sign in (1, -1):
            env = {sp.Symbol(k, real=True): v for k, v in values.items()}
            for s2 in program.statements:
                val = s2.expr.xreplace(env).doit()
                if s2.name == st.name:
                    val = val + sign * h
                env[sp.Symbol(s2.name, real=True)] = rewrite_elementary(val)
            results.append(sp.N(env[sp.Symbol(program.output, real=True)], 40))
        fd = (results[0] - results[1]) / (2 * h)
        assert abs(float(d.gradients[st.name]) - float(fd)) <= 1e-6 * max(1.0, abs(float(fd))), st.name


def test_fork_accumulation_a_plus_a():
    d = derive("b = a + a", at="a=5")
    assert d.named_gradients()["a"] == 2
    sums = [s for s in d.steps if s.kind is StepKind.SUM]
    assert [s.target for s in sums] == ["a"] and sums[0].factors == (1, 1)


def test_fork_accumulation_seed_symbolic():
    d = derive("y = (a+b)*(b-c)")
    a, b, c = (sp.Symbol(n, real=True) for n in "abc")
    assert sp.simplify(d.simplified["b"] - (a + 2 * b - c)) == 0
    assert d.values == {} and d.named_gradients() == {}


def test_seed_two_layer_matches_the_notes_where_they_are_right():
    """The notes' correct figures: ∂J/∂a2 = 2, ∂J/∂b2 = 2, ∂J/∂w2 = 4, J = 2, and the updates
    w2 → 2.6, b2 → 0.8, w1 → 1.4, b1 → −0.6 (the notes update w1, b1 with 6). Their slip:
    ∂J/∂a1 = 2·1·w2 written as 2·2 = 4; the tool computes 6."""
    d = derive(open_example("seed_two_layer.txt"), at="x=1,y=5,w1=2,b1=0,w2=3,b2=1")
    g = d.named_gradients()
    assert d.values["J"] == 2 and d.values["a2"] == 7
    assert (g["a2"], g["b2"], g["w2"]) == (2, 2, 4)
    assert g["a1"] == 6 != 4  # the notes' slip
    eta = sp.Rational(1, 10)
    new = {p: d.at[p] - eta * g[p] for p in ("w1", "b1", "w2", "b2")}
    assert new == {"w1": sp.Rational(14, 10), "b1": sp.Rational(-6, 10),
                   "w2": sp.Rational(26, 10), "b2": sp.Rational(8, 10)}


def test_seed_single_neuron_converges_in_two_iterations():
    """The notes: loss 2, gradients −2 and −2, update with α = 0.5 to w = b = 1, loss 0."""
    src = open_example("single_neuron.txt")
    d = derive(src, at="x=1,y=2,w=0,b=0")
    g = d.named_gradients()
    assert d.values["L"] == 2 and g["w"] == -2 and g["b"] == -2
    w, b = 0 - sp.Rational(1, 2) * g["w"], 0 - sp.Rational(1, 2) * g["b"]
    d2 = derive(src, at={"x": 1, "y": 2, "w": w, "b": b})
    assert d2.values["L"] == 0 and d2.named_gradients()["w"] == 0


def test_steps_are_typed_and_ordered_like_a_textbook():
    d = derive("d = a + b; e = b - c; y = d*e", at="a=2,b=1,c=0")
    kinds = [s.kind for s in d.steps]
    first_backward = kinds.index(StepKind.SEED)
    assert set(kinds[:first_backward]) == {StepKind.FORWARD}
    assert kinds[-len(d.wrt):] == [StepKind.RESULT] * len(d.wrt)
    assert [s.index for s in d.steps] == list(range(1, len(d.steps) + 1))
    local = {(d.label(s.via), d.label(s.target)): s for s in d.steps if s.kind is StepKind.LOCAL}
    assert local[("y", "d")].rule == "product rule" and str(local[("y", "d")].symbolic) == "e"
    assert local[("e", "c")].rule == "difference rule" and local[("e", "c")].value == -1
    # the sum step at the fork adds the two paths' products
    (s,) = [s for s in d.steps if s.kind is StepKind.SUM]
    assert s.target == "b" and s.factors == (1, 3) and s.value == 4


def test_wrt_restricts_the_reported_gradients_and_steps():
    d = derive("d = a + b; e = b - c; y = d*e", at="a=2,b=1,c=0", wrt=["c"])
    assert d.named_gradients() == {"c": -3}
    targets = {d.label(s.target) for s in d.steps if s.kind in (StepKind.LOCAL, StepKind.CHAIN)}
    assert "a" not in targets and "c" in targets


def test_of_selects_another_output():
    d = derive("d = a + b; e = b - c; y = d*e", at="a=2,b=1,c=0", of="e")
    assert d.output == "e" and d.named_gradients() == {"b": 1, "c": -1}


def test_kink_gets_a_convention_note():
    d = derive("y = relu(x)", at="x=0")
    notes = [s.note for s in d.steps if s.note]
    assert notes and "convention" in notes[0]
    assert d.named_gradients()["x"] == 0


@pytest.mark.parametrize("source, at, error, match", [
    ("y = log(x)", "x=0", EvaluationError, "log needs a positive argument"),
    ("y = a/b", "a=1,b=0", EvaluationError, "division by zero"),
    ("y = sqrt(x)", "x=-1", EvaluationError, "sqrt needs a non-negative"),
    ("y = sqrt(x)", "x=0", EvaluationError, "local derivative"),
    ("y = a*b", "a=1", ProgramError, "no value given for input b"),
    ("y = a*b", "a=1,b=2,c=3", ProgramError, "does not have as input"),
], ids=["log0", "div0", "sqrt-neg", "sqrt-deriv-at-0", "missing", "extra"])
def test_evaluation_errors_name_the_node(source, at, error, match):
    with pytest.raises(error, match=match):
        derive(source, at=at)


def test_unknown_output_and_wrt():
    with pytest.raises(ProgramError, match="unknown output 'q'"):
        derive("y = a", of="q")
    with pytest.raises(ProgramError, match="unknown name 'q' in --wrt"):
        derive("y = a", wrt=["q"])


def test_sympy_expression_input():
    a, b, c = sp.symbols("a b c")
    d = derive((a + b) * (b - c), at={"a": 2, "b": 1, "c": 0})
    assert d.output == "f" and d.named_gradients() == {"a": 1, "b": 4, "c": -3}


def test_large_graph_skips_expansion_but_gradients_stay_right():
    """A long chain beyond EXPAND_LIMIT: no proof (said so), numbers still exact."""
    n = EXPAND_LIMIT  # each statement adds at least two nodes
    lines = ["x0 = x"] + [f"x{i} = x{i - 1}*k + 1" for i in range(1, n)]
    d = derive("\n".join(lines), at="x=1,k=1")
    assert not d.expanded and not d.in_inputs and any("skipped" in lim for lim in d.limits)
    assert d.named_gradients()["x"] == 1  # ∂x_n/∂x = k^(n-1)
    # x_{n-1} = k^(n-1)·x + Σ_{j<n-1} k^j, so ∂/∂k at k = x = 1 is (n-1) + Σ_{j<n-1} j
    assert d.named_gradients()["k"] == (n - 1) + sum(range(n - 1))


def test_a_wrong_rule_cannot_survive_the_proof(monkeypatch):
    """Break the product rule in the op table: the proof against sympy.diff catches it."""
    import dataclasses

    from backproof import ops
    broken = dataclasses.replace(ops.OPS["mul"], partials=lambda *x: tuple(sp.Integer(1) for _ in x))
    monkeypatch.setitem(ops.OPS, "mul", broken)
    with pytest.raises(VerificationError, match="differs from sympy.diff"):
        explain("y = a*b", at="a=2,b=3")


def open_example(name: str) -> str:
    from pathlib import Path
    return (Path(__file__).resolve().parent.parent / "examples" / name).read_text(encoding="utf-8")


# --- issue 10: layers, one input front, results built once ---------------------------------

def test_finding_backproof_derive_is_the_function():
    import backproof
    from backproof import derivation
    assert backproof.derive is derivation.derive
    assert backproof.derive("y = a*b", at="a=2,b=3").named_gradients() == {"a": 3, "b": 2}


def test_finding_derive_imports_no_upper_layer():
    """The derivation (layer 4) loads neither the proof (5) nor write-ups and diagrams (7)."""
    import subprocess
    import sys
    code = ("import sys, backproof.derivation as d; d.derive('y = a*b', at='a=2,b=3'); "
            "print(sorted(m for m in sys.modules if m.split('.')[:2] in (['backproof', 'verify'], "
            "['backproof', 'report'], ['backproof', 'render'], ['backproof', 'crosscheck'], ['backproof', 'threeway'], "
            "['backproof', 'api'])))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         timeout=120)  # safety timeout against a hang only
    assert out.stdout.strip() == "[]"


def test_finding_results_are_not_patched():
    """explain() builds a new frozen record; the derivation has no proof or cross-check slot."""
    import dataclasses

    from backproof.api import Explanation
    from backproof.derivation import Derivation
    from backproof.threeway import CrossCheck
    from backproof.verify import Proof
    assert {"proof", "verification"}.isdisjoint(f.name for f in dataclasses.fields(Derivation))
    e = explain("d = a + b; e = b - c; y = d*e", at="a=2,b=1,c=0")
    assert isinstance(e, Explanation) and isinstance(e.proof, Proof) and isinstance(e.crosscheck, CrossCheck)
    assert {i.name for i in e.proof.items} == set(e.wrt) and e.crosscheck.ok and e.ok
    with pytest.raises(dataclasses.FrozenInstanceError):
        e.proof = None  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        e.derivation.limits = ()  # type: ignore[misc]


@pytest.mark.parametrize("at, verify, reason", [
    (None, True, "no values given"),
    ("a=2,b=1,c=0", False, "--no-verify"),
], ids=["no-point", "no-verify"])
def test_finding_skipped_is_a_typed_value(at, verify, reason):
    import json

    from backproof.verify import Skipped
    e = explain("d = a + b; e = b - c; y = d*e", at=at, verify=verify)
    assert isinstance(e.crosscheck, Skipped) and e.crosscheck.reason == reason
    assert isinstance(e.proof, Skipped) if not verify else not isinstance(e.proof, Skipped)
    doc = json.loads(e.to_json())
    assert doc["verification"] == {"status": "skipped", "reason": reason}
    assert ("numeric: " + e.crosscheck.line) in e.to_text()


def test_finding_inputs_are_checked_in_one_place():
    from backproof import inputs
    assert inputs.coerce_at({"a": 0.1, sp.Symbol("b"): 2, "c": "pi/2"}) == {
        "a": sp.Rational(1, 10), "b": 2, "c": sp.pi / 2}
    for bad in (True, float("inf"), float("nan"), "sqrt(-1)"):
        with pytest.raises(ProgramError, match="value of 'a' must be"):
            inputs.coerce_at({"a": bad})
    with pytest.raises(ProgramError, match="no value given for input b"):
        inputs.check_point({"a": 1}, ["a", "b"], ["a", "b"], {"a", "b"})
    with pytest.raises(ProgramError, match="--at names q, which the program does not have"):
        inputs.check_point({"a": 1, "q": 2}, ["a"], ["a"], {"a"})
    with pytest.raises(ProgramError, match="unknown name 'q' in --wrt"):
        inputs.coerce_wrt(["q"], ["a", "y"], "y")
    # derive() reports the same errors, from the same place
    with pytest.raises(ProgramError, match="no value given for input b"):
        derive("y = a*b", at="a=1")


def test_text_values_of_a_mapping_go_through_the_parser():
    """A program given as {name: text} is parsed (never sympified), with its own names known:
    `e` assigned in the mapping is that name, not Euler's number. Oracle: the same program as text."""
    from backproof.derivation import derive as derive_
    as_text = derive_("d = a + b; e = b - c; y = d*e", at="a=2,b=1,c=0", verify=False)
    as_map = derive_({"d": "a + b", "e": "b - c", "y": "d*e"}, at="a=2,b=1,c=0", verify=False)
    assert as_map.named_gradients() == as_text.named_gradients()
    assert as_map.named_gradients()["e"] == 3
