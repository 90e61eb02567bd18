"""Three-way cross-check of every gradient: symbolic chain rule vs NumPy engine vs finite differences.

For each gradient ∂output/∂name (every input and named intermediate, or those asked
for) :func:`crosscheck` puts three independently computed numbers side by side:

symbolic
    :func:`backproof.derivation.derive` at the point, exactly (rationals, 30-digit
    floats), then rounded to float64. Built from the op table's SymPy partials.
engine
    :func:`backproof.engine.grad`, the reverse-mode NumPy engine, built from the op
    table's hand-written NumPy VJPs (it never imports SymPy).
numeric
    a central difference ``(f(v + h) − f(v − h)) / 2h`` of the output, computed by the
    engine's *forward* pass only. For an intermediate the engine overrides that node's
    value, so the difference is taken with the intermediate as an independent variable,
    exactly what ∂output/∂intermediate means in backpropagation.

Relative errors are CS231n's ``|a − b| / max(|a|, |b|)`` with a floor under the
denominator, so a gradient of 0 compares absolutely:

* engine vs symbolic: both are exact formulas, the engine's evaluated in float64, so
  they must agree to ``rel ≤`` :data:`ENGINE_RTOL` (floor ``ENGINE_ATOL / ENGINE_RTOL``)
  or, where the chain rule adds up terms that cancel, to within the engine's own
  rounding: ``|e − s| ≤ ENGINE_ULPS · eps · A`` with ``A`` the gradient computed with
  the absolute value of every local partial (the sum of the magnitudes of the terms the
  engine adds up);
* finite differences vs symbolic: the finite difference comes with its own error
  estimate (:mod:`backproof.fdiff`: Richardson extrapolation over three steps, plus the
  rounding error of the output, ``eps · Σ |∂output/∂w| · |w|`` over the operations
  downstream of the perturbed node). Within ``max(atol, rtol · max(|n|, |s|))`` plus that
  error is "agree"; where the error is comparable to the value (cancellation, a
  function oscillating faster than any step float64 can take, subnormal values) the
  verdict is ``"inconclusive"`` (finite differences cannot resolve this scale): not a
  failure of the derivation, and symbolic and engine must still agree.

Points. Both sides are evaluated at the same float64 point: the symbolic side at the
exact binary value of each float the engine receives (for ``0.3`` that is
0.299999999999999988898…), so an ill-conditioned program cannot make two correct
computations look different. ``points=N`` checks N points in one batched engine call:
the given point first, then N − 1 points drawn uniformly within ±:data:`RADIUS` ·
max(1, |x|) of each given value; with no point given, N points uniformly in ``box``
(default (−2, 2) for every input). Random points where the program is undefined
(log of a negative number …) are redrawn. Each row reports the worst point.

Cost. One batched engine pass for every point; the finite differences of all the
gradients share batched forward passes too (the engine adds ``±h`` to one node per
slice of the batch), chunked to bound memory; every gradient is differenced up to the work
budget ``crosscheck_fd_work`` (gradients × nodes, :mod:`backproof.limits`), past it an evenly
spread subset is and the others are compared symbolic against engine only (the summary says
how many). The program is derived once: exactly at the first point, with the gradients in
node names when there are other points, where those expressions are evaluated in float64 by the
engine's *forward* pass (the op table's NumPy forwards, never its VJPs, and no code
generated from user text). That evaluation must reproduce the exact value at the first point or it
is not used at all; any other point where it disagrees is re-derived exactly (up to
:data:`EXACT_RECHECKS` points) before a disagreement is reported. Graphs beyond
:data:`~backproof.derivation.SYMBOLIC_LIMIT` nodes fall back to an exact derivation per
point (about 0.1 s per point per 200 nodes).

The derivation being checked can be passed (``derivation=``, as
:func:`backproof.api.explain` does): it is then not derived again. When its point is not a
float64 (0.3), the exact gradients at the binary value come from the derivation's own
stages (forward values, local partials, backward sweep) run on its graph, without a second
graph, steps or forms; its gradients in node names are reused for the other points.

Kinks downstream of a name are found by one reverse sweep over the tape per cross-check
(the first kink at its kink on a path to the output), not from the transitive closure.

Verdicts, by severity: "agree", "not differentiable", "inconclusive", "disagree".

Kinks. Where ReLU, ``max``/``min`` (a tie), ``abs``, ``step`` or ``sign`` sits exactly
at its kink on a path from the name to the output, the verdict is
``"not differentiable"`` with the convention the op table uses; symbolic and engine
must still agree there. A finite difference whose step straddles a kink (the point is
differentiable but within ``h`` of a kink) is retried with a 1000× smaller step and
otherwise left out (``numeric`` is ``nan``, with a note), never reported as a failure.
A finite difference that disagrees is only believed when it is resolved (its error
estimate small against its value) at both steps and both steps say the same; a pole
within reach of the step makes it unresolved ("inconclusive").
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

import networkx as nx
import numpy as np
import sympy as sp

from . import limits as _limits
from .derivation import (
    SYMBOLIC_LIMIT,
    SYMBOLIC_SIZE_LIMIT,
    Derivation,
    backward_sweep,
    forward_values,
    largest_symbolic,
    local_partials,
)
from .engine.graph_engine import backward, forward
from .errors import BackproofError, ProgramError
from .fdiff import (
    AGREE,
    ATOL,
    DISAGREE,
    EPS,
    FRACTIONS,
    INCONCLUSIVE,
    NOT_TAKEN,
    RTOL,
    SCALES,
    STEP,
    UNRESOLVED,
    UPSCALE,
    combine,
    judge,
    richardson,
    steps,
    value_noise,
)
from .graph import Tape, TapeEntry, build_graph, node_label, to_tape, topological_order
from .inputs import coerce_at
from .ops import OPS, Op
from .parse import parse_program
from .program import Program, Statement

__all__ = ["CheckRow", "CrossCheck", "crosscheck", "relative_error",
           "ENGINE_RTOL", "ENGINE_ATOL", "ENGINE_ULPS", "RADIUS", "STEP", "EXACT_RECHECKS"]

#: Engine vs symbolic: both exact formulas in float64.
ENGINE_RTOL = 1e-11
#: Absolute floor for engine vs symbolic (gradients near 0, cancellation).
ENGINE_ATOL = 1e-12
#: Engine vs symbolic where terms cancel: within this many eps of the sum of the
#: magnitudes of the terms the engine adds up (its rounding error is at most about one
#: half-ulp per operation on each term).
ENGINE_ULPS = 8
#: Random points lie within ± RADIUS · max(1, |x|) of each given value.
RADIUS = 0.5
#: At most this many points are re-derived exactly when the float64 evaluation of the
#: symbolic gradients disagrees there.
EXACT_RECHECKS = 20
#: How many candidate points are drawn per point wanted, per round, and how many rounds.
_OVERSAMPLE, _ROUNDS = 4, 8

_SEVERITY = {"agree": 0, "not differentiable": 1, "inconclusive": 2, "disagree": 3}
_VERDICTS = tuple(_SEVERITY)



@dataclass(frozen=True)
class CheckRow:
    """One gradient's three values, their relative errors and the verdict.

    ``numeric`` and ``rel_numeric`` are ``nan`` when no finite difference could be
    taken (a kink within the step, or the step leaves the domain); ``note`` says why.
    ``numeric_error`` is the finite difference's own error estimate (``inf`` when it
    could not be estimated). ``"inconclusive"`` means the finite difference cannot
    resolve the value at this scale (symbolic and engine agree); it is not a failure.
    ``point`` is the point of the worst case when more than one point was checked (or
    the random point when none was given).
    """

    name: str
    symbolic: float
    engine: float
    numeric: float
    rel_engine: float
    rel_numeric: float
    verdict: str          # "agree" | "not differentiable" | "inconclusive" | "disagree"
    note: str = ""
    point: dict | None = None
    numeric_error: float = math.nan


@dataclass(frozen=True, repr=False)
class CrossCheck:
    """The cross-check of every gradient of ``output``: one :class:`CheckRow` each."""

    output: str
    rows: tuple[CheckRow, ...]
    points: int
    rtol: float
    atol: float
    #: Gradients not finite-differenced (over the budget crosscheck_fd_work; issue 13).
    fd_skipped: int = 0

    @property
    def ok(self) -> bool:
        """True when no gradient disagrees ("not differentiable" and "inconclusive" are not failures)."""
        return not self.failures

    @property
    def failures(self) -> tuple[CheckRow, ...]:
        """The rows whose verdict is ``"disagree"``."""
        return tuple(r for r in self.rows if r.verdict == "disagree")

    @property
    def summary(self) -> str:
        """One line: how many gradients at how many points, the verdicts, the worst errors."""
        n = len(self.rows)
        head = (f"{n} gradient{'s' if n != 1 else ''} × {self.points} "
                f"point{'s' if self.points != 1 else ''}")
        errs = _error_parts(self.rows)
        tail = f" ({', '.join(errs)})" if errs else ""
        if self.fd_skipped:
            tail += (f"; finite differences for {n - self.fd_skipped} of {n} gradients "
                     f"(limit crosscheck_fd_work)")
        return f"{head}: {', '.join(_verdict_parts(self.rows))}{tail}"

    def __repr__(self) -> str:
        # One line: every row's errors at every point would fill a notebook's screen.
        text = self.summary
        return f"<CrossCheck of {self.output}: {text if len(text) <= 160 else text[:159] + '…'}>"

    def to_dict(self) -> dict:
        """JSON-ready: non-finite numbers become ``None``.

        Examples
        --------
        >>> d = crosscheck("y = a*b", at="a=2,b=3").to_dict()
        >>> d["ok"], [(r["name"], r["symbolic"], r["verdict"]) for r in d["rows"]]
        (True, [('a', 3.0, 'agree'), ('b', 2.0, 'agree')])
        """
        return {
            "output": self.output,
            "points": self.points,
            "rtol": self.rtol,
            "atol": self.atol,
            "engine_rtol": ENGINE_RTOL,
            "engine_atol": ENGINE_ATOL,
            "engine_ulps": ENGINE_ULPS,
            "ok": self.ok,
            "summary": self.summary,
            "rows": [{
                "name": r.name,
                "symbolic": _json_float(r.symbolic),
                "engine": _json_float(r.engine),
                "numeric": _json_float(r.numeric),
                "rel_engine": _json_float(r.rel_engine),
                "rel_numeric": _json_float(r.rel_numeric),
                "numeric_error": _json_float(r.numeric_error),
                "verdict": r.verdict,
                "note": r.note,
                "point": None if r.point is None else {k: _json_float(v) for k, v in r.point.items()},
            } for r in self.rows],
        }


def _verdict_parts(rows: tuple[CheckRow, ...]) -> list[str]:
    """The verdicts of the summary: the disagreements by name, or "all agree", then counts."""
    counts = {v: sum(1 for r in rows if r.verdict == v) for v in _SEVERITY}
    if counts["disagree"]:
        names = ", ".join(r.name for r in rows if r.verdict == "disagree")
        parts = [f"{counts['disagree']} disagree ({names})"]
    elif counts["not differentiable"] == 0 and counts["inconclusive"] == 0:
        return ["all agree"]
    else:
        parts = []
    if counts["agree"]:
        parts.append(f"{counts['agree']} agree")
    if counts["not differentiable"]:
        parts.append(f"{counts['not differentiable']} not differentiable here")
    if counts["inconclusive"]:
        parts.append(f"{counts['inconclusive']} inconclusive (finite differences cannot "
                     f"resolve this scale; symbolic and engine agree, not a failure)")
    return parts


def _error_parts(rows: tuple[CheckRow, ...]) -> list[str]:
    """The worst relative errors of the summary (engine, finite differences)."""
    eng = [r.rel_engine for r in rows if math.isfinite(r.rel_engine)]
    # A secant across a kink, or a difference that cannot resolve the value, is shown
    # in its row but is not a finite-difference check.
    num = [r.rel_numeric for r in rows
           if math.isfinite(r.rel_numeric) and r.verdict in ("agree", "disagree")]
    errs = []
    if eng:
        errs.append(f"engine ≤ {_sci(max(eng))}")
    if num:
        errs.append(f"finite differences ≤ {_sci(max(num))}")
    return errs


def _json_float(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _sci(x: float) -> str:
    if x == 0:
        return "0"
    mant, exp = f"{x:.0e}".split("e")
    return f"{mant}e{int(exp)}"


def relative_error(a, b, floor: float = 0.0):
    """CS231n's relative error ``|a − b| / max(|a|, |b|, floor)`` (0 when both are 0).

    Works elementwise on arrays.

    Examples
    --------
    >>> float(relative_error(3.0, 4.0)), float(relative_error(0.0, 0.5, floor=2.0))
    (0.25, 0.25)
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    with np.errstate(all="ignore"):
        den = np.maximum(np.maximum(np.abs(a), np.abs(b)), floor)
        rel = np.abs(a - b) / den
    return np.where(a == b, 0.0, rel)


# --- the stages' data -----------------------------------------------------------------

@dataclass(frozen=True)
class _Problem:
    """What is checked: the program (cut to its output), its graph and tape, the names
    whose gradients are checked, the given point (float64) and the caller's derivation."""

    program: Program
    graph: nx.MultiDiGraph
    tape: Tape
    rows: tuple[str, ...]
    given: dict[str, float] | None
    derivation: Derivation | None


@dataclass(frozen=True)
class _Context:
    """The points, the engine's values and gradients, and what the judgement reads from
    the tape: the kinks and where they sit, descendants, the engine's rounding slack and
    the rounding noise of the output (arrays over the points)."""

    problem: _Problem
    pts: dict[str, np.ndarray]
    values: dict[str, np.ndarray]
    n: int
    kinks: tuple[TapeEntry, ...]
    base_branch: dict[str, np.ndarray]
    first_kink: dict[str, np.ndarray]
    at_kink: dict[str, np.ndarray]
    engine: dict[str, np.ndarray]
    engine_slack: dict[str, np.ndarray]
    noise: dict[str, np.ndarray]


class _Numeric(NamedTuple):
    """A row's finite differences at every point: the estimate (the secant at a kink),
    its error, fdiff's status and the reason it was not taken or not resolved."""

    value: np.ndarray
    error: np.ndarray
    status: np.ndarray
    reason: np.ndarray


class _Judged(NamedTuple):
    """A row's relative errors, verdict codes and badness (for the worst point)."""

    rel_engine: np.ndarray
    rel_numeric: np.ndarray
    verdict: np.ndarray
    badness: np.ndarray


def _op(e: TapeEntry) -> Op:
    return OPS[e.op or ""]


# --- inputs ---------------------------------------------------------------------------

def _program(program, of: str | None) -> Program:
    if isinstance(program, Program):
        prog = program
    elif isinstance(program, str):
        prog = parse_program(program)
    elif isinstance(program, (sp.Basic, Mapping)):
        prog = Program.from_sympy(program)
    else:
        raise ProgramError(f"expected program text, a Program or a SymPy expression, "
                           f"got {type(program).__name__}")
    return prog.with_output(of) if of else prog


def _rows(prog: Program, g, wrt) -> tuple[str, ...]:
    names_all = ([n for n in prog.inputs if n in g]
                 + [s.name for s in prog.statements if s.name in g])
    if wrt is None:
        return tuple(n for n in names_all if n != prog.output)
    if isinstance(wrt, str):
        wrt = [w.strip() for w in wrt.split(",") if w.strip()]
    rows = tuple(wrt)
    for n in rows:
        if n not in names_all:
            raise ProgramError(f"unknown name {n!r} in wrt (must be one of: {', '.join(names_all)})")
    if not rows:
        raise ProgramError(f"wrt is empty (names: {', '.join(names_all)})")
    return rows


def _given_point(at, inputs: tuple[str, ...]) -> dict[str, float] | None:
    exact = coerce_at(at)
    if exact is None:
        return None
    missing = [n for n in inputs if n not in exact]
    if missing:
        raise ProgramError(f"no value given for input{'s' if len(missing) > 1 else ''} "
                           f"{', '.join(missing)} (give --at {'=…,'.join(missing)}=…)")
    extra = [n for n in exact if n not in inputs]
    if extra:
        raise ProgramError(f"--at names {', '.join(extra)}, which the output does not use "
                           f"(inputs: {', '.join(inputs) or 'none'})")
    out = {}
    for n in inputs:
        v = float(sp.N(exact[n], 30)) if not exact[n].is_Rational else float(exact[n])
        if not math.isfinite(v):
            raise ProgramError(f"value of {n!r} is too large for float64 ({exact[n]})")
        out[n] = v
    return out


def _draw_points(tape, given, n: int, seed: int, box) -> dict[str, np.ndarray]:
    """``n`` points (the given one first) where the engine's values and gradients are finite."""
    names = tuple(tape.inputs)
    rng = np.random.default_rng(seed)
    if given is not None:
        first = {k: np.array([v]) for k, v in given.items()}
        want = n - 1
    else:
        first = {k: np.empty(0) for k in names}
        want = n
    got = {k: [first[k]] for k in names}
    have = 0
    lo, hi = box
    for _ in range(_ROUNDS):
        if have >= want or not names:
            break
        m = max(_OVERSAMPLE * (want - have), 8)
        if given is not None:
            cand = {k: given[k] + rng.uniform(-1, 1, m) * RADIUS * max(1.0, abs(given[k]))
                    for k in names}
        else:
            cand = {k: rng.uniform(lo, hi, m) for k in names}
        vals = forward(tape, cand, strict=False)
        grads = backward(tape, vals, strict=False)
        ok = np.ones(m, dtype=bool)
        for arr in list(vals.values()) + list(grads.values()):
            ok &= np.all(np.isfinite(np.broadcast_to(arr, (m,))).reshape(m, -1), axis=1)
        idx = np.flatnonzero(ok)[: want - have]
        for k in names:
            got[k].append(cand[k][idx])
        have += len(idx)
    if names and have < want:
        where = (f"within ±{RADIUS:g}·max(1, |x|) of the given point" if given is not None
                 else f"in the box [{lo:g}, {hi:g}] for every input")
        raise ProgramError(f"found only {have} of {want} random points {where} where the "
                           f"program and its gradients are defined (try fewer --points)")
    pts = {k: np.concatenate(got[k]) for k in names}
    return pts


# --- the three sides ------------------------------------------------------------------

def _exact_point(point: Mapping[str, float]) -> dict[str, sp.Rational]:
    """The exact binary value of every float64 coordinate."""
    return {k: sp.Rational(v) for k, v in point.items()}


class _Sweep(NamedTuple):
    """The symbolic side at the first point: exact gradients, and the gradients in node
    names (empty when not needed or beyond :data:`~backproof.derivation.SYMBOLIC_LIMIT`)."""

    gradients: Mapping[str, sp.Expr]
    symbolic: Mapping[str, sp.Expr]


def _sweep(problem: _Problem, point: Mapping[str, float], symbolic: bool = False) -> _Sweep:
    """The derivation's own stages (forward values, local partials, backward sweep) run on
    the graph being checked at the exact binary value of each float64 coordinate: the
    chain rule exactly as :func:`~backproof.derivation.derive` applies it, without the
    steps, the write-up's forms or a second graph (issue 13: a second full ``derive`` was
    three quarters of ``explain`` on large programs)."""
    g, out = problem.graph, problem.program.output
    order = topological_order(g)
    fwd = forward_values(g, order, _exact_point(point))
    symbolic = symbolic and g.number_of_nodes() <= SYMBOLIC_LIMIT
    pairs = local_partials(g, order, out, fwd, symbolic)
    back = backward_sweep(g, order, out, pairs, True, symbolic, fwd.note)
    # Forms too large to write are too large to evaluate: then exact point by point.
    keep = symbolic and largest_symbolic(back.symbolic) <= SYMBOLIC_SIZE_LIMIT
    return _Sweep(back.gradients, back.symbolic if keep else {})


def _exact_symbolic(problem: _Problem, point: Mapping[str, float]) -> dict[str, float]:
    """Every row's gradient, exact at the float64 point, then rounded to float."""
    grads = _sweep(problem, point).gradients
    return {r: float(grads[r]) for r in problem.rows}


def _reusable(d: Derivation | None, point: Mapping[str, float]) -> bool:
    """Whether ``d`` was derived exactly at the float64 point the engine sees."""
    if d is None or d.at is None:
        return False
    exact = _exact_point(point)
    return all(k in d.at and d.at[k].is_Rational and d.at[k] == v for k, v in exact.items())


def _first_derivation(problem: _Problem, point: Mapping[str, float], n: int) -> _Sweep:
    """The symbolic side the cross-check needs: exact at the first point, and with the
    gradients in node names when there are other points (evaluated there in float64).

    The caller's derivation is reused: its gradients when it was made at exactly this
    point, its gradients in node names (they do not depend on the point) always; what it
    lacks is computed by its own stages on its own graph (:func:`_sweep`), never by a
    second ``derive``."""
    d = problem.derivation
    need_sym = n > 1
    have_sym = d is not None and all(r in d.symbolic for r in problem.rows)
    if d is not None and _reusable(d, point) and (not need_sym or have_sym):
        return _Sweep(d.gradients, d.symbolic)
    sweep = _sweep(problem, point, symbolic=need_sym and not have_sym)
    if have_sym and d is not None:
        return _Sweep(sweep.gradients, d.symbolic)
    return sweep


def _float_symbolic(prog: Program, rows, forms: Mapping[str, sp.Expr]):
    """A function points -> {row: float64 array} evaluating the gradients in node names
    (``forms``, from the derivation) in float64, or None when there are none.

    The gradients in node names are appended to the program as extra statements and
    the whole is evaluated by the engine's *forward* pass (the op table's NumPy
    forwards, never its VJPs), so no code is generated from user text (no
    ``lambdify``) and the evaluation stays independent of the backward pass it checks.
    """
    if any(r not in forms for r in rows):
        return None
    taken = set(prog.assigned) | set(prog.inputs)
    out_names = {}
    for i, r in enumerate(rows):
        name = f"_grad{i}"
        while name in taken:
            name = "_" + name
        out_names[r] = name
    extra = [Statement(out_names[r], forms[r]) for r in rows]
    # One tape for all gradients: a final statement that uses every one of them keeps
    # them all in the graph, and one forward pass evaluates them together.
    total = "_all"
    while total in taken:
        total = "_" + total
    join = Statement(total, sp.Add(*[sp.Symbol(x.name, real=True) for x in extra], evaluate=False)
                     if len(extra) > 1 else sp.Symbol(extra[0].name, real=True))
    try:
        tape = to_tape(build_graph(Program(tuple(prog.statements) + tuple(extra) + (join,), total)))
    except BackproofError:  # a form the graph cannot draw: fall back to exact derive
        return None

    def evaluate(pts: dict[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
        vals = forward(tape, {k: pts[k] for k in tape.inputs}, strict=False)
        return {r: np.broadcast_to(np.asarray(vals[out_names[r]], dtype=float), (n,)).copy()
                for r in rows}

    return evaluate


def _point(pts: Mapping[str, np.ndarray], i: int) -> dict[str, float]:
    return {k: float(v[i]) for k, v in pts.items()}


def _symbolic_side(problem: _Problem, first: _Sweep, pts: dict[str, np.ndarray],
                   n: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Every row's symbolic gradient at every point, and which points are exact.

    Exact at the first point (``first``); elsewhere the derivation's gradients in node
    names evaluated in float64, trusted only if that evaluation reproduces the exact
    value at the first point (a printer or graph bug would otherwise pass for a
    disagreement between the engine and the derivation); otherwise exact, point by point.
    """
    rows = problem.rows
    symbolic = {r: np.full(n, np.nan) for r in rows}
    for r in rows:
        symbolic[r][0] = float(first.gradients[r])
    exact = np.zeros(n, dtype=bool)
    exact[0] = True
    if n == 1:
        return symbolic, exact
    evaluate = _float_symbolic(problem.program, rows, first.symbolic)
    fl = evaluate(pts, n) if evaluate is not None else None
    if fl is not None and all(relative_error(fl[r][0], symbolic[r][0], ENGINE_ATOL / ENGINE_RTOL)
                              <= ENGINE_RTOL for r in rows):
        for r in rows:
            symbolic[r][1:] = fl[r][1:]
        return symbolic, exact
    for i in range(1, n):
        ex = _exact_symbolic(problem, _point(pts, i))
        for r in rows:
            symbolic[r][i] = ex[r]
    return symbolic, np.ones(n, dtype=bool)


class Descendants:
    """Every node's descendants on the tape, as one bit set per node (bit i: the i-th entry).

    A set of ids per node held the whole transitive closure as Python sets (54 M entries,
    2.6 GB at 10.7k nodes, issue 13); bits take n²/8 bytes and a union is one integer OR.
    ``d.has(r, w)``: is ``w`` downstream of ``r``; ``d.mask(r)``: which tape entries are.
    """

    def __init__(self, tape):
        ids = [e.id for e in tape.entries]
        self._ids = ids
        index = {n: i for i, n in enumerate(ids)}
        self._index = index
        consumers: list[list[int]] = [[] for _ in ids]
        for e in tape.entries:
            for u in e.operands:
                consumers[index[u]].append(index[e.id])
        bits = [0] * len(ids)
        for i in range(len(ids) - 1, -1, -1):  # the tape is in topological order
            b = 0
            for w in consumers[i]:
                b |= (1 << w) | bits[w]
            bits[i] = b
        self._bits = bits

    def has(self, r: str, w: str) -> bool:
        return bool(self._bits[self._index[r]] >> self._index[w] & 1)

    def mask(self, r: str) -> np.ndarray:
        """Booleans over the tape's entries: True where the entry is downstream of ``r``."""
        n = len(self._ids)
        raw = self._bits[self._index[r]].to_bytes((n + 7) // 8, "little")
        return np.unpackbits(np.frombuffer(raw, dtype=np.uint8), bitorder="little")[:n].astype(bool)


def _branches(kinks, values, shape) -> dict[str, np.ndarray]:
    """Each kink's branch value (0 exactly at the kink) at every point."""
    out = {}
    with np.errstate(all="ignore"):
        for e in kinks:
            branch = _op(e).branch
            if branch is not None:  # always: kinks are the entries whose op has a branch
                out[e.id] = np.broadcast_to(branch(*[values[u] for u in e.operands]), shape)
    return out


#: Finite differences of many gradients share one batched forward pass, in chunks
#: that keep (nodes × batch) under this many float64 values (about 64 MB).
_FD_BUDGET = 8_000_000


#: Rounding noise is summed per row over its downstream operations while
#: (rows × operations) stays under this; beyond it, over all operations.
_NOISE_BUDGET = 4_000_000


def _abs_adjoints(tape, values, shape) -> dict[str, np.ndarray]:
    """∂output/∂node with the absolute value of every local partial: the sum of the
    magnitudes of the terms the engine adds up, which bounds its rounding error."""
    kind = {e.id: e.kind for e in tape.entries}
    acc: dict[str, np.ndarray] = {tape.output: np.ones(shape)}
    with np.errstate(all="ignore"):
        for e in reversed(tape.entries):
            if e.kind in ("input", "const") or e.id not in acc:
                continue
            contribs = _op(e).np_vjp(acc[e.id], values[e.id], *[values[u] for u in e.operands])
            for u, c in zip(e.operands, contribs):
                if kind[u] != "const":
                    c = np.abs(np.broadcast_to(np.asarray(c, dtype=float), shape))
                    acc[u] = acc[u] + c if u in acc else c
    return acc


def _graph_noise(tape, values, grads, rows, n: int) -> dict[str, np.ndarray]:
    """Rounding error of the output as node r moves: ``eps · Σ |∂output/∂w| · |w|`` over
    the operations w downstream of r (upstream ones round the same way on both sides)."""
    ops = [e.id for e in tape.entries if e.kind == "op" and e.id in grads]
    with np.errstate(all="ignore"):
        terms = np.array([np.abs(np.broadcast_to(grads[w], (n,)) * np.broadcast_to(values[w], (n,)))
                          for w in ops]).reshape(len(ops), n)
    if len(rows) * len(ops) > _NOISE_BUDGET:
        # Too many (row, operation) pairs to sum per row: every row gets the sum over all
        # operations, an over-estimate (upstream rounding cancels) that costs O(nodes).
        total = EPS * terms.sum(axis=0)
        return {r: total for r in rows}
    desc = Descendants(tape)  # n²/8 bytes, built only under the budget above
    position = {e.id: i for i, e in enumerate(tape.entries)}
    columns = np.array([position[w] for w in ops], dtype=int)
    pick = np.zeros((len(rows), len(ops)))
    for k, r in enumerate(rows):
        pick[k] = desc.mask(r)[columns]
    with np.errstate(all="ignore"):
        sums = EPS * (pick @ terms)
    return {r: sums[k] for k, r in enumerate(rows)}


def _central_many(tape, pts, values, rows, hs, kinks, base_branch, n: int):
    """Central differences for several nodes, at every step of :data:`~backproof.fdiff.FRACTIONS`,
    in one batched forward pass per chunk.

    ``hs[r]`` is node ``r``'s base step per point. The batch has shape ``(2 · F · rows, n)``
    (F steps): slices ``2 · (F·k + j)`` and ``2 · (F·k + j) + 1`` move row ``k``'s node by
    ``±h · FRACTIONS[j]``, every other slice by exactly 0. Returns
    ``{row: (differences, noise of the values taken, straddles a kink)}``.
    """
    out = {}
    per = 2 * len(FRACTIONS)
    chunk = max(1, _FD_BUDGET // max(1, per * n * len(tape.entries)))
    for start in range(0, len(rows), chunk):
        part = rows[start:start + chunk]
        m = len(part)
        deltas: dict[str, np.ndarray] = {}
        for k, r in enumerate(part):
            d = deltas.setdefault(r, np.zeros((per * m, n)))
            for j, fr in enumerate(FRACTIONS):
                d[per * k + 2 * j] += hs[r] * fr
                d[per * k + 2 * j + 1] -= hs[r] * fr
        vals = forward(tape, pts, perturb=deltas, strict=False)
        f = np.broadcast_to(vals[tape.output], (per * m, n))
        # Which slices moved any kink to its other side: one pass over the kinks per chunk
        # (per row, it was rows × kinks, quadratic; issue 13).
        crossed = np.zeros((per * m, n), dtype=bool)
        for kid, b in _branches(kinks, vals, (per * m, n)).items():
            crossed |= np.sign(b) != np.sign(base_branch[kid])
        for k, r in enumerate(part):
            v = np.broadcast_to(values[r], (n,))
            diffs = []
            for j, fr in enumerate(FRACTIONS):
                h = hs[r] * fr
                with np.errstate(all="ignore"):
                    # Divide by the step actually taken: v ± h rounds.
                    diffs.append((f[per * k + 2 * j] - f[per * k + 2 * j + 1]) / ((v + h) - (v - h)))
            mine = f[per * k: per * (k + 1)]
            straddle = np.any(crossed[per * k: per * (k + 1)], axis=0)
            out[r] = (diffs, value_noise(*mine), straddle)
    return out


def _finite_differences(tape, pts, values, noise, rows, kinks, base_branch, n: int,
                        symbolic, rtol: float, atol: float):
    """Finite differences of the output w.r.t. every node in ``rows``, at every point.

    Each step of the ladder :data:`~backproof.fdiff.SCALES` gives a Richardson estimate
    with its error (:func:`backproof.fdiff.richardson`); the smaller step is taken
    where the larger one did not agree. Per point: "agree" if a step agrees; a
    disagreement only if it is resolved at every step taken and the steps say the same
    (a broken derivative does; a pole within reach, or a function that varies faster
    than the step, does not: those are unresolved); "not taken" where every step
    straddles a kink or leaves the domain.

    Returns ``{row: (numeric, error, status, reason, secant)}``: the estimate (``nan``
    where not taken), its error estimate, fdiff's verdict code or ``NOT_TAKEN``, why
    it was not taken or could not resolve ("" otherwise), and the plain secant with the
    first step (what a finite difference says at a kink).
    """
    v = {r: np.broadcast_to(values[r], (n,)).astype(float) for r in rows}
    result = {r: np.full(n, np.nan) for r in rows}
    error = {r: np.full(n, np.inf) for r in rows}
    status = {r: np.full(n, NOT_TAKEN) for r in rows}
    reason = {r: np.full(n, "", dtype=object) for r in rows}
    taken_rows = set(_fd_rows(rows, len(tape.entries)))
    todo = {r: np.full(n, r in taken_rows) for r in rows}
    for r in rows:
        if r not in taken_rows:
            reason[r][:] = _FD_BUDGET_NOTE
    secant: dict[str, np.ndarray] = {}
    settled = {r: np.ones(n, dtype=bool) for r in rows}
    for scale in SCALES + (UPSCALE,):
        active = [r for r in rows if todo[r].any()]
        if not active:
            break
        hs = {r: steps(v[r], scale) for r in active}
        got = _central_many(tape, pts, values, active, hs, kinks, base_branch, n)
        for r in active:
            diffs, noise_f, straddle = got[r]
            secant.setdefault(r, diffs[0])
            est = richardson(diffs, hs[r], noise_f + noise[r])
            code = judge(est, symbolic[r], rtol, atol)
            taken = todo[r] & ~straddle & np.isfinite(est.value)
            prev = status[r]
            status[r], result[r], error[r] = combine(prev, result[r], error[r], code, est, taken, scale)
            settled[r] &= ~(taken & (prev == DISAGREE) & (status[r] == UNRESOLVED))
            todo[r] &= status[r] != AGREE
            t = todo[r] & (status[r] == NOT_TAKEN) & (scale != UPSCALE)
            reason[r][t & ~np.isfinite(est.value)] = ("finite difference not taken: the step leaves the "
                                                       "program's domain")
            reason[r][t & straddle] = "finite difference not taken: a kink lies within the step"
    for r in taken_rows:
        _explain_unresolved(result[r], error[r], status[r], reason[r], settled[r])
    return {r: (result[r], error[r], status[r], reason[r], secant.get(r, result[r])) for r in rows}


def _explain_unresolved(result, error, status, reason, settled) -> None:
    """Fill ``reason`` (in place) where a row's finite difference could not resolve the value;
    clear it where the difference was judged."""
    for i in np.flatnonzero(status == UNRESOLVED):
        if not math.isfinite(error[i]):
            why = "it has no finite error estimate"
        elif not settled[i]:
            why = (f"{result[i]:.4g} ± {_sci(error[i])} with the first step, but it does not "
                   f"settle as the step shrinks")
        else:
            why = f"{result[i]:.4g} ± {_sci(error[i])}, too coarse for the value"
        reason[i] = f"{INCONCLUSIVE}: the finite difference is {why}"
    reason[(status == AGREE) | (status == DISAGREE)] = ""


_FD_BUDGET_NOTE = ("finite difference not taken: over the cross-check's budget (limit crosscheck_fd_work); "
                   "symbolic and engine compared")


def _fd_rows(rows: list[str], nodes: int) -> list[str]:
    """The rows whose finite differences fit the budget :data:`crosscheck_fd_work` (each is
    a forward pass over ``nodes``): all of them, or that many spread evenly over the rows,
    the first and last included (issue 13: differencing every row is quadratic)."""
    keep = int(_limits.value("crosscheck_fd_work")) // max(1, nodes)
    if keep >= len(rows):
        return rows
    keep = max(1, keep)
    picks = sorted({round(i * (len(rows) - 1) / max(1, keep - 1)) for i in range(keep)})
    return [rows[i] for i in picks]


def crosscheck(program=None, at=None, *, of: str | None = None, wrt: Iterable[str] | str | None = None,
               points: int = 1, seed: int = 0, box=(-2, 2), rtol: float = RTOL,
               atol: float = ATOL, derivation: Derivation | None = None) -> CrossCheck:
    """Check every gradient three ways: symbolic derivation, NumPy engine, finite differences.

    Parameters
    ----------
    program : str, Program, sympy.Expr or mapping
        As for :func:`backproof.derivation.derive`.
    at : mapping or str, optional
        The point (``{"a": 2}`` or ``"a=2,b=1"``). Without it, points are drawn from
        ``box``.
    of : str, optional
        The output (default: the last assigned name).
    wrt : iterable of str or str, optional
        Names to check (default: every input and named intermediate).
    points : int
        Number of points: the given one, then random points around it (see the module
        docstring); all evaluated by the engine in one batch.
    seed : int
        Seed of the random points (the result is deterministic).
    box : (float, float)
        Range of every input when no point is given.
    rtol, atol : float
        Tolerances of the finite-difference comparison.
    derivation : Derivation, optional
        The derivation being checked (instead of ``program``, ``at`` and ``of``; its
        ``wrt`` is the default). Its exact gradients are reused when it was derived at
        exactly the float64 point the engine sees (integers, halves …; a decimal such as
        0.3 is derived once more at its binary value), and its gradients in node names
        are what is evaluated at the other points: the cross-check checks the
        derivation it is given, without deriving it again.

    Returns
    -------
    CrossCheck
        One row per gradient with the worst point; ``.ok`` is False if any disagrees.

    Raises
    ------
    ProgramError, ParseError, EvaluationError, NumericalError
        Bad program or point, or a point where the program or a gradient is undefined.

    Examples
    --------
    >>> cc = crosscheck("d = a + b; e = b - c; y = d*e", at="a=2,b=1,c=0")
    >>> cc.ok, [(r.name, r.symbolic, r.verdict) for r in cc.rows][:2]
    (True, [('a', 1.0, 'agree'), ('b', 4.0, 'agree')])
    >>> crosscheck("y = relu(x)", at="x=0").rows[0].verdict
    'not differentiable'
    """
    lo, hi = _check_options(points, rtol, atol, box)
    problem = _problem(program, at, of, wrt, derivation)
    n = int(points) if problem.tape.inputs else 1
    # Symbolic at the first point first: its errors (log of 0 …) read best.
    first = _first_derivation(problem, problem.given, n) if problem.given is not None else None
    pts = _draw_points(problem.tape, problem.given, n, seed, (lo, hi))
    if first is None:
        first = _first_derivation(problem, _point(pts, 0), n)
    # Engine: one strict batched pass (random points were drawn where it is finite).
    values = forward(problem.tape, pts)
    grads = backward(problem.tape, values)
    ctx = _context(problem, pts, values, grads, n)
    symbolic, exact = _symbolic_side(problem, first, pts, n)
    numeric = _numeric_side(ctx, symbolic, rtol, atol)
    judged = _judge_all(ctx, symbolic, numeric, rtol, atol)
    if not exact.all():
        symbolic, exact, numeric, judged = _recheck(problem, ctx, symbolic, exact, numeric, judged,
                                                    rtol, atol)
    rows = tuple(_check_row(r, ctx, symbolic[r], numeric[r], judged[r], exact, rtol)
                 for r in problem.rows)
    skipped = len(problem.rows) - len(_fd_rows(list(problem.rows), len(problem.tape.entries)))
    return CrossCheck(output=problem.program.output, rows=rows, points=n, rtol=float(rtol),
                      atol=float(atol), fd_skipped=skipped)


# --- the stages -----------------------------------------------------------------------

def _check_options(points, rtol, atol, box) -> tuple[float, float]:
    """Validate the numeric options; return the box as two floats."""
    if isinstance(points, bool) or not isinstance(points, (int, np.integer)) or points < 1:
        raise ProgramError(f"points must be a whole number ≥ 1, got {points!r}")
    if not (isinstance(rtol, (int, float)) and rtol > 0 and math.isfinite(rtol)):
        raise ProgramError(f"rtol must be a positive number, got {rtol!r}")
    if not (isinstance(atol, (int, float)) and atol >= 0 and math.isfinite(atol)):
        raise ProgramError(f"atol must be a number ≥ 0, got {atol!r}")
    try:
        lo, hi = (float(x) for x in box)
    except (TypeError, ValueError):
        raise ProgramError(f"box must be two numbers (low, high), got {box!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ProgramError(f"box must be two finite numbers with low < high, got {box!r}")
    return lo, hi


def _problem(program, at, of: str | None, wrt, derivation: Derivation | None) -> _Problem:
    """The program (for its output), its graph and tape, the rows and the given point."""
    if derivation is not None:
        if program is not None or at is not None or of is not None:
            raise ProgramError("give either a program (with at and of) or a derivation, not both")
        prog, g, at = derivation.program, derivation.graph, derivation.at
        wrt = derivation.wrt if wrt is None else wrt
    else:
        prog = _program(program, of)
        g = build_graph(prog)
    tape = to_tape(g)
    rows = _rows(prog, g, wrt)
    given = _given_point(at, tuple(tape.inputs))
    return _Problem(prog, g, tape, rows, given, derivation)


def _context(problem: _Problem, pts, values, grads, n: int) -> _Context:
    """Everything the judgement needs that does not depend on the symbolic side."""
    tape, rows = problem.tape, problem.rows
    # Kinks: exactly at one (not differentiable), or within a finite-difference step.
    kinks = tuple(e for e in tape.entries if e.kind == "op" and _op(e).branch is not None)
    base_branch = _branches(kinks, values, (n,))
    # The engine's own rounding, where the chain rule adds up terms that cancel.
    magnitude = _abs_adjoints(tape, values, (n,))
    # Not differentiable where a kink on a path from r to the output sits exactly at 0.
    first_kink = _first_kink_downstream(tape, kinks, base_branch, rows, n)
    return _Context(
        problem=problem, pts=pts, values=values, n=n, kinks=kinks, base_branch=base_branch,
        first_kink=first_kink, at_kink={r: first_kink[r] < len(kinks) for r in rows},
        engine={r: np.broadcast_to(grads[r], (n,)) for r in rows},
        engine_slack={r: ENGINE_ULPS * EPS * magnitude.get(r, np.zeros(n)) for r in rows},
        noise=_graph_noise(tape, values, grads, rows, n))


def _first_kink_downstream(tape, kinks, base_branch, rows, n: int) -> dict[str, np.ndarray]:
    """For every row and point, the index (into ``kinks``) of the first kink at its kink
    (branch exactly 0) on a path from the row to the output, or ``len(kinks)`` for none.

    One reverse sweep over the tape (linear in its edges): a node's first kink is the least
    over its consumers of their own and of the consumer itself when it sits at its kink.
    Issue 13: the transitive closure this read before cost n² memory.
    """
    none = len(kinks)
    zero = {e.id: np.where(base_branch[e.id] == 0, i, none) for i, e in enumerate(kinks)
            if np.any(base_branch[e.id] == 0)}
    if not zero:
        return {r: np.full(n, none) for r in rows}
    first: dict[str, np.ndarray] = {}
    for e in reversed(tape.entries):
        mine = first.get(e.id)
        if e.id in zero:
            mine = zero[e.id] if mine is None else np.minimum(mine, zero[e.id])
        if mine is None:
            continue
        for u in e.operands:
            first[u] = mine if u not in first else np.minimum(first[u], mine)
    return {r: first.get(r, np.full(n, none)) for r in rows}


def _numeric_side(ctx: _Context, symbolic, rtol: float, atol: float) -> dict[str, _Numeric]:
    """The finite differences of every row, judged by fdiff against ``symbolic``; at a
    kink the secant is shown for information, not judged."""
    fds = _finite_differences(ctx.problem.tape, ctx.pts, ctx.values, ctx.noise, list(ctx.problem.rows),
                              ctx.kinks, ctx.base_branch, ctx.n, symbolic, rtol, atol)
    out = {}
    for r, (fd, err, status, reason, secant) in fds.items():
        kink = ctx.at_kink[r]
        out[r] = _Numeric(np.where(kink, secant, fd), np.where(kink, np.inf, err), status, reason)
    return out


def _judge_all(ctx: _Context, symbolic, numeric, rtol: float, atol: float) -> dict[str, _Judged]:
    return {r: _judge_row(ctx.engine[r], symbolic[r], numeric[r], ctx.at_kink[r], ctx.engine_slack[r],
                          rtol, atol) for r in ctx.problem.rows}


def _judge_row(engine, symbolic, numeric: _Numeric, nondiff, slack, rtol: float, atol: float) -> _Judged:
    """Relative errors and the verdict code (index into the severities) at every point."""
    rel_e = relative_error(engine, symbolic, ENGINE_ATOL / ENGINE_RTOL)
    rel_e = np.where(np.isfinite(symbolic), rel_e, np.inf)
    rel_n = relative_error(numeric.value, symbolic, atol / rtol)
    rel_n = np.where(np.isfinite(numeric.value), rel_n, np.nan)
    with np.errstate(all="ignore"):
        engine_ok = (rel_e <= ENGINE_RTOL) | (np.abs(engine - symbolic) <= slack)
    # The finite difference is judged by fdiff, with its own error estimate.
    status = numeric.status
    verdict = np.where(status == DISAGREE, 3, np.where(status == UNRESOLVED, 2, 0))
    verdict = np.where(nondiff, 1, verdict)
    verdict = np.where(engine_ok, verdict, 3)
    badness = np.maximum(np.nan_to_num(rel_e / ENGINE_RTOL, nan=np.inf, posinf=1e300),
                         np.nan_to_num(rel_n / rtol, nan=0.0))
    return _Judged(rel_e, rel_n, verdict, badness)


def _recheck(problem: _Problem, ctx: _Context, symbolic, exact, numeric, judged, rtol: float, atol: float):
    """Re-derive exactly where the float64 evaluation of the symbolic side disagrees
    (the worst :data:`EXACT_RECHECKS` points), then judge again.

    Returns new ``(symbolic, exact, numeric, judged)``; the arguments are not changed.
    """
    bad = np.zeros(ctx.n)
    for r in problem.rows:
        bad = np.maximum(bad, np.where(judged[r].verdict == 3, judged[r].badness, 0.0))
    suspects = [int(i) for i in np.argsort(-bad, kind="stable") if bad[i] > 0 and not exact[i]]
    if not suspects:
        return symbolic, exact, numeric, judged
    symbolic = {r: a.copy() for r, a in symbolic.items()}
    exact = exact.copy()
    for i in suspects[:EXACT_RECHECKS]:
        ex = _exact_symbolic(problem, _point(ctx.pts, i))
        for r in problem.rows:
            symbolic[r][i] = ex[r]
        exact[i] = True
    # The finite differences were judged against the float64 values: judge them again
    # against the exact ones.
    numeric = _numeric_side(ctx, symbolic, rtol, atol)
    return symbolic, exact, numeric, _judge_all(ctx, symbolic, numeric, rtol, atol)


def _check_row(r: str, ctx: _Context, symbolic, numeric: _Numeric, judged: _Judged, exact,
               rtol: float) -> CheckRow:
    """The row of ``r`` at its worst point (highest severity, then largest error)."""
    worst_sev = judged.verdict.max()
    i = int(np.argmax(np.where(judged.verdict == worst_sev, judged.badness, -1.0)))
    v = int(judged.verdict[i])
    notes = []
    if ctx.at_kink[r][i]:
        k = ctx.kinks[int(ctx.first_kink[r][i])]
        notes.append(f"not differentiable here; the convention used is {_op(k).convention_at(len(k.operands))} "
                     f"({node_label(ctx.problem.graph, k.id)} is at its kink)")
    elif numeric.reason[i]:
        notes.append(numeric.reason[i])
    if not exact[i] and v == 3:
        notes.append("symbolic value evaluated in float64 (exact re-derivation budget used up)")
    show_point = ctx.n > 1 or ctx.problem.given is None
    return CheckRow(
        name=r, symbolic=float(symbolic[i]), engine=float(ctx.engine[r][i]),
        numeric=float(numeric.value[i]), rel_engine=float(judged.rel_engine[i]),
        rel_numeric=float(judged.rel_numeric[i]), verdict=_VERDICTS[v], note="; ".join(notes),
        point=_point(ctx.pts, i) if show_point else None, numeric_error=float(numeric.error[i]))
