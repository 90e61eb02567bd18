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
  ``max``/``min`` shares the gradient by the tie convention in force, :func:`tie_convention`,
  half by default; step and sign have derivative 0);
* ``branch(*operands)`` is, for the ops with kinks, an array whose sign says which
  smooth piece the point is on; the point is a kink where it is exactly 0. The
  cross-check uses it to tell a finite difference that straddles a kink.

No NumPy facet silences floating-point errors except ``pow``'s VJP (its exponent
partial ``out · log a`` is only defined for ``a > 0``, and is irrelevant when the
exponent is a constant); callers decide, with ``np.errstate``, what an overflow means.
"""

from __future__ import annotations

import functools
import importlib
import math
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["GENERIC_RULES", "RULE_NAMES", "Op", "AsLayer", "OPS", "FUNCTIONS", "LEAKY_RELU_SLOPE", "get_op",
           "at_zero", "at_tie", "stable_sigmoid", "stable_softplus", "stable_softmax", "logsumexp", "sp",
           "TIES", "tie_convention", "current_tie"]


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


# --- the tie convention of max and min (issue 14) -------------------------------------

#: Who receives the gradient of ``max``/``min`` where several operands attain it:
#: ``half`` shares it equally (½ each of two, 1/m each of m: PyTorch's ``maximum`` and
#: ``amax``), ``first`` gives it all to the first of them (PyTorch's ``max`` over a
#: dimension), ``all`` gives each of them all of it (CS231n's 1(x ≥ y) and 1(y ≥ x)).
TIES = ("half", "first", "all")
_TIE: ContextVar[str] = ContextVar("backproof_tie", default="half")


def current_tie() -> str:
    """The tie convention in force (``"half"`` unless :func:`tie_convention` says otherwise).

    Examples
    --------
    >>> current_tie()
    'half'
    """
    return _TIE.get()


@contextmanager
def tie_convention(tie: str) -> Iterator[None]:
    """Run a block with another tie convention for ``max``/``min`` (one of :data:`TIES`).

    A scoped setting, as ``numpy.errstate`` is: every facet of the two rows (SymPy
    partials, NumPy VJPs, the convention the write-up states) reads it, so the derivation,
    the NumPy engine and the cross-check inside the block agree on it.

    Examples
    --------
    >>> with tie_convention("first"):
    ...     [float(g) for g in OPS["max"].np_vjp(1.0, 2.0, 2.0, 2.0)]
    [1.0, 0.0]
    """
    if tie not in TIES:
        raise ValueError(f"unknown tie convention {tie!r} (must be one of {', '.join(TIES)})")
    token = _TIE.set(tie)
    try:
        yield
    finally:
        _TIE.reset(token)


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
        # x**0 is the constant 1: its derivative is 0 everywhere, also at x = 0 (0 · 0**-1 is nan).
        d_base = np.where(np.asarray(n) == 0, 0.0, g * n * np.power(a, n - 1))
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


# --- the functions of issue 14 (elu … erf): NumPy facets ----------------------------

#: SELU's constants (Klambauer et al. 2017), as PyTorch defines them.
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946

# NumPy has no erf: the standard library's, elementwise (float64 in, float64 out).
_erf = np.vectorize(math.erf, otypes=[float])
_erfc = np.vectorize(math.erfc, otypes=[float])
_SQRT_2PI = math.sqrt(2.0 * math.pi)
_SQRT1_2 = math.sqrt(0.5)


def _sech2_of_nonneg(y):
    # sech²(y) = 4t / (1 + t)² with t = e^(−2y), for y >= 0: neither overflows nor
    # cancels (1 − tanh² would lose every digit once tanh rounds to 1).
    t = np.exp(-2.0 * np.asarray(y, dtype=float))
    return 4.0 * t / ((1.0 + t) * (1.0 + t))


def _elu(a):
    a = np.asarray(a, dtype=float)
    return np.where(a > 0, a, np.expm1(np.minimum(a, 0.0)))


def _selu(a):
    a = np.asarray(a, dtype=float)
    return SELU_SCALE * np.where(a > 0, a, SELU_ALPHA * np.expm1(np.minimum(a, 0.0)))


def _selu_vjp(g, out, a):
    a = np.asarray(a, dtype=float)
    # At 0 the left slope scale·alpha, as PyTorch's elu_backward (x <= 0 branch).
    return (g * np.where(a > 0, SELU_SCALE, (SELU_ALPHA * SELU_SCALE) * np.exp(np.minimum(a, 0.0))),)


def _gelu(a):
    # x·Φ(x) with Φ(x) = erfc(−x/√2)/2: no cancellation in 1 + erf(x/√2) for x << 0.
    a = np.asarray(a, dtype=float)
    return a * 0.5 * _erfc(-a * _SQRT1_2)


def _gelu_vjp(g, out, a):
    a = np.asarray(a, dtype=float)
    return (g * (0.5 * _erfc(-a * _SQRT1_2) + a * np.exp(-0.5 * a * a) / _SQRT_2PI),)


def _silu_vjp(g, out, a):
    # silu′ = σ(a) + a·σ(a)·σ(−a): stable factors, no 1 − σ cancellation.
    s = stable_sigmoid(a)
    return (g * (s + a * s * stable_sigmoid(-a)),)


def _mish(a):
    return a * np.tanh(stable_softplus(a))


def _mish_vjp(g, out, a):
    y = stable_softplus(a)
    return (g * (np.tanh(y) + a * stable_sigmoid(a) * _sech2_of_nonneg(y)),)


def _log_sigmoid(a):
    # log σ(x) = min(x, 0) − log1p(e^−|x|): exact for x << 0 (= x) and for x >> 0 (≈ −e^−x).
    a = np.asarray(a, dtype=float)
    return np.minimum(a, 0.0) - np.log1p(np.exp(-np.abs(a)))


def _hardsigmoid(a):
    # As PyTorch: min(max(x + 3, 0), 6) / 6.
    return np.minimum(np.maximum(np.asarray(a, dtype=float) + 3.0, 0.0), 6.0) / 6.0


def _inside(a, lo, hi):
    # 1 strictly between the kinks, 0 at them and outside (PyTorch's hardtanh_backward).
    a = np.asarray(a, dtype=float)
    return ((a > lo) & (a < hi)).astype(float)


def _at_any(*kinks):
    def at(a) -> bool:
        a = np.asarray(a)
        return bool(np.any(np.isin(a, kinks)))
    return at


def _branch_between(lo, hi):
    # (a − lo)(a − hi): exactly 0 at either kink, changes sign across each one, and its
    # size tells how near a kink the point is.
    def branch(a):
        a = np.asarray(a, dtype=float)
        return (a - lo) * (a - hi)
    return branch


# --- kinks ---------------------------------------------------------------------------

def at_zero(a) -> bool:
    """True when any element of ``a`` is exactly 0 (the kink of relu, abs, step, sign).

    Examples
    --------
    >>> at_zero(np.array([1.0, 0.0])), at_zero(2.0)
    (True, False)
    """
    return bool(np.any(np.asarray(a) == 0))


def at_tie(*xs) -> bool:
    """True when, at any element, two or more operands attain the largest (the kink of max),
    or two or more attain the smallest (the kink of min); for two operands, when they are equal.

    Examples
    --------
    >>> at_tie(1.0, 1.0), at_tie(np.array([1.0, 2.0]), 3.0), at_tie(1.0, 1.0, 5.0)
    (True, False, True)
    """
    if len(xs) == 2:
        return bool(np.any(np.asarray(xs[0]) == np.asarray(xs[1])))
    stack = np.sort(np.stack(np.broadcast_arrays(*[np.asarray(x, dtype=float) for x in xs])), axis=0)
    return bool(np.any(stack[-1] == stack[-2]) or np.any(stack[0] == stack[1]))


def _tie_at(top: int):
    """The kink predicate of max (``top`` = −1: the two largest tie) or min (0: the two smallest)."""
    def nondiff(*xs) -> bool:
        if len(xs) == 2:
            return at_tie(*xs)
        stack = np.sort(np.stack(np.broadcast_arrays(*[np.asarray(x, dtype=float) for x in xs])), axis=0)
        return bool(np.any(stack[-1] == stack[-2])) if top == -1 else bool(np.any(stack[0] == stack[1]))
    return nondiff


def _branch_zero(a):
    return np.sign(np.asarray(a, dtype=float))


def _branch_extremum(top: int):
    """The branch of max (``top`` = −1) or min (``top`` = 0): for two operands sign(a − b); for
    more, the gap between the extremum and the runner-up (0 exactly at a tie) signed by the parity
    of the operands' order, so that it changes sign where the extremum changes hands."""
    def branch(*xs):
        if len(xs) == 2:
            return np.sign(np.asarray(xs[0], dtype=float) - np.asarray(xs[1], dtype=float))
        stack = np.stack(np.broadcast_arrays(*[np.asarray(x, dtype=float) for x in xs]))
        ordered = np.sort(stack, axis=0)
        gap = ordered[-1] - ordered[-2] if top == -1 else ordered[1] - ordered[0]
        order = np.argsort(stack, axis=0, kind="stable")
        inversions = sum((order[i] > order[j]).astype(int) for i in range(len(xs)) for j in range(i + 1, len(xs)))
        return gap * np.where(inversions % 2 == 0, 1.0, -1.0)
    return branch


def _extremum_vjp(reduce: Callable[..., Any]):
    """The VJP of max (``reduce`` = ``np.maximum``) or min: the gradient goes to the operands that
    attain the extremum, shared by the tie convention in force (:func:`current_tie`)."""
    def vjp(g, out, *xs):
        arrays = np.broadcast_arrays(*[np.asarray(x, dtype=float) for x in xs])
        best = functools.reduce(reduce, arrays)
        hit = [x == best for x in arrays]
        tie = current_tie()
        if tie == "all":
            share = [h.astype(float) for h in hit]
        elif tie == "first":
            taken = np.zeros(best.shape, dtype=bool)
            share = []
            for h in hit:
                share.append((h & ~taken).astype(float))
                taken |= h
        else:
            count = np.maximum(sum(h.astype(float) for h in hit), 1.0)
            share = [h / count for h in hit]
        return tuple(g * s[()] if s.ndim == 0 else g * s for s in share)
    return vjp


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
    conventions : callable or None
        ``conventions(n_operands) -> str``: the convention at a kink when it depends on the
        tie convention in force (``max``/``min``); read through :meth:`convention_at`.
    at_number : callable or None
        For a function made from its ``definition``: its exact value at a number, written so
        that SymPy's evaluation does not cancel where the definition would (softplus at
        −100 is 3.7e-44, not 0); ``None`` means the definition.
    rules : callable or None
        ``rules(k, constant) -> str``: the rule a calculus text names for the partial with
        respect to operand ``k`` when ``constant[i]`` says which operands are constants
        (``2*x`` is the constant multiple rule, ``1/x`` the reciprocal rule); ``None``
        when ``rule`` always applies.
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
    rules: Callable[[int, tuple[bool, ...]], str] | None = None
    at_number: Callable[[Any], Any] | None = None
    conventions: Callable[[int], str] | None = None

    def convention_at(self, n_operands: int) -> str:
        """The convention at a kink with ``n_operands`` operands, for the tie convention in
        force (``max``/``min``; every other row: ``convention``).

        Examples
        --------
        >>> with tie_convention("all"):
        ...     get_op("max").convention_at(2)[:47]
        'at a tie every operand that attains the max rec'
        """
        return self.conventions(n_operands) if self.conventions is not None else self.convention

    def rule_at(self, k: int, constant: tuple[bool, ...]) -> str:
        """The rule that gives the partial with respect to operand ``k``.

        Examples
        --------
        >>> get_op("mul").rule_at(1, (True, False)), get_op("mul").rule_at(1, (False, False))
        ('constant multiple rule', 'product rule')
        >>> get_op("div").rule_at(1, (True, False))
        'reciprocal rule'
        """
        return self.rules(k, constant) if self.rules is not None else self.rule

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
    definition, partials, latex, at_number = op.definition, op.partials, op.latex, op.at_number
    assert definition is not None, f"{op.name}: a made SymPy function needs the row's definition"

    def eval(cls, x):  # safe: SymPy's evaluation hook for Function subclasses, not Python eval
        if x.is_Number:
            return at_number(x) if at_number is not None else definition(x)
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

    def _latex(self, printer, exp=None):
        # SymPy's LaTeX printer asks for σ²(x) rather than (σ(x))² by passing ``exp``.
        power = f"^{{{exp}}}" if exp is not None else ""
        return rf"{latex}{power}\left({printer._print(self.args[0])}\right)"

    namespace = {"eval": classmethod(eval), "fdiff": fdiff, "_eval_evalf": _eval_evalf,
                 "_eval_is_real": _eval_is_real, "_eval_is_finite": _eval_is_finite, "_latex": _latex,
                 "__module__": "backproof.functions", "__doc__": op.rule}
    # The module named is the one that exposes these classes (pickle finds them there).
    return types.new_class(op.name, (sp.Function,), exec_body=lambda ns: ns.update(namespace))


def _half():
    return sp.Rational(1, 2)


def _as_written(cls, operands):
    """``max(b, a)`` unevaluated with its operands in the order written: SymPy's ``Max`` sorts
    them, and the first of them is the one ``--tie first`` gives the gradient to."""
    if len(operands) < 2:
        return cls(*operands, evaluate=False)
    obj = sp.Expr.__new__(cls, *operands)
    obj._argset = frozenset(operands)  # what SymPy's LatticeOp keeps beside its args
    return obj


def _extremum_partials(sign: int):
    """The SymPy partials of max (``sign`` = 1) or min (−1) of any number of operands, by the tie
    convention in force: step functions of the differences, whose value at 0 is the convention."""
    def partials(*xs):
        tie = current_tie()
        n = len(xs)

        def step(i, j, at_zero):
            return sp.Heaviside(sign * (xs[i] - xs[j]), at_zero)
        if tie == "half" and n == 2:  # as always: ½ at a tie
            return (step(0, 1, _half()), step(1, 0, _half()))
        if tie == "first":  # beats every earlier operand, at least ties every later one
            return tuple(sp.Mul(*[step(i, j, 0 if j < i else 1) for j in range(n) if j != i]) for i in range(n))
        attains = [sp.Mul(*[step(i, j, 1) for j in range(n) if j != i]) for i in range(n)]
        if tie == "all":
            return tuple(attains)
        return tuple(t / sp.Add(*attains) for t in attains)  # half of m > 2: 1/m each
    return partials


def _extremum_convention(name: str, ge: str, gt: str):
    """The write-up's sentence for the convention in force at a tie of ``max``/``min``."""
    def text(n: int) -> str:
        tie = current_tie()
        if tie == "half":
            return ("at a tie each operand receives half of the gradient" if n == 2 else
                    "at a tie the operands that tie share the gradient equally (1/m each of m), as PyTorch's amax")
        if tie == "first":
            return (f"at a tie the first operand (as written) that attains the {name} receives the whole gradient "
                    f"(--tie first): for {name}(x, y), 1(x {ge} y) to x and 1(y {gt} x) to y, as PyTorch's "
                    f"{name} over a dimension")
        return (f"at a tie every operand that attains the {name} receives the whole gradient (--tie all): for "
                f"{name}(x, y), 1(x {ge} y) to x and 1(y {ge} x) to y, as CS231n's notes write the {name} gate")
    return text


def _power_rule(a, n):
    # n·a^(n−1), except x**0, the constant 1, whose derivative is 0 everywhere: at a = 0,
    # 0 · 0**-1 would be nan and the derivation would refuse the point (issue 14).
    zero = sp.sympify(n, strict=True).is_zero is True  # safe: strict=True refuses strings
    return sp.Integer(0) if zero else n * a**(n - 1)


def _log1p_exp(x):
    # log(1 + e^x) for a number x <= 0 as 2·atanh(e^x / (2 + e^x)): the same number with
    # nothing that cancels, so SymPy's evaluation keeps its digits at x = −100
    # (log(1 + e^−100) evaluates 1 + 3.7e-44 to 30 digits first and gives 0).
    t = sp.exp(x)
    return 2 * sp.atanh(t / (2 + t))



def _slope():
    # LEAKY_RELU_SLOPE, exact: the SymPy facets stay exact rationals.
    return sp.Rational(str(LEAKY_RELU_SLOPE))


def _selu_alpha():
    # The exact value of the float64 SELU_ALPHA (PyTorch's constant), so that the SymPy
    # partial at the kink, λα, rounds to the float64 product the NumPy VJP and PyTorch give.
    return sp.Rational(SELU_ALPHA)


def _selu_scale():
    return sp.Rational(SELU_SCALE)  # the exact value of the float64 SELU_SCALE


def _between(a, lo, hi):
    # 1 strictly between lo and hi, 0 at the ends and outside: step(a − lo)·step(hi − a).
    return sp.Heaviside(a - lo, 0) * sp.Heaviside(hi - a, 0)


def _std_normal_cdf(a):
    return (1 + sp.erf(a / sp.sqrt(2))) / 2


def _std_normal_pdf(a):
    return sp.exp(-a**2 / 2) / sp.sqrt(2 * sp.pi)


#: The rules a calculus text names, which the ``rules`` facets choose from (each row's own
#: ``rule`` names the rule of its function, e.g. the exponential or the logarithm rule).
GENERIC_RULES = ("sum rule", "difference rule", "constant multiple rule", "product rule", "quotient rule",
                 "reciprocal rule", "power rule", "exponential rule", "logarithm rule", "chain rule")

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
       written=lambda *x: sp.Mul(*x, evaluate=False),
       rules=lambda k, c: "constant multiple rule" if all(c[:k] + c[k + 1:]) else "product rule"),
    Op("div", 2, "÷", r"\div", "quotient rule",
       lambda a, b: a / b,
       lambda a, b: (1 / b, -a / b**2),
       lambda a, b: a / b,
       lambda g, out, a, b: (g / b, -g * a / (b * b)),
       written=lambda a, b: sp.Mul(a, sp.Pow(b, -1, evaluate=False), evaluate=False),
       undefined="division by zero", swappable=True,
       rules=lambda k, c: ("constant multiple rule" if k == 0 and c[1] else
                           "reciprocal rule" if k == 1 and c[0] else "quotient rule")),
    Op("pow", 2, "^", "^", "power rule",
       lambda a, n: a**n,
       lambda a, n: (_power_rule(a, n), a**n * sp.log(a)),
       np.power, _pow_vjp,
       written=lambda a, n: sp.Pow(a, n, evaluate=False),
       undefined="the power is undefined here", swappable=True,
       rules=lambda k, c: "power rule" if k == 0 else "exponential rule"),
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
    Op("max", None, "max", r"\max", "max rule (the larger operand passes the gradient)",
       lambda *x: sp.Max(*x),
       _extremum_partials(1),
       lambda *x: functools.reduce(np.maximum, x),
       _extremum_vjp(np.maximum),
       function="max", nondiff=_tie_at(-1), branch=_branch_extremum(-1), sympy_class=lambda: sp.Max,
       convention="at a tie each operand receives half of the gradient",
       conventions=_extremum_convention("max", "≥", ">"),
       written=lambda *x: _as_written(sp.Max, x)),
    Op("min", None, "min", r"\min", "min rule (the smaller operand passes the gradient)",
       lambda *x: sp.Min(*x),
       _extremum_partials(-1),
       lambda *x: functools.reduce(np.minimum, x),
       _extremum_vjp(np.minimum),
       function="min", nondiff=_tie_at(0), branch=_branch_extremum(0), sympy_class=lambda: sp.Min,
       convention="at a tie each operand receives half of the gradient",
       conventions=_extremum_convention("min", "≤", "<"),
       written=lambda *x: _as_written(sp.Min, x)),
    Op("softplus", 1, "softplus", r"\operatorname{softplus}", "chain through softplus (softplus′ = σ)",
       lambda a: fn.softplus(a),
       lambda a: (fn.sigmoid(a),),
       stable_softplus,
       lambda g, out, a: (g * stable_sigmoid(a),),
       function="softplus", checker_activation=True,
       definition=lambda x: sp.log(1 + sp.exp(x)),
       at_number=lambda x: _log1p_exp(x) if x.is_negative else sp.log(1 + sp.exp(x))),
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
    # --- issue 14: the functions of the courses (activations first, then elementary) ---
    Op("elu", 1, "ELU", r"\operatorname{ELU}", "chain through ELU (elu′ = 1 for x > 0, eˣ otherwise)",
       lambda a: fn.elu(a),
       lambda a: (sp.exp(sp.Min(0, a)),),
       _elu,
       lambda g, out, a: (g * np.exp(np.minimum(np.asarray(a, dtype=float), 0.0)),),
       function="elu", checker_activation=True,
       definition=lambda x: sp.Max(0, x) + sp.exp(sp.Min(0, x)) - 1,
       layer=AsLayer("elu′(z) = 1 for z > 0, a + 1 otherwise",
                     lambda z, a: rf"(1 \text{{ if }} {z} > 0 \text{{ else }} {a} + 1)",
                     lambda z, a: sp.Heaviside(z, 0) + (a + 1) * (1 - sp.Heaviside(z, 0)))),
    Op("selu", 1, "SELU", r"\operatorname{SELU}", "chain through SELU (selu′ = λ for x > 0, λαeˣ otherwise)",
       lambda a: fn.selu(a),
       lambda a: (_selu_scale() * (sp.Heaviside(a, 0)
                                   + _selu_alpha() * sp.exp(sp.Min(0, a)) * (1 - sp.Heaviside(a, 0))),),
       _selu, _selu_vjp,
       function="selu", nondiff=at_zero, branch=_branch_zero, checker_activation=True,
       convention="selu′(0) = λα ≈ 1.7581 (the left slope), as PyTorch does",
       definition=lambda x: _selu_scale() * (sp.Max(0, x) + _selu_alpha() * (sp.exp(sp.Min(0, x)) - 1)),
       layer=AsLayer("selu′(z) = λ for z > 0, a + λα otherwise (λα at z = 0)",
                     lambda z, a: rf"(\lambda \text{{ if }} {z} > 0 \text{{ else }} {a} + \lambda\alpha)",
                     lambda z, a: _selu_scale() * sp.Heaviside(z, 0)
                     + (a + _selu_scale() * _selu_alpha()) * (1 - sp.Heaviside(z, 0)))),
    Op("gelu", 1, "GELU", r"\operatorname{GELU}", "chain through GELU (gelu′ = Φ(x) + x·φ(x))",
       lambda a: fn.gelu(a),
       lambda a: (_std_normal_cdf(a) + a * _std_normal_pdf(a),),
       _gelu, _gelu_vjp,
       function="gelu", checker_activation=True,
       definition=lambda x: x * _std_normal_cdf(x),
       layer=AsLayer("gelu′(z) = Φ(z) + z·φ(z)", lambda z, a: rf"\Phi({z}) + {z}\,\varphi({z})",
                     lambda z, a: _std_normal_cdf(z) + z * _std_normal_pdf(z))),
    Op("silu", 1, "SiLU", r"\operatorname{SiLU}", "chain through SiLU (silu′ = σ(x)(1 + x(1 − σ(x))))",
       lambda a: fn.silu(a),
       lambda a: (fn.sigmoid(a) * (1 + a * (1 - fn.sigmoid(a))),),
       lambda a: np.asarray(a, dtype=float) * stable_sigmoid(a), _silu_vjp,
       function="silu", aliases=("swish",), checker_activation=True,
       definition=lambda x: x / (1 + sp.exp(-x)),
       layer=AsLayer("silu′(z) = a + σ(z)(1 − a)", lambda z, a: rf"{a} + \sigma({z})(1 - {a})",
                     lambda z, a: a + fn.sigmoid(z) * (1 - a))),
    Op("softsign", 1, "softsign", r"\operatorname{softsign}",
       "chain through softsign (softsign′ = 1/(1 + |x|)²)",
       lambda a: fn.softsign(a),
       lambda a: (1 / (1 + sp.Abs(a))**2,),
       lambda a: np.asarray(a, dtype=float) / (1.0 + np.abs(a)),
       lambda g, out, a: (g / ((1.0 + np.abs(a)) * (1.0 + np.abs(a))),),
       function="softsign", checker_activation=True,
       definition=lambda x: x / (1 + sp.Abs(x)),
       layer=AsLayer("softsign′(z) = (1 − |a|)²", lambda z, a: rf"(1 - |{a}|)^2",
                     lambda z, a: (1 - sp.Abs(a))**2)),
    Op("mish", 1, "mish", r"\operatorname{mish}",
       "chain through mish (mish′ = tanh(softplus x) + x·σ(x)·sech²(softplus x))",
       lambda a: fn.mish(a),
       lambda a: (sp.tanh(fn.softplus(a)) + a * fn.sigmoid(a) * (1 - sp.tanh(fn.softplus(a))**2),),
       _mish, _mish_vjp,
       function="mish", checker_activation=True,
       definition=lambda x: x * sp.tanh(sp.log(1 + sp.exp(x))),
       layer=AsLayer("mish′(z) = tanh(softplus z) + z·σ(z)·sech²(softplus z)",
                     lambda z, a: rf"\tanh(\operatorname{{softplus}}({z})) + {z}\,\sigma({z})"
                                  rf"\operatorname{{sech}}^2(\operatorname{{softplus}}({z}))",
                     lambda z, a: sp.tanh(fn.softplus(z))
                     + z * fn.sigmoid(z) * (1 - sp.tanh(fn.softplus(z))**2))),
    Op("logsigmoid", 1, "log σ", r"\log\sigma", "chain through log σ (logsigmoid′ = 1 − σ(x) = σ(−x))",
       lambda a: fn.logsigmoid(a),
       lambda a: (fn.sigmoid(-a),),
       _log_sigmoid,
       lambda g, out, a: (g * stable_sigmoid(-np.asarray(a, dtype=float)),),
       function="logsigmoid", definition=lambda x: -sp.log(1 + sp.exp(-x)),
       at_number=lambda x: -_log1p_exp(-x) if x.is_positive else -sp.log(1 + sp.exp(-x))),
    Op("hardsigmoid", 1, "hardσ", r"\operatorname{hardsigmoid}",
       "chain through hard sigmoid (hardsigmoid′ = 1/6 for −3 < x < 3, 0 otherwise)",
       lambda a: fn.hardsigmoid(a),
       lambda a: (_between(a, -3, 3) / 6,),
       _hardsigmoid,
       lambda g, out, a: (g * _inside(a, -3.0, 3.0) / 6.0,),
       function="hardsigmoid", nondiff=_at_any(-3.0, 3.0), branch=_branch_between(-3.0, 3.0),
       checker_activation=True, convention="hardsigmoid′(±3) = 0, as PyTorch does",
       definition=lambda x: sp.Min(sp.Max(x + 3, 0), 6) / 6,
       layer=AsLayer("hardsigmoid′(z) = 1/6 for −3 < z < 3, 0 otherwise (0 at ±3)",
                     lambda z, a: rf"(\tfrac{{1}}{{6}} \text{{ if }} -3 < {z} < 3 \text{{ else }} 0)",
                     lambda z, a: sp.Heaviside(a, 0) * sp.Heaviside(1 - a, 0) / 6)),
    Op("relu6", 1, "ReLU6", r"\operatorname{ReLU6}",
       "chain through ReLU6 (relu6′ = 1 for 0 < x < 6, 0 otherwise)",
       lambda a: fn.relu6(a),
       lambda a: (_between(a, 0, 6),),
       lambda a: np.minimum(np.maximum(np.asarray(a, dtype=float), 0.0), 6.0),
       lambda g, out, a: (g * _inside(a, 0.0, 6.0),),
       function="relu6", nondiff=_at_any(0.0, 6.0), branch=_branch_between(0.0, 6.0),
       checker_activation=True, convention="relu6′(0) = relu6′(6) = 0, as PyTorch does",
       definition=lambda x: sp.Min(sp.Max(x, 0), 6),
       layer=AsLayer("relu6′(z) = 1 for 0 < z < 6, 0 otherwise (0 at 0 and 6)",
                     lambda z, a: rf"(1 \text{{ if }} 0 < {z} < 6 \text{{ else }} 0)",
                     lambda z, a: sp.Heaviside(a, 0) * sp.Heaviside(6 - a, 0))),
    Op("hardtanh", 1, "hardtanh", r"\operatorname{hardtanh}",
       "chain through hard tanh (hardtanh′ = 1 for −1 < x < 1, 0 otherwise)",
       lambda a: fn.hardtanh(a),
       lambda a: (_between(a, -1, 1),),
       lambda a: np.minimum(np.maximum(np.asarray(a, dtype=float), -1.0), 1.0),
       lambda g, out, a: (g * _inside(a, -1.0, 1.0),),
       function="hardtanh", nondiff=_at_any(-1.0, 1.0), branch=_branch_between(-1.0, 1.0),
       checker_activation=True, convention="hardtanh′(±1) = 0, as PyTorch does",
       definition=lambda x: sp.Min(sp.Max(x, -1), 1),
       layer=AsLayer("hardtanh′(z) = 1 for −1 < z < 1, 0 otherwise (0 at ±1)",
                     lambda z, a: rf"(1 \text{{ if }} -1 < {z} < 1 \text{{ else }} 0)",
                     lambda z, a: sp.Heaviside(a + 1, 0) * sp.Heaviside(1 - a, 0))),
    Op("sinh", 1, "sinh", r"\sinh", "hyperbolic sine rule (sinh′ = cosh)",
       lambda a: sp.sinh(a),
       lambda a: (sp.cosh(a),),
       np.sinh,
       lambda g, out, a: (g * np.cosh(a),),
       function="sinh", sympy_class=lambda: sp.sinh),
    Op("cosh", 1, "cosh", r"\cosh", "hyperbolic cosine rule (cosh′ = sinh)",
       lambda a: sp.cosh(a),
       lambda a: (sp.sinh(a),),
       np.cosh,
       lambda g, out, a: (g * np.sinh(a),),
       function="cosh", sympy_class=lambda: sp.cosh),
    Op("log2", 1, "log₂", r"\log_2", "logarithm rule (log₂′ = 1/(x ln 2))",
       lambda a: fn.log2(a),
       lambda a: (1 / (a * sp.log(2)),),
       np.log2,
       lambda g, out, a: (g / (np.asarray(a, dtype=float) * math.log(2.0)),),
       function="log2", definition=lambda x: sp.log(x) / sp.log(2),
       undefined="log2 needs a positive argument"),
    Op("log10", 1, "log₁₀", r"\log_{10}", "logarithm rule (log₁₀′ = 1/(x ln 10))",
       lambda a: fn.log10(a),
       lambda a: (1 / (a * sp.log(10)),),
       np.log10,
       lambda g, out, a: (g / (np.asarray(a, dtype=float) * math.log(10.0)),),
       function="log10", definition=lambda x: sp.log(x) / sp.log(10),
       undefined="log10 needs a positive argument"),
    Op("asin", 1, "asin", r"\arcsin", "arcsine rule (asin′ = 1/√(1 − x²))",
       lambda a: sp.asin(a),
       lambda a: (1 / sp.sqrt(1 - a**2),),
       np.arcsin,
       lambda g, out, a: (g / np.sqrt(1.0 - np.asarray(a, dtype=float) ** 2),),
       function="asin", sympy_class=lambda: sp.asin,
       undefined="asin needs an argument in [-1, 1] (and its derivative one in (-1, 1))"),
    Op("acos", 1, "acos", r"\arccos", "arccosine rule (acos′ = −1/√(1 − x²))",
       lambda a: sp.acos(a),
       lambda a: (-1 / sp.sqrt(1 - a**2),),
       np.arccos,
       lambda g, out, a: (-g / np.sqrt(1.0 - np.asarray(a, dtype=float) ** 2),),
       function="acos", sympy_class=lambda: sp.acos,
       undefined="acos needs an argument in [-1, 1] (and its derivative one in (-1, 1))"),
    Op("erf", 1, "erf", r"\operatorname{erf}", "error function rule (erf′ = 2e^(−x²)/√π)",
       lambda a: sp.erf(a),
       lambda a: (2 * sp.exp(-a**2) / sp.sqrt(sp.pi),),
       _erf,
       lambda g, out, a: (g * (2.0 / math.sqrt(math.pi)) * np.exp(-np.asarray(a, dtype=float) ** 2),),
       function="erf", sympy_class=lambda: sp.erf),
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


#: Every rule name a step may cite: the generic rules, the sum over paths at a fork, each row's own.
RULE_NAMES = frozenset(GENERIC_RULES) | {"sum over paths"} | {op.rule for op in OPS.values()}
