"""Network notation: SymPy atoms for indexed quantities (a⁽²⁾₁, δ⁽ˡ⁾ᵢ, w⁽²⁾₁₂), gradients
(∂J/∂w, dw), transposes, elementwise products and number matrices.

They build on :class:`backproof.report.notation.Atom`, so the write-up printers
(text, LaTeX, MathML) print them inside ordinary SymPy expressions. Indices are
1-based, as textbooks write them; the network builder (:mod:`backproof.nn.build`)
counts from 0 and the write-up adds one when it makes the atom.

- :class:`Unit` ``(letter, layer, index, sample)`` — ``a⁽²⁾₁``, ``δ⁽ˡ⁾ᵢ``, ``x₂⟨3⟩``
  (``⟨3⟩``: the third sample), ``W⁽ˡ⁾``.
- :class:`Name` ``(name)`` — a name the spec gives a parameter (``w5`` prints w₅).
- :class:`D` ``(of, wrt, notation)`` — ∂J/∂w (``leibniz``, ``delta``) or dw (``cs231n``);
  ``local=True`` always writes the partial (∂a/∂z, a unit's own local derivative).
"""

from __future__ import annotations

import sympy as sp
from sympy.core.symbol import Str
from sympy.printing.precedence import PRECEDENCE

from ..report.notation import Atom, name_latex

__all__ = ["Unit", "Name", "D", "Tr", "Had", "Fn", "Mat", "SumOver", "Hat", "Words", "Juxt", "Sub", "Frac",
           "text_sup", "text_sub"]

_SUP = str.maketrans("0123456789+-()lLijkmsnT", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁽⁾ˡᴸⁱʲᵏᵐˢⁿᵀ")
_SUB = str.maketrans("0123456789+-()ijklmnsx,=", "₀₁₂₃₄₅₆₇₈₉₊₋₍₎ᵢⱼₖₗₘₙₛₓ,₌")
_GREEK_TEX = {"δ": r"\delta", "σ": r"\sigma", "η": r"\eta"}
#: Between a product's precedence and a power's: a product leaves the atom bare, a power
#: puts it in parentheses ((a⁽¹⁾₁)², never a double superscript).
_INDEXED = (PRECEDENCE["Mul"] + PRECEDENCE["Pow"]) // 2


def text_sup(s: str) -> str:
    """Superscript characters for a short index (``l+1`` -> ``ˡ⁺¹``); others unchanged."""
    return s.translate(_SUP)


def text_sub(s: str) -> str:
    """Subscript characters for a short index (``12`` -> ``₁₂``)."""
    return s.translate(_SUB)


def _el(p, tag: str, text: str | None = None, **attrs):
    el = p.dom.createElement(tag)
    for k, v in attrs.items():
        el.setAttribute(k, v)
    if text is not None:
        el.appendChild(p.dom.createTextNode(text))
    return el


def _row(p, *children):
    row = p.dom.createElement("mrow")
    for c in children:
        row.appendChild(c)
    return row


def _tokens(p, s: str):
    """MathML tokens of an index like ``l+1``, ``12`` or ``i,j``."""
    out = []
    for piece in _split_tokens(s):
        if piece.isdigit():
            out.append(_el(p, "mn", piece))
        elif piece in "+-,()⟨⟩":
            out.append(_el(p, "mo", piece.replace("-", "−")))
        else:
            out.append(_el(p, "mi", piece))
    return out[0] if len(out) == 1 else _row(p, *out)


def _split_tokens(s: str) -> list[str]:
    out: list[str] = []
    for ch in s:
        if ch.isdigit() and out and out[-1].isdigit():
            out[-1] += ch
        else:
            out.append(ch)
    return out


class Unit(Atom):
    """An indexed network quantity: ``letter`` with a layer superscript ``(l)``, unit
    indices as a subscript and a sample ``⟨s⟩``; every part optional.

    Examples
    --------
    >>> from backproof.report.notation import term_text, term_latex
    >>> a = Unit("a", 2, (1,))
    >>> term_text(a), term_latex(a), term_text(a**2)
    ('a⁽²⁾₁', 'a^{(2)}_{1}', '(a⁽²⁾₁)²')
    >>> term_latex(Unit("w", 2, (1, 12), 3))
    'w^{(2)}_{1,12\\\\langle 3\\\\rangle}'
    """

    def __new__(cls, letter: str, layer=None, index=(), sample=None):
        return sp.Expr.__new__(cls, Str(letter), Str("" if layer is None else str(layer)),
                               Str(_join_index(index)), Str("" if sample is None else str(sample)))

    @property
    def precedence(self) -> int:  # read by SymPy's parenthesize
        return _INDEXED if self.args[1].name else PRECEDENCE["Atom"]

    @property
    def parts(self) -> tuple[str, str, str, str]:
        """``(letter, layer, index, sample)`` as strings (empty when absent)."""
        letter, layer, index, sample = (a.name for a in self.args)
        return letter, layer, index, sample

    def _sympystr(self, p):
        letter, layer, index, sample = self.parts
        return (letter + (text_sup(f"({layer})") if layer else "") + text_sub(index)
                + (f"⟨{sample}⟩" if sample else ""))

    def _latex(self, p):
        letter, layer, index, sample = self.parts
        body = _GREEK_TEX.get(letter, letter)
        if layer:
            body += f"^{{({layer})}}"
        sub = index + (rf"\langle {sample}\rangle" if sample else "")
        return body + (f"_{{{sub}}}" if sub else "")

    def _mathml_presentation(self, p):
        letter, layer, index, sample = self.parts
        base = _el(p, "mi", letter)
        sub = None
        if index or sample:
            pieces = [_tokens(p, index)] if index else []
            if sample:
                pieces += [_el(p, "mo", "⟨"), _tokens(p, sample), _el(p, "mo", "⟩")]
            sub = pieces[0] if len(pieces) == 1 else _row(p, *pieces)
        sup = _row(p, _el(p, "mo", "("), _tokens(p, layer), _el(p, "mo", ")")) if layer else None
        if sub is not None and sup is not None:
            el = _el(p, "msubsup")
            for c in (base, sub, sup):
                el.appendChild(c)
            return el
        if sub is not None or sup is not None:
            el = _el(p, "msub" if sub is not None else "msup")
            el.appendChild(base)
            el.appendChild(sub if sub is not None else sup)
            return el
        return base


def _join_index(index) -> str:
    parts = [str(i) for i in (index if isinstance(index, (tuple, list)) else (index,))]
    return ("" if all(len(x) == 1 for x in parts) else ",").join(parts)


class Name(Atom):
    """A name the spec gives a parameter (``w5`` prints ``w₅``, ``w_{5}``).

    Examples
    --------
    >>> from backproof.report.notation import term_text, term_latex
    >>> term_text(Name("w5")), term_latex(Name("w5"))
    ('w₅', 'w_{5}')
    """

    def __new__(cls, name: str):
        return sp.Expr.__new__(cls, Str(name))

    @property
    def name(self) -> str:
        return self.args[0].name

    @property
    def precedence(self) -> int:
        return PRECEDENCE["Atom"]

    def _sympystr(self, p):
        head = self.name.rstrip("0123456789")
        tail = self.name[len(head):]
        return head + text_sub(tail) if head.isalpha() and tail else self.name

    def _latex(self, p):
        return name_latex(self.name)

    def _mathml_presentation(self, p):
        return p._print(sp.Symbol(self.name))


class D(Atom):
    """∂of/∂wrt (``leibniz`` and ``delta`` notation) or ``d wrt`` (``cs231n``); with
    ``local`` always the partial: a unit's own local derivative ∂a/∂z.

    Examples
    --------
    >>> from backproof.report.notation import term_text, term_latex
    >>> J, w = sp.Symbol("J"), Name("w5")
    >>> term_text(D(J, w)), term_text(D(J, w, "cs231n")), term_latex(D(J, w))
    ('∂J/∂w₅', 'dw₅', '\\\\frac{\\\\partial J}{\\\\partial w_{5}}')
    """

    def __new__(cls, of, wrt, notation: str = "leibniz"):
        return sp.Expr.__new__(cls, of, wrt, Str(notation))

    @property
    def precedence(self) -> int:
        return PRECEDENCE["Atom"]

    @property
    def short(self) -> bool:
        return self.args[2].name == "cs231n"

    def _sympystr(self, p):
        of, wrt = (p._print(a) for a in self.args[:2])
        return f"d{wrt}" if self.short else f"∂{of}/∂{wrt}"

    def _latex(self, p):
        of, wrt = (p._print(a) for a in self.args[:2])
        return rf"\mathrm{{d}}{wrt}" if self.short else rf"\frac{{\partial {of}}}{{\partial {wrt}}}"

    def _mathml_presentation(self, p):
        of, wrt = self.args[:2]
        if self.short:
            return _row(p, _el(p, "mi", "d", mathvariant="normal"), p._print(wrt))
        frac = _el(p, "mfrac")
        frac.appendChild(_row(p, _el(p, "mo", "∂"), p._print(of)))
        frac.appendChild(_row(p, _el(p, "mo", "∂"), p._print(wrt)))
        return frac


class Tr(Atom):
    """The transpose ``xᵀ`` (``(W⁽ˡ⁾)ᵀ`` when ``x`` has a superscript)."""

    def __new__(cls, x):
        return sp.Expr.__new__(cls, x)

    @property
    def precedence(self) -> int:
        return PRECEDENCE["Atom"]

    def _wrap(self) -> bool:
        x = self.args[0]
        return not (isinstance(x, Unit) and not x.parts[1]) and not isinstance(x, (Name, sp.Symbol))

    def _sympystr(self, p):
        inner = p._print(self.args[0])
        return (f"({inner})" if self._wrap() else inner) + "ᵀ"

    def _latex(self, p):
        inner = p._print(self.args[0])
        return (rf"\left({inner}\right)" if self._wrap() else inner) + r"^{\top}"

    def _mathml_presentation(self, p):
        inner = p._print(self.args[0])
        if self._wrap():
            inner = _row(p, _el(p, "mo", "("), inner, _el(p, "mo", ")"))
        el = _el(p, "msup")
        el.appendChild(inner)
        el.appendChild(_el(p, "mo", "⊤"))
        return el


class Had(Atom):
    """The elementwise (Hadamard) product ``x ⊙ y``."""

    def __new__(cls, *factors):
        return sp.Expr.__new__(cls, *factors)

    @property
    def precedence(self) -> int:
        return PRECEDENCE["Mul"]

    def _parts(self, p):
        return [p.parenthesize(a, PRECEDENCE["Mul"]) for a in self.args]

    def _sympystr(self, p):
        return " ⊙ ".join(self._parts(p))

    def _latex(self, p):
        return r" \odot ".join(self._parts(p))

    def _mathml_presentation(self, p):
        row = _row(p)
        for i, a in enumerate(self.args):
            if i:
                row.appendChild(_el(p, "mo", "⊙"))
            row.appendChild(p.parenthesize(a, PRECEDENCE["Mul"]))
        return row


class Fn(Atom):
    """A function applied to one argument, by name: ``σ′(z⁽ˡ⁾)``, ``softmax(z⁽²⁾)``."""

    def __new__(cls, name: str, arg, latex: str | None = None):
        return sp.Expr.__new__(cls, Str(name), arg, Str(latex or name))

    @property
    def precedence(self) -> int:
        return PRECEDENCE["Atom"]

    def _sympystr(self, p):
        return f"{self.args[0].name}({p._print(self.args[1])})"

    def _latex(self, p):
        return rf"{self.args[2].name}\left({p._print(self.args[1])}\right)"

    def _mathml_presentation(self, p):
        name = self.args[0].name
        head = _el(p, "mi", name.rstrip("′"))
        if name.endswith("′"):
            head = _row(p, head, _el(p, "mo", "′"))
        return _row(p, head, _el(p, "mo", "("), p._print(self.args[1]), _el(p, "mo", ")"))


class Hat(Atom):
    """``ŷ``: the prediction."""

    def __new__(cls, letter: str = "y"):
        return sp.Expr.__new__(cls, Str(letter))

    @property
    def precedence(self) -> int:
        return PRECEDENCE["Atom"]

    def _sympystr(self, p):
        return self.args[0].name + "\u0302"

    def _latex(self, p):
        return rf"\hat {self.args[0].name}"

    def _mathml_presentation(self, p):
        el = _el(p, "mover", accent="true")
        el.appendChild(_el(p, "mi", self.args[0].name))
        el.appendChild(_el(p, "mo", "^"))
        return el


class Mat(Atom):
    """A matrix of printed numbers (rows of :class:`~backproof.report.notation.Num`)."""

    def __new__(cls, rows):
        return sp.Expr.__new__(cls, sp.Tuple(*[sp.Tuple(*r) for r in rows]))

    @property
    def precedence(self) -> int:
        return PRECEDENCE["Atom"]

    def _cells(self, p):
        return [[p._print(c) for c in row] for row in self.args[0]]

    def _sympystr(self, p):
        return "[" + "; ".join("  ".join(r) for r in self._cells(p)) + "]"

    def _latex(self, p):
        return r"\begin{bmatrix}" + r" \\ ".join(" & ".join(r) for r in self._cells(p)) + r"\end{bmatrix}"

    def _mathml_presentation(self, p):
        table = _el(p, "mtable")
        for row in self.args[0]:
            tr = _el(p, "mtr")
            for c in row:
                td = _el(p, "mtd")
                td.appendChild(p._print(c))
                tr.appendChild(td)
            table.appendChild(tr)
        return _row(p, _el(p, "mo", "["), table, _el(p, "mo", "]"))


class SumOver(Atom):
    """``Σ_{var=lo}^{hi} body`` (``lo``/``hi`` may be empty: ``Σ_k``)."""

    def __new__(cls, var: str, body, lo: str = "", hi: str = ""):
        return sp.Expr.__new__(cls, Str(var), body, Str(lo), Str(hi))

    @property
    def precedence(self) -> int:
        return PRECEDENCE["Mul"]

    def _limits(self):
        var, lo, hi = self.args[0].name, self.args[2].name, self.args[3].name
        return var, lo, hi

    def _sympystr(self, p):
        var, lo, hi = self._limits()
        low = text_sub(f"{var}={lo}") if lo else text_sub(var)
        return f"Σ{low}{text_sup(hi)} " + p.parenthesize(self.args[1], PRECEDENCE["Add"])

    def _latex(self, p):
        var, lo, hi = self._limits()
        low = f"{var}={lo}" if lo else var
        return (rf"\sum_{{{low}}}" + (f"^{{{hi}}}" if hi else "") + " "
                + p.parenthesize(self.args[1], PRECEDENCE["Add"]))

    def _mathml_presentation(self, p):
        var, lo, hi = self._limits()
        low = _row(p, _el(p, "mi", var), _el(p, "mo", "="), _tokens(p, lo)) if lo else _el(p, "mi", var)
        el = _el(p, "munderover" if hi else "munder")
        el.appendChild(_el(p, "mo", "∑"))
        el.appendChild(low)
        if hi:
            el.appendChild(_tokens(p, hi))
        return _row(p, el, p.parenthesize(self.args[1], PRECEDENCE["Add"]))


class Words(Atom):
    """A few words inside a formula (``4×60 matrix``), upright in every format."""

    def __new__(cls, text: str):
        return sp.Expr.__new__(cls, Str(text))

    @property
    def precedence(self) -> int:
        return PRECEDENCE["Atom"]

    def _sympystr(self, p):
        return self.args[0].name

    def _latex(self, p):
        text = self.args[0].name.replace("×", r"$\times$")
        return rf"\text{{{text}}}"

    def _mathml_presentation(self, p):
        return _el(p, "mtext", self.args[0].name)


class Juxt(Atom):
    """A matrix product written by juxtaposition: ``(W⁽²⁾)ᵀδ⁽²⁾``."""

    def __new__(cls, *factors):
        return sp.Expr.__new__(cls, *factors)

    @property
    def precedence(self) -> int:
        return PRECEDENCE["Mul"]

    def _sympystr(self, p):
        return "".join(p.parenthesize(a, PRECEDENCE["Mul"]) for a in self.args)

    def _latex(self, p):
        return " ".join(p.parenthesize(a, PRECEDENCE["Mul"]) for a in self.args)

    def _mathml_presentation(self, p):
        return _row(p, *[p.parenthesize(a, PRECEDENCE["Mul"]) for a in self.args])


class Sub(Atom):
    """``x − y`` as written (``p − η·∂J/∂p``): only a sum after the minus is parenthesised."""

    def __new__(cls, x, y):
        return sp.Expr.__new__(cls, x, y)

    @property
    def precedence(self) -> int:
        return PRECEDENCE["Add"]

    def _sympystr(self, p):
        return f"{p._print(self.args[0])} - {p.parenthesize(self.args[1], PRECEDENCE['Add'] + 1)}"

    def _latex(self, p):
        return f"{p._print(self.args[0])} - {p.parenthesize(self.args[1], PRECEDENCE['Add'] + 1)}"

    def _mathml_presentation(self, p):
        return _row(p, p._print(self.args[0]), _el(p, "mo", "−"),
                    p.parenthesize(self.args[1], PRECEDENCE["Add"] + 1))


class Frac(Atom):
    """``numer / denom`` as a fraction (``(Σₛ J⟨s⟩)/60``, ``\\frac{a − y}{60}``)."""

    def __new__(cls, numer, denom):
        return sp.Expr.__new__(cls, numer, denom)

    @property
    def precedence(self) -> int:  # a fraction bar groups: no parentheses in a product or after a minus
        return PRECEDENCE["Pow"]

    def _sympystr(self, p):
        return (f"{p.parenthesize(self.args[0], PRECEDENCE['Mul'])}/"
                f"{p.parenthesize(self.args[1], PRECEDENCE['Mul'] + 1)}")

    def _latex(self, p):
        return rf"\frac{{{p._print(self.args[0])}}}{{{p._print(self.args[1])}}}"

    def _mathml_presentation(self, p):
        el = _el(p, "mfrac")
        el.appendChild(p._print(self.args[0]))
        el.appendChild(p._print(self.args[1]))
        return el
