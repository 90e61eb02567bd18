"""Check reports: a terminal table (✓ ✗ ↪), Markdown and HTML feedback, and JSON.

Reports only arrange what :func:`backproof.check.diagnose.diagnose` found and what
the derivation's steps hold; they compute nothing. Every string a student or teacher
wrote is escaped for the format it lands in (``html.escape`` for HTML, code spans for
Markdown).
"""

from __future__ import annotations

import html
import io
from pathlib import Path

import networkx as nx
import sympy as sp

from ..derivation import Derivation
from ..graph import node_label
from ..printing import format_number, to_json_text, to_latex, to_text
from ..report.common import grad_latex, name_latex, substituted_latex
from ..steps import Step, StepKind
from .diagnose import VERDICTS, CheckResult, Item
from .quantities import Problem, Quantity

__all__ = ["render_text", "render_json", "render_markdown", "render_html", "result_dict", "MARKS",
           "derivation_latex"]

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


def derivation_latex(problem: Problem, q: Quantity) -> list[str]:
    """The derivation's own steps for ``q`` as LaTeX lines (rule names alongside)."""
    if q.kind == "update":
        return [_update_latex(problem, q)]
    d, units = _units_for(problem, q)
    if d is None:
        return []
    out_unit = next(s.target for s in d.steps if s.kind is StepKind.SEED)
    lines = []
    for s in d.steps:
        if s.target not in units and not (s.kind is StepKind.RESULT and s.target == q.wrt):
            continue
        line = _step_latex(d, s, q, out_unit)
        if line is not None:
            lines.append(line)
    return lines


def _update_latex(problem: Problem, q: Quantity) -> str:
    g = problem.truth(Quantity("grad", problem.output, q.name))
    w = sp.Symbol(q.name)
    at = problem.at or {}
    return (f"{to_latex(w)}' = {to_latex(w)} - \\eta \\frac{{\\partial {to_latex(sp.Symbol(problem.output))}}}"
            f"{{\\partial {to_latex(w)}}} = {_n(at[q.name])} - {_n(problem.learning_rate)} "
            f"\\cdot {_paren(g)} = {_n(problem.truth(q))}")


def _step_latex(d: Derivation, s: Step, q: Quantity, out_unit: str) -> str | None:
    """One step of the derivation as a LaTeX line, or None when ``q``'s write-up leaves it out."""
    if s.kind is StepKind.FORWARD:
        return _forward_latex(d, s) if q.kind == "value" else None
    if q.kind != "grad":
        return None
    via = s.via if s.via is not None else s.target  # every LOCAL and CHAIN step names its consumer
    if s.kind is StepKind.LOCAL:
        rhs = f"{grad_latex(d, via, s.target)} = {to_latex(s.symbolic)}"
        if s.value is not None and to_text(s.symbolic) != _n(s.value):
            rhs += f" = {_n(s.value)}"
        return rhs + f"\\quad\\text{{({s.rule})}}"
    if s.kind is StepKind.CHAIN:
        rhs = (f"{grad_latex(d, out_unit, s.target)} \\mathrel{{+}}= {grad_latex(d, out_unit, via)}"
               f" \\cdot {grad_latex(d, via, s.target)}")
        if s.value is not None:
            rhs += f" = {_n(s.factors[0])} \\cdot {_n(s.factors[1])} = {_n(s.value)}"
        return rhs + "\\quad\\text{(chain rule)}"
    if s.kind is StepKind.SUM:
        rhs = grad_latex(d, out_unit, s.target)
        if s.value is not None:
            rhs += " = " + " + ".join(_paren(f) for f in s.factors) + f" = {_n(s.value)}"
        return rhs + "\\quad\\text{(sum over paths)}"
    if s.kind is StepKind.RESULT:
        return f"{grad_latex(d, out_unit, s.target)} = {_n(s.value)}"
    return None


def _forward_latex(d: Derivation, s: Step) -> str:
    rhs = f"{name_latex(d, s.target)} = {to_latex(s.symbolic)}"
    if s.value is not None:
        rhs += f" = {substituted_latex(s, d)} = {_n(s.value)}"
    return rhs


def _paren(x) -> str:
    t = _n(x)
    return f"({t})" if t.startswith("-") else t


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

_CSS = """body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse}td,th{padding:.3rem .7rem;border-bottom:1px solid #ddd;text-align:left}
.correct{color:#1a7f37}.incorrect,.missing{color:#cf222e}.carried_error{color:#9a6700}.undecided{color:#8250df}
code{background:#f3f3f3;padding:0 .2rem}.explain{margin:.2rem 0 1rem 1.5rem}.first{font-weight:bold}
.math{overflow-x:auto}"""


def render_html(result: CheckResult, *, title: str | None = None, mathjax: bool = True) -> str:
    """A standalone HTML page; every user string goes through ``html.escape``."""
    e = html.escape
    t = e(title or "Homework feedback")
    H = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">', f"<title>{t}</title>",
         f"<style>{_CSS}</style>"]
    if mathjax:
        H.append('<script defer src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-chtml.js"></script>')
    H += ["</head>", "<body>", f"<h1>{t}</h1>"]
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
            steps = derivation_latex(result.problem, i.quantity)
            if steps:
                H.append("<p>Correct derivation of this step:</p>")
                H += [f'<div class="math">\\[{e(s)}\\]</div>' for s in steps]
    H += ["</body>", "</html>"]
    return "\n".join(H) + "\n"


def node_name(problem: Problem, nid: str) -> str:  # pragma: no cover - convenience for notebooks
    return node_label(problem.derivation.graph, nid)
