"""The Markdown printer: GitHub-renderable, display maths in ``aligned`` blocks."""

from __future__ import annotations

import html

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
from .notation import term_latex

__all__ = ["render_markdown", "print_markdown", "MarkdownPrinter", "BREAK_CHARS"]

#: A derivation line that shows more characters than this breaks after each ``=``.
BREAK_CHARS = 70

_WRAP = {"strong": "**", "em": "*", "code": "`"}


def _md_text(text: str) -> str:
    """Words safe in Markdown: no HTML and no markup from user strings."""
    out = html.escape(text, quote=False)
    for ch in "\\`*_[]#|$":
        out = out.replace(ch, "\\" + ch)
    return out


def _inline(runs, in_table: bool = False) -> str:
    out = []
    for r in runs:
        if isinstance(r, Math):
            tex = " = ".join(term_latex(t) for t in r.terms)
            out.append("$" + (tex.replace("|", r"\vert ") if in_table else tex) + "$")
        elif r.style in _WRAP and r.text:
            w = _WRAP[r.style]
            out.append(f"`{r.text.replace('`', '')}`" if w == "`" else f"{w}{_md_text(r.text)}{w}")
        else:
            out.append(_md_text(r.text))
    return "".join(out)


def equation_rows(eq: Equation, width: int = BREAK_CHARS, text=None, tags: bool = False) -> list[str]:
    """``aligned`` rows of one derivation line: ``lhs &= t1 = t2`` or one ``&= t`` per row.

    The step number and rule go in front and after (``aligned``), or into LaTeX's
    ``\tag*`` at the right margin with ``tags``.
    """
    terms = [term_latex(t) for t in eq.terms]
    label = (text or _tex_text)(eq.tag)
    aside = (r"\text{: } " + " = ".join(term_latex(t) for t in eq.aside)) if eq.aside else ""
    if tags:
        number = ""
        both = " · ".join(x for x in (str(eq.index) if eq.index is not None else "", label) if x)
        aside = f"${aside}$" if aside else ""
        tag = rf" \tag*{{\footnotesize {both}{aside}}}" if both else ""
    else:
        number = rf"\text{{{eq.index}.}}\quad " if eq.index is not None else ""
        tag = rf" && \text{{{label}}}{aside}" if eq.tag else ""
    if len(terms) == 1:
        return [number + terms[0] + tag]
    if sum(map(visible_length, terms)) <= width:
        return [number + terms[0] + " &= " + " = ".join(terms[1:]) + tag]
    rows = [number + terms[0] + " &= " + terms[1] + tag]
    rows.extend("&= " + t for t in terms[2:])
    return rows


def visible_length(tex: str) -> int:
    """Roughly how many characters a LaTeX formula shows (commands and braces not counted)."""
    import re
    return len(re.sub(r"\\[a-zA-Z]+|[{}_^]", "", tex))


def _tex_text(text: str) -> str:
    """Text for ``\\text{…}`` inside maths: braces, backslashes and ``$`` escaped."""
    out = text.replace("\\", "/")
    for ch in "{}$%#&_^":
        out = out.replace(ch, "\\" + ch)
    return out


class MarkdownPrinter:
    """Markdown of a document: one ``_print_<Block>`` per block type."""

    def lines(self, doc: Document) -> list[str]:
        L = [f"# {_md_text(doc.title)}", ""]
        for block in doc.blocks:
            L.extend(getattr(self, f"_print_{type(block).__name__}")(block))
        return L

    def _print_Heading(self, b: Heading) -> list[str]:
        return ["#" * b.level + " " + _md_text(b.text), ""]

    def _print_Paragraph(self, b: Paragraph) -> list[str]:
        return [_inline(b.runs), ""]

    def _print_Code(self, b: Code) -> list[str]:
        return ["```", *b.lines, "```", ""]

    def _print_Figure(self, b: Figure) -> list[str]:
        return [f"![{_md_text(b.alt)}]({b.path})", ""] if b.path else []

    def _print_Bullets(self, b: Bullets) -> list[str]:
        return [f"- {_inline(item)}" for item in b.items] + [""]

    def _print_Details(self, b: Details) -> list[str]:
        L = [f"<details{' open' if b.open else ''}><summary>{html.escape(b.summary)}</summary>", ""]
        for block in b.blocks:
            L.extend(getattr(self, f"_print_{type(block).__name__}")(block))
        return L + ["</details>", ""]

    def _print_Table(self, b: Table) -> list[str]:
        L = ["| " + " | ".join(_inline(c, True) for c in b.header) + " |", "|" + "---|" * len(b.header)]
        L.extend("| " + " | ".join(_inline(c, True) for c in row) + " |" for row in b.rows)
        return L + [""]

    def _print_Equations(self, b: Equations) -> list[str]:
        rows = [r for eq in b.lines for r in equation_rows(eq)]
        notes = [f"- step {eq.index}: {_md_text(eq.note)}" for eq in b.lines if eq.note]
        return ["$$", r"\begin{aligned}", *(r + r" \\" for r in rows[:-1]), rows[-1],
                r"\end{aligned}", "$$", "", *notes, *([""] if notes else [])]


def print_markdown(doc: Document) -> str:
    """The Markdown text of ``doc``."""
    return "\n".join(MarkdownPrinter().lines(doc)).rstrip("\n") + "\n"


def render_markdown(deriv, *, title: str | None = None, diagram: str | None = None, proof=None,
                    check=None, options=None) -> str:
    """The Markdown write-up of a derivation.

    Parameters
    ----------
    title : str, optional
        Heading (default: "The gradients of <output>").
    diagram : str, optional
        Relative path of a diagram image to embed after the program.
    proof, check : optional
        The proof and the numeric cross-check to report (default: skipped).
    options : WriteupOptions, optional
        Notation and length (:class:`backproof.report.derivation_doc.WriteupOptions`).

    Examples
    --------
    >>> from backproof.derivation import derive
    >>> render_markdown(derive("y = 2*x", verify=False)).splitlines()[0]
    '# The gradients of y'
    """
    from dataclasses import replace

    from .derivation_doc import WriteupOptions, derivation_document
    opts = options or WriteupOptions()
    if title is not None:
        opts = replace(opts, title=title)
    if diagram:
        opts = replace(opts, figure=Figure(f"Computational graph of {deriv.output}: forward values and "
                                           "gradients at each node, local derivatives on the edges",
                                           path=diagram))
    return print_markdown(derivation_document(deriv, proof=proof, check=check, options=opts))


__all__ += ["equation_rows"]
