"""Loss functions of the NumPy engine: per-sample values and batch-mean gradients.

The functions are the NumPy facets of the loss table's rows (:mod:`backproof.losses`).

Conventions (the symbolic side of backproof is built to match them exactly). For one
sample with ``K`` outputs, target ``t``, prediction ``ŷ = a`` (the last layer's
activation) and logits ``z`` (its pre-activation):

=============  ==========================================  ==========================
name           per-sample loss                             needs output activation
=============  ==========================================  ==========================
``mse``        ``(1/K) Σ_k (ŷ_k − t_k)²``                  any
``sse``        ``Σ_k (ŷ_k − t_k)²``                        any
``half_sse``   ``½ Σ_k (ŷ_k − t_k)²``                      any
``bce``        ``(1/K) Σ_k [softplus(z_k) − t_k z_k]``     ``sigmoid``
``ce``         ``−Σ_k t_k log softmax(z)_k``               ``softmax``
=============  ==========================================  ==========================

* ``bce`` equals ``(1/K) Σ [−t log ŷ − (1−t) log(1−ŷ)]`` with ``ŷ = σ(z)`` but is
  computed from the logits with the stable ``softplus(z) = log1p(exp(−|z|)) + max(z, 0)``,
  so it is finite for ``z = ±1000`` where ``log σ(z)`` would be ``log 0``.
* ``ce`` is computed from the logits as ``Σ_k t_k · (logsumexp(z) − z_k)``.
* The batch loss ``J`` is the **mean over samples** of the per-sample loss, for
  every loss.
* :attr:`Loss.gradient` returns ``∂J/∂ŷ`` for the first three losses (backprop then
  multiplies by the output activation's Jacobian at ``z``) and ``∂J/∂z`` for
  ``bce`` and ``ce`` (the fused path): ``(ŷ − t) / (K n)`` for bce and
  ``(ŷ · Σ_k t_k − t) / n`` for ce, which is ``(ŷ − t) / n`` whenever the targets of a
  sample sum to 1 (one-hot or a probability vector).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from backproof.engine.errors import EngineError
from backproof.losses import LOSS_ROWS
from backproof.ops import OPS, logsumexp

__all__ = ["Loss", "LOSSES", "get_loss", "softplus", "logsumexp"]

Array = np.ndarray


def softplus(z) -> Array:
    """Stable ``softplus(z) = log(1 + e^z)``: the op table's NumPy forward, as an array.

    Examples
    --------
    >>> softplus([0.0, 1000.0, -1000.0]).round(6).tolist()
    [0.693147, 1000.0, 0.0]
    """
    return np.asarray(OPS["softplus"].np_forward(z), dtype=np.float64)


@dataclass(frozen=True)
class Loss:
    """One loss: per-sample value and the gradient of the batch mean.

    Attributes
    ----------
    name : str
        Name used in the API and in messages.
    per_sample : callable
        ``per_sample(z, a, t) -> (n,)`` array of per-sample losses; ``z`` and ``a``
        are the last layer's pre-activation and activation, shape ``(n, K)``.
    gradient : callable
        ``gradient(z, a, t) -> (n, K)``: ``∂J/∂a`` if :attr:`wrt` is ``"a"``, ``∂J/∂z``
        if it is ``"z"``, where ``J`` is the mean of ``per_sample`` over the batch.
    wrt : {"a", "z"}
        What :attr:`gradient` differentiates with respect to.
    requires : str or None
        Output activation the loss needs (the fused losses), or None for any.
    """

    name: str
    per_sample: Callable[[Array, Array, Array], Array]
    gradient: Callable[[Array, Array, Array], Array]
    wrt: str = "a"
    requires: str | None = None

    def value(self, z, a, t) -> float:
        """Batch loss ``J``: the mean over samples of the per-sample loss.

        Examples
        --------
        >>> import numpy as np
        >>> LOSSES["half_sse"].value(None, np.array([[1.0, 2.0]]), np.array([[0.0, 0.0]]))
        2.5
        """
        return float(np.mean(self.per_sample(z, a, t)))


#: The engine's losses: the NumPy facets of the loss table's rows.
LOSSES: dict[str, Loss] = {name: Loss(name, row.np_per_sample, row.np_gradient, row.wrt, row.requires)
                           for name, row in LOSS_ROWS.items()}


def get_loss(loss: str | Loss) -> Loss:
    """Look up a loss by name (a :class:`Loss` is returned unchanged).

    Raises
    ------
    EngineError
        If the name is unknown; the message lists the allowed names.

    Examples
    --------
    >>> get_loss("bce").requires
    'sigmoid'
    """
    if isinstance(loss, Loss):
        return loss
    try:
        return LOSSES[loss]
    except (KeyError, TypeError):
        raise EngineError(
            f"unknown loss {loss!r} (must be one of {sorted(LOSSES)})"
        ) from None
