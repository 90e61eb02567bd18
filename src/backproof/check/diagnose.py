"""Verdicts on a student's answers: correct, incorrect, carried_error or undecided, with the likely mistake.

Each number is compared with the truth; a wrong one is then recomputed from the
student's *own* other numbers, and if it matches that it is a ``carried_error`` (one
early slip is not punished again downstream). A wrong number that is not carried is
``incorrect`` and gets an explanation: the expected value, the formula with the
numbers that produce it, and, when a known mistake (:mod:`backproof.check.mistakes`)
reproduces the student's number, its name.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

import sympy as sp

from ..printing import format_number, to_text
from .answers import Answer, CheckInput, Tolerances
from .compare import Tolerance, expressions_equal, numbers_match
from .mistakes import CATCH_ALL, MISTAKES, candidate_mutations, simple_point, symbolic_slips
from .quantities import Evaluator, Formula, Problem, Quantity, Trace, formula_parts, formula_text

__all__ = ["Diagnosis", "Item", "CheckResult", "diagnose", "check", "VERDICTS", "computation_order"]

#: Every verdict, in the order reports list their counts.
VERDICTS = ("correct", "carried_error", "incorrect", "undecided", "missing")
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
    text = to_text(_evaluated(expr)).replace("**", "^").replace("*", "·").replace(" - ", " − ")
    return "−" + text[1:] if text.startswith("-") else text


def diagnose(problem: Problem, answers: Iterable[Answer], tolerances: Tolerances = DEFAULT_TOLERANCES, *,
             carried_credit: float = 1.0, expected: Iterable[Quantity] | None = None,
             student: str | None = None, path: str | None = None) -> CheckResult:
    """Judge every answer; name the first wrong step and the likely mistake.

    Parameters
    ----------
    problem : Problem
    answers : iterable of Answer
    tolerances : Tolerances
    carried_credit : float
        Points for a ``carried_error`` (1: full follow-through credit).
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
    given = {a.quantity: a.value for a in answers if a.kind == "number"}
    judged = {a.quantity: _judge(problem, a, given, tolerances.for_key(a.key, a.quantity, problem), carried_credit)
              for a in answers}
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
                  if u in verdicts and verdicts[u] != "correct")
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


def _judge(problem: Problem, a: Answer, given: dict, tol: Tolerance, carried_credit: float) -> _Judged:
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
    trace = Trace()
    own = Evaluator(problem, given, exclude=q, trace=trace)
    carried = own.get(q)
    used = tuple(trace.used)
    # The student's own numbers lead somewhere else than the truth (beyond rounding noise).
    carried_ok = math.isfinite(carried) and numbers_match(carried, None, truth, tol) is None
    follows = carried_ok and numbers_match(a.value, a.text, carried, tol) is not None
    how = numbers_match(a.value, a.text, truth, tol)
    if how is not None:
        note = "" if not carried_ok or follows else \
            f"right, but it does not follow from your {{from}}: those give {format_number(carried)}"
        return _Judged(Item(a.key, q, disp, a.text, "correct", match=how, points=1.0, note=note,
                            carried_value=carried, **common), used)
    if follows:
        carried_steps = formula_parts(problem, q, Evaluator(problem, given, exclude=q))
        return _Judged(Item(a.key, q, disp, a.text, "carried_error", match="carried", points=carried_credit,
                            carried_value=carried,
                            carried_formula=formula_text(carried_steps), carried_steps=carried_steps,
                            diagnosis=Diagnosis(None, f"follows correctly from your {{from}}; with the right "
                                                      f"numbers it is {format_number(truth)}"), **common), used)
    diag = _find_mistake(problem, a, given, tol, trace, own, carried)
    return _Judged(Item(a.key, q, disp, a.text, "incorrect", diagnosis=diag, carried_value=carried, **common),
                   used)


def _find_mistake(problem: Problem, a: Answer, given: dict, tol: Tolerance, trace: Trace,
                  own: Evaluator, carried: float) -> Diagnosis:
    q = a.quantity
    found: list = []
    for mut in candidate_mutations(problem, q, trace, own):
        try:
            v = Evaluator(problem, given, exclude=q, mutation=mut).get(q)
        except (ZeroDivisionError, OverflowError, ValueError):
            continue
        if not math.isfinite(v) or numbers_match(v, None, carried, Tolerance(1e-9, 1e-12)) is not None:
            continue  # this change makes no difference here
        if numbers_match(a.value, a.text, v, tol) is not None:
            if not found or (mut.kind != found[0].kind and mut.kind not in [m.kind for m in found]):
                found.append(mut)
            if len(found) >= 3:
                break
    truth = float(problem.truth(q))
    if numbers_match(carried, None, truth, tol) is not None:
        right = f"the right value is {format_number(truth)}"
    else:
        right = (f"from your own earlier numbers it would be {format_number(carried)} "
                 f"(the right value is {format_number(truth)})")
    if found:
        m = found[0]
        # Other specific slips that give the same number are worth a mention; the catch-all
        # "a wrong value substituted" is not, once something specific explains the answer.
        also = tuple(dict.fromkeys(x.kind for x in found[1:] if x.kind not in (m.kind, CATCH_ALL)))
        return Diagnosis(m.kind, f"{m.explain(problem)}; that gives {a.text}; {right}", also)
    return Diagnosis(None, f"no common mistake gives {a.text}; {right}")


def _judge_symbolic(problem: Problem, a: Answer, disp: str) -> Item:
    q = a.quantity
    assert a.expr is not None  # an "expression" answer always holds its expression
    truth = problem.truth_symbolic(q)
    res = expressions_equal(a.expr.xreplace(problem.expansion()).doit(), truth)
    exp_text = to_text(truth)
    common = dict(expected=truth, expected_text=exp_text, read_as=_pretty(a.expr), symbolic=True, match=res.method)
    shown = _pretty(truth)  # for reading: x^2 and 2·x, not Python's x**2 and 2*x
    if res.equal:
        return Item(a.key, q, disp, a.text, "correct", points=1.0, **common)
    if res.equal is None:
        why = ("could not decide in the time allowed" if res.method == "budget" else
               "could not decide: the expressions are not defined at enough random points")
        return Item(a.key, q, disp, a.text, "undecided",
                    diagnosis=Diagnosis(None, f"{why}; expected {shown}"), **common)
    given = a.expr.xreplace(problem.expansion()).doit()
    return Item(a.key, q, disp, a.text, "incorrect", counterexample=res.point,
                diagnosis=_symbolic_diagnosis(problem, q, given, truth, shown, res), **common)


def _symbolic_diagnosis(problem: Problem, q: Quantity, given: sp.Expr, truth: sp.Expr, shown: str,
                        res) -> Diagnosis:
    """Name the slip a wrong formula matches (the same catalogue, applied in symbols); else show
    where it differs, at a point with small whole numbers when there is one."""
    slips = [s for s in symbolic_slips(problem, q) if expressions_equal(given, s.expr).equal]
    if slips:
        return Diagnosis(slips[0].kind, f"{slips[0].explanation} (the right formula is {shown})",
                         tuple(dict.fromkeys(s.kind for s in slips[1:] if s.kind != slips[0].kind)))
    symbols = sorted(given.free_symbols | truth.free_symbols, key=str)
    simple = simple_point([given, truth], symbols) if symbols else None
    if simple is not None:
        at = {s: sp.Float(simple[str(s)]) for s in symbols}
        mine, right = (float(e.xreplace(at).evalf()) for e in (given, truth))
        point = ", ".join(f"{k} = {format_number(v)}" for k, v in simple.items())
    else:
        mine, right = res.given_value, res.expected_value
        point = ", ".join(f"{k} = {format_number(v)}" for k, v in sorted((res.point or {}).items()))
    return Diagnosis(None, f"not equal to {shown}: at {point} yours is {_maybe(mine)}, the right one {_maybe(right)}")


def _maybe(x: float | None) -> str:
    return format_number(x) if x is not None else "undefined"


def check(source: CheckInput, *, carried_credit: float = 1.0) -> CheckResult:
    """Judge a validated answer file (see :func:`backproof.check.answers.load_check`)."""
    return diagnose(source.problem, source.answers, source.tolerances, carried_credit=carried_credit,
                    student=source.student, path=source.path)
