"""The operation table: one row per operation, every facet of it side by side.

Each :class:`Op` row holds, in one place: the name, arity and labels (text, LaTeX,
diagram), the expression-language function name and its aliases, the SymPy forward
and the SymPy local partials, the rule the write-up cites, how the op is written as a
SymPy expression (and, for the functions SymPy lacks, their elementary definition, from
which their SymPy class is made), the NumPy forward and vector-Jacobian product, the
kink predicate with its convention, and — when the op may serve as a network
activation — what a layer needs beyond that (:class:`AsLayer`). Everything else reads
these rows: the parser's function names, the graph's recovery of gates from SymPy's
canonical forms, the derivation, the NumPy engines, the checker, the network builder,
views and write-ups. Adding an operation is adding one row (and one line of the test
table in ``tests/test_ops_table.py``).

The SymPy partials and the NumPy VJPs are written by hand, independently of each
other, so that the cross-check in :mod:`backproof.verify` and the NumPy engine are a
real second opinion (a wrong rule in one facet cannot hide behind the other); never
derive one from the other.

Why one module and a lazily imported SymPy: the NumPy engine (:mod:`backproof.engine`)
reads this table and must never import SymPy (its numbers are the independent
opinion). So this module imports NumPy only; its SymPy facets are functions that reach
SymPy through :data:`sp`, which imports ``sympy`` on first use, and the SymPy classes
of the functions SymPy lacks (sigmoid, relu, …) are made on first use
(:meth:`Op.sympy_function`). Splitting the rows into a NumPy module and a SymPy module
would keep that property too, but would put each op in two places again.

How to add an operation (``leaky_relu`` and ``atan`` were added this way):

1. add one :class:`Op` row below: labels, rule, SymPy forward and partials, NumPy forward
   and VJP written by hand (never derived from each other), and the facets that apply
   (``function`` name, ``sympy_class`` or an elementary ``definition``, kink predicate,
   ``branch`` and ``convention``, ``layer`` if it may be a network activation);
2. add its test domain to ``DOMAINS`` in ``tests/test_ops_table.py`` (and, with a kink,
   PyTorch's counterpart to ``TORCH_KINKS``; if it is stable at ±1000, ``EXTREME_SAFE``);
3. add its name to the README's function list.

NumPy conventions, shared by every row:

* operands are float64 arrays (or Python floats) that broadcast against each other;
* ``np_vjp(g, out, *operands)`` returns one array per operand, ``g * ∂out/∂operand_i``,
  given the upstream gradient ``g`` and the forward's own result ``out``;
* the derivative at a kink follows the row's ``convention`` (ReLU′(0) = 0, a tie in
  ``max``/``min`` splits the gradient in half, step and sign have derivative 0);
* ``branch(*operands)`` is, for the ops with kinks, an array whose sign says which
  smooth piece the point is on; the point is a kink where it is exactly 0. The
  cross-check uses it to tell a finite difference that straddles a kink.

No NumPy facet silences floating-point errors except ``pow``'s VJP (its exponent
partial ``out · log a`` is only defined for ``a > 0``, and is irrelevant when the
exponent is a constant); callers decide, with ``np.errstate``, what an overflow means.
"""

from __future__ import annotations

import importlib
import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Op", "AsLayer", "OPS", "FUNCTIONS", "LEAKY_RELU_SLOPE", "get_op",
           "at_zero", "at_tie", "stable_sigmoid", "stable_softplus", "stable_softmax", "logsumexp", "sp"]


class _LazySympy:
    """``sympy``, imported on the first attribute access (see the module docstring)."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # introspection (doctest, copy) must not import SymPy
            raise AttributeError(name)
        return getattr(importlib.import_module("sympy"), name)


#: SymPy for the SymPy facets; importing this module does not import SymPy.
sp: Any = _LazySympy()


class _SymPyFunctions:
    """``fn.sigmoid`` is the SymPy class of the op-table row ``sigmoid`` (made on first use)."""

    def __getattr__(self, name: str) -> Any:
        if name not in OPS:
            raise AttributeError(name)
        return OPS[name].sympy_function()


fn = _SymPyFunctions()

#: The slope of ``leaky_relu`` for negative inputs (PyTorch's default ``negative_slope``).
LEAKY_RELU_SLOPE = 0.01


# --- numerically stable helpers ----------------------------------------------------

def stable_sigmoid(x):
    """σ(x) in the two-branch form: ``exp`` of a non-positive number never overflows.

    Examples
    --------
    >>> stable_sigmoid(np.array([-1000.0, 0.0, 1000.0])).tolist()
    [0.0, 0.5, 1.0]
    """
    x = np.asarray(x, dtype=float)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def stable_softplus(x):
    """log(1 + e^x) as ``max(x, 0) + log1p(e^-|x|)``: finite for ``|x| = 1000``.

    Examples
    --------
    >>> stable_softplus(np.array([-1000.0, 1000.0])).tolist()
    [0.0, 1000.0]
    """
    x = np.asarray(x, dtype=float)
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def stable_softmax(z):
    """Softmax over the last axis, shifted by the row maximum so that ``exp`` stays <= 1.

    Examples
    --------
    >>> stable_softmax(np.array([[0.0, 0.0], [1000.0, 0.0]])).tolist()
    [[0.5, 0.5], [1.0, 0.0]]
    """
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(z - np.max(z, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


def logsumexp(z):
    """Stable ``log Σ_k e^(z_k)`` over the last axis.

    Examples
    --------
    >>> float(logsumexp([1000.0, 1000.0]).round(6))
    1000.693147
    """
    z = np.asarray(z, dtype=np.float64)
    m = np.max(z, axis=-1, keepdims=True)
    return (m + np.log(np.sum(np.exp(z - m), axis=-1, keepdims=True)))[..., 0]


def _prod_others(args, i):
    out = np.ones_like(np.asarray(args[0], dtype=float) * 1.0)
    for j, a in enumerate(args):
        if j != i:
            out = out * a
    return out


def _np_mul(*x):
    return np.prod(np.broadcast_arrays(*x), axis=0) if len(x) > 2 else x[0] * x[1]


def _pow_vjp(g, out, a, n):
    with np.errstate(divide="ignore", invalid="ignore"):
        d_base = g * n * np.power(a, n - 1)
    safe = np.where(a > 0, a, 1.0)
    return d_base, g * out * np.log(safe)


def _tanh_vjp(g, out, a):
    # sech²(a) = 4t / (1 + t)² with t = e^(−2|a|): 1 − out² would lose every digit
    # once out rounds to ±1 (|a| > 19), and e^(2|a|) would overflow.
    t = np.exp(-2.0 * np.abs(a))
    return (g * (4.0 * t / ((1.0 + t) * (1.0 + t))),)


def _sigmoid_vjp(g, out, a):
    # σ′(a) = σ(a)·σ(−a): both factors are stable, and unlike out·(1 − out) there is no
    # cancellation in 1 − σ(a) once out rounds to 1 (a > 37).
    return (stable_sigmoid(a) * stable_sigmoid(-a) * g,)


# --- kinks ---------------------------------------------------------------------------

def at_zero(a) -> bool:
    """True when any element of ``a`` is exactly 0 (the kink of relu, abs, step, sign).

    Examples
    --------
    >>> at_zero(np.array([1.0, 0.0])), at_zero(2.0)
    (True, False)
    """
    return bool(np.any(np.asarray(a) == 0))


def at_tie(a, b) -> bool:
    """True when any element of ``a`` equals ``b`` (the kink of max and min).

    Examples
    --------
    >>> at_tie(1.0, 1.0), at_tie(np.array([1.0, 2.0]), 3.0)
    (True, False)
    """
    return bool(np.any(np.asarray(a) == np.asarray(b)))


def _branch_zero(a):
    return np.sign(np.asarray(a, dtype=float))


def _branch_tie(a, b):
    return np.sign(np.asarray(a, dtype=float) - np.asarray(b, dtype=float))


# --- the row -------------------------------------------------------------------------

@dataclass(frozen=True)
class AsLayer:
    """What a network layer needs of an op beyond its row (the op may be an activation).

    The layer engine's forward and derivative are the row's ``np_forward`` and
    ``np_vjp``; these are the write-up's formulas and the matrix view's second route.

    Attributes
    ----------
    derivative : str
        The derivative for text write-ups, in the output ``a`` or input ``z``
        (``"σ′(z) = a(1 − a)"``).
    derivative_latex : callable
        ``derivative_latex(z, a)`` -> LaTeX of g′(z), given the LaTeX names of z and a.
    derivative_of : callable
        ``derivative_of(z, a)`` -> SymPy g′(z) from the values of z and a = g(z): the
        matrix view computes σ′ this way, a second route to the SymPy partials.
    """

    derivative: str
    derivative_latex: Callable[[str, str], str]
    derivative_of: Callable[[Any, Any], Any]


@dataclass(frozen=True)
class Op:
    """One operation of the computational graph: every facet of it.

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
    branch : callable or None
        For ops with kinks: elementwise array whose sign names the smooth piece; 0
        exactly at a kink. ``None`` for smooth ops.
    aliases : tuple of str
        Further expression-language names of the function (``ln`` for ``log``).
    written : callable or None
        SymPy, unevaluated, as a student writes it: operands -> expression. ``None``
        means ``sympy_function()(*operands, evaluate=False)``.
    sympy_class : callable or None
        Returns SymPy's own class for this function (``lambda: sp.exp``); the graph
        recovers the gate from an instance of it.
    definition : callable or None
        For a function SymPy lacks: its definition in elementary functions. Its SymPy
        class is made from this row (:meth:`sympy_function`), and the independent proof
        differentiates the definition (:func:`backproof.functions.rewrite_elementary`).
    layer : AsLayer or None
        Set when the op may serve as a network activation.
    checker_activation : bool
        The checker looks for the activation mistakes at this op (the derivative left
        out, the function instead of its derivative, the derivative at the output).
    undefined : str
        Why the op's value may be undefined, for the derivation's message
        (``"log needs a positive argument"``); empty when it is defined everywhere.
    swappable : bool
        Swapping its operands changes the value: the checker looks for swapped operands.
    """

    name: str
    arity: int | None
    symbol: str
    latex: str
    rule: str
    forward: Callable[..., Any]
    partials: Callable[..., tuple]
    np_forward: Callable[..., np.ndarray]
    np_vjp: Callable[..., tuple]
    function: str | None = None
    nondiff: Callable[..., bool] | None = None
    convention: str = ""
    branch: Callable[..., np.ndarray] | None = None
    aliases: tuple[str, ...] = ()
    written: Callable[..., Any] | None = None
    sympy_class: Callable[[], type] | None = None
    definition: Callable[[Any], Any] | None = None
    layer: AsLayer | None = None
    checker_activation: bool = False
    undefined: str = ""
    swappable: bool = False

    def sympy_function(self) -> type | None:
        """The SymPy class of this function: SymPy's own, or one made from ``definition``.

        Examples
        --------
        >>> get_op("sigmoid").sympy_function() is get_op("sigmoid").sympy_function()
        True
        >>> get_op("mul").sympy_function() is None
        True
        """
        if self.sympy_class is not None:
            return self.sympy_class()
        if self.definition is None:
            return None
        if self.name not in _MADE:
            _MADE[self.name] = _make_sympy_function(self)
        return _MADE[self.name]

    def write(self, *operands) -> Any:
        """The op applied to SymPy operands, unevaluated so that it reads as written.

        Examples
        --------
        >>> x = sp.Symbol("x")
        >>> get_op("sub").write(x, sp.Integer(2)), get_op("relu").write(x)
        (x - 2, relu(x))
        """
        if self.written is not None:
            return self.written(*operands)
        function = self.sympy_function()
        assert function is not None, f"{self.name}: a row without `written` needs a SymPy function"
        return function(*operands, evaluate=False)


#: Op name -> its SymPy class made from the row's definition (made once: SymPy compares
#: function classes by identity).
_MADE: dict[str, type] = {}


def _make_sympy_function(op: Op) -> type:
    """A ``sympy.Function`` subclass for ``op``: evaluates numbers by the definition,
    differentiates by the row's SymPy partials, prints with the row's LaTeX label."""
    definition, partials, latex = op.definition, op.partials, op.latex
    assert definition is not None, f"{op.name}: a made SymPy function needs the row's definition"

    def eval(cls, x):  # safe: SymPy's evaluation hook for Function subclasses, not Python eval
        if x.is_Number:
            return definition(x)
        return None

    def fdiff(self, argindex=1):
        return partials(*self.args)[argindex - 1]

    def _eval_evalf(self, prec):
        return definition(self.args[0])._eval_evalf(prec)

    def _eval_is_real(self):
        return self.args[0].is_real

    def _eval_is_finite(self):
        if self.args[0].is_real:
            return definition(self.args[0]).is_finite
        return None

    def _latex(self, printer):
        return rf"{latex}\left({printer._print(self.args[0])}\right)"

    namespace = {"eval": classmethod(eval), "fdiff": fdiff, "_eval_evalf": _eval_evalf,
                 "_eval_is_real": _eval_is_real, "_eval_is_finite": _eval_is_finite, "_latex": _latex,
                 "__module__": "backproof.functions", "__doc__": op.rule}
    # The module named is the one that exposes these classes (pickle finds them there).
    return types.new_class(op.name, (sp.Function,), exec_body=lambda ns: ns.update(namespace))


def _half():
    return sp.Rational(1, 2)


def _slope():
    # LEAKY_RELU_SLOPE, exact: the SymPy facets stay exact rationals.
    return sp.Rational(str(LEAKY_RELU_SLOPE))


# --- The table ----------------------------------------------------------------------

OPS: dict[str, Op] = {op.name: op for op in [
    Op("add", None, "+", "+", "sum rule",
       lambda *x: sp.Add(*x),
       lambda *x: tuple(sp.Integer(1) for _ in x),
       lambda *x: sum(x[1:], x[0]),
       lambda g, out, *x: tuple(g * np.ones_like(np.asarray(xi, dtype=float)) for xi in x),
       written=lambda *x: sp.Add(*x, evaluate=False)),
    Op("sub", 2, "−", "-", "difference rule",
       lambda a, b: a - b,
       lambda a, b: (sp.Integer(1), sp.Integer(-1)),
       lambda a, b: a - b,
       lambda g, out, a, b: (g * np.ones_like(a), -g * np.ones_like(b)),
       written=lambda a, b: sp.Add(a, -b if b.is_Number else sp.Mul(-1, b, evaluate=False),
                                   evaluate=False),
       swappable=True),
    Op("neg", 1, "−", "-", "constant multiple rule",
       lambda a: -a,
       lambda a: (sp.Integer(-1),),
       lambda a: -a,
       lambda g, out, a: (-g * np.ones_like(a),),
       written=lambda a: sp.Mul(-1, a, evaluate=False)),
    Op("mul", None, "×", r"\times", "product rule",
       lambda *x: sp.Mul(*x),
       lambda *x: tuple(sp.Mul(*(x[:i] + x[i + 1:])) for i in range(len(x))),
       _np_mul,
       lambda g, out, *x: tuple(g * _prod_others(x, i) for i in range(len(x))),
       written=lambda *x: sp.Mul(*x, evaluate=False)),
    Op("div", 2, "÷", r"\div", "quotient rule",
       lambda a, b: a / b,
       lambda a, b: (1 / b, -a / b**2),
       lambda a, b: a / b,
       lambda g, out, a, b: (g / b, -g * a / (b * b)),
       written=lambda a, b: sp.Mul(a, sp.Pow(b, -1, evaluate=False), evaluate=False),
       undefined="division by zero", swappable=True),
    Op("pow", 2, "^", "^", "power rule",
       lambda a, n: a**n,
       lambda a, n: (n * a**(n - 1), a**n * sp.log(a)),
       np.power, _pow_vjp,
       written=lambda a, n: sp.Pow(a, n, evaluate=False),
       undefined="the power is undefined here", swappable=True),
    Op("sqrt", 1, "√", r"\sqrt{}", "power rule (square root)",
       lambda a: sp.sqrt(a),
       lambda a: (1 / (2 * sp.sqrt(a)),),
       np.sqrt,
       lambda g, out, a: (g / (2.0 * out),),
       function="sqrt", written=lambda a: sp.Pow(a, _half(), evaluate=False),
       undefined="sqrt needs a non-negative argument"),
    Op("exp", 1, "exp", r"\exp", "exponential rule",
       lambda a: sp.exp(a),
       lambda a: (sp.exp(a),),
       np.exp,
       lambda g, out, a: (g * out,),
       function="exp", sympy_class=lambda: sp.exp),
    Op("log", 1, "log", r"\log", "logarithm rule",
       lambda a: sp.log(a),
       lambda a: (1 / a,),
       np.log,
       lambda g, out, a: (g / a,),
       function="log", aliases=("ln",), sympy_class=lambda: sp.log,
       undefined="log needs a positive argument"),
    Op("sin", 1, "sin", r"\sin", "sine rule",
       lambda a: sp.sin(a),
       lambda a: (sp.cos(a),),
       np.sin,
       lambda g, out, a: (g * np.cos(a),),
       function="sin", sympy_class=lambda: sp.sin),
    Op("cos", 1, "cos", r"\cos", "cosine rule",
       lambda a: sp.cos(a),
       lambda a: (-sp.sin(a),),
       np.cos,
       lambda g, out, a: (-g * np.sin(a),),
       function="cos", sympy_class=lambda: sp.cos),
    Op("tan", 1, "tan", r"\tan", "tangent rule",
       lambda a: sp.tan(a),
       lambda a: (1 + sp.tan(a)**2,),
       np.tan,
       lambda g, out, a: (g / np.cos(a) ** 2,),
       function="tan", sympy_class=lambda: sp.tan,
       undefined="tan is undefined at odd multiples of pi/2"),
    Op("atan", 1, "atan", r"\arctan", "arctangent rule (atan′ = 1/(1 + x²))",
       lambda a: sp.atan(a),
       lambda a: (1 / (1 + a**2),),
       np.arctan,
       lambda g, out, a: (g / (1.0 + a * a),),
       function="atan", sympy_class=lambda: sp.atan),
    Op("tanh", 1, "tanh", r"\tanh", "chain through tanh (tanh′ = 1 − tanh²)",
       lambda a: sp.tanh(a),
       lambda a: (1 - sp.tanh(a)**2,),
       np.tanh, _tanh_vjp,
       function="tanh", sympy_class=lambda: sp.tanh, checker_activation=True,
       layer=AsLayer("tanh′(z) = 1 − a²", lambda z, a: f"1 - {a}^2", lambda z, a: 1 - a ** 2)),
    Op("sigmoid", 1, "σ", r"\sigma", "chain through σ (σ′ = σ(1 − σ))",
       lambda a: fn.sigmoid(a),
       lambda a: (fn.sigmoid(a) * (1 - fn.sigmoid(a)),),
       stable_sigmoid, _sigmoid_vjp,
       function="sigmoid", aliases=("sigma", "σ"), checker_activation=True,
       definition=lambda x: 1 / (1 + sp.exp(-x)),
       layer=AsLayer("σ′(z) = a(1 − a)", lambda z, a: f"{a}(1 - {a})", lambda z, a: a * (1 - a))),
    Op("relu", 1, "ReLU", r"\operatorname{ReLU}", "chain through ReLU (ReLU′ = step)",
       lambda a: fn.relu(a),
       lambda a: (sp.Heaviside(a, 0),),
       lambda a: np.maximum(a, 0.0),
       lambda g, out, a: (g * (np.asarray(a) > 0),),
       function="relu", nondiff=at_zero, branch=_branch_zero, checker_activation=True,
       convention="ReLU′(0) = 0, as PyTorch does",
       definition=lambda x: sp.Max(0, x),
       layer=AsLayer("ReLU′(z) = step(z) (0 at z = 0)", lambda z, a: rf"\operatorname{{step}}({z})",
                     lambda z, a: sp.Heaviside(z, 0))),
    Op("leaky_relu", 1, "LReLU", r"\operatorname{LeakyReLU}",
       f"chain through leaky ReLU (leaky_relu′ = 1 for x > 0, {LEAKY_RELU_SLOPE} otherwise)",
       lambda a: fn.leaky_relu(a),
       lambda a: (_slope() + (1 - _slope()) * sp.Heaviside(a, 0),),
       lambda a: np.where(np.asarray(a) > 0, a, LEAKY_RELU_SLOPE * np.asarray(a)),
       lambda g, out, a: (g * np.where(np.asarray(a) > 0, 1.0, LEAKY_RELU_SLOPE),),
       function="leaky_relu", nondiff=at_zero, branch=_branch_zero, checker_activation=True,
       convention=f"leaky_relu′(0) = {LEAKY_RELU_SLOPE} (the left slope), as PyTorch does",
       definition=lambda x: sp.Max(0, x) + _slope() * sp.Min(0, x),
       layer=AsLayer(f"leaky_relu′(z) = 1 for z > 0, {LEAKY_RELU_SLOPE} otherwise",
                     lambda z, a: rf"(1 \text{{ if }} {z} > 0 \text{{ else }} {LEAKY_RELU_SLOPE})",
                     lambda z, a: _slope() + (1 - _slope()) * sp.Heaviside(z, 0))),
    Op("abs", 1, "|·|", r"\left|\cdot\right|", "absolute value rule (|x|′ = sign x)",
       lambda a: sp.Abs(a),
       lambda a: (sp.sign(a),),
       np.abs,
       lambda g, out, a: (g * np.sign(a),),
       function="abs", nondiff=at_zero, branch=_branch_zero, sympy_class=lambda: sp.Abs,
       convention="|x|′ at 0 = sign(0) = 0"),
    Op("max", 2, "max", r"\max", "max rule (the larger operand passes the gradient)",
       lambda a, b: sp.Max(a, b),
       lambda a, b: (sp.Heaviside(a - b, _half()), sp.Heaviside(b - a, _half())),
       np.maximum,
       lambda g, out, a, b: (g * ((a > b) + 0.5 * (a == b)), g * ((b > a) + 0.5 * (a == b))),
       function="max", nondiff=at_tie, branch=_branch_tie, sympy_class=lambda: sp.Max,
       convention="at a tie each operand receives half of the gradient"),
    Op("min", 2, "min", r"\min", "min rule (the smaller operand passes the gradient)",
       lambda a, b: sp.Min(a, b),
       lambda a, b: (sp.Heaviside(b - a, _half()), sp.Heaviside(a - b, _half())),
       np.minimum,
       lambda g, out, a, b: (g * ((a < b) + 0.5 * (a == b)), g * ((b < a) + 0.5 * (a == b))),
       function="min", nondiff=at_tie, branch=_branch_tie, sympy_class=lambda: sp.Min,
       convention="at a tie each operand receives half of the gradient"),
    Op("softplus", 1, "softplus", r"\operatorname{softplus}", "chain through softplus (softplus′ = σ)",
       lambda a: fn.softplus(a),
       lambda a: (fn.sigmoid(a),),
       stable_softplus,
       lambda g, out, a: (g * stable_sigmoid(a),),
       function="softplus", checker_activation=True,
       definition=lambda x: sp.log(1 + sp.exp(x))),
    Op("step", 1, "step", r"\theta", "step function (derivative 0 wherever it exists)",
       lambda a: sp.Heaviside(a, 0),
       lambda a: (sp.Integer(0),),
       lambda a: (np.asarray(a) > 0).astype(float),
       lambda g, out, a: (g * 0.0 * np.asarray(a),),
       function="step", nondiff=at_zero, branch=_branch_zero, sympy_class=lambda: sp.Heaviside,
       convention="the jump at 0 is ignored (derivative 0)",
       written=lambda a: sp.Heaviside(a, 0, evaluate=False)),
    Op("sign", 1, "sign", r"\operatorname{sign}", "sign function (derivative 0 wherever it exists)",
       lambda a: sp.sign(a),
       lambda a: (sp.Integer(0),),
       np.sign,
       lambda g, out, a: (g * 0.0 * np.asarray(a),),
       function="sign", nondiff=at_zero, branch=_branch_zero, sympy_class=lambda: sp.sign,
       convention="the jump at 0 is ignored (derivative 0)"),
    Op("identity", 1, "=", "=", "named result (∂name/∂value = 1)",
       lambda a: a,
       lambda a: (sp.Integer(1),),
       lambda a: a,
       lambda g, out, a: (g,),
       written=lambda a: a,
       layer=AsLayer("1", lambda z, a: "1", lambda z, a: sp.Integer(1))),
]}

#: Expression-language function names -> op name (aliases included).
FUNCTIONS: dict[str, str] = {op.function: op.name for op in OPS.values() if op.function}
FUNCTIONS.update({alias: op.name for op in OPS.values() for alias in op.aliases})


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
