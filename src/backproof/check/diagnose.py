"""Verdicts on a student's answers (correct, too few figures, carried error, incorrect …), the likely mistake.

Each number is compared with the truth; a wrong one is then recomputed from the
student's *own* other numbers, within the rounding those numbers carry
(``_follow_interval``). If it matches that and those numbers are right, it is
``correct`` (rounded answers carried forward); if they are wrong, it is a
``carried_error`` (one early slip is not punished again downstream). A right answer with
fewer figures than ``min_figures`` is ``too_few_figures``. A wrong number that is not
carried is ``incorrect`` and gets an explanation: the expected value, the formula with the
numbers that produce it, and, when a known mistake (:mod:`backproof.check.mistakes`)
reproduces the student's number, its name.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

import sympy as sp

from ..functions import rewrite_elementary
from ..printing import format_number, handwritten, to_text
from .answers import Answer, CheckInput, Tolerances
from .compare import (
    Interval,
    Tolerance,
    expressions_equal,
    figures,
    half_unit,
    meets,
    numbers_match,
    right_to_figures,
    rounded_to,
    value_at,
)
from .mistakes import CATCH_ALL, MISTAKES, candidate_mutations, simple_point, symbolic_slips
from .quantities import (
    Evaluator,
    Formula,
    FormulaTooLarge,
    Problem,
    Quantity,
    Trace,
    formula_parts,
    formula_text,
)

__all__ = ["Diagnosis", "Item", "CheckResult", "diagnose", "check", "VERDICTS", "computation_order",
           "FIGURES_CREDIT"]

#: Every verdict, in the order reports list their counts.
VERDICTS = ("correct", "too_few_figures", "carried_error", "incorrect", "undecided", "missing")
#: Verdicts of answers that are right (a later step may follow from them).
RIGHT = ("correct", "too_few_figures")
#: Points for an answer right to fewer figures than ``min_figures`` asks (1 for a correct one).
FIGURES_CREDIT = 0.5
_TITLES = {m.name: m.title for m in MISTAKES}
#: Tolerances when an answer file sets none.
DEFAULT_TOLERANCES = Tolerances()


@dataclass(frozen=True)
class Diagnosis:
    """Why an answer is wrong: the mistake's name (or None) and one line about it."""

    mistake: str | None
    explanation: str
    also: tuple[str, ...] = ()

    @property
    def title(self) -> str | None:
        return _TITLES.get(self.mistake) if self.mistake else None


@dataclass(frozen=True)
class Item:
    """One answer with its verdict."""

    name: str                       # the key as the student wrote it
    quantity: Quantity
    display: str                    # canonical name (with network aliases)
    given: str | None               # the student's text
    verdict: str
    expected: sp.Expr | None = None
    expected_text: str = ""
    match: str | None = None        # tolerance, rounding, simplify, random points
    diagnosis: Diagnosis | None = None
    read_as: str | None = None
    formula: str = ""               # how the expected value comes about, with numbers
    steps: Formula | None = None    # the same as data, for the write-ups
    carried_value: float | None = None
    carried_from: tuple[str, ...] = ()
    carried_formula: str = ""
    carried_steps: Formula | None = None
    note: str = ""
    first: bool = False             # the first wrong step in computation order
    counterexample: dict | None = None
    points: float = 0.0
    symbolic: bool = False


@dataclass(frozen=True, repr=False)
class CheckResult:
    """Every verdict for one answer file."""

    items: tuple[Item, ...]
    problem: Problem
    student: str | None = None
    path: str | None = None
    extra: tuple = field(default=(), compare=False)

    @property
    def score(self) -> float:
        return sum(i.points for i in self.items)

    @property
    def total(self) -> int:
        return len(self.items)

    @property
    def all_correct(self) -> bool:
        return all(i.verdict == "correct" for i in self.items)

    @property
    def first_wrong(self) -> Item | None:
        return next((i for i in self.items if i.first), None)

    def counts(self) -> dict[str, int]:
        return {v: sum(1 for i in self.items if i.verdict == v) for v in VERDICTS}

    def __repr__(self) -> str:
        """One line: who, the score, the verdicts, the first wrong step.

        Examples
        --------
        >>> from backproof.check import parse_answers
        >>> p = Problem("a = w*x; J = a**2", at="w=3,x=2")
        >>> diagnose(p, parse_answers(p, {"a": "6", "dJ/da": "10"}))
        <CheckResult of J: score 1/2; 1 correct, 1 incorrect; first wrong step dJ/da>
        """
        who = f" ({self.student[:30]})" if self.student else ""
        verdicts = ", ".join(f"{n} {v.replace('_', ' ')}" for v, n in self.counts().items() if n)
        first = self.first_wrong
        tail = f"; first wrong step {first.name[:40]}" if first is not None else ""
        return (f"<CheckResult of {self.problem.output}{who}: score {format_number(self.score)}/{self.total}"
                f"; {verdicts or 'no answers'}{tail}>")


def computation_order(problem: Problem, q: Quantity) -> tuple:
    """A sort key: forward values, then gradients from the output backwards, then updates."""
    index = {n: i for i, n in enumerate(problem.assigned)}

    def pos(n: str) -> float:
        if n in index:
            return index[n]
        users = [index[s] for s in problem.consumers.get(n, ())]
        return (min(users) if users else -1) - 0.5

    if q.kind == "value":
        return (0, pos(q.name), q.name)
    if q.kind == "grad":
        return (1, index.get(q.name, 0) * 0, -pos(q.wrt), -index.get(q.name, 0), q.wrt)
    return (2, -pos(q.name), q.name)



def _and(names) -> str:
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1] if names else ""


def _evaluated(expr: sp.Expr) -> sp.Expr:
    """The parse rebuilt with SymPy's evaluation on: how the answer was understood."""
    if not expr.args:
        return expr
    try:
        return expr.func(*[_evaluated(a) for a in expr.args])
    except (TypeError, ValueError):
        return expr


def _pretty(expr: sp.Expr) -> str:
    return handwritten(to_text(_evaluated(expr)))


def diagnose(problem: Problem, answers: Iterable[Answer], tolerances: Tolerances = DEFAULT_TOLERANCES, *,
             carried_credit: float = 1.0, expected: Iterable[Quantity] | None = None,
             student: str | None = None, path: str | None = None,
             figures_credit: float = FIGURES_CREDIT) -> CheckResult:
    """Judge every answer; name the first wrong step and the likely mistake.

    Parameters
    ----------
    problem : Problem
    answers : iterable of Answer
    tolerances : Tolerances
    carried_credit : float
        Points for a ``carried_error`` (1: full follow-through credit).
    figures_credit : float
        Points for a ``too_few_figures`` answer (right, to fewer figures than ``min_figures``).
    expected : iterable of Quantity, optional
        Quantities that must be answered (grading against a key): missing ones get
        the verdict ``missing``.

    Examples
    --------
    >>> from backproof.check.answers import Answer
    >>> p = Problem("a = w*x; J = a**2", at="w=3,x=2")
    >>> ans = [Answer("a", Quantity("value", "a"), "5", "number", number=sp.Integer(5)),
    ...        Answer("dJ/da", Quantity("grad", "J", "a"), "10", "number", number=sp.Integer(10))]
    >>> [i.verdict for i in diagnose(p, ans).items]
    ['incorrect', 'carried_error']
    """
    answers = list(answers)
    own = _Own({a.quantity: a.value for a in answers if a.kind == "number"},
               {a.quantity: a.text for a in answers if a.kind == "number"},
               {a.quantity: tolerances.for_key(a.key, a.quantity, problem) for a in answers}, {})
    judged: dict[Quantity, _Judged] = {}
    # In computation order, so that a step knows whether the earlier answers it follows from are right.
    for a in sorted(answers, key=lambda a: computation_order(problem, a.quantity)):
        judged[a.quantity] = _judge(problem, a, own, own.tols[a.quantity], carried_credit, figures_credit)
        own.right[a.quantity] = judged[a.quantity].item.verdict in RIGHT
    verdicts = {q: j.item.verdict for q, j in judged.items()}
    named = {q: _name_sources(problem, j, verdicts) for q, j in judged.items()}
    items = [named[a.quantity] for a in answers] + _missing(problem, expected or (), named)
    return CheckResult(_mark_first(problem, items), problem, student, path)


@dataclass(frozen=True)
class _Judged:
    """A verdict whose ``{from}`` placeholders still wait for the names of the answers it used."""

    item: Item
    used: tuple[Quantity, ...] = ()


def _name_sources(problem: Problem, judged: _Judged, verdicts: Mapping[Quantity, str]) -> Item:
    """Carried errors name the student's wrong numbers they follow from."""
    item = judged.item
    wrong = tuple(problem.display(u) for u in sorted(judged.used, key=lambda u: computation_order(problem, u))
                  if u in verdicts and verdicts[u] not in RIGHT)
    text = _and(wrong) or "other answers"
    diag = item.diagnosis
    if diag is not None:
        diag = Diagnosis(diag.mistake, diag.explanation.replace("{from}", text), diag.also)
    return replace(item, carried_from=wrong, note=item.note.replace("{from}", text), diagnosis=diag)


def _missing(problem: Problem, expected: Iterable[Quantity], judged: Mapping[Quantity, Item]) -> list[Item]:
    """A ``missing`` item for every expected quantity not answered."""
    out = []
    for q in expected:
        if q not in judged:
            truth = problem.truth(q) if problem.at is not None else None
            out.append(Item(problem.display(q), q, problem.display(q), None, "missing", expected=truth,
                            expected_text=format_number(truth) if truth is not None else "",
                            formula=problem.truth_formula(q) if truth is not None else "",
                            steps=problem.truth_steps(q) if truth is not None else None))
    return out


def _mark_first(problem: Problem, items: list[Item]) -> tuple[Item, ...]:
    """The first wrong (or missing) step in computation order is marked ``first``."""
    wrong = [i for i in items if i.verdict in ("incorrect", "missing")]
    if not wrong:
        return tuple(items)
    first = min(wrong, key=lambda i: computation_order(problem, i.quantity))
    return tuple(replace(i, first=True) if i is first else i for i in items)


@dataclass
class _Own:
    """The student's numbers: values, the text they wrote, their tolerances, and which are right so far."""

    given: dict[Quantity, float]
    text: dict[Quantity, str | None]
    tols: dict[Quantity, Tolerance]
    right: dict[Quantity, bool]

    def held(self, problem: Problem, u: Quantity) -> Interval:
        """Where the number the student held for ``u`` lies, given what they wrote.

        A right answer (to its figures or its tolerance) was held somewhere between the truth
        and what was written (the student carried either the full value or its rounding); a
        wrong one anywhere that rounds to what was written: half a unit in its last place.
        """
        v, text, tol = self.given[u], self.text.get(u), self.tols.get(u, DEFAULT_TOLERANCES.default)
        t = float(problem.truth(u))
        right = self.right.get(u)
        if right is None:  # not judged yet (a later step's answer): right to its own figures?
            right = abs(v - t) <= max(half_unit(text), tol.rtol * abs(t), tol.atol)
        if right:
            return Interval(min(v, t), max(v, t))
        h = half_unit(text)
        return Interval(v - h, v + h)


def _recompute(problem: Problem, given: Mapping[Quantity, float], q: Quantity, changed: Mapping,
               mutation=None) -> float:
    try:
        return Evaluator(problem, {**given, **changed}, exclude=q, mutation=mutation).get(q)
    except (ZeroDivisionError, OverflowError, ValueError):
        return math.nan


def _follow_interval(problem: Problem, q: Quantity, own: _Own, carried: float,
                    used: Iterable[Quantity]) -> Interval:
    """The values ``q``'s step can take from the numbers the student may have held for the answers it uses.

    First order: ``F(u)`` (the step from the numbers as written) plus, for each answer ``u_i``
    used, the most negative and the most positive change that moving ``u_i`` alone to either
    end of its interval (:meth:`_Own.held`) makes; and the step with every right answer moved
    to the truth at once (so a step from right answers always contains the truth, whatever
    the second-order terms). A move that makes the step undefined is not counted.
    """
    lo = hi = 0.0
    for u in sorted(used, key=lambda u: computation_order(problem, u)):
        box = own.held(problem, u)
        changes = [_recompute(problem, own.given, q, {u: end}) - carried
                   for end in (box.lo, box.hi) if end != own.given[u]]
        changes = [c for c in changes if math.isfinite(c)]
        lo += min([0.0, *changes])
        hi += max([0.0, *changes])
    at_truth = _right_at_truth(problem, own, used)
    span = Interval(carried + lo, carried + hi)
    if len(at_truth) > 1:
        v = _recompute(problem, own.given, q, at_truth)
        if math.isfinite(v):
            span = Interval(min(span.lo, v), max(span.hi, v))
    return span


def _right_at_truth(problem: Problem, own: _Own, used: Iterable[Quantity]) -> dict[Quantity, float]:
    """The right answers among ``used`` that were not written as their exact truth, at their truth."""
    out = {}
    for u in used:
        t = float(problem.truth(u))
        box = own.held(problem, u)
        if box.lo <= t <= box.hi and t != own.given[u]:
            out[u] = t
    return out


@dataclass(frozen=True)
class _Follow:
    """How an answer relates to the student's own earlier numbers."""

    carried: float               # the step from the numbers as written
    span: Interval               # ... and from anything they may have held (see _follow_interval)
    used: tuple[Quantity, ...]
    consistent: bool             # the truth is within span: the earlier numbers used are right
    follows: bool                # the answer, within its own rounding, meets span
    trace: Trace                 # what the step from the numbers as written touched ...
    evaluator: Evaluator         # ... and the recomputation itself (for naming a mistake)


def _follow(problem: Problem, a: Answer, own: _Own, tol: Tolerance) -> _Follow:
    q = a.quantity
    trace = Trace()
    ev = Evaluator(problem, own.given, exclude=q, trace=trace)
    carried = ev.get(q)
    used = tuple(trace.used)
    if not math.isfinite(carried):
        return _Follow(carried, Interval(carried, carried), used, False, False, trace, ev)
    t = float(problem.truth(q))
    truth_r = max(tol.rtol * abs(t), tol.atol)
    # Half a unit in the answer's last place (a value exactly halfway rounds either way), plus the
    # tolerance: the step computed in floats lands on such a boundary only to within rounding noise.
    own_r = half_unit(a.text) + max(tol.rtol * abs(carried), tol.atol)
    span = Interval(carried, carried)
    if not (abs(carried - t) <= truth_r and meets(a.value, own_r, span)):
        span = _follow_interval(problem, q, own, carried, used)
    return _Follow(carried, span, used, t in span.widened(truth_r), meets(a.value, own_r, span), trace, ev)


def _too_few(n: int, tol: Tolerance, truth: float, how: str) -> Diagnosis:
    m = tol.min_figures
    return Diagnosis(None, f"{how} to {n} figure{'s' * (n != 1)}; give at least {m} "
                           f"({format_number(truth)} to {m} figures is {rounded_to(truth, m)})")


def _judge(problem: Problem, a: Answer, own: _Own, tol: Tolerance, carried_credit: float,
           figures_credit: float) -> _Judged:
    q = a.quantity
    disp = problem.display(q)
    if a.kind == "expression":
        return _Judged(_judge_symbolic(problem, a, disp))
    truth = problem.truth(q)
    read_as = _pretty(a.expr) if a.expr is not None else None
    common = dict(expected=truth, expected_text=format_number(truth), formula=problem.truth_formula(q),
                  steps=problem.truth_steps(q), read_as=read_as)
    if a.kind == "nonfinite":
        return _Judged(Item(a.key, q, disp, a.text, "incorrect", **common,
                            diagnosis=Diagnosis(None, f"{a.text} is not a finite number; "
                                                      f"expected {format_number(truth)}")))
    fol = _follow(problem, a, own, tol)
    carried, used = fol.carried, fol.used
    how = numbers_match(a.value, a.text, truth, tol)
    if how is not None:
        note = "" if fol.consistent or fol.follows else \
            f"right, but it does not follow from your {{from}}: those give {format_number(carried)}"
        return _Judged(Item(a.key, q, disp, a.text, "correct", match=how, points=1.0, note=note,
                            carried_value=carried, **common), used)
    few = right_to_figures(a.value, a.text, truth, tol)
    fig = figures(a.text) if a.text is not None else None
    if few is None and fol.follows and fol.consistent and fig is not None and fig[0] < tol.min_figures:
        few, how = fig[0], "follows from your earlier numbers"
    if few is not None:
        return _Judged(Item(a.key, q, disp, a.text, "too_few_figures", match="rounding",
                            points=figures_credit, carried_value=carried,
                            diagnosis=_too_few(few, tol, float(truth), how or "right"), **common), used)
    if fol.follows and fol.consistent:
        # Rounded earlier answers carried forward: right within the rounding the student wrote.
        return _Judged(Item(a.key, q, disp, a.text, "correct", match="carried rounding", points=1.0,
                            carried_value=carried, **common), used)
    if fol.follows:
        carried_steps = formula_parts(problem, q, Evaluator(problem, own.given, exclude=q))
        return _Judged(Item(a.key, q, disp, a.text, "carried_error", match="carried", points=carried_credit,
                            carried_value=carried,
                            carried_formula=formula_text(carried_steps), carried_steps=carried_steps,
                            diagnosis=Diagnosis(None, f"follows correctly from your {{from}}; with the right "
                                                      f"numbers it is {format_number(truth)}"), **common), used)
    at_truth = _right_at_truth(problem, own, used) if math.isfinite(carried) else {}
    diag = _find_mistake(problem, a, own.given, tol, fol.trace, fol.evaluator, carried, at_truth)
    return _Judged(Item(a.key, q, disp, a.text, "incorrect", diagnosis=diag, carried_value=carried, **common),
                   used)


def _find_mistake(problem: Problem, a: Answer, given: dict, tol: Tolerance, trace: Trace,
                  own: Evaluator, carried: float,
                  at_truth: Mapping[Quantity, float] | None = None) -> Diagnosis:
    q = a.quantity
    found: list = []
    for mut in candidate_mutations(problem, q, trace, own):
        try:
            v = Evaluator(problem, given, exclude=q, mutation=mut).get(q)
        except (ZeroDivisionError, OverflowError, ValueError):
            continue
        if not math.isfinite(v) or numbers_match(v, None, carried, Tolerance(1e-9, 1e-12)) is not None:
            continue  # this change makes no difference here
        if numbers_match(a.value, a.text, v, tol) is not None or \
                _slip_with_rounding(problem, a, given, tol, mut, v, at_truth):
            if not found or (mut.kind != found[0].kind and mut.kind not in [m.kind for m in found]):
                found.append(mut)
            if len(found) >= 3:
                break
    truth = float(problem.truth(q))
    if numbers_match(carried, None, truth, tol) is not None:
        right = f"the right value is {format_number(truth)}"
    else:
        right = (f"done right, your own earlier numbers give {format_number(carried)} "
                 f"(the exact value is {format_number(truth)})")
    if found:
        m = found[0]
        # Other specific slips that give the same number are worth a mention; the catch-all
        # "a wrong value substituted" is not, once something specific explains the answer.
        also = tuple(dict.fromkeys(x.kind for x in found[1:] if x.kind not in (m.kind, CATCH_ALL)))
        return Diagnosis(m.kind, f"{m.explain(problem)}; that gives {a.text}; {right}", also)
    return Diagnosis(None, f"no common mistake gives {a.text}; {right}")


def _slip_with_rounding(problem: Problem, a: Answer, given: Mapping, tol: Tolerance, mut, v: float,
                        at_truth: Mapping[Quantity, float] | None) -> bool:
    """The slip made on the numbers the student held: between their rounded earlier answers (``v``)
    and the truth behind them (``at_truth``), as for follow-through."""
    if not at_truth:
        return False
    w = _recompute(problem, given, a.quantity, at_truth, mut)
    r = half_unit(a.text) + max(tol.rtol * abs(v), tol.atol)
    return math.isfinite(w) and meets(a.value, r, Interval(min(v, w), max(v, w)))


def _judge_symbolic(problem: Problem, a: Answer, disp: str) -> Item:
    q = a.quantity
    assert a.expr is not None  # an "expression" answer always holds its expression
    try:
        truth = problem.truth_symbolic(q)
    except FormulaTooLarge as exc:
        return Item(a.key, q, disp, a.text, "undecided", diagnosis=Diagnosis(None, str(exc)), symbolic=True,
                    read_as=_pretty(a.expr))
    res = expressions_equal(a.expr.xreplace(problem.expansion()).doit(), truth)
    named = problem.truth_named(q)
    # What the student reads (``expected``, every printer) is the formula in the program's names, as
    # they write one; ``expected_text`` keeps the exact truth written out in the inputs, for machines.
    common = dict(expected=named, expected_text=to_text(truth), read_as=_pretty(a.expr), symbolic=True,
                  match=res.method)
    shown = _pretty(named)  # for reading: x^2 and 2·x
    if res.equal:
        return Item(a.key, q, disp, a.text, "correct", points=1.0, **common)
    if res.equal is None:
        why = ("could not decide in the time allowed" if res.method == "budget" else
               "could not decide: the expressions are not defined at enough random points")
        return Item(a.key, q, disp, a.text, "undecided",
                    diagnosis=Diagnosis(None, f"{why}; expected {shown}"), **common)
    given = a.expr.xreplace(problem.expansion()).doit()
    diagnosis, point = _symbolic_diagnosis(problem, q, given, truth, named, res)
    return Item(a.key, q, disp, a.text, "incorrect", counterexample=point, diagnosis=diagnosis, **common)


def _symbolic_diagnosis(problem: Problem, q: Quantity, given: sp.Expr, truth: sp.Expr, named: sp.Expr,
                        res) -> tuple[Diagnosis, dict | None]:
    """Name the slip a wrong formula matches (the same catalogue, applied in symbols); else show
    where it differs. Also returns a counterexample at a point with small whole numbers when
    there is one (else the random point that told them apart).

    ``named`` is the right formula in the program's names (what the student reads)."""
    shown = _pretty(named)
    symbols = sorted(given.free_symbols | truth.free_symbols, key=str)
    simple = simple_point([given, truth], symbols) if symbols else None
    slips = [s for s in symbolic_slips(problem, q) if _same_formula(given, s, res)]
    if slips:
        return _named(slips, shown), simple or res.point
    if simple is not None:
        at = {s: sp.Integer(simple[str(s)]) for s in symbols}
        mine, right = (_real(value_at(e, at)) for e in (given, truth))
        point = ", ".join(f"{k} = {format_number(v)}" for k, v in simple.items())
    else:
        mine, right = res.given_value, res.expected_value
        point = ", ".join(f"{k} = {format_number(v)}" for k, v in sorted((res.point or {}).items()))
    there = _names_there(problem, named, simple or res.point)
    return (Diagnosis(None, f"not equal to {shown}: at {point} yours is {_maybe(mine)}, the right one "
                            f"{_maybe(right)}{there}"), simple or res.point)


def _real(v: complex | None) -> float | None:
    return None if v is None or abs(v.imag) >= 1e-12 else v.real


def _names_there(problem: Problem, named: sp.Expr, point: Mapping | None) -> str:
    """The values at ``point`` of the program's names the right formula uses (``(there e = 0)``),
    so a student can check it by hand; at most four."""
    inner = sorted((s for s in named.free_symbols if s.name in problem.assigned), key=lambda s: s.name)[:4]
    if not inner or not point:
        return ""
    at = {sp.Symbol(k, real=True): sp.Rational(repr(v)) for k, v in point.items()}
    parts = []
    for s in inner:
        v = value_at(problem.expansion()[s], at, 15) if s in problem.expansion() else None
        if v is None or abs(v.imag) >= 1e-12:
            return ""
        parts.append(f"{s.name} = {format_number(v.real)}")
    return f" (there {', '.join(parts)})"


def _named(slips: list, shown: str) -> Diagnosis:
    """The first (most specific) slip that gives the student's formula; the same slip at other
    places that give the same formula named with it; other kinds listed as also consistent."""
    first = slips[0]
    places = list(dict.fromkeys(s.where for s in slips[1:] if s.kind == first.kind and s.where
                                and s.where != first.where))
    text = first.explanation
    if len(places) > 2 and first.kind == "sign_flip":
        text = (f"your formula is the right one with the opposite sign: the sign of one of the {len(places) + 1} "
                f"local derivatives on the way was lost (any one of them gives this formula)")
    elif len(places) > 2:
        text += f"; the same slip in any of the {len(places) + 1} factors on this path gives the same formula"
    elif places:
        text += f"; {' or '.join(places)} instead gives the same formula"
    also = tuple(dict.fromkeys(s.kind for s in slips[1:] if s.kind not in (first.kind, CATCH_ALL)))
    return Diagnosis(first.kind, f"{text} (the right formula is {shown})", also)


def _same_formula(given: sp.Expr, slip, res) -> bool:
    """Whether ``given`` equals the slip's formula: first a cheap look at the point where the
    student's formula was already evaluated (most slips differ there), then the proof."""
    expr = slip.expr
    if res.point and res.given_value is not None and expr.free_symbols <= {sp.Symbol(k, real=True) for k in res.point}:
        subs = {sp.Symbol(k, real=True): sp.Rational(repr(v)) for k, v in res.point.items()}
        v = value_at(rewrite_elementary(expr), subs)
        if v is not None and abs(v.imag) < 1e-12 and \
                abs(v.real - res.given_value) > 1e-7 * max(1.0, abs(res.given_value)):
            return False
    return bool(expressions_equal(given, expr).equal)


def _maybe(x: float | None) -> str:
    return format_number(x) if x is not None else "undefined"


def check(source: CheckInput, *, carried_credit: float = 1.0) -> CheckResult:
    """Judge a validated answer file (see :func:`backproof.check.answers.load_check`)."""
    return diagnose(source.problem, source.answers, source.tolerances, carried_credit=carried_credit,
                    student=source.student, path=source.path)
