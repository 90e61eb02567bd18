"""The NumPy facets of the operation table: forwards, vector-Jacobian products and kinks.

:mod:`backproof.ops` imports SymPy; the NumPy engine (:mod:`backproof.engine`) must
not. So the hand-written NumPy half of every op-table row lives here, in a module that
imports NumPy only, and each :class:`~backproof.ops.Op` row refers to these functions
by name next to its SymPy forward and partials. :data:`NP_OPS` is the same table seen
from the engine's side: one :class:`NpOp` per operation, holding the very same
function objects (a test checks that ``OPS[n].np_forward is NP_OPS[n].forward``).

Conventions, shared by every function:

* operands are float64 arrays (or Python floats) that broadcast against each other;
* ``vjp(g, out, *operands)`` returns one array per operand, ``g * ∂out/∂operand_i``,
  given the upstream gradient ``g`` and the forward's own result ``out``;
* the derivative at a kink follows the op's ``convention`` (ReLU′(0) = 0, a tie in
  ``max``/``min`` splits the gradient in half, step and sign have derivative 0);
* ``branch(*operands)`` is, for the ops with kinks, an array whose sign says which
  smooth piece the point is on; the point is a kink where it is exactly 0. The
  cross-check uses it to tell a finite difference that straddles a kink.

No function here silences floating-point errors except :func:`pow_vjp` (its exponent
partial ``out · log a`` is only defined for ``a > 0``, and is irrelevant when the
exponent is a constant); callers decide, with ``np.errstate``, what an overflow means.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

__all__ = ["NpOp", "NP_OPS", "at_zero", "at_tie"]


# --- numerically stable helpers ----------------------------------------------------

def sigmoid(x):
    """σ(x) in the two-branch form: ``exp`` of a non-positive number never overflows.

    Examples
    --------
    >>> sigmoid(np.array([-1000.0, 0.0, 1000.0])).tolist()
    [0.0, 0.5, 1.0]
    """
    x = np.asarray(x, dtype=float)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def softplus(x):
    """log(1 + e^x) as ``max(x, 0) + log1p(e^-|x|)``: finite for ``|x| = 1000``.

    Examples
    --------
    >>> softplus(np.array([-1000.0, 1000.0])).tolist()
    [0.0, 1000.0]
    """
    x = np.asarray(x, dtype=float)
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def _prod_others(args, i):
    out = np.ones_like(np.asarray(args[0], dtype=float) * 1.0)
    for j, a in enumerate(args):
        if j != i:
            out = out * a
    return out


# --- forwards and VJPs, one pair per op-table row ----------------------------------

def add(*x):
    return sum(x[1:], x[0])


def add_vjp(g, out, *x):
    return tuple(g * np.ones_like(np.asarray(xi, dtype=float)) for xi in x)


def sub(a, b):
    return a - b


def sub_vjp(g, out, a, b):
    return g * np.ones_like(a), -g * np.ones_like(b)


def neg(a):
    return -a


def neg_vjp(g, out, a):
    return (-g * np.ones_like(a),)


def mul(*x):
    return np.prod(np.broadcast_arrays(*x), axis=0) if len(x) > 2 else x[0] * x[1]


def mul_vjp(g, out, *x):
    return tuple(g * _prod_others(x, i) for i in range(len(x)))


def div(a, b):
    return a / b


def div_vjp(g, out, a, b):
    return g / b, -g * a / (b * b)


def pow(a, n):  # noqa: A001 - the op's name
    return np.power(a, n)


def pow_vjp(g, out, a, n):
    with np.errstate(divide="ignore", invalid="ignore"):
        d_base = g * n * np.power(a, n - 1)
    safe = np.where(a > 0, a, 1.0)
    return d_base, g * out * np.log(safe)


sqrt = np.sqrt


def sqrt_vjp(g, out, a):
    return (g / (2.0 * out),)


exp = np.exp


def exp_vjp(g, out, a):
    return (g * out,)


log = np.log


def log_vjp(g, out, a):
    return (g / a,)


sin = np.sin


def sin_vjp(g, out, a):
    return (g * np.cos(a),)


cos = np.cos


def cos_vjp(g, out, a):
    return (-g * np.sin(a),)


tan = np.tan


def tan_vjp(g, out, a):
    return (g / np.cos(a) ** 2,)


tanh = np.tanh


def tanh_vjp(g, out, a):
    # sech²(a) = 4t / (1 + t)² with t = e^(−2|a|): 1 − out² would lose every digit
    # once out rounds to ±1 (|a| > 19), and e^(2|a|) would overflow.
    t = np.exp(-2.0 * np.abs(a))
    return (g * (4.0 * t / ((1.0 + t) * (1.0 + t))),)


def sigmoid_vjp(g, out, a):
    # σ′(a) = e / (1 + e)² with e = e^(−|a|), symmetric in a: out·(1 − out) would be 0
    # once out rounds to 1 (a > 37).
    e = np.exp(-np.abs(a))
    return (g * (e / ((1.0 + e) * (1.0 + e))),)


def relu(a):
    return np.maximum(a, 0.0)


def relu_vjp(g, out, a):
    return (g * (np.asarray(a) > 0),)


abs = np.abs  # noqa: A001 - the op's name


def abs_vjp(g, out, a):
    return (g * np.sign(a),)


maximum = np.maximum


def max_vjp(g, out, a, b):
    return g * ((a > b) + 0.5 * (a == b)), g * ((b > a) + 0.5 * (a == b))


minimum = np.minimum


def min_vjp(g, out, a, b):
    return g * ((a < b) + 0.5 * (a == b)), g * ((b < a) + 0.5 * (a == b))


def softplus_vjp(g, out, a):
    return (g * sigmoid(a),)


def step(a):
    return (np.asarray(a) > 0).astype(float)


def step_vjp(g, out, a):
    return (g * 0.0 * np.asarray(a),)


sign = np.sign


def sign_vjp(g, out, a):
    return (g * 0.0 * np.asarray(a),)


def identity(a):
    return a


def identity_vjp(g, out, a):
    return (g,)


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


@dataclass(frozen=True)
class NpOp:
    """The NumPy facets of one op-table row.

    Attributes
    ----------
    name : str
        The op-table name (``"mul"``).
    forward : callable
        NumPy forward on broadcasting float64 arrays.
    vjp : callable
        ``vjp(g, out, *operands)`` -> tuple of ``g * ∂out/∂operand_i``.
    branch : callable or None
        For ops with kinks: elementwise array whose sign names the smooth piece;
        0 exactly at a kink. ``None`` for smooth ops.
    """

    name: str
    forward: Callable[..., np.ndarray]
    vjp: Callable[..., tuple]
    branch: Callable[..., np.ndarray] | None = None


#: Op name -> its NumPy facets; the keys are exactly those of ``backproof.ops.OPS``.
NP_OPS: dict[str, NpOp] = {o.name: o for o in [
    NpOp("add", add, add_vjp),
    NpOp("sub", sub, sub_vjp),
    NpOp("neg", neg, neg_vjp),
    NpOp("mul", mul, mul_vjp),
    NpOp("div", div, div_vjp),
    NpOp("pow", pow, pow_vjp),
    NpOp("sqrt", sqrt, sqrt_vjp),
    NpOp("exp", exp, exp_vjp),
    NpOp("log", log, log_vjp),
    NpOp("sin", sin, sin_vjp),
    NpOp("cos", cos, cos_vjp),
    NpOp("tan", tan, tan_vjp),
    NpOp("tanh", tanh, tanh_vjp),
    NpOp("sigmoid", sigmoid, sigmoid_vjp),
    NpOp("relu", relu, relu_vjp, _branch_zero),
    NpOp("abs", abs, abs_vjp, _branch_zero),
    NpOp("max", maximum, max_vjp, _branch_tie),
    NpOp("min", minimum, min_vjp, _branch_tie),
    NpOp("softplus", softplus, softplus_vjp),
    NpOp("step", step, step_vjp, _branch_zero),
    NpOp("sign", sign, sign_vjp, _branch_zero),
    NpOp("identity", identity, identity_vjp),
]}
