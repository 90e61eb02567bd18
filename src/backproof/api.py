"""The notebook-facing entry point: derive, prove, and cross-check numerically when values are given.

:func:`explain` returns an :class:`Explanation`: a frozen record built once from the
derivation, its proof and its cross-check. Its write-ups and diagram come from the
presentation layer (:mod:`backproof.report`, :mod:`backproof.render`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sympy as sp

from .derivation import Derivation, derive, paused_gc
from .render import build_diagram
from .report.derivation_doc import WriteupOptions, derivation_document
from .report.document import Document, Figure
from .report.embed import document_fragment
from .report.html import print_html
from .report.jsonout import render_json
from .report.latex import print_latex
from .report.markdown import print_markdown
from .report.text import print_text
from .threeway import CrossCheck, crosscheck
from .verify import Proof, Skipped, check_skipped, proof_skipped, prove

__all__ = ["Explanation", "WriteUp", "explain"]


@dataclass(frozen=True)
class Explanation:
    """A derivation with its proof against ``sympy.diff`` and its numeric cross-check.

    Attributes
    ----------
    derivation : Derivation
        Every value, gradient and step.
    proof : Proof or Skipped
        The proof of every expanded gradient, or why it did not run.
    crosscheck : CrossCheck or Skipped
        The NumPy engine and finite differences against the derivation, or why they did
        not run.
    """

    derivation: Derivation
    proof: Proof | Skipped
    crosscheck: CrossCheck | Skipped

    # --- the derivation's views, for notebooks ---------------------------------------
    @property
    def output(self) -> str:
        """The output differentiated."""
        return self.derivation.output

    @property
    def at(self) -> Any:
        """The point (``None`` when none was given)."""
        return self.derivation.at

    @property
    def wrt(self) -> tuple[str, ...]:
        """The names gradients are reported for."""
        return self.derivation.wrt

    @property
    def steps(self) -> tuple:
        """The typed steps (:class:`~backproof.steps.Step`)."""
        return self.derivation.steps

    @property
    def program(self) -> Any:
        """The program derived (cut to its output)."""
        return self.derivation.program

    @property
    def graph(self) -> Any:
        """The computational graph."""
        return self.derivation.graph

    @property
    def values(self) -> Any:
        """Node id -> value (see :attr:`Derivation.values`)."""
        return self.derivation.values

    @property
    def gradients(self) -> Any:
        """Node id -> ∂output/∂node (see :attr:`Derivation.gradients`)."""
        return self.derivation.gradients

    @property
    def limits(self) -> tuple[str, ...]:
        """What the derivation left out, and why."""
        return self.derivation.limits

    @property
    def verification(self) -> CrossCheck | Skipped:
        """Deprecated alias of :attr:`crosscheck` (explain() used to return a Derivation with it)."""
        return self.crosscheck

    @property
    def ok(self) -> bool:
        """False only when the numeric cross-check ran and disagrees."""
        return isinstance(self.crosscheck, Skipped) or self.crosscheck.ok

    def named_values(self) -> dict[str, sp.Expr]:
        """Name -> value (see :meth:`Derivation.named_values`)."""
        return self.derivation.named_values()

    def named_gradients(self) -> dict[str, sp.Expr]:
        """Name -> ∂output/∂name (see :meth:`Derivation.named_gradients`)."""
        return self.derivation.named_gradients()

    def named_symbolic(self) -> dict[str, sp.Expr]:
        """Name -> ∂output/∂name in node names (see :meth:`Derivation.named_symbolic`)."""
        return self.derivation.named_symbolic()

    # --- write-ups -----------------------------------------------------------------
    def document(self, *, notation: str = "leibniz", compact: bool = False, title: str | None = None,
                 figure: Figure | None = None) -> Document:
        """The write-up as a document of typed blocks (every format prints this).

        Parameters
        ----------
        notation : {"leibniz", "delta", "cs231n"}
            How accumulated gradients are written: ∂y/∂w, δ_w or dw.
        compact : bool
            One line per edge, the ×1 edges of ``+`` and ``−`` gates folded.
        title : str, optional
        figure : Figure, optional
            The diagram to include.
        """
        opts = WriteupOptions(notation=notation, compact=compact, title=title, figure=figure)
        return derivation_document(self.derivation, proof=self.proof, check=self.crosscheck, options=opts)

    def to_text(self, color: bool = False, **options: Any) -> str:
        """The terminal write-up (``options`` as for :meth:`document`)."""
        return print_text(self.document(**options), color)

    def to_markdown(self, *, diagram: str | None = None, **options: Any) -> str:
        """The Markdown write-up (GitHub maths); ``diagram`` is the relative path of an image."""
        figure = Figure(_ALT.format(out=self.output), path=diagram) if diagram else None
        return print_markdown(self.document(figure=figure, **options))

    def to_latex(self, *, fragment: bool = False, diagram: str | None = None, **options: Any) -> str:
        """A standalone LaTeX ``article`` (``pdflatex`` compiles it), or with ``fragment`` only its
        ``align*`` blocks; ``diagram`` is the relative path of the diagram's PDF."""
        figure = Figure(_ALT.format(out=self.output), pdf=diagram) if diagram else None
        return print_latex(self.document(figure=figure, **options), fragment=fragment)

    def to_html(self, *, diagram: bool | dict = True, **options: Any) -> str:
        """One self-contained HTML page: the diagram as inline SVG, maths as MathML, no request.

        ``diagram`` is false for none, or the keywords of :meth:`diagram` (``legend=False`` …).
        """
        extra = diagram if isinstance(diagram, dict) else {}
        figure = Figure(_ALT.format(out=self.output), svg=self._svg(**extra)) if diagram else None
        return print_html(self.document(figure=figure, **options))

    def to_json(self) -> str:
        """The JSON write-up (schema in the README)."""
        return render_json(self.derivation, proof=self.proof, check=self.crosscheck)

    def diagram(self, **kwargs: Any) -> Any:
        """The computational graph as a ``graphviz.Digraph`` (see :func:`backproof.render.build_diagram`)."""
        return build_diagram(self.derivation, **kwargs)

    def _svg(self, **options: Any) -> str | None:
        from .render import render_bytes
        view = "backward" if self.at is not None else "symbolic"
        return render_bytes(self.diagram(view=view, **options), "svg").decode("utf-8")

    # --- Jupyter ---------------------------------------------------------------------
    def writeup(self, *, notation: str = "leibniz", compact: bool = False, diagram: bool = True) -> WriteUp:
        """The write-up in a notation and length of your choice, for a notebook to display.

        Examples
        --------
        >>> e = explain("y = 2*x", at={"x": 3})
        >>> e.writeup(notation="cs231n", compact=True)
        <WriteUp of y: cs231n notation, compact, with the diagram>
        """
        return WriteUp(self, notation, compact, diagram)

    def _repr_html_(self) -> str:
        return self.writeup()._repr_html_()

    def _repr_markdown_(self) -> str:
        return self.writeup()._repr_markdown_()

    def __repr__(self) -> str:
        grads = ", ".join(f"{n}={v}" for n, v in list(self.named_gradients().items())[:4])
        more = ", …" if len(self.derivation.wrt) > 4 else ""
        status = "proved" if isinstance(self.proof, Proof) else "not proved"
        return (f"<Explanation of {self.output}: {len(self.steps)} steps, {status}"
                + (f"; gradients {grads}{more}" if grads else "") + ">")

    def __str__(self) -> str:
        return self.to_text()


@dataclass(frozen=True)
class WriteUp:
    """An explanation's write-up in one notation and length; a notebook displays it.

    Jupyter shows its HTML (:meth:`_repr_html_`): a fragment scoped to the cell, the maths as
    MathML and the diagram as inline SVG, loading nothing. Front ends without HTML show its
    Markdown.
    """

    explanation: Explanation
    notation: str = "leibniz"
    compact: bool = False
    diagram: bool = True

    def _options(self) -> dict[str, Any]:
        return {"notation": self.notation, "compact": self.compact}

    def to_html(self) -> str:
        """One self-contained HTML page (see :meth:`Explanation.to_html`)."""
        return self.explanation.to_html(diagram=self.diagram, **self._options())

    def to_markdown(self) -> str:
        """The Markdown write-up (see :meth:`Explanation.to_markdown`)."""
        return self.explanation.to_markdown(**self._options())

    def to_text(self) -> str:
        """The terminal write-up."""
        return self.explanation.to_text(**self._options())

    def _repr_html_(self) -> str:
        e = self.explanation
        figure = Figure(_ALT.format(out=e.output), svg=e._svg()) if self.diagram else None
        return document_fragment(e.document(figure=figure, **self._options()))

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def __repr__(self) -> str:
        how = ", compact" if self.compact else ""
        pic = ", with the diagram" if self.diagram else ""
        return f"<WriteUp of {self.explanation.output}: {self.notation} notation{how}{pic}>"

    def __str__(self) -> str:
        return self.to_text()


_ALT = ("Computational graph of {out}: each node shows its value and its gradient; each edge its "
        "local derivative")


def explain(program: Any, at: Any = None, *, of: str | None = None, wrt: Iterable[str] | None = None,
            verify: bool = True, points: int = 1) -> Explanation:
    """Derive every gradient step by step and prove it.

    Parameters
    ----------
    program : str, Program, sympy.Expr or mapping
        Expression-language text (``"d = a + b; y = d*d"``), a Program, a SymPy
        expression (its output is called ``f``) or a mapping ``name -> expression``.
    at : mapping or str, optional
        Input values, ``{"a": 2}`` or ``"a=2,b=1"``.
    of, wrt : optional
        The output to differentiate and the names to report gradients for.
    verify : bool
        Prove the gradients against ``sympy.diff`` (small graphs) and, when values are
        given, cross-check them against the NumPy engine and finite differences.
    points : int
        Points for the numeric cross-check (1: just ``at``).

    Returns
    -------
    Explanation
        The derivation, its proof and its cross-check.

    Raises
    ------
    VerificationError
        When a derived gradient differs from ``sympy.diff``.

    Examples
    --------
    >>> import sympy as sp
    >>> a, b, c = sp.symbols("a b c")
    >>> d = explain((a + b)*(b - c), at={"a": 2, "b": 1, "c": 0})
    >>> d.named_gradients()["b"], d.crosscheck.ok
    (4, True)
    """
    deriv = derive(program, at, of=of, wrt=wrt, verify=verify)
    proof = prove(deriv) if verify and deriv.expanded else proof_skipped(deriv.limits)
    if verify and deriv.at is not None:
        with paused_gc():  # no cycles to reclaim; full collections walk every live node (issue 13)
            check: CrossCheck | Skipped = crosscheck(derivation=deriv, points=points)
    else:
        check = check_skipped(deriv.at is not None)
    return Explanation(deriv, proof, check)
