"""Printing SymPy expressions back into the expression language (and LaTeX).

Text comes from a small subclass of SymPy's ``StrPrinter`` and LaTeX from SymPy's own
``latex``: nothing here builds maths notation by hand.
"""

from __future__ import annotations

import json
import math
from typing import Any, ClassVar

import sympy as sp
from sympy.printing.str import StrPrinter

__all__ = ["to_text", "to_latex", "format_number", "rounded", "to_json_text", "JSON_DIGITS", "brief_pairs"]


class _LanguagePrinter(StrPrinter):
    """StrPrinter whose output re-parses with :func:`backproof.parse.parse_program`."""

    _settings: ClassVar[dict[str, Any]] = dict(StrPrinter._default_settings)

    def _print_Symbol(self, expr):
        names = self._settings.get("symbol_names") or {}
        return names.get(expr.name, expr.name)

    def _print_Mul(self, expr):
        # Unevaluated negation keeps its structure: `-(a*b)` is not `(-a)*b`.
        args = expr.args
        if len(args) == 2 and args[0] == -1 and not args[1].is_Number:
            inner = self._print(args[1])
            atomic = args[1].is_Symbol or isinstance(args[1], sp.Function) or args[1].is_Pow
            return "-" + (inner if atomic else f"({inner})")
        return super()._print_Mul(expr)

    def _print_Max(self, expr):
        return self._call("max", expr.args)

    def _print_Min(self, expr):
        return self._call("min", expr.args)

    def _call(self, fn, args):
        # max/min of any number of operands, in the order stored (the order written, for a
        # parsed program: the first one matters under --tie first).
        return f"{fn}({', '.join(self._print(a) for a in args)})"

    def _print_Abs(self, expr):
        return f"abs({self._print(expr.args[0])})"

    def _print_Function(self, expr):
        # Functions SymPy's simplify or evaluation may produce that the language has no name
        # for (sech, atanh, erfc, …) are printed through functions it has, so that every form
        # written (an `expanded` field of the JSON, say) reads back (issue 14).
        rewrite = _REWRITES.get(type(expr).__name__)
        if rewrite is None or len(expr.args) != 1:
            return super()._print_Function(expr)
        return f"({self._print(rewrite(expr.args[0]))})"

    def _print_Heaviside(self, expr):
        # step(x) is 0 at x = 0; the step that is 1 there (--tie first/all, 1(x ≥ y)) is 1 - step(-x).
        if len(expr.args) == 2 and expr.args[1] == 1:
            return f"(1 - step({self._print(-expr.args[0])}))"
        return f"step({self._print(expr.args[0])})"

    def _print_Rational(self, expr):
        q = int(expr.q)
        while q % 2 == 0:
            q //= 2
        while q % 5 == 0:
            q //= 5
        if q == 1 and expr.q <= 10**6:
            return _decimal(expr)
        return f"{expr.p}/{expr.q}"

    def _print_Half(self, expr):
        return "0.5"

    def _print_Float(self, expr):
        return format(float(expr), ".15g")

    def _print_Exp1(self, expr):
        return "e"

    def _print_Pi(self, expr):
        return "pi"

    def _print_ImaginaryUnit(self, expr):  # only reached through a bug upstream
        return "I"


#: SymPy functions outside the language -> the same function through the language's own.
_REWRITES = {
    "sech": lambda u: 1 / sp.cosh(u), "csch": lambda u: 1 / sp.sinh(u), "coth": lambda u: sp.cosh(u) / sp.sinh(u),
    "sec": lambda u: 1 / sp.cos(u), "csc": lambda u: 1 / sp.sin(u), "cot": lambda u: sp.cos(u) / sp.sin(u),
    "acot": lambda u: sp.pi / 2 - sp.atan(u), "erfc": lambda u: 1 - sp.erf(u),
    "asinh": lambda u: sp.log(u + sp.sqrt(u**2 + 1)), "acosh": lambda u: sp.log(u + sp.sqrt(u**2 - 1)),
    "atanh": lambda u: sp.log((1 + u) / (1 - u)) / 2, "acoth": lambda u: sp.log((u + 1) / (u - 1)) / 2,
}


def _decimal(r: sp.Rational) -> str:
    from decimal import Decimal, getcontext
    getcontext().prec = 50
    d = Decimal(int(r.p)) / Decimal(int(r.q))
    return format(d.normalize(), "f")


_PRINTER = _LanguagePrinter({"order": "none"})


class _NamedPrinter(_LanguagePrinter):
    _default_settings: ClassVar[dict[str, Any]] = dict(_LanguagePrinter._default_settings, symbol_names=None)


def to_text(expr, symbol_names: dict[str, str] | None = None) -> str:
    """Print ``expr`` in the expression language.

    Examples
    --------
    >>> a, b = sp.symbols("a b")
    >>> to_text(sp.Max(a, b) / 2)
    'max(a, b)/2'
    """
    if symbol_names:
        printer = _NamedPrinter({"order": "none", "symbol_names": symbol_names})
        return printer.doprint(sp.sympify(expr, strict=True))  # safe: strict=True refuses strings
    return _PRINTER.doprint(sp.sympify(expr, strict=True))  # safe: strict=True refuses strings


def to_latex(expr, symbol_names: dict | None = None) -> str:
    """LaTeX for ``expr`` via SymPy's printer (``w1`` prints as ``w_{1}``).

    Examples
    --------
    >>> to_latex(sp.Symbol("w1") * 2)
    '2 w_{1}'
    """
    expr = sp.sympify(expr, strict=True)  # safe: strict=True never parses a string
    if symbol_names:
        names = {s: symbol_names[s.name] for s in expr.free_symbols if s.name in symbol_names}
        return sp.latex(expr, order="none", symbol_names=names)
    return sp.latex(expr, order="none")


def handwritten(text: str) -> str:
    """Expression-language text as it is written by hand in feedback: ``·`` for ``*``, ``^`` for
    ``**``, ``−`` for a minus.

    Examples
    --------
    >>> handwritten("-w1*x + (a - b)**2")
    '−w1·x + (a − b)^2'
    """
    text = text.replace("**", "^").replace("*", "·").replace(" - ", " − ").replace("(-", "(−")
    return "−" + text[1:] if text.startswith("-") else text


def format_number(x, digits: int = 6, *, paren: bool = False) -> str:
    """A number for a write-up: ``digits`` significant figures, no trailing zeros.

    Integers print without a decimal point and ``-0`` prints as ``0``; with ``paren`` a
    negative number is parenthesised (a factor after the first: ``3·(-1)``, never ``3·-1``).

    Examples
    --------
    >>> format_number(2.6000000000000001), format_number(-0.0), format_number(1/3)
    ('2.6', '0', '0.333333')
    >>> format_number(-1, paren=True), format_number(2, paren=True)
    ('(-1)', '2')
    """
    text = _format_number(x, digits)
    return f"({text})" if paren and text.startswith("-") else text


def _format_number(x, digits: int) -> str:
    if isinstance(x, sp.Basic):
        if x.is_Integer:
            return str(int(x))
        x = float(sp.N(x, 30))
    x = float(x)
    if x != x or x in (float("inf"), float("-inf")):
        return str(x)
    text = format(x, f".{digits}g")
    if "e" in text:
        mant, exp = text.split("e")
        text = f"{mant}e{int(exp)}"
    return "0" if text in ("-0", "0") else text


def brief_pairs(pairs, shown: int = 4, width: int = 70) -> str:
    """``name=value`` pairs for a one-line ``repr``: at most ``shown`` of them and about ``width``
    characters, then ``…`` (a notebook shows a record's repr whole; a dump of every field is
    kilobytes).

    Examples
    --------
    >>> brief_pairs([("a", 1), ("b", 0.25), ("c", -3), ("d", 2), ("e", 7)])
    'a=1, b=0.25, c=-3, d=2, …'
    """
    pairs = list(pairs)
    out: list[str] = []
    for name, value in pairs[:shown]:
        text = f"{name}={format_number(value) if value is not None else '?'}"
        if out and sum(len(t) + 2 for t in out) + len(text) > width:
            break
        out.append(text)
    return ", ".join(out) + (", …" if len(out) < len(pairs) else "")


#: Significant figures of every float in JSON text. float64 carries 15-17; the last ones are
#: rounding noise that differs between CPUs (NumPy's AVX-512 loops vs its scalar ones), so
#: written files would change from machine to machine. 12 keep far more than any write-up shows.
JSON_DIGITS = 12


def rounded(obj, digits: int = JSON_DIGITS):
    """A copy of JSON-ready data with every float rounded to ``digits`` significant figures.

    Containers (dict, list, tuple) are copied; ints, bools, strings and ``None`` are kept.

    Examples
    --------
    >>> rounded({"a": [0.1 + 0.2, 2, True], "b": 1/3})
    {'a': [0.3, 2, True], 'b': 0.333333333333}
    """
    if isinstance(obj, float):
        return float(f"{obj:.{digits}g}") if math.isfinite(obj) else obj
    if isinstance(obj, dict):
        return {k: rounded(v, digits) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [rounded(v, digits) for v in obj]
    return obj


def to_json_text(doc) -> str:
    """JSON text of a write-up: floats to :data:`JSON_DIGITS` figures, two-space indent.

    Examples
    --------
    >>> print(to_json_text({"x": 2/3}), end="")
    {
      "x": 0.666666666667
    }
    """
    return json.dumps(rounded(doc), indent=2, ensure_ascii=False) + "\n"
