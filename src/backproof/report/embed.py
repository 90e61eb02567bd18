"""HTML fragments for a notebook's output cells (Jupyter's ``_repr_html_``).

A notebook puts an output's HTML inside its own page: a ``<style>`` whose rules name
``body``, ``h1`` or ``table`` restyles the whole notebook, and a script that looks for "the"
figure finds another cell's. So a cell gets a fragment, not a page: one ``<div
class="backproof">`` holding the write-up's body and a stylesheet whose every rule is scoped to
that class, with no script and no URL (maths is MathML, which browsers draw natively; the
diagram is inline SVG). The stand-alone pages (:func:`backproof.report.html.print_html`,
:func:`backproof.check.report.render_html`) keep their own CSS and script.
"""

from __future__ import annotations

from .document import Document
from .html import HtmlPrinter

__all__ = ["NOTEBOOK_CSS", "document_fragment", "fragment"]

#: The notebook stylesheet: every selector starts with ``.backproof`` so nothing outside the
#: fragment changes. Colours are the pages' (derivation and check feedback).
NOTEBOOK_CSS = """
.backproof { line-height: 1.5; max-width: 52rem; }
.backproof h1 { font-size: 1.35rem; margin: .2rem 0; } .backproof h2 { font-size: 1.15rem; margin: 1.1rem 0 .4rem; }
.backproof h3 { font-size: 1rem; margin: .9rem 0 .3rem; }
.backproof .subtitle, .backproof .n, .backproof .tag, .backproof .dim, .backproof figcaption { color: #5d6270; }
.backproof math { font-size: 1.1em; math-style: normal; }
.backproof .math > math { display: inline math; margin: .3rem 0; }
.backproof ol.steps { list-style: none; padding: 0; margin: .3rem 0; }
.backproof ol.steps li { display: flex; flex-wrap: wrap; align-items: baseline; gap: .2rem .8rem;
  padding: .2rem .4rem; border-left: 3px solid transparent; }
.backproof ol.steps li:hover { background: #fdf1f3; border-left-color: #d1495b; }
.backproof .n { min-width: 2.2rem; font-variant-numeric: tabular-nums; }
.backproof .eq, .backproof .math, .backproof .table { overflow-x: auto; overflow-y: hidden; max-width: 100%;
  padding: .15rem 0; }
.backproof .tag { font-size: .9em; }
.backproof .note { color: #8a5a00; flex-basis: 100%; padding-left: 3rem; font-size: .92em; }
.backproof table { border-collapse: collapse; margin: .5rem 0; }
.backproof th, .backproof td { border-bottom: 1px solid #d9dce3; padding: .25rem .6rem; text-align: left; }
.backproof pre { background: #f6f7f9; padding: .5rem .7rem; border-radius: 6px; overflow-x: auto; }
.backproof figure { margin: .8rem 0; overflow-x: auto; }
.backproof figure svg { max-width: 100%; height: auto; }
.backproof .good, .backproof .correct { color: #1a7f37; }
.backproof .bad, .backproof .incorrect, .backproof .missing { color: #b42318; }
.backproof .carried_error { color: #9a6700; } .backproof .undecided { color: #8250df; }
.backproof .first { font-weight: bold; } .backproof .explain { margin: .2rem 0 .8rem 1.5rem; }
"""


def fragment(body: str) -> str:
    """``body`` (HTML) in the scoped ``<div class="backproof">`` with the notebook stylesheet.

    Examples
    --------
    >>> fragment("<p>hi</p>").splitlines()[0]
    '<div class="backproof">'
    """
    return f'<div class="backproof">\n<style>{NOTEBOOK_CSS}</style>\n{body}\n</div>\n'


def document_fragment(doc: Document) -> str:
    """A document as a notebook fragment: the HTML printer's body, scoped style, no script.

    Examples
    --------
    >>> from backproof.derivation import derive
    >>> from backproof.report.derivation_doc import derivation_document
    >>> html = document_fragment(derivation_document(derive("y = 2*x", at={"x": 3}, verify=False)))
    >>> "<math" in html, "<script" in html, "<body" in html
    (True, False, False)
    """
    return fragment("\n".join(HtmlPrinter().body(doc)))
