"""A student's problem sheet for ``assign``: the variant as a document for the shared printers.

Built from a :class:`~backproof.check.assign.Variant` (data only); Markdown, HTML and
LaTeX come from the printers in :mod:`backproof.report`, as every other write-up does.
"""

from __future__ import annotations

from ..printing import format_number
from ..report.document import Bullets, Code, Document, Heading, Paragraph, Table, Text
from ..report.html import print_html
from ..report.latex import print_latex
from ..report.markdown import print_markdown
from .assign import Variant

__all__ = ["problem_sheet_document", "render_sheet", "SHEET_FORMATS"]

#: File extension -> printer of a problem sheet.
SHEET_FORMATS = {"md": print_markdown, "html": print_html, "tex": print_latex}


def problem_sheet_document(v: Variant, asked: list[str], *, title: str | None = None) -> Document:
    """The sheet of one variant: the program, the student's own values, and what to find.

    Parameters
    ----------
    v : Variant
        The student's variant.
    asked : list of str
        The quantities to find, as the key names them (``dJ/dw1``).
    title : str, optional
        The key's title (default "Backpropagation by hand").
    """
    p = v.problem
    at = p.at or {}
    rows = tuple(((Text(name, "code"),), (Text(format_number(at[name], 12)),))
                 for name in p.inputs if name in at)
    blocks: list = [
        Paragraph((Text("Student: "), Text(v.student.name, "strong"), Text(f" (id {v.student.id})"))),
        Heading("The computation"),
        Code(_program_lines(p)),
        Heading("Your values"),
        Table(((Text("input"),), (Text("value"),)), rows),
    ]
    if p.learning_rate is not None:
        eta = format_number(p.learning_rate, 12)
        blocks.append(Paragraph((Text("Learning rate η = "), Text(eta, "code"))))
    blocks += [
        Heading("Find"),
        Bullets(tuple((Text(q, "code"),) for q in asked)),
        Paragraph((Text("Hand in a file named "), Text(f"{v.student.id}.yaml", "code"),
                   Text(" with an "), Text("answers:", "code"),
                   Text(" mapping from each quantity above to your value (see docs/homework.md)."),)),
    ]
    return Document(title or "Backpropagation by hand", tuple(blocks),
                    subtitle=f"Problem for {v.student.name}")


def _program_lines(p) -> tuple[str, ...]:
    """The program as the teacher wrote it (else one ``name = expression`` line per statement)."""
    if p.program.source:
        return tuple(line.strip() for line in p.program.source.strip().splitlines() if line.strip())
    return tuple(f"{s.name} = {s.expr}" for s in p.program.statements)


def render_sheet(v: Variant, asked: list[str], fmt: str, *, title: str | None = None) -> str:
    """The sheet printed as ``md``, ``html`` or ``tex``."""
    return SHEET_FORMATS[fmt](problem_sheet_document(v, asked, title=title))
