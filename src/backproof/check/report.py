"""Check reports: one feedback :class:`~backproof.report.document.Document`, printed as text,
Markdown, LaTeX or HTML by the shared printers, and JSON (data).

The builder only arranges what :func:`backproof.check.diagnose.diagnose` found and what the
derivation's steps hold; it computes nothing. Maths is written with the notation of the
derivation write-ups (:mod:`backproof.report.notation`): ∂J/∂w is a gradient, ∂a2/∂a1 the local
derivative of statement ``a2``, unnamed sub-expressions get the derivation's short names u₁, u₂ …
and every line reads symbols = numbers = value, term for term, no term written twice.
Mistake codes (``loss_half_factor``) stay in the JSON and the grade sheets; a student reads
their titles. Every string a student or teacher wrote lands in a text run, which each printer
escapes for its format.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import networkx as nx
import sympy as sp
from sympy.printing.precedence import PRECEDENCE

from ..printing import format_number, to_json_text, to_text
from ..report.derivation_doc import AutoName, Names, derivation_document
from ..report.document import (
    Bullets,
    Document,
    Equation,
    Equations,
    Figure,
    Heading,
    Inline,
    Math,
    Paragraph,
    Table,
    Text,
    join_runs,
)
from ..report.html import print_html
from ..report.latex import print_latex
from ..report.markdown import print_markdown
from ..report.notation import Atom, Grad, Local, Via, num, term_text
from ..report.text import print_text
from ..steps import StepKind
from .diagnose import VERDICTS, CheckResult, Item
from .grade import ClassReport, ScoredResult, SubmissionResult, feedback_names, render_gradebook
from .mistakes import MISTAKES
from .quantities import Formula, Problem, Quantity

__all__ = ["render_text", "render_json", "render_markdown", "render_html", "render_latex", "result_dict",
           "feedback_document", "derivation_equations", "quantity_term", "formula_terms", "counts_text",
           "plural", "MARKS", "Updated", "grade_document", "render_grade_markdown", "render_grade_html",
           "render_grade_summary", "submission_document", "render_submission", "class_feedback",
           "FEEDBACK_FORMATS"]

MARKS = {"correct": "✓", "too_few_figures": "≈", "incorrect": "✗", "carried_error": "↪", "undecided": "?",
         "missing": "–"}
#: A verdict as a student reads it: (one, many).
_WORDS = {"correct": ("correct", "correct"), "too_few_figures": ("too few figures", "too few figures"),
          "incorrect": ("incorrect", "incorrect"),
          "carried_error": ("carried error", "carried errors"), "undecided": ("undecided", "undecided"),
          "missing": ("missing", "missing")}
_STYLES = {"correct": "good", "too_few_figures": "", "incorrect": "bad", "carried_error": "", "undecided": "",
           "missing": "bad"}
_TITLES = {m.name: m.title for m in MISTAKES}


def plural(n: int, one: str, many: str | None = None) -> str:
    """``1 error``, ``2 errors``: a count with its noun in the right number.

    Examples
    --------
    >>> plural(1, "error"), plural(2, "error"), plural(0, "carried error", "carried errors")
    ('1 error', '2 errors', '0 carried errors')
    """
    return f"{n} {one if n == 1 else (many or one + 's')}"


def counts_text(counts: dict[str, int]) -> str:
    """``10 correct, 2 carried errors, 1 incorrect`` (verdicts that occur, in report order)."""
    return ", ".join(plural(counts[v], *_WORDS[v]) for v in VERDICTS if counts.get(v))


# --- maths of a quantity and of how it comes about ------------------------------------------------

class Updated(Atom):
    """``w′``: a parameter after one gradient-descent step."""

    def __new__(cls, sym: sp.Basic):
        return sp.Expr.__new__(cls, sym)

    def _sympystr(self, p):
        return p._print(self.args[0]) + "′"

    def _latex(self, p):
        return p._print(self.args[0]) + "'"

    def _mathml_presentation(self, p):
        row = p.dom.createElement("mrow")
        row.appendChild(p._print(self.args[0]))
        mo = p.dom.createElement("mo")
        mo.appendChild(p.dom.createTextNode("′"))
        row.appendChild(mo)
        return row


class _Eta(Atom):
    """η, the learning rate (a Symbol named ``eta`` would read "eta" in text)."""

    def _sympystr(self, p):
        return "η"

    def _latex(self, p):
        return r"\eta"

    def _mathml_presentation(self, p):
        mi = p.dom.createElement("mi")
        mi.appendChild(p.dom.createTextNode("η"))
        return mi


class _Minus(Atom):
    """``a − b`` as written (``w − η · ∂J/∂w``): SymPy would write ``a + (-1)·b``, and the
    printers parenthesise a negated product (``w - (η · g)``)."""

    def __new__(cls, a: sp.Basic, b: sp.Basic):
        return sp.Expr.__new__(cls, a, b)

    def _sympystr(self, p):
        return f"{p._print(self.args[0])} - {p.parenthesize(self.args[1], PRECEDENCE['Add'])}"

    def _latex(self, p):
        return f"{p._print(self.args[0])} - {p.parenthesize(self.args[1], PRECEDENCE['Add'])}"

    def _mathml_presentation(self, p):
        row = p.dom.createElement("mrow")
        mo = p.dom.createElement("mo")
        mo.appendChild(p.dom.createTextNode("−"))
        for child in (p._print(self.args[0]), mo, p.parenthesize(self.args[1], PRECEDENCE["Add"])):
            row.appendChild(child)
        return row


def _sym(name: str) -> sp.Symbol:
    return sp.Symbol(name)


def quantity_term(q: Quantity):
    """The maths of a quantity: ``a1``, ``∂J/∂w1`` or ``w1′``."""
    if q.kind == "grad":
        return Grad(_sym(q.name), _sym(q.wrt))
    if q.kind == "update":
        return Updated(_sym(q.name))
    return _sym(q.name)


def _chain(terms: list) -> tuple:
    """An equality chain with no term written twice in a row (as the reader sees it)."""
    out: list = []
    for t in terms:
        if t is not None and (not out or term_text(t) != term_text(out[-1])):
            out.append(t)
    return tuple(out)


def _plain(expr: sp.Expr) -> sp.Expr:
    """Symbols without assumptions (the checker's are ``real``): the printers know them by name.
    Nothing is re-evaluated, so the terms keep the order :func:`_numbers` substitutes them in."""
    with sp.evaluate(False):
        return expr.xreplace({s: _sym(s.name) for s in expr.free_symbols})


def _numbers(expr: sp.Expr, values) -> sp.Expr | None:
    """``expr`` with every name replaced by its printed value, as written (``a2 − y`` → ``0.64 − 1``);
    None for a lone name, whose value the chain states next anyway."""
    if isinstance(expr, sp.Symbol):
        return None
    subs = {sp.Symbol(k, real=True): num(v, paren=True) for k, v in values}
    subs.update({_sym(k): num(v, paren=True) for k, v in values})
    with sp.evaluate(False):
        return expr.xreplace(subs)


def formula_terms(fm: Formula) -> tuple[tuple, list[tuple]]:
    """(the chain ``quantity = symbols = numbers = value``, the local derivatives it uses, each a chain).

    Examples
    --------
    >>> from backproof.check.quantities import Evaluator, formula_parts
    >>> p = Problem("a = w*x; J = a**2", at="w=3,x=2")
    >>> chain, locals_ = formula_terms(formula_parts(p, Quantity("grad", "J", "w"), Evaluator(p, {})))
    >>> " = ".join(term_text(t) for t in chain), [" = ".join(term_text(t) for t in c) for c in locals_]
    ('∂J/∂w = ∂J/∂a · ∂a/∂w = 12 · 2 = 24', ['∂a/∂w = x = 2'])
    """
    q = fm.quantity
    lhs = quantity_term(q)
    if fm.kind == "input":
        return (lhs, num(fm.value)), []
    if fm.kind == "value":
        assert fm.expr is not None  # a value formula always holds its statement
        return _chain([lhs, _plain(fm.expr), _numbers(fm.expr, fm.values), num(fm.value)]), []
    if fm.kind == "update":
        w = _sym(q.name)
        rhs = _Minus(w, sp.Mul(_Eta(), Grad(_sym(fm.output), w), evaluate=False))
        filled = _Minus(num(fm.old), sp.Mul(num(fm.eta), num(fm.grad, paren=True), evaluate=False))
        return _chain([lhs, rhs, filled, num(fm.value)]), []
    if not fm.paths:
        return (lhs, sp.Integer(0)), []
    x = _sym(q.wrt)
    if len(fm.paths) == 1 and fm.paths[0].upstream is None:  # x feeds the name directly: one local step
        t = fm.paths[0]
        return _chain([lhs, _plain(t.local_form), _numbers(t.local_form, fm.values), num(t.local)]), []
    names: list = []
    nums: list = []
    locals_: list[tuple] = []
    for i, t in enumerate(fm.paths):
        # The name's own partial is written on its expression (∂(a·b)/∂a): ∂J/∂a is the whole gradient.
        local = Local(_plain(t.gate) if t.gate is not None else _sym(t.via), x)
        if t.upstream is None:
            names.append(local)
            nums.append(num(t.local, paren=i > 0))
        else:
            names.append(sp.Mul(Grad(_sym(q.name), _sym(t.via)), local, evaluate=False))
            nums.append(sp.Mul(num(t.upstream, paren=i > 0), num(t.local, paren=True), evaluate=False))
        locals_.append(_chain([local, _plain(t.local_form), _numbers(t.local_form, fm.values), num(t.local)]))
    return (_chain([lhs, _sum(names), _sum(nums), num(fm.value)]), locals_)


def _sum(terms: list):
    return terms[0] if len(terms) == 1 else sp.Add(*terms, evaluate=False)


def _formula_runs(label: str, fm: Formula) -> list[tuple[Inline, ...]]:
    chain, locals_ = formula_terms(fm)
    lines: list[tuple[Inline, ...]] = [(Text(label), Math(chain))]
    if fm.kind == "input":
        lines[0] += (Text(" (given)"),)
    elif fm.kind == "grad" and not fm.paths:
        lines[0] += (Text(f" ({fm.quantity.name} does not depend on {fm.quantity.wrt})"),)
    if locals_:
        lines.append((Text("where "), *join_runs([Math(c) for c in locals_], "; ")))
    return lines



def _explanation(item: Item) -> list[tuple[Inline, ...]]:
    """What a student reads under a wrong (or noteworthy) answer: one run of inlines per bullet."""
    out: list[tuple[Inline, ...]] = []
    if item.read_as and item.given is not None and item.read_as != item.given:
        out.append((Text(f"Read as {item.read_as}."),))
    d = item.diagnosis
    if item.verdict in ("incorrect", "missing", "undecided"):
        if item.steps is not None:
            out += _formula_runs("Expected: ", item.steps)
        elif item.expected is not None and item.symbolic:
            out.append((Text("Expected: "), Math((quantity_term(item.quantity), _plain(item.expected))),))
        if d is not None:
            out += _diagnosis_runs(d)
    elif item.verdict == "too_few_figures":
        if d is not None:
            out.append((Text(_sentence(d.explanation)),))
    elif item.verdict == "carried_error":
        if d is not None:
            out.append((Text(_sentence(d.explanation)),))
        if item.carried_steps is not None:
            out += _formula_runs("From your numbers: ", item.carried_steps)
        if item.steps is not None:
            out += _formula_runs("With the right numbers: ", item.steps)
    if item.note:
        out.append((Text("Note", "em"), Text(": " + _sentence(item.note))))
    return out


def _diagnosis_runs(d) -> list[tuple[Inline, ...]]:
    """The likely mistake in words (its title, never its code) and what else fits."""
    if not d.mistake:
        return [(Text(_sentence(d.explanation)),)]
    title = _TITLES.get(d.mistake, "")
    text = _sentence(d.explanation) if _says(d.explanation, title) else \
        f"{_sentence(title)} {_sentence(d.explanation)}"
    out: list[tuple[Inline, ...]] = [(Text("Likely mistake", "em"), Text(": " + text))]
    if d.also:
        out.append((Text("Also consistent with: " + "; ".join(_TITLES.get(m, m) for m in d.also) + "."),))
    return out


def _says(explanation: str, title: str) -> bool:
    """True when an explanation opens with its mistake's title in other words ("operands swapped: …"
    for "operands of − or ÷ swapped"): the title is then not repeated."""
    lead = explanation.split(":", 1)[0] if ":" in explanation else ""
    return bool(lead) and lead.split(" ", 1)[0][:5].lower() == title.split(" ", 1)[0][:5].lower()


def _sentence(text: str) -> str:
    """``text`` as a sentence: a full stop at the end, a capital at the start unless it is a name (w2)."""
    text = text.strip()
    if not text:
        return text
    first = text.split(" ", 1)[0].rstrip(",;:").replace("'", "")
    if first.isalpha() and (len(first) > 1 or first == "a"):
        text = text[:1].upper() + text[1:]
    return text + ("" if text.endswith((".", "?", "!")) else ".")


# --- the correct derivation of one step, from the derivation's own write-up -------------------------

def derivation_equations(problem: Problem, q: Quantity) -> tuple[list[Equation], list[Equation]]:
    """The derivation write-up's lines for ``q``'s own step, and the definitions of the short names
    (``u₂ = w2 · a1``) those lines use. Both empty for an update or an input."""
    d, units = _units_for(problem, q)
    if d is None or not units:
        return [], []
    kinds = {StepKind.FORWARD} if q.kind == "value" else {StepKind.LOCAL, StepKind.CHAIN, StepKind.SUM}
    wanted = {s.index for s in d.steps if s.target in units and s.kind in kinds}
    doc = derivation_document(d)
    lines = [replace(eq, index=None) for b in doc.blocks if isinstance(b, Equations) for eq in b.lines
             if eq.index in wanted]
    return lines, _short_names(d, lines)


def _short_names(d, lines: list[Equation]) -> list[Equation]:
    """``u_k = …`` for every short name the lines use and do not define themselves (and those inside)."""
    names = Names(d)
    by_sym = {names.sym[n]: n for n in names.auto}
    defined = {eq.terms[0] for eq in lines if eq.kind == "forward"}
    todo = [a for eq in lines for t in (*eq.terms, *eq.aside) for a in sp.Tuple(t).atoms(AutoName)]
    out: dict = {}
    while todo:
        u = todo.pop()
        if u in out or u in defined or u not in by_sym:
            continue
        out[u] = names.written(by_sym[u])
        todo += list(sp.Tuple(out[u]).atoms(AutoName))
    return [Equation((u, out[u]), tag="short name") for u in sorted(out, key=lambda s: int(s.name[1:]))]


# --- the document ---------------------------------------------------------------------------------

#: Longest formula (in characters of text) written into the table's "expected" column.
TABLE_FORMULA_CHARS = 40


def _long(expr) -> bool:
    return len(to_text(expr)) > TABLE_FORMULA_CHARS


def _table(result: CheckResult) -> Table:
    scored = isinstance(result, ScoredResult) and result.weighted  # the key's points: each answer's shown
    header = tuple((Text(h),) for h in ("", "quantity", "yours", "expected", "verdict") + (("points",) * scored))
    rows = []
    weights = result.weights if isinstance(result, ScoredResult) else ()
    for n, i in enumerate(result.items):
        style = _STYLES[i.verdict]
        expected: tuple[Inline, ...] = ()
        if i.expected is not None and i.symbolic and _long(i.expected):
            # A long formula would push the verdict out of sight; it is written out below.
            expected = (Text("below" if i.verdict != "correct" else "as yours"),)
        elif i.expected is not None:  # a number as the student's beside it; an expression as maths
            expected = (Math((_plain(i.expected),)),) if i.symbolic else (Text(i.expected_text),)
        verdict: tuple[Inline, ...] = (Text(_WORDS[i.verdict][0], style),)
        if i.first:
            verdict += (Text(", "), Text("the first wrong step", "em"))
        row = ((Text(MARKS[i.verdict], style),), (Text(i.display),), (Text(i.given or ""),), expected, verdict)
        of = f"/{format_number(weights[n])}" if n < len(weights) else ""
        rows.append(row + (((Text(format_number(i.points) + of),),) if scored else ()))
    return Table(header, tuple(rows))


def _score(result: CheckResult) -> Paragraph:
    counts = counts_text(result.counts())
    return Paragraph((Text(f"Score: {format_number(result.score)}/{result.total}"),
                      Text(f" ({counts})." if counts else ".")))


def _item_blocks(result: CheckResult, item: Item) -> list:
    head = f"{MARKS[item.verdict]} {item.display}: {_WORDS[item.verdict][0]}"
    blocks: list = [Heading(head + (", the first wrong step" if item.first else ""), 3)]
    bullets = _explanation(item)
    if bullets:
        blocks.append(Bullets(tuple(bullets)))
    if item.verdict in ("incorrect", "missing") and not item.symbolic:
        lines, short = derivation_equations(result.problem, item.quantity)
        if lines:
            blocks.append(Paragraph((Text("The correct derivation, one chain-rule step at a time"
                                          + (" (short names stand for unnamed parts)" if short else "") + ":"
                                          if item.quantity.kind == "grad" else
                                          "The correct forward step, one operation at a time:"),)))
            blocks.append(Equations(tuple(short + lines)))
            vias = sorted({v for eq in lines for v in sp.Tuple(*eq.terms).atoms(Via)}, key=term_text)
            if vias:  # the notation of a fork, explained on its first use
                v = vias[0]
                blocks.append(Paragraph((Math((v,)), Text(" is the part of "), Math((v.args[0],)),
                                         Text(" that flows through "), Math((v.args[1],)),
                                         Text("; the parts of all paths add up."))))
    return blocks


def feedback_document(result: CheckResult, *, title: str | None = None) -> Document:
    """The feedback on one answer file as a document: the table of verdicts, the score, and each
    answer to look at with the expected formula, the likely mistake and the correct derivation.

    Examples
    --------
    >>> from backproof.check import parse_answers
    >>> from backproof.check.diagnose import diagnose
    >>> p = Problem("a = w*x; J = a**2", at="w=3,x=2")
    >>> doc = feedback_document(diagnose(p, parse_answers(p, {"a": "6", "dJ/dw": "20"})))
    >>> [b.text for b in doc.blocks if isinstance(b, Heading)]
    ['What to look at', '✗ dJ/dw: incorrect, the first wrong step']
    """
    who = []
    if result.student:
        who.append(f"Student: {result.student}.")
    if result.path:
        who.append(f"File: {Path(result.path).name}.")  # the name only: a report reads the same everywhere
    blocks: list = [Paragraph((Text(" ".join(who)),))] if who else []
    blocks += [_table(result), _score(result)]
    problems = [i for i in result.items if i.verdict != "correct" or i.note]
    if result.items and result.all_correct and not problems:
        blocks.append(Paragraph((Text("Every answer is right.", "good"),)))
    if problems:
        blocks.append(Heading("What to look at"))
    for item in problems:
        blocks += _item_blocks(result, item)
    return Document(title or "Homework feedback", tuple(blocks))


def render_text(result: CheckResult, *, color: bool = False) -> str:
    """The terminal report (the feedback document printed for a terminal).

    Examples
    --------
    >>> from backproof.check.diagnose import diagnose
    >>> p = Problem("y = 2*x", at="x=3")
    >>> print(render_text(diagnose(p, [])).splitlines()[-1])
      Score: 0/0.
    """
    return print_text(feedback_document(result), color)


def render_markdown(result: CheckResult, *, title: str | None = None) -> str:
    """Feedback a student can read on GitHub or in any Markdown viewer (maths in ``$…$``)."""
    return print_markdown(feedback_document(result, title=title))


def render_html(result: CheckResult, *, title: str | None = None) -> str:
    """One self-contained HTML page: inline CSS, MathML maths, nothing fetched (a content-security
    policy forbids it)."""
    return print_html(feedback_document(result, title=title))


def render_latex(result: CheckResult, *, title: str | None = None) -> str:
    """A LaTeX ``article`` of the feedback that pdflatex compiles."""
    return print_latex(feedback_document(result, title=title))


def _json_number(x):
    if x is None:
        return None
    if isinstance(x, sp.Basic) and not x.is_number:
        return to_text(x)
    v = float(x)
    return v if v == v and abs(v) != float("inf") else None


def result_dict(result: CheckResult) -> dict:
    """The JSON-ready report: ``items`` (name, given, expected, verdict, diagnosis, read_as …) and a score."""
    items = []
    for i in result.items:
        d = i.diagnosis
        items.append({
            "name": i.name,
            "quantity": i.display,
            "given": i.given,
            "expected": _json_number(i.expected),
            "expected_text": i.expected_text,
            "verdict": i.verdict,
            "diagnosis": None if d is None else {"mistake": d.mistake, "title": d.title,
                                                 "explanation": d.explanation, "also": list(d.also)},
            "read_as": i.read_as,
            "formula": i.formula,
            "match": i.match,
            "first_wrong": i.first,
            "carried_from": list(i.carried_from),
            "note": i.note or None,
            "counterexample": i.counterexample,
            "points": i.points,
        })
    first = result.first_wrong
    return {
        "file": result.path,
        "student": result.student,
        "score": result.score,
        "total": result.total,
        "all_correct": result.all_correct,
        "counts": result.counts(),
        "first_wrong": first.name if first else None,
        "items": items,
    }


def render_json(result: CheckResult) -> str:
    """:func:`result_dict` as indented JSON (keys in a fixed order)."""
    return to_json_text(result_dict(result))


# --- which steps of the derivation make up one quantity's step ----------------------------------

def _units_for(problem: Problem, q: Quantity) -> tuple:
    """(derivation, unit node ids) whose steps make up ``q``'s own step."""
    if q.kind == "grad":
        d = problem.derivation_of(q.name)
        g = d.graph
        if q.wrt not in g:
            return d, set()
        units = {_unit(g, q.wrt)}
        below = _descendants(g, q.wrt)
        for s in problem.consumers.get(q.wrt, ()):
            result = _unit(g, s) if s in g else None
            units |= {n for n in g.nodes if g.nodes[n].get("statement") == s and g.nodes[n]["kind"] == "op"
                      and n in below and n != result}
        return d, units
    if q.kind == "value" and q.name in problem.assigned:
        d = problem.derivation_of(q.name) if q.name not in problem.derivation.graph else problem.derivation
        g = d.graph
        return d, {n for n in g.nodes if g.nodes[n].get("statement") == q.name and g.nodes[n]["kind"] == "op"}
    return None, set()


def _unit(g, n: str) -> str:
    """The node that stands for name ``n`` in steps: the operation producing it, if any."""
    if g.nodes[n]["kind"] == "name":
        pred = next(iter(g.predecessors(n)))
        if g.nodes[pred]["kind"] == "op":
            return pred
    return n


def _descendants(g, n):
    return nx.descendants(g, n)




# --- a class: the grade sheet's summary and tables ---------------------------------------------------

def _mistake_title(code: str | None) -> str:
    """A mistake in plain words (the code stays in the CSV and the JSON)."""
    return _TITLES.get(code, code or "") if code else ""


def _summary_blocks(s: dict) -> list:
    mean = format_number(s["mean_score"]) if s["mean_score"] is not None else "–"
    blocks: list = [Paragraph((Text(f"Graded {s['graded']} of {plural(s['submissions'], 'submission')} "
                                    f"({plural(s['errors'], 'could not be graded', 'could not be graded')}); "
                                    f"{s['all_correct']} all correct; mean score {mean}/{s['total']}."),))]
    if s["key_problems"]:
        blocks.append(Bullets(tuple((Text("Key: ", "em"), Text(p)) for p in s["key_problems"])))
    missed = [q for q in s["most_missed"] if q["missed"]]
    if missed:
        blocks.append(Paragraph((Text("Most missed: " + ", ".join(f"{q['quantity']} ({q['missed']} of "
                                                                    f"{q['answered']})" for q in missed[:5]) + "."),)))
    if s["common_mistakes"]:
        blocks.append(Paragraph((Text("Most common mistakes: " + "; ".join(
            f"{_mistake_title(m['mistake'])}: {plural(m['count'], 'time')} ({', '.join(m['quantities'])})"
            for m in s["common_mistakes"][:5]) + "."),)))
    return blocks


def _missed_table(s: dict) -> Table:
    """Per question: its points, how many missed it, and how many were right, carried, wrong, missing."""
    # "too few figures" (right, but less precise than the key asks) gets a column when it occurs.
    figures = any(q.get("too_few_figures") for q in s["most_missed"])
    names = ("quantity", "points", "missed", "correct") + (("too few figures",) if figures else ()) + \
        ("carried errors", "incorrect", "missing")
    keys = ("correct",) + (("too_few_figures",) if figures else ()) + ("carried_error", "incorrect", "missing")
    rows = tuple(((Text(q["quantity"]),), (Text(format_number(q.get("points", 1))),),
                  (Text(f"{q['missed']}/{q['answered']}"),), *((Text(str(q.get(k, 0))),) for k in keys))
                 for q in s["most_missed"])
    return Table(tuple((Text(h),) for h in names), rows)


def grade_document(report, *, figure: Figure | None = None) -> Document:
    """A class's grade sheet as a document: the summary with its per-question table, each student's
    score, every answer.

    ``report`` is a :class:`backproof.check.grade.ClassReport`; ``figure`` (the mistake
    histogram) is shown under the per-question table.
    """
    s = report.summary
    blocks: list = [Paragraph((Text(f"Key: {Path(report.key.path).name}."),)), Heading("Class summary"),
                    *_summary_blocks(s), _missed_table(s), *([figure] if figure is not None else []),
                    Heading("Scores")]
    scores = []
    for r in report.results:
        note = f"error: {r.error}" if r.error else ("all correct" if r.all_correct else "")
        score = "" if r.error else f"{format_number(r.score)}/{r.total}"
        scores.append(((Text(r.student),), (Text(r.file),), (Text(score),), (Text(note),)))
    blocks.append(Table(tuple((Text(h),) for h in ("student", "file", "score", "note")), tuple(scores)))
    answers = [((Text(r.student),), (Text(row.quantity),), (Text(row.given or ""),), (Text(row.expected),),
                (Text(_WORDS[row.verdict][0] if row.verdict in _WORDS else row.verdict),),
                (Text(_mistake_title(row.mistake)),))
               for r in report.results for row in r.rows]
    blocks += [Heading("Answers"),
               Table(tuple((Text(h),) for h in ("student", "quantity", "given", "expected", "verdict", "mistake")),
                     tuple(answers))]
    return Document("Grades", tuple(blocks))


def render_grade_markdown(report) -> str:
    """The grade sheet as Markdown (the shared printer)."""
    return print_markdown(grade_document(report))


def render_grade_html(report) -> str:
    """The grade sheet as one self-contained HTML page (the shared printer)."""
    return print_html(grade_document(report))


def render_grade_summary(report) -> str:
    """The class summary for the terminal (plain text, the shared printer)."""
    s = report.summary
    blocks = _summary_blocks(s)
    errors = [r for r in report.results if r.error]
    if errors:
        blocks.append(Bullets(tuple((Text(f"error: {r.file}: {r.error}"),) for r in errors)))
    return print_text(Document("Class summary", tuple(blocks)))



# --- a feedback page for every student, and the class's folder ----------------------------------------

#: ``--feedback-format``: the printer and the file suffix.
FEEDBACK_FORMATS = {"html": ".html", "md": ".md", "text": ".txt"}


def submission_document(result: CheckResult | None, sub: SubmissionResult) -> Document:
    """One student's feedback page from grading: the feedback document of ``check`` (with the key's
    points), the answers that could not be read, or why the file could not be graded at all."""
    if result is not None:
        doc = feedback_document(result)
        unreadable = result.unreadable if isinstance(result, ScoredResult) else ()
        if not unreadable:
            return doc
        bullets = tuple((Text(key, "em"), Text(": " + _sentence(why))) for key, why in unreadable)
        return replace(doc, blocks=doc.blocks + (Heading("Answers that could not be read"), Bullets(bullets)))
    who = " ".join(x for x in (f"Student: {sub.student}." if sub.student else "", f"File: {sub.file}.") if x)
    if sub.error is None:  # graded, but the full page could not be printed: the verdicts, plainly
        rows = tuple(((Text(MARKS.get(r.verdict, "")),), (Text(r.quantity),), (Text(r.given or ""),),
                      (Text(r.expected),), (Text(_WORDS[r.verdict][0] if r.verdict in _WORDS else r.verdict),),
                      (Text(format_number(r.points)),)) for r in sub.rows)
        header = tuple((Text(h),) for h in ("", "quantity", "yours", "expected", "verdict", "points"))
        return Document("Homework feedback", (Paragraph((Text(who),)), Table(header, rows),
                                              Paragraph((Text(f"Score: {format_number(sub.score)}/"
                                                              f"{format_number(sub.total)}."),))))
    return Document("Homework feedback", (
        Paragraph((Text(who),)),
        Paragraph((Text("Your file could not be graded", "bad"), Text(": " + _sentence(sub.error or "")))),
        Paragraph((Text("Nothing in it was marked. Fix the file and hand it in again (backproof check "
                        "YOUR-FILE --key KEY shows the same feedback before you do)."),))))


def render_submission(fmt: str, result: CheckResult | None, sub: SubmissionResult) -> str:
    """:func:`submission_document` printed as ``fmt`` (html, md or text): what ``grade --feedback``
    writes for each student. A module-level function, so grading workers can be sent it."""
    doc = submission_document(result, sub)
    return {"html": print_html, "md": print_markdown}.get(fmt, print_text)(doc)


def class_feedback(report: ClassReport, fmt: str) -> dict[str, str | bytes]:
    """Everything ``grade --feedback OUTDIR`` writes, by path relative to OUTDIR.

    ``students/<name>`` — one page per submission (the page its worker printed, or one
    saying why the file could not be graded); ``summary`` — the grade sheet with the
    per-question table and the histogram; ``mistakes.png``/``.svg`` — the histogram;
    ``gradebook.csv`` — the LMS gradebook.
    """
    from .plots import mistake_histogram
    suffix = FEEDBACK_FORMATS[fmt]
    names = feedback_names([r.file for r in report.results], suffix)
    out: dict[str, str | bytes] = {}
    for r in report.results:
        out[f"students/{names[r.file]}"] = r.feedback if r.feedback is not None else render_submission(fmt, None, r)
    plot = mistake_histogram(report)
    figure = Figure("How often each mistake was made (wrong answers only; a carried error is not counted again)",
                    path="mistakes.svg", svg=plot["svg"].decode("utf-8"))
    doc = grade_document(report, figure=figure)
    out[f"summary{suffix}"] = {"html": print_html, "md": print_markdown}.get(fmt, print_text)(doc)
    out["mistakes.png"] = plot["png"]
    out["mistakes.svg"] = plot["svg"]
    out["gradebook.csv"] = render_gradebook(report)
    return out
