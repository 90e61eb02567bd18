"""The HTML printer: one self-contained page (inline SVG, MathML, inline CSS; no request of any kind).

Maths is presentation MathML from SymPy's printer (:mod:`.notation`), which browsers render
natively: no script or font is fetched, so the page reads the same offline and under a strict
content-security policy. Every word is escaped with :func:`html.escape`. A derivation line
carries the ids of the diagram's nodes it is about; hovering, focusing or clicking it
highlights them (a few lines of inline script; the page reads fine without it).
"""

from __future__ import annotations

import html
import re

from .document import (
    Bullets,
    Code,
    Details,
    Document,
    Equation,
    Equations,
    Figure,
    Heading,
    Math,
    Paragraph,
    Table,
)
from .notation import term_mathml

__all__ = ["print_html", "HtmlPrinter", "CSP", "mathml"]

#: The page's content-security policy: nothing may be fetched.
CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"

_CSS = """
:root { color-scheme: light; --ink: #1b1b1f; --muted: #5d6270; --rule: #d9dce3; --hl: #d1495b;
        --good: #1a7f37; --bad: #b42318; --note: #8a5a00; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff; font: 16px/1.55 system-ui, -apple-system,
       "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
main { max-width: 52rem; margin: 0 auto; padding: 1.2rem 1rem 3rem; }
h1 { font-size: 1.6rem; margin: 0 0 .2rem; } .subtitle { color: var(--muted); margin: 0 0 1rem; }
h2 { font-size: 1.2rem; margin: 1.6rem 0 .5rem; border-bottom: 1px solid var(--rule); }
pre { background: #f6f7f9; padding: .6rem .8rem; border-radius: 6px; overflow-x: auto; }
math { font-size: 1.1em; math-style: normal; }
ol.steps { list-style: none; padding: 0; margin: .3rem 0; }
ol.steps li { display: flex; flex-wrap: wrap; align-items: baseline; gap: .2rem .8rem;
              padding: .25rem .5rem; border-radius: 6px; border-left: 3px solid transparent; }
ol.steps li:hover, ol.steps li:focus, ol.steps li.active { background: #fdf1f3; border-left-color: var(--hl);
              outline: none; }
.n { color: var(--muted); min-width: 2.2rem; font-variant-numeric: tabular-nums; }
.eq { overflow-x: auto; overflow-y: hidden; max-width: 100%; padding: .15rem 0; display: inline-flex;
      flex-wrap: wrap; align-items: baseline; column-gap: .12em; }
.tag { color: var(--muted); font-size: .9em; }
.note { color: var(--note); flex-basis: 100%; padding-left: 3rem; font-size: .92em; }
details { margin: .4rem 0; } summary { cursor: pointer; color: var(--muted); }
.table { overflow-x: auto; } table { border-collapse: collapse; margin: .5rem 0; }
th, td { border-bottom: 1px solid var(--rule); padding: .3rem .6rem; text-align: left; vertical-align: top; }
th { font-weight: 600; }
figure { margin: 1rem 0; overflow-x: auto; } figure svg { max-width: 100%; height: auto; }
figcaption { color: var(--muted); font-size: .9em; }
.good { color: var(--good); } .bad { color: var(--bad); } .dim { color: var(--muted); }
svg .hl polygon, svg .hl ellipse, svg .hl path { stroke: var(--hl); stroke-width: 3px; }
svg .hl text { fill: var(--hl); }
@media (max-width: 600px) { body { font-size: 15px; } main { padding: .8rem .6rem 2rem; } }
@media print { ol.steps li { break-inside: avoid; } details > summary { display: none; }
               main { max-width: none; } }
"""

# Hovering, focusing or clicking a step highlights the diagram nodes (and the edges between
# them) whose ids it lists; the diagram's SVG groups carry those ids (``bp:<unit>`` and
# ``bp-edge:<u>|<w>``, set by the diagram builder).
_SCRIPT = """
(function () {
  var svg = document.querySelector("figure svg");
  function clear() { document.querySelectorAll(".hl, li.active").forEach(function (e) {
    e.classList.remove("hl"); e.classList.remove("active"); }); }
  function show(li) {
    clear(); li.classList.add("active");
    if (!svg) return;
    var ids = (li.getAttribute("data-nodes") || "").split(" ");
    svg.querySelectorAll("g.node, g.edge").forEach(function (g) {
      var gid = g.id || "", hit = false;
      if (gid.indexOf("bp:") == 0) hit = ids.indexOf(gid.slice(3)) >= 0;
      if (gid.indexOf("bp-edge:") == 0) {
        var ends = gid.slice(8).split("|");
        hit = ids.indexOf(ends[0]) >= 0 && ids.indexOf(ends[1]) >= 0;
      }
      if (hit) g.classList.add("hl");
    });
  }
  document.querySelectorAll("li[data-nodes]").forEach(function (li) {
    li.addEventListener("mouseenter", function () { show(li); });
    li.addEventListener("focus", function () { show(li); });
    li.addEventListener("click", function () { show(li); });
  });
})();
"""


def mathml(terms, display: bool = False) -> str:
    """A ``<math>`` element for a chain of terms joined by ``=`` (SymPy's presentation MathML).

    Examples
    --------
    >>> import sympy as sp
    >>> mathml((sp.Symbol("x"), sp.Integer(2)))
    '<math><mrow><mi>x</mi><mo>=</mo><mn>2</mn></mrow></math>'
    """
    # A leading None leaves the first side empty ("= term", a continued chain).
    inner = "<mo>=</mo>".join("" if t is None else term_mathml(t) for t in terms)
    attr = ' display="block"' if display else ""
    return f"<math{attr}><mrow>{inner}</mrow></math>"


def chain(terms) -> str:
    """A line's equality chain as one ``<math>`` per ``= term``, so a narrow page wraps it
    between terms instead of scrolling sideways."""
    if len(terms) <= 2:
        return mathml(terms)
    first = mathml(terms[:2])
    rest = "".join(f'<span class="more">{mathml((None, t))}</span>' for t in terms[2:])
    return first + rest


def _inline(runs) -> str:
    out = []
    for r in runs:
        if isinstance(r, Math):
            out.append(mathml(r.terms))
        elif r.style == "strong":
            out.append(f"<strong>{html.escape(r.text)}</strong>")
        elif r.style == "em":
            out.append(f"<em>{html.escape(r.text)}</em>")
        elif r.style == "code":
            out.append(f"<code>{html.escape(r.text)}</code>")
        elif r.style:
            out.append(f'<span class="{r.style}">{html.escape(r.text)}</span>')
        else:
            out.append(html.escape(r.text))
    return "".join(out)


def _svg_inline(svg: str) -> str:
    """The SVG element of an SVG file, without its XML prolog and doctype."""
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else ""


class HtmlPrinter:
    """HTML of a document: one ``_print_<Block>`` per block type."""

    def body(self, doc: Document) -> list[str]:
        L = [f"<h1>{html.escape(doc.title)}</h1>"]
        if doc.subtitle:
            L.append(f'<p class="subtitle">{html.escape(doc.subtitle)}</p>')
        for block in doc.blocks:
            L.extend(getattr(self, f"_print_{type(block).__name__}")(block))
        return L

    def _print_Heading(self, b: Heading) -> list[str]:
        level = min(max(b.level, 2), 4)
        return [f"<h{level}>{html.escape(b.text)}</h{level}>"]

    def _print_Paragraph(self, b: Paragraph) -> list[str]:
        return [f"<p>{_inline(b.runs)}</p>"]

    def _print_Code(self, b: Code) -> list[str]:
        return ["<pre><code>" + html.escape("\n".join(b.lines)) + "</code></pre>"]

    def _print_Figure(self, b: Figure) -> list[str]:
        if not b.svg:
            return []
        return ["<figure>", _svg_inline(b.svg), f"<figcaption>{html.escape(b.alt)}</figcaption>", "</figure>"]

    def _print_Bullets(self, b: Bullets) -> list[str]:
        return ["<ul>", *(f"<li>{_inline(item)}</li>" for item in b.items), "</ul>"]

    def _print_Details(self, b: Details) -> list[str]:
        L = [f"<details{' open' if b.open else ''}><summary>{html.escape(b.summary)}</summary>"]
        for block in b.blocks:
            L.extend(getattr(self, f"_print_{type(block).__name__}")(block))
        return L + ["</details>"]

    def _print_Table(self, b: Table) -> list[str]:
        L = ['<div class="table"><table>', "<thead><tr>" + "".join(f"<th>{_inline(c)}</th>" for c in b.header)
             + "</tr></thead>", "<tbody>"]
        L.extend("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in row) + "</tr>" for row in b.rows)
        return L + ["</tbody></table></div>"]

    def _print_Equations(self, b: Equations) -> list[str]:
        items = [self._equation(eq) for eq in b.lines]
        return ['<ol class="steps">', *items, "</ol>"]

    def _equation(self, eq: Equation) -> str:
        ident = f' id="step-{eq.index}"' if eq.index is not None else ""
        nodes = f' data-nodes="{html.escape(" ".join(eq.nodes))}" tabindex="0"' if eq.nodes else ""
        number = f'<span class="n">{eq.index}.</span>' if eq.index is not None else ""
        aside = ": " + mathml(eq.aside) if eq.aside else ""
        tag = f'<span class="tag">{html.escape(eq.tag)}{aside}</span>' if eq.tag else ""
        note = f'<span class="note">note: {html.escape(eq.note)}</span>' if eq.note else ""
        return (f'<li{ident}{nodes} class="{eq.kind}">{number}<span class="eq">{chain(eq.terms)}</span>'
                f"{tag}{note}</li>")


def print_html(doc: Document) -> str:
    """One self-contained HTML page of ``doc``.

    Examples
    --------
    >>> from backproof.derivation import derive
    >>> from backproof.report.derivation_doc import derivation_document
    >>> page = print_html(derivation_document(derive("y = 2*x", at={"x": 3}, verify=False)))
    >>> "<math" in page, "http:" in page.replace("http://www.w3.org", "")
    (True, False)
    """
    body = HtmlPrinter().body(doc)
    title = html.escape(doc.title)
    page = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
            f"<title>{title}</title>", f"<style>{_CSS}</style>", "</head>", "<body>", "<main>", *body,
            "</main>", f"<script>{_SCRIPT}</script>", "</body>", "</html>"]
    return "\n".join(page) + "\n"


def strip_links(svg: str) -> str:
    """An SVG without ``xlink:href``/``href`` links to anything outside the page."""
    return re.sub(r'\s(?:xlink:)?href="(?!#)[^"]*"', "", svg)


__all__ += ["strip_links"]
