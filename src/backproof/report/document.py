"""The document model every write-up is built as: frozen, typed blocks.

A builder (the derivation's, the network's, the checker's) returns a :class:`Document`;
one printer per format (:mod:`.text`, :mod:`.markdown`, :mod:`.latex`, :mod:`.html`) turns
it into a string. Printers only format: they never compute, and never parse another
printer's output. Maths in a block is SymPy expressions built with the atoms of
:mod:`.notation`, so each format prints it with SymPy's own printer for that format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Text", "Math", "Inline", "Heading", "Paragraph", "Code", "Equation", "Equations",
           "Table", "Figure", "Details", "Bullets", "Block", "Document", "join_runs"]


@dataclass(frozen=True)
class Text:
    """Plain words; ``style`` is ``""``, ``"strong"``, ``"em"``, ``"code"``, ``"good"``,
    ``"bad"``, ``"note"`` or ``"dim"``."""

    text: str
    style: str = ""


@dataclass(frozen=True)
class Math:
    """Inline maths: a chain of SymPy terms joined by ``=`` (one term: just the term)."""

    terms: tuple[Any, ...]


Inline = Text | Math


@dataclass(frozen=True)
class Heading:
    """A section heading (``level`` 1 is the title)."""

    text: str
    level: int = 2


@dataclass(frozen=True)
class Paragraph:
    """Running text mixing words and maths."""

    runs: tuple[Inline, ...]


@dataclass(frozen=True)
class Code:
    """Verbatim lines (the program as written)."""

    lines: tuple[str, ...]


@dataclass(frozen=True)
class Equation:
    """One line of a derivation: ``terms[0] = terms[1] = …``, term for term.

    Attributes
    ----------
    terms : tuple
        SymPy expressions; the first is what the line defines.
    index : int or None
        The step's number (shared by every format and the JSON ``steps``).
    kind : str
        ``forward``, ``seed``, ``local``, ``chain``, ``sum``, ``edge`` (compact: local and
        chain in one line) or ``""``.
    tag : str
        The rule or a short remark shown beside the line (``sum rule``).
    note : str
        A remark printed under the line (a convention at a kink).
    aside : tuple
        Maths shown after the tag (the local partial a compact line folds in:
        ``product rule: ∂u₁/∂w = x``), a chain of terms joined by ``=``.
    nodes : tuple of str
        Node ids of the diagram the line is about (the HTML links them).
    """

    terms: tuple[Any, ...]
    index: int | None = None
    kind: str = ""
    tag: str = ""
    note: str = ""
    nodes: tuple[str, ...] = ()
    aside: tuple[Any, ...] = ()


@dataclass(frozen=True)
class Equations:
    """Lines of a derivation shown together (one aligned block); ``title`` heads the group."""

    lines: tuple[Equation, ...]
    title: tuple[Inline, ...] = ()


@dataclass(frozen=True)
class Table:
    """A table of cells, each cell a tuple of inline runs."""

    header: tuple[tuple[Inline, ...], ...]
    rows: tuple[tuple[tuple[Inline, ...], ...], ...]


@dataclass(frozen=True)
class Figure:
    """A diagram: ``path`` for formats that link it, ``svg`` (the SVG text) for those that embed it."""

    alt: str
    path: str | None = None
    svg: str | None = None
    pdf: str | None = None


@dataclass(frozen=True)
class Bullets:
    """An unordered list of inline runs."""

    items: tuple[tuple[Inline, ...], ...]


@dataclass(frozen=True)
class Details:
    """Blocks a reader may fold away (collapsed in HTML when ``open`` is false)."""

    summary: str
    blocks: tuple[Block, ...]
    open: bool = False


Block = Heading | Paragraph | Code | Equations | Table | Figure | Bullets | Details


@dataclass(frozen=True)
class Document:
    """A whole write-up: a title and its blocks."""

    title: str
    blocks: tuple[Block, ...]
    subtitle: str = ""
    meta: dict[str, Any] = field(default_factory=dict, compare=False)


def join_runs(runs, sep: str = ", ") -> list[Inline]:
    """``runs`` with a ``Text(sep)`` between each two (a list written in a sentence).

    Examples
    --------
    >>> join_runs([Text("a"), Text("b")])
    [Text(text='a', style=''), Text(text=', ', style=''), Text(text='b', style='')]
    """
    out: list[Inline] = []
    for i, r in enumerate(runs):
        if i:
            out.append(Text(sep))
        out.append(r)
    return out
