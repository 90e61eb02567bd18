"""Notation that teaches: SymPy atoms for gradients, local partials and printed numbers,
and the three printers every write-up format uses (reading text, LaTeX, MathML).

A write-up line is a chain of SymPy expressions joined by ``=``. Its terms are built from
these atoms and ordinary SymPy expressions, unevaluated, so that the numbers of a line
stand in the same order as the symbols above them. The maths itself is printed by SymPy's
own printers (``StrPrinter``, ``LatexPrinter``, ``MathMLPresentationPrinter``); the atoms
only tell them how a gradient or a printed number looks.

- :class:`Grad` ``(of, wrt)`` — the gradient of the output ``of`` with respect to a node,
  summed over every path (the quantity backpropagation computes). Written ∂y/∂b, or δ_b
  (``delta`` notation) or db (``cs231n`` notation).
- :class:`Local` ``(gate, wrt)`` — a gate's own local partial ∂d/∂b, always in ∂ notation
  and always with the gate's symbol (never the output's).
- :class:`Via` ``(grad, node)`` — the part of a gradient that flows through one consumer.
- :class:`Num` ``(text)`` — a number as the write-up prints it (six significant figures).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, ClassVar

import sympy as sp
from sympy.core.symbol import Str
from sympy.printing.latex import LatexPrinter
from sympy.printing.mathml import MathMLPresentationPrinter
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.str import StrPrinter

from ..printing import format_number

__all__ = ["NOTATIONS", "Atom", "Grad", "Local", "Via", "Num", "num", "name", "term_text", "term_latex",
           "term_mathml", "name_latex", "factors"]

#: How an accumulated gradient is written: ``leibniz`` ∂J/∂w, ``delta`` δ_w (Mazur's and
#: most textbooks' network derivations), ``cs231n`` dw (CS231n's code and notes).
NOTATIONS = ("leibniz", "delta", "cs231n")

_GREEK = {"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa",
          "lambda", "mu", "nu", "xi", "omicron", "pi", "rho", "sigma", "tau", "upsilon", "phi", "chi",
          "psi", "omega"}


class Atom(sp.Expr):
    """An unevaluated, commutative SymPy expression that only prints."""

    is_commutative = True

    def _eval_is_extended_real(self):  # never asked to compute; answer "unknown"
        return None


class Num(Atom):
    """A number exactly as the write-up prints it; ``paren`` wraps a negative number.

    Examples
    --------
    >>> term_text(sp.Mul(num(3), num(-1, paren=True), evaluate=False))
    '3 · (-1)'
    """

    def __new__(cls, text: str):
        return sp.Expr.__new__(cls, Str(text))

    @property
    def text(self) -> str:
        return self.args[0].name

    @property
    def precedence(self) -> int:  # read by SymPy's parenthesize
        return PRECEDENCE["Atom"]

    def _sympystr(self, p):
        return self.text

    def _latex(self, p):
        t = self.text
        if t.startswith("(") and t.endswith(")"):
            return r"\left(" + _latex_number(t[1:-1]) + r"\right)"
        return _latex_number(t)

    def _mathml_presentation(self, p):
        t = self.text
        inner = t[1:-1] if t.startswith("(") and t.endswith(")") else t
        mn = p.dom.createElement("mn")
        mn.appendChild(p.dom.createTextNode(inner.replace("-", "−")))
        if inner == t:
            return mn
        return _fenced(p, mn)


def num(x: Any, *, paren: bool = False) -> Num:
    """The printed form of a number; negative numbers in parentheses when ``paren``."""
    text = format_number(x)
    return Num(f"({text})" if paren and text.startswith("-") else text)


def _latex_number(t: str) -> str:
    m = re.fullmatch(r"(-?[0-9.]+)e(-?[0-9]+)", t)
    return rf"{m.group(1)} \times 10^{{{int(m.group(2))}}}" if m else t


def _fenced(p, inner):
    row = p.dom.createElement("mrow")
    # Stretchy parentheses get wide side bearings in Chromium's MathML layout
    # ("( −0.7 )"); they need to stretch only around a fraction.
    flat = not inner.getElementsByTagName("mfrac") if hasattr(inner, "getElementsByTagName") else True
    for piece in ("(", inner, ")"):
        if isinstance(piece, str):
            mo = p.dom.createElement("mo")
            if flat:
                mo.setAttribute("stretchy", "false")
            mo.appendChild(p.dom.createTextNode(piece))
            row.appendChild(mo)
        else:
            row.appendChild(piece)
    return row


class Grad(Atom):
    """The gradient of ``of`` with respect to ``wrt``, over every path.

    Examples
    --------
    >>> y, b = sp.symbols("y b")
    >>> term_text(Grad(y, b)), term_text(Grad(y, b, "delta")), term_text(Grad(y, b, "cs231n"))
    ('∂y/∂b', 'δ_b', 'db')
    >>> term_latex(Grad(y, b))
    '\\\\frac{\\\\partial y}{\\\\partial b}'
    """

    def __new__(cls, of: sp.Basic, wrt: sp.Basic, notation: str = "leibniz"):
        return sp.Expr.__new__(cls, of, wrt, Str(notation))

    @property
    def notation(self) -> str:
        return self.args[2].name

    def _sympystr(self, p):
        of, wrt = (_paren_text(p, a) for a in self.args[:2])
        if self.notation == "delta":
            return f"δ_{wrt}"
        if self.notation == "cs231n":
            return f"d{wrt}"
        return f"∂{of}/∂{wrt}"

    def _latex(self, p):
        of, wrt = (_paren_latex(p, a) for a in self.args[:2])
        if self.notation == "delta":
            return rf"\delta_{{{wrt}}}"
        if self.notation == "cs231n":
            return rf"\mathrm{{d}}{wrt}"
        return rf"\frac{{\partial {of}}}{{\partial {wrt}}}"

    def _mathml_presentation(self, p):
        of, wrt = self.args[:2]
        if self.notation == "delta":
            return _msub(p, _mi(p, "δ"), p._print(wrt))
        if self.notation == "cs231n":
            return _row(p, _mi(p, "d", normal=True), p._print(wrt))
        return _partial_frac(p, of, wrt)


class Local(Atom):
    """A gate's own local partial ∂gate/∂wrt; ``which`` tells apart repeated operands.

    Examples
    --------
    >>> d, b, x = sp.symbols("d b x")
    >>> term_text(Local(d, b)), term_text(Local(sp.Mul(x, x, evaluate=False), x, 2))
    ('∂d/∂b', '∂(x · x)/∂x₍₂₎')
    """

    def __new__(cls, gate: sp.Basic, wrt: sp.Basic, which: int = 0):
        return sp.Expr.__new__(cls, gate, wrt, sp.Integer(which))

    def _sympystr(self, p):
        gate, wrt = (_paren_text(p, a) for a in self.args[:2])
        return f"∂{gate}/∂{wrt}{_sub_digits(self.args[2])}"

    def _latex(self, p):
        gate, wrt = (_paren_latex(p, a) for a in self.args[:2])
        k = int(self.args[2])
        wrt = f"{wrt}_{{({k})}}" if k else wrt
        return rf"\frac{{\partial {gate}}}{{\partial {wrt}}}"

    def _mathml_presentation(self, p):
        return _partial_frac(p, self.args[0], self.args[1], which=int(self.args[2]))


class Via(Atom):
    """The part of the gradient ``grad`` that flows through the consumer ``node``.

    Examples
    --------
    >>> y, b, d = sp.symbols("y b d")
    >>> term_text(Via(Grad(y, b), d))
    '∂y/∂b|via d'
    """

    def __new__(cls, grad: Grad, node: sp.Basic):
        return sp.Expr.__new__(cls, grad, node)

    def _sympystr(self, p):
        return f"{p._print(self.args[0])}|via {_paren_text(p, self.args[1])}"

    def _latex(self, p):
        return rf"\left.{p._print(self.args[0])}\right|_{{\text{{via }} {_paren_latex(p, self.args[1])}}}"

    def _mathml_presentation(self, p):
        text = p.dom.createElement("mtext")
        text.appendChild(p.dom.createTextNode("via\u00a0"))
        low = _row(p, text, p._print(self.args[1]))
        sub = p.dom.createElement("msub")
        sub.appendChild(_row(p, p._print(self.args[0]), _mo(p, "|")))
        sub.appendChild(low)
        return sub


_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
_SUP = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def _sub_digits(k) -> str:
    """``₍₁₎``: which of two equal operands (a subscript in parentheses, not a name's digit)."""
    return "₍" + str(int(k)).translate(_SUB) + "₎" if int(k) else ""


def _paren_text(p, e) -> str:
    text = p._print(e)
    return text if isinstance(e, (sp.Symbol, Grad)) or text.isidentifier() else f"({text})"


def _paren_latex(p, e) -> str:
    text = p._print(e)
    return text if isinstance(e, (sp.Symbol, sp.Number)) else rf"\left({text}\right)"


def _mi(p, text: str, normal: bool = False):
    mi = p.dom.createElement("mi")
    if normal or len(text) > 1:
        mi.setAttribute("mathvariant", "normal" if normal else "italic")
    mi.appendChild(p.dom.createTextNode(text))
    return mi


def _mo(p, text: str):
    mo = p.dom.createElement("mo")
    mo.appendChild(p.dom.createTextNode(text))
    return mo


def _row(p, *children):
    row = p.dom.createElement("mrow")
    for c in children:
        row.appendChild(c)
    return row


def _msub(p, base, sub):
    el = p.dom.createElement("msub")
    el.appendChild(base)
    el.appendChild(sub)
    return el


def _partial_frac(p, of, wrt, which: int = 0):
    def part(e, k=0):
        body = p._print(e)
        if not isinstance(e, sp.Symbol):
            body = _fenced(p, body)
        if k:
            body = _msub(p, body, _row(p, _mo(p, "("), _mn(p, str(k)), _mo(p, ")")))
        return _row(p, _mo(p, "∂"), body)

    frac = p.dom.createElement("mfrac")
    frac.appendChild(part(of))
    frac.appendChild(part(wrt, which))
    return frac


def _mn(p, text):
    mn = p.dom.createElement("mn")
    mn.appendChild(p.dom.createTextNode(text))
    return mn


# --- names ------------------------------------------------------------------------------------

def _split_name(text: str) -> tuple[str, str]:
    """``w1_0`` -> (``w``, ``1,0``); ``a2`` -> (``a``, ``2``); ``E_total`` -> (``E``, ``total``)."""
    m = re.fullmatch(r"([A-Za-z]+?)_?([0-9]+(?:_[0-9]+)*)", text)
    if m:
        return m.group(1), m.group(2).replace("_", ",")
    if "_" in text:
        base, _, sub = text.partition("_")
        return base, sub.replace("_", ",")
    return text, ""


def name_latex(text: str) -> str:
    """LaTeX of a name: ``a2`` -> ``a_{2}``, ``invden`` -> ``\\mathit{invden}``, ``alpha`` -> ``\\alpha``.

    Examples
    --------
    >>> name_latex("w1_0"), name_latex("invden"), name_latex("delta_o1"), name_latex("E_total")
    ('w_{1,0}', '\\\\mathit{invden}', '\\\\delta_{o1}', 'E_{\\\\mathrm{total}}')
    """
    base, sub = _split_name(text)
    if base in _GREEK:
        body = "\\" + base
    elif len(base) > 1:
        body = rf"\mathit{{{base}}}"
    else:
        body = base
    if not sub:
        return body
    if sub.replace(",", "").isdigit() or len(sub) <= 2 or sub in _GREEK:
        sub_tex = ("\\" + sub) if sub in _GREEK else sub
    else:
        sub_tex = rf"\mathrm{{{sub}}}"
    return f"{body}_{{{sub_tex}}}"


def name(text: str) -> sp.Symbol:
    """The SymPy symbol of a node name (the printers give it its subscripts)."""
    return sp.Symbol(text)


# --- the printers -------------------------------------------------------------------------------

class _TextPrinter(StrPrinter):
    """Reading text: ``·`` for products, superscript powers (``x²``), ``∂`` fractions."""

    _default_settings: ClassVar[dict[str, Any]] = dict(StrPrinter._default_settings, order="none")

    def _print_Mul(self, expr):
        sign, numer, denom = factors(expr)
        mul = PRECEDENCE["Mul"]
        top = " · ".join(self.parenthesize(a, mul) for a in numer) if numer else "1"
        if denom:
            bottom = " · ".join(self.parenthesize(a, mul) for a in denom)
            top = (f"({top})" if len(numer) > 1 else top) + "/" + (f"({bottom})" if len(denom) > 1 else bottom)
        return sign + top

    def _print_Pow(self, expr):
        base, e = expr.args
        if e.is_Number and e < 0:
            inner = sp.Pow(base, -e, evaluate=False) if e != -1 else base
            return "1/" + self.parenthesize(inner, PRECEDENCE["Mul"] + 1)
        if e == sp.Rational(1, 2):
            inner = self._print(base)
            return f"√{inner}" if base.is_Symbol or base.is_Number else f"√({inner})"
        b = self.parenthesize(base, PRECEDENCE["Pow"], strict=True)
        if e.is_Integer:
            return b + str(int(e)).translate(_SUP)
        return f"{b}^{self.parenthesize(e, PRECEDENCE['Atom'], strict=True)}"

    def _print_Rational(self, expr):
        return f"{expr.p}/{expr.q}"

    def _print_Half(self, expr):
        return "1/2"

    def _print_Float(self, expr):
        return format_number(expr)

    def _print_Exp1(self, expr):
        return "e"

    def _print_Abs(self, expr):
        return f"|{self._print(expr.args[0])}|"

    def _print_Heaviside(self, expr):
        return f"step({self._print(expr.args[0])})"

    def _print_Max(self, expr):
        return f"max({', '.join(self._print(a) for a in expr.args)})"

    def _print_Min(self, expr):
        return f"min({', '.join(self._print(a) for a in expr.args)})"


class _LatexPrinter(LatexPrinter):
    """SymPy's LaTeX with ``\\cdot`` products, terms as written and names by :func:`name_latex`."""

    _default_settings: ClassVar[dict[str, Any]] = dict(LatexPrinter._default_settings, order="none",
                                                        mul_symbol="dot")

    def _print_Symbol(self, expr, style="plain"):
        return name_latex(expr.name)

    def _print_Mul(self, expr):
        # Factors in the order they stand (a line's numbers follow its symbols term for term).
        sign, numer, denom = factors(expr)
        mul = PRECEDENCE["Mul"]
        dot = r" \cdot "

        def product(xs):  # a lone factor of a fraction needs no parentheses
            return self._print(xs[0]) if len(xs) == 1 and denom else dot.join(self.parenthesize(a, mul) for a in xs)
        top = product(numer) if numer else "1"
        if denom:
            top = rf"\frac{{{top}}}{{{product(denom)}}}"
        return sign + top


def factors(expr) -> tuple[str, list, list]:
    """A product as it is written: its sign, its factors in order, its denominators.

    ``-1`` in front is the sign; a rational coefficient ``p/q`` puts ``p`` on top and ``q``
    below; ``x**-n`` goes below as ``x**n``. Nothing is reordered, so the printed numbers of a
    line follow its symbols.

    Examples
    --------
    >>> x, y = sp.symbols("x y")
    >>> factors(sp.Mul(sp.Rational(-1, 2), x, y**-2, evaluate=False))
    ('-', [x], [2, y**2])
    """
    args = list(expr.args)
    sign = ""
    if args and args[0].is_Number and args[0].is_negative and len(args) > 1:
        sign, args = "-", ([-args[0]] if args[0] != -1 else []) + args[1:]
    numer: list = []
    denom: list = []
    for a in args:
        if a.is_Rational and not a.is_Integer:
            if a.p != 1:
                numer.append(sp.Integer(a.p))
            denom.append(sp.Integer(a.q))
        elif a.is_Pow and a.exp.is_Number and a.exp.is_negative:
            denom.append(a.base if a.exp == -1 else sp.Pow(a.base, -a.exp, evaluate=False))
        else:
            numer.append(a)
    return sign, numer, denom


class _MathMLPrinter(MathMLPresentationPrinter):
    """SymPy's presentation MathML, with factors and terms in the order written."""

    _default_settings: ClassVar[dict[str, Any]] = dict(MathMLPresentationPrinter._default_settings,
                                                        order="none", mul_symbol="dot")

    def _print_Mul(self, expr):
        # Factors in the order they stand (SymPy's own printer sorts them).
        sign, numer, denom = factors(expr)
        top = self._product(numer, alone=bool(denom)) if numer else _mn(self, "1")
        if denom:
            frac = self.dom.createElement("mfrac")
            frac.appendChild(top)
            frac.appendChild(self._product(denom, alone=True))
            top = frac
        if not sign:
            return top
        return _row(self, _mo(self, "−"), top)

    def _product(self, args, alone: bool = False):
        if alone and len(args) == 1:  # a lone factor of a fraction needs no parentheses
            return self._print(args[0])
        row = self.dom.createElement("mrow")
        for i, a in enumerate(args):
            if i:
                row.appendChild(_mo(self, "·"))
            row.appendChild(self.parenthesize(a, PRECEDENCE["Mul"]))
        return row

    def _print_Symbol(self, sym, style="plain"):
        base, sub = _split_name(sym.name)
        body = _mi(self, unicodedata.lookup(f"GREEK SMALL LETTER {base.upper()}") if base in _GREEK else base)
        if not sub:
            return body
        return _msub(self, body, _mi(self, sub, normal=not sub.replace(",", "").isdigit())
                     if not sub.replace(",", "").isdigit() else _mn(self, sub))

    def _print_Float(self, expr):
        return _mn(self, format_number(expr).replace("-", "−"))


_TEXT = _TextPrinter()
_LATEX = _LatexPrinter()
_MATHML = _MathMLPrinter()


def term_text(expr) -> str:
    """Reading text of one term (``1 - h²``, ``∂y/∂d · ∂d/∂b``)."""
    return _TEXT.doprint(expr)


def term_latex(expr) -> str:
    """LaTeX of one term, by SymPy's LaTeX printer."""
    return _LATEX.doprint(expr)


def term_mathml(expr) -> str:
    """Presentation MathML of one term (the inner ``mrow``), by SymPy's MathML printer."""
    # A minus sign, not a hyphen: SymPy's printer writes ``<mo>-</mo>``. Parentheses
    # stretch only in a term with a fraction: Chromium gives stretchy ones wide side bearings.
    out = _MATHML.doprint(expr).replace("<mo>-</mo>", "<mo>−</mo>")
    if "<mfrac" not in out:
        out = out.replace("<mo>(</mo>", '<mo stretchy="false">(</mo>').replace("<mo>)</mo>",
                                                                            '<mo stretchy="false">)</mo>')
    return out
