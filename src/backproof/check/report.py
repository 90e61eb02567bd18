"""Check reports: a terminal table (✓ ✗ ↪), Markdown and HTML feedback, and JSON.

Reports only arrange what :func:`backproof.check.diagnose.diagnose` found and what
the derivation's steps hold; they compute nothing. Every string a student or teacher
wrote is escaped for the format it lands in (``html.escape`` for HTML, code spans for
Markdown).
"""

from __future__ import annotations

import html
import io
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import sympy as sp
from sympy.printing.mathml import MathMLPresentationPrinter

from ..derivation import Derivation
from ..graph import node_label
from ..ops import OPS
from ..printing import format_number, to_json_text, to_latex, to_text
from ..steps import Step, StepKind
from .diagnose import VERDICTS, CheckResult, Item
from .quantities import Problem, Quantity

__all__ = ["render_text", "render_json", "render_markdown", "render_html", "result_dict", "MARKS",
           "derivation_latex", "derivation_mathml"]

MARKS = {"correct": "✓", "incorrect": "✗", "carried_error": "↪", "undecided": "?", "missing": "–"}
_WORDS = {"correct": "correct", "incorrect": "incorrect", "carried_error": "carried error",
          "undecided": "undecided", "missing": "missing"}
_STYLES = {"correct": "green", "incorrect": "bold red", "carried_error": "yellow", "undecided": "magenta",
           "missing": "red"}


def _n(x) -> str:
    return format_number(x)


def _expected(item: Item) -> str:
    if item.expected is None:
        return item.expected_text or "?"
    return item.expected_text


def _explanation_lines(item: Item) -> list[str]:
    """What a student reads under a wrong (or noteworthy) answer, as plain lines."""
    lines: list[str] = []
    if item.read_as and item.given is not None and item.read_as != item.given:
        lines.append(f"read as {item.read_as}")
    if item.verdict in ("incorrect", "missing", "undecided"):
        if item.formula:
            lines.append(f"expected: {item.formula}")
        elif item.expected_text:
            lines.append(f"expected: {item.expected_text}")
        d = item.diagnosis
        if d is not None:
            if d.mistake:
                lines.append(f"likely mistake ({d.mistake}): {d.explanation}")
                if d.also:
                    lines.append(f"also consistent with: {', '.join(d.also)}")
            else:
                lines.append(d.explanation)
    elif item.verdict == "carried_error":
        if item.diagnosis is not None:
            lines.append(item.diagnosis.explanation)
        if item.carried_formula:
            lines.append(f"from your numbers: {item.carried_formula}")
        if item.formula:
            lines.append(f"with the right numbers: {item.formula}")
    if item.note:
        lines.append(f"note: {item.note}")
    return lines


def _score_line(result: CheckResult) -> str:
    c = result.counts()
    parts = [f"{c[v]} {_WORDS[v]}" for v in VERDICTS if c[v]]
    return f"score: {_n(result.score)}/{result.total}  ({', '.join(parts)})"


def render_text(result: CheckResult, *, color: bool = False, width: int = 100) -> str:
    """The terminal report: one row per answer, the explanation under each wrong one.

    Examples
    --------
    >>> from backproof.check.diagnose import diagnose
    >>> p = Problem("y = 2*x", at="x=3")
    >>> print(render_text(diagnose(p, [])).splitlines()[-1])
    score: 0/0  ()
    """
    from rich.console import Console
    from rich.text import Text

    buf = io.StringIO()
    console = Console(file=buf, force_terminal=color, no_color=not color, width=width,
                      highlight=False, soft_wrap=True, emoji=False)
    head = "backproof check"
    if result.path:
        head += f": {result.path}"
    if result.student:
        head += f" (student: {result.student})"
    console.print(Text(head, style="bold"))
    qw = max([len(i.name) for i in result.items] + [8])
    gw = max([len(i.given or "") for i in result.items] + [5])
    ew = max([len(_expected(i)) for i in result.items] + [8])
    console.print(Text(f"   {'quantity'.ljust(qw)}  {'yours'.ljust(gw)}  {'expected'.ljust(ew)}  verdict",
                       style="dim"))
    for item in result.items:
        style = _STYLES[item.verdict]
        row = Text()
        row.append(f"{MARKS[item.verdict]}  ", style=style)
        row.append(item.name.ljust(qw) + "  ")
        row.append((item.given if item.given is not None else "").ljust(gw) + "  ")
        row.append(_expected(item).ljust(ew) + "  ")
        row.append(_WORDS[item.verdict], style=style)
        if item.first:
            row.append("  ← first wrong step", style="bold")
        console.print(row)
        for line in _explanation_lines(item):
            console.print(Text("     " + line, style="dim" if item.verdict == "correct" else ""))
    console.print(_score_line(result))
    return buf.getvalue()


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


# --- the correct derivation of one step, from the Derivation's steps ---------------------------

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


# The derivation of one step is built once as terms (SymPy expressions, partials, numbers) and
# printed twice: LaTeX for Markdown, presentation MathML (SymPy's printer) for the HTML page.

@dataclass(frozen=True)
class _Node:
    """A graph node as a formula shows it: its name's Symbol, or its expression when unnamed."""

    expr: sp.Basic
    named: bool


@dataclass(frozen=True)
class _Partial:
    """∂of/∂wrt."""

    of: _Node
    wrt: _Node


@dataclass(frozen=True)
class _Num:
    """A number, formatted by :func:`backproof.printing.format_number`."""

    value: object


@dataclass(frozen=True)
class _Join:
    """Terms joined by ``op`` (``·``, ``+``, ``−``, or ``""``: side by side, η ∂J/∂w).

    A negative number after the first term is parenthesised.
    """

    parts: tuple
    op: str


@dataclass(frozen=True)
class _Prime:
    """The updated value of a parameter: w′."""

    of: sp.Basic


@dataclass(frozen=True)
class _Filled:
    """An operation written with its operand values (``2·1 + 0``): placeholder symbols → numbers."""

    expr: sp.Basic
    values: tuple


@dataclass(frozen=True)
class _Line:
    """``lhs rel t1 = t2 = …`` with the rule alongside; ``rel`` is ``=`` or ``+=``."""

    lhs: object
    rel: str
    rhs: tuple
    rule: str | None = None


def _derivation_lines(problem: Problem, q: Quantity) -> list[_Line]:
    """The derivation's own steps for ``q``, as lines of terms."""
    if q.kind == "update":
        return [_update_line(problem, q)]
    d, units = _units_for(problem, q)
    if d is None:
        return []
    out_unit = next(s.target for s in d.steps if s.kind is StepKind.SEED)
    lines = []
    for s in d.steps:
        if s.target not in units and not (s.kind is StepKind.RESULT and s.target == q.wrt):
            continue
        line = _step_line(d, s, q, out_unit)
        if line is not None:
            lines.append(line)
    return lines


def derivation_latex(problem: Problem, q: Quantity) -> list[str]:
    """The derivation's own steps for ``q`` as LaTeX lines (rule names alongside)."""
    return [_line_latex(line) for line in _derivation_lines(problem, q)]


def derivation_mathml(problem: Problem, q: Quantity) -> list[str]:
    """The same steps as ``<math display="block">`` elements (SymPy's presentation MathML)."""
    return [_line_mathml(line) for line in _derivation_lines(problem, q)]


def _node(d: Derivation, nid: str) -> _Node:
    label = d.label(nid)
    if label.isidentifier():
        return _Node(sp.Symbol(label), True)
    return _Node(d.graph.nodes[nid]["expr"], False)


def _update_line(problem: Problem, q: Quantity) -> _Line:
    g = problem.truth(Quantity("grad", problem.output, q.name))
    w = sp.Symbol(q.name)
    grad = _Partial(_Node(sp.Symbol(problem.output), True), _Node(w, True))
    at = problem.at or {}
    return _Line(_Prime(w), "=", (
        _Join((w, _Join((sp.Symbol("eta"), grad), "")), "−"),
        _Join((_Num(at[q.name]), _Join((_Num(problem.learning_rate), _Num(g)), "·")), "−"),
        _Num(problem.truth(q))))


def _step_line(d: Derivation, s: Step, q: Quantity, out_unit: str) -> _Line | None:
    """One step of the derivation, or None when ``q``'s write-up leaves it out."""
    if s.kind is StepKind.FORWARD:
        if q.kind != "value":
            return None
        rhs: tuple = (s.symbolic,)
        if s.value is not None:
            expr = OPS[d.graph.nodes[s.target]["op"]].write(*[sp.Symbol(f"_o{i}") for i in range(len(s.factors))])
            rhs += (_Filled(expr, tuple(s.factors)), _Num(s.value))
        return _Line(_node(d, s.target), "=", rhs)
    if q.kind != "grad":
        return None
    via = s.via if s.via is not None else s.target  # every LOCAL and CHAIN step names its consumer
    out, target = _node(d, out_unit), _node(d, s.target)
    if s.kind is StepKind.LOCAL:
        shown = s.value is not None and to_text(s.symbolic) != _n(s.value)  # not "1/2 = 0.5"
        rhs = (s.symbolic,) + ((_Num(s.value),) if shown else ())
        return _Line(_Partial(_node(d, via), target), "=", rhs, s.rule)
    if s.kind is StepKind.CHAIN:
        rhs = (_Join((_Partial(out, _node(d, via)), _Partial(_node(d, via), target)), "·"),)
        if s.value is not None:
            rhs += (_Join((_Num(s.factors[0]), _Num(s.factors[1])), "·"), _Num(s.value))
        return _Line(_Partial(out, target), "+=", rhs, "chain rule")
    if s.kind is StepKind.SUM:
        rhs = (_Join(tuple(_Num(f) for f in s.factors), "+"), _Num(s.value)) if s.value is not None else ()
        return _Line(_Partial(out, target), "=", rhs, "sum over paths")
    if s.kind is StepKind.RESULT:
        return _Line(_Partial(out, target), "=", (_Num(s.value),))
    return None


# --- printing the terms: LaTeX ---

_LATEX_OPS = {"·": r" \cdot ", "+": " + ", "−": " - ", "": " "}


def _term_latex(t, position: int = 0) -> str:
    if isinstance(t, _Num):
        text = _n(t.value)
        return rf"\left({text}\right)" if position and text.startswith("-") else text
    if isinstance(t, _Node):
        return to_latex(t.expr) if t.named else rf"\left({to_latex(t.expr)}\right)"
    if isinstance(t, _Partial):
        return rf"\frac{{\partial {_term_latex(t.of)}}}{{\partial {_term_latex(t.wrt)}}}"
    if isinstance(t, _Join):
        return _LATEX_OPS[t.op].join(_term_latex(p, i) for i, p in enumerate(t.parts))
    if isinstance(t, _Prime):
        return to_latex(t.of) + "'"
    if isinstance(t, _Filled):
        return to_latex(t.expr, {f"_o{i}": _term_latex(_Num(v), 1) for i, v in enumerate(t.values)})
    return to_latex(t)


def _chain(terms: list[str]) -> list[str]:
    """Terms of an equality chain, each one equal to the term before it left out (never ``2 = 2``)."""
    return [t for i, t in enumerate(terms) if i == 0 or t != terms[i - 1]]


def _line_latex(line: _Line) -> str:
    lhs, *rhs = _chain([_term_latex(line.lhs)] + [_term_latex(t) for t in line.rhs])
    rel = r" \mathrel{+}= " if line.rel == "+=" else " = "
    text = lhs + (rel + " = ".join(rhs) if rhs else "")
    return text + (rf"\quad\text{{({line.rule})}}" if line.rule else "")


# --- printing the terms: presentation MathML ---

class _MathML(MathMLPresentationPrinter):
    """SymPy's presentation MathML, with backproof's numbers and a true minus sign.

    Placeholder symbols named in ``numbers`` print as those numbers (how an operation is shown
    with its operand values); floats print as :func:`format_number` writes them.
    """

    def __init__(self, numbers: dict[str, object] | None = None):
        super().__init__({"order": "none"})
        self._numbers = numbers or {}

    def _print_Symbol(self, sym, style="plain"):
        if sym.name in self._numbers:
            return self._number_element(self._numbers[sym.name], paren=True)
        return super()._print_Symbol(sym, style)

    def _print_Float(self, expr):
        return self._number_element(expr, paren=False)

    def number(self, value, *, paren: bool) -> str:
        """A number as MathML: ``<mn>``, with a minus sign and, if ``paren``, parentheses when negative."""
        return self._finish(self._number_element(value, paren=paren))

    def primed(self, symbol: sp.Symbol) -> str:
        """``w₂′``: the prime at base level after the symbol (Unicode maths fonts raise ′ themselves)."""
        return self._finish(self._element("mrow", self._print(symbol), self._element("mo", "′")))

    def _element(self, tag: str, *children):
        element = self.dom.createElement(tag)
        for child in children:
            element.appendChild(self.dom.createTextNode(child) if isinstance(child, str) else child)
        return element

    def _number_element(self, value, *, paren: bool):
        text = _n(value)
        mn = self._element("mn", text.lstrip("-"))
        if not text.startswith("-"):
            return mn
        # −x in its own row, so the minus is a prefix sign, not a binary operator with space around it.
        signed = self._element("mrow", self._element("mo", "−"), mn)
        return self._element("mrow", self._element("mo", "("), signed, self._element("mo", ")")) if paren else signed

    def doprint(self, expr) -> str:
        return self._finish(self._print(expr))

    @staticmethod
    def _finish(element) -> str:
        for mo in element.getElementsByTagName("mo"):
            text = mo.firstChild.nodeValue if mo.firstChild is not None else None
            if text == "-":
                mo.firstChild.nodeValue = "−"  # U+2212: a hyphen is not a minus sign
            elif text in ("(", ")") and not mo.parentNode.getElementsByTagName("mfrac"):
                # Stretchy parentheses get wide side bearings in Chromium with Latin Modern Math;
                # they need to stretch only around a fraction.
                mo.setAttribute("stretchy", "false")
        return element.toxml()


def _fenced(inner: str) -> str:
    """``(inner)``; the parentheses stretch only around a fraction (see :meth:`_MathML._finish`)."""
    mo = "<mo>{}</mo>" if "<mfrac" in inner else '<mo stretchy="false">{}</mo>'
    return f"<mrow>{mo.format('(')}{inner}{mo.format(')')}</mrow>"


def _term_mathml(t, position: int = 0) -> str:
    if isinstance(t, _Num):
        return _MathML().number(t.value, paren=position > 0)
    if isinstance(t, _Node):
        inner = _MathML().doprint(t.expr)
        return inner if t.named else _fenced(inner)
    if isinstance(t, _Partial):
        return (f"<mfrac><mrow><mo>∂</mo>{_term_mathml(t.of)}</mrow>"
                f"<mrow><mo>∂</mo>{_term_mathml(t.wrt)}</mrow></mfrac>")
    if isinstance(t, _Join):
        op = f"<mo>{t.op or '&InvisibleTimes;'}</mo>"
        return "<mrow>" + op.join(_term_mathml(p, i) for i, p in enumerate(t.parts)) + "</mrow>"
    if isinstance(t, _Prime):
        return _MathML().primed(t.of)
    if isinstance(t, _Filled):
        return _MathML({f"_o{i}": v for i, v in enumerate(t.values)}).doprint(t.expr)
    return _MathML().doprint(t)


def _line_mathml(line: _Line) -> str:
    lhs, *rhs = _chain([_term_mathml(line.lhs)] + [_term_mathml(t) for t in line.rhs])
    rel = "<mo>+=</mo>" if line.rel == "+=" else "<mo>=</mo>"
    body = lhs + (rel + "<mo>=</mo>".join(rhs) if rhs else "")
    if line.rule:
        body += f'<mspace width="1em"></mspace><mtext>({html.escape(line.rule)})</mtext>'
    return f'<math display="block"><mrow>{body}</mrow></math>'


# --- Markdown ------------------------------------------------------------------------------------

def _code(text: str | None) -> str:
    """A Markdown code span that survives any backticks or pipes in ``text``."""
    if text is None or text == "":
        return ""
    text = text.replace("|", "\\|").replace("\n", " ")
    ticks = "`"
    while ticks in text:
        ticks += "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def _md_text(text: str) -> str:
    """Plain text safe in Markdown (no markup or HTML from user strings)."""
    out = html.escape(text, quote=False)
    for ch in "\\`*_[]|<>#":
        out = out.replace(ch, "\\" + ch) if ch not in "<>" else out
    return out.replace("\n", " ")


def render_markdown(result: CheckResult, *, title: str | None = None) -> str:
    """Feedback a student can read: the table, then each wrong step explained and derived."""
    L = [f"# {_md_text(title or 'Homework feedback')}", ""]
    if result.student:
        L += [f"Student: {_md_text(result.student)}", ""]
    if result.path:
        # The file's name only: a report reads the same on every machine.
        L += [f"File: {_code(Path(result.path).name)}", ""]
    L += ["| | quantity | yours | expected | verdict |", "|---|---|---|---|---|"]
    for i in result.items:
        verdict = _WORDS[i.verdict] + (" — **first wrong step**" if i.first else "")
        L.append(f"| {MARKS[i.verdict]} | {_code(i.name)} | {_code(i.given)} | {_code(_expected(i))} | {verdict} |")
    L += ["", f"**{_md_text(_score_line(result))}**", ""]
    problems = [i for i in result.items if i.verdict != "correct" or i.note]
    if problems:
        L += ["## What to look at", ""]
    for i in problems:
        L.append(f"### {MARKS[i.verdict]} {_code(i.name)} — {_WORDS[i.verdict]}")
        L.append("")
        for line in _explanation_lines(i):
            L.append(f"- {_md_text(line)}")
        if i.verdict in ("incorrect", "missing") and not i.symbolic:
            steps = derivation_latex(result.problem, i.quantity)
            if steps:
                L += ["", "Correct derivation of this step:", ""]
                L += [f"$${s}$$" for s in steps]
        L.append("")
    return "\n".join(L).rstrip() + "\n"


# --- HTML --------------------------------------------------------------------------------------------

# Self-contained: inline CSS, maths as MathML (drawn by the browser), no script and no URL of any
# kind, and a content-security policy that would block one if it crept in.
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
_CSS = """body{font-family:system-ui,"DejaVu Sans",sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;
color:#222;line-height:1.45}
table{border-collapse:collapse;max-width:100%;overflow-x:auto;display:block}
td,th{padding:.3rem .7rem;border-bottom:1px solid #ddd;text-align:left}
.correct{color:#1a7f37}.incorrect,.missing{color:#cf222e}.carried_error{color:#9a6700}.undecided{color:#8250df}
code{background:#f3f3f3;padding:0 .2rem}.explain{margin:.2rem 0 1rem 1.5rem}.first{font-weight:bold}
.math{overflow-x:auto;padding:.1rem 0}
math{font-family:"Latin Modern Math","STIX Two Math","DejaVu Math TeX Gyre",math;font-size:1.15em}
.math>math{display:inline math;math-style:normal;margin:.35rem 0}
@media (max-width:600px){body{margin:1rem auto}td,th{padding:.25rem .4rem}}
@media print{body{max-width:none;margin:0}.math{overflow:visible}}"""


def render_html(result: CheckResult, *, title: str | None = None) -> str:
    """A standalone HTML page that loads nothing: inline CSS, MathML maths, no script.

    Every user string goes through ``html.escape``; the maths is SymPy's presentation MathML
    of the derivation's own expressions.
    """
    e = html.escape
    t = e(title or "Homework feedback")
    H = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
         f'<meta http-equiv="Content-Security-Policy" content="{e(_CSP)}">',
         '<meta name="viewport" content="width=device-width, initial-scale=1">',
         f"<title>{t}</title>", f"<style>{_CSS}</style>", "</head>", "<body>", f"<h1>{t}</h1>"]
    if result.student:
        H.append(f"<p>Student: {e(result.student)}</p>")
    H.append("<table>")
    H.append("<tr><th></th><th>quantity</th><th>yours</th><th>expected</th><th>verdict</th></tr>")
    for i in result.items:
        cls = e(i.verdict)
        first = ' <span class="first">← first wrong step</span>' if i.first else ""
        H.append(f'<tr class="{cls}"><td>{e(MARKS[i.verdict])}</td><td><code>{e(i.name)}</code></td>'
                 f"<td><code>{e(i.given or '')}</code></td><td><code>{e(_expected(i))}</code></td>"
                 f"<td>{e(_WORDS[i.verdict])}{first}</td></tr>")
    H.append("</table>")
    H.append(f"<p><strong>{e(_score_line(result))}</strong></p>")
    problems = [i for i in result.items if i.verdict != "correct" or i.note]
    if problems:
        H.append("<h2>What to look at</h2>")
    for i in problems:
        H.append(f'<h3 class="{e(i.verdict)}">{e(MARKS[i.verdict])} <code>{e(i.name)}</code> — '
                 f"{e(_WORDS[i.verdict])}</h3>")
        H.append('<ul class="explain">')
        for line in _explanation_lines(i):
            H.append(f"<li>{e(line)}</li>")
        H.append("</ul>")
        if i.verdict in ("incorrect", "missing") and not i.symbolic:
            steps = derivation_mathml(result.problem, i.quantity)
            if steps:
                H.append("<p>Correct derivation of this step:</p>")
                H += [f'<div class="math">{s}</div>' for s in steps]
    H += ["</body>", "</html>"]
    return "\n".join(H) + "\n"


def node_name(problem: Problem, nid: str) -> str:  # pragma: no cover - convenience for notebooks
    return node_label(problem.derivation.graph, nid)
