"""Proof of a derivation against ``sympy.diff`` of the output written in the inputs.

The oracle is independent of the op table: sigmoid, relu and softplus are first
rewritten into elementary functions (:func:`~backproof.functions.rewrite_elementary`)
and SymPy differentiates those with its own rules. Equality is decided symbolically
when ``simplify`` manages within a size budget, and otherwise by evaluation at random
points where both sides are defined: around the derivation's point when it has one
(the given values plus small relative perturbations, so that the points lie in the
program's domain: ``log(x - 10)`` at ``x = 12`` is never sampled at ``x = 1``), else in a
box. A disagreement raises
:class:`~backproof.errors.VerificationError`: it is a bug, never a footnote.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import sympy as sp

from .errors import VerificationError
from .functions import rewrite_elementary
from .printing import to_text
from .timeout import BudgetExceeded, budget, isolation_available, run_limited

__all__ = ["Proof", "ProofItem", "Skipped", "prove", "equal_at_random_points", "proof_skipped",
           "check_skipped"]

#: Differences with more operations than this are checked numerically only.
SYMBOLIC_PROOF_OPS = 150
#: Random points for the numeric fallback.
NUMERIC_POINTS = 8
#: Points around a given point move each value by up to this fraction of max(|x|, 1),
#: halved after every second rejected candidate (a narrow domain).
AROUND_RADIUS = 0.1
#: Wall-clock budget for one symbolic proof attempt of one gradient (run in a worker process).
PROOF_SECONDS = 1.0
#: Wall-clock budget for all symbolic proofs of one derivation (then: numeric checks).
PROOF_TOTAL_SECONDS = 5.0
#: Wall-clock budget for the whole proof of one derivation: the oracles, the symbolic attempts
#: and the numeric checks (issue 13: every symbolic stage bounded in time). Gradients not
#: reached within it are listed as not proved, and the write-up says so.
PROOF_LIMIT_SECONDS = 10.0


@dataclass(frozen=True)
class ProofItem:
    """One gradient's proof: ``method`` is ``symbolic`` or ``numeric``."""

    name: str
    derived: sp.Expr
    oracle: sp.Expr
    method: str
    points: int = 0


@dataclass(frozen=True, repr=False)
class Proof:
    """Every gradient of a derivation proved equal to ``sympy.diff``."""

    items: tuple[ProofItem, ...]
    #: Gradients the proof did not reach within :data:`PROOF_LIMIT_SECONDS`.
    unproved: tuple[str, ...] = ()

    @property
    def summary(self) -> str:
        """One line for write-ups."""
        if self.unproved:
            head = (f"{len(self.unproved)} gradient{'s' if len(self.unproved) != 1 else ''} not proved "
                    f"(the proof's time budget of {PROOF_LIMIT_SECONDS:g} s was used up before "
                    f"{', '.join(self.unproved)})")
            return head + ("; " + self._proved() if self.items else "")
        return self._proved()

    def _proved(self) -> str:
        sym = sum(1 for i in self.items if i.method == "symbolic")
        num = len(self.items) - sym
        parts = []
        if sym:
            parts.append(f"{sym} proved symbolically (simplify(derived − sympy.diff) = 0)")
        if num:
            pts = sorted({i.points for i in self.items if i.method == "numeric"})
            parts.append(f"{num} checked numerically at {'/'.join(map(str, pts))} random points "
                         f"(symbolic simplification too large, slow or inconclusive)")
        who = "the others equal" if self.unproved else "all gradients equal"
        return f"{who} sympy.diff of the expanded output: " + "; ".join(parts)

    def __repr__(self) -> str:
        # One line: each item holds two expanded expressions.
        sym = sum(1 for i in self.items if i.method == "symbolic")
        return (f"<Proof: {len(self.items)} gradients equal sympy.diff ({sym} symbolically, "
                f"{len(self.items) - sym} at random points)>")


@dataclass(frozen=True)
class Skipped:
    """An oracle (the proof, the numeric cross-check) that did not run, and why.

    Attributes
    ----------
    reason : str
        Why, in a few words (the JSON write-up's ``reason``).
    line : str
        What the write-ups say after ``symbolic:`` or ``numeric:``.
    """

    reason: str
    line: str


def proof_skipped(limits: tuple[str, ...]) -> Skipped:
    """The proof against ``sympy.diff`` not run; the derivation's limits say why.

    Examples
    --------
    >>> proof_skipped(()).reason
    'not requested'
    """
    return Skipped("; ".join(limits) or "not requested", "proof against sympy.diff skipped (see the note below)")


def check_skipped(has_values: bool) -> Skipped:
    """The numeric cross-check not run: without values, or on request (``--no-verify``).

    Examples
    --------
    >>> check_skipped(False).line
    'not run (no values given; use --at)'
    """
    if not has_values:
        return Skipped("no values given", "not run (no values given; use --at)")
    return Skipped("--no-verify", "skipped (--no-verify)")


def _oracle(deriv, name: str) -> sp.Expr:
    """∂output/∂name by sympy.diff: for an intermediate, the output is written in the
    inputs except that name, which is kept as a symbol, then substituted back."""
    prog = deriv.program
    sym = sp.Symbol(name, real=True)
    env: dict[sp.Symbol, sp.Expr] = {}
    for st in prog.statements:
        if st.name == name:
            env[sym] = sym  # keep the intermediate as an independent variable
            continue
        env[sp.Symbol(st.name, real=True)] = st.expr.xreplace(env).doit()
    out = env[sp.Symbol(deriv.output, real=True)]
    d = sp.diff(rewrite_elementary(out), sym)
    if name in prog.assigned:
        full = {sp.Symbol(k, real=True): v for k, v in prog.expanded().items()}
        d = d.xreplace({sym: full[sym]})
    return d


def equal_at_random_points(a: sp.Expr, b: sp.Expr, symbols, *, points: int = NUMERIC_POINTS,
                           seed: int = 0, box=(-2.0, 2.0), rtol: float = 1e-9,
                           atol: float = 1e-12, around=None,
                           defined=()) -> tuple[bool | None, dict | None]:
    """Compare two expressions at random points where both are defined.

    Returns ``(True, None)`` when they agree at ``points`` points, ``(False, point)`` at
    the first point where they differ, ``(None, None)`` when too few points were
    defined to decide (at most ``10 · points`` candidates are tried).

    Parameters
    ----------
    around : mapping, optional
        Symbol name -> value. Candidates are this point with every value moved by a
        uniform fraction of up to :data:`AROUND_RADIUS` of ``max(|x|, 1)`` (halved after
        every second rejected candidate), so they stay in the domain of a program
        checked at that point. Without it, candidates come from ``box`` and, every
        other one, from (0.1, 3) where logs and square roots are defined.
    defined : iterable of sympy.Expr
        Further expressions (the program's output …) that must be defined at a point
        for it to count.

    Candidates where either side or an expression of ``defined`` is undefined (not
    finite, or complex), or where a kink (the argument of ``Abs``, ``sign``,
    ``Heaviside``, a tie of ``Max``/``Min``) is exactly 0, are rejected.

    Examples
    --------
    >>> x = sp.Symbol("x", real=True)
    >>> equal_at_random_points(sp.sin(x)**2, 1 - sp.cos(x)**2, [x])
    (True, None)
    >>> equal_at_random_points(1 / (x - 10), sp.diff(sp.log(x - 10), x), [x], around={"x": 12})
    (True, None)
    """
    rng = random.Random(seed)
    symbols = sorted(symbols, key=lambda s: s.name)
    kinks = _kink_arguments([a, b, *defined])
    centre = None
    if around is not None:
        centre = {s: sp.Float(sp.sympify(around[s.name], strict=True), 30)  # safe: numbers, not user text
                  for s in symbols if s.name in around}
    agreed, tries = 0, 0
    while agreed < points and tries < points * 10:
        tries += 1
        point = _candidate(rng, symbols, centre, box, tries, agreed)
        va, vb = _num(a, point), _num(b, point)
        if va is None or vb is None or not _usable(point, defined, kinks):
            continue
        if abs(va - vb) > max(atol, rtol * max(abs(va), abs(vb))):
            return False, {s.name: float(v) for s, v in point.items()}
        agreed += 1
    return (True, None) if agreed >= max(2, points // 2) else (None, None)


def _candidate(rng: random.Random, symbols, centre, box, tries: int, agreed: int) -> dict:
    """The next random point: around ``centre`` (shrinking as candidates are rejected), else in ``box``."""
    if centre is not None:
        radius = AROUND_RADIUS / 2 ** ((tries - agreed - 1) // 2)
        return {s: (centre[s] + sp.Float(rng.uniform(-1, 1) * radius, 30) * max(abs(centre[s]), 1)
                    if s in centre else sp.Float(rng.uniform(*box), 30)) for s in symbols}
    point = {s: sp.Float(rng.uniform(*box), 30) for s in symbols}
    # Half of the points lie in (0.1, 3): logs and square roots are defined there.
    if tries % 2 == 0:
        point = {s: sp.Float(rng.uniform(0.1, 3.0), 30) for s in symbols}
    return point


def _usable(point, defined, kinks) -> bool:
    """Every expression of ``defined`` is defined at ``point``, and no kink is (numerically) 0."""
    if any(_num(e, point) is None for e in defined):
        return False
    # At (or numerically at) a kink the two sides may follow other conventions.
    return not any(v is None or abs(v) <= 1e-25 for v in (_num(k, point) for k in kinks))


def _kink_arguments(exprs) -> list[sp.Expr]:
    """The expressions that are 0 exactly at a kink of any of ``exprs``."""
    out = []
    for e in exprs:
        for f in sp.sympify(e, strict=True).atoms(sp.Abs, sp.sign, sp.Heaviside):  # safe: SymPy objects
            out.append(f.args[0])
        for f in sp.sympify(e, strict=True).atoms(sp.Max, sp.Min):  # safe: SymPy objects
            args = f.args
            out.extend(args[i] - args[j] for i in range(len(args)) for j in range(i + 1, len(args)))
    return out


def _num(e: sp.Expr, point) -> complex | None:
    try:
        v = sp.N(e.xreplace(point), 30)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if not v.is_number or v.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        return None
    try:
        c = complex(v)
    except TypeError:
        return None
    if abs(c.imag) > 1e-20:
        return None
    return c.real


def prove(deriv) -> Proof:
    """Prove every reported gradient of ``deriv`` equal to the ``sympy.diff`` oracle.

    Raises
    ------
    VerificationError
        When a derived gradient and the oracle differ, naming the gradient and a point.
    """
    inputs = [sp.Symbol(n, real=True) for n in deriv.program.inputs]
    with budget(PROOF_LIMIT_SECONDS) as limit, budget(PROOF_TOTAL_SECONDS) as total:
        return _prove(deriv, inputs, total, limit)


def _cancel_expanded(diff: sp.Expr) -> sp.Expr:
    return sp.cancel(sp.expand(diff))


def _symbolic_proof(diff: sp.Expr, total) -> bool:
    """Whether ``diff`` simplifies to 0 within the time budgets.

    Only for differences of modest size: expanding nested sigmoids (a network's loss) can
    run for many minutes.
    """
    if sp.count_ops(diff) > SYMBOLIC_PROOF_OPS or not isolation_available():
        return False
    for attempt in (_cancel_expanded, sp.simplify):
        if total.remaining() < 0.05:
            return False
        try:
            if run_limited(attempt, diff, seconds=PROOF_SECONDS) == 0:
                return True
        except (BudgetExceeded, Exception):
            pass
    return False


def _numeric_proof(deriv, name: str, derived: sp.Expr, oracle: sp.Expr, inputs, npoints: int,
                   output_expr: sp.Expr | None) -> None:
    """Check ``derived`` against ``oracle`` at random points; raise when they differ or when
    too few points are defined to decide."""
    # Around the derivation's point (in the program's domain), else in a box.
    guard = (rewrite_elementary(output_expr),) if output_expr is not None else ()
    ok, where = equal_at_random_points(rewrite_elementary(derived), oracle, inputs, points=npoints,
                                       around=deriv.at or None, defined=guard)
    if ok is None and deriv.at:
        ok, where = equal_at_random_points(rewrite_elementary(derived), oracle, inputs, points=npoints)
    if ok is False:
        raise VerificationError(
            f"derived ∂{deriv.output}/∂{name} = {to_text(derived)} differs from sympy.diff "
            f"= {to_text(oracle)} at {where}")
    if ok is None:
        raise VerificationError(
            f"could not verify ∂{deriv.output}/∂{name}: neither side is defined at enough "
            f"random points" + (" (around the given point, then in [-2, 3])" if deriv.at else " in [-2, 3]"))


def _prove(deriv, inputs, total, limit) -> Proof:
    items: list[ProofItem] = []
    # The program's output in the inputs: a sample point must lie in its domain too.
    output_expr = deriv.program.expanded().get(deriv.output)
    todo = [name for name in deriv.wrt if deriv.in_inputs.get(name) is not None]
    for k, name in enumerate(todo):
        if limit.expired():
            return Proof(tuple(items), unproved=tuple(todo[k:]))
        derived = deriv.in_inputs[name]
        oracle = _oracle(deriv, name)
        diff = rewrite_elementary(derived) - oracle
        if _symbolic_proof(diff, total):
            items.append(ProofItem(name, derived, oracle, "symbolic", 0))
            continue
        # Large expressions are slow to evaluate in SymPy: fewer points for them.
        npoints = NUMERIC_POINTS if sp.count_ops(diff) <= 4 * SYMBOLIC_PROOF_OPS else 3
        _numeric_proof(deriv, name, derived, oracle, inputs, npoints, output_expr)
        items.append(ProofItem(name, derived, oracle, "numeric", npoints))
    return Proof(tuple(items))
