"""Comparing a student's answer with the truth: numbers by tolerance or written figures, expressions by proof.

Numbers are correct when finite and within ``max(rtol·|truth|, atol)`` (defaults
rtol = 1e-3, atol = 1e-8), or when they equal the truth rounded to the significant
figures the student wrote (0.62 for 0.6225), provided they wrote at least
``min_figures`` of them (:func:`right_to_figures` tells a right answer with fewer
figures from a wrong one; :func:`half_unit` and :class:`Interval` serve the
follow-through of rounded answers in :mod:`backproof.check.diagnose`). Expressions are
equal when ``simplify(student − truth)`` is 0 within a time budget, otherwise when they
agree at random points where both are defined; when neither settles it the verdict is
honestly ``None`` (undecided).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal, localcontext

import sympy as sp

from ..derivation import fold
from ..functions import rewrite_elementary
from ..timeout import BudgetExceeded, budget, isolation_available, run_limited
from ..verify import equal_at_random_points

__all__ = ["Tolerance", "figures", "numbers_match", "expressions_equal", "SymbolicResult",
           "DEFAULT_TOLERANCE", "half_unit", "right_to_figures", "rounded_to", "Interval", "meets", "value_at"]

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


def half_unit(text: str | None) -> float:
    """Half a unit in the last place the student wrote: how far rounding may have moved the value.

    0 for text that is not a plain decimal (``1/3`` is exact) and for zero.

    Examples
    --------
    >>> half_unit("0.20"), half_unit("-6.2e-1"), half_unit("1/3")
    (0.005, 0.005, 0.0)
    """
    fig = figures(text) if text is not None else None
    return float(Decimal(5).scaleb(fig[1] - 1)) if fig is not None else 0.0


def right_to_figures(given: float, text: str | None, truth, tol: Tolerance = DEFAULT_TOLERANCE) -> int | None:
    """How many figures the student wrote, when their text is the truth rounded to that many.

    Unlike :func:`numbers_match` this ignores ``min_figures``: it tells a right answer
    written with too few figures (``0.2`` for 0.196612) from a wrong one.

    Examples
    --------
    >>> right_to_figures(0.2, "0.2", 0.196612), right_to_figures(0.3, "0.3", 0.196612)
    (1, None)
    """
    fig = figures(text) if text is not None else None
    if fig is None or numbers_match(given, text, truth, tol.replace(min_figures=1)) is None:
        return None
    return fig[0]


def rounded_to(x: float, n: int) -> str:
    """``x`` rounded to ``n`` significant figures (half to even), trailing zeros kept.

    Examples
    --------
    >>> rounded_to(0.196612, 2), rounded_to(-1234.5, 2), rounded_to(0.0, 3)
    ('0.20', '-1.2e+3', '0')
    """
    if x == 0 or not math.isfinite(x):
        return format(x, "g")
    d = Decimal(repr(x))
    fixed = _fixed(d, n) if 1e-4 <= abs(x) < 10 ** n else ""
    fig = figures(fixed) if fixed else None
    # Where plain notation would show a different number of figures (99.6 -> 100), write 1.0e+2.
    return fixed if fig is not None and fig[0] == n else format(d, f".{n - 1}e")


def _fixed(d: Decimal, n: int) -> str:
    q = Decimal(1).scaleb(d.adjusted() - n + 1)
    r = d.quantize(q)
    if r.adjusted() > d.adjusted():  # 9.96 -> 10.0 gained a digit: one place fewer
        r = d.quantize(q.scaleb(1))
    return format(r, "f")


@dataclass(frozen=True)
class Interval:
    """A closed interval of real numbers (``lo <= hi``)."""

    lo: float
    hi: float

    def widened(self, r: float) -> Interval:
        return Interval(self.lo - r, self.hi + r)

    def __contains__(self, x: float) -> bool:
        return self.lo <= x <= self.hi


def meets(x: float, r: float, interval: Interval) -> bool:
    """True when ``[x − r, x + r]`` and ``interval`` share a point.

    Examples
    --------
    >>> meets(0.40, 0.005, Interval(0.3932, 0.40)), meets(0.45, 0.005, Interval(0.3932, 0.40))
    (True, False)
    """
    return x + r >= interval.lo and x - r <= interval.hi


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
    v = value_at(e, subs)
    return None if v is None else v.real


def value_at(expr: sp.Expr, subs, digits: int = 20) -> complex | None:
    """``expr`` evaluated at the point ``subs`` (symbol -> number), in time linear in its
    distinct subexpressions; None where it is undefined or not a number.

    An expression written out in the inputs shares its subexpressions: in a chain of
    ``tanh`` statements each one is used twice by the next one's derivative, so evaluating it
    as a tree (``sp.N``) visits exponentially many nodes, and ``sp.cse`` is no faster here
    (12 s for 10 statements). Each distinct subexpression is evaluated once instead, from
    its arguments' values, bottom up.

    Examples
    --------
    >>> x = sp.Symbol("x", real=True)
    >>> round(value_at(sp.tanh(x) + sp.tanh(x) ** 2, {x: sp.Rational(1, 2)}).real, 6)
    0.675669
    """
    known = {k: sp.N(v, digits) for k, v in dict(subs).items()}
    try:
        value = fold(expr, lambda e, args: sp.N(e.func(*args), digits) if e.args else sp.N(e, digits), known)
        v = complex(value)
    except (TypeError, ValueError, ArithmeticError):
        return None
    return v if math.isfinite(v.real) and math.isfinite(v.imag) else None
