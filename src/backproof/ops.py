"""The operation table: one record per operation, every facet of it side by side.

Each :class:`Op` holds the SymPy forward, the SymPy local partial derivatives, the name
of the rule the write-up cites, its labels for text, LaTeX and diagrams, and a NumPy
forward and vector-Jacobian product (written in :mod:`backproof.npops`, which the
SymPy-free engine imports, and named in each row here). The SymPy partials and the
NumPy VJPs are written by hand, independently of each other, so that the cross-check in
:mod:`backproof.verify` and the NumPy engine are a real second opinion (a wrong rule in
one facet cannot hide behind the other). Adding an operation is adding one row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import sympy as sp

from . import npops
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


# --- The table ----------------------------------------------------------------------

OPS: dict[str, Op] = {op.name: op for op in [
    Op("add", None, "+", "+", "sum rule",
       lambda *x: sp.Add(*x),
       lambda *x: tuple(sp.Integer(1) for _ in x),
       npops.add, npops.add_vjp),
    Op("sub", 2, "−", "-", "difference rule",
       lambda a, b: a - b,
       lambda a, b: (sp.Integer(1), sp.Integer(-1)),
       npops.sub, npops.sub_vjp),
    Op("neg", 1, "−", "-", "constant multiple rule",
       lambda a: -a,
       lambda a: (sp.Integer(-1),),
       npops.neg, npops.neg_vjp),
    Op("mul", None, "×", r"\times", "product rule",
       lambda *x: sp.Mul(*x),
       lambda *x: tuple(sp.Mul(*(x[:i] + x[i + 1:])) for i in range(len(x))),
       npops.mul, npops.mul_vjp),
    Op("div", 2, "÷", r"\div", "quotient rule",
       lambda a, b: a / b,
       lambda a, b: (1 / b, -a / b**2),
       npops.div, npops.div_vjp),
    Op("pow", 2, "^", "^", "power rule",
       lambda a, n: a**n,
       lambda a, n: (n * a**(n - 1), a**n * sp.log(a)),
       npops.pow, npops.pow_vjp),
    Op("sqrt", 1, "√", r"\sqrt{}", "power rule (square root)",
       lambda a: sp.sqrt(a),
       lambda a: (1 / (2 * sp.sqrt(a)),),
       npops.sqrt, npops.sqrt_vjp, function="sqrt"),
    Op("exp", 1, "exp", r"\exp", "exponential rule",
       lambda a: sp.exp(a),
       lambda a: (sp.exp(a),),
       npops.exp, npops.exp_vjp, function="exp"),
    Op("log", 1, "log", r"\log", "logarithm rule",
       lambda a: sp.log(a),
       lambda a: (1 / a,),
       npops.log, npops.log_vjp, function="log"),
    Op("sin", 1, "sin", r"\sin", "sine rule",
       lambda a: sp.sin(a),
       lambda a: (sp.cos(a),),
       npops.sin, npops.sin_vjp, function="sin"),
    Op("cos", 1, "cos", r"\cos", "cosine rule",
       lambda a: sp.cos(a),
       lambda a: (-sp.sin(a),),
       npops.cos, npops.cos_vjp, function="cos"),
    Op("tan", 1, "tan", r"\tan", "tangent rule",
       lambda a: sp.tan(a),
       lambda a: (1 + sp.tan(a)**2,),
       npops.tan, npops.tan_vjp, function="tan"),
    Op("tanh", 1, "tanh", r"\tanh", "chain through tanh (tanh′ = 1 − tanh²)",
       lambda a: sp.tanh(a),
       lambda a: (1 - sp.tanh(a)**2,),
       npops.tanh, npops.tanh_vjp, function="tanh"),
    Op("sigmoid", 1, "σ", r"\sigma", "chain through σ (σ′ = σ(1 − σ))",
       lambda a: sigmoid(a),
       lambda a: (sigmoid(a) * (1 - sigmoid(a)),),
       npops.sigmoid, npops.sigmoid_vjp, function="sigmoid"),
    Op("relu", 1, "ReLU", r"\operatorname{ReLU}", "chain through ReLU (ReLU′ = step)",
       lambda a: relu(a),
       lambda a: (sp.Heaviside(a, 0),),
       npops.relu, npops.relu_vjp, function="relu",
       nondiff=npops.at_zero,
       convention="ReLU′(0) = 0, as PyTorch does"),
    Op("abs", 1, "|·|", r"\left|\cdot\right|", "absolute value rule (|x|′ = sign x)",
       lambda a: sp.Abs(a),
       lambda a: (sp.sign(a),),
       npops.abs, npops.abs_vjp, function="abs",
       nondiff=npops.at_zero,
       convention="|x|′ at 0 = sign(0) = 0"),
    Op("max", 2, "max", r"\max", "max rule (the larger operand passes the gradient)",
       lambda a, b: sp.Max(a, b),
       lambda a, b: (sp.Heaviside(a - b, _HALF), sp.Heaviside(b - a, _HALF)),
       npops.maximum, npops.max_vjp,
       function="max", nondiff=npops.at_tie,
       convention="at a tie each operand receives half of the gradient"),
    Op("min", 2, "min", r"\min", "min rule (the smaller operand passes the gradient)",
       lambda a, b: sp.Min(a, b),
       lambda a, b: (sp.Heaviside(b - a, _HALF), sp.Heaviside(a - b, _HALF)),
       npops.minimum, npops.min_vjp,
       function="min", nondiff=npops.at_tie,
       convention="at a tie each operand receives half of the gradient"),
    Op("softplus", 1, "softplus", r"\operatorname{softplus}", "chain through softplus (softplus′ = σ)",
       lambda a: softplus(a),
       lambda a: (sigmoid(a),),
       npops.softplus, npops.softplus_vjp, function="softplus"),
    Op("step", 1, "step", r"\theta", "step function (derivative 0 wherever it exists)",
       lambda a: sp.Heaviside(a, 0),
       lambda a: (sp.Integer(0),),
       npops.step, npops.step_vjp, function="step",
       nondiff=npops.at_zero,
       convention="the jump at 0 is ignored (derivative 0)"),
    Op("sign", 1, "sign", r"\operatorname{sign}", "sign function (derivative 0 wherever it exists)",
       lambda a: sp.sign(a),
       lambda a: (sp.Integer(0),),
       npops.sign, npops.sign_vjp, function="sign",
       nondiff=npops.at_zero,
       convention="the jump at 0 is ignored (derivative 0)"),
    Op("identity", 1, "=", "=", "named result (∂name/∂value = 1)",
       lambda a: a,
       lambda a: (sp.Integer(1),),
       npops.identity, npops.identity_vjp),
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
