"""Text of diagram labels: expressions as a reader writes them, and record-label fields.

:func:`label_text` prints a SymPy expression for a diagram: ``·`` for products,
superscript digits for integer powers (``(a - y)²``, never ``**``), ``√`` and ``π``,
and symbols under display names (``a2_0`` shown as ``a⁽²⁾₁``). It is a small subclass
of SymPy's ``StrPrinter``; nothing parses or rebuilds printed text.

:func:`record` joins the fields of a Graphviz record label (``name | value | gradient``),
escaping every character that means something in DOT or in a record (``\\``, ``{``,
``}``, ``|``, ``<``, ``>``, control characters), so no name can inject DOT or ports.
Record labels are plain DOT strings, which the embedded WebAssembly Graphviz draws
(it has no HTML-like labels).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import graphviz
import sympy as sp
from sympy.printing.precedence import precedence
from sympy.printing.str import StrPrinter

__all__ = ["label_text", "record", "plain", "subscript", "superscript", "field_lines", "visible"]

_SUB = str.maketrans("0123456789+-()", "₀₁₂₃₄₅₆₇₈₉₊₋₍₎")
_SUP = str.maketrans("0123456789+-()", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁽⁾")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: Characters with a meaning inside a record label (field separators, ports).
_RECORD_SPECIAL = re.compile(r"([{}|<>])")


def subscript(text: str) -> str:
    """Digits (and ``+-()``) as Unicode subscripts.

    Examples
    --------
    >>> subscript("12")
    '₁₂'
    """
    return text.translate(_SUB)


def superscript(text: str) -> str:
    """Digits (and ``+-()``) as Unicode superscripts.

    Examples
    --------
    >>> superscript("(2)")
    '⁽²⁾'
    """
    return text.translate(_SUP)


class _LabelPrinter(StrPrinter):
    """StrPrinter for labels: ``·``, superscript powers, display names for symbols."""

    _default_settings: ClassVar[dict[str, Any]] = dict(StrPrinter._default_settings, symbol_names=None)

    def _print_Symbol(self, expr):
        names = self._settings.get("symbol_names") or {}
        return names.get(expr.name, expr.name)

    def _print_Add(self, expr, order=None):
        # A long sum is built as a tree of two-term sums; a reader writes it flat.
        if any(isinstance(a, sp.Add) for a in expr.args):
            return self._print(sp.Add(*_flat(expr), evaluate=False))
        return super()._print_Add(expr, order=order)

    def _print_Mul(self, expr):
        args = expr.args
        # Unevaluated negation keeps its structure: `-(a·b)` is not `(-a)·b`.
        if len(args) == 2 and args[0] == -1 and not args[1].is_Number:
            inner = self._print(args[1])
            atomic = args[1].is_Symbol or isinstance(args[1], sp.Function) or args[1].is_Pow
            return "-" + (inner if atomic else f"({inner})")
        # StrPrinter joins factors with "*"; names never contain "*" (they are
        # identifiers) and powers print without it, so every "*" here is a product.
        return super()._print_Mul(expr).replace("*", "·")

    def _print_Pow(self, expr, rational=False):
        base, exp = expr.base, expr.exp
        if exp.is_Integer and int(exp) > 1:
            return self.parenthesize(base, precedence(expr), strict=True) + superscript(str(int(exp)))
        if exp == sp.S.Half:
            inner = self._print(base)
            return f"√{inner}" if base.is_Symbol else f"√({inner})"
        if exp.is_Integer and int(exp) < 0:
            positive = base if exp == -1 else sp.Pow(base, -exp, evaluate=False)
            return f"1/{self.parenthesize(positive, precedence(expr), strict=False)}"
        return (f"{self.parenthesize(base, precedence(expr), strict=True)}"
                f"^({self._print(exp)})")

    def _print_Float(self, expr):
        return format(float(expr), ".6g")

    def _print_Exp1(self, expr):
        return "e"

    def _print_Pi(self, expr):
        return "π"

    def _print_Abs(self, expr):
        return f"|{self._print(expr.args[0])}|"

    def _print_Heaviside(self, expr):
        return f"step({self._print(expr.args[0])})"

    def _print_Max(self, expr):
        return f"max({', '.join(self._print(a) for a in expr.args)})"

    def _print_Min(self, expr):
        return f"min({', '.join(self._print(a) for a in expr.args)})"


def _flat(expr: sp.Add) -> list:
    terms = []
    for a in expr.args:
        terms.extend(_flat(a) if isinstance(a, sp.Add) else [a])
    return terms


def label_text(expr, symbol_names: Mapping[str, str] | None = None) -> str:
    """``expr`` as a diagram label writes it.

    Parameters
    ----------
    expr : sympy.Expr
        The expression (a number or a SymPy object; never a string).
    symbol_names : mapping, optional
        Symbol name -> how to show it (``{"a2_0": "a⁽²⁾₁"}``).

    Examples
    --------
    >>> a, y = sp.symbols("a y")
    >>> label_text((a - y)**2 / 2 * a)
    'a·(a - y)²/2'
    >>> label_text(sp.Symbol("a2_0") * 3, {"a2_0": "a⁽²⁾₁"})
    '3·a⁽²⁾₁'
    """
    printer = _LabelPrinter({"order": "none", "symbol_names": dict(symbol_names or {})})
    return printer.doprint(sp.sympify(expr, strict=True))  # safe: strict=True refuses strings


def visible(text: str) -> str:
    r"""Control characters as visible escapes, so a label line is always one literal line.

    Examples
    --------
    >>> visible("new\nline")
    'new\\nline'
    """
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


def _field(lines: Iterable[str]) -> str:
    return "\\n".join(_RECORD_SPECIAL.sub(r"\\\1", graphviz.escape(visible(str(s)))) for s in lines)


def field_lines(field: str | Iterable[str]) -> list[str]:
    """A field given as one string or as lines, as a list of lines."""
    return [field] if isinstance(field, str) else [str(s) for s in field]


def record(fields: Iterable[str | Iterable[str]], *, flip: bool = False, raw: bool = False,
           ports: Iterable[str] | None = None) -> str:
    r"""A record label of escaped fields (each one line or several).

    Graphviz lays a record's fields side by side under ``rankdir=TB`` and stacks them
    under ``rankdir=LR``; ``flip`` wraps them in braces, which turns that direction.
    ``raw`` fields are records already (rows of a table) and are not escaped again.
    ``ports`` names the fields (``p1``, ``p2``: plain identifiers made by the caller),
    so that an edge can start at one field (``n1:p2``).

    Examples
    --------
    >>> str(record(["a|b", "7", ["∂J/∂a = 2", "= 1 + 1"]]))
    'a\\|b|7|∂J/∂a = 2\\n= 1 + 1'
    >>> str(record(["x₁ = 1", "x₂ = 2"], ports=["p1", "p2"]))
    '<p1> x₁ = 1|<p2> x₂ = 2'
    """
    texts = [str(f) if raw else _field(field_lines(f)) for f in fields]
    if ports is not None:
        texts = [f"<{port}> {text}" for port, text in zip(ports, texts, strict=True)]
    body = "|".join(texts)
    return graphviz.nohtml("{" + body + "}" if flip else body)


def plain(lines: Iterable[str]) -> str:
    r"""Escaped lines joined by DOT line breaks, for a plain (non-record) label.

    Examples
    --------
    >>> str(plain(["x <b>", "y"]))
    'x <b>\\ny'
    """
    return graphviz.nohtml("\\n".join(graphviz.escape(visible(str(s))) for s in lines))
