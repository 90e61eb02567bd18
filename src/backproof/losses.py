"""The loss table: one row per loss, every facet of it side by side.

A :class:`LossRow` holds a loss's formulas for the write-ups (text and LaTeX), the
NumPy per-sample value and batch gradient the layer engine runs, the output activation
a fused loss needs, the SymPy per-sample loss as a teacher writes it (the network
program's last statement), and the exact SymPy ∇ₐJ and loss value the matrix view
computes as its second route, plus what the loss asks of the targets. Everything else
(:mod:`backproof.engine.losses`, :mod:`backproof.nn`) reads these rows.

Like :mod:`backproof.ops`, this module imports NumPy only and reaches SymPy lazily
(:data:`backproof.ops.sp`), so the SymPy-free engine can read it.

Conventions. For one sample with ``K`` outputs, target ``t``, prediction ``ŷ = a``
(the last layer's activation) and logits ``z`` (its pre-activation), the batch loss
``J`` is the mean over samples of the per-sample loss. ``np_gradient`` returns
``∂J/∂ŷ`` when ``wrt == "a"`` and ``∂J/∂z`` for the fused losses (``wrt == "z"``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .ops import OPS, logsumexp, sp, stable_softmax

__all__ = ["LossRow", "LOSS_ROWS"]

Array = np.ndarray


@dataclass(frozen=True)
class LossRow:
    """One loss: every facet of it.

    Attributes
    ----------
    name : str
        The loss's name in specs, the API and messages.
    text, latex : str
        The per-sample loss for text and LaTeX write-ups.
    np_per_sample : callable
        ``np_per_sample(z, a, t) -> (n,)`` array of per-sample losses (shapes ``(n, K)``).
    np_gradient : callable
        ``np_gradient(z, a, t) -> (n, K)``: ``∂J/∂a`` (``wrt == "a"``) or ``∂J/∂z``.
    wrt : {"a", "z"}
        What ``np_gradient`` differentiates with respect to.
    requires : str or None
        The output activation a fused loss needs (its δ⁽ᴸ⁾ simplifies to ŷ − y).
    written : callable
        ``written(outs, ts)`` -> the SymPy per-sample loss of predictions ``outs`` against
        targets ``ts``, unevaluated, as a teacher writes it.
    grad_a : callable
        ``grad_a(A, Y)`` -> the SymPy matrix ∇ₐJ (units × samples), before evaluation.
    sample_value : callable
        ``sample_value(A, Y, c)`` -> the SymPy per-sample loss of sample (column) ``c``.
    grad_text : str
        ∇ₐJ for the text write-up.
    per_output : bool
        The per-sample loss is a mean over the K outputs (the fused δ is (ŷ − y)/(K·n)).
    probability_targets : bool
        Targets must lie in [0, 1].
    targets_sum_to_one : bool
        The targets of a sample must sum to 1.
    logs : bool
        The written loss takes logarithms of the prediction.
    signed_targets : bool
        Targets must be −1 or +1 (the binary hinge; ``data:`` labels 0/1 become −1/+1).
    one_hot : bool
        Each sample's targets must be one-hot (the multiclass hinge: the 1 marks the class).
    convention : str
        What the derivative is at a kink, for the write-ups ("" when there is none).
    """

    name: str
    text: str
    latex: str
    np_per_sample: Callable[[Array, Array, Array], Array]
    np_gradient: Callable[[Array, Array, Array], Array]
    written: Callable[[list, list], Any]
    grad_a: Callable[[Any, Any], Any]
    sample_value: Callable[[Any, Any, int], Any]
    grad_text: str
    wrt: str = "a"
    requires: str | None = None
    per_output: bool = False
    probability_targets: bool = False
    targets_sum_to_one: bool = False
    logs: bool = False
    signed_targets: bool = False
    one_hot: bool = False
    convention: str = ""

    @property
    def fused_text(self) -> str:
        """δ⁽ᴸ⁾ of a fused loss in text (``"δ⁽ᴸ⁾ = (ŷ − y)/n"``)."""
        return "δ⁽ᴸ⁾ = (ŷ − y)/(K·n)" if self.per_output else "δ⁽ᴸ⁾ = (ŷ − y)/n"


# --- SymPy helpers (the network program writes sums and means as a student does) ------

def _sum(terms):
    return terms[0] if len(terms) == 1 else sp.Add(*terms, evaluate=False)


def _scaled(k: int, expr):
    """``expr / k`` kept as written (a ÷ gate), or ``expr`` when k = 1."""
    return expr if k == 1 else sp.Mul(sp.Rational(1, k), expr, evaluate=False)


def _sq(outs, ts):
    return _sum([(o - t) ** 2 for o, t in zip(outs, ts)])


def _col_sq(A, Y, c):
    return sum((A[k, c] - Y[k, c]) ** 2 for k in range(A.shape[0]))


def _bce_written(outs, ts):
    terms = [sp.Mul(-1, sp.Add(t * sp.log(o), sp.Mul(1 - t, sp.log(1 - o), evaluate=False),
                               evaluate=False), evaluate=False) for o, t in zip(outs, ts)]
    return _scaled(len(outs), _sum(terms))


def _ce_written(outs, ts):
    return sp.Mul(-1, _sum([sp.Mul(t, sp.log(o), evaluate=False) for o, t in zip(outs, ts)]),
                  evaluate=False)


# --- NumPy facets --------------------------------------------------------------------

def _bce(z, a, t):
    # softplus(z) − t·z written as max(z, 0) − t·z + log1p(e^−|z|): at z = 100, t = 1 the first
    # two cancel exactly and the loss is 3.7e-44, where softplus(100) − 100 rounds to 0 (issue 14).
    return np.mean(np.maximum(z, 0.0) - t * z + np.log1p(np.exp(-np.abs(z))), axis=-1)


def _bce_grad(z, a, t):
    n, k = z.shape
    # d/dz [softplus(z) − t z] = σ(z) − t; recomputed from z rather than taken from
    # the cache so the gradient depends on the logits alone.
    return (OPS["sigmoid"].np_forward(z) - t) / (k * n)


def _ce(z, a, t):
    return np.sum(t * (logsumexp(z)[..., None] - z), axis=-1)


def _ce_grad(z, a, t):
    n = z.shape[0]
    # d/dz_j [Σ_k t_k (lse(z) − z_k)] = softmax(z)_j Σ_k t_k − t_j.
    return (stable_softmax(z) * np.sum(t, axis=-1, keepdims=True) - t) / n


# --- hinge losses (max-margin): micrograd's binary one and CS231n's multiclass SVM ------
# At the kink (a margin exactly 0) the derivative is 0: max(0, m) is written as ReLU(m)
# and ReLU′(0) = 0, as PyTorch, CS231n's ``margins > 0`` and micrograd's ``relu`` do.

_HINGE_KINK = "at a margin of exactly 0 the derivative is 0 (ReLU′(0) = 0, as PyTorch and CS231n)"


def _relu(x):
    return OPS["relu"].write(x)


def _hinge_written(outs, ts):
    return _sum([_relu(sp.Add(1, sp.Mul(-1, t, o, evaluate=False), evaluate=False)) for o, t in zip(outs, ts)])


def _svm_written(outs, ts):
    # Σ_j (1 − t_j)·max(0, s_j − s_y + 1) with s_y = Σ_k t_k s_k: CS231n's Σ_{j≠y} for a
    # one-hot t, written so that the target symbols, not their values, pick the class.
    sy = _sum([sp.Mul(t, o, evaluate=False) for o, t in zip(outs, ts)])
    terms = [sp.Mul(sp.Add(1, sp.Mul(-1, t, evaluate=False), evaluate=False),
                    _relu(sp.Add(o, sp.Mul(-1, sy, evaluate=False), 1, evaluate=False)), evaluate=False)
             for o, t in zip(outs, ts)]
    return _sum(terms)


def _hinge(z, a, t):
    return np.sum(np.maximum(0.0, 1.0 - t * a), axis=-1)


def _hinge_grad(z, a, t):
    return -t * (1.0 - t * a > 0) / a.shape[0]


def _svm_margins(a, t):
    # m_j = s_j − s_y + 1 with s_y = Σ_k t_k s_k; the weight 1 − t_j drops the true class.
    return a - np.sum(t * a, axis=-1, keepdims=True) + 1.0


def _svm(z, a, t):
    return np.sum((1.0 - t) * np.maximum(0.0, _svm_margins(a, t)), axis=-1)


def _svm_grad(z, a, t):
    on = (1.0 - t) * (_svm_margins(a, t) > 0)
    return (on - t * np.sum(on, axis=-1, keepdims=True)) / a.shape[0]


def _svm_grad_a(A, Y):
    n = A.shape[1]

    def entry(i, c):
        sy = sum(Y[k, c] * A[k, c] for k in range(A.shape[0]))
        on = [(1 - Y[j, c]) * sp.Heaviside(A[j, c] - sy + 1, 0) for j in range(A.shape[0])]
        return (on[i] - Y[i, c] * sum(on)) / n
    return sp.Matrix(*A.shape, entry)


def _svm_value(A, Y, c):
    sy = sum(Y[k, c] * A[k, c] for k in range(A.shape[0]))
    return sum((1 - Y[j, c]) * sp.Max(0, A[j, c] - sy + 1) for j in range(A.shape[0]))


# --- The table -----------------------------------------------------------------------

LOSS_ROWS: dict[str, LossRow] = {row.name: row for row in [
    LossRow("mse", "(1/K) Σₖ (ŷₖ − yₖ)²", r"\frac{1}{K}\sum_k (\hat y_k - y_k)^2",
            lambda z, a, t: np.mean((a - t) ** 2, axis=-1),
            lambda z, a, t: 2.0 * (a - t) / (a.shape[1] * a.shape[0]),
            lambda outs, ts: _scaled(len(outs), _sq(outs, ts)),
            lambda A, Y: (A - Y) * sp.Rational(2, A.shape[0] * A.shape[1]),
            lambda A, Y, c: _col_sq(A, Y, c) / A.shape[0],
            "∇ₐJ = 2(ŷ − y)/(K·n)", per_output=True),
    LossRow("sse", "Σₖ (ŷₖ − yₖ)²", r"\sum_k (\hat y_k - y_k)^2",
            lambda z, a, t: np.sum((a - t) ** 2, axis=-1),
            lambda z, a, t: 2.0 * (a - t) / a.shape[0],
            _sq,
            lambda A, Y: (A - Y) * sp.Rational(2, A.shape[1]),
            _col_sq,
            "∇ₐJ = 2(ŷ − y)/n"),
    LossRow("half_sse", "½ Σₖ (ŷₖ − yₖ)²", r"\frac{1}{2}\sum_k (\hat y_k - y_k)^2",
            lambda z, a, t: 0.5 * np.sum((a - t) ** 2, axis=-1),
            lambda z, a, t: (a - t) / a.shape[0],
            lambda outs, ts: sp.Mul(sp.Rational(1, 2), _sq(outs, ts), evaluate=False),
            lambda A, Y: (A - Y) / A.shape[1],
            lambda A, Y, c: _col_sq(A, Y, c) / 2,
            "∇ₐJ = (ŷ − y)/n"),
    LossRow("bce", "(1/K) Σₖ −[yₖ log ŷₖ + (1 − yₖ) log(1 − ŷₖ)]",
            r"\frac{1}{K}\sum_k -\left[y_k \log \hat y_k + (1 - y_k)\log(1 - \hat y_k)\right]",
            _bce, _bce_grad, _bce_written,
            lambda A, Y: sp.Matrix(*A.shape, lambda i, j: (-Y[i, j] / A[i, j] + (1 - Y[i, j]) / (1 - A[i, j]))
                                   / (A.shape[0] * A.shape[1])),
            lambda A, Y, c: sum(-(Y[k, c] * sp.log(A[k, c]) + (1 - Y[k, c]) * sp.log(1 - A[k, c]))
                                for k in range(A.shape[0])) / A.shape[0],
            "∇ₐJ = (−y/ŷ + (1 − y)/(1 − ŷ))/(K·n)",
            wrt="z", requires="sigmoid", per_output=True, probability_targets=True, logs=True),
    LossRow("ce", "−Σₖ yₖ log ŷₖ", r"-\sum_k y_k \log \hat y_k",
            _ce, _ce_grad, _ce_written,
            lambda A, Y: sp.Matrix(*A.shape, lambda i, j: -Y[i, j] / A[i, j] / A.shape[1]),
            lambda A, Y, c: -sum(Y[k, c] * sp.log(A[k, c]) for k in range(A.shape[0]) if Y[k, c] != 0),
            "∇ₐJ = −(y/ŷ)/n",
            wrt="z", requires="softmax", probability_targets=True, targets_sum_to_one=True, logs=True),
    LossRow("hinge", "Σₖ max(0, 1 − yₖ·ŷₖ)", r"\sum_k \max(0, 1 - y_k \hat y_k)",
            _hinge, _hinge_grad, _hinge_written,
            lambda A, Y: sp.Matrix(*A.shape, lambda i, j: -Y[i, j] * sp.Heaviside(1 - Y[i, j] * A[i, j], 0)
                                   / A.shape[1]),
            lambda A, Y, c: sum(sp.Max(0, 1 - Y[k, c] * A[k, c]) for k in range(A.shape[0])),
            "∇ₐJ = −y·1(y·ŷ < 1)/n", signed_targets=True, convention=_HINGE_KINK),
    LossRow("multiclass_hinge", "Σ_{j≠y} max(0, ŷⱼ − ŷ_y + 1)",
            r"\sum_{j \ne y} \max(0, \hat y_j - \hat y_y + 1)",
            _svm, _svm_grad, _svm_written, _svm_grad_a, _svm_value,
            "∇ₐJ = (1(mⱼ > 0) − yⱼ·Σₖ 1(mₖ > 0))/n, mⱼ = ŷⱼ − ŷ_y + 1 (j ≠ y)",
            probability_targets=True, targets_sum_to_one=True, one_hot=True, convention=_HINGE_KINK),
]}
