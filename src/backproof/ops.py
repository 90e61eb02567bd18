"""The operation table: one record per operation, every facet of it side by side.

Each :class:`Op` holds the SymPy forward, the SymPy local partial derivatives, the name
of the rule the write-up cites, its labels for text, LaTeX and diagrams, and a NumPy
forward and vector-Jacobian product. The SymPy partials and the NumPy VJPs are written
by hand, independently of each other, so that the cross-check in
:mod:`backproof.verify` and the NumPy engine are a real second opinion (a wrong rule in
one facet cannot hide behind the other). Adding an operation is adding one row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import sympy as sp

from .functions import relu, sigmoid, softplus

__all__ = ["Op", "OPS", "FUNCTIONS", "get_op"]

_HALF = sp.Rational(1, 2)


@dataclass(frozen=True)
class Op:
    """One operation of the computational graph.

    Attributes
    ----------
    name : str
        Identifier used as the ``op`` attribute of graph nodes (``"mul"``).
    arity : int or None
        Number of operands; ``None`` for variadic operations (two or more).
    symbol : str
        Label in text write-ups and diagrams (``"×"``, ``"σ"``).
    latex : str
        Label in LaTeX (``r"\\times"``).
    rule : str
        The differentiation rule the write-up names (``"product rule"``).
    forward : callable
        SymPy forward: operands (SymPy expressions) -> expression.
    partials : callable
        SymPy local partials: operands -> tuple of ∂out/∂operand_i.
    np_forward : callable
        NumPy forward on arrays (broadcasting, float64).
    np_vjp : callable
        ``np_vjp(g, out, *operands)`` -> tuple of ``g * ∂out/∂operand_i``.
    function : str or None
        The expression-language function name, for function-call operations.
    nondiff : callable or None
        ``nondiff(*operand_values) -> bool``: the point is a kink of this op.
    convention : str
        The derivative used at such a kink, for the write-up.
    """

    name: str
    arity: int | None
    symbol: str
    latex: str
    rule: str
    forward: Callable[..., sp.Expr]
    partials: Callable[..., tuple]
    np_forward: Callable[..., np.ndarray]
    np_vjp: Callable[..., tuple]
    function: str | None = None
    nondiff: Callable[..., bool] | None = None
    convention: str = ""


# --- NumPy helpers, written for stability rather than brevity ---------------------

def _np_sigmoid(x):
    # Two-branch form: exp of a non-positive number never overflows.
    x = np.asarray(x, dtype=float)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _np_softplus(x):
    # log(1 + e^x) = max(x, 0) + log1p(e^-|x|): finite for |x| = 1000.
    x = np.asarray(x, dtype=float)
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def _np_prod_others(args, i):
    out = np.ones_like(np.asarray(args[0], dtype=float) * 1.0)
    for j, a in enumerate(args):
        if j != i:
            out = out * a
    return out


def _np_pow_vjp_simple(g, out, a, n):
    with np.errstate(divide="ignore", invalid="ignore"):
        d_base = g * n * np.power(a, n - 1)
    safe = np.where(a > 0, a, 1.0)
    return d_base, g * out * np.log(safe)


def _tie(a, b):
    return bool(np.any(np.asarray(a) == np.asarray(b)))


# --- The table ----------------------------------------------------------------------

OPS: dict[str, Op] = {op.name: op for op in [
    Op("add", None, "+", "+", "sum rule",
       lambda *x: sp.Add(*x),
       lambda *x: tuple(sp.Integer(1) for _ in x),
       lambda *x: sum(x[1:], x[0]),
       lambda g, out, *x: tuple(g * np.ones_like(np.asarray(xi, dtype=float)) for xi in x)),
    Op("sub", 2, "−", "-", "difference rule",
       lambda a, b: a - b,
       lambda a, b: (sp.Integer(1), sp.Integer(-1)),
       lambda a, b: a - b,
       lambda g, out, a, b: (g * np.ones_like(a), -g * np.ones_like(b))),
    Op("neg", 1, "−", "-", "constant multiple rule",
       lambda a: -a,
       lambda a: (sp.Integer(-1),),
       lambda a: -a,
       lambda g, out, a: (-g * np.ones_like(a),)),
    Op("mul", None, "×", r"\times", "product rule",
       lambda *x: sp.Mul(*x),
       lambda *x: tuple(sp.Mul(*(x[:i] + x[i + 1:])) for i in range(len(x))),
       lambda *x: np.prod(np.broadcast_arrays(*x), axis=0) if len(x) > 2 else x[0] * x[1],
       lambda g, out, *x: tuple(g * _np_prod_others(x, i) for i in range(len(x)))),
    Op("div", 2, "÷", r"\div", "quotient rule",
       lambda a, b: a / b,
       lambda a, b: (1 / b, -a / b**2),
       lambda a, b: a / b,
       lambda g, out, a, b: (g / b, -g * a / (b * b))),
    Op("pow", 2, "^", "^", "power rule",
       lambda a, n: a**n,
       lambda a, n: (n * a**(n - 1), a**n * sp.log(a)),
       lambda a, n: np.power(a, n),
       _np_pow_vjp_simple),
    Op("sqrt", 1, "√", r"\sqrt{}", "power rule (square root)",
       lambda a: sp.sqrt(a),
       lambda a: (1 / (2 * sp.sqrt(a)),),
       np.sqrt,
       lambda g, out, a: (g / (2.0 * out),), function="sqrt"),
    Op("exp", 1, "exp", r"\exp", "exponential rule",
       lambda a: sp.exp(a),
       lambda a: (sp.exp(a),),
       np.exp,
       lambda g, out, a: (g * out,), function="exp"),
    Op("log", 1, "log", r"\log", "logarithm rule",
       lambda a: sp.log(a),
       lambda a: (1 / a,),
       np.log,
       lambda g, out, a: (g / a,), function="log"),
    Op("sin", 1, "sin", r"\sin", "sine rule",
       lambda a: sp.sin(a),
       lambda a: (sp.cos(a),),
       np.sin,
       lambda g, out, a: (g * np.cos(a),), function="sin"),
    Op("cos", 1, "cos", r"\cos", "cosine rule",
       lambda a: sp.cos(a),
       lambda a: (-sp.sin(a),),
       np.cos,
       lambda g, out, a: (-g * np.sin(a),), function="cos"),
    Op("tan", 1, "tan", r"\tan", "tangent rule",
       lambda a: sp.tan(a),
       lambda a: (1 + sp.tan(a)**2,),
       np.tan,
       lambda g, out, a: (g / np.cos(a) ** 2,), function="tan"),
    Op("tanh", 1, "tanh", r"\tanh", "chain through tanh (tanh′ = 1 − tanh²)",
       lambda a: sp.tanh(a),
       lambda a: (1 - sp.tanh(a)**2,),
       np.tanh,
       lambda g, out, a: (g * (1.0 - out * out),), function="tanh"),
    Op("sigmoid", 1, "σ", r"\sigma", "chain through σ (σ′ = σ(1 − σ))",
       lambda a: sigmoid(a),
       lambda a: (sigmoid(a) * (1 - sigmoid(a)),),
       _np_sigmoid,
       lambda g, out, a: (g * out * (1.0 - out),), function="sigmoid"),
    Op("relu", 1, "ReLU", r"\operatorname{ReLU}", "chain through ReLU (ReLU′ = step)",
       lambda a: relu(a),
       lambda a: (sp.Heaviside(a, 0),),
       lambda a: np.maximum(a, 0.0),
       lambda g, out, a: (g * (np.asarray(a) > 0),), function="relu",
       nondiff=lambda a: bool(np.any(np.asarray(a) == 0)),
       convention="ReLU′(0) = 0, as PyTorch does"),
    Op("abs", 1, "|·|", r"\left|\cdot\right|", "absolute value rule (|x|′ = sign x)",
       lambda a: sp.Abs(a),
       lambda a: (sp.sign(a),),
       np.abs,
       lambda g, out, a: (g * np.sign(a),), function="abs",
       nondiff=lambda a: bool(np.any(np.asarray(a) == 0)),
       convention="|x|′ at 0 = sign(0) = 0"),
    Op("max", 2, "max", r"\max", "max rule (the larger operand passes the gradient)",
       lambda a, b: sp.Max(a, b),
       lambda a, b: (sp.Heaviside(a - b, _HALF), sp.Heaviside(b - a, _HALF)),
       np.maximum,
       lambda g, out, a, b: (g * ((a > b) + 0.5 * (a == b)), g * ((b > a) + 0.5 * (a == b))),
       function="max", nondiff=_tie,
       convention="at a tie each operand receives half of the gradient"),
    Op("min", 2, "min", r"\min", "min rule (the smaller operand passes the gradient)",
       lambda a, b: sp.Min(a, b),
       lambda a, b: (sp.Heaviside(b - a, _HALF), sp.Heaviside(a - b, _HALF)),
       np.minimum,
       lambda g, out, a, b: (g * ((a < b) + 0.5 * (a == b)), g * ((b < a) + 0.5 * (a == b))),
       function="min", nondiff=_tie,
       convention="at a tie each operand receives half of the gradient"),
    Op("softplus", 1, "softplus", r"\operatorname{softplus}", "chain through softplus (softplus′ = σ)",
       lambda a: softplus(a),
       lambda a: (sigmoid(a),),
       _np_softplus,
       lambda g, out, a: (g * _np_sigmoid(a),), function="softplus"),
    Op("step", 1, "step", r"\theta", "step function (derivative 0 wherever it exists)",
       lambda a: sp.Heaviside(a, 0),
       lambda a: (sp.Integer(0),),
       lambda a: (np.asarray(a) > 0).astype(float),
       lambda g, out, a: (g * 0.0 * np.asarray(a),), function="step",
       nondiff=lambda a: bool(np.any(np.asarray(a) == 0)),
       convention="the jump at 0 is ignored (derivative 0)"),
    Op("sign", 1, "sign", r"\operatorname{sign}", "sign function (derivative 0 wherever it exists)",
       lambda a: sp.sign(a),
       lambda a: (sp.Integer(0),),
       np.sign,
       lambda g, out, a: (g * 0.0 * np.asarray(a),), function="sign",
       nondiff=lambda a: bool(np.any(np.asarray(a) == 0)),
       convention="the jump at 0 is ignored (derivative 0)"),
    Op("identity", 1, "=", "=", "named result (∂name/∂value = 1)",
       lambda a: a,
       lambda a: (sp.Integer(1),),
       lambda a: a,
       lambda g, out, a: (g,)),
]}

#: Expression-language function names -> op name (aliases included).
FUNCTIONS: dict[str, str] = {op.function: op.name for op in OPS.values() if op.function}
FUNCTIONS.update({"ln": "log", "sigma": "sigmoid", "σ": "sigmoid"})


def get_op(name: str) -> Op:
    """Return the :class:`Op` called ``name``.

    Examples
    --------
    >>> get_op("mul").rule
    'product rule'
    """
    try:
        return OPS[name]
    except KeyError:
        raise KeyError(f"unknown operation {name!r} (known: {', '.join(sorted(OPS))})") from None
