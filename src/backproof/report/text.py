"""The terminal printer of a document: readable, aligned, coloured when shown on a terminal."""

from __future__ import annotations

import textwrap
from io import StringIO

from rich.console import Console
from rich.markup import escape as e  # short: every piece of user text is escaped
from rich.text import Text as RichText

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
from .notation import term_text

__all__ = ["render_text", "print_text", "TextPrinter", "WIDTH"]

#: Lines longer than this break their equality chain, one ``= term`` per line.
WIDTH = 100

_STYLE = {"strong": "bold", "em": "italic", "code": "", "good": "green", "bad": "red", "note": "yellow",
          "dim": "dim", "": ""}


def _runs(runs) -> str:
    out = []
    for r in runs:
        if isinstance(r, Math):
            out.append(e(" = ".join(term_text(t) for t in r.terms)))
        else:
            style = _STYLE.get(r.style, "")
            out.append(f"[{style}]{e(r.text)}[/{style}]" if style else e(r.text))
    return "".join(out)


def _plain(runs) -> str:
    return RichText.from_markup(_runs(runs)).plain


class TextPrinter:
    """Rich-markup lines of a document: one ``_print_<Block>`` per block type, as SymPy's
    printers dispatch per class. Markup only styles; every content string is escaped."""

    def lines(self, doc: Document) -> list[str]:
        head = f"[bold]backproof[/bold] — {e(doc.title[:1].lower() + doc.title[1:])}"
        L = [head + (f", {e(doc.subtitle)}" if doc.subtitle else "")]
        for block in doc.blocks:
            L.extend(getattr(self, f"_print_{type(block).__name__}")(block))
        return L

    def _print_Heading(self, b: Heading) -> list[str]:
        return ["", f"[bold]{e(b.text)}[/bold]"]

    def _print_Paragraph(self, b: Paragraph) -> list[str]:
        if all(isinstance(r, Math) or not r.style for r in b.runs):
            plain = "".join(" = ".join(term_text(t) for t in r.terms) if isinstance(r, Math) else r.text
                            for r in b.runs)
            return [e(line) for line in textwrap.wrap(plain, WIDTH, initial_indent="  ", subsequent_indent="  ")]
        return ["  " + _runs(b.runs)]

    def _print_Code(self, b: Code) -> list[str]:
        return [f"  {e(line)}" for line in b.lines]

    def _print_Figure(self, b: Figure) -> list[str]:
        return [f"  (diagram: {e(b.path)})"] if b.path else []

    def _print_Bullets(self, b: Bullets) -> list[str]:
        return ["  " + _runs(item) for item in b.items]

    def _print_Details(self, b: Details) -> list[str]:
        L: list[str] = [f"  [dim]{e(b.summary)}[/dim]"]
        for block in b.blocks:
            L.extend(getattr(self, f"_print_{type(block).__name__}")(block))
        return L

    def _print_Table(self, b: Table) -> list[str]:
        rows = [[_plain(c) for c in b.header]] + [[_plain(c) for c in row] for row in b.rows]
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        return ["  " + e("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip()) for r in rows]

    def _print_Equations(self, b: Equations) -> list[str]:
        return [line for eq in b.lines for line in self._equation(eq)]

    def _equation(self, eq: Equation) -> list[str]:
        number = f"{eq.index:>4}. " if eq.index is not None else "      "
        terms = [term_text(t) for t in eq.terms]
        colour = {"forward": "green", "chain": "red", "sum": "red", "edge": "red", "seed": "red"}.get(eq.kind)
        last = len(terms) - 1
        shown = [f"[{colour}]{e(t)}[/{colour}]" if i == last and colour and i else e(t)
                 for i, t in enumerate(terms)]
        aside = ": " + " = ".join(term_text(t) for t in eq.aside) if eq.aside else ""
        tag = f"   [dim]({e(eq.tag + aside)})[/dim]" if eq.tag else ""
        flat = "  " + number + " = ".join(terms)
        if len(flat) + len(eq.tag) + len(aside) + 5 <= WIDTH or len(terms) <= 2:
            lines = ["  " + number + " = ".join(shown) + tag]
        else:  # one `= term` per line, aligned under the first `=`
            pad = " " * (2 + len(number) + len(terms[0]) + 1)
            lines = ["  " + number + shown[0] + " = " + shown[1] + tag]
            lines.extend(pad + "= " + t for t in shown[2:])
        if eq.note:
            lines.append(f"          [yellow]note: {e(eq.note)}[/yellow]")
        return lines


def print_text(doc: Document, color: bool = False) -> str:
    """The terminal text of ``doc``; ANSI colours when ``color`` is true."""
    lines = TextPrinter().lines(doc)
    if not color:
        return "\n".join(RichText.from_markup(line).plain for line in lines) + "\n"
    buf = StringIO()
    console = Console(file=buf, force_terminal=True, color_system="standard", width=200,
                      highlight=False, soft_wrap=True)
    for line in lines:
        console.print(line)
    return buf.getvalue()


def render_text(deriv, color: bool = False, *, proof=None, check=None, options=None) -> str:
    """The terminal write-up of a derivation; ANSI colours when ``color`` is true.

    Examples
    --------
    >>> from backproof.derivation import derive
    >>> print(render_text(derive("y = 2*x", at={"x": 3}, verify=False)).splitlines()[0])
    backproof — the gradients of y, one chain-rule step at a time
    """
    from .derivation_doc import derivation_document
    return print_text(derivation_document(deriv, proof=proof, check=check, options=options), color)
