"""Issue 9, item 6: no false alarms from finite differences, proofs sampled in the domain.

Finite differences (:mod:`backproof.fdiff`) estimate their own error; where they cannot
resolve a gradient the verdict is "inconclusive" (exit 0), never "disagree", while a
broken derivative is still caught. Oracles: ``sympy.diff`` and libm's correctly
reduced ``math.cos``, never hand-typed gradients.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import sympy as sp

from backproof import fdiff, ops
from backproof.cli import main
from backproof.fdiff import (
    AGREE,
    DISAGREE,
    EPS,
    INCONCLUSIVE,
    UNRESOLVED,
    check_derivative,
    judge,
)
from backproof.threeway import ENGINE_ULPS, crosscheck
from backproof.verify import equal_at_random_points

NOT_FAILURES = {"agree", "inconclusive", "not differentiable"}


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _oracle(expr: sp.Expr, wrt: sp.Symbol, at: dict[sp.Symbol, object]) -> float:
    """∂expr/∂wrt by sympy.diff, at the exact values ``at``."""
    return float(sp.N(sp.diff(expr, wrt).subs({k: sp.Rational(v) for k, v in at.items()}), 30))


# --- the findings -----------------------------------------------------------------------

def test_finding_cancellation_is_not_a_disagreement(capsys):
    text = "y = x*p*c - x*p*d"
    at = {"x": 1.0, "p": 0.1, "c": 1000000.0, "d": 1000001.0}
    cc = crosscheck(text, at)
    assert cc.ok, cc.summary
    rows = {r.name: r for r in cc.rows}
    assert {r.verdict for r in cc.rows} <= NOT_FAILURES
    # The engine adds up p·c and −p·d (about 1e5 each): its result is off by a few eps
    # of 2e5, more than ENGINE_RTOL of 0.1 but within the stated rounding slack.
    x = rows["x"]
    X, P, C, D = sp.symbols("x p c d", real=True)
    oracle = _oracle(X * P * C - X * P * D, X, {X: 1.0, P: 0.1, C: 1000000, D: 1000001})
    assert x.symbolic == pytest.approx(oracle, rel=1e-15)
    assert abs(x.engine - x.symbolic) <= ENGINE_ULPS * EPS * (0.1 * 1000000 + 0.1 * 1000001)
    code, out, err = run(capsys, "crosscheck", text, "--at", "x=1,p=0.1,c=1000000,d=1000001")
    assert code == 0 and err == "" and "disagree" not in out


def test_finding_large_offset_is_resolved_by_a_larger_step(capsys):
    text = "h = 1e8 - y; f = h*log(1e8) + h"
    cc = crosscheck(text, {"y": 0.0})
    assert cc.ok, cc.summary
    y = next(r for r in cc.rows if r.name == "y")
    Y = sp.Symbol("y", real=True)
    h = 10**8 - Y
    oracle = _oracle(h * sp.log(10**8) + h, Y, {Y: 0})
    assert y.symbolic == pytest.approx(oracle, rel=1e-15)
    assert y.verdict == "agree"
    assert abs(y.numeric - oracle) <= cc.rtol * abs(oracle) + y.numeric_error
    code, out, err = run(capsys, "crosscheck", text, "--at", "y=0")
    assert code == 0 and err == "" and "disagree" not in out


def test_finding_sin_at_1e22_is_inconclusive_not_a_disagreement(capsys):
    cc = crosscheck("y = sin(x)", {"x": 1e22})
    (row,) = cc.rows
    assert cc.ok and row.verdict == "inconclusive", row
    assert row.symbolic == pytest.approx(math.cos(1e22), rel=1e-12)  # libm reduces 1e22 exactly
    assert row.engine == pytest.approx(row.symbolic, rel=1e-12)
    assert row.note.startswith(INCONCLUSIVE)
    code, out, err = run(capsys, "crosscheck", "y = sin(x)", "--at", "x=1e22")
    assert code == 0 and err == ""
    assert "inconclusive (finite differences cannot resolve this scale" in out
    assert "not a failure" in out


@pytest.mark.parametrize("text, at", [
    ("y = x*x", "x=1e-310"),
    ("y = x*w", "x=1e-310,w=1e-310"),
    ("y = sin(x)*x + x", "x=-2e-310"),
    ("y = exp(x)*x", "x=5e-324"),
])
@pytest.mark.parametrize("atol", ["1e-5", "0"])
def test_finding_subnormal_inputs_are_never_a_disagreement(capsys, text, at, atol):
    cc = crosscheck(text, at, atol=float(atol))
    assert cc.ok, cc.summary
    assert {r.verdict for r in cc.rows} <= {"agree", "inconclusive"}
    code, out, err = run(capsys, "crosscheck", text, "--at", at, "--atol", atol)
    assert code == 0 and err == "" and "disagree" not in out


NET_OVERFLOWS = {  # the loss z² is within a step of overflowing: the step's loss is inf
    "inputs": [[1]], "targets": [[0]], "loss": "mse",
    "layers": [{"units": 1, "activation": "identity", "weights": [[1.3407807e154]], "bias": 0}],
}
NET_SMALL = {
    "inputs": [[0.5, -1.0]], "targets": [[1]], "loss": "bce",
    "layers": [{"units": 1, "activation": "sigmoid", "weights": [[0.3, -0.2]], "bias": 0.1}],
}


def test_finding_net_never_prints_disagree_with_zero_error(monkeypatch):
    from backproof.nn import explain as nn_explain
    from backproof.nn import explain_network
    # Where the loss overflows within the step, the difference is inconclusive.
    chk = explain_network(NET_OVERFLOWS).check
    assert chk.ok and chk.fd_inconclusive == 1 and "DISAGREE" not in chk.summary
    assert "inconclusive (finite differences cannot resolve this scale" in chk.summary
    # The reported symptom: a loss that is not finite at every stepped point used to
    # print "max relative error 0.0e+00 (DISAGREE)".
    base = explain_network(NET_SMALL).check
    assert base.ok and base.fd_inconclusive == 0
    monkeypatch.setattr(nn_explain.LossFunction, "__call__", lambda self, **vals: float("nan"))
    chk = explain_network(NET_SMALL).check
    assert chk.ok and chk.fd_ok is True and "DISAGREE" not in chk.summary
    assert chk.fd_compared == 0 and chk.fd_inconclusive == 3
    assert "every parameter inconclusive (finite differences cannot resolve this scale" in chk.summary


def test_finding_proof_samples_points_in_the_programs_domain(capsys, monkeypatch):
    from backproof import verify
    # Force the numeric proof (it used to draw points in (−2, 3), where log(x − 10) is
    # undefined, and refuse the program as "could not verify").
    monkeypatch.setattr(verify, "SYMBOLIC_PROOF_OPS", -1)
    text = "h = log(x - 10); u = tanh(h)*sigmoid(h); y = u*u*sin(h)*exp(u)"
    code, out, err = run(capsys, "explain", text, "--at", "x=12")
    assert code == 0 and err == "", err
    assert "checked numerically at" in out and "could not verify" not in out + err
    # And the proof still catches a wrong gradient there: the points are in the domain.
    x = sp.Symbol("x", real=True)
    right = sp.diff(sp.log(x - 10) ** 2, x)
    assert equal_at_random_points(right, 2 * sp.log(x - 10) / (x - 10), [x], around={"x": 12}) == (True, None)
    ok, where = equal_at_random_points(right, 2 * sp.log(x - 10) / (x - 9), [x], around={"x": 12})
    assert ok is False and 10 < where["x"] < 14


def test_finding_proof_points_find_narrow_domains_and_leave_kinks():
    x = sp.Symbol("x", real=True)
    # Only (10, 10.001) is in the domain: the radius shrinks until points land there.
    f = sp.sqrt(x - 10) * sp.sqrt(10.001 - x)
    ok, _ = equal_at_random_points(sp.diff(f, x), sp.diff(f, x).simplify(), [x], around={"x": 10.0005})
    assert ok is True
    # Not one point is in the domain: an honest "undecided", never a wrong verdict.
    g = sp.log(-(x - 10) ** 2)
    assert equal_at_random_points(g, g, [x], around={"x": 10}) == (None, None)
    # Around a kink (the given point on it): the perturbed points leave it, where the
    # two conventions for the step's value at 0 no longer matter.
    assert equal_at_random_points(sp.Heaviside(x - 1), sp.Heaviside(x - 1, 0), [x], around={"x": 1}) \
        == (True, None)


# --- still able to fail ------------------------------------------------------------------

def test_a_broken_forward_is_still_caught_by_finite_differences_alone(monkeypatch):
    """Symbolic and engine share nothing with a wrong NumPy forward's derivative: only the
    finite difference sees it, and it must still say "disagree"."""
    op = ops.OPS["sin"]
    monkeypatch.setitem(ops.OPS, "sin", dataclasses.replace(op, np_forward=lambda a: 1.01 * np.sin(a)))
    cc = crosscheck("y = sin(x)*z", "x=0.3,z=2")
    assert not cc.ok
    x = next(r for r in cc.failures if r.name == "x")
    assert x.rel_engine <= 1e-11  # symbolic and engine agree: cos(x)·z both
    assert x.rel_numeric > cc.rtol  # the finite difference of 1.01·sin says otherwise


# --- the module ------------------------------------------------------------------------------

@pytest.mark.parametrize("f, df, x", [
    (np.exp, np.exp, 1.0), (np.sin, np.cos, 0.3), (np.log, lambda x: 1 / x, 2e-3),
    (np.tanh, lambda x: 1 - np.tanh(x) ** 2, -3.0), (lambda x: x ** 5, lambda x: 5 * x ** 4, 1e3),
])
def test_richardson_error_estimate_bounds_the_true_error(f, df, x):
    h = fdiff.steps(x)
    fs = [(f(x + h * k), f(x - h * k)) for k in fdiff.FRACTIONS]
    d = [(a - b) / ((x + h * k) - (x - h * k)) for (a, b), k in zip(fs, fdiff.FRACTIONS)]
    est = fdiff.richardson(d, h, fdiff.value_noise(*[v for p in fs for v in p]))
    assert abs(est.value - df(x)) <= est.error
    assert est.error <= 1e-6 * abs(df(x))


def test_judge_and_check_derivative():
    e = fdiff.Estimate(np.array([1.0, 1.0, 1.0, np.nan]), np.array([1e-9, 1e-9, 0.5, 0.0]), np.ones(4))
    assert judge(e, np.array([1.0, 1.5, 1.5, 1.0]), 1e-3, 1e-5).tolist() == \
        [AGREE, DISAGREE, UNRESOLVED, UNRESOLVED]
    assert check_derivative(np.cos, 0.4, -math.sin(0.4), rtol=1e-6, atol=1e-9).status == AGREE
    wrong = check_derivative(np.cos, 0.4, math.sin(0.4), rtol=1e-6, atol=1e-9)
    assert wrong.status == DISAGREE and abs(wrong.value + math.sin(0.4)) <= wrong.error
    assert check_derivative(np.sin, 1e22, math.cos(1e22), rtol=1e-3, atol=1e-5).status == UNRESOLVED
