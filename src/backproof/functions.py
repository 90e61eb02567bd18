"""SymPy classes of the functions SymPy lacks (sigmoid, relu, softplus, …), from the op table.

Each class is made from its row of :data:`backproof.ops.OPS` (the row's elementary
``definition``, SymPy partials and LaTeX label); ``from backproof.functions import
sigmoid`` returns that class. The *independent* oracle in :mod:`backproof.verify`
never relies on the classes' derivatives: :func:`rewrite_elementary` replaces each one
by its definition first and SymPy differentiates that with its own rules.
"""

from __future__ import annotations

from typing import Any

import sympy as sp

from .ops import OPS

__all__ = ["rewrite_elementary", "DEFINED"]

#: Names of the op-table functions defined here (their SymPy class is made from the row).
DEFINED = tuple(name for name, op in OPS.items() if op.definition is not None)


def __getattr__(name: str) -> Any:
    # ``backproof.functions.sigmoid``: the class made from the op table's row.
    if name in DEFINED:
        return OPS[name].sympy_function()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def rewrite_elementary(expr: sp.Expr) -> sp.Expr:
    """Replace sigmoid, relu, softplus, … by their definitions in elementary functions.

    Examples
    --------
    >>> x = sp.Symbol("x", real=True)
    >>> rewrite_elementary(OPS["sigmoid"].forward(x) + OPS["relu"].forward(x))
    Max(0, x) + 1/(1 + exp(-x))
    """
    for name in DEFINED:
        op = OPS[name]
        expr = expr.replace(op.sympy_function(), op.definition)
    return expr
