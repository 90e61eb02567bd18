"""The LaTeX printer: a standalone ``article`` that pdflatex compiles, or an ``align*`` fragment.

Maths comes from SymPy's LaTeX printer (:mod:`.notation`); words are escaped for LaTeX, and
the few non-ASCII characters the write-ups use are given their LaTeX commands, so the
document compiles with a minimal TeX Live (``pdflatex``, amsmath, amssymb, graphicx).
"""

from __future__ import annotations

import unicodedata

from .document import (
    Bullets,
    Code,
    Details,
    Document,
    Equations,
    Figure,
    Heading,
    Math,
    Paragraph,
    Table,
)
from .markdown import BREAK_CHARS, equation_rows
from .notation import term_latex

__all__ = ["print_latex", "LatexDocumentPrinter", "latex_text"]

_PREAMBLE = r"""\documentclass[11pt]{article}
\usepackage[T1]{fontenc}
\usepackage[utf8]{inputenc}
\usepackage{lmodern}
\usepackage{amsmath,amssymb}
\usepackage{graphicx}
\usepackage[margin=2.2cm]{geometry}
\allowdisplaybreaks
\setlength{\parindent}{0pt}
\setlength{\parskip}{0.6ex}
"""

#: Characters of the write-ups' words that pdflatex needs spelled out.
_SPELLED = {"∂": r"$\partial$", "·": r"$\cdot$", "×": r"$\times$", "≤": r"$\le$", "≥": r"$\ge$",
            "≈": r"$\approx$", "−": "-", "—": "---", "–": "--", "…": r"\ldots{}", "′": "'", "√": r"$\surd$",
            "✓": r"$\checkmark$", "✗": r"$\times$", "↪": r"$\hookrightarrow$", "→": r"$\to$",
            "²": r"\textsuperscript{2}", "³": r"\textsuperscript{3}", "½": r"$\frac12$", "η": r"$\eta$",
            "σ": r"$\sigma$", "δ": r"$\delta$", "“": "``", "”": "''", "’": "'", "‘": "`", "⁻": "-",
            "¹": r"\textsuperscript{1}", "⁰": r"\textsuperscript{0}", "|": r"\textbar{}", "<": r"\textless{}",
            ">": r"\textgreater{}", "←": r"$\leftarrow$", "Σ": r"$\Sigma$", "≠": r"$\ne$",
            "⌊": r"$\lfloor$", "⌋": r"$\rfloor$"}
_SPECIAL = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "#": r"\#",
            "%": r"\%", "_": r"\_", "^": r"\^{}", "~": r"\~{}"}


def latex_text(text: str) -> str:
    """Words for a LaTeX document: specials escaped, other characters spelled out.

    Examples
    --------
    >>> latex_text("∂y/∂b ≤ 3e-11 & 50% of a_1")
    '$\\\\partial$y/$\\\\partial$b $\\\\le$ 3e-11 \\\\& 50\\\\% of a\\\\_1'
    """
    out = []
    for ch in text:
        if ch in _SPECIAL:
            out.append(_SPECIAL[ch])
        elif ch in _SPELLED:
            out.append(_SPELLED[ch])
        elif ord(ch) < 128:
            out.append(ch)
        else:
            out.append(_fallback(ch))
    return "".join(out)


#: Combining accents and the LaTeX text accent that writes them (ŷ -> \^{y}).
_ACCENTS = {"\u0302": "^", "\u0301": "'", "\u0300": "`", "\u0303": "~", "\u0308": '"', "\u0304": "="}


def _fallback(ch: str) -> str:
    parts = unicodedata.normalize("NFD", ch)
    if len(parts) == 2 and ord(parts[0]) < 128 and parts[1] in _ACCENTS:
        return f"\\{_ACCENTS[parts[1]]}{{{parts[0]}}}"
    name = unicodedata.name(ch, "")
    if name.startswith("GREEK SMALL LETTER "):
        return rf"$\{name.rsplit(' ', 1)[1].lower()}$"
    # Letters as sub- and superscripts (ₖ, ₛ, ᵗ: the training formulas' indices).
    if "SUBSCRIPT SMALL LETTER " in name or name.startswith("MODIFIER LETTER SMALL "):
        letter = name.rsplit(" ", 1)[1].lower()
        if len(letter) == 1:
            return (r"\textsubscript{" if "SUBSCRIPT" in name else r"\textsuperscript{") + f"{letter}}}"
    if name.startswith("SUBSCRIPT ") or name.startswith("SUPERSCRIPT "):
        digit = unicodedata.digit(ch, None)
        if digit is not None:
            return (r"\textsubscript{" if name.startswith("SUB") else r"\textsuperscript{") + f"{digit}}}"
    return "?"


def _inline(runs, display: bool = False) -> str:
    out = []
    for r in runs:
        if isinstance(r, Math):
            style = r"\displaystyle " if display else ""
            out.append("$" + style + " = ".join(term_latex(t) for t in r.terms) + "$")
        elif r.style == "strong":
            out.append(rf"\textbf{{{latex_text(r.text)}}}")
        elif r.style in ("em", "note"):
            out.append(rf"\emph{{{latex_text(r.text)}}}")
        elif r.style == "code":
            out.append(rf"\texttt{{{latex_text(r.text)}}}")
        else:
            out.append(latex_text(r.text))
    return "".join(out)


class LatexDocumentPrinter:
    """LaTeX of a document: one ``_print_<Block>`` per block type."""

    def body(self, doc: Document) -> list[str]:
        L: list[str] = []
        for block in doc.blocks:
            L.extend(getattr(self, f"_print_{type(block).__name__}")(block))
        return L

    def _print_Heading(self, b: Heading) -> list[str]:
        cmd = {1: "section*", 2: "section*", 3: "subsection*"}.get(b.level, "paragraph*")
        return [rf"\{cmd}{{{latex_text(b.text)}}}", ""]

    def _print_Paragraph(self, b: Paragraph) -> list[str]:
        return [_inline(b.runs), ""]

    def _print_Code(self, b: Code) -> list[str]:
        lines = [rf"\texttt{{{latex_text(line)}}}\\" for line in b.lines]
        return [r"\begin{quote}", *lines, r"\end{quote}", ""]

    def _print_Figure(self, b: Figure) -> list[str]:
        if not b.pdf:
            return []
        return [r"\begin{center}", rf"\includegraphics[width=\linewidth,height=0.45\textheight,"
                rf"keepaspectratio]{{{b.pdf}}}", r"\end{center}", ""]

    def _print_Bullets(self, b: Bullets) -> list[str]:
        return [r"\begin{itemize}", *(rf"\item {_inline(item)}" for item in b.items), r"\end{itemize}", ""]

    def _print_Details(self, b: Details) -> list[str]:
        L = [rf"\paragraph*{{{latex_text(b.summary[:1].upper() + b.summary[1:])}}}", ""]
        for block in b.blocks:
            L.extend(getattr(self, f"_print_{type(block).__name__}")(block))
        return L

    def _print_Table(self, b: Table) -> list[str]:
        cols = "l" * len(b.header)
        L = [r"\begin{center}", r"\resizebox{\ifdim\width>\linewidth\linewidth\else\width\fi}{!}{%",
             rf"\begin{{tabular}}{{{cols}}}", r"\hline",
             " & ".join(_inline(c) for c in b.header) + r" \\", r"\hline"]
        # Fractions in cells at full size, rows spaced for them.
        L.extend(" & ".join(_inline(c, display=True) for c in row) + r" \\[3pt]" for row in b.rows)
        return L + [r"\hline", r"\end{tabular}}", r"\end{center}", ""]

    def _print_Equations(self, b: Equations) -> list[str]:
        return align_block(b)


def align_block(b: Equations) -> list[str]:
    """One ``align*`` environment for a group of derivation lines (long lines broken at ``=``)."""
    rows = [r for eq in b.lines for r in equation_rows(eq, BREAK_CHARS, latex_text, tags=True)]
    notes = [rf"\emph{{Step {eq.index}: {latex_text(eq.note)}}}" for eq in b.lines if eq.note]
    return [r"\begin{align*}", *(r + r" \\" for r in rows[:-1]), rows[-1], r"\end{align*}", *notes, ""]


def print_latex(doc: Document, *, fragment: bool = False) -> str:
    """LaTeX of ``doc``: a standalone ``article``, or with ``fragment`` only its ``align*`` blocks.

    Examples
    --------
    >>> from backproof.derivation import derive
    >>> from backproof.report.derivation_doc import derivation_document
    >>> tex = print_latex(derivation_document(derive("y = 2*x", at={"x": 3}, verify=False)))
    >>> tex.splitlines()[0], tex.rstrip().splitlines()[-1]
    ('\\\\documentclass[11pt]{article}', '\\\\end{document}')
    """
    if fragment:
        blocks = [line for b in doc.blocks if isinstance(b, Equations) for line in align_block(b)]
        return "\n".join(blocks).rstrip("\n") + "\n"
    body = LatexDocumentPrinter().body(doc)
    title = latex_text(doc.title) + (rf"\\ \large {latex_text(doc.subtitle)}" if doc.subtitle else "")
    return "\n".join([_PREAMBLE.rstrip("\n"), r"\begin{document}", "",
                      rf"{{\LARGE\bfseries {title}\par}}", r"\medskip", "", *body,
                      r"\end{document}"]) + "\n"
