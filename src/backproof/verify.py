"""Proof of a derivation against ``sympy.diff`` of the output written in the inputs.

The oracle is independent of the op table: sigmoid, relu and softplus are first
rewritten into elementary functions (:func:`~backproof.functions.rewrite_elementary`)
and SymPy differentiates those with its own rules. Equality is decided symbolically
when ``simplify`` manages within a size budget, and otherwise by evaluation at random
points where both sides are defined. A disagreement raises
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

__all__ = ["Proof", "ProofItem", "prove", "equal_at_random_points"]

#: Differences with more operations than this are checked numerically only.
SYMBOLIC_PROOF_OPS = 150
#: Random points for the numeric fallback.
NUMERIC_POINTS = 8
#: Wall-clock budget for one symbolic proof attempt of one gradient (run in a worker process).
PROOF_SECONDS = 1.0
#: Wall-clock budget for all symbolic proofs of one derivation (then: numeric checks).
PROOF_TOTAL_SECONDS = 5.0


@dataclass(frozen=True)
class ProofItem:
    """One gradient's proof: ``method`` is ``symbolic`` or ``numeric``."""

    name: str
    derived: sp.Expr
    oracle: sp.Expr
    method: str
    points: int = 0


@dataclass(frozen=True)
class Proof:
    """Every gradient of a derivation proved equal to ``sympy.diff``."""

    items: tuple[ProofItem, ...]

    @property
    def summary(self) -> str:
        """One line for write-ups."""
        sym = sum(1 for i in self.items if i.method == "symbolic")
        num = len(self.items) - sym
        parts = []
        if sym:
            parts.append(f"{sym} proved symbolically (simplify(derived − sympy.diff) = 0)")
        if num:
            pts = sorted({i.points for i in self.items if i.method == "numeric"})
            parts.append(f"{num} checked numerically at {'/'.join(map(str, pts))} random points "
                         f"(symbolic simplification too large, slow or inconclusive)")
        return "all gradients equal sympy.diff of the expanded output: " + "; ".join(parts)


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
                           atol: float = 1e-12) -> tuple[bool | None, dict | None]:
    """Compare two expressions at random points where both are defined.

    Returns ``(True, None)`` when they agree at ``points`` points, ``(False, point)`` at
    the first point where they differ, ``(None, None)`` when too few points were
    defined to decide. Points avoid kinks by being drawn from a continuous box.

    Examples
    --------
    >>> x = sp.Symbol("x", real=True)
    >>> equal_at_random_points(sp.sin(x)**2, 1 - sp.cos(x)**2, [x])
    (True, None)
    """
    rng = random.Random(seed)
    symbols = sorted(symbols, key=lambda s: s.name)
    agreed, tries = 0, 0
    while agreed < points and tries < points * 10:
        tries += 1
        point = {s: sp.Float(rng.uniform(*box), 30) for s in symbols}
        # Half of the points lie in (0.1, 3): logs and square roots are defined there.
        if tries % 2 == 0:
            point = {s: sp.Float(rng.uniform(0.1, 3.0), 30) for s in symbols}
        va, vb = _num(a, point), _num(b, point)
        if va is None or vb is None:
            continue
        if abs(va - vb) > max(atol, rtol * max(abs(va), abs(vb))):
            return False, {s.name: float(v) for s, v in point.items()}
        agreed += 1
    return (True, None) if agreed >= max(2, points // 2) else (None, None)


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
    with budget(PROOF_TOTAL_SECONDS) as total:
        return _prove(deriv, inputs, total)


def _cancel_expanded(diff: sp.Expr) -> sp.Expr:
    return sp.cancel(sp.expand(diff))


def _prove(deriv, inputs, total) -> Proof:
    items = []
    for name in deriv.wrt:
        derived = deriv.in_inputs.get(name)
        if derived is None:
            continue
        oracle = _oracle(deriv, name)
        diff = rewrite_elementary(derived) - oracle
        method = None
        # Symbolic proof only for differences of modest size and within a time budget:
        # expanding nested sigmoids (a network's loss) can run for many minutes.
        size = sp.count_ops(diff)
        if size <= SYMBOLIC_PROOF_OPS and isolation_available():
            for attempt in (_cancel_expanded, sp.simplify):
                if total.remaining() < 0.05:
                    break
                try:
                    if run_limited(attempt, diff, seconds=PROOF_SECONDS) == 0:
                        method = "symbolic"
                except (BudgetExceeded, Exception):  # noqa: BLE001 - try the next way
                    pass
                if method:
                    break
        if method is None:
            # Large expressions are slow to evaluate in SymPy: fewer points for them.
            npoints = NUMERIC_POINTS if size <= 4 * SYMBOLIC_PROOF_OPS else 3
            ok, where = equal_at_random_points(rewrite_elementary(derived), oracle, inputs, points=npoints)
            if ok is False:
                raise VerificationError(
                    f"derived ∂{deriv.output}/∂{name} = {to_text(derived)} differs from sympy.diff "
                    f"= {to_text(oracle)} at {where}")
            method = "numeric" if ok else "undecided"
            if ok is None:
                raise VerificationError(
                    f"could not verify ∂{deriv.output}/∂{name}: neither side is defined at enough "
                    f"random points")
        items.append(ProofItem(name, derived, oracle, method, 0 if method == "symbolic" else npoints))
    return Proof(tuple(items))
