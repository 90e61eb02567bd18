"""Comparing a student's answer with the truth: numbers by tolerance or written figures, expressions by proof.

Numbers are correct when finite and within ``max(rtol·|truth|, atol)`` (defaults
rtol = 1e-3, atol = 1e-8), or when they equal the truth rounded to the significant
figures the student wrote (0.62 for 0.6225), provided they wrote at least
``min_figures`` of them. Expressions are equal when ``simplify(student − truth)`` is 0
within a time budget, otherwise when they agree at random points where both are
defined; when neither settles it the verdict is honestly ``None`` (undecided).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal, localcontext

import sympy as sp

from ..functions import rewrite_elementary
from ..timeout import BudgetExceeded, budget, isolation_available, run_limited
from ..verify import equal_at_random_points

__all__ = ["Tolerance", "figures", "numbers_match", "expressions_equal", "SymbolicResult",
           "DEFAULT_TOLERANCE"]

_DECIMAL_RE = re.compile(r"^[+-]?(?P<int>\d*)(?:\.(?P<frac>\d*))?(?:[eE](?P<exp>[+-]?\d+))?$")


@dataclass(frozen=True)
class Tolerance:
    """How close a number must be.

    Attributes
    ----------
    rtol, atol : float
        Correct when ``|given − truth| <= max(rtol·|truth|, atol)``.
    min_figures : int
        The rounding rule (truth rounded to the figures written) applies only to
        answers written with at least this many significant figures.
    """

    rtol: float = 1e-3
    atol: float = 1e-8
    min_figures: int = 2

    def replace(self, **kw) -> Tolerance:
        return Tolerance(**{**self.__dict__, **{k: v for k, v in kw.items() if v is not None}})


DEFAULT_TOLERANCE = Tolerance()


def figures(text: str) -> tuple[int, int] | None:
    """Significant figures and the decimal place of the last one, for a plain decimal.

    Trailing zeros count (``100`` has 3 figures: a student who writes 100 means 100).
    Returns ``None`` for text that is not a plain decimal, or for zero.

    Examples
    --------
    >>> figures("0.62"), figures("-6.20e-1"), figures("100"), figures("0.0")
    ((2, -2), (3, -3), (3, 0), None)
    """
    m = _DECIMAL_RE.match(text.strip().replace("_", ""))
    if not m or not (m.group("int") or m.group("frac")):
        return None
    whole, frac = m.group("int") or "", m.group("frac") or ""
    if len(m.group("exp") or "") > 12:
        return None  # no float has such an exponent (and int() refuses 4,300+ digits)
    exp = int(m.group("exp") or 0)
    digits = (whole + frac).lstrip("0")
    if not digits:
        return None
    return len(digits), exp - len(frac)


def numbers_match(given: float, text: str | None, truth, tol: Tolerance = DEFAULT_TOLERANCE) -> str | None:
    """How ``given`` matches ``truth``: ``"tolerance"``, ``"rounding"`` or ``None``.

    Examples
    --------
    >>> numbers_match(0.62, "0.62", 0.6225), numbers_match(0.63, "0.63", 0.6225)
    ('rounding', None)
    >>> numbers_match(float("nan"), "nan", 1.0) is None
    True
    """
    g = float(given)
    t = float(truth)
    if not (math.isfinite(g) and math.isfinite(t)):
        return None
    if abs(g - t) <= max(tol.rtol * abs(t), tol.atol):
        return "tolerance"
    fig = figures(text) if text is not None else None
    if text is None or fig is None or fig[0] < tol.min_figures:
        return None
    with localcontext() as ctx:
        ctx.prec = 60
        exact_given = Decimal(text.strip().replace("_", ""))
        exact_truth = Decimal(str(sp.N(truth, 40))) if isinstance(truth, sp.Basic) else Decimal(repr(t))
        half_unit = Decimal(5).scaleb(fig[1] - 1)
        # Inclusive: 0.625 rounds to 0.62 (half-even) or 0.63 (half-up); accept both.
        if abs(exact_given - exact_truth) <= half_unit:
            return "rounding"
    return None


@dataclass(frozen=True)
class SymbolicResult:
    """``equal`` is True, False or None (undecided); ``point`` is a counterexample."""

    equal: bool | None
    method: str                      # "simplify", "random points", "budget" or "undefined"
    point: dict | None = None
    given_value: float | None = None
    expected_value: float | None = None


def expressions_equal(given: sp.Expr, truth: sp.Expr, *, seconds: float = 2.0, points: int = 8,
                      seed: int = 0) -> SymbolicResult:
    """Decide whether two expressions (in the same real symbols) are equal.

    Examples
    --------
    >>> a, b = sp.symbols("a b", real=True)
    >>> expressions_equal((a + b)**2, a**2 + 2*a*b + b**2).equal
    True
    >>> r = expressions_equal(a - b, b - a); r.equal, sorted(r.point)
    (False, ['a', 'b'])
    """
    g, t = rewrite_elementary(given), rewrite_elementary(truth)
    diff = g - t
    symbols = sorted(diff.free_symbols | g.free_symbols | t.free_symbols, key=lambda s: s.name)
    # Student material can make SymPy run for minutes or exhaust memory: both stages run
    # in a worker process (see backproof.timeout), each within ``seconds`` and whatever
    # is left of the caller's budget, and charge it only the time they take.
    if isolation_available():
        try:
            if run_limited(_zero_by_algebra, diff, seconds=seconds):
                return SymbolicResult(True, "simplify")
        except (BudgetExceeded, Exception):
            pass
        try:
            with budget(seconds):
                ok, where = run_limited(_at_random_points, g, t, symbols, points, seed)
        except BudgetExceeded:
            return SymbolicResult(None, "budget")
        except Exception:
            return SymbolicResult(None, "budget")
    else:  # no worker here: the cheap numeric check only, in this process
        ok, where = equal_at_random_points(g, t, symbols, points=points, seed=seed)
    if ok is None:
        return SymbolicResult(None, "undefined")
    if ok:
        return SymbolicResult(True, "random points")
    subs = {s: sp.Rational(repr(where[s.name])) for s in symbols}
    gv, tv = _value_at(g, subs), _value_at(t, subs)
    return SymbolicResult(False, "random points", where, gv, tv)


def _at_random_points(g: sp.Expr, t: sp.Expr, symbols, points: int, seed: int):
    return equal_at_random_points(g, t, symbols, points=points, seed=seed)


def _zero_by_algebra(diff: sp.Expr) -> bool:
    """True when expanding, cancelling or (for modest sizes) simplifying gives 0."""
    if sp.expand(diff) == 0 or sp.cancel(diff) == 0:
        return True
    return sp.count_ops(diff) <= 200 and sp.simplify(diff) == 0


def _value_at(e: sp.Expr, subs) -> float | None:
    try:
        v = complex(sp.N(e.xreplace(subs), 20))
    except (TypeError, ValueError):
        return None
    return v.real
